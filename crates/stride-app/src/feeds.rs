//! A private iCalendar feed of each user's follow-ups (ACT-3), for phone and desktop calendars.
//! The feed URL carries its own secret, so calendar apps can fetch it without signing in.

use jiff::Timestamp;

use crate::actor::Actor;
use crate::auth::{random_secret, secret_hash};
use crate::error::{AppError, AppResult};
use crate::leads::Activity;
use crate::App;

const DAY_MS: i64 = 86_400_000;
/// Each follow-up shows as a half-hour appointment.
const EVENT_MS: i64 = 30 * 60 * 1000;

impl App {
    /// Issues (or replaces) the actor's feed secret; the old URL stops working.
    pub async fn renew_calendar_feed(&self, actor: &Actor) -> AppResult<String> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let secret = format!("feed_{}", random_secret());
        let mut tx = self.store.begin().await?;
        tx.set_calendar_feed(actor.user_id, &secret_hash(&secret), self.now_ms())
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The feed behind a secret: the owner's follow-ups from a month back to half a year ahead.
    pub async fn calendar_feed(&self, secret: &str) -> AppResult<String> {
        let user_id = self
            .store
            .calendar_feed_user(&secret_hash(secret))
            .await?
            .ok_or(AppError::NotFound)?;
        let principal = self
            .store
            .principal(user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = self.now_ms();
        let items = self
            .store
            .follow_ups(user_id, now - 30 * DAY_MS, now + 180 * DAY_MS)
            .await?;
        Ok(ical(&principal.user.display_name, &items, now))
    }
}

/// Escapes text for an iCalendar value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
    out
}

fn stamp(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

fn ical(owner: &str, items: &[Activity], now_ms: i64) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Stride//Follow-ups//EN",
        "CALSCALE:GREGORIAN",
    ] {
        out.push_str(&fold(line));
    }
    out.push_str(&fold(&format!(
        "X-WR-CALNAME:{}",
        escape(&format!("Stride · {owner}"))
    )));
    for a in items {
        let Some(start) = a.data.next_follow_up_at_ms else {
            continue;
        };
        let summary = a.data.next_step.as_deref().unwrap_or(&a.data.summary);
        out.push_str("BEGIN:VEVENT\r\n");
        out.push_str(&fold(&format!("UID:stride-activity-{}@stride", a.id)));
        out.push_str(&fold(&format!("DTSTAMP:{}", stamp(now_ms))));
        out.push_str(&fold(&format!("DTSTART:{}", stamp(start))));
        out.push_str(&fold(&format!("DTEND:{}", stamp(start + EVENT_MS))));
        out.push_str(&fold(&format!("SUMMARY:{}", escape(summary))));
        out.push_str(&fold(&format!("DESCRIPTION:{}", escape(&a.data.summary))));
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_at_75_octets_and_text_is_escaped() {
        let folded = fold(&format!("SUMMARY:{}", "拜访".repeat(40)));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(
            folded.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", "拜访".repeat(40))
        );
        assert_eq!(escape("a,b;c\nd\\"), "a\\,b\\;c\\nd\\\\");
    }
}
