//! The caller's in-app inbox: SLA escalations, pool warnings and returns.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::jobs::Notification;
use stride_app::page::PageRequest;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{rfc3339, PageDto};
use crate::extract::{ApiActor, ApiPath, ApiQuery};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: i64,
    /// lead_overdue, pool_warning or returned_to_pool.
    pub kind: String,
    pub record_kind: String,
    pub record_id: i64,
    pub subject: String,
    pub created_at: String,
    pub read: bool,
}

pub fn notification_dto(n: Notification) -> NotificationDto {
    NotificationDto {
        id: n.id,
        kind: n.kind,
        record_kind: n.record_kind,
        record_id: n.record_id,
        subject: n.subject,
        created_at: rfc3339(n.created_at_ms),
        read: n.read_at_ms.is_some(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// true: only unread messages.
    pub unread: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/inbox", tag = "leads", params(InboxQuery),
    responses((status = 200, body = PageDto<NotificationDto>)))]
async fn inbox(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<PageDto<NotificationDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(PageDto::from_page(
        s.app.inbox(&actor, q.unread.unwrap_or(false), page).await?,
        notification_dto,
    )))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/read", tag = "leads", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn mark_read(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.mark_read(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
