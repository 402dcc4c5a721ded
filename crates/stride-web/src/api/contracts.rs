//! Contracts: drafts, review, signing, archiving, amendments and the number pattern.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::contracts::{
    Contract, ContractData, ContractDraft, ContractFilter, ContractLine, ContractStatus,
    SigningInput,
};
use stride_app::AppError;
use stride_domain::access::{Action, RecordKind};
use stride_domain::contracts::Milestone;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::org::{all_pages, HasId};
use super::{rfc3339, ExportQuery, PageDto};
use crate::export::export_response;
use crate::extract::{etag, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(export_contracts))
        .routes(routes!(get_contract, update_contract))
        .routes(routes!(submit_contract))
        .routes(routes!(sign_contract))
        .routes(routes!(archive_contract))
        .routes(routes!(amend_contract))
        .routes(routes!(contract_revisions))
        .routes(routes!(get_settings, set_settings))
}

impl HasId for Contract {
    fn id(&self) -> i64 {
        self.id
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDto {
    pub name: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneDto {
    pub name: String,
    /// YYYY-MM-DD.
    pub due_on: String,
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractDto {
    pub id: i64,
    pub number: String,
    pub revision: i64,
    /// The first revision's id, shared by every revision.
    pub root_id: i64,
    pub customer_id: i64,
    pub opportunity_id: Option<i64>,
    pub title: String,
    pub our_party: String,
    pub customer_party: String,
    pub amount_fen: i64,
    pub lines: Vec<LineDto>,
    pub milestones: Vec<MilestoneDto>,
    pub payment_terms: Option<String>,
    pub delivery_period: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub liability: Option<String>,
    pub confidentiality: Option<String>,
    pub ip_clause: Option<String>,
    /// draft, in_review, approved, signed, archived or superseded.
    pub status: String,
    pub owner_id: i64,
    pub department_id: i64,
    pub drafted_by: Option<i64>,
    /// paper or electronic.
    pub signing_method: Option<String>,
    pub signed_on: Option<String>,
    pub customer_signatory: Option<String>,
    pub archive_due_at: Option<String>,
    pub archived_at: Option<String>,
    /// The scan was not archived within one working day of signing.
    pub archive_late: bool,
    pub scan_attachment_id: Option<i64>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn contract_dto(c: Contract, now_ms: i64) -> ContractDto {
    let archive_late = c.archive_late(now_ms);
    ContractDto {
        id: c.id,
        number: c.number,
        revision: c.revision,
        root_id: c.root_id,
        customer_id: c.customer_id,
        opportunity_id: c.opportunity_id,
        title: c.data.title,
        our_party: c.data.our_party,
        customer_party: c.data.customer_party,
        amount_fen: c.data.amount_fen,
        lines: c
            .data
            .lines
            .into_iter()
            .map(|l| LineDto {
                name: l.name,
                quantity: l.quantity,
                unit_price_fen: l.unit_price_fen,
            })
            .collect(),
        milestones: c
            .data
            .milestones
            .into_iter()
            .map(|m| MilestoneDto {
                name: m.name,
                due_on: m.due_on.to_string(),
                amount_fen: m.amount_fen,
            })
            .collect(),
        payment_terms: c.data.payment_terms,
        delivery_period: c.data.delivery_period,
        acceptance_criteria: c.data.acceptance_criteria,
        liability: c.data.liability,
        confidentiality: c.data.confidentiality,
        ip_clause: c.data.ip_clause,
        status: c.status.to_string(),
        owner_id: c.owner_id,
        department_id: c.department_id,
        drafted_by: c.drafted_by,
        signing_method: c.signing.signing_method,
        signed_on: c.signing.signed_on,
        customer_signatory: c.signing.customer_signatory,
        archive_due_at: c.signing.archive_due_at_ms.map(rfc3339),
        archived_at: c.signing.archived_at_ms.map(rfc3339),
        archive_late,
        scan_attachment_id: c.signing.scan_attachment_id,
        version: c.version,
        created_at: rfc3339(c.created_at_ms),
        updated_at: rfc3339(c.updated_at_ms),
    }
}

fn one(s: &AppState, c: Contract) -> impl IntoResponse {
    (etag(c.version), Json(contract_dto(c, s.app.now_ms())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractBody {
    /// Only when drafting: the customer.
    pub customer_id: Option<i64>,
    /// Only when drafting: the deal the contract closes; its owner and team own the contract.
    pub opportunity_id: Option<i64>,
    pub title: String,
    pub our_party: String,
    pub customer_party: String,
    /// In fen; must equal the sum of the lines when lines are given, and of the milestones.
    pub amount_fen: i64,
    #[serde(default)]
    pub lines: Vec<LineDto>,
    #[serde(default)]
    pub milestones: Vec<MilestoneDto>,
    /// Left out when drafting from a deal: the payment terms of its newest letter of intent.
    /// Sending to review refuses terms that differ from the letter's (whitespace, case and
    /// full-width forms aside).
    pub payment_terms: Option<String>,
    /// Left out when drafting from a deal: the delivery of its newest letter of intent.
    pub delivery_period: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub liability: Option<String>,
    pub confidentiality: Option<String>,
    pub ip_clause: Option<String>,
}

impl ContractBody {
    fn into_data(self) -> Result<ContractData, AppError> {
        let mut milestones = Vec::with_capacity(self.milestones.len());
        for (i, m) in self.milestones.into_iter().enumerate() {
            let due_on = m.due_on.trim().parse().map_err(|_| {
                AppError::field(
                    &format!("milestones[{i}].due_on"),
                    "invalid",
                    "a date such as 2026-12-01",
                )
            })?;
            milestones.push(Milestone {
                name: m.name,
                due_on,
                amount_fen: m.amount_fen,
            });
        }
        Ok(ContractData {
            title: self.title,
            our_party: self.our_party,
            customer_party: self.customer_party,
            amount_fen: self.amount_fen,
            lines: self
                .lines
                .into_iter()
                .map(|l| ContractLine {
                    name: l.name,
                    quantity: l.quantity,
                    unit_price_fen: l.unit_price_fen,
                })
                .collect(),
            milestones,
            payment_terms: self.payment_terms,
            delivery_period: self.delivery_period,
            acceptance_criteria: self.acceptance_criteria,
            liability: self.liability,
            confidentiality: self.confidentiality,
            ip_clause: self.ip_clause,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContractQuery {
    pub customer_id: Option<i64>,
    pub opportunity_id: Option<i64>,
    /// draft, in_review, approved, signed, archived or superseded.
    pub status: Option<String>,
    /// Part of the number or title.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ContractQuery {
    fn filter(&self) -> Result<ContractFilter, AppError> {
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<ContractStatus>()
                    .map_err(|_| AppError::field("status", "invalid", "not a contract status"))?,
            ),
        };
        Ok(ContractFilter {
            customer_id: self.customer_id,
            opportunity_id: self.opportunity_id,
            status,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts", params(ContractQuery),
    responses((status = 200, body = PageDto<ContractDto>), (status = 422, body = Problem)))]
async fn list_contracts(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ContractQuery>,
) -> ApiResult<Json<PageDto<ContractDto>>> {
    let page = stride_app::page::PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let now = s.app.now_ms();
    Ok(Json(PageDto::from_page(
        s.app.list_contracts(&actor, &q.filter()?, page).await?,
        |c| contract_dto(c, now),
    )))
}

/// Drafts a contract; its number comes from the configured pattern.
#[utoipa::path(post, path = "/api/v1/contracts", tag = "contracts", request_body = ContractBody,
    responses((status = 201, body = ContractDto), (status = 422, body = Problem)))]
async fn create_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<ContractBody>,
) -> ApiResult<impl IntoResponse> {
    let draft = ContractDraft {
        customer_id: body.customer_id,
        opportunity_id: body.opportunity_id,
        data: body.into_data()?,
    };
    let c = s.app.create_contract(&actor, draft).await?;
    Ok((StatusCode::CREATED, one(&s, c)))
}

#[utoipa::path(get, path = "/api/v1/contracts/export", tag = "contracts", params(ExportQuery),
    responses((status = 200, description = "CSV or XLSX of the contracts the caller sees")))]
async fn export_contracts(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::Contract, Action::Export)?;
    let filter = ContractFilter::default();
    let rows = all_pages(|p| s.app.list_contracts(&actor, &filter, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Contract, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|c| {
            vec![
                c.number,
                c.revision.to_string(),
                c.data.title,
                c.data.customer_party,
                c.data.amount_fen.to_string(),
                c.status.to_string(),
                c.signing.signed_on.unwrap_or_default(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "contracts",
        &[
            "number",
            "revision",
            "title",
            "customer_party",
            "amount_fen",
            "status",
            "signed_on",
        ],
        rows,
    ))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = ContractDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.get_contract(&actor, id).await?;
    Ok(one(&s, c))
}

/// Edits a draft (or, by its requester, a contract under review, which restarts the review).
#[utoipa::path(patch, path = "/api/v1/contracts/{id}", tag = "contracts", params(("id" = i64, Path)),
    request_body = ContractBody,
    responses((status = 200, body = ContractDto), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<ContractBody>,
) -> ApiResult<impl IntoResponse> {
    if body.customer_id.is_some() || body.opportunity_id.is_some() {
        let field = if body.customer_id.is_some() {
            "customer_id"
        } else {
            "opportunity_id"
        };
        return Err(
            AppError::field(field, "read_only", "fixed when the contract is drafted").into(),
        );
    }
    let c = s
        .app
        .update_contract(&actor, id, version, body.into_data()?)
        .await?;
    Ok(one(&s, c))
}

/// Sends a draft to review (legal → sales → finance by default). Refused (422) unless the
/// amount equals the deal's amount after discounts (`amount_fen`), the milestones add up to it,
/// and the payment terms say what the deal's newest letter of intent says (`payment_terms`).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/submit", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = ContractDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn submit_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.submit_contract(&actor, id).await?;
    Ok(one(&s, c))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    /// paper or electronic.
    pub method: String,
    /// YYYY-MM-DD.
    pub signed_on: String,
    pub customer_signatory: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/contracts/{id}/sign", tag = "contracts", params(("id" = i64, Path)),
    request_body = SignBody,
    responses((status = 200, body = ContractDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sign_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SignBody>,
) -> ApiResult<impl IntoResponse> {
    let input = SigningInput {
        method: body.method,
        signed_on: body.signed_on,
        customer_signatory: body.customer_signatory,
    };
    let c = s.app.sign_contract(&actor, id, input).await?;
    Ok(one(&s, c))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveBody {
    /// An attachment of this contract: the signed scan.
    pub scan_attachment_id: i64,
}

#[utoipa::path(post, path = "/api/v1/contracts/{id}/archive", tag = "contracts", params(("id" = i64, Path)),
    request_body = ArchiveBody,
    responses((status = 200, body = ContractDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn archive_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ArchiveBody>,
) -> ApiResult<impl IntoResponse> {
    let c = s
        .app
        .archive_contract(&actor, id, body.scan_attachment_id)
        .await?;
    Ok(one(&s, c))
}

/// Opens an amendment: a new draft revision with the same number.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/amend", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 201, body = ContractDto), (status = 409, body = Problem)))]
async fn amend_contract(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.amend_contract(&actor, id).await?;
    Ok((StatusCode::CREATED, one(&s, c)))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}/revisions", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ContractDto>), (status = 404, body = Problem)))]
async fn contract_revisions(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ContractDto>>> {
    let now = s.app.now_ms();
    Ok(Json(
        s.app
            .contract_revisions(&actor, id)
            .await?
            .into_iter()
            .map(|c| contract_dto(c, now))
            .collect(),
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractSettingsDto {
    /// Tokens {yyyy} {yy} {mm} {dd} and one {seq:N}, e.g. `HT-{yyyy}-{seq:5}`.
    pub number_pattern: String,
}

#[utoipa::path(get, path = "/api/v1/contract-settings", tag = "contracts",
    responses((status = 200, body = ContractSettingsDto, headers(("ETag" = String)))))]
async fn get_settings(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<impl IntoResponse> {
    actor.require(RecordKind::Contract, Action::View)?;
    let (number_pattern, version) = s.app.contract_number_pattern().await?;
    Ok((etag(version), Json(ContractSettingsDto { number_pattern })))
}

#[utoipa::path(put, path = "/api/v1/contract-settings", tag = "contracts",
    request_body = ContractSettingsDto,
    responses((status = 200, body = ContractSettingsDto), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn set_settings(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<ContractSettingsDto>,
) -> ApiResult<impl IntoResponse> {
    let (number_pattern, version) = s
        .app
        .set_contract_number_pattern(&actor, &body.number_pattern, version)
        .await?;
    Ok((etag(version), Json(ContractSettingsDto { number_pattern })))
}
