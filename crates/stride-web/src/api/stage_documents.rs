//! The documents of the sales stages on an opportunity: needs analysis (with its confirmation
//! link), proposals and their presentations, objections and the letter of intent.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::stage_documents::{
    LetterOfIntent, LetterOfIntentData, NeedsAnalysis, NeedsAnalysisData, NeedsAnalysisInput,
    Objection, ObjectionInput, Presentation, PresentationData, Proposal, ProposalData,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rfc3339;
use crate::extract::{etag, ApiActor, ApiJson, ApiPath, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            get_needs_analysis,
            create_needs_analysis,
            revise_needs_analysis
        ))
        .routes(routes!(send_needs_analysis))
        .routes(routes!(confirm_needs_analysis))
        .routes(routes!(list_proposals, create_proposal))
        .routes(routes!(get_proposal, update_proposal))
        .routes(routes!(submit_proposal))
        .routes(routes!(list_presentations, add_presentation))
        .routes(routes!(list_objections, add_objection))
        .routes(routes!(update_objection))
        .routes(routes!(
            get_letter_of_intent,
            create_letter_of_intent,
            revise_letter_of_intent
        ))
}

/// The public page a customer confirms a needs analysis on.
pub fn confirmation_path(token: &str) -> String {
    format!("/confirm/needs/{token}")
}

// ---- needs analysis -----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfirmationDto {
    pub signer_name: String,
    /// link (the customer on the public page) or by_hand (recorded by a user).
    pub method: String,
    /// The customer's comment, or how a confirmation by hand came in.
    pub comment: Option<String>,
    pub recorded_by: Option<i64>,
    pub confirmed_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NeedsAnalysisDto {
    pub id: i64,
    pub opportunity_id: i64,
    pub revision: i64,
    pub pain_points: String,
    pub goals: String,
    pub budget_min_fen: Option<i64>,
    pub budget_max_fen: Option<i64>,
    pub decision_process: Option<String>,
    pub decision_makers: Option<String>,
    pub timeline: Option<String>,
    pub meeting_at: String,
    /// One working day after the meeting.
    pub send_due_at: String,
    pub sent_at: Option<String>,
    /// Sent after its deadline, or still unsent with the deadline passed.
    pub send_late: bool,
    /// This revision's confirmation; a new revision starts unconfirmed.
    pub confirmation: Option<ConfirmationDto>,
    pub created_by: Option<i64>,
    pub created_at: String,
}

pub fn needs_analysis_dto(n: NeedsAnalysis, now_ms: i64) -> NeedsAnalysisDto {
    let send_late = n.send_late(now_ms);
    NeedsAnalysisDto {
        id: n.id,
        opportunity_id: n.opportunity_id,
        revision: n.revision,
        pain_points: n.data.pain_points,
        goals: n.data.goals,
        budget_min_fen: n.data.budget_min_fen,
        budget_max_fen: n.data.budget_max_fen,
        decision_process: n.data.decision_process,
        decision_makers: n.data.decision_makers,
        timeline: n.data.timeline,
        meeting_at: rfc3339(n.meeting_at_ms),
        send_due_at: rfc3339(n.send_due_at_ms),
        sent_at: n.sent_at_ms.map(rfc3339),
        send_late,
        confirmation: n.confirmation.map(|c| ConfirmationDto {
            signer_name: c.signer_name,
            method: c.method,
            comment: c.comment,
            recorded_by: c.recorded_by,
            confirmed_at: rfc3339(c.at_ms),
        }),
        created_by: n.created_by,
        created_at: rfc3339(n.created_at_ms),
    }
}

/// The newest revision and every one before it. The ETag is the newest revision number.
#[derive(Debug, Serialize, ToSchema)]
pub struct NeedsAnalysisHistoryDto {
    #[serde(flatten)]
    pub latest: NeedsAnalysisDto,
    /// Every revision, newest first (the newest included).
    pub revisions: Vec<NeedsAnalysisDto>,
}

fn needs_history(s: &AppState, revisions: Vec<NeedsAnalysis>) -> ApiResult<impl IntoResponse> {
    let now = s.app.now_ms();
    let mut all: Vec<NeedsAnalysisDto> = revisions
        .into_iter()
        .map(|n| needs_analysis_dto(n, now))
        .collect();
    if all.is_empty() {
        return Err(stride_app::AppError::NotFound.into());
    }
    let latest = all.remove(0);
    let revision = latest.revision;
    // The newest is listed again at the head of the history.
    let mut revisions = vec![latest.clone()];
    revisions.extend(all);
    Ok((
        etag(revision),
        Json(NeedsAnalysisHistoryDto { latest, revisions }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedsAnalysisBody {
    pub pain_points: String,
    pub goals: String,
    pub budget_min_fen: Option<i64>,
    pub budget_max_fen: Option<i64>,
    pub decision_process: Option<String>,
    pub decision_makers: Option<String>,
    pub timeline: Option<String>,
    /// When the needs-analysis meeting took place: RFC 3339, or YYYY-MM-DDTHH:MM in the
    /// organisation's time zone.
    pub meeting_at: String,
}

impl NeedsAnalysisBody {
    fn input(self) -> NeedsAnalysisInput {
        NeedsAnalysisInput {
            data: NeedsAnalysisData {
                pain_points: self.pain_points,
                goals: self.goals,
                budget_min_fen: self.budget_min_fen,
                budget_max_fen: self.budget_max_fen,
                decision_process: self.decision_process,
                decision_makers: self.decision_makers,
                timeline: self.timeline,
            },
            meeting_at: self.meeting_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}/needs-analysis", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 200, body = NeedsAnalysisHistoryDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_needs_analysis(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let revisions = s.app.needs_analysis_revisions(&actor, id).await?;
    needs_history(&s, revisions)
}

/// Records the needs analysis report (revision 1); its send deadline is one working day after
/// the meeting.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/needs-analysis", tag = "opportunities",
    params(("id" = i64, Path)), request_body = NeedsAnalysisBody,
    responses((status = 201, body = NeedsAnalysisDto), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_needs_analysis(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NeedsAnalysisBody>,
) -> ApiResult<impl IntoResponse> {
    let n = s
        .app
        .write_needs_analysis(&actor, id, None, body.input())
        .await?;
    let revision = n.revision;
    Ok((
        StatusCode::CREATED,
        etag(revision),
        Json(needs_analysis_dto(n, s.app.now_ms())),
    ))
}

/// Writes a new revision over the one in If-Match; it needs confirming again.
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}/needs-analysis", tag = "opportunities",
    params(("id" = i64, Path)), request_body = NeedsAnalysisBody,
    responses((status = 200, body = NeedsAnalysisDto), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn revise_needs_analysis(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(revision): IfMatch,
    ApiJson(body): ApiJson<NeedsAnalysisBody>,
) -> ApiResult<impl IntoResponse> {
    let n = s
        .app
        .write_needs_analysis(&actor, id, Some(revision), body.input())
        .await?;
    let revision = n.revision;
    Ok((etag(revision), Json(needs_analysis_dto(n, s.app.now_ms()))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SentDto {
    #[serde(flatten)]
    pub report: NeedsAnalysisDto,
    /// The public confirmation page; shown once (only a hash of its secret is kept).
    pub confirm_url: String,
}

/// Sends the newest revision to the customer: a fresh confirmation link replaces any earlier one.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/needs-analysis/send", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 200, body = SentDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn send_needs_analysis(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SentDto>> {
    let sent = s.app.send_needs_analysis(&actor, id).await?;
    Ok(Json(SentDto {
        report: needs_analysis_dto(sent.report, s.app.now_ms()),
        confirm_url: confirmation_path(&sent.token),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmByHandBody {
    /// Who confirmed for the customer.
    pub signer_name: String,
    /// How the confirmation came in (e-mail, signed paper, phone…).
    pub how: String,
}

/// Records by hand that the customer confirmed the newest revision.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/needs-analysis/confirm", tag = "opportunities",
    params(("id" = i64, Path)), request_body = ConfirmByHandBody,
    responses((status = 200, body = NeedsAnalysisDto), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn confirm_needs_analysis(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ConfirmByHandBody>,
) -> ApiResult<Json<NeedsAnalysisDto>> {
    let n = s
        .app
        .confirm_needs_analysis_by_hand(&actor, id, body.signer_name, body.how)
        .await?;
    Ok(Json(needs_analysis_dto(n, s.app.now_ms())))
}

// ---- proposals ----------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalDto {
    pub id: i64,
    pub opportunity_id: i64,
    pub version_no: i64,
    pub title: String,
    pub summary: Option<String>,
    pub price_fen: i64,
    /// draft, in_review, approved or rejected.
    pub status: String,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn proposal_dto(p: Proposal) -> ProposalDto {
    ProposalDto {
        id: p.id,
        opportunity_id: p.opportunity_id,
        version_no: p.version_no,
        title: p.data.title,
        summary: p.data.summary,
        price_fen: p.data.price_fen,
        status: p.status.to_string(),
        created_by: p.created_by,
        version: p.version,
        created_at: rfc3339(p.created_at_ms),
        updated_at: rfc3339(p.updated_at_ms),
    }
}

fn one_proposal(p: Proposal) -> impl IntoResponse {
    (etag(p.version), Json(proposal_dto(p)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    pub title: String,
    pub summary: Option<String>,
    pub price_fen: i64,
}

impl ProposalBody {
    fn data(self) -> ProposalData {
        ProposalData {
            title: self.title,
            summary: self.summary,
            price_fen: self.price_fen,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}/proposals", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ProposalDto>), (status = 404, body = Problem)))]
async fn list_proposals(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ProposalDto>>> {
    let all = s.app.proposals(&actor, id).await?;
    Ok(Json(all.into_iter().map(proposal_dto).collect()))
}

/// Starts a new proposal version (a draft); refused while the newest is under review.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/proposals", tag = "opportunities",
    params(("id" = i64, Path)), request_body = ProposalBody,
    responses((status = 201, body = ProposalDto), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_proposal(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ProposalBody>,
) -> ApiResult<impl IntoResponse> {
    let p = s.app.create_proposal(&actor, id, body.data()).await?;
    Ok((StatusCode::CREATED, one_proposal(p)))
}

#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "opportunities", params(("id" = i64, Path)),
    responses((status = 200, body = ProposalDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_proposal(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let (p, _) = s.app.get_proposal(&actor, id).await?;
    Ok(one_proposal(p))
}

/// Edits a version: drafts and rejected ones in place; under review only by the requester,
/// restarting the review (409 for anyone else); approved ones not at all (409).
#[utoipa::path(patch, path = "/api/v1/proposals/{id}", tag = "opportunities", params(("id" = i64, Path)),
    request_body = ProposalBody,
    responses((status = 200, body = ProposalDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_proposal(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<ProposalBody>,
) -> ApiResult<impl IntoResponse> {
    let p = s
        .app
        .update_proposal(&actor, id, version, body.data())
        .await?;
    Ok(one_proposal(p))
}

/// Sends a version to internal review (product, technical, legal, finance by default).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/submit", tag = "opportunities", params(("id" = i64, Path)),
    responses((status = 200, body = ProposalDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn submit_proposal(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let p = s.app.submit_proposal(&actor, id).await?;
    Ok(one_proposal(p))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresentationBody {
    /// YYYY-MM-DD.
    pub presented_on: String,
    pub attendees: String,
    /// What the customer said about the proposal.
    pub feedback: String,
    pub next_steps: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresentationDto {
    pub id: i64,
    pub proposal_id: i64,
    #[serde(flatten)]
    pub record: PresentationBody,
    pub created_by: Option<i64>,
    pub created_at: String,
}

fn presentation_dto(p: Presentation) -> PresentationDto {
    PresentationDto {
        id: p.id,
        proposal_id: p.proposal_id,
        record: PresentationBody {
            presented_on: p.data.presented_on,
            attendees: p.data.attendees,
            feedback: p.data.feedback,
            next_steps: p.data.next_steps,
        },
        created_by: p.created_by,
        created_at: rfc3339(p.created_at_ms),
    }
}

#[utoipa::path(get, path = "/api/v1/proposals/{id}/presentations", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PresentationDto>), (status = 404, body = Problem)))]
async fn list_presentations(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<PresentationDto>>> {
    let all = s.app.proposal_presentations(&actor, id).await?;
    Ok(Json(all.into_iter().map(presentation_dto).collect()))
}

/// Records a presentation of the proposal and the customer's feedback (方案沟通记录表).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/presentations", tag = "opportunities",
    params(("id" = i64, Path)), request_body = PresentationBody,
    responses((status = 201, body = PresentationDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_presentation(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PresentationBody>,
) -> ApiResult<impl IntoResponse> {
    let data = PresentationData {
        presented_on: body.presented_on,
        attendees: body.attendees,
        feedback: body.feedback,
        next_steps: body.next_steps,
    };
    let p = s.app.add_presentation(&actor, id, data).await?;
    Ok((StatusCode::CREATED, Json(presentation_dto(p))))
}

// ---- objections ---------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionDto {
    pub id: i64,
    pub opportunity_id: i64,
    /// price, delivery_time, payment_terms, quality, competitor or other.
    pub kind: String,
    pub customer_said: String,
    pub answer: Option<String>,
    pub resolved: bool,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

fn objection_dto(o: Objection) -> ObjectionDto {
    ObjectionDto {
        id: o.id,
        opportunity_id: o.opportunity_id,
        kind: o.data.kind.to_string(),
        customer_said: o.data.customer_said,
        answer: o.data.answer,
        resolved: o.data.resolved,
        created_by: o.created_by,
        version: o.version,
        created_at: rfc3339(o.created_at_ms),
        updated_at: rfc3339(o.updated_at_ms),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionBody {
    /// price, delivery_time, payment_terms, quality, competitor or other.
    pub kind: String,
    pub customer_said: String,
    /// The answer given (instalments, priority production…); required once resolved.
    pub answer: Option<String>,
    #[serde(default)]
    pub resolved: bool,
}

impl ObjectionBody {
    fn input(self) -> ObjectionInput {
        ObjectionInput {
            kind: self.kind,
            customer_said: self.customer_said,
            answer: self.answer,
            resolved: self.resolved,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}/objections", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ObjectionDto>), (status = 404, body = Problem)))]
async fn list_objections(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ObjectionDto>>> {
    let all = s.app.objections(&actor, id).await?;
    Ok(Json(all.into_iter().map(objection_dto).collect()))
}

#[utoipa::path(post, path = "/api/v1/opportunities/{id}/objections", tag = "opportunities",
    params(("id" = i64, Path)), request_body = ObjectionBody,
    responses((status = 201, body = ObjectionDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_objection(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ObjectionBody>,
) -> ApiResult<impl IntoResponse> {
    let o = s.app.add_objection(&actor, id, body.input()).await?;
    Ok((StatusCode::CREATED, etag(o.version), Json(objection_dto(o))))
}

#[utoipa::path(patch, path = "/api/v1/objections/{id}", tag = "opportunities", params(("id" = i64, Path)),
    request_body = ObjectionBody,
    responses((status = 200, body = ObjectionDto), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_objection(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<ObjectionBody>,
) -> ApiResult<impl IntoResponse> {
    let o = s
        .app
        .update_objection(&actor, id, version, body.input())
        .await?;
    Ok((etag(o.version), Json(objection_dto(o))))
}

// ---- letter of intent ---------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LetterOfIntentBody {
    pub scope: String,
    pub amount_fen: i64,
    pub payment_terms: String,
    pub delivery: String,
    /// YYYY-MM-DD.
    pub valid_until: String,
    pub next_steps: Option<String>,
    /// YYYY-MM-DD; with the signatory, marks the letter signed.
    pub signed_on: Option<String>,
    pub customer_signatory: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LetterOfIntentDto {
    pub id: i64,
    pub opportunity_id: i64,
    pub revision: i64,
    #[serde(flatten)]
    pub terms: LetterOfIntentBody,
    pub signed: bool,
    pub created_by: Option<i64>,
    pub created_at: String,
}

fn letter_dto(l: LetterOfIntent) -> LetterOfIntentDto {
    let signed = l.data.is_signed();
    LetterOfIntentDto {
        id: l.id,
        opportunity_id: l.opportunity_id,
        revision: l.revision,
        terms: LetterOfIntentBody {
            scope: l.data.scope,
            amount_fen: l.data.amount_fen,
            payment_terms: l.data.payment_terms,
            delivery: l.data.delivery,
            valid_until: l.data.valid_until,
            next_steps: l.data.next_steps,
            signed_on: l.data.signed_on,
            customer_signatory: l.data.customer_signatory,
        },
        signed,
        created_by: l.created_by,
        created_at: rfc3339(l.created_at_ms),
    }
}

impl LetterOfIntentBody {
    fn data(self) -> LetterOfIntentData {
        LetterOfIntentData {
            scope: self.scope,
            amount_fen: self.amount_fen,
            payment_terms: self.payment_terms,
            delivery: self.delivery,
            valid_until: self.valid_until,
            next_steps: self.next_steps,
            signed_on: self.signed_on,
            customer_signatory: self.customer_signatory,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LetterOfIntentHistoryDto {
    #[serde(flatten)]
    pub latest: LetterOfIntentDto,
    /// Revision numbers before the newest, newest first.
    pub earlier: Vec<LetterOfIntentDto>,
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}/letter-of-intent", tag = "opportunities",
    params(("id" = i64, Path)),
    responses((status = 200, body = LetterOfIntentHistoryDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_letter_of_intent(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let mut all = s
        .app
        .letter_of_intent_revisions(&actor, id)
        .await?
        .into_iter();
    let latest = all.next().ok_or(stride_app::AppError::NotFound)?;
    let revision = latest.revision;
    Ok((
        etag(revision),
        Json(LetterOfIntentHistoryDto {
            latest: letter_dto(latest),
            earlier: all.map(letter_dto).collect(),
        }),
    ))
}

/// Writes the opportunity's letter of intent (one per opportunity; revise it with PATCH).
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/letter-of-intent", tag = "opportunities",
    params(("id" = i64, Path)), request_body = LetterOfIntentBody,
    responses((status = 201, body = LetterOfIntentDto), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_letter_of_intent(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<LetterOfIntentBody>,
) -> ApiResult<impl IntoResponse> {
    let l = s
        .app
        .write_letter_of_intent(&actor, id, None, body.data())
        .await?;
    Ok((StatusCode::CREATED, etag(l.revision), Json(letter_dto(l))))
}

/// A new revision over the one in If-Match (signing is recorded this way too).
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}/letter-of-intent", tag = "opportunities",
    params(("id" = i64, Path)), request_body = LetterOfIntentBody,
    responses((status = 200, body = LetterOfIntentDto), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn revise_letter_of_intent(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(revision): IfMatch,
    ApiJson(body): ApiJson<LetterOfIntentBody>,
) -> ApiResult<impl IntoResponse> {
    let l = s
        .app
        .write_letter_of_intent(&actor, id, Some(revision), body.data())
        .await?;
    Ok((etag(l.revision), Json(letter_dto(l))))
}
