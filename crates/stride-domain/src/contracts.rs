//! Contract rules (CON-1…3): numbers from a configurable pattern, payment milestones that add
//! up to the contract amount, and the archiving deadline after signing.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A contract number pattern such as `HT-{yyyy}-{seq:5}`.
///
/// Tokens: `{yyyy}` `{yy}` `{mm}` `{dd}` (the signing-draft date in the organisation's zone) and
/// exactly one `{seq:N}`, the sequence zero-padded to N digits (1–9). The sequence counts per
/// *series*: the number with `{seq}` left out, so `HT-{yyyy}-{seq:5}` starts again every year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Year4,
    Year2,
    Month,
    Day,
    Seq(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("unknown token `{{{0}}}`; use {{yyyy}}, {{yy}}, {{mm}}, {{dd}} or {{seq:N}}")]
    UnknownToken(String),
    #[error("the pattern needs exactly one {{seq:N}}")]
    SequenceCount,
    #[error("an unclosed `{{`")]
    Unclosed,
    #[error("the pattern is empty or longer than 60 characters")]
    Length,
    #[error("only letters, digits and - _ / . may appear outside tokens")]
    Character,
}

pub const DEFAULT_NUMBER_PATTERN: &str = "HT-{yyyy}-{seq:5}";

impl NumberPattern {
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        if pattern.is_empty() || pattern.chars().count() > 60 {
            return Err(PatternError::Length);
        }
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            Self::text(&mut parts, &rest[..open])?;
            let close = rest[open..].find('}').ok_or(PatternError::Unclosed)? + open;
            let token = &rest[open + 1..close];
            parts.push(match token {
                "yyyy" => Part::Year4,
                "yy" => Part::Year2,
                "mm" => Part::Month,
                "dd" => Part::Day,
                _ => match token
                    .strip_prefix("seq:")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(width) if (1..=9).contains(&width) => Part::Seq(width),
                    _ => return Err(PatternError::UnknownToken(token.to_owned())),
                },
            });
            rest = &rest[close + 1..];
        }
        Self::text(&mut parts, rest)?;
        if parts.iter().filter(|p| matches!(p, Part::Seq(_))).count() != 1 {
            return Err(PatternError::SequenceCount);
        }
        Ok(Self { parts })
    }

    fn text(parts: &mut Vec<Part>, text: &str) -> Result<(), PatternError> {
        if text.contains('}') {
            return Err(PatternError::UnknownToken(text.to_owned()));
        }
        if !text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
        {
            return Err(PatternError::Character);
        }
        if !text.is_empty() {
            parts.push(Part::Text(text.to_owned()));
        }
        Ok(())
    }

    /// The series a number on `date` belongs to: its sequence counts within it.
    pub fn series(&self, date: Date) -> String {
        self.render(date, None)
    }

    /// The number for the `seq`-th contract of its series.
    pub fn number(&self, date: Date, seq: i64) -> String {
        self.render(date, Some(seq))
    }

    fn render(&self, date: Date, seq: Option<i64>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Year4 => out.push_str(&format!("{:04}", date.year())),
                Part::Year2 => out.push_str(&format!("{:02}", date.year() % 100)),
                Part::Month => out.push_str(&format!("{:02}", date.month())),
                Part::Day => out.push_str(&format!("{:02}", date.day())),
                Part::Seq(width) => match seq {
                    Some(n) => out.push_str(&format!("{n:0width$}")),
                    None => out.push_str("{seq}"),
                },
            }
        }
        out
    }
}

/// One payment milestone (回款节点): when, how much, and on what condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub name: String,
    pub due_on: Date,
    pub amount_fen: i64,
}

/// What is wrong with a set of milestones, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MilestoneProblem {
    Missing,
    NonPositive {
        index: usize,
    },
    Unnamed {
        index: usize,
    },
    /// The milestones add up to `sum`, not the contract amount.
    Sum {
        sum: i64,
        amount: i64,
    },
    /// Due dates go backwards.
    Order {
        index: usize,
    },
}

/// Milestones must be named, positive, in date order, and add up to the amount exactly.
pub fn check_milestones(amount_fen: i64, milestones: &[Milestone]) -> Vec<MilestoneProblem> {
    let mut problems = Vec::new();
    if milestones.is_empty() {
        problems.push(MilestoneProblem::Missing);
        return problems;
    }
    for (index, m) in milestones.iter().enumerate() {
        if m.name.trim().is_empty() {
            problems.push(MilestoneProblem::Unnamed { index });
        }
        if m.amount_fen <= 0 {
            problems.push(MilestoneProblem::NonPositive { index });
        }
        if index > 0 && m.due_on < milestones[index - 1].due_on {
            problems.push(MilestoneProblem::Order { index });
        }
    }
    let sum = milestones
        .iter()
        .try_fold(0i64, |acc, m| acc.checked_add(m.amount_fen))
        .unwrap_or(i64::MAX);
    if sum != amount_fen {
        problems.push(MilestoneProblem::Sum {
            sum,
            amount: amount_fen,
        });
    }
    problems
}

/// Payment terms as compared with what was negotiated: without whitespace, in lower case, with
/// full-width letters, digits and punctuation read as their half-width forms.
fn terms_key(terms: &str) -> String {
    terms
        .chars()
        .map(crate::customers::to_half_width)
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a contract's payment terms say what the letter of intent says, ignoring whitespace,
/// case and full-width/half-width differences.
pub fn same_terms(contract: &str, negotiated: &str) -> bool {
    terms_key(contract) == terms_key(negotiated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_compare_without_spacing_case_or_width() {
        assert!(same_terms(
            "签约付 30%，验收后付 70%",
            "签约付30%，验收后付70%"
        ));
        assert!(same_terms(
            "30% on signing, 70% on acceptance",
            "30%  ON SIGNING,\n70% on Acceptance"
        ));
        // Full-width digits, letters, percent sign, comma and the ideographic space.
        assert!(same_terms(
            "签约付３０％,验收后付７０％",
            "签约付 30%，验收后付 70%"
        ));
        assert!(same_terms("ＮＥＴ　３０", "net 30"));
        assert!(!same_terms(
            "签约付 30%，验收后付 70%",
            "签约付 50%，验收后付 50%"
        ));
        assert!(!same_terms("net 30", "net 60"));
    }

    fn day(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn the_default_pattern_numbers_per_year() {
        let p = NumberPattern::parse(DEFAULT_NUMBER_PATTERN).unwrap();
        assert_eq!(p.number(day(2026, 11, 23), 42), "HT-2026-00042");
        assert_eq!(p.series(day(2026, 1, 1)), p.series(day(2026, 12, 31)));
        assert_ne!(p.series(day(2026, 12, 31)), p.series(day(2027, 1, 1)));
        assert_eq!(p.number(day(2026, 1, 1), 123_456), "HT-2026-123456");
    }

    #[test]
    fn monthly_patterns_and_short_years() {
        let p = NumberPattern::parse("SH/{yy}{mm}-{seq:3}").unwrap();
        assert_eq!(p.number(day(2026, 3, 9), 7), "SH/2603-007");
        assert_ne!(p.series(day(2026, 3, 9)), p.series(day(2026, 4, 1)));
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        assert_eq!(
            NumberPattern::parse("HT-{yyyy}"),
            Err(PatternError::SequenceCount)
        );
        assert_eq!(
            NumberPattern::parse("{seq:3}-{seq:3}"),
            Err(PatternError::SequenceCount)
        );
        assert_eq!(
            NumberPattern::parse("HT-{year}-{seq:3}"),
            Err(PatternError::UnknownToken("year".into()))
        );
        assert_eq!(
            NumberPattern::parse("HT-{seq:0}"),
            Err(PatternError::UnknownToken("seq:0".into()))
        );
        assert_eq!(
            NumberPattern::parse("HT-{seq:3"),
            Err(PatternError::Unclosed)
        );
        assert_eq!(
            NumberPattern::parse("HT {seq:3}"),
            Err(PatternError::Character)
        );
        assert_eq!(NumberPattern::parse(""), Err(PatternError::Length));
    }

    fn milestone(name: &str, due_on: Date, amount_fen: i64) -> Milestone {
        Milestone {
            name: name.into(),
            due_on,
            amount_fen,
        }
    }

    #[test]
    fn milestones_must_add_up_to_the_fen() {
        let ms = [
            milestone("预付款 30%", day(2026, 12, 1), 3_000_000),
            milestone("到货款 60%", day(2027, 1, 15), 6_000_000),
            milestone("质保金 10%", day(2027, 12, 31), 1_000_000),
        ];
        assert!(check_milestones(10_000_000, &ms).is_empty());
        assert_eq!(
            check_milestones(10_000_001, &ms),
            vec![MilestoneProblem::Sum {
                sum: 10_000_000,
                amount: 10_000_001
            }]
        );
    }

    #[test]
    fn milestones_are_named_positive_and_in_order() {
        let ms = [
            milestone("", day(2027, 1, 1), 50),
            milestone("rest", day(2026, 1, 1), -10),
        ];
        let problems = check_milestones(40, &ms);
        assert!(problems.contains(&MilestoneProblem::Unnamed { index: 0 }));
        assert!(problems.contains(&MilestoneProblem::NonPositive { index: 1 }));
        assert!(problems.contains(&MilestoneProblem::Order { index: 1 }));
        assert_eq!(check_milestones(0, &[]), vec![MilestoneProblem::Missing]);
    }
}
