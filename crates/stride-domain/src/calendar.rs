//! The business calendar: working days, public holidays and 调休 make-up working days.
//!
//! Deadlines such as "answer within 2 working days" are computed here, in the
//! organisation's time zone, so that a holiday week never eats an SLA.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

/// What an entry of the calendar does to its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Public holiday: no work, even on a weekday.
    Holiday,
    /// Make-up working day (调休): work, even on a Saturday or Sunday.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown day kind: {0:?}")]
pub struct UnknownDayKind(pub String);

impl FromStr for DayKind {
    type Err = UnknownDayKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "holiday" => Ok(DayKind::Holiday),
            "workday" => Ok(DayKind::Workday),
            _ => Err(UnknownDayKind(s.to_owned())),
        }
    }
}

/// One entry of the calendar, e.g. 2025-10-01 Holiday "国庆节".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    pub date: Date,
    pub kind: DayKind,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: TimeZone,
    /// Holidays on Mon–Fri, sorted; a holiday on a weekend changes nothing.
    holidays: Vec<Date>,
    /// Make-up workdays on Sat/Sun, sorted; one on a weekday changes nothing.
    workdays: Vec<Date>,
}

fn is_weekend(w: Weekday) -> bool {
    matches!(w, Weekday::Saturday | Weekday::Sunday)
}

/// Whole days from `from` to `to` (negative if `to` is earlier). Never overflows:
/// the civil range is only ~7.3 million days.
fn days(from: Date, to: Date) -> i64 {
    to.duration_since(from).as_hours() / 24
}

/// Entries of a sorted slice in the half-open interval (from, to].
fn count_in(sorted: &[Date], from: Date, to: Date) -> i64 {
    let n = sorted.partition_point(|d| *d <= to) - sorted.partition_point(|d| *d <= from);
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl BusinessCalendar {
    /// Later entries for the same date win, so a corrected import can simply be appended.
    pub fn new(tz: TimeZone, days: impl IntoIterator<Item = CalendarDay>) -> Self {
        let by_date: BTreeMap<Date, DayKind> = days.into_iter().map(|d| (d.date, d.kind)).collect();
        let (mut holidays, mut workdays) = (Vec::new(), Vec::new());
        for (date, kind) in by_date {
            match (kind, is_weekend(date.weekday())) {
                (DayKind::Holiday, false) => holidays.push(date),
                (DayKind::Workday, true) => workdays.push(date),
                _ => {}
            }
        }
        Self {
            tz,
            holidays,
            workdays,
        }
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Mon–Fri unless a holiday; Sat/Sun only if a make-up workday.
    pub fn is_working_day(&self, d: Date) -> bool {
        if is_weekend(d.weekday()) {
            self.workdays.binary_search(&d).is_ok()
        } else {
            self.holidays.binary_search(&d).is_err()
        }
    }

    /// "N working days after T": the same local wall-clock time (in the calendar's zone)
    /// on the N-th working day after T's local date. n = 0 returns T itself.
    ///
    /// A wall-clock time that falls in a DST gap or fold is resolved the "compatible"
    /// way (gap: later, fold: earlier). Saturates to `Timestamp::MAX` when the day lies
    /// beyond the supported range.
    pub fn add_working_days(&self, from: Timestamp, n: u32) -> Timestamp {
        if n == 0 {
            return from;
        }
        let local = self.tz.to_datetime(from);
        let start = local.date();
        if self.working_days_between(start, Date::MAX) < n {
            return Timestamp::MAX;
        }
        // The count grows by at most one per day, so the first day where it reaches n
        // is the n-th working day. Binary search keeps this O(log) even for huge n.
        // A Span, not a SignedDuration: Date + SignedDuration rejects more than ~2.9M days.
        let plus = |k: i64| {
            Span::new()
                .try_days(k)
                .and_then(|s| start.checked_add(s))
                .unwrap_or(Date::MAX)
        };
        let (mut lo, mut hi) = (i64::from(n), days(start, Date::MAX));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.working_days_between(start, plus(mid)) >= n {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        self.tz
            .to_ambiguous_timestamp(plus(lo).to_datetime(local.time()))
            .compatible()
            .unwrap_or(Timestamp::MAX)
    }

    /// Number of working days d with from < d <= to (0 if to <= from).
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        let total = days(from, to);
        if total <= 0 {
            return 0;
        }
        // Whole weeks hold 5 weekdays each; the <7 leftover days are checked one by one.
        let first = from.weekday();
        let leftover = (1..=total % 7)
            .filter(|&i| !is_weekend(first.wrapping_add(i)))
            .count();
        let weekdays = 5 * (total / 7) + i64::try_from(leftover).unwrap_or(0);
        let n = weekdays - count_in(&self.holidays, from, to) + count_in(&self.workdays, from, to);
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use jiff::civil::{date, DateTime};
    use jiff::SignedDuration;
    use proptest::prelude::*;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    fn entry(date: Date, kind: DayKind) -> CalendarDay {
        CalendarDay {
            date,
            kind,
            name: String::new(),
        }
    }

    /// Official 2025 National Day and 2026 Spring Festival arrangements (国办发).
    fn china() -> BusinessCalendar {
        let mut days = Vec::new();
        let mut holiday_run = |from: Date, n: i64, name: &str| {
            for i in 0..n {
                let date = from
                    .checked_add(SignedDuration::from_hours(24 * i))
                    .unwrap();
                days.push(CalendarDay {
                    date,
                    kind: DayKind::Holiday,
                    name: name.into(),
                });
            }
        };
        holiday_run(date(2025, 10, 1), 8, "国庆节、中秋节");
        holiday_run(date(2026, 2, 15), 9, "春节");
        for d in [
            date(2025, 9, 28),
            date(2025, 10, 11),
            date(2026, 2, 14),
            date(2026, 2, 28),
        ] {
            days.push(CalendarDay {
                date: d,
                kind: DayKind::Workday,
                name: "调休上班".into(),
            });
        }
        BusinessCalendar::new(shanghai(), days)
    }

    fn at(cal: &BusinessCalendar, dt: DateTime) -> Timestamp {
        cal.time_zone()
            .to_ambiguous_timestamp(dt)
            .compatible()
            .unwrap()
    }

    fn local(cal: &BusinessCalendar, t: Timestamp) -> DateTime {
        cal.time_zone().to_datetime(t)
    }

    #[test]
    fn national_day_2025() {
        let cal = china();
        let fri = at(&cal, date(2025, 9, 26).at(10, 0, 0, 0));
        assert_eq!(
            local(&cal, cal.add_working_days(fri, 1)),
            date(2025, 9, 28).at(10, 0, 0, 0)
        );
        let tue = at(&cal, date(2025, 9, 30).at(15, 0, 0, 0));
        let after = |n| local(&cal, cal.add_working_days(tue, n));
        assert_eq!(after(0), date(2025, 9, 30).at(15, 0, 0, 0));
        assert_eq!(after(1), date(2025, 10, 9).at(15, 0, 0, 0));
        assert_eq!(after(2), date(2025, 10, 10).at(15, 0, 0, 0));
        assert_eq!(after(3), date(2025, 10, 11).at(15, 0, 0, 0));
        assert_eq!(after(4), date(2025, 10, 13).at(15, 0, 0, 0));
        // Sep 29, 30, Oct 9, 10, 11 (Sat, make-up).
        assert_eq!(
            cal.working_days_between(date(2025, 9, 28), date(2025, 10, 12)),
            5
        );
        assert!(!cal.is_working_day(date(2025, 10, 8)));
        assert!(cal.is_working_day(date(2025, 9, 28)));
        assert!(!cal.is_working_day(date(2025, 10, 12)));
    }

    #[test]
    fn spring_festival_2026() {
        let cal = china();
        let fri = at(&cal, date(2026, 2, 13).at(9, 30, 0, 0));
        let after = |n| local(&cal, cal.add_working_days(fri, n)).date();
        assert_eq!(after(1), date(2026, 2, 14)); // Sat, make-up
        assert_eq!(after(2), date(2026, 2, 24)); // first day back
        assert_eq!(after(5), date(2026, 2, 27));
        assert_eq!(after(6), date(2026, 2, 28)); // Sat, make-up
        assert_eq!(after(7), date(2026, 3, 2));
    }

    #[test]
    fn dst_gap_and_fold_use_compatible() {
        let ny = TimeZone::get("America/New_York").unwrap();
        // Sundays of the 2025 transitions, made working days to land on them.
        let cal = BusinessCalendar::new(
            ny.clone(),
            [
                entry(date(2025, 3, 9), DayKind::Workday),
                entry(date(2025, 11, 2), DayKind::Workday),
            ],
        );
        let gap_from = at(&cal, date(2025, 3, 7).at(2, 30, 0, 0));
        let gap = cal.add_working_days(gap_from, 1).to_zoned(ny.clone());
        assert_eq!(gap.datetime(), date(2025, 3, 9).at(3, 30, 0, 0));
        let fold_from = at(&cal, date(2025, 10, 31).at(1, 30, 0, 0));
        let fold = cal.add_working_days(fold_from, 1).to_zoned(ny);
        assert_eq!(fold.datetime(), date(2025, 11, 2).at(1, 30, 0, 0));
        assert_eq!(fold.offset().seconds(), -4 * 3600); // the earlier, EDT
    }

    #[test]
    fn extremes_saturate_without_panicking() {
        let cal = china();
        assert_eq!(cal.add_working_days(Timestamp::MAX, 1), Timestamp::MAX);
        assert_eq!(
            cal.add_working_days(Timestamp::MIN, u32::MAX),
            Timestamp::MAX
        );
        let kiritimati = BusinessCalendar::new(TimeZone::get("Pacific/Kiritimati").unwrap(), []);
        assert_eq!(
            kiritimati.add_working_days(Timestamp::MAX, 1),
            Timestamp::MAX
        );
        let all = cal.working_days_between(Date::MIN, Date::MAX);
        assert!(all > 5_000_000);
        assert_eq!(cal.working_days_between(Date::MAX, Date::MIN), 0);
        let far = cal.add_working_days(Timestamp::MIN, all / 2);
        assert!(far < Timestamp::MAX);
        assert!(cal.is_working_day(local(&cal, far).date()));
    }

    #[test]
    fn later_entries_win_and_kind_round_trips() {
        let mon = date(2025, 6, 2);
        let cal = BusinessCalendar::new(
            shanghai(),
            [entry(mon, DayKind::Holiday), entry(mon, DayKind::Workday)],
        );
        assert!(cal.is_working_day(mon));
        for k in [DayKind::Holiday, DayKind::Workday] {
            assert_eq!(k.as_str().parse::<DayKind>(), Ok(k));
        }
        assert!("weekend".parse::<DayKind>().is_err());
    }

    const BASE: Date = date(2025, 1, 1);

    fn day(offset: i64) -> Date {
        BASE.checked_add(SignedDuration::from_hours(24 * offset))
            .unwrap()
    }

    /// Random holidays and make-up workdays, dense enough to create long holiday runs.
    fn calendar() -> impl Strategy<Value = BusinessCalendar> {
        prop::collection::vec((0i64..500, any::<bool>()), 0..200).prop_map(|v| {
            let days = v.into_iter().map(|(o, h)| {
                entry(
                    day(o),
                    if h {
                        DayKind::Holiday
                    } else {
                        DayKind::Workday
                    },
                )
            });
            BusinessCalendar::new(shanghai(), days)
        })
    }

    /// A start time in the calendar's window, in Shanghai local time.
    fn start() -> impl Strategy<Value = DateTime> {
        (0i64..400, 0i8..24, 0i8..60, 0i8..60).prop_map(|(o, h, m, s)| day(o).at(h, m, s, 0))
    }

    /// Reference implementation: walk day by day.
    fn naive_add(cal: &BusinessCalendar, from: Date, n: u32) -> Date {
        let (mut d, mut left) = (from, n);
        while left > 0 {
            d = d.tomorrow().unwrap();
            if cal.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    proptest! {
        #[test]
        fn add_lands_on_working_day_n_away(cal in calendar(), s in start(), n in 1u32..80) {
            let from = at(&cal, s);
            let to = local(&cal, cal.add_working_days(from, n));
            prop_assert!(cal.is_working_day(to.date()));
            prop_assert_eq!(cal.working_days_between(s.date(), to.date()), n);
            prop_assert_eq!(to.date(), naive_add(&cal, s.date(), n));
            prop_assert_eq!(to.time(), s.time());
        }

        #[test]
        fn add_is_strictly_monotonic(cal in calendar(), s in start(), n in 0u32..60) {
            let from = at(&cal, s);
            prop_assert!(cal.add_working_days(from, n) < cal.add_working_days(from, n + 1));
        }

        #[test]
        fn between_matches_day_by_day_count(cal in calendar(), a in 0i64..500, b in 0i64..500) {
            let (from, to) = (day(a), day(b));
            let walked = (a + 1..=b).filter(|&o| cal.is_working_day(day(o))).count();
            prop_assert_eq!(cal.working_days_between(from, to) as usize, walked);
        }

        #[test]
        fn empty_calendar_is_plain_mon_to_fri(s in start(), n in 1u32..80, span in 0i64..500) {
            let cal = BusinessCalendar::new(shanghai(), []);
            let to = local(&cal, cal.add_working_days(at(&cal, s), n)).date();
            prop_assert!(!is_weekend(to.weekday()));
            prop_assert_eq!(cal.working_days_between(s.date(), to), n);
            let end = s.date().checked_add(SignedDuration::from_hours(24 * span)).unwrap();
            let mon_fri = (1..=span)
                .map(|i| s.date().checked_add(SignedDuration::from_hours(24 * i)).unwrap())
                .filter(|d| !is_weekend(d.weekday()))
                .count();
            prop_assert_eq!(cal.working_days_between(s.date(), end) as usize, mon_fri);
        }
    }
}
