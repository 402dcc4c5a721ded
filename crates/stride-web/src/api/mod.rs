//! The JSON API under `/api/v1`, described by the OpenAPI document built from these handlers.

mod admin;
mod approvals;
mod attachments;
mod auth;
mod contracts;
mod customers;
mod inbox;
mod leads;
mod opportunities;
mod org;
mod products;
mod public;
pub(crate) mod stage_documents;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::page::{Page, PageRequest};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::problem::ApiResult;
use crate::AppState;

pub(crate) use attachments::read_upload;
pub(crate) use auth::session_cookie;
pub(crate) use org::user_dto;

#[derive(OpenApi)]
#[openapi(
    info(title = "Stride API", description = "Stride sales management system. Errors are application/problem+json; \
        lists page with `limit` and `cursor`; PATCH and DELETE need `If-Match` with the ETag read; POST accepts `Idempotency-Key`."),
    modifiers(&Security),
    components(schemas(crate::problem::Problem, crate::problem::ProblemField)),
    tags(
        (name = "auth", description = "Signing in, the caller's profile and API tokens"),
        (name = "organization", description = "Departments, users and roles"),
        (name = "settings", description = "Organisation settings and the business calendar"),
        (name = "audit", description = "The read-only audit log"),
        (name = "customers", description = "Customers, contacts, the public pool and search"),
        (name = "leads", description = "Leads, grading, first contact, conversion, follow-ups and the agenda"),
        (name = "contracts", description = "Contracts: drafts, review, signing, archiving, amendments"),
        (name = "approvals", description = "The approval engine: my approvals, decisions, flows and delegation"),
        (name = "attachments", description = "Files on customers and leads: upload, list, download, remove"),
        (name = "opportunities", description = "Opportunities with product lines, stage moves through gates, won and lost, the kanban board, the stages and the product catalogue"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every API route with its documentation; the document is split off when the router is built.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(org::routes())
        .merge(admin::routes())
        .merge(customers::routes())
        .merge(leads::routes())
        .merge(opportunities::routes())
        .merge(products::routes())
        .merge(inbox::routes())
        .merge(public::routes())
        .merge(approvals::routes())
        .merge(contracts::routes())
        .merge(attachments::routes())
        .merge(stage_documents::routes())
}

pub async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(state.openapi.as_ref().clone())
}

/// `limit` and `cursor` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1–200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> ApiResult<PageRequest> {
        Ok(PageRequest::parse(self.limit, self.cursor.as_deref())?)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageDto<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageDto<T> {
    pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// Unix milliseconds as an RFC 3339 UTC timestamp.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `?format=csv|xlsx` of export endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

impl ExportQuery {
    pub fn format(&self) -> ApiResult<crate::export::Format> {
        match self.format.as_deref() {
            None | Some("csv") => Ok(crate::export::Format::Csv),
            Some("xlsx") => Ok(crate::export::Format::Xlsx),
            Some(_) => Err(stride_app::AppError::field(
                "format",
                "unsupported",
                "format must be csv or xlsx",
            )
            .into()),
        }
    }
}
