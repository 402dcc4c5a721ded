//! Opportunities (OPP-1, OPP-2, OPP-7): deals on a customer with product lines, moving through
//! configurable pipeline stages whose gates ask for documents, until they are won or lost.
//! The money rules and the gates themselves are pure and live in
//! `stride_domain::opportunities`; this module decides who may do what and keeps the history.

use serde::{Deserialize, Serialize};
use stride_domain::access::{Action, RecordKind};
use stride_domain::approvals::FlowKind;
use stride_domain::opportunities::{
    self as rules, check_close, check_stage_config, line_totals, missing_on_the_way, CloseReason,
    GateFacts, LineMoney, Outcome, Requirement, Stage, StageConfig, BP_ONE, MAX_AMOUNT_FEN,
    MAX_QUANTITY,
};
use stride_domain::validate;

use crate::actor::Actor;
use crate::approvals::{ApprovalRequest, WithdrawReason};
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, FieldError, Problems};
use crate::page::{Page, PageRequest};
use crate::App;

/// The most product lines one opportunity carries.
pub const MAX_LINES: usize = 100;
/// The most competitors named on one opportunity.
pub const MAX_COMPETITORS: usize = 20;
/// Cards per board column unless the caller asks for another number.
pub const DEFAULT_CARDS_PER_COLUMN: u32 = 20;
/// The most cards per board column.
pub const MAX_CARDS_PER_COLUMN: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opportunity {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    /// The lead this opportunity was converted from.
    pub lead_id: Option<i64>,
    pub name: String,
    /// The deal's amount: the sum of the line totals when there are lines.
    pub amount_fen: i64,
    /// Σ quantity × list price of the lines; `None` without lines.
    pub list_total_fen: Option<i64>,
    /// Σ quantity × unit cost of the lines; `None` without lines.
    pub cost_fen: Option<i64>,
    /// `YYYY-MM-DD`.
    pub expected_close_date: Option<String>,
    /// A [`Stage`] code.
    pub stage: String,
    /// A probability set by hand; `None` follows the stage's.
    pub probability_override: Option<i64>,
    /// The configured probability of the current stage.
    pub stage_probability: i64,
    pub competitors: Vec<String>,
    pub owner_id: i64,
    pub owner_name: String,
    pub department_id: i64,
    pub close_reason: Option<String>,
    pub close_note: Option<String>,
    pub winning_competitor: Option<String>,
    pub closed_at_ms: Option<i64>,
    /// The product lines; filled on single reads only (lists leave it empty).
    pub lines: Vec<OpportunityLine>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Opportunity {
    pub fn stage(&self) -> Option<Stage> {
        self.stage.parse().ok()
    }

    /// Won or lost: nothing changes any more.
    pub fn is_closed(&self) -> bool {
        self.stage().is_some_and(Stage::is_terminal)
    }

    /// open, won or lost.
    pub fn status(&self) -> &'static str {
        self.stage().map(Stage::status).unwrap_or("open")
    }

    /// In percent: set by hand, else the stage's.
    pub fn probability(&self) -> i64 {
        self.probability_override.unwrap_or(self.stage_probability)
    }

    /// amount × probability, rounded by the one rule.
    pub fn weighted_amount_fen(&self) -> i64 {
        rules::weighted_amount(self.amount_fen, self.probability())
    }

    /// amount − cost; `None` without lines (the cost is not known).
    pub fn gross_profit_fen(&self) -> Option<i64> {
        self.cost_fen
            .map(|cost| rules::gross_profit(self.amount_fen, cost))
    }

    /// 1 − amount / list total in basis points; `None` without lines.
    pub fn deal_discount_bp(&self) -> Option<i64> {
        self.list_total_fen
            .and_then(|list| rules::deal_discount_bp(self.amount_fen, list))
    }
}

/// What the board shows of one opportunity: its card, without the deal's terms and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCard {
    pub id: i64,
    pub name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub amount_fen: i64,
    /// `YYYY-MM-DD`.
    pub expected_close_date: Option<String>,
    /// A [`Stage`] code.
    pub stage: String,
    /// In percent: set by hand, else the stage's.
    pub probability: i64,
    pub owner_id: i64,
    pub owner_name: String,
    pub version: i64,
}

impl BoardCard {
    /// amount × probability, rounded by the one rule.
    pub fn weighted_amount_fen(&self) -> i64 {
        rules::weighted_amount(self.amount_fen, self.probability)
    }
}

/// One product line as stored, with the product's code, name and unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpportunityLine {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub discount_bp: i64,
    pub list_price_fen: i64,
    pub unit_cost_fen: i64,
    pub line_total_fen: i64,
}

/// A line as the store writes it: priced, its total computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineData {
    pub product_id: i64,
    pub money: LineMoney,
    pub line_total_fen: i64,
}

/// What the store writes about an opportunity; every amount already computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpportunityData {
    pub name: String,
    pub amount_fen: i64,
    pub list_total_fen: Option<i64>,
    pub cost_fen: Option<i64>,
    pub expected_close_date: Option<String>,
    pub probability_override: Option<i64>,
    pub competitors: Vec<String>,
    pub lines: Vec<LineData>,
}

/// A new opportunity for the store: its data, where it starts and whose it is.
#[derive(Debug, Clone)]
pub struct NewOpportunity<'a> {
    pub customer_id: i64,
    pub lead_id: Option<i64>,
    pub data: &'a OpportunityData,
    pub stage: Stage,
    pub owner_id: i64,
    pub department_id: i64,
    /// Who created it, for the first row of the stage history.
    pub created_by: Option<i64>,
}

/// A stage change for the store: the stage, and on closing why.
#[derive(Debug, Clone)]
pub struct StageMove {
    pub from: Stage,
    pub to: Stage,
    pub actor_id: Option<i64>,
    pub closing: Option<Closing>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closing {
    pub reason: CloseReason,
    pub note: Option<String>,
    pub winning_competitor: Option<String>,
}

/// One row of the stage history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageChange {
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub at_ms: i64,
}

/// The stage configuration and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageSettings {
    /// In pipeline order: open stages, then won, then lost.
    pub stages: Vec<StageConfig>,
    pub version: i64,
}

impl StageSettings {
    pub fn get(&self, stage: Stage) -> Option<&StageConfig> {
        self.stages.iter().find(|c| c.stage == stage)
    }
    pub fn open(&self) -> impl Iterator<Item = &StageConfig> {
        self.stages.iter().filter(|c| !c.stage.is_terminal())
    }
}

/// A line as a user enters it; the price defaults to the product's list price.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineInput {
    pub product_id: i64,
    pub quantity: i64,
    pub unit_price_fen: Option<i64>,
    pub discount_bp: Option<i64>,
}

/// What a user enters for a new opportunity.
#[derive(Debug, Clone, Default)]
pub struct NewOpportunityInput {
    pub customer_id: i64,
    pub name: String,
    /// Ignored in favour of the lines' sum when there are lines (and refused if it differs).
    pub amount_fen: Option<i64>,
    pub expected_close_date: Option<String>,
    /// Default `first_contact`; any open stage whose gate holds.
    pub stage: Option<String>,
    pub probability: Option<i64>,
    /// Default the actor; else a user in the actor's scope.
    pub owner_id: Option<i64>,
    pub competitors: Vec<String>,
    pub lines: Vec<LineInput>,
}

/// A partial change: absent fields stay; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct OpportunityPatch {
    pub name: Option<String>,
    pub amount_fen: Option<i64>,
    pub expected_close_date: Option<Option<String>>,
    pub probability: Option<Option<i64>>,
    pub competitors: Option<Vec<String>>,
    /// Replaces every line.
    pub lines: Option<Vec<LineInput>>,
}

#[derive(Debug, Clone, Default)]
pub struct CloseInput {
    /// won or lost.
    pub outcome: String,
    /// One of price, product_fit, relationship, timing, competitor, budget, no_decision, other.
    pub reason: String,
    pub note: Option<String>,
    /// Required when the reason is competitor.
    pub winning_competitor: Option<String>,
}

/// Open, won, lost, or closed (won or lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Won,
    Lost,
    Closed,
}

impl std::str::FromStr for StatusFilter {
    type Err = AppError;
    fn from_str(s: &str) -> AppResult<Self> {
        Ok(match s {
            "open" => Self::Open,
            "won" => Self::Won,
            "lost" => Self::Lost,
            "closed" => Self::Closed,
            _ => {
                return Err(AppError::field(
                    "status",
                    "invalid",
                    "one of open, won, lost, closed",
                ))
            }
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct OpportunityFilter {
    pub stage: Option<Stage>,
    pub status: Option<StatusFilter>,
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// Part of the opportunity's name.
    pub q: Option<String>,
}

impl OpportunityFilter {
    /// Reads the text filters of a list or board, refusing unknown stages and statuses.
    pub fn parse(
        stage: Option<&str>,
        status: Option<&str>,
        owner_id: Option<i64>,
        customer_id: Option<i64>,
        q: Option<&str>,
    ) -> AppResult<Self> {
        let stage = stage
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<Stage>()
                    .map_err(|_| AppError::field("stage", "invalid", "not a stage"))
            })
            .transpose()?;
        let status = status
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<StatusFilter>)
            .transpose()?;
        Ok(Self {
            stage,
            status,
            owner_id,
            customer_id,
            q: q.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

/// Count and sums of one stage within the viewer's scope, computed by the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StageTotals {
    pub stage: String,
    pub count: i64,
    pub total_fen: i64,
    /// Σ of each opportunity's weighted amount (each rounded by the one rule).
    pub weighted_fen: i64,
}

/// One column of the kanban board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardColumn {
    pub stage: StageConfig,
    pub count: i64,
    pub total_fen: i64,
    pub weighted_fen: i64,
    /// The newest cards, at most the number asked for.
    pub cards: Vec<BoardCard>,
}

/// What a blocked move lacks, in English; the UI shows its own texts per requirement code.
fn describe(r: Requirement) -> &'static str {
    match r {
        Requirement::NeedsAnalysisConfirmed => "a needs analysis report confirmed by the customer",
        Requirement::ProposalApproved => "a proposal approved in internal review",
        Requirement::LetterOfIntentSigned => "a signed letter of intent",
    }
}

/// 422 on field `stage`, one entry per missing requirement (with the stage on the way whose
/// gate asks for it), its code the requirement's.
pub fn gate_refusal(missing: &[(&StageConfig, Requirement)]) -> AppError {
    AppError::Validation(
        missing
            .iter()
            .map(|(stage, r)| {
                FieldError::new(
                    "stage",
                    r.as_str(),
                    format!("entering {} needs {}", stage.name_en, describe(*r)),
                )
            })
            .collect(),
    )
}

/// Checks and tidies what every write of an opportunity shares.
fn checked_fields(
    p: &mut Problems,
    name: &str,
    expected_close_date: Option<String>,
    probability: Option<i64>,
    competitors: Vec<String>,
) -> (String, Option<String>, Option<i64>, Vec<String>) {
    let name = match validate::required_text(name, 200) {
        Some(n) => n,
        None => {
            p.add(
                "name",
                "required",
                "the opportunity's name is required (at most 200 characters)",
            );
            String::new()
        }
    };
    let date = expected_close_date
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .and_then(|d| match d.parse::<jiff::civil::Date>() {
            Ok(date) => Some(date.to_string()),
            Err(_) => {
                p.add("expected_close_date", "invalid", "a date as YYYY-MM-DD");
                None
            }
        });
    if let Some(pr) = probability {
        p.check(
            (0..=100).contains(&pr),
            "probability",
            "out_of_range",
            "a percentage from 0 to 100",
        );
    }
    let mut names: Vec<String> = Vec::new();
    for c in competitors {
        let c = c.trim().to_owned();
        if c.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case(&c)) {
            continue;
        }
        if c.chars().count() > 100 {
            p.add(
                "competitors",
                "too_long",
                "a competitor's name has at most 100 characters",
            );
        }
        names.push(c);
    }
    if names.len() > MAX_COMPETITORS {
        p.add(
            "competitors",
            "too_many",
            format!("at most {MAX_COMPETITORS} competitors"),
        );
    }
    (name, date, probability, names)
}

/// The amount of an opportunity: the lines' sum when there are lines (an amount sent along
/// must equal it), else the amount given.
fn checked_amount(
    p: &mut Problems,
    given: Option<i64>,
    lines: &[LineData],
) -> (i64, Option<i64>, Option<i64>) {
    if lines.is_empty() {
        let amount = given.unwrap_or(0);
        if amount < 0 {
            p.add("amount_fen", "negative", "cannot be negative");
        } else if amount > MAX_AMOUNT_FEN {
            p.add("amount_fen", "out_of_range", "larger than Stride accepts");
        }
        return (amount.clamp(0, MAX_AMOUNT_FEN), None, None);
    }
    let money: Vec<LineMoney> = lines.iter().map(|l| l.money).collect();
    match line_totals(&money) {
        Ok(t) => {
            if given.is_some_and(|a| a != t.amount_fen) {
                p.add(
                    "amount_fen",
                    "computed",
                    format!(
                        "with product lines the amount is their sum ({} fen); leave it out",
                        t.amount_fen
                    ),
                );
            }
            (t.amount_fen, Some(t.list_total_fen), Some(t.cost_fen))
        }
        Err(e) => {
            p.add("lines", "out_of_range", e.to_string());
            (0, None, None)
        }
    }
}

/// The reviews that no longer make sense once a deal ends: its proposal reviews and discount
/// requests either way, its contract reviews too when it is lost.
fn moot_reviews(outcome: Outcome) -> &'static [FlowKind] {
    match outcome {
        Outcome::Won => &[FlowKind::ProposalReview, FlowKind::Discount],
        Outcome::Lost => &[
            FlowKind::ProposalReview,
            FlowKind::Discount,
            FlowKind::Contract,
        ],
    }
}

/// What closing a deal would withdraw, shown before it is closed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClosePreview {
    /// Withdrawn whether the deal is won or lost: pending proposal reviews and discount requests.
    pub either_way: Vec<ApprovalRequest>,
    /// Withdrawn only when the deal is lost: pending contract reviews.
    pub if_lost: Vec<ApprovalRequest>,
    /// Pending reviews the viewer may not see, withdrawn all the same.
    pub hidden: usize,
}

impl App {
    // ---- stages -----------------------------------------------------------------------------

    /// The pipeline's stages in order; every signed-in user reads them (the board needs them).
    pub async fn opportunity_stages(&self) -> AppResult<StageSettings> {
        Ok(self.store.opportunity_stages().await?)
    }

    /// Replaces the stage configuration: names, order, probabilities and gates (settings.edit).
    pub async fn update_opportunity_stages(
        &self,
        actor: &Actor,
        version: i64,
        stages: Vec<StageConfig>,
    ) -> AppResult<StageSettings> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        let stages: Vec<StageConfig> = stages
            .into_iter()
            .map(|mut c| {
                c.name_zh = c.name_zh.trim().to_owned();
                c.name_en = c.name_en.trim().to_owned();
                let mut requires: Vec<Requirement> = Vec::new();
                for r in c.requires {
                    if !requires.contains(&r) {
                        requires.push(r);
                    }
                }
                c.requires = requires;
                c
            })
            .collect();
        let problems = check_stage_config(&stages);
        if !problems.is_empty() {
            return Err(AppError::Validation(
                problems
                    .into_iter()
                    .map(|p| FieldError::new(&p.field, p.code, p.message))
                    .collect(),
            ));
        }
        let before = self.store.opportunity_stages().await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx.replace_opportunity_stages(version, &stages, now).await?;
        let mut entry =
            NewAuditEntry::updated(actor, RecordKind::Settings, 1, &before, &after, now);
        entry.action = "update_opportunity_stages";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---- reads ------------------------------------------------------------------------------

    pub async fn list_opportunities(
        &self,
        actor: &Actor,
        filter: &OpportunityFilter,
        page: PageRequest,
    ) -> AppResult<Page<Opportunity>> {
        actor.require(RecordKind::Opportunity, Action::View)?;
        let reach = self.reach(actor).await?;
        let rows = self.store.opportunities(&reach, filter, page).await?;
        Ok(Page::from_rows(rows, page, |o| o.id))
    }

    /// An opportunity in the actor's scope, with its lines.
    pub async fn get_opportunity(&self, actor: &Actor, id: i64) -> AppResult<Opportunity> {
        actor.require(RecordKind::Opportunity, Action::View)?;
        let reach = self.reach(actor).await?;
        self.store
            .opportunity(&reach, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Every stage change of an opportunity in the actor's scope, oldest first.
    pub async fn opportunity_history(&self, actor: &Actor, id: i64) -> AppResult<Vec<StageChange>> {
        self.get_opportunity(actor, id).await?;
        Ok(self.store.stage_history(id).await?)
    }

    /// The kanban board: one column per stage in pipeline order, with count, total and weighted
    /// total summed by the database within the actor's scope, and the newest cards.
    pub async fn opportunity_board(
        &self,
        actor: &Actor,
        filter: &OpportunityFilter,
        cards_per_column: u32,
    ) -> AppResult<Vec<BoardColumn>> {
        actor.require(RecordKind::Opportunity, Action::View)?;
        if !(0..=MAX_CARDS_PER_COLUMN).contains(&cards_per_column) {
            return Err(AppError::field(
                "cards",
                "out_of_range",
                format!("0 to {MAX_CARDS_PER_COLUMN} cards per column"),
            ));
        }
        let filter = OpportunityFilter {
            stage: None,
            status: None,
            ..filter.clone()
        };
        let reach = self.reach(actor).await?;
        // Three reads of their own, each on a pooled connection: at once, not one after another.
        let (settings, totals, mut cards) = tokio::try_join!(
            self.store.opportunity_stages(),
            self.store.stage_totals(&reach, &filter),
            async {
                if cards_per_column > 0 {
                    self.store
                        .board_cards(&reach, &filter, cards_per_column)
                        .await
                } else {
                    Ok(Vec::new())
                }
            }
        )?;
        Ok(settings
            .stages
            .into_iter()
            .map(|stage| {
                let t = totals
                    .iter()
                    .find(|t| t.stage == stage.stage.as_str())
                    .cloned()
                    .unwrap_or_default();
                let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut cards)
                    .into_iter()
                    .partition(|o| o.stage == stage.stage.as_str());
                cards = rest;
                BoardColumn {
                    stage,
                    count: t.count,
                    total_fen: t.total_fen,
                    weighted_fen: t.weighted_fen,
                    cards: mine,
                }
            })
            .collect())
    }

    // ---- writes -----------------------------------------------------------------------------

    /// Prices entered lines from the catalogue. Inactive products are refused unless already on
    /// the opportunity (`kept`).
    async fn priced_lines(
        &self,
        p: &mut Problems,
        inputs: &[LineInput],
        kept: &[i64],
    ) -> AppResult<Vec<LineData>> {
        if inputs.len() > MAX_LINES {
            p.add("lines", "too_many", format!("at most {MAX_LINES} lines"));
            return Ok(Vec::new());
        }
        let mut lines = Vec::new();
        for (i, l) in inputs.iter().enumerate() {
            let at = |f: &str| format!("lines[{i}].{f}");
            let product = self.store.product(l.product_id).await?;
            let Some(product) = product.filter(|p| p.data.active || kept.contains(&p.id)) else {
                p.add(&at("product_id"), "not_found", "no such active product");
                continue;
            };
            if !(1..=MAX_QUANTITY).contains(&l.quantity) {
                p.add(
                    &at("quantity"),
                    "out_of_range",
                    format!("a whole number from 1 to {MAX_QUANTITY}"),
                );
                continue;
            }
            let discount_bp = l.discount_bp.unwrap_or(0);
            if !(0..=BP_ONE).contains(&discount_bp) {
                p.add(
                    &at("discount_bp"),
                    "out_of_range",
                    "0 to 10000 basis points (100 bp = 1 %)",
                );
                continue;
            }
            let unit_price_fen = l.unit_price_fen.unwrap_or(product.data.list_price_fen);
            if !(0..=MAX_AMOUNT_FEN).contains(&unit_price_fen) {
                p.add(
                    &at("unit_price_fen"),
                    "out_of_range",
                    "0 up to the largest amount Stride accepts",
                );
                continue;
            }
            let money = LineMoney {
                quantity: l.quantity,
                unit_price_fen,
                discount_bp,
                list_price_fen: product.data.list_price_fen,
                unit_cost_fen: product.data.cost_fen,
            };
            match money.total() {
                Ok(total) => lines.push(LineData {
                    product_id: product.id,
                    money,
                    line_total_fen: total,
                }),
                Err(e) => p.add(&at("quantity"), "out_of_range", e.to_string()),
            }
        }
        Ok(lines)
    }

    /// Whether an opportunity may go from `from` (None: a new one) to `target`: the gate of
    /// every stage it enters on the way must hold; else every missing requirement is named.
    fn enterable(
        &self,
        settings: &StageSettings,
        from: Option<Stage>,
        target: Stage,
        facts: &GateFacts,
    ) -> AppResult<()> {
        if settings.get(target).is_none() {
            return Err(AppError::Internal(format!(
                "stage {target} is not configured"
            )));
        }
        let missing = missing_on_the_way(&settings.stages, from, target, facts);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(gate_refusal(&missing))
        }
    }

    /// Opens an opportunity on a customer the actor may see, owned by the actor (or by a user in
    /// their scope), at `first_contact` unless another open stage is asked for and the gates on
    /// the way to it hold.
    pub async fn create_opportunity(
        &self,
        actor: &Actor,
        input: NewOpportunityInput,
    ) -> AppResult<Opportunity> {
        actor.require(RecordKind::Opportunity, Action::Create)?;
        let reach = self.reach(actor).await?;
        let mut p = Problems::default();
        if self
            .store
            .customer(&reach, input.customer_id)
            .await?
            .is_none()
        {
            p.add("customer_id", "not_found", "no such customer");
        }
        let (owner_id, department_id) = match input.owner_id {
            None => (actor.user_id, actor.department_id),
            Some(id) if id == actor.user_id => (actor.user_id, actor.department_id),
            Some(id) => match self.store.user(&reach, id).await?.filter(|u| u.active) {
                Some(u) => (u.id, u.department_id),
                None => {
                    p.add("owner_id", "not_found", "no such active user in your scope");
                    (actor.user_id, actor.department_id)
                }
            },
        };
        let stage = match input.stage.as_deref().map(str::trim) {
            None | Some("") => Stage::FirstContact,
            Some(s) => match s.parse::<Stage>() {
                Ok(s) if !s.is_terminal() => s,
                Ok(_) => {
                    p.add(
                        "stage",
                        "terminal",
                        "an opportunity starts open; close it to win or lose it",
                    );
                    Stage::FirstContact
                }
                Err(_) => {
                    p.add("stage", "invalid", "not a stage");
                    Stage::FirstContact
                }
            },
        };
        let (name, expected_close_date, probability_override, competitors) = checked_fields(
            &mut p,
            &input.name,
            input.expected_close_date,
            input.probability,
            input.competitors,
        );
        let lines = self.priced_lines(&mut p, &input.lines, &[]).await?;
        let (amount_fen, list_total_fen, cost_fen) =
            checked_amount(&mut p, input.amount_fen, &lines);
        p.into_result()?;
        // A new opportunity has no documents yet: a later stage opens only with every gate on the
        // way to it off.
        let settings = self.store.opportunity_stages().await?;
        self.enterable(&settings, None, stage, &GateFacts::default())?;
        let data = OpportunityData {
            name,
            amount_fen,
            list_total_fen,
            cost_fen,
            expected_close_date,
            probability_override,
            competitors,
            lines,
        };
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx
            .insert_opportunity(
                &NewOpportunity {
                    customer_id: input.customer_id,
                    lead_id: None,
                    data: &data,
                    stage,
                    owner_id,
                    department_id,
                    created_by: actor.is_person().then_some(actor.user_id),
                },
                now,
            )
            .await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Opportunity,
            created.id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// The opportunity a converted lead brings (LEAD-8): on the new customer, at first contact,
    /// owned by the converting rep (the lead's owner when the system converts). Written in the
    /// conversion's own transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_converted_opportunity(
        &self,
        tx: &mut dyn crate::Tx,
        actor: &Actor,
        lead_owner: Option<(i64, i64)>,
        lead_id: i64,
        customer_id: i64,
        name: &str,
        now: i64,
    ) -> AppResult<Opportunity> {
        let (owner_id, department_id) = if actor.is_person() {
            (actor.user_id, actor.department_id)
        } else {
            lead_owner.ok_or_else(|| {
                AppError::Conflict("the lead has no owner to own its opportunity".into())
            })?
        };
        let name: String = name.trim().chars().take(200).collect();
        let data = OpportunityData {
            name,
            amount_fen: 0,
            list_total_fen: None,
            cost_fen: None,
            expected_close_date: None,
            probability_override: None,
            competitors: Vec::new(),
            lines: Vec::new(),
        };
        let created = tx
            .insert_opportunity(
                &NewOpportunity {
                    customer_id,
                    lead_id: Some(lead_id),
                    data: &data,
                    stage: Stage::FirstContact,
                    owner_id,
                    department_id,
                    created_by: actor.is_person().then_some(actor.user_id),
                },
                now,
            )
            .await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Opportunity,
            created.id,
            &created,
            now,
        ))
        .await?;
        Ok(created)
    }

    /// An open opportunity in the actor's scope that they may edit.
    async fn editable_opportunity(&self, actor: &Actor, id: i64) -> AppResult<Opportunity> {
        let before = self.get_opportunity(actor, id).await?;
        actor.require(RecordKind::Opportunity, Action::Edit)?;
        if before.is_closed() {
            return Err(AppError::Conflict(format!(
                "the opportunity is {}; closed opportunities do not change",
                before.stage
            )));
        }
        Ok(before)
    }

    /// Changes what a user writes about an opportunity; its stage, owner and customer change
    /// only through their own actions.
    pub async fn update_opportunity(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        patch: OpportunityPatch,
    ) -> AppResult<Opportunity> {
        let before = self.editable_opportunity(actor, id).await?;
        let mut p = Problems::default();
        let (name, expected_close_date, probability_override, competitors) = checked_fields(
            &mut p,
            patch.name.as_deref().unwrap_or(&before.name),
            patch
                .expected_close_date
                .unwrap_or_else(|| before.expected_close_date.clone()),
            patch.probability.unwrap_or(before.probability_override),
            patch
                .competitors
                .unwrap_or_else(|| before.competitors.clone()),
        );
        let lines = match &patch.lines {
            Some(inputs) => {
                let kept: Vec<i64> = before.lines.iter().map(|l| l.product_id).collect();
                self.priced_lines(&mut p, inputs, &kept).await?
            }
            None => before
                .lines
                .iter()
                .map(|l| {
                    let money = LineMoney {
                        quantity: l.quantity,
                        unit_price_fen: l.unit_price_fen,
                        discount_bp: l.discount_bp,
                        list_price_fen: l.list_price_fen,
                        unit_cost_fen: l.unit_cost_fen,
                    };
                    LineData {
                        product_id: l.product_id,
                        money,
                        line_total_fen: l.line_total_fen,
                    }
                })
                .collect(),
        };
        // Without lines the stored amount stands unless a new one is sent.
        let given = match (&patch.amount_fen, lines.is_empty()) {
            (Some(a), _) => Some(*a),
            (None, true) => Some(before.amount_fen),
            (None, false) => None,
        };
        let (amount_fen, list_total_fen, cost_fen) = checked_amount(&mut p, given, &lines);
        p.into_result()?;
        let data = OpportunityData {
            name,
            amount_fen,
            list_total_fen,
            cost_fen,
            expected_close_date,
            probability_override,
            competitors,
            lines,
        };
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx.update_opportunity(id, version, &data, now).await?;
        self.discount_deal_changed(&mut *tx, actor, &before, &after)
            .await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Opportunity,
            id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Moves an open opportunity to another open stage when the gates of every stage entered on
    /// the way hold; the probability follows the new stage. Won and lost are reached by closing.
    pub async fn move_opportunity(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        stage: &str,
    ) -> AppResult<Opportunity> {
        let before = self.editable_opportunity(actor, id).await?;
        let from = before
            .stage()
            .ok_or_else(|| AppError::Internal(format!("opportunity {id} has a bad stage")))?;
        let to = stage
            .trim()
            .parse::<Stage>()
            .map_err(|_| AppError::field("stage", "invalid", "not a stage"))?;
        if to.is_terminal() {
            return Err(AppError::field(
                "stage",
                "use_close",
                "won and lost are reached by closing the opportunity with a reason",
            ));
        }
        if to == from {
            return Err(AppError::field(
                "stage",
                "same_stage",
                "the opportunity is already in this stage",
            ));
        }
        let settings = self.store.opportunity_stages().await?;
        // The documents area fills these facts; see `OpportunityReads::gate_facts`.
        let facts = self.store.gate_facts(id).await?;
        self.enterable(&settings, Some(from), to, &facts)?;
        self.ensure_discount_cleared(&before, to).await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx
            .set_opportunity_stage(
                id,
                version,
                &StageMove {
                    from,
                    to,
                    actor_id: actor.is_person().then_some(actor.user_id),
                    closing: None,
                },
                now,
            )
            .await?;
        let mut entry =
            NewAuditEntry::updated(actor, RecordKind::Opportunity, id, &before, &after, now);
        entry.action = "stage";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The pending reviews closing the deal would withdraw, for the close form (OPP-7). Reviews
    /// the actor may not see are counted, not shown.
    pub async fn close_preview(&self, actor: &Actor, id: i64) -> AppResult<ClosePreview> {
        self.get_opportunity(actor, id).await?;
        let either_way = moot_reviews(Outcome::Won);
        let mut preview = ClosePreview::default();
        for request in self
            .store
            .open_deal_approvals(id, moot_reviews(Outcome::Lost))
            .await?
        {
            match self.visible_request(actor, request.id).await {
                Ok(_) if either_way.contains(&request.kind) => preview.either_way.push(request),
                Ok(_) => preview.if_lost.push(request),
                Err(AppError::NotFound) => preview.hidden += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(preview)
    }

    /// Wins or loses an open opportunity with a structured reason (OPP-7). Terminal. Winning
    /// passes every gate still ahead; closing withdraws the deal's reviews that no longer make
    /// sense.
    pub async fn close_opportunity(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        input: CloseInput,
    ) -> AppResult<Opportunity> {
        let before = self.editable_opportunity(actor, id).await?;
        let from = before
            .stage()
            .ok_or_else(|| AppError::Internal(format!("opportunity {id} has a bad stage")))?;
        let mut p = Problems::default();
        let outcome = input.outcome.trim().parse::<Outcome>().ok();
        if outcome.is_none() {
            p.add("outcome", "invalid", "won or lost");
        }
        let reason = input.reason.trim().parse::<CloseReason>().ok();
        if reason.is_none() {
            p.add(
                "reason",
                if input.reason.trim().is_empty() { "required" } else { "invalid" },
                "one of price, product_fit, relationship, timing, competitor, budget, no_decision, other",
            );
        }
        let mut note = input.note;
        p.optional_text(&mut note, "note", 2000);
        let mut winning_competitor = input.winning_competitor;
        p.optional_text(&mut winning_competitor, "winning_competitor", 100);
        if let (Some(outcome), Some(reason)) = (outcome, reason) {
            for (field, code, message) in
                check_close(outcome, reason, winning_competitor.as_deref())
            {
                p.add(field, code, message);
            }
        }
        p.into_result()?;
        let (Some(outcome), Some(reason)) = (outcome, reason) else {
            return Err(AppError::Internal("close input checked".into()));
        };
        let settings = self.store.opportunity_stages().await?;
        if outcome == Outcome::Won {
            let facts = self.store.gate_facts(id).await?;
            self.enterable(&settings, Some(from), Stage::Won, &facts)?;
            self.ensure_discount_cleared(&before, Stage::Won).await?;
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx
            .set_opportunity_stage(
                id,
                version,
                &StageMove {
                    from,
                    to: outcome.stage(),
                    actor_id: actor.is_person().then_some(actor.user_id),
                    closing: Some(Closing {
                        reason,
                        note,
                        winning_competitor,
                    }),
                },
                now,
            )
            .await?;
        let mut entry =
            NewAuditEntry::updated(actor, RecordKind::Opportunity, id, &before, &after, now);
        entry.action = "close";
        tx.audit(&entry).await?;
        for request in tx
            .lock_open_deal_approvals(id, moot_reviews(outcome))
            .await?
        {
            self.withdraw_request(
                &mut *tx,
                actor,
                request,
                WithdrawReason::DealClosed(outcome),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(after)
    }
}
