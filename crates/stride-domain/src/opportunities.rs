//! Opportunities (SPEC OPP-1, OPP-2, OPP-7): the pipeline stages and their gates, the money of
//! product line items, and the reasons a deal is won or lost.
//!
//! # Money and the one rounding rule
//!
//! Every amount is integer fen. Each rule below computes exactly in `i128` and divides **once, at
//! the end**, rounding **half away from zero** ([`div_round`]). Nothing is rounded twice and no
//! float is ever used:
//!
//! - line total = round(quantity × unit price × (10 000 − discount bp) / 10 000)
//! - list total = Σ quantity × list price (no division, exact)
//! - cost = Σ quantity × unit cost (exact)
//! - amount with lines = Σ line totals (each line rounded once, then summed exactly)
//! - deal discount bp = round(10 000 × (list total − amount) / list total), i.e. 1 − actual/list
//! - gross profit = amount − cost (exact)
//! - weighted amount = round(amount × probability % / 100)
//!
//! Amounts are never negative and at most [`MAX_AMOUNT_FEN`], so every intermediate fits and
//! sums of many amounts stay far from `i64::MAX`.

use serde::{Deserialize, Serialize};

use crate::leads::string_enum;

/// Basis points in one whole: 10 000 bp = 100 %.
pub const BP_ONE: i64 = 10_000;

/// The largest amount Stride accepts on one price, line or opportunity: 10 trillion yuan in fen.
/// Sums of a million of them still fit in an `i64`, and × 100 (probability) fits too.
pub const MAX_AMOUNT_FEN: i64 = 1_000_000_000_000_000;

/// The most units one line may carry.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amounts cannot be negative")]
    Negative,
    #[error("the amount is larger than Stride accepts")]
    TooLarge,
    #[error("a discount is between 0 and 10000 basis points")]
    DiscountOutOfRange,
    #[error("a quantity is between 1 and 1000000000")]
    QuantityOutOfRange,
}

/// `n / d` rounded half away from zero (`d` must not be 0; a 0 divisor gives 0).
///
/// This is the only rounding rule of opportunity money: 0.5 fen becomes 1 fen, −0.5 becomes −1.
pub fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let (q, r) = (n / d, n % d);
    // Round away from zero when the remainder is at least half the divisor.
    if 2 * r.abs() >= d.abs() {
        if (n < 0) != (d < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

fn amount(v: i128) -> Result<i64, AmountError> {
    if v < 0 {
        return Err(AmountError::Negative);
    }
    i64::try_from(v)
        .ok()
        .filter(|v| *v <= MAX_AMOUNT_FEN)
        .ok_or(AmountError::TooLarge)
}

/// One product line of an opportunity, with the product's list price and cost taken when the
/// line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineMoney {
    pub quantity: i64,
    /// The agreed price of one unit, before the line's discount.
    pub unit_price_fen: i64,
    /// The line's discount in basis points (1 000 = 10 %).
    pub discount_bp: i64,
    /// The catalogue price of one unit.
    pub list_price_fen: i64,
    /// What one unit costs the company.
    pub unit_cost_fen: i64,
}

impl LineMoney {
    fn check(&self) -> Result<(), AmountError> {
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return Err(AmountError::QuantityOutOfRange);
        }
        if !(0..=BP_ONE).contains(&self.discount_bp) {
            return Err(AmountError::DiscountOutOfRange);
        }
        for v in [self.unit_price_fen, self.list_price_fen, self.unit_cost_fen] {
            amount(i128::from(v))?;
        }
        Ok(())
    }

    /// quantity × unit price × (1 − discount), rounded once, half away from zero.
    pub fn total(&self) -> Result<i64, AmountError> {
        self.check()?;
        let gross = i128::from(self.quantity) * i128::from(self.unit_price_fen);
        let net = gross * i128::from(BP_ONE - self.discount_bp);
        amount(div_round(net, i128::from(BP_ONE)))
    }

    /// quantity × list price, exact.
    pub fn list_total(&self) -> Result<i64, AmountError> {
        self.check()?;
        amount(i128::from(self.quantity) * i128::from(self.list_price_fen))
    }

    /// quantity × unit cost, exact.
    pub fn cost(&self) -> Result<i64, AmountError> {
        self.check()?;
        amount(i128::from(self.quantity) * i128::from(self.unit_cost_fen))
    }
}

/// What an opportunity's lines add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineTotals {
    /// Σ line totals: the opportunity's amount when it has lines.
    pub amount_fen: i64,
    /// Σ quantity × list price.
    pub list_total_fen: i64,
    /// Σ quantity × unit cost.
    pub cost_fen: i64,
}

/// Adds up lines exactly: each line total rounded once, then summed without rounding.
pub fn line_totals(lines: &[LineMoney]) -> Result<LineTotals, AmountError> {
    let mut sum = (0i128, 0i128, 0i128);
    for line in lines {
        sum.0 += i128::from(line.total()?);
        sum.1 += i128::from(line.list_total()?);
        sum.2 += i128::from(line.cost()?);
    }
    Ok(LineTotals {
        amount_fen: amount(sum.0)?,
        list_total_fen: amount(sum.1)?,
        cost_fen: amount(sum.2)?,
    })
}

/// The whole deal's discount off the list: 1 − actual / list, in basis points, rounded half away
/// from zero. Negative when the deal sells above the list; `None` without a list total.
pub fn deal_discount_bp(amount_fen: i64, list_total_fen: i64) -> Option<i64> {
    if list_total_fen <= 0 {
        return None;
    }
    let off = i128::from(list_total_fen) - i128::from(amount_fen);
    i64::try_from(div_round(
        off * i128::from(BP_ONE),
        i128::from(list_total_fen),
    ))
    .ok()
}

/// amount − cost, exact (negative for a deal sold below cost).
pub fn gross_profit(amount_fen: i64, cost_fen: i64) -> i64 {
    amount_fen.saturating_sub(cost_fen)
}

/// amount × probability / 100, rounded half away from zero. Probability is a percentage 0–100.
pub fn weighted_amount(amount_fen: i64, probability_pct: i64) -> i64 {
    let v = div_round(i128::from(amount_fen) * i128::from(probability_pct), 100);
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

// ---------------------------------------------------------------------------------------
// Stages and their gates
// ---------------------------------------------------------------------------------------

string_enum!(
    /// The stages of the sales process (OPP-1), in their default order. Admins rename, reorder
    /// and re-weight the open ones; `won` and `lost` are terminal and always last.
    Stage {
        FirstContact => "first_contact",
        NeedsAnalysis => "needs_analysis",
        Proposal => "proposal",
        Negotiation => "negotiation",
        LetterOfIntent => "letter_of_intent",
        Contract => "contract",
        Won => "won",
        Lost => "lost",
    }
);

impl Stage {
    /// Won and lost end an opportunity; nothing moves out of them.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Won | Self::Lost)
    }

    /// The open stages, in default order.
    pub fn open() -> impl Iterator<Item = Stage> {
        Self::ALL.iter().copied().filter(|s| !s.is_terminal())
    }

    /// open, won or lost.
    pub fn status(self) -> &'static str {
        match self {
            Self::Won => "won",
            Self::Lost => "lost",
            _ => "open",
        }
    }

    /// The default probability in percent.
    pub fn default_probability(self) -> i64 {
        match self {
            Self::FirstContact => 10,
            Self::NeedsAnalysis => 20,
            Self::Proposal => 40,
            Self::Negotiation => 60,
            Self::LetterOfIntent => 80,
            Self::Contract => 90,
            Self::Won => 100,
            Self::Lost => 0,
        }
    }

    /// What must be true before an opportunity enters this stage, by default.
    pub fn default_requires(self) -> Vec<Requirement> {
        match self {
            Self::Proposal => vec![Requirement::NeedsAnalysisConfirmed],
            Self::LetterOfIntent => vec![Requirement::ProposalApproved],
            Self::Contract => vec![Requirement::LetterOfIntentSigned],
            _ => vec![],
        }
    }

    /// The default names (Chinese, English).
    pub fn default_names(self) -> (&'static str, &'static str) {
        match self {
            Self::FirstContact => ("初步接触", "First contact"),
            Self::NeedsAnalysis => ("需求分析", "Needs analysis"),
            Self::Proposal => ("方案报价", "Proposal"),
            Self::Negotiation => ("商务谈判", "Negotiation"),
            Self::LetterOfIntent => ("合作意向书", "Letter of intent"),
            Self::Contract => ("合同签订", "Contract"),
            Self::Won => ("赢单", "Won"),
            Self::Lost => ("输单", "Lost"),
        }
    }
}

string_enum!(
    /// A fact a stage gate can ask for. The documents behind them (needs analysis report,
    /// proposal, letter of intent) each make one of these true.
    Requirement {
        /// The customer confirmed the needs analysis report (OPP-3).
        NeedsAnalysisConfirmed => "needs_analysis_confirmed",
        /// The proposal passed its internal review (OPP-4).
        ProposalApproved => "proposal_approved",
        /// A letter of intent was signed (OPP-6).
        LetterOfIntentSigned => "letter_of_intent_signed",
    }
);

/// What is known about an opportunity's documents when it tries to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GateFacts {
    pub needs_analysis_confirmed: bool,
    pub proposal_approved: bool,
    pub letter_of_intent_signed: bool,
}

impl GateFacts {
    pub fn holds(&self, r: Requirement) -> bool {
        match r {
            Requirement::NeedsAnalysisConfirmed => self.needs_analysis_confirmed,
            Requirement::ProposalApproved => self.proposal_approved,
            Requirement::LetterOfIntentSigned => self.letter_of_intent_signed,
        }
    }
}

/// One stage as configured: its names, its default probability and its gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageConfig {
    pub stage: Stage,
    pub name_zh: String,
    pub name_en: String,
    /// Percent, 0–100; fixed at 100 for won and 0 for lost.
    pub probability: i64,
    /// What must hold before an opportunity enters this stage; empty = no gate.
    pub requires: Vec<Requirement>,
}

impl StageConfig {
    /// A stage with its defaults.
    pub fn default_for(stage: Stage) -> Self {
        let (zh, en) = stage.default_names();
        Self {
            stage,
            name_zh: zh.to_owned(),
            name_en: en.to_owned(),
            probability: stage.default_probability(),
            requires: stage.default_requires(),
        }
    }

    /// The name in `locale` (`zh…` is Chinese, anything else English).
    pub fn name(&self, locale: &str) -> &str {
        if locale.starts_with("zh") {
            &self.name_zh
        } else {
            &self.name_en
        }
    }
}

/// Every stage with its defaults, in default order.
pub fn default_stages() -> Vec<StageConfig> {
    Stage::ALL
        .iter()
        .copied()
        .map(StageConfig::default_for)
        .collect()
}

/// The requirements of `target`'s gate that `facts` do not meet, in the order configured.
/// Empty means the opportunity may enter the stage.
pub fn missing_requirements(target: &StageConfig, facts: &GateFacts) -> Vec<Requirement> {
    let mut missing: Vec<Requirement> = Vec::new();
    for r in &target.requires {
        if !facts.holds(*r) && !missing.contains(r) {
            missing.push(*r);
        }
    }
    missing
}

/// The stages an opportunity enters on its way from `from` to `to`, in pipeline order. Moving
/// forward it passes every stage after `from` up to and including `to`, so skipping a stage
/// does not skip its gate; moving back, or losing the deal, it enters only `to`. A new
/// opportunity (`from` None) enters the pipeline at its start.
pub fn stages_on_the_way(
    stages: &[StageConfig],
    from: Option<Stage>,
    to: Stage,
) -> Vec<&StageConfig> {
    let at = |s: Stage| stages.iter().position(|c| c.stage == s);
    let Some(end) = at(to) else {
        return Vec::new();
    };
    let start = match from {
        None => 0,
        Some(f) => at(f).map_or(end, |p| p + 1),
    };
    if to == Stage::Lost || start > end {
        return vec![&stages[end]];
    }
    stages[start..=end].iter().collect()
}

/// Every requirement the gates on the way from `from` to `to` ask for and `facts` do not meet,
/// each once, with the first stage on the way that asks for it. Empty means the move may go.
pub fn missing_on_the_way<'a>(
    stages: &'a [StageConfig],
    from: Option<Stage>,
    to: Stage,
    facts: &GateFacts,
) -> Vec<(&'a StageConfig, Requirement)> {
    let mut missing: Vec<(&StageConfig, Requirement)> = Vec::new();
    for stage in stages_on_the_way(stages, from, to) {
        for r in missing_requirements(stage, facts) {
            if !missing.iter().any(|(_, m)| *m == r) {
                missing.push((stage, r));
            }
        }
    }
    missing
}

/// Why a stage configuration is refused: the field (`stages`, or `stages[i].field`) and a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Checks a whole stage configuration, in display order: every stage exactly once, open stages
/// before won and lost (won, then lost), names of 1–50 characters, open probabilities 0–100,
/// won 100 and lost 0, no gate on the entry stage (first contact, where converted leads land)
/// or on lost.
pub fn check_stage_config(stages: &[StageConfig]) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut add = |field: String, code: &'static str, message: &str| {
        problems.push(ConfigProblem {
            field,
            code,
            message: message.to_owned(),
        })
    };
    for s in Stage::ALL {
        let n = stages.iter().filter(|c| c.stage == *s).count();
        if n != 1 {
            add(
                "stages".into(),
                "invalid",
                &format!("list every stage exactly once ({} appears {n} times)", s),
            );
        }
    }
    if stages.len() == Stage::ALL.len() {
        let tail: Vec<Stage> = stages[stages.len() - 2..].iter().map(|c| c.stage).collect();
        if tail != [Stage::Won, Stage::Lost] {
            add(
                "stages".into(),
                "terminal_last",
                "won and lost come last, in that order",
            );
        }
    }
    for (i, c) in stages.iter().enumerate() {
        let at = |f: &str| format!("stages[{i}].{f}");
        for (field, name) in [("name_zh", &c.name_zh), ("name_en", &c.name_en)] {
            let len = name.trim().chars().count();
            if !(1..=50).contains(&len) {
                add(at(field), "required", "a name of 1 to 50 characters");
            }
        }
        match c.stage {
            Stage::Won if c.probability != 100 => {
                add(at("probability"), "fixed", "won is always 100 %")
            }
            Stage::Lost if c.probability != 0 => {
                add(at("probability"), "fixed", "lost is always 0 %")
            }
            Stage::Won | Stage::Lost => {}
            _ if !(0..=100).contains(&c.probability) => add(
                at("probability"),
                "out_of_range",
                "a percentage from 0 to 100",
            ),
            _ => {}
        }
        if matches!(c.stage, Stage::FirstContact | Stage::Lost) && !c.requires.is_empty() {
            add(
                at("requires"),
                "not_gated",
                "first contact and lost cannot have a gate",
            );
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// Won and lost
// ---------------------------------------------------------------------------------------

string_enum!(
    /// How an opportunity ends.
    Outcome {
        Won => "won",
        Lost => "lost",
    }
);

impl Outcome {
    pub fn stage(self) -> Stage {
        match self {
            Self::Won => Stage::Won,
            Self::Lost => Stage::Lost,
        }
    }
}

string_enum!(
    /// Why a deal was won or lost (OPP-7), for win/loss analysis.
    CloseReason {
        Price => "price",
        ProductFit => "product_fit",
        Relationship => "relationship",
        Timing => "timing",
        Competitor => "competitor",
        Budget => "budget",
        NoDecision => "no_decision",
        Other => "other",
    }
);

/// Checks a close: a competitor reason names the winning competitor, and only a lost deal has a
/// winning competitor (or ends in no decision). Returns (field, code, message) per problem.
pub fn check_close(
    outcome: Outcome,
    reason: CloseReason,
    winning_competitor: Option<&str>,
) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut problems = Vec::new();
    let named = winning_competitor.is_some_and(|c| !c.trim().is_empty());
    match outcome {
        Outcome::Lost => {
            if reason == CloseReason::Competitor && !named {
                problems.push((
                    "winning_competitor",
                    "required",
                    "name the competitor who won the deal",
                ));
            }
        }
        Outcome::Won => {
            if matches!(reason, CloseReason::Competitor | CloseReason::NoDecision) {
                problems.push((
                    "reason",
                    "invalid_for_won",
                    "a won deal is not won by a competitor or by no decision",
                ));
            }
            if named {
                problems.push((
                    "winning_competitor",
                    "only_for_lost",
                    "only a lost deal has a winning competitor",
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(quantity: i64, unit_price_fen: i64, discount_bp: i64) -> LineMoney {
        LineMoney {
            quantity,
            unit_price_fen,
            discount_bp,
            list_price_fen: unit_price_fen,
            unit_cost_fen: 0,
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 10), 1);
        assert_eq!(div_round(4, 10), 0);
        assert_eq!(div_round(15, 10), 2);
        assert_eq!(div_round(-5, 10), -1);
        assert_eq!(div_round(-4, 10), 0);
        assert_eq!(div_round(-15, 10), -2);
        assert_eq!(div_round(5, -10), -1);
        assert_eq!(div_round(7, 0), 0);
    }

    #[test]
    fn three_at_33_33_with_ten_percent_off() {
        // 3 × 33.33 = 99.99; 90 % of it is 89.991 → 89.99.
        let l = line(3, 3333, 1000);
        assert_eq!(l.total(), Ok(8999));
        assert_eq!(l.list_total(), Ok(9999));
        // Half a fen rounds up: 1 × 0.05 at 10 % off is 0.045 → 0.05.
        assert_eq!(line(1, 5, 1000).total(), Ok(5));
        // 0.5 fen exactly: 1 × 0.01 at 50 % off is 0.005 → 0.01.
        assert_eq!(line(1, 1, 5000).total(), Ok(1));
        assert_eq!(line(7, 1999, 0).total(), Ok(13_993));
        assert_eq!(line(2, 10_000, BP_ONE).total(), Ok(0));
    }

    #[test]
    fn lines_add_up_exactly() {
        let lines = [
            LineMoney {
                quantity: 3,
                unit_price_fen: 3333,
                discount_bp: 1000,
                list_price_fen: 3500,
                unit_cost_fen: 2000,
            },
            LineMoney {
                quantity: 1,
                unit_price_fen: 1_000_000,
                discount_bp: 0,
                list_price_fen: 1_200_000,
                unit_cost_fen: 600_000,
            },
        ];
        let t = line_totals(&lines).unwrap();
        assert_eq!(t.amount_fen, 8999 + 1_000_000);
        assert_eq!(t.list_total_fen, 10_500 + 1_200_000);
        assert_eq!(t.cost_fen, 6000 + 600_000);
        assert_eq!(gross_profit(t.amount_fen, t.cost_fen), 1_008_999 - 606_000);
        // 1 − 1 008 999 / 1 210 500 = 0.16646… → 1665 bp.
        assert_eq!(deal_discount_bp(t.amount_fen, t.list_total_fen), Some(1665));
        assert_eq!(line_totals(&[]), Ok(LineTotals::default()));
    }

    #[test]
    fn bad_lines_are_refused() {
        assert_eq!(
            line(0, 100, 0).total(),
            Err(AmountError::QuantityOutOfRange)
        );
        assert_eq!(
            line(1, 100, 10_001).total(),
            Err(AmountError::DiscountOutOfRange)
        );
        assert_eq!(
            line(1, 100, -1).total(),
            Err(AmountError::DiscountOutOfRange)
        );
        assert_eq!(line(1, -1, 0).total(), Err(AmountError::Negative));
        assert_eq!(
            line(MAX_QUANTITY, MAX_AMOUNT_FEN, 0).total(),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn discount_profit_and_weight() {
        assert_eq!(deal_discount_bp(9000, 10_000), Some(1000));
        assert_eq!(deal_discount_bp(11_000, 10_000), Some(-1000));
        assert_eq!(deal_discount_bp(10_000, 0), None);
        // 2/3 off: 6666.67 bp → 6667.
        assert_eq!(deal_discount_bp(1, 3), Some(6667));
        assert_eq!(gross_profit(100, 150), -50);
        assert_eq!(weighted_amount(12_345, 40), 4938);
        assert_eq!(weighted_amount(5, 10), 1);
        assert_eq!(weighted_amount(4, 10), 0);
        assert_eq!(weighted_amount(MAX_AMOUNT_FEN, 100), MAX_AMOUNT_FEN);
    }

    #[test]
    fn default_gates() {
        let stages = default_stages();
        let cfg = |s: Stage| stages.iter().find(|c| c.stage == s).unwrap();
        let none = GateFacts::default();
        assert_eq!(
            missing_requirements(cfg(Stage::Proposal), &none),
            vec![Requirement::NeedsAnalysisConfirmed]
        );
        assert_eq!(
            missing_requirements(cfg(Stage::LetterOfIntent), &none),
            vec![Requirement::ProposalApproved]
        );
        assert_eq!(
            missing_requirements(cfg(Stage::Contract), &none),
            vec![Requirement::LetterOfIntentSigned]
        );
        for s in [
            Stage::FirstContact,
            Stage::NeedsAnalysis,
            Stage::Negotiation,
            Stage::Won,
            Stage::Lost,
        ] {
            assert!(missing_requirements(cfg(s), &none).is_empty(), "{s}");
        }
        let confirmed = GateFacts {
            needs_analysis_confirmed: true,
            ..GateFacts::default()
        };
        assert!(missing_requirements(cfg(Stage::Proposal), &confirmed).is_empty());
        assert_eq!(
            missing_requirements(cfg(Stage::LetterOfIntent), &confirmed),
            vec![Requirement::ProposalApproved]
        );
        // A gate switched off lets everything through.
        let mut open = cfg(Stage::Contract).clone();
        open.requires.clear();
        assert!(missing_requirements(&open, &none).is_empty());
        // Several requirements are reported in the order configured, once each.
        open.requires = vec![
            Requirement::LetterOfIntentSigned,
            Requirement::NeedsAnalysisConfirmed,
            Requirement::LetterOfIntentSigned,
        ];
        assert_eq!(
            missing_requirements(&open, &confirmed),
            vec![Requirement::LetterOfIntentSigned]
        );
    }

    fn codes(stages: &[&StageConfig]) -> Vec<Stage> {
        stages.iter().map(|c| c.stage).collect()
    }

    #[test]
    fn the_way_passes_every_stage_in_between() {
        use Stage::*;
        let stages = default_stages();
        assert_eq!(
            codes(&stages_on_the_way(&stages, Some(FirstContact), Contract)),
            vec![
                NeedsAnalysis,
                Proposal,
                Negotiation,
                LetterOfIntent,
                Contract
            ]
        );
        assert_eq!(
            codes(&stages_on_the_way(&stages, Some(Negotiation), Won)),
            vec![LetterOfIntent, Contract, Won]
        );
        assert_eq!(
            codes(&stages_on_the_way(&stages, Some(Proposal), Negotiation)),
            vec![Negotiation]
        );
        // Back, and lost, enter only the target.
        assert_eq!(
            codes(&stages_on_the_way(&stages, Some(Contract), NeedsAnalysis)),
            vec![NeedsAnalysis]
        );
        assert_eq!(
            codes(&stages_on_the_way(&stages, Some(FirstContact), Lost)),
            vec![Lost]
        );
        // A new opportunity starts at the pipeline's start.
        assert_eq!(
            codes(&stages_on_the_way(&stages, None, Proposal)),
            vec![FirstContact, NeedsAnalysis, Proposal]
        );
        // The configured order decides what lies on the way.
        let mut reordered = default_stages();
        reordered.swap(2, 3); // negotiation before proposal
        assert_eq!(
            codes(&stages_on_the_way(
                &reordered,
                Some(NeedsAnalysis),
                Proposal
            )),
            vec![Negotiation, Proposal]
        );
        assert_eq!(
            codes(&stages_on_the_way(&reordered, Some(Proposal), Negotiation)),
            vec![Negotiation]
        );
    }

    #[test]
    fn gates_add_up_on_the_way() {
        use Requirement::*;
        let stages = default_stages();
        let none = GateFacts::default();
        let missing = |from, to, facts: &GateFacts| -> Vec<(Stage, Requirement)> {
            missing_on_the_way(&stages, from, to, facts)
                .into_iter()
                .map(|(c, r)| (c.stage, r))
                .collect()
        };
        assert_eq!(
            missing(Some(Stage::FirstContact), Stage::Contract, &none),
            vec![
                (Stage::Proposal, NeedsAnalysisConfirmed),
                (Stage::LetterOfIntent, ProposalApproved),
                (Stage::Contract, LetterOfIntentSigned),
            ]
        );
        assert_eq!(
            missing(Some(Stage::FirstContact), Stage::Won, &none).len(),
            3
        );
        let all = GateFacts {
            needs_analysis_confirmed: true,
            proposal_approved: true,
            letter_of_intent_signed: true,
        };
        assert!(missing(Some(Stage::FirstContact), Stage::Won, &all).is_empty());
        let partly = GateFacts {
            needs_analysis_confirmed: true,
            proposal_approved: true,
            ..GateFacts::default()
        };
        assert_eq!(
            missing(Some(Stage::NeedsAnalysis), Stage::Won, &partly),
            vec![(Stage::Contract, LetterOfIntentSigned)]
        );
        // Lost asks for nothing; back asks only for the target's gate.
        assert!(missing(Some(Stage::FirstContact), Stage::Lost, &none).is_empty());
        assert_eq!(
            missing(Some(Stage::Contract), Stage::Proposal, &none),
            vec![(Stage::Proposal, NeedsAnalysisConfirmed)]
        );
        // A requirement asked for twice on the way is reported once, at its first gate.
        let mut twice = default_stages();
        twice[5].requires = vec![NeedsAnalysisConfirmed, LetterOfIntentSigned];
        let found: Vec<_> =
            missing_on_the_way(&twice, Some(Stage::FirstContact), Stage::Contract, &none)
                .into_iter()
                .map(|(c, r)| (c.stage, r))
                .collect();
        assert_eq!(
            found,
            vec![
                (Stage::Proposal, NeedsAnalysisConfirmed),
                (Stage::LetterOfIntent, ProposalApproved),
                (Stage::Contract, LetterOfIntentSigned),
            ]
        );
    }

    #[test]
    fn stage_configs_are_checked() {
        assert!(check_stage_config(&default_stages()).is_empty());
        let mut s = default_stages();
        // Open stages may be reordered and re-weighted freely.
        s.swap(1, 2);
        s[1].probability = 15;
        assert!(check_stage_config(&s).is_empty());
        s[1].probability = 101;
        assert_eq!(check_stage_config(&s)[0].code, "out_of_range");
        let mut s = default_stages();
        s.swap(6, 5);
        assert_eq!(check_stage_config(&s)[0].code, "terminal_last");
        let mut s = default_stages();
        s.pop();
        assert_eq!(check_stage_config(&s)[0].field, "stages");
        let mut s = default_stages();
        s[0].requires = vec![Requirement::ProposalApproved];
        s[6].probability = 90;
        s[2].name_en = " ".into();
        let codes: Vec<_> = check_stage_config(&s)
            .into_iter()
            .map(|p| (p.field, p.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("stages[0].requires".to_owned(), "not_gated"),
                ("stages[2].name_en".to_owned(), "required"),
                ("stages[6].probability".to_owned(), "fixed"),
            ]
        );
    }

    #[test]
    fn closing_rules() {
        use CloseReason::*;
        assert!(check_close(Outcome::Lost, Price, None).is_empty());
        assert_eq!(
            check_close(Outcome::Lost, Competitor, None)[0].0,
            "winning_competitor"
        );
        assert_eq!(
            check_close(Outcome::Lost, Competitor, Some("  "))[0].0,
            "winning_competitor"
        );
        assert!(check_close(Outcome::Lost, Competitor, Some("金蝶")).is_empty());
        assert!(check_close(Outcome::Won, Relationship, None).is_empty());
        assert_eq!(check_close(Outcome::Won, Competitor, None)[0].0, "reason");
        assert_eq!(
            check_close(Outcome::Won, Price, Some("x"))[0].0,
            "winning_competitor"
        );
        assert_eq!("no_decision".parse(), Ok(NoDecision));
        assert!("cheaper".parse::<CloseReason>().is_err());
    }

    proptest! {
        #[test]
        fn line_total_is_the_exact_value_rounded_once(
            q in 1i64..1_000_000, p in 0i64..100_000_000, d in 0i64..=10_000,
        ) {
            let total = line(q, p, d).total().unwrap();
            // Within half a fen of the exact rational value, computed another way.
            let exact_times_bp = i128::from(q) * i128::from(p) * i128::from(BP_ONE - d);
            let diff = i128::from(total) * i128::from(BP_ONE) - exact_times_bp;
            prop_assert!(2 * diff.abs() <= i128::from(BP_ONE));
            // Never more than the undiscounted total, never negative.
            prop_assert!(total >= 0 && i128::from(total) <= i128::from(q) * i128::from(p));
        }

        #[test]
        fn amount_is_the_sum_of_line_totals(
            lines in proptest::collection::vec((1i64..1000, 0i64..10_000_000, 0i64..=10_000), 0..20),
        ) {
            let lines: Vec<LineMoney> = lines.into_iter().map(|(q, p, d)| line(q, p, d)).collect();
            let t = line_totals(&lines).unwrap();
            let sum: i64 = lines.iter().map(|l| l.total().unwrap()).sum();
            prop_assert_eq!(t.amount_fen, sum);
            prop_assert!(t.amount_fen <= t.list_total_fen);
            let bp = deal_discount_bp(t.amount_fen, t.list_total_fen);
            if t.list_total_fen > 0 {
                prop_assert!(bp.is_some_and(|b| (0..=BP_ONE).contains(&b)));
            }
        }

        #[test]
        fn weighted_never_exceeds_the_amount(a in 0i64..=MAX_AMOUNT_FEN, p in 0i64..=100) {
            let w = weighted_amount(a, p);
            prop_assert!((0..=a).contains(&w));
        }
    }
}
