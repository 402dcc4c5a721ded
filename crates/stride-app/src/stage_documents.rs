//! The documents of the sales stages (OPP-3…OPP-6) and the facts the stage gates read from them:
//! the needs analysis report (需求分析报告) the customer confirms through a signed public link,
//! proposals (方案) in versions reviewed through the approval engine with their presentation
//! records (方案沟通记录表), the objections log of the negotiation (商务谈判) and the letter of
//! intent (合作意向书).
//!
//! Every document hangs on an opportunity and is seen and edited exactly by those who see and
//! edit the opportunity: each use case starts from [`App::get_opportunity`].

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use stride_domain::access::{Action, RecordKind};
use stride_domain::approvals::{Facts, FlowKind, RequestStatus};
use stride_domain::stage_documents::{
    budget_range_ok, send_late, ObjectionKind, ProposalEdit, ProposalStatus,
    NEEDS_ANALYSIS_SEND_WORKING_DAYS,
};

use crate::actor::{Actor, Reach};
use crate::approvals::ApprovalSubject;
use crate::audit::NewAuditEntry;
use crate::auth::{random_secret, secret_hash};
use crate::error::{AppError, AppResult, Problems};
use crate::jobs::NewNotification;
use crate::opportunities::Opportunity;
use crate::ports::Tx;
use crate::App;
use crate::StoreError;

/// Record kinds of the documents in the audit log, approvals and attachments.
pub const NEEDS_ANALYSIS_KIND: &str = "needs_analysis";
pub const PROPOSAL_KIND: &str = "proposal";
pub const OBJECTION_KIND: &str = "objection";
pub const LETTER_OF_INTENT_KIND: &str = "letter_of_intent";

const MAX_TEXT: usize = 4000;
const MAX_NAME: usize = 200;

// ---- needs analysis -----------------------------------------------------------------------

/// What the rep writes down after the needs-analysis meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsAnalysisData {
    pub pain_points: String,
    pub goals: String,
    pub budget_min_fen: Option<i64>,
    pub budget_max_fen: Option<i64>,
    /// How the customer decides, and who takes part.
    pub decision_process: Option<String>,
    pub decision_makers: Option<String>,
    pub timeline: Option<String>,
}

/// A report as entered: its data and when the meeting took place.
#[derive(Debug, Clone, Default)]
pub struct NeedsAnalysisInput {
    pub data: NeedsAnalysisData,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` in the organisation's time zone.
    pub meeting_at: String,
}

/// How a revision was confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    /// The customer's signer.
    pub signer_name: String,
    /// `link` (through the public page) or `by_hand` (recorded by a user).
    pub method: String,
    /// The customer's comment on the link, or how the confirmation came in by hand.
    pub comment: Option<String>,
    pub recorded_by: Option<i64>,
    pub at_ms: i64,
}

/// One revision of an opportunity's needs analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedsAnalysis {
    pub id: i64,
    pub opportunity_id: i64,
    pub revision: i64,
    #[serde(flatten)]
    pub data: NeedsAnalysisData,
    pub meeting_at_ms: i64,
    /// One working day after the meeting.
    pub send_due_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub confirmation: Option<Confirmation>,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
}

impl NeedsAnalysis {
    pub fn send_late(&self, now_ms: i64) -> bool {
        send_late(self.send_due_at_ms, self.sent_at_ms, now_ms)
    }
}

#[derive(Debug, Clone)]
pub struct NewNeedsAnalysis {
    pub opportunity_id: i64,
    pub revision: i64,
    pub data: NeedsAnalysisData,
    pub meeting_at_ms: i64,
    pub send_due_at_ms: i64,
    pub created_by: Option<i64>,
}

/// A newest revision past its send deadline and unsent, for its opportunity's owner.
#[derive(Debug, Clone)]
pub struct LateReport {
    pub needs_analysis_id: i64,
    pub opportunity_id: i64,
    pub owner_id: i64,
    pub opportunity_name: String,
}

/// A report sent for confirmation, with the one-time view of its link's secret.
#[derive(Debug, Clone)]
pub struct SentReport {
    pub report: NeedsAnalysis,
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// What the public confirmation page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportForConfirmation {
    pub report: NeedsAnalysis,
    pub opportunity_name: String,
    pub customer_name: String,
}

// ---- proposals ------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalData {
    pub title: String,
    pub summary: Option<String>,
    pub price_fen: i64,
}

/// One version of a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub id: i64,
    pub opportunity_id: i64,
    pub version_no: i64,
    #[serde(flatten)]
    pub data: ProposalData,
    pub status: ProposalStatus,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A presentation of a proposal and the customer's feedback (方案沟通记录表).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationData {
    /// `YYYY-MM-DD`.
    pub presented_on: String,
    pub attendees: String,
    pub feedback: String,
    pub next_steps: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presentation {
    pub id: i64,
    pub proposal_id: i64,
    #[serde(flatten)]
    pub data: PresentationData,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
}

// ---- objections -----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectionData {
    pub kind: ObjectionKind,
    /// What the customer said.
    pub customer_said: String,
    /// The answer given (instalments, priority production…).
    pub answer: Option<String>,
    pub resolved: bool,
}

/// An objection as entered; the kind is checked against the closed list.
#[derive(Debug, Clone, Default)]
pub struct ObjectionInput {
    pub kind: String,
    pub customer_said: String,
    pub answer: Option<String>,
    pub resolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Objection {
    pub id: i64,
    pub opportunity_id: i64,
    #[serde(flatten)]
    pub data: ObjectionData,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

// ---- letter of intent -----------------------------------------------------------------------

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterOfIntentData {
    pub scope: String,
    pub amount_fen: i64,
    pub payment_terms: String,
    pub delivery: String,
    /// `YYYY-MM-DD`: the letter holds until then.
    pub valid_until: String,
    pub next_steps: Option<String>,
    /// `YYYY-MM-DD`, with the customer's signatory, once signed.
    pub signed_on: Option<String>,
    pub customer_signatory: Option<String>,
}

impl LetterOfIntentData {
    pub fn is_signed(&self) -> bool {
        self.signed_on.is_some() && self.customer_signatory.is_some()
    }
}

/// One revision of an opportunity's letter of intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterOfIntent {
    pub id: i64,
    pub opportunity_id: i64,
    pub revision: i64,
    #[serde(flatten)]
    pub data: LetterOfIntentData,
    pub created_by: Option<i64>,
    pub created_at_ms: i64,
}

/// Every document of an opportunity, for its detail page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpportunityDocuments {
    /// Newest revision first.
    pub needs_analyses: Vec<NeedsAnalysis>,
    /// Newest version first, each with its presentations.
    pub proposals: Vec<(Proposal, Vec<Presentation>)>,
    pub objections: Vec<Objection>,
    /// Newest revision first.
    pub letters_of_intent: Vec<LetterOfIntent>,
}

// ---- validation -----------------------------------------------------------------------------

fn required(p: &mut Problems, value: &mut String, field: &str, max: usize) {
    *value = value.trim().to_owned();
    p.check(!value.is_empty(), field, "required", "required");
    p.check(
        value.chars().count() <= max,
        field,
        "too_long",
        &format!("at most {max} characters"),
    );
}

fn date(p: &mut Problems, value: &mut String, field: &str) {
    *value = value.trim().to_owned();
    match value.parse::<jiff::civil::Date>() {
        Ok(d) => *value = d.to_string(),
        Err(_) => p.add(field, "invalid", "a date as YYYY-MM-DD"),
    }
}

impl NeedsAnalysisData {
    fn validate(&mut self, p: &mut Problems) {
        required(p, &mut self.pain_points, "pain_points", MAX_TEXT);
        required(p, &mut self.goals, "goals", MAX_TEXT);
        p.optional_text(&mut self.decision_process, "decision_process", MAX_TEXT);
        p.optional_text(&mut self.decision_makers, "decision_makers", MAX_TEXT);
        p.optional_text(&mut self.timeline, "timeline", MAX_TEXT);
        if !budget_range_ok(self.budget_min_fen, self.budget_max_fen) {
            p.add(
                "budget_max_fen",
                "invalid",
                "the budget is a range of non-negative amounts, its minimum not above its maximum",
            );
        }
    }
}

impl ProposalData {
    fn validate(&mut self) -> AppResult<()> {
        let mut p = Problems::default();
        required(&mut p, &mut self.title, "title", MAX_NAME);
        p.optional_text(&mut self.summary, "summary", MAX_TEXT);
        p.check(
            self.price_fen >= 0,
            "price_fen",
            "invalid",
            "the price must not be negative",
        );
        p.into_result()
    }
}

impl PresentationData {
    fn validate(&mut self) -> AppResult<()> {
        let mut p = Problems::default();
        date(&mut p, &mut self.presented_on, "presented_on");
        required(&mut p, &mut self.attendees, "attendees", MAX_TEXT);
        required(&mut p, &mut self.feedback, "feedback", MAX_TEXT);
        p.optional_text(&mut self.next_steps, "next_steps", MAX_TEXT);
        p.into_result()
    }
}

impl ObjectionInput {
    fn validate(self) -> AppResult<ObjectionData> {
        let mut p = Problems::default();
        let kind = self.kind.trim().parse::<ObjectionKind>().ok();
        if kind.is_none() {
            p.add(
                "kind",
                if self.kind.trim().is_empty() {
                    "required"
                } else {
                    "invalid"
                },
                "one of price, delivery_time, payment_terms, quality, competitor, other",
            );
        }
        let mut customer_said = self.customer_said;
        required(&mut p, &mut customer_said, "customer_said", MAX_TEXT);
        let mut answer = self.answer;
        p.optional_text(&mut answer, "answer", MAX_TEXT);
        p.check(
            !self.resolved || answer.is_some(),
            "answer",
            "required",
            "a resolved objection records the answer given",
        );
        p.into_result()?;
        Ok(ObjectionData {
            kind: kind.unwrap_or(ObjectionKind::Other),
            customer_said,
            answer,
            resolved: self.resolved,
        })
    }
}

impl LetterOfIntentData {
    fn validate(&mut self) -> AppResult<()> {
        let mut p = Problems::default();
        required(&mut p, &mut self.scope, "scope", MAX_TEXT);
        required(&mut p, &mut self.payment_terms, "payment_terms", MAX_TEXT);
        required(&mut p, &mut self.delivery, "delivery", MAX_TEXT);
        p.check(
            self.amount_fen > 0,
            "amount_fen",
            "invalid",
            "the amount must be positive",
        );
        date(&mut p, &mut self.valid_until, "valid_until");
        p.optional_text(&mut self.next_steps, "next_steps", MAX_TEXT);
        p.optional_text(&mut self.customer_signatory, "customer_signatory", MAX_NAME);
        let mut signed_on = self.signed_on.take();
        p.optional_text(&mut signed_on, "signed_on", 10);
        if let Some(mut d) = signed_on {
            date(&mut p, &mut d, "signed_on");
            self.signed_on = Some(d);
        }
        // Signed means both: the date and who signed for the customer.
        if self.signed_on.is_some() != self.customer_signatory.is_some() {
            let missing = if self.signed_on.is_some() {
                "customer_signatory"
            } else {
                "signed_on"
            };
            p.add(
                missing,
                "required",
                "a signed letter names the date and the customer's signatory",
            );
        }
        p.into_result()
    }
}

fn audit_entry(
    actor: &Actor,
    action: &'static str,
    record_kind: &'static str,
    id: i64,
    after: &impl Serialize,
    now: i64,
) -> NewAuditEntry {
    NewAuditEntry {
        record_kind,
        action,
        ..NewAuditEntry::created(actor, RecordKind::Opportunity, id, after, now)
    }
}

/// Someone else wrote the same revision first.
fn stale_on_duplicate(e: StoreError) -> AppError {
    match e {
        StoreError::Duplicate { .. } => AppError::Stale,
        other => other.into(),
    }
}

/// What the proposal flow's approvers look at.
fn review_subject(p: &Proposal, o: &Opportunity) -> ApprovalSubject {
    ApprovalSubject {
        kind: FlowKind::ProposalReview,
        record_kind: PROPOSAL_KIND,
        record_id: p.id,
        record_version: p.version,
        title: format!("{} · {} v{}", o.name, p.data.title, p.version_no),
        facts: Facts {
            amount_fen: p.data.price_fen,
            discount_bp: 0,
        },
        snapshot: serde_json::json!({
            "opportunity": o.name,
            "customer": o.customer_name,
            "title": p.data.title,
            "summary": p.data.summary,
            "price_fen": p.data.price_fen,
            "version_no": p.version_no,
        }),
        department_id: o.department_id,
    }
}

impl App {
    /// An open opportunity the actor may see and edit: the door to every document write.
    async fn documents_editable(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<Opportunity> {
        let o = self.get_opportunity(actor, opportunity_id).await?;
        actor.require(RecordKind::Opportunity, Action::Edit)?;
        if o.is_closed() {
            return Err(AppError::Conflict(format!(
                "the opportunity is {}; its documents no longer change",
                o.stage
            )));
        }
        Ok(o)
    }

    /// Every document of an opportunity in the actor's scope.
    pub async fn opportunity_documents(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<OpportunityDocuments> {
        self.get_opportunity(actor, opportunity_id).await?;
        let mut proposals = Vec::new();
        for p in self.store.proposals(opportunity_id).await? {
            let shown = self.store.presentations(p.id).await?;
            proposals.push((p, shown));
        }
        Ok(OpportunityDocuments {
            needs_analyses: self.store.needs_analyses(opportunity_id).await?,
            proposals,
            objections: self.store.objections(opportunity_id).await?,
            letters_of_intent: self.store.letters_of_intent(opportunity_id).await?,
        })
    }

    // ---- needs analysis -------------------------------------------------------------------

    /// Every revision of the opportunity's needs analysis, newest first (empty when none).
    pub async fn needs_analysis_revisions(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<Vec<NeedsAnalysis>> {
        self.get_opportunity(actor, opportunity_id).await?;
        Ok(self.store.needs_analyses(opportunity_id).await?)
    }

    /// A meeting time as RFC 3339, or a local `YYYY-MM-DDTHH:MM` in the organisation's zone.
    async fn meeting_time(&self, text: &str) -> AppResult<Option<Timestamp>> {
        let text = text.trim();
        if let Ok(t) = text.parse::<Timestamp>() {
            return Ok(Some(t));
        }
        let Ok(local) = text.parse::<jiff::civil::DateTime>() else {
            return Ok(None);
        };
        let settings = self.store.org_settings().await?;
        let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        Ok(local.to_zoned(tz).ok().map(|z| z.timestamp()))
    }

    /// Writes the first report (`expected_revision` None) or a new revision over the one the
    /// writer saw; every revision is kept and each needs confirming on its own.
    pub async fn write_needs_analysis(
        &self,
        actor: &Actor,
        opportunity_id: i64,
        expected_revision: Option<i64>,
        mut input: NeedsAnalysisInput,
    ) -> AppResult<NeedsAnalysis> {
        self.documents_editable(actor, opportunity_id).await?;
        let mut p = Problems::default();
        input.data.validate(&mut p);
        let meeting = self.meeting_time(&input.meeting_at).await?;
        if meeting.is_none() {
            p.add(
                "meeting_at",
                "invalid",
                "a date and time such as 2026-11-20T10:00",
            );
        }
        p.into_result()?;
        let meeting = meeting.ok_or_else(|| AppError::Internal("meeting checked".into()))?;
        let latest = self
            .store
            .needs_analyses(opportunity_id)
            .await?
            .into_iter()
            .next();
        let revision = match (expected_revision, &latest) {
            (None, None) => 1,
            (None, Some(_)) => {
                return Err(AppError::Conflict(
                    "the opportunity has a needs analysis; revise it with PATCH and If-Match"
                        .into(),
                ))
            }
            (Some(_), None) => return Err(AppError::NotFound),
            (Some(seen), Some(l)) if seen != l.revision => return Err(AppError::Stale),
            (Some(seen), Some(_)) => seen + 1,
        };
        let due = self
            .add_working_days(meeting, NEEDS_ANALYSIS_SEND_WORKING_DAYS)
            .await?;
        let now = self.now_ms();
        let new = NewNeedsAnalysis {
            opportunity_id,
            revision,
            data: input.data,
            meeting_at_ms: meeting.as_millisecond(),
            send_due_at_ms: due.as_millisecond(),
            created_by: actor.is_person().then_some(actor.user_id),
        };
        let mut tx = self.store.begin().await?;
        let report = tx
            .insert_needs_analysis(&new, now)
            .await
            .map_err(stale_on_duplicate)?;
        let action = if revision == 1 { "create" } else { "revise" };
        tx.audit(&audit_entry(
            actor,
            action,
            NEEDS_ANALYSIS_KIND,
            report.id,
            &report,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Sends the newest revision to the customer: a fresh unguessable link (an earlier link
    /// stops working). The secret is returned once; only its hash is kept.
    pub async fn send_needs_analysis(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<SentReport> {
        self.documents_editable(actor, opportunity_id).await?;
        let report = self.latest_needs_analysis(opportunity_id).await?;
        if report.confirmation.is_some() {
            return Err(AppError::Conflict(
                "this revision is confirmed already".into(),
            ));
        }
        let token = random_secret();
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        tx.set_needs_analysis_sent(report.id, &secret_hash(&token), now)
            .await?;
        let sent_at_ms = report.sent_at_ms.or(Some(now));
        let report = NeedsAnalysis {
            sent_at_ms,
            ..report
        };
        tx.audit(&audit_entry(
            actor,
            "send",
            NEEDS_ANALYSIS_KIND,
            report.id,
            &report,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(SentReport { report, token })
    }

    async fn latest_needs_analysis(&self, opportunity_id: i64) -> AppResult<NeedsAnalysis> {
        self.store
            .needs_analyses(opportunity_id)
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound)
    }

    /// Records by hand that the customer confirmed the newest revision (who, and how).
    pub async fn confirm_needs_analysis_by_hand(
        &self,
        actor: &Actor,
        opportunity_id: i64,
        signer_name: String,
        how: String,
    ) -> AppResult<NeedsAnalysis> {
        self.documents_editable(actor, opportunity_id).await?;
        let mut p = Problems::default();
        let mut signer_name = signer_name;
        required(&mut p, &mut signer_name, "signer_name", MAX_NAME);
        let mut how = how;
        required(&mut p, &mut how, "how", MAX_NAME);
        p.into_result()?;
        let report = self.latest_needs_analysis(opportunity_id).await?;
        let confirmation = Confirmation {
            signer_name,
            method: "by_hand".into(),
            comment: Some(how),
            recorded_by: Some(actor.user_id),
            at_ms: self.now_ms(),
        };
        self.store_confirmation(actor, report, confirmation).await
    }

    /// The revision behind a public link, when the link is genuine and its revision is still
    /// the newest; anything else is NotFound, like a link that never existed.
    pub async fn report_for_confirmation(&self, token: &str) -> AppResult<ReportForConfirmation> {
        let report = self
            .store
            .needs_analysis_by_token(&secret_hash(token.trim()))
            .await?
            .ok_or(AppError::NotFound)?;
        let latest = self.latest_needs_analysis(report.opportunity_id).await?;
        if latest.id != report.id {
            return Err(AppError::NotFound);
        }
        let o = self
            .store
            .opportunity(&Reach::All, report.opportunity_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(ReportForConfirmation {
            report,
            opportunity_name: o.name,
            customer_name: o.customer_name,
        })
    }

    /// The customer confirms through the public link, signing with their name.
    pub async fn confirm_needs_analysis_by_link(
        &self,
        token: &str,
        signer_name: String,
        comment: Option<String>,
    ) -> AppResult<NeedsAnalysis> {
        let shown = self.report_for_confirmation(token).await?;
        let mut p = Problems::default();
        let mut signer_name = signer_name;
        required(&mut p, &mut signer_name, "signer_name", MAX_NAME);
        let mut comment = comment;
        p.optional_text(&mut comment, "comment", MAX_TEXT);
        p.into_result()?;
        let confirmation = Confirmation {
            signer_name,
            method: "link".into(),
            comment,
            recorded_by: None,
            at_ms: self.now_ms(),
        };
        let system = self.system_actor().await?;
        self.store_confirmation(&system, shown.report, confirmation)
            .await
    }

    async fn store_confirmation(
        &self,
        actor: &Actor,
        report: NeedsAnalysis,
        confirmation: Confirmation,
    ) -> AppResult<NeedsAnalysis> {
        let now = confirmation.at_ms;
        let mut tx = self.store.begin().await?;
        if !tx.confirm_needs_analysis(report.id, &confirmation).await? {
            return Err(AppError::Conflict(
                "this revision is confirmed already".into(),
            ));
        }
        let report = NeedsAnalysis {
            confirmation: Some(confirmation),
            ..report
        };
        tx.audit(&audit_entry(
            actor,
            "confirm",
            NEEDS_ANALYSIS_KIND,
            report.id,
            &report,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Tells owners, once, that a needs analysis is past its send deadline and unsent; the
    /// notice points at the opportunity, where the report is sent from.
    pub(crate) async fn flag_late_needs_analyses(&self, tx: &mut dyn Tx) -> AppResult<usize> {
        let now = self.now_ms();
        let late = tx.claim_late_needs_analyses(now).await?;
        for r in &late {
            let n = NewNotification {
                user_id: r.owner_id,
                kind: "needs_analysis_send_late",
                record_kind: "opportunity",
                record_id: r.opportunity_id,
                subject: r.opportunity_name.clone(),
            };
            tx.notify(&n, now).await?;
        }
        Ok(late.len())
    }

    // ---- proposals ------------------------------------------------------------------------

    /// A proposal version and its opportunity, when the actor sees the opportunity.
    pub async fn get_proposal(&self, actor: &Actor, id: i64) -> AppResult<(Proposal, Opportunity)> {
        let p = self.store.proposal(id).await?.ok_or(AppError::NotFound)?;
        let o = self.get_opportunity(actor, p.opportunity_id).await?;
        Ok((p, o))
    }

    /// Every proposal version of an opportunity, newest first.
    pub async fn proposals(&self, actor: &Actor, opportunity_id: i64) -> AppResult<Vec<Proposal>> {
        self.get_opportunity(actor, opportunity_id).await?;
        Ok(self.store.proposals(opportunity_id).await?)
    }

    /// Starts a new proposal version (the first, or one after an approved or rejected one).
    pub async fn create_proposal(
        &self,
        actor: &Actor,
        opportunity_id: i64,
        mut data: ProposalData,
    ) -> AppResult<Proposal> {
        self.documents_editable(actor, opportunity_id).await?;
        data.validate()?;
        let latest = self
            .store
            .proposals(opportunity_id)
            .await?
            .into_iter()
            .next();
        if latest
            .as_ref()
            .is_some_and(|l| l.status == ProposalStatus::InReview)
        {
            return Err(AppError::Conflict(
                "the newest proposal version is under review; wait for its decision".into(),
            ));
        }
        let version_no = latest.map_or(1, |l| l.version_no + 1);
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx
            .insert_proposal(
                opportunity_id,
                version_no,
                &data,
                actor.is_person().then_some(actor.user_id),
                now,
            )
            .await
            .map_err(|e| match e {
                StoreError::Duplicate { .. } => {
                    AppError::Conflict("another version was just started; reload".into())
                }
                other => other.into(),
            })?;
        tx.audit(&audit_entry(
            actor,
            "create",
            PROPOSAL_KIND,
            created.id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Edits a version. Under review only the requester may, and the review starts again;
    /// an approved version changes only through a new version.
    pub async fn update_proposal(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        mut data: ProposalData,
    ) -> AppResult<Proposal> {
        let (_, o) = self.get_proposal(actor, id).await?;
        self.documents_editable(actor, o.id).await?;
        data.validate()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let before = tx
            .proposal_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if before.version != version {
            return Err(AppError::Stale);
        }
        let edit = before.status.edit();
        match edit {
            ProposalEdit::InPlace => {}
            ProposalEdit::RestartsReview => {
                self.ensure_not_locked(&mut *tx, actor, PROPOSAL_KIND, id)
                    .await?;
            }
            ProposalEdit::NewVersionOnly => {
                return Err(AppError::Conflict(
                    "this proposal version is approved; start a new version to change it".into(),
                ))
            }
        }
        let after = tx.update_proposal(id, version, &data, now).await?;
        if edit == ProposalEdit::RestartsReview {
            self.restart_approval(&mut *tx, actor, review_subject(&after, &o))
                .await?;
        }
        tx.audit(&NewAuditEntry {
            record_kind: PROPOSAL_KIND,
            ..NewAuditEntry::updated(actor, RecordKind::Opportunity, id, &before, &after, now)
        })
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Sends a draft (or rejected) version to internal review through the approval engine.
    pub async fn submit_proposal(&self, actor: &Actor, id: i64) -> AppResult<Proposal> {
        let (_, o) = self.get_proposal(actor, id).await?;
        self.documents_editable(actor, o.id).await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let before = tx
            .proposal_for_update(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if before.status.edit() != ProposalEdit::InPlace {
            return Err(AppError::Conflict(format!(
                "a proposal that is {} is not sent to review again",
                before.status
            )));
        }
        let after = tx
            .set_proposal_status(id, ProposalStatus::InReview, now)
            .await?;
        self.open_approval(&mut *tx, actor, review_subject(&after, &o))
            .await?;
        tx.audit(&NewAuditEntry {
            record_kind: PROPOSAL_KIND,
            action: "submit",
            ..NewAuditEntry::updated(actor, RecordKind::Opportunity, id, &before, &after, now)
        })
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The approval engine tells the proposal how its review ended: approved, rejected, or
    /// (returned, withdrawn) back to draft.
    pub(crate) async fn proposal_review_closed(
        &self,
        tx: &mut dyn Tx,
        id: i64,
        outcome: RequestStatus,
        now: i64,
    ) -> AppResult<()> {
        let Some(p) = tx.proposal_for_update(id).await? else {
            return Ok(());
        };
        if p.status != ProposalStatus::InReview {
            return Ok(());
        }
        let status = match outcome {
            RequestStatus::Approved => ProposalStatus::Approved,
            RequestStatus::Rejected => ProposalStatus::Rejected,
            _ => ProposalStatus::Draft,
        };
        tx.set_proposal_status(id, status, now).await?;
        Ok(())
    }

    /// Presentations of a proposal, oldest first.
    pub async fn proposal_presentations(
        &self,
        actor: &Actor,
        proposal_id: i64,
    ) -> AppResult<Vec<Presentation>> {
        self.get_proposal(actor, proposal_id).await?;
        Ok(self.store.presentations(proposal_id).await?)
    }

    /// Records a presentation of a proposal and the customer's feedback.
    pub async fn add_presentation(
        &self,
        actor: &Actor,
        proposal_id: i64,
        mut data: PresentationData,
    ) -> AppResult<Presentation> {
        let (_, o) = self.get_proposal(actor, proposal_id).await?;
        self.documents_editable(actor, o.id).await?;
        data.validate()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx
            .insert_presentation(
                proposal_id,
                &data,
                actor.is_person().then_some(actor.user_id),
                now,
            )
            .await?;
        tx.audit(&audit_entry(
            actor,
            "present",
            PROPOSAL_KIND,
            proposal_id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    // ---- objections -----------------------------------------------------------------------

    pub async fn objections(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<Vec<Objection>> {
        self.get_opportunity(actor, opportunity_id).await?;
        Ok(self.store.objections(opportunity_id).await?)
    }

    /// One objection, when the actor sees its opportunity.
    pub async fn get_objection(&self, actor: &Actor, id: i64) -> AppResult<Objection> {
        let o = self.store.objection(id).await?.ok_or(AppError::NotFound)?;
        self.get_opportunity(actor, o.opportunity_id).await?;
        Ok(o)
    }

    pub async fn add_objection(
        &self,
        actor: &Actor,
        opportunity_id: i64,
        input: ObjectionInput,
    ) -> AppResult<Objection> {
        self.documents_editable(actor, opportunity_id).await?;
        let data = input.validate()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx
            .insert_objection(
                opportunity_id,
                &data,
                actor.is_person().then_some(actor.user_id),
                now,
            )
            .await?;
        tx.audit(&audit_entry(
            actor,
            "create",
            OBJECTION_KIND,
            created.id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_objection(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        input: ObjectionInput,
    ) -> AppResult<Objection> {
        let before = self.store.objection(id).await?.ok_or(AppError::NotFound)?;
        self.documents_editable(actor, before.opportunity_id)
            .await?;
        let data = input.validate()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx.update_objection(id, version, &data, now).await?;
        tx.audit(&NewAuditEntry {
            record_kind: OBJECTION_KIND,
            ..NewAuditEntry::updated(actor, RecordKind::Opportunity, id, &before, &after, now)
        })
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---- letter of intent -----------------------------------------------------------------

    /// Every revision of the opportunity's letter of intent, newest first.
    pub async fn letter_of_intent_revisions(
        &self,
        actor: &Actor,
        opportunity_id: i64,
    ) -> AppResult<Vec<LetterOfIntent>> {
        self.get_opportunity(actor, opportunity_id).await?;
        Ok(self.store.letters_of_intent(opportunity_id).await?)
    }

    /// Writes the letter (`expected_revision` None) or a new revision over the one seen.
    pub async fn write_letter_of_intent(
        &self,
        actor: &Actor,
        opportunity_id: i64,
        expected_revision: Option<i64>,
        mut data: LetterOfIntentData,
    ) -> AppResult<LetterOfIntent> {
        self.documents_editable(actor, opportunity_id).await?;
        data.validate()?;
        let latest = self
            .store
            .letters_of_intent(opportunity_id)
            .await?
            .into_iter()
            .next();
        let revision =
            match (expected_revision, &latest) {
                (None, None) => 1,
                (None, Some(_)) => return Err(AppError::Conflict(
                    "the opportunity has its letter of intent; revise it with PATCH and If-Match"
                        .into(),
                )),
                (Some(_), None) => return Err(AppError::NotFound),
                (Some(seen), Some(l)) if seen != l.revision => return Err(AppError::Stale),
                (Some(seen), Some(_)) => seen + 1,
            };
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let letter = tx
            .insert_letter_of_intent(
                opportunity_id,
                revision,
                &data,
                actor.is_person().then_some(actor.user_id),
                now,
            )
            .await
            .map_err(stale_on_duplicate)?;
        let action = if revision == 1 { "create" } else { "revise" };
        tx.audit(&audit_entry(
            actor,
            action,
            LETTER_OF_INTENT_KIND,
            letter.id,
            &letter,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(letter)
    }
}
