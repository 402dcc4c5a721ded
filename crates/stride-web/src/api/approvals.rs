//! The approval engine over HTTP: "my approvals", decisions, flows per document kind and
//! delegation. Documents submit themselves through their own endpoints.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::approvals::{
    ApprovalDetail, ApprovalEvent, ApprovalRequest, ApprovalTask, Delegation, Flow, InboxFilter,
    InboxItem,
};
use stride_app::AppError;
use stride_domain::approvals::{Decision, FlowDefinition, FlowKind};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{rfc3339, ListQuery, PageDto};
use crate::extract::{etag, if_match_optional, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(requested))
        .routes(routes!(detail))
        .routes(routes!(decide))
        .routes(routes!(withdraw))
        .routes(routes!(flows))
        .routes(routes!(set_flow))
        .routes(routes!(delegations, delegate))
        .routes(routes!(end_delegation))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDto {
    pub id: i64,
    /// proposal_review, discount, contract, expense, budget, over_budget, change_confirmation.
    pub kind: String,
    pub record_kind: String,
    pub record_id: i64,
    /// The record version the approvers see; an edit of the record restarts the request.
    pub record_version: i64,
    pub title: String,
    pub amount_fen: i64,
    pub discount_bp: i64,
    /// The record as it was submitted.
    #[schema(value_type = Object)]
    pub snapshot: serde_json::Value,
    pub requester_id: i64,
    pub department_id: i64,
    /// pending, approved, rejected, returned or withdrawn.
    pub status: String,
    pub current_step: Option<i64>,
    pub version: i64,
    pub created_at: String,
    pub decided_at: Option<String>,
}

pub fn request_dto(r: ApprovalRequest) -> RequestDto {
    RequestDto {
        id: r.id,
        kind: r.kind.to_string(),
        record_kind: r.record_kind,
        record_id: r.record_id,
        record_version: r.record_version,
        title: r.title,
        amount_fen: r.amount_fen,
        discount_bp: r.discount_bp,
        snapshot: r.snapshot,
        requester_id: r.requester_id,
        department_id: r.department_id,
        status: r.status.to_string(),
        current_step: r.current_step,
        version: r.version,
        created_at: rfc3339(r.created_at_ms),
        decided_at: r.decided_at_ms.map(rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    pub id: i64,
    pub request_id: i64,
    pub step_index: i64,
    pub step_name: String,
    /// all or any.
    pub mode: String,
    pub approver_id: i64,
    pub on_behalf_of: Option<i64>,
    /// pending, approved, rejected, returned, skipped or superseded.
    pub status: String,
    pub comment: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
}

fn task_dto(t: ApprovalTask) -> TaskDto {
    TaskDto {
        id: t.id,
        request_id: t.request_id,
        step_index: t.step_index,
        step_name: t.step_name,
        mode: t.mode.to_string(),
        approver_id: t.approver_id,
        on_behalf_of: t.on_behalf_of,
        status: t.status.to_string(),
        comment: t.comment,
        created_at: rfc3339(t.created_at_ms),
        decided_at: t.decided_at_ms.map(rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    pub at: String,
    pub actor_id: Option<i64>,
    /// submitted, approve, reject, return, restarted or withdrawn.
    pub action: String,
    pub step_index: Option<i64>,
    pub comment: Option<String>,
}

fn event_dto(e: ApprovalEvent) -> EventDto {
    EventDto {
        at: rfc3339(e.at_ms),
        actor_id: e.actor_id,
        action: e.action,
        step_index: e.step_index,
        comment: e.comment,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItemDto {
    pub task: TaskDto,
    pub request: RequestDto,
}

fn inbox_dto(i: InboxItem) -> InboxItemDto {
    InboxItemDto {
        task: task_dto(i.task),
        request: request_dto(i.request),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepDto {
    pub index: i64,
    pub name: String,
    pub mode: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DetailDto {
    #[serde(flatten)]
    pub request: RequestDto,
    pub steps: Vec<StepDto>,
    pub tasks: Vec<TaskDto>,
    pub history: Vec<EventDto>,
    /// The caller's task waiting for a decision, if any.
    pub my_task_id: Option<i64>,
}

fn detail_response(d: ApprovalDetail) -> impl IntoResponse {
    let version = d.request.version;
    let dto = DetailDto {
        steps: d
            .steps
            .into_iter()
            .map(|s| StepDto {
                index: s.index,
                name: s.name,
                mode: s.mode.to_string(),
            })
            .collect(),
        tasks: d.tasks.into_iter().map(task_dto).collect(),
        history: d.events.into_iter().map(event_dto).collect(),
        my_task_id: d.my_task_id,
        request: request_dto(d.request),
    };
    (etag(version), Json(dto))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// `waiting` (default): tasks for the caller to decide; `decided`: what they decided.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals", params(InboxQuery),
    responses((status = 200, body = PageDto<InboxItemDto>), (status = 422, body = Problem)))]
async fn inbox(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<PageDto<InboxItemDto>>> {
    let filter = match q.status.as_deref() {
        None | Some("waiting") => InboxFilter::Waiting,
        Some("decided") => InboxFilter::Decided,
        Some(_) => {
            return Err(AppError::field("status", "invalid", "status is waiting or decided").into())
        }
    };
    let page = stride_app::page::PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(PageDto::from_page(
        s.app.approval_inbox(&actor, filter, page).await?,
        inbox_dto,
    )))
}

#[utoipa::path(get, path = "/api/v1/approvals/requested", tag = "approvals", params(ListQuery),
    responses((status = 200, body = PageDto<RequestDto>)))]
async fn requested(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageDto<RequestDto>>> {
    Ok(Json(PageDto::from_page(
        s.app.my_approval_requests(&actor, q.page()?).await?,
        request_dto,
    )))
}

#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "approvals", params(("id" = i64, Path)),
    responses((status = 200, body = DetailDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn detail(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(detail_response(s.app.approval_detail(&actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// approve, reject or return (for changes).
    pub decision: String,
    /// Required when rejecting or returning.
    pub comment: Option<String>,
}

/// Decides the caller's waiting task. `If-Match` (optional) names the request version the
/// approver looked at; a request that moved on since answers 412.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/decision", tag = "approvals",
    params(("id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, body = DetailDto), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn decide(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<impl IntoResponse> {
    let decision: Decision = body.decision.parse().map_err(|_| {
        AppError::field(
            "decision",
            "invalid",
            "decision is approve, reject or return",
        )
    })?;
    let seen = if_match_optional(&headers)?;
    Ok(detail_response(
        s.app
            .decide_approval(&actor, id, decision, body.comment, seen)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/withdraw", tag = "approvals",
    params(("id" = i64, Path)),
    responses((status = 200, body = DetailDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(detail_response(s.app.withdraw_approval(&actor, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlowDto {
    pub kind: String,
    /// Steps in sequence: `{name, mode: all|any, approvers: [{type: role, role} | {type:
    /// department_head} | {type: reporting_line, levels} | {type: user, user_id}], when:
    /// {min_amount_fen, min_discount_bp}}`.
    #[schema(value_type = Object)]
    pub definition: FlowDefinition,
    /// 0 while the shipped default applies; pass as If-Match to change the flow.
    pub version: i64,
    pub customized: bool,
}

fn flow_dto(f: Flow) -> FlowDto {
    FlowDto {
        kind: f.kind.to_string(),
        definition: f.definition,
        version: f.version,
        customized: f.customized,
    }
}

#[utoipa::path(get, path = "/api/v1/approval-flows", tag = "approvals",
    responses((status = 200, body = Vec<FlowDto>), (status = 403, body = Problem)))]
async fn flows(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<FlowDto>>> {
    Ok(Json(
        s.app
            .approval_flows(&actor)
            .await?
            .into_iter()
            .map(flow_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowBody {
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

/// Replaces the flow of a document kind. Running requests keep the flow they started with.
#[utoipa::path(put, path = "/api/v1/approval-flows/{kind}", tag = "approvals",
    params(("kind" = String, Path)), request_body = FlowBody,
    responses((status = 200, body = FlowDto), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn set_flow(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(kind): ApiPath<String>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<FlowBody>,
) -> ApiResult<impl IntoResponse> {
    let kind: FlowKind = kind.parse().map_err(|_| AppError::NotFound)?;
    let definition: FlowDefinition = serde_json::from_value(body.definition)
        .map_err(|e| AppError::field("definition", "invalid", e.to_string()))?;
    let flow = s
        .app
        .set_approval_flow(&actor, kind, definition, version)
        .await?;
    Ok((etag(flow.version), Json(flow_dto(flow))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationDto {
    pub id: i64,
    pub delegate_id: i64,
    pub starts_at: String,
    pub ends_at: String,
}

fn delegation_dto(d: Delegation) -> DelegationDto {
    DelegationDto {
        id: d.id,
        delegate_id: d.delegate_id,
        starts_at: rfc3339(d.starts_at_ms),
        ends_at: rfc3339(d.ends_at_ms),
    }
}

#[utoipa::path(get, path = "/api/v1/approval-delegations", tag = "approvals",
    responses((status = 200, body = Vec<DelegationDto>)))]
async fn delegations(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<DelegationDto>>> {
    Ok(Json(
        s.app
            .delegations(&actor)
            .await?
            .into_iter()
            .map(delegation_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationBody {
    pub delegate_id: i64,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339.
    pub ends_at: String,
}

fn timestamp_ms(field: &str, text: &str) -> Result<i64, AppError> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            AppError::field(
                field,
                "invalid",
                "an RFC 3339 time, e.g. 2026-12-01T09:00:00+08:00",
            )
        })
}

/// Sends the caller's approvals to a colleague while they are away.
#[utoipa::path(post, path = "/api/v1/approval-delegations", tag = "approvals",
    request_body = DelegationBody,
    responses((status = 201, body = DelegationDto), (status = 422, body = Problem)))]
async fn delegate(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<DelegationBody>,
) -> ApiResult<impl IntoResponse> {
    let starts = timestamp_ms("starts_at", &body.starts_at)?;
    let ends = timestamp_ms("ends_at", &body.ends_at)?;
    let d = s
        .app
        .delegate_approvals(&actor, body.delegate_id, starts, ends)
        .await?;
    Ok((StatusCode::CREATED, Json(delegation_dto(d))))
}

#[utoipa::path(delete, path = "/api/v1/approval-delegations/{id}", tag = "approvals",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn end_delegation(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.end_delegation(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
