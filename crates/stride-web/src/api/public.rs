//! Doors open without signing in: the public lead form (LEAD-1).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::leads::PublicLead;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiActor, ApiJson, ApiPath, ClientIp};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_lead))
        .routes(routes!(renew_feed))
        .routes(routes!(calendar_feed))
}

/// What a visitor of the company's website sends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicLeadInput {
    pub company: String,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// What they are looking for.
    pub need: Option<String>,
    /// Leave empty: a field hidden from people that only robots fill in.
    pub website: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    pub received: bool,
}

/// Sends a lead into the sales team's queue. No login; throttled per client address.
#[utoipa::path(post, path = "/api/v1/public/leads", tag = "leads", request_body = PublicLeadInput,
    responses((status = 202, body = Received), (status = 404, body = Problem, description = "The form is turned off"),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn submit_lead(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(r): ApiJson<PublicLeadInput>,
) -> ApiResult<(StatusCode, Json<Received>)> {
    let form = PublicLead {
        company: r.company,
        contact_name: r.contact_name,
        phone: r.phone,
        email: r.email,
        need: r.need,
        honeypot: r.website,
    };
    s.app.submit_public_lead(form, &ip).await?;
    Ok((StatusCode::ACCEPTED, Json(Received { received: true })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedUrl {
    /// Subscribe to this path on the server from any calendar app; keep it private.
    pub path: String,
}

/// Issues a new private iCalendar feed URL of the caller's follow-ups; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/calendar-feed", tag = "leads", responses((status = 201, body = FeedUrl)))]
async fn renew_feed(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<(StatusCode, Json<FeedUrl>)> {
    let secret = s.app.renew_calendar_feed(&actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(FeedUrl {
            path: format!("/ical/{secret}.ics"),
        }),
    ))
}

/// The follow-ups of the feed's owner as iCalendar (RFC 5545).
#[utoipa::path(get, path = "/ical/{file}", tag = "leads", params(("file" = String, Path, description = "The secret from /api/v1/calendar-feed, with .ics")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = Problem)))]
async fn calendar_feed(
    State(s): State<AppState>,
    ApiPath(file): ApiPath<String>,
) -> ApiResult<Response> {
    let secret = file.strip_suffix(".ics").unwrap_or(&file);
    let body = s.app.calendar_feed(secret).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response())
}
