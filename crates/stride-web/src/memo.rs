//! Answers kept as the bytes they were sent as, by a stamp that says what they were made of.
//! A stamp carries the directory generation it was taken in (see the store's `directory`), so
//! nothing made before a change is sent after it: the first answer of a newer generation
//! throws the older ones away.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use axum::body::Bytes;

/// A stamp: what an answer was made of, in which directory generation; an answer made while
/// the generation is unknown is neither kept nor served.
pub trait Stamp: Hash + Eq {
    fn generation(&self) -> Option<u64>;
}

impl Stamp for stride_app::org::UsersPageStamp {
    fn generation(&self) -> Option<u64> {
        self.generation
    }
}

pub struct Memo<S> {
    kept: Mutex<Kept<S>>,
    room: usize,
}

struct Kept<S> {
    generation: u64,
    answers: HashMap<S, Bytes>,
}

impl<S: Stamp> Memo<S> {
    /// Keeps at most `room` answers, and starts over when full.
    pub fn new(room: usize) -> Self {
        Self {
            kept: Mutex::new(Kept {
                generation: 0,
                answers: HashMap::new(),
            }),
            room,
        }
    }

    pub fn get(&self, stamp: &S) -> Option<Bytes> {
        let generation = stamp.generation()?;
        let kept = self.kept.lock().ok()?;
        (kept.generation == generation)
            .then(|| kept.answers.get(stamp).cloned())
            .flatten()
    }

    pub fn put(&self, stamp: S, answer: Bytes) {
        let Some(generation) = stamp.generation() else {
            return;
        };
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if generation < kept.generation {
            return;
        }
        if generation > kept.generation || kept.answers.len() >= self.room {
            kept.generation = generation;
            kept.answers.clear();
        }
        kept.answers.insert(stamp, answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Hash, PartialEq, Eq)]
    struct Asked(u64, &'static str);

    impl Stamp for Asked {
        fn generation(&self) -> Option<u64> {
            // Generation 0 stands for "unknown" here.
            (self.0 > 0).then_some(self.0)
        }
    }

    #[test]
    fn answers_last_until_a_newer_generation() {
        let memo = Memo::new(10);
        memo.put(Asked(1, "page 1"), Bytes::from_static(b"one"));
        assert_eq!(memo.get(&Asked(1, "page 1")).as_deref(), Some(&b"one"[..]));
        assert_eq!(memo.get(&Asked(1, "page 2")), None);
        // A stamp of a newer generation never finds an older answer, and its answer replaces them.
        assert_eq!(memo.get(&Asked(2, "page 1")), None);
        memo.put(Asked(2, "page 2"), Bytes::from_static(b"two"));
        assert_eq!(memo.get(&Asked(1, "page 1")), None);
        // An answer made in an older generation, finished late, is not kept.
        memo.put(Asked(1, "page 1"), Bytes::from_static(b"late"));
        assert_eq!(memo.get(&Asked(1, "page 1")), None);
        assert_eq!(memo.get(&Asked(2, "page 2")).as_deref(), Some(&b"two"[..]));
    }

    #[test]
    fn nothing_is_kept_or_served_without_a_generation() {
        let memo = Memo::new(10);
        memo.put(Asked(0, "page 1"), Bytes::from_static(b"unknown"));
        assert_eq!(memo.get(&Asked(0, "page 1")), None);
        memo.put(Asked(1, "page 1"), Bytes::from_static(b"one"));
        assert_eq!(memo.get(&Asked(0, "page 1")), None);
    }

    #[test]
    fn a_full_memo_starts_over() {
        let memo = Memo::new(2);
        memo.put(Asked(1, "a"), Bytes::from_static(b"a"));
        memo.put(Asked(1, "b"), Bytes::from_static(b"b"));
        memo.put(Asked(1, "c"), Bytes::from_static(b"c"));
        assert_eq!(memo.get(&Asked(1, "a")), None);
        assert_eq!(memo.get(&Asked(1, "c")).as_deref(), Some(&b"c"[..]));
    }
}
