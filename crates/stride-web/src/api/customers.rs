//! Customers, contacts, the public pool and the search box.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::customers::{
    Contact, ContactData, Customer, CustomerData, CustomerFilter, SearchHit,
};
use stride_app::page::PageRequest;
use stride_app::tiers::RevisitRule;
use stride_app::AppError;
use stride_domain::access::{Action, RecordKind};
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
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(export_customers))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(claim_customer))
        .routes(routes!(release_customer))
        .routes(routes!(hand_over))
        .routes(routes!(merge_customer))
        .routes(routes!(tier_history))
        .routes(routes!(credit_history))
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(export_contacts))
        .routes(routes!(get_contact, update_contact))
        .routes(routes!(search))
}

impl HasId for Customer {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Contact {
    fn id(&self) -> i64 {
        self.id
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: i64,
    pub name: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    /// 统一社会信用代码.
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub needs: Option<String>,
    pub stage: Option<String>,
    /// strategic, core or ordinary.
    pub tier: String,
    /// AAA, AA, A, B or C; B and C are poor credit.
    pub credit_rating: Option<String>,
    pub poor_credit: bool,
    /// Owned, and the last follow-up is older than the tier's revisit cadence.
    pub revisit_due: bool,
    /// Credit limit in fen.
    pub credit_limit: i64,
    /// Absent while the customer is in the public pool.
    pub owner_id: Option<i64>,
    pub department_id: Option<i64>,
    pub in_pool: bool,
    pub next_follow_up_at: Option<String>,
    pub last_activity_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn customer_dto(c: Customer, revisit: &RevisitRule) -> CustomerDto {
    let poor_credit = c
        .data
        .credit_rating
        .as_deref()
        .and_then(|r| r.parse::<stride_domain::customers::CreditRating>().ok())
        .is_some_and(|r| r.is_poor());
    CustomerDto {
        revisit_due: revisit.is_due(&c),
        id: c.id,
        in_pool: c.owner_id.is_none(),
        name: c.data.name,
        industry: c.data.industry,
        size: c.data.size,
        region: c.data.region,
        address: c.data.address,
        website: c.data.website,
        credit_code: c.data.credit_code,
        phone: c.data.phone,
        email: c.data.email,
        needs: c.data.needs,
        stage: c.data.stage,
        tier: c.tier,
        credit_rating: c.data.credit_rating,
        poor_credit,
        credit_limit: c.data.credit_limit_minor,
        owner_id: c.owner_id,
        department_id: c.department_id,
        next_follow_up_at: c.data.next_follow_up_at_ms.map(rfc3339),
        last_activity_at: c.last_activity_at_ms.map(rfc3339),
        version: c.version,
        created_at: rfc3339(c.created_at_ms),
        updated_at: rfc3339(c.updated_at_ms),
    }
}

async fn customer_response(s: &AppState, status: StatusCode, c: Customer) -> ApiResult<Response> {
    let revisit = s.app.revisit_rule().await?;
    Ok((status, etag(c.version), Json(customer_dto(c, &revisit))).into_response())
}

/// The registration form; on update every field is replaced (send what you read).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub name: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub needs: Option<String>,
    pub stage: Option<String>,
    pub credit_rating: Option<String>,
    /// In fen; default 0.
    pub credit_limit: Option<i64>,
    /// RFC 3339.
    pub next_follow_up_at: Option<String>,
    /// Save although another customer looks the same (never for the same credit code).
    #[serde(default)]
    pub allow_duplicate: bool,
    /// Why the credit rating or limit changes (on update; kept in the credit history).
    pub credit_reason: Option<String>,
}

impl CustomerInput {
    fn into_data(self) -> Result<(CustomerData, bool, Option<String>), AppError> {
        let next = self
            .next_follow_up_at
            .as_deref()
            .map(|t| {
                t.parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond())
                    .map_err(|_| {
                        AppError::field("next_follow_up_at", "invalid", "an RFC 3339 time")
                    })
            })
            .transpose()?;
        let data = CustomerData {
            name: self.name,
            industry: self.industry,
            size: self.size,
            region: self.region,
            address: self.address,
            website: self.website,
            credit_code: self.credit_code,
            phone: self.phone,
            email: self.email,
            needs: self.needs,
            stage: self.stage,
            credit_rating: self.credit_rating,
            credit_limit_minor: self.credit_limit.unwrap_or(0),
            next_follow_up_at_ms: next,
        };
        Ok((data, self.allow_duplicate, self.credit_reason))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub owner_id: Option<i64>,
    /// strategic, core or ordinary.
    pub tier: Option<String>,
    /// true: only the public pool (公海).
    pub pool: Option<bool>,
    /// Part of the name.
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerListQuery),
    responses((status = 200, body = PageDto<CustomerDto>), (status = 403, body = Problem)))]
async fn list_customers(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<CustomerListQuery>,
) -> ApiResult<Json<PageDto<CustomerDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = CustomerFilter {
        owner_id: q.owner_id,
        tier: q.tier,
        pool: q.pool.unwrap_or(false),
        q: q.q,
    };
    let revisit = s.app.revisit_rule().await?;
    Ok(Json(PageDto::from_page(
        s.app.list_customers(&actor, &filter, page).await?,
        |c| customer_dto(c, &revisit),
    )))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = CustomerDto), (status = 422, body = Problem, description = "Invalid fields, or a probable duplicate (code `duplicate`)")))]
async fn create_customer(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Response> {
    let (data, allow, _) = input.into_data()?;
    let customer = s.app.create_customer(&actor, data, allow).await?;
    customer_response(&s, StatusCode::CREATED, customer).await
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem)))]
async fn get_customer(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let customer = s.app.get_customer(&actor, id).await?;
    customer_response(&s, StatusCode::OK, customer).await
}

#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = CustomerInput,
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_customer(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Response> {
    let (data, allow, credit_reason) = input.into_data()?;
    let customer = s
        .app
        .update_customer_with_reason(&actor, id, version, data, allow, credit_reason)
        .await?;
    customer_response(&s, StatusCode::OK, customer).await
}

/// Takes a customer from the public pool; exactly one of simultaneous claims wins.
#[utoipa::path(post, path = "/api/v1/customers/{id}/claim", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem), (status = 409, body = Problem, description = "Owned already, or the cap is reached")))]
async fn claim_customer(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let customer = s.app.claim_customer(&actor, id).await?;
    customer_response(&s, StatusCode::OK, customer).await
}

/// Returns a customer to the public pool.
#[utoipa::path(post, path = "/api/v1/customers/{id}/release", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn release_customer(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let customer = s.app.release_customer(&actor, id).await?;
    customer_response(&s, StatusCode::OK, customer).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The duplicate to fold into this customer; it is deleted.
    pub from_id: i64,
}

/// Merges a duplicate into this customer, keeping every contact, activity and converted lead.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", params(("id" = i64, Path)), request_body = MergeInput,
    responses((status = 200, body = CustomerDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn merge_customer(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MergeInput>,
) -> ApiResult<Response> {
    let customer = s.app.merge_customers(&actor, id, r.from_id).await?;
    customer_response(&s, StatusCode::OK, customer).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOver {
    pub from_user_id: i64,
    pub to_user_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandOverResult {
    pub customers_moved: u64,
    /// Open opportunities moved with them; won and lost ones stay.
    pub opportunities_moved: u64,
}

/// Moves every customer and open opportunity of one rep to another (a rep leaving), in one
/// audited step.
#[utoipa::path(post, path = "/api/v1/customers/hand-over", tag = "customers", request_body = HandOver,
    responses((status = 200, body = HandOverResult), (status = 422, body = Problem)))]
async fn hand_over(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<HandOver>,
) -> ApiResult<Json<HandOverResult>> {
    let moved = s
        .app
        .hand_over_customers(&actor, r.from_user_id, r.to_user_id)
        .await?;
    Ok(Json(HandOverResult {
        customers_moved: moved.customers,
        opportunities_moved: moved.opportunities,
    }))
}

#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_customers(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::Customer, Action::Export)?;
    let filter = CustomerFilter::default();
    let rows = all_pages(|p| s.app.list_customers(&actor, &filter, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Customer, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.data.name,
                c.data.industry.unwrap_or_default(),
                c.data.region.unwrap_or_default(),
                c.data.phone.unwrap_or_default(),
                c.data.email.unwrap_or_default(),
                c.data.credit_code.unwrap_or_default(),
                c.tier,
                c.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "customers",
        &[
            "id",
            "name",
            "industry",
            "region",
            "phone",
            "email",
            "credit_code",
            "tier",
            "owner_id",
        ],
        rows,
    ))
}

// ---- contacts -------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// decision_maker, influencer, user, finance or gatekeeper.
    pub decision_role: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn contact_dto(c: Contact) -> ContactDto {
    ContactDto {
        id: c.id,
        customer_id: c.customer_id,
        name: c.data.name,
        title: c.data.title,
        phone: c.data.phone,
        email: c.data.email,
        wechat: c.data.wechat,
        decision_role: c.data.decision_role,
        notes: c.data.notes,
        version: c.version,
        created_at: rfc3339(c.created_at_ms),
        updated_at: rfc3339(c.updated_at_ms),
    }
}

fn contact_response(status: StatusCode, c: Contact) -> Response {
    (status, etag(c.version), Json(contact_dto(c))).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Only on create.
    pub customer_id: Option<i64>,
    pub name: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub decision_role: Option<String>,
    pub notes: Option<String>,
}

impl ContactInput {
    fn data(self) -> ContactData {
        ContactData {
            name: self.name,
            title: self.title,
            phone: self.phone,
            email: self.email,
            wechat: self.wechat,
            decision_role: self.decision_role,
            notes: self.notes,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub customer_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/contacts", tag = "customers", params(ContactListQuery),
    responses((status = 200, body = PageDto<ContactDto>)))]
async fn list_contacts(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ContactListQuery>,
) -> ApiResult<Json<PageDto<ContactDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(PageDto::from_page(
        s.app.list_contacts(&actor, q.customer_id, page).await?,
        contact_dto,
    )))
}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "customers", request_body = ContactInput,
    responses((status = 201, body = ContactDto), (status = 422, body = Problem)))]
async fn create_contact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<Response> {
    let customer_id = input
        .customer_id
        .ok_or_else(|| AppError::field("customer_id", "required", "which customer"))?;
    Ok(contact_response(
        StatusCode::CREATED,
        s.app
            .create_contact(&actor, customer_id, input.data())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = ContactDto), (status = 404, body = Problem)))]
async fn get_contact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(contact_response(
        StatusCode::OK,
        s.app.get_contact(&actor, id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/contacts/{id}", tag = "customers", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = ContactInput,
    responses((status = 200, body = ContactDto), (status = 404, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
async fn update_contact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<Response> {
    if input.customer_id.is_some() {
        return Err(AppError::field(
            "customer_id",
            "read_only",
            "a contact stays with its customer",
        )
        .into());
    }
    Ok(contact_response(
        StatusCode::OK,
        s.app
            .update_contact(&actor, id, version, input.data())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/export", tag = "customers", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_contacts(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::Contact, Action::Export)?;
    let rows = all_pages(|p| s.app.list_contacts(&actor, None, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Contact, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.customer_id.to_string(),
                c.data.name,
                c.data.title.unwrap_or_default(),
                c.data.phone.unwrap_or_default(),
                c.data.email.unwrap_or_default(),
                c.data.decision_role.unwrap_or_default(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "contacts",
        &[
            "id",
            "customer_id",
            "name",
            "title",
            "phone",
            "email",
            "decision_role",
        ],
        rows,
    ))
}

// ---- search ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// 2–100 characters of a name, phone or e-mail.
    pub q: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitDto {
    /// customer, contact or lead.
    pub kind: String,
    pub id: i64,
    pub title: String,
    pub detail: Option<String>,
    pub customer_id: Option<i64>,
}

/// One box over customers, contacts and leads, within the caller's scope: up to 20 hits of each
/// kind, customers first, then contacts, then leads, each newest first.
#[utoipa::path(get, path = "/api/v1/search", tag = "customers", params(SearchQuery),
    responses((status = 200, body = Vec<SearchHitDto>), (status = 422, body = Problem)))]
async fn search(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<SearchHitDto>>> {
    let hits = s.app.search(&actor, &q.q).await?;
    Ok(Json(
        hits.into_iter()
            .map(|h: SearchHit| SearchHitDto {
                kind: h.kind.as_str().to_owned(),
                id: h.id,
                title: h.title,
                detail: h.detail,
                customer_id: h.customer_id,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierChangeDto {
    /// strategic, core or ordinary.
    pub tier: String,
    /// The weighted score (0–100) that placed the customer.
    pub score: i64,
    pub reason: String,
    pub at: String,
}

/// How a customer's tier moved, newest first (re-evaluated monthly).
#[utoipa::path(get, path = "/api/v1/customers/{id}/tiers", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TierChangeDto>), (status = 404, body = Problem)))]
async fn tier_history(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<TierChangeDto>>> {
    let history = s.app.tier_history(&actor, id).await?;
    Ok(Json(
        history
            .into_iter()
            .map(|c| TierChangeDto {
                tier: c.tier,
                score: c.score,
                reason: c.reason,
                at: rfc3339(c.at_ms),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditChangeDto {
    /// AAA, AA, A, B or C; absent when there was none.
    pub rating_before: Option<String>,
    pub rating_after: Option<String>,
    /// Credit limits in fen.
    pub limit_before: i64,
    pub limit_after: i64,
    /// The user who made the change.
    pub changed_by: Option<i64>,
    pub reason: Option<String>,
    pub at: String,
}

/// Every change of the customer's credit rating or limit (by registration, edit or merge), newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/credit-history", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CreditChangeDto>), (status = 404, body = Problem)))]
async fn credit_history(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<CreditChangeDto>>> {
    let history = s.app.credit_history(&actor, id).await?;
    Ok(Json(
        history
            .into_iter()
            .map(|c| CreditChangeDto {
                rating_before: c.rating_before,
                rating_after: c.rating_after,
                limit_before: c.limit_before_minor,
                limit_after: c.limit_after_minor,
                changed_by: c.changed_by,
                reason: c.reason,
                at: rfc3339(c.at_ms),
            })
            .collect(),
    ))
}
