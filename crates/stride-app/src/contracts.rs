//! Contracts (CON-1…3): drafted (by legal, usually from the letter of intent), numbered from the
//! configured pattern, reviewed legal → sales → finance through the approval engine, signed,
//! archived with the scan within one working day, and amended as new revisions.
//!
//! Who sees a contract: those whose data scope reaches its owner or department, the person who
//! drafted it, and — once signed — everyone who may view contracts at all, so finance and
//! delivery can work from it (CON-3). Reviewers see what was sent to them through the approval.

use jiff::Timestamp;
use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::approvals::{Facts, FlowKind, RequestStatus};
use stride_domain::contracts::{
    check_milestones, same_terms, Milestone, MilestoneProblem, NumberPattern,
};

use crate::actor::{Actor, Reach};
use crate::approvals::ApprovalSubject;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, Problems};
use crate::jobs::NewNotification;
use crate::page::{Page, PageRequest};
use crate::ports::Tx;
use crate::App;

/// The record kind contracts go by in approvals, attachments and the audit log.
pub const RECORD_KIND: &str = "contract";

/// Working days between signing and the archived scan (CON-3).
pub const ARCHIVE_WORKING_DAYS: u32 = 1;

const MAX_TEXT: usize = 4000;
const MAX_LINES: usize = 200;
const MAX_MILESTONES: usize = 50;

stride_domain::text_enum!(
    /// Where a contract revision stands.
    ContractStatus {
        Draft => "draft",
        InReview => "in_review",
        Approved => "approved",
        Signed => "signed",
        Archived => "archived",
        /// A later revision was signed; this one is kept as it was.
        Superseded => "superseded",
    }
);

impl ContractStatus {
    /// Signed contracts are shared with everyone who may view contracts.
    pub fn is_signed(self) -> bool {
        matches!(self, Self::Signed | Self::Archived | Self::Superseded)
    }
}

/// One product line of a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractLine {
    pub name: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
}

impl ContractLine {
    pub fn total_fen(&self) -> Option<i64> {
        self.quantity.checked_mul(self.unit_price_fen)
    }
}

/// What legal writes into a contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContractData {
    pub title: String,
    pub our_party: String,
    pub customer_party: String,
    pub amount_fen: i64,
    pub lines: Vec<ContractLine>,
    pub milestones: Vec<Milestone>,
    pub payment_terms: Option<String>,
    pub delivery_period: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub liability: Option<String>,
    pub confidentiality: Option<String>,
    pub ip_clause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contract {
    pub id: i64,
    pub number: String,
    pub revision: i64,
    pub root_id: i64,
    pub customer_id: i64,
    pub opportunity_id: Option<i64>,
    #[serde(flatten)]
    pub data: ContractData,
    pub status: ContractStatus,
    pub owner_id: i64,
    pub department_id: i64,
    pub drafted_by: Option<i64>,
    #[serde(flatten)]
    pub signing: Signing,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Signing and archiving facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signing {
    /// paper or electronic.
    pub signing_method: Option<String>,
    pub signed_on: Option<String>,
    pub customer_signatory: Option<String>,
    pub signed_at_ms: Option<i64>,
    pub archive_due_at_ms: Option<i64>,
    pub archived_at_ms: Option<i64>,
    pub scan_attachment_id: Option<i64>,
}

impl Contract {
    /// Signed and not archived by the deadline (or archived after it).
    pub fn archive_late(&self, now_ms: i64) -> bool {
        match (self.signing.archive_due_at_ms, self.signing.archived_at_ms) {
            (Some(due), Some(done)) => done > due,
            (Some(due), None) => self.status == ContractStatus::Signed && now_ms > due,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewContract {
    pub number: String,
    pub revision: i64,
    pub root_id: Option<i64>,
    pub customer_id: i64,
    pub opportunity_id: Option<i64>,
    pub data: ContractData,
    pub owner_id: i64,
    pub department_id: i64,
    pub drafted_by: i64,
}

/// A change of status and its facts.
#[derive(Debug, Clone)]
pub struct ContractState {
    pub status: ContractStatus,
    pub signing: Signing,
}

#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub customer_id: Option<i64>,
    pub opportunity_id: Option<i64>,
    pub status: Option<ContractStatus>,
    /// Part of the number or title.
    pub q: Option<String>,
}

/// Which contracts a viewer sees (see the module comment).
#[derive(Debug, Clone)]
pub struct ContractVisibility {
    pub reach: Reach,
    pub viewer_id: i64,
    pub signed_shared: bool,
}

/// The parts of a draft a user writes, before validation.
#[derive(Debug, Clone, Default)]
pub struct ContractDraft {
    pub customer_id: Option<i64>,
    pub opportunity_id: Option<i64>,
    pub data: ContractData,
}

/// What a contract takes from the deal it closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedDeal {
    pub opportunity_id: i64,
    pub name: String,
    pub customer_id: i64,
    pub customer_name: String,
    /// After every discount: the price the contract must carry.
    pub amount_fen: i64,
    pub owner_id: i64,
    pub department_id: i64,
    /// The terms of the deal's newest letter of intent; the store leaves it to the use case.
    pub intent: Option<IntentTerms>,
}

/// What the newest letter of intent (合作意向书) of a deal agreed for the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentTerms {
    pub revision: i64,
    pub payment_terms: String,
    pub delivery: String,
}

/// How a contract was signed.
#[derive(Debug, Clone)]
pub struct SigningInput {
    pub method: String,
    pub signed_on: String,
    pub customer_signatory: Option<String>,
}

fn milestone_problems(problems: &mut Problems, amount: i64, milestones: &[Milestone]) {
    for p in check_milestones(amount, milestones) {
        match p {
            MilestoneProblem::Missing => problems.add(
                "milestones",
                "required",
                "give at least one payment milestone",
            ),
            MilestoneProblem::NonPositive { index } => problems.add(
                &format!("milestones[{index}].amount_fen"),
                "invalid",
                "a milestone amount must be positive",
            ),
            MilestoneProblem::Unnamed { index } => problems.add(
                &format!("milestones[{index}].name"),
                "required",
                "name the milestone",
            ),
            MilestoneProblem::Order { index } => problems.add(
                &format!("milestones[{index}].due_on"),
                "invalid",
                "milestones go in date order",
            ),
            MilestoneProblem::Sum { sum, amount } => problems.add(
                "milestones",
                "sum_mismatch",
                format!("the milestones add up to {sum} fen, the contract amount is {amount} fen"),
            ),
        }
    }
}

impl ContractData {
    /// Trims and checks a draft; lines, when given, decide the amount.
    fn validate(&mut self) -> AppResult<()> {
        let mut p = Problems::default();
        for (field, value) in [
            ("title", &mut self.title),
            ("our_party", &mut self.our_party),
            ("customer_party", &mut self.customer_party),
        ] {
            *value = value.trim().to_owned();
            p.check(!value.is_empty(), field, "required", "required");
            p.check(
                value.chars().count() <= 200,
                field,
                "too_long",
                "at most 200 characters",
            );
        }
        for (field, value) in [
            ("payment_terms", &mut self.payment_terms),
            ("delivery_period", &mut self.delivery_period),
            ("acceptance_criteria", &mut self.acceptance_criteria),
            ("liability", &mut self.liability),
            ("confidentiality", &mut self.confidentiality),
            ("ip_clause", &mut self.ip_clause),
        ] {
            p.optional_text(value, field, MAX_TEXT);
        }
        p.check(
            self.amount_fen >= 0,
            "amount_fen",
            "invalid",
            "the amount must not be negative",
        );
        p.check(
            self.lines.len() <= MAX_LINES,
            "lines",
            "too_many",
            "at most 200 lines",
        );
        p.check(
            self.milestones.len() <= MAX_MILESTONES,
            "milestones",
            "too_many",
            "at most 50 milestones",
        );
        let mut total: Option<i64> = Some(0);
        for (i, line) in self.lines.iter_mut().enumerate() {
            line.name = line.name.trim().to_owned();
            p.check(
                !line.name.is_empty(),
                &format!("lines[{i}].name"),
                "required",
                "required",
            );
            p.check(
                line.quantity > 0,
                &format!("lines[{i}].quantity"),
                "invalid",
                "the quantity must be positive",
            );
            p.check(
                line.unit_price_fen >= 0,
                &format!("lines[{i}].unit_price_fen"),
                "invalid",
                "the price must not be negative",
            );
            total = total
                .zip(line.total_fen())
                .and_then(|(a, b)| a.checked_add(b));
        }
        if !self.lines.is_empty() {
            match total {
                Some(t) if t == self.amount_fen => {}
                Some(t) => p.add(
                    "amount_fen",
                    "sum_mismatch",
                    format!(
                        "the product lines add up to {t} fen, not {} fen",
                        self.amount_fen
                    ),
                ),
                None => p.add(
                    "lines",
                    "too_large",
                    "the lines add up to more than can be stored",
                ),
            }
        }
        for m in &mut self.milestones {
            m.name = m.name.trim().to_owned();
        }
        if !self.milestones.is_empty() {
            milestone_problems(&mut p, self.amount_fen, &self.milestones);
        }
        p.into_result()
    }

    /// What the approvers see.
    fn snapshot(&self, number: &str) -> serde_json::Value {
        serde_json::json!({
            "number": number,
            "title": self.title,
            "customer_party": self.customer_party,
            "amount_fen": self.amount_fen,
            "payment_terms": self.payment_terms,
            "milestones": self.milestones.iter().map(|m| format!("{} {} {}", m.due_on, m.name, m.amount_fen)).collect::<Vec<_>>(),
            "delivery_period": self.delivery_period,
            "acceptance_criteria": self.acceptance_criteria,
        })
    }
}

/// A draft's number until its transaction numbers it, unique so that drafts inserted at the
/// same time do not collide on the (number, revision) key; never committed.
fn unnumbered_placeholder() -> String {
    format!("~{:016x}", rand::random::<u64>())
}

/// What the contract flow's approvers look at: the contract as it stands now.
fn review_subject(c: &Contract) -> ApprovalSubject {
    ApprovalSubject {
        kind: FlowKind::Contract,
        record_kind: RECORD_KIND,
        record_id: c.id,
        record_version: c.version,
        title: format!("{} {}", c.number, c.data.title),
        facts: Facts {
            amount_fen: c.data.amount_fen,
            discount_bp: 0,
        },
        snapshot: c.data.snapshot(&c.number),
        department_id: c.department_id,
    }
}

impl App {
    async fn contract_visibility(&self, actor: &Actor) -> AppResult<ContractVisibility> {
        actor.require(RecordKind::Contract, Action::View)?;
        Ok(ContractVisibility {
            reach: self.reach(actor).await?,
            viewer_id: actor.user_id,
            signed_shared: true,
        })
    }

    pub async fn list_contracts(
        &self,
        actor: &Actor,
        filter: &ContractFilter,
        page: PageRequest,
    ) -> AppResult<Page<Contract>> {
        let seen = self.contract_visibility(actor).await?;
        let rows = self.store.contracts(&seen, filter, page).await?;
        Ok(Page::from_rows(rows, page, |c| c.id))
    }

    pub async fn get_contract(&self, actor: &Actor, id: i64) -> AppResult<Contract> {
        let seen = self.contract_visibility(actor).await?;
        self.store
            .contract(&seen, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Every revision of a contract, newest first.
    pub async fn contract_revisions(&self, actor: &Actor, id: i64) -> AppResult<Vec<Contract>> {
        let c = self.get_contract(actor, id).await?;
        Ok(self.store.contract_revisions(c.root_id).await?)
    }

    /// The deal a new contract would close, for the drafting form: reviewers reach every deal.
    pub async fn deal_for_contract(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<NegotiatedDeal> {
        actor.require(RecordKind::Contract, Action::Create)?;
        let reach = self.drafting_reach(actor).await?;
        let mut deal = self
            .store
            .negotiated_deal(&reach, opportunity_id)
            .await?
            .ok_or(AppError::NotFound)?;
        deal.intent = self.intent_terms(opportunity_id).await?;
        Ok(deal)
    }

    /// The letter of intent's terms for a contract the actor sees, to set beside its own.
    pub async fn contract_intent_terms(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<Option<IntentTerms>> {
        match self.get_contract(actor, id).await?.opportunity_id {
            Some(opp) => self.intent_terms(opp).await,
            None => Ok(None),
        }
    }

    /// The payment terms and delivery of the deal's newest letter of intent, if it has one.
    async fn intent_terms(&self, opportunity_id: i64) -> AppResult<Option<IntentTerms>> {
        Ok(self
            .store
            .letters_of_intent(opportunity_id)
            .await?
            .into_iter()
            .next()
            .map(|l| IntentTerms {
                revision: l.revision,
                payment_terms: l.data.payment_terms,
                delivery: l.data.delivery,
            }))
    }

    /// Contract reviewers who do not work deals themselves (legal) draft for every team's deals;
    /// everyone else only for the deals their scope reaches.
    async fn drafting_reach(&self, actor: &Actor) -> AppResult<Reach> {
        if actor.can(RecordKind::Contract, Action::Approve)
            && !actor.can(RecordKind::Opportunity, Action::View)
        {
            Ok(Reach::All)
        } else {
            self.reach(actor).await
        }
    }

    pub async fn contract_number_pattern(&self) -> AppResult<(String, i64)> {
        Ok(self.store.contract_number_pattern().await?)
    }

    pub async fn set_contract_number_pattern(
        &self,
        actor: &Actor,
        pattern: &str,
        version: i64,
    ) -> AppResult<(String, i64)> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        let pattern = pattern.trim();
        NumberPattern::parse(pattern)
            .map_err(|e| AppError::field("number_pattern", "invalid", e.to_string()))?;
        let (before, _) = self.store.contract_number_pattern().await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let version = tx
            .set_contract_number_pattern(pattern, version, now)
            .await?;
        let entry = NewAuditEntry::new(
            actor,
            "set_contract_number_pattern",
            RecordKind::Settings,
            None,
            now,
        )
        .with_before(&serde_json::json!({ "number_pattern": before }))
        .with_after(&serde_json::json!({ "number_pattern": pattern }));
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok((pattern.to_owned(), version))
    }

    /// Drafts a contract for a customer, usually from an opportunity: it then belongs to the
    /// opportunity's owner and team, whoever drafts it.
    pub async fn create_contract(
        &self,
        actor: &Actor,
        mut draft: ContractDraft,
    ) -> AppResult<Contract> {
        actor.require(RecordKind::Contract, Action::Create)?;
        let Some(customer_id) = draft.customer_id else {
            return Err(AppError::field(
                "customer_id",
                "required",
                "choose the customer",
            ));
        };
        draft.data.validate()?;
        // The opportunity, when given, decides owner and team.
        let reach = self.drafting_reach(actor).await?;
        let (owner_id, department_id) = match draft.opportunity_id {
            Some(opp) => {
                let deal = self
                    .store
                    .negotiated_deal(&reach, opp)
                    .await?
                    .ok_or_else(|| {
                        AppError::field("opportunity_id", "not_found", "no such opportunity")
                    })?;
                if deal.customer_id != customer_id {
                    return Err(AppError::field(
                        "opportunity_id",
                        "mismatch",
                        "the opportunity belongs to another customer",
                    ));
                }
                // What the letter of intent agreed fills what the draft leaves empty.
                if let Some(intent) = self.intent_terms(opp).await? {
                    let data = &mut draft.data;
                    data.payment_terms.get_or_insert(intent.payment_terms);
                    data.delivery_period.get_or_insert(intent.delivery);
                }
                (deal.owner_id, deal.department_id)
            }
            None => (actor.user_id, actor.department_id),
        };
        let customer = self
            .store
            .customer(&reach, customer_id)
            .await?
            .ok_or_else(|| AppError::field("customer_id", "not_found", "no such customer"))?;
        let (pattern, _) = self.store.contract_number_pattern().await?;
        let pattern =
            NumberPattern::parse(&pattern).map_err(|e| AppError::Internal(e.to_string()))?;
        let today = self.today().await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let new = NewContract {
            number: unnumbered_placeholder(),
            revision: 1,
            root_id: None,
            customer_id: customer.id,
            opportunity_id: draft.opportunity_id,
            data: draft.data,
            owner_id,
            department_id,
            drafted_by: actor.user_id,
        };
        let mut c = tx.insert_contract(&new, now).await?;
        // The number comes last: its series row stays locked until the commit, and every
        // draft of the year waits for it, so the lock covers only numbering, audit and commit.
        let seq = tx.next_contract_seq(&pattern.series(today)).await?;
        c.number = pattern.number(today, seq);
        tx.set_contract_number(c.id, &c.number).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Contract,
            c.id,
            &c,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Today's date in the organisation's time zone.
    async fn today(&self) -> AppResult<jiff::civil::Date> {
        let settings = self.store.org_settings().await?;
        let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        Ok(Timestamp::from_millisecond(self.now_ms())
            .map_err(|e| AppError::Internal(e.to_string()))?
            .to_zoned(tz)
            .date())
    }

    /// Edits a draft. Under review only the requester may edit, and the review starts again
    /// from its first step; approved and signed contracts change only by amendment.
    pub async fn update_contract(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        mut data: ContractData,
    ) -> AppResult<Contract> {
        actor.require(RecordKind::Contract, Action::Edit)?;
        let visible = self.get_contract(actor, id).await?;
        data.validate()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let before = tx
            .contract_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if before.version != version {
            return Err(AppError::Stale);
        }
        match before.status {
            ContractStatus::Draft => {}
            ContractStatus::InReview => {
                self.ensure_not_locked(&mut *tx, actor, RECORD_KIND, id)
                    .await?;
            }
            _ => {
                return Err(AppError::Conflict(
                    "this contract is approved; change it by amendment".into(),
                ))
            }
        }
        let after = tx.update_contract(id, version, &data, now).await?;
        if before.status == ContractStatus::InReview {
            self.restart_approval(&mut *tx, actor, review_subject(&after))
                .await?;
        }
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Contract,
            id,
            &visible,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sends a draft to review (legal → sales → finance). The price, the payment plan and the
    /// payment terms must match what was negotiated: the opportunity's amount after discounts,
    /// milestones adding up to it, and the payment terms of its newest letter of intent.
    pub async fn submit_contract(&self, actor: &Actor, id: i64) -> AppResult<Contract> {
        actor.require(RecordKind::Contract, Action::Edit)?;
        let c = self.get_contract(actor, id).await?;
        if c.status != ContractStatus::Draft {
            return Err(AppError::Conflict(
                "only a draft can be sent to review".into(),
            ));
        }
        let mut p = Problems::default();
        milestone_problems(&mut p, c.data.amount_fen, &c.data.milestones);
        if let Some(opp) = c.opportunity_id {
            if let Some(deal) = self.store.negotiated_deal(&Reach::All, opp).await? {
                p.check(
                    deal.amount_fen == c.data.amount_fen,
                    "amount_fen",
                    "not_negotiated",
                    &format!(
                        "the contract amount {} fen differs from the negotiated {} fen",
                        c.data.amount_fen, deal.amount_fen
                    ),
                );
            }
            if let (Some(terms), Some(intent)) =
                (&c.data.payment_terms, self.intent_terms(opp).await?)
            {
                p.check(
                    same_terms(terms, &intent.payment_terms),
                    "payment_terms",
                    "not_negotiated",
                    &format!(
                        "the payment terms differ from the letter of intent's: «{}»",
                        intent.payment_terms
                    ),
                );
            }
        }
        p.check(
            c.data.payment_terms.is_some(),
            "payment_terms",
            "required",
            "state the payment terms before review",
        );
        p.into_result()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let state = ContractState {
            status: ContractStatus::InReview,
            signing: c.signing.clone(),
        };
        let after = tx.set_contract_state(id, &state, now).await?;
        let subject = review_subject(&after);
        self.open_approval(&mut *tx, actor, subject).await?;
        let mut entry = NewAuditEntry::updated(actor, RecordKind::Contract, id, &c, &after, now);
        entry.action = "submit";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The approval engine tells the contract how its review ended.
    pub(crate) async fn contract_review_closed(
        &self,
        tx: &mut dyn Tx,
        id: i64,
        outcome: RequestStatus,
        now: i64,
    ) -> AppResult<()> {
        let Some(c) = tx.contract_for_update(id).await? else {
            return Ok(());
        };
        if c.status != ContractStatus::InReview {
            return Ok(());
        }
        let status = match outcome {
            RequestStatus::Approved => ContractStatus::Approved,
            _ => ContractStatus::Draft,
        };
        let state = ContractState {
            status,
            signing: c.signing,
        };
        tx.set_contract_state(id, &state, now).await?;
        Ok(())
    }

    /// Records the signing; the scan is due one working day later.
    pub async fn sign_contract(
        &self,
        actor: &Actor,
        id: i64,
        input: SigningInput,
    ) -> AppResult<Contract> {
        actor.require(RecordKind::Contract, Action::Edit)?;
        let c = self.get_contract(actor, id).await?;
        let mut p = Problems::default();
        p.check(
            matches!(input.method.as_str(), "paper" | "electronic"),
            "method",
            "invalid",
            "paper or electronic",
        );
        let signed_on = input.signed_on.trim().parse::<jiff::civil::Date>().ok();
        p.check(
            signed_on.is_some(),
            "signed_on",
            "invalid",
            "a date such as 2026-11-23",
        );
        let mut signatory = input.customer_signatory;
        p.optional_text(&mut signatory, "customer_signatory", 200);
        p.into_result()?;
        if c.status != ContractStatus::Approved {
            return Err(AppError::Conflict(
                "only an approved contract can be signed".into(),
            ));
        }
        let now = self.now_ms();
        let due = self
            .add_working_days(
                Timestamp::from_millisecond(now).map_err(|e| AppError::Internal(e.to_string()))?,
                ARCHIVE_WORKING_DAYS,
            )
            .await?
            .as_millisecond();
        let mut tx = self.store.begin().await?;
        let state = ContractState {
            status: ContractStatus::Signed,
            signing: Signing {
                signing_method: Some(input.method),
                signed_on: signed_on.map(|d| d.to_string()),
                customer_signatory: signatory,
                signed_at_ms: Some(now),
                archive_due_at_ms: Some(due),
                ..Signing::default()
            },
        };
        let after = tx.set_contract_state(id, &state, now).await?;
        // The signed revision replaces the ones before it.
        for older in self.store.contract_revisions(c.root_id).await? {
            if older.id != id
                && older.status.is_signed()
                && older.status != ContractStatus::Superseded
            {
                let s = ContractState {
                    status: ContractStatus::Superseded,
                    signing: older.signing.clone(),
                };
                tx.set_contract_state(older.id, &s, now).await?;
            }
        }
        let mut entry = NewAuditEntry::updated(actor, RecordKind::Contract, id, &c, &after, now);
        entry.action = "sign";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Archives a signed contract with its scan, an attachment of the contract.
    pub async fn archive_contract(
        &self,
        actor: &Actor,
        id: i64,
        scan_attachment_id: i64,
    ) -> AppResult<Contract> {
        actor.require(RecordKind::Contract, Action::Edit)?;
        let c = self.get_contract(actor, id).await?;
        if c.status != ContractStatus::Signed {
            return Err(AppError::Conflict(
                "only a signed contract can be archived".into(),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        if !tx.attachment_on(scan_attachment_id, id).await? {
            return Err(AppError::field(
                "scan_attachment_id",
                "not_found",
                "attach the signed scan to this contract first",
            ));
        }
        let state = ContractState {
            status: ContractStatus::Archived,
            signing: Signing {
                archived_at_ms: Some(now),
                scan_attachment_id: Some(scan_attachment_id),
                ..c.signing.clone()
            },
        };
        let after = tx.set_contract_state(id, &state, now).await?;
        let mut entry = NewAuditEntry::updated(actor, RecordKind::Contract, id, &c, &after, now);
        entry.action = "archive";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Starts an amendment: a new draft revision with the same number; the signed one stays
    /// in force until the amendment is signed.
    pub async fn amend_contract(&self, actor: &Actor, id: i64) -> AppResult<Contract> {
        actor.require(RecordKind::Contract, Action::Edit)?;
        let c = self.get_contract(actor, id).await?;
        if !matches!(c.status, ContractStatus::Signed | ContractStatus::Archived) {
            return Err(AppError::Conflict(
                "only a signed contract can be amended".into(),
            ));
        }
        let revisions = self.store.contract_revisions(c.root_id).await?;
        if revisions.iter().any(|r| !r.status.is_signed()) {
            return Err(AppError::Conflict(
                "an amendment of this contract is already open".into(),
            ));
        }
        let latest = revisions
            .iter()
            .map(|r| r.revision)
            .max()
            .unwrap_or(c.revision);
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let new = NewContract {
            number: c.number.clone(),
            revision: latest + 1,
            root_id: Some(c.root_id),
            customer_id: c.customer_id,
            opportunity_id: c.opportunity_id,
            data: c.data.clone(),
            owner_id: c.owner_id,
            department_id: c.department_id,
            drafted_by: actor.user_id,
        };
        let amended = tx.insert_contract(&new, now).await.map_err(|e| match e {
            crate::StoreError::Duplicate { .. } => {
                AppError::Conflict("an amendment of this contract is already open".into())
            }
            other => other.into(),
        })?;
        let mut entry =
            NewAuditEntry::created(actor, RecordKind::Contract, amended.id, &amended, now);
        entry.action = "amend";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(amended)
    }

    /// Flags signed contracts whose scan is late, once, to their owner and drafter.
    pub(crate) async fn flag_late_archives(&self, tx: &mut dyn Tx) -> AppResult<usize> {
        let now = self.now_ms();
        let late = tx.claim_late_archives(now).await?;
        for (id, owner, drafter, number) in &late {
            let mut people = vec![*owner];
            people.extend(drafter.filter(|d| d != owner));
            for user_id in people {
                let n = NewNotification {
                    user_id,
                    kind: "contract_archive_late",
                    record_kind: RECORD_KIND,
                    record_id: *id,
                    subject: number.clone(),
                };
                tx.notify(&n, now).await?;
            }
        }
        Ok(late.len())
    }
}
