//! The counts the search box chooses each read by (`customers::search`), kept for a while once
//! they reach their cap. Counting a manager's team and a common bigram up to the cap was a third
//! of such a search's work, and both stay "many" for far longer than a minute.
//!
//! Only counts at the cap are kept. A count chooses which side a search reads, the scope or the
//! bigram's postings, and both give the same matches; the one count that decides what a search
//! finds is zero (no name holds the bigram: nothing to read), and that one is never kept, so a
//! name written since is always found. A kept count gone stale only makes a search read the
//! slower side until it expires. Each server process keeps its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stride_app::Reach;

/// How long a count at the cap is taken as still at it.
const KEPT_FOR: Duration = Duration::from_secs(60);
/// Counts kept at most; all are forgotten when more would be.
const ROOM: usize = 4096;

/// What a search counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Counted {
    /// The records of a table within a reach.
    Reach(&'static str, Reach),
    /// The postings of a bigram in a bigram table.
    Gram(&'static str, String),
}

/// The counts seen at their cap, and when.
#[derive(Default)]
pub(crate) struct ManyCounts {
    seen: Mutex<HashMap<Counted, Instant>>,
}

impl ManyCounts {
    /// Whether `what` was counted at the cap less than [`KEPT_FOR`] before `now`.
    pub fn is_many(&self, what: &Counted, now: Instant) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(what)
            .is_some_and(|at| now.saturating_duration_since(*at) < KEPT_FOR)
    }

    /// Keeps `what`, counted at the cap at `now`.
    pub fn keep(&self, what: Counted, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= ROOM && !seen.contains_key(&what) {
            seen.clear();
        }
        seen.insert(what, now);
    }
}

#[cfg(test)]
mod tests {
    use super::{Counted, ManyCounts, KEPT_FOR, ROOM};
    use std::time::{Duration, Instant};
    use stride_app::Reach;

    #[test]
    fn a_count_is_many_only_while_it_is_fresh() {
        let counts = ManyCounts::default();
        let team = Counted::Reach("customers", Reach::Departments(vec![3]));
        let gram = Counted::Gram("customer_name_bigrams", "上海".to_owned());
        let t0 = Instant::now();
        assert!(!counts.is_many(&team, t0), "nothing kept yet");
        counts.keep(team.clone(), t0);
        assert!(counts.is_many(&team, t0 + KEPT_FOR - Duration::from_millis(1)));
        assert!(!counts.is_many(&team, t0 + KEPT_FOR), "expired");
        assert!(!counts.is_many(&gram, t0), "another count");
        let other_team = Counted::Reach("customers", Reach::Departments(vec![4]));
        assert!(!counts.is_many(&other_team, t0), "another reach");
    }

    #[test]
    fn a_full_room_starts_over() {
        let counts = ManyCounts::default();
        let t0 = Instant::now();
        for i in 0..ROOM {
            counts.keep(Counted::Gram("customer_name_bigrams", i.to_string()), t0);
        }
        let first = Counted::Gram("customer_name_bigrams", "0".to_owned());
        assert!(counts.is_many(&first, t0));
        counts.keep(Counted::Gram("customer_name_bigrams", "新".to_owned()), t0);
        assert!(
            !counts.is_many(&first, t0),
            "forgotten when the room filled"
        );
        assert_eq!(
            counts
                .seen
                .lock()
                .map(|seen| seen.len())
                .unwrap_or_default(),
            1
        );
    }
}
