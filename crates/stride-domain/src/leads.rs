//! Leads (SPEC LEAD-1…LEAD-8): where they come from, how they are graded, which status
//! changes are allowed, and when a first response is due.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A closed set of names: `as_str`, `FromStr` (error [`crate::access::UnknownName`]),
/// `Display`, an `ALL` list in declaration order, and serde as the name string.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::access::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::access::UnknownName(s.to_owned())),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Where a lead came from.
    LeadSource {
        Website => "website",
        Exhibition => "exhibition",
        Referral => "referral",
        Partner => "partner",
        SocialMedia => "social_media",
        ColdCall => "cold_call",
        Campaign => "campaign",
        Other => "other",
    }
);

string_enum!(
    /// How promising a lead is. Ordered best first (`A < B < C`).
    LeadGrade {
        /// Clear need, known budget and known decision chain.
        A => "A",
        /// A need is visible but budget or decision chain is unclear.
        B => "B",
        /// No explicit need yet (an enquiry only): goes to the nurture pool.
        C => "C",
    }
);

string_enum!(
    /// Where a lead stands in its life.
    LeadStatus {
        New => "new",
        Contacted => "contacted",
        Qualified => "qualified",
        Nurturing => "nurturing",
        /// Final: the lead became a customer / opportunity.
        Converted => "converted",
        /// Final: the lead was judged worthless.
        Disqualified => "disqualified",
    }
);

impl LeadStatus {
    /// Converted and disqualified leads never change status again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Converted | Self::Disqualified)
    }

    /// Whether a lead in status `self` may move to `next`.
    ///
    /// - Final statuses (converted, disqualified) go nowhere; nothing goes back to new.
    /// - Any non-final status may be disqualified.
    /// - new → contacted, qualified, nurturing.
    /// - contacted → qualified, nurturing; qualified → nurturing.
    /// - nurturing → contacted, qualified (reactivated from the nurture pool).
    /// - Only contacted or qualified leads may be converted (never straight from new
    ///   or from the nurture pool).
    /// - Staying in the same status is not a transition (`false`).
    pub fn can_become(self, next: LeadStatus) -> bool {
        use LeadStatus::*;
        if self.is_final() || self == next {
            return false;
        }
        match next {
            New => false,
            Disqualified => true,
            Converted => matches!(self, Contacted | Qualified),
            Contacted => matches!(self, New | Nurturing),
            Qualified => matches!(self, New | Contacted | Nurturing),
            Nurturing => matches!(self, New | Contacted | Qualified),
        }
    }
}

/// What is known about a lead when grading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Qualification {
    /// The prospect stated a concrete need (not just an enquiry).
    pub explicit_need: bool,
    pub budget_known: bool,
    pub decision_chain_known: bool,
}

/// The company's grading policy: which facts a lead needs for grade A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradingRules {
    pub a_requires_budget: bool,
    pub a_requires_decision_chain: bool,
}

impl Default for GradingRules {
    fn default() -> Self {
        Self {
            a_requires_budget: true,
            a_requires_decision_chain: true,
        }
    }
}

impl GradingRules {
    /// A = explicit need plus (where the rules require them) known budget and decision
    /// chain; B = explicit need but something A requires is unknown; C = no explicit need.
    pub fn grade(&self, q: &Qualification) -> LeadGrade {
        if !q.explicit_need {
            return LeadGrade::C;
        }
        let budget_ok = q.budget_known || !self.a_requires_budget;
        let chain_ok = q.decision_chain_known || !self.a_requires_decision_chain;
        if budget_ok && chain_ok {
            LeadGrade::A
        } else {
            LeadGrade::B
        }
    }
}

/// How fast an assigned lead must get its first contact, by grade.
///
/// Durations are absolute (a day is 24 hours), not working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponsePolicy {
    /// First contact due this many hours after assignment for grade A.
    pub a_hours: u32,
    /// First contact due this many hours after assignment for grade B.
    pub b_hours: u32,
    /// Grade C leads have no response deadline; they are revisited every this many days.
    pub c_nurture_days: u32,
}

impl Default for ResponsePolicy {
    fn default() -> Self {
        Self {
            a_hours: 24,
            b_hours: 48,
            c_nurture_days: 30,
        }
    }
}

impl ResponsePolicy {
    /// When the first contact is due, or `None` for grade C (nurture pool, no deadline).
    /// Saturates to `Timestamp::MAX`.
    pub fn response_due(&self, grade: LeadGrade, assigned_at: Timestamp) -> Option<Timestamp> {
        let hours = match grade {
            LeadGrade::A => self.a_hours,
            LeadGrade::B => self.b_hours,
            LeadGrade::C => return None,
        };
        Some(add_hours(assigned_at, i64::from(hours)))
    }

    /// When a nurtured (grade C) lead should be looked at again: `from` plus
    /// `c_nurture_days` days. Saturates to `Timestamp::MAX`.
    pub fn next_nurture(&self, from: Timestamp) -> Timestamp {
        add_hours(from, 24 * i64::from(self.c_nurture_days))
    }
}

fn add_hours(t: Timestamp, hours: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_hours(hours))
        .unwrap_or(Timestamp::MAX)
}

/// Whether a lead missed its response deadline: the deadline `due` has passed (`now` is
/// strictly after it) and there was no first contact at or before it. A contact made
/// after the deadline does not undo the miss. No deadline (`None`) is never overdue.
pub fn is_overdue(
    due: Option<Timestamp>,
    first_contact_at: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    let Some(due) = due else {
        return false;
    };
    now > due && first_contact_at.is_none_or(|c| c > due)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::access::UnknownName;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn names_round_trip() {
        for v in LeadSource::ALL {
            assert_eq!(v.as_str().parse::<LeadSource>(), Ok(*v));
        }
        for v in LeadGrade::ALL {
            assert_eq!(v.to_string().parse::<LeadGrade>(), Ok(*v));
        }
        for v in LeadStatus::ALL {
            assert_eq!(v.as_str().parse::<LeadStatus>(), Ok(*v));
        }
        assert_eq!(LeadSource::ALL.len(), 8);
        assert_eq!(LeadSource::SocialMedia.as_str(), "social_media");
        assert_eq!("cold_call".parse(), Ok(LeadSource::ColdCall));
        assert_eq!("a".parse::<LeadGrade>(), Err(UnknownName("a".to_owned())));
        assert!("Website".parse::<LeadSource>().is_err());
    }

    #[test]
    fn enums_serialize_as_their_names() {
        use serde::de::{value::Error as DeError, IntoDeserializer};
        let de = |s: &str| LeadStatus::deserialize(s.into_deserializer());
        assert_eq!(de("nurturing"), Ok::<_, DeError>(LeadStatus::Nurturing));
        assert!(de("lost").is_err());
        let de = |s: &str| LeadGrade::deserialize(s.into_deserializer());
        assert_eq!(de("B"), Ok::<_, DeError>(LeadGrade::B));
    }

    #[test]
    fn status_transitions() {
        use LeadStatus::*;
        assert!(New.can_become(Contacted));
        assert!(New.can_become(Qualified));
        assert!(New.can_become(Nurturing));
        assert!(New.can_become(Disqualified));
        assert!(!New.can_become(Converted));
        assert!(Contacted.can_become(Converted));
        assert!(Qualified.can_become(Converted));
        assert!(!Nurturing.can_become(Converted));
        for s in [Contacted, Qualified] {
            assert!(s.can_become(Nurturing));
            assert!(Nurturing.can_become(s));
        }
        assert!(!Qualified.can_become(Contacted));
        for from in LeadStatus::ALL {
            assert!(!from.can_become(*from));
            assert!(!from.can_become(New));
            for to in LeadStatus::ALL {
                if from.is_final() {
                    assert!(!from.can_become(*to), "{from} -> {to}");
                }
            }
            if !from.is_final() {
                assert!(from.can_become(Disqualified));
            }
        }
    }

    #[test]
    fn grading_follows_rules() {
        let q = |explicit_need, budget_known, decision_chain_known| Qualification {
            explicit_need,
            budget_known,
            decision_chain_known,
        };
        let strict = GradingRules::default();
        assert_eq!(strict.grade(&q(true, true, true)), LeadGrade::A);
        assert_eq!(strict.grade(&q(true, false, true)), LeadGrade::B);
        assert_eq!(strict.grade(&q(true, true, false)), LeadGrade::B);
        assert_eq!(strict.grade(&q(true, false, false)), LeadGrade::B);
        assert_eq!(strict.grade(&q(false, true, true)), LeadGrade::C);

        let budget_only = GradingRules {
            a_requires_budget: true,
            a_requires_decision_chain: false,
        };
        assert_eq!(budget_only.grade(&q(true, true, false)), LeadGrade::A);
        assert_eq!(budget_only.grade(&q(true, false, true)), LeadGrade::B);
        let lax = GradingRules {
            a_requires_budget: false,
            a_requires_decision_chain: false,
        };
        assert_eq!(lax.grade(&q(true, false, false)), LeadGrade::A);
        assert_eq!(lax.grade(&q(false, false, false)), LeadGrade::C);
    }

    #[test]
    fn config_defaults_fill_missing_fields() {
        use serde::de::value::{Error as DeError, MapDeserializer};
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, u32)>());
        assert_eq!(
            ResponsePolicy::deserialize(empty).unwrap(),
            ResponsePolicy::default()
        );
        let one = MapDeserializer::<_, DeError>::new(std::iter::once(("a_hours", 4u32)));
        let p = ResponsePolicy::deserialize(one).unwrap();
        assert_eq!((p.a_hours, p.b_hours, p.c_nurture_days), (4, 48, 30));
        let empty = MapDeserializer::<_, DeError>::new(std::iter::empty::<(&str, bool)>());
        assert_eq!(
            GradingRules::deserialize(empty).unwrap(),
            GradingRules::default()
        );
    }

    #[test]
    fn response_deadlines() {
        let p = ResponsePolicy::default();
        let at = ts("2025-03-01T09:30:00Z");
        assert_eq!(
            p.response_due(LeadGrade::A, at),
            Some(ts("2025-03-02T09:30:00Z"))
        );
        assert_eq!(
            p.response_due(LeadGrade::B, at),
            Some(ts("2025-03-03T09:30:00Z"))
        );
        assert_eq!(p.response_due(LeadGrade::C, at), None);
        assert_eq!(p.next_nurture(at), ts("2025-03-31T09:30:00Z"));
        let huge = ResponsePolicy {
            a_hours: u32::MAX,
            b_hours: 0,
            c_nurture_days: u32::MAX,
        };
        assert_eq!(huge.response_due(LeadGrade::A, at), Some(Timestamp::MAX));
        assert_eq!(huge.response_due(LeadGrade::B, at), Some(at));
        assert_eq!(huge.next_nurture(at), Timestamp::MAX);
    }

    #[test]
    fn overdue() {
        let due = ts("2025-03-02T09:30:00Z");
        let before = ts("2025-03-02T09:00:00Z");
        let after = ts("2025-03-02T10:00:00Z");
        assert!(!is_overdue(Some(due), None, before));
        assert!(!is_overdue(Some(due), None, due));
        assert!(is_overdue(Some(due), None, after));
        assert!(!is_overdue(Some(due), Some(before), after));
        assert!(!is_overdue(Some(due), Some(due), after));
        assert!(is_overdue(Some(due), Some(after), after));
        assert!(!is_overdue(None, None, Timestamp::MAX));
    }

    proptest! {
        #[test]
        fn grade_is_monotone_in_knowledge(
            need in any::<bool>(),
            budget in any::<bool>(),
            chain in any::<bool>(),
            rb in any::<bool>(),
            rc in any::<bool>(),
        ) {
            let rules = GradingRules { a_requires_budget: rb, a_requires_decision_chain: rc };
            let q = Qualification { explicit_need: need, budget_known: budget, decision_chain_known: chain };
            let g = rules.grade(&q);
            // Knowing more never makes a lead worse; no need always means C.
            let full = Qualification { explicit_need: need, budget_known: true, decision_chain_known: true };
            prop_assert!(rules.grade(&full) <= g);
            prop_assert_eq!(g == LeadGrade::C, !need);
            // Stricter rules never make a lead better.
            prop_assert!(GradingRules::default().grade(&q) >= g);
        }

        #[test]
        fn due_never_before_assignment(secs in -10_000_000_000i64..10_000_000_000, h in any::<u32>()) {
            let at = Timestamp::from_second(secs).unwrap();
            let p = ResponsePolicy { a_hours: h, b_hours: h, c_nurture_days: h };
            let due = p.response_due(LeadGrade::A, at).unwrap();
            prop_assert!(due >= at);
            prop_assert!(p.next_nurture(at) >= at);
            prop_assert!(!is_overdue(Some(due), None, at));
        }
    }
}
