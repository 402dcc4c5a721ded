//! The business calendar (ORG-5): public holidays and make-up working days (调休).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use stride_domain::access::{Action, RecordKind};
use stride_domain::calendar::{BusinessCalendar, CalendarDay};
use stride_domain::validate;

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult};
use crate::App;

/// How far either side of a date the calendar is loaded for deadline arithmetic.
const HORIZON_DAYS: i64 = 400;

impl App {
    /// Days in `[from, to]`; everyone signed in may read the calendar.
    pub async fn calendar_days(&self, from: Date, to: Date) -> AppResult<Vec<CalendarDay>> {
        if to < from {
            return Err(AppError::field(
                "to",
                "before_from",
                "the end date is before the start date",
            ));
        }
        Ok(self.store.calendar_days(from, to).await?)
    }

    /// Marks a date as a public holiday or a make-up working day, replacing what it was.
    pub async fn set_calendar_day(
        &self,
        actor: &Actor,
        mut day: CalendarDay,
    ) -> AppResult<CalendarDay> {
        actor.require(RecordKind::Calendar, Action::Edit)?;
        day.name = validate::required_text(&day.name, 50).ok_or_else(|| {
            AppError::field(
                "name",
                "required",
                "name the day (at most 50 characters), e.g. 国庆节",
            )
        })?;
        let mut tx = self.store.begin().await?;
        let before = tx.upsert_calendar_day(&day).await?;
        let mut entry = NewAuditEntry::new(
            actor,
            if before.is_some() { "update" } else { "create" },
            RecordKind::Calendar,
            None,
            self.now_ms(),
        );
        if let Some(before) = &before {
            entry = entry.with_before(&day_json(before));
        }
        entry = entry.with_after(&day_json(&day));
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(day)
    }

    pub async fn remove_calendar_day(&self, actor: &Actor, date: Date) -> AppResult<()> {
        actor.require(RecordKind::Calendar, Action::Edit)?;
        let mut tx = self.store.begin().await?;
        let before = tx
            .delete_calendar_day(date)
            .await?
            .ok_or(AppError::NotFound)?;
        let entry = NewAuditEntry::new(actor, "delete", RecordKind::Calendar, None, self.now_ms())
            .with_before(&day_json(&before));
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The calendar in the organisation's time zone, loaded around `around`.
    pub async fn business_calendar(&self, around: Timestamp) -> AppResult<BusinessCalendar> {
        let settings = self.store.org_settings().await?;
        let tz =
            TimeZone::get(&settings.time_zone).map_err(|e| AppError::Internal(e.to_string()))?;
        let today = around.to_zoned(tz.clone()).date();
        let span = jiff::Span::new().days(HORIZON_DAYS);
        let from = today.checked_sub(span).unwrap_or(today);
        let to = today.checked_add(span).unwrap_or(today);
        Ok(BusinessCalendar::new(
            tz,
            self.store.calendar_days(from, to).await?,
        ))
    }

    /// "N working days after T" in the organisation's calendar.
    pub async fn add_working_days(&self, from: Timestamp, days: u32) -> AppResult<Timestamp> {
        if days > 250 {
            return Err(AppError::field(
                "days",
                "out_of_range",
                "at most 250 working days",
            ));
        }
        Ok(self
            .business_calendar(from)
            .await?
            .add_working_days(from, days))
    }
}

fn day_json(d: &CalendarDay) -> serde_json::Value {
    serde_json::json!({ "date": d.date.to_string(), "kind": d.kind.as_str(), "name": d.name })
}
