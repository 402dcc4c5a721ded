//! Doors open without signing in: the public lead form (LEAD-1).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::leads::PublicLead;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ClientIp};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(submit_lead))
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
