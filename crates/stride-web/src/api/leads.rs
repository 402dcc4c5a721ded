//! Leads and activities (follow-ups).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::import::DuplicateOf;
use stride_app::leads::{Activity, ActivityData, Lead, LeadData, LeadFilter};
use stride_app::page::PageRequest;
use stride_app::AppError;
use stride_domain::access::{Action, RecordKind};
use stride_domain::leads::LeadGrade;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::customers::{customer_dto, CustomerDto};
use super::org::{all_pages, HasId};
use super::{rfc3339, ExportQuery, PageDto};
use crate::export::export_response;
use crate::extract::{etag, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(export_leads))
        .routes(routes!(get_lead, update_lead))
        .routes(routes!(grade_lead))
        .routes(routes!(assign_lead))
        .routes(routes!(auto_assign_lead))
        .routes(routes!(list_rules, add_rule))
        .routes(routes!(delete_rule))
        .routes(routes!(disqualify_lead))
        .routes(routes!(first_contact))
        .routes(routes!(convert_lead))
        .routes(routes!(list_activities, create_activity))
        .routes(routes!(export_activities))
        .routes(routes!(agenda))
        .merge(OpenApiRouter::new().routes(routes!(import_leads)).layer(
            axum::extract::DefaultBodyLimit::max(stride_app::import::MAX_IMPORT_BYTES),
        ))
}

impl HasId for Lead {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Activity {
    fn id(&self) -> i64 {
        self.id
    }
}

fn time_ms(field: &str, value: Option<&str>) -> Result<Option<i64>, AppError> {
    value
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| {
                    AppError::field(
                        field,
                        "invalid",
                        "an RFC 3339 time, e.g. 2026-11-23T10:00:00+08:00",
                    )
                })
        })
        .transpose()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadDto {
    pub id: i64,
    pub company: String,
    pub contact_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub source: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub size: Option<String>,
    /// 统一社会信用代码 (18 characters, uppercase); the customer gets it on conversion.
    pub credit_code: Option<String>,
    pub need: Option<String>,
    pub budget: Option<String>,
    pub explicit_need: bool,
    pub budget_known: bool,
    pub decision_chain_known: bool,
    pub notes: Option<String>,
    /// A, B or C.
    pub grade: String,
    /// new, contacted, qualified, nurturing, converted or disqualified.
    pub status: String,
    pub owner_id: Option<i64>,
    pub assigned_at: Option<String>,
    /// When the owner must have made the first contact (A: 24 h, B: 48 h).
    pub response_due_at: Option<String>,
    /// Past the response clock without a first contact.
    pub overdue: bool,
    pub first_contact_at: Option<String>,
    pub next_nurture_at: Option<String>,
    pub disqualify_reason: Option<String>,
    /// The customer this lead became.
    pub customer_id: Option<i64>,
    pub version: i64,
    pub created_at: String,
}

fn lead_dto(l: Lead, now_ms: i64) -> LeadDto {
    LeadDto {
        overdue: l.is_overdue(now_ms),
        id: l.id,
        company: l.data.company,
        contact_name: l.data.contact_name,
        title: l.data.title,
        phone: l.data.phone,
        email: l.data.email,
        source: l.data.source,
        industry: l.data.industry,
        region: l.data.region,
        size: l.data.size,
        credit_code: l.data.credit_code,
        need: l.data.need,
        budget: l.data.budget,
        explicit_need: l.data.explicit_need,
        budget_known: l.data.budget_known,
        decision_chain_known: l.data.decision_chain_known,
        notes: l.data.notes,
        grade: l.grade,
        status: l.status,
        owner_id: l.owner_id,
        assigned_at: l.assigned_at_ms.map(rfc3339),
        response_due_at: l.response_due_at_ms.map(rfc3339),
        first_contact_at: l.first_contact_at_ms.map(rfc3339),
        next_nurture_at: l.next_nurture_at_ms.map(rfc3339),
        disqualify_reason: l.disqualify_reason,
        customer_id: l.customer_id,
        version: l.version,
        created_at: rfc3339(l.created_at_ms),
    }
}

fn lead_response(s: &AppState, status: StatusCode, l: Lead) -> Response {
    (status, etag(l.version), Json(lead_dto(l, s.app.now_ms()))).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    pub company: String,
    pub contact_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// website, exhibition, referral, partner, social_media, cold_call, campaign or other.
    pub source: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub size: Option<String>,
    /// 统一社会信用代码, checked with its check character (422 on `credit_code` when wrong).
    /// A customer or open lead with the same code makes the lead a duplicate.
    pub credit_code: Option<String>,
    pub need: Option<String>,
    pub budget: Option<String>,
    #[serde(default)]
    pub explicit_need: bool,
    #[serde(default)]
    pub budget_known: bool,
    #[serde(default)]
    pub decision_chain_known: bool,
    pub notes: Option<String>,
    /// Save although a customer or open lead looks the same.
    #[serde(default)]
    pub allow_duplicate: bool,
}

impl LeadInput {
    fn into_data(self) -> (LeadData, bool) {
        let data = LeadData {
            company: self.company,
            contact_name: self.contact_name,
            title: self.title,
            phone: self.phone,
            email: self.email,
            source: self.source,
            industry: self.industry,
            region: self.region,
            size: self.size,
            credit_code: self.credit_code,
            need: self.need,
            budget: self.budget,
            explicit_need: self.explicit_need,
            budget_known: self.budget_known,
            decision_chain_known: self.decision_chain_known,
            notes: self.notes,
        };
        (data, self.allow_duplicate)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub status: Option<String>,
    pub grade: Option<String>,
    pub owner_id: Option<i64>,
    /// true: only leads past their response clock.
    pub overdue: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(LeadListQuery),
    responses((status = 200, body = PageDto<LeadDto>), (status = 403, body = Problem)))]
async fn list_leads(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<LeadListQuery>,
) -> ApiResult<Json<PageDto<LeadDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let now = s.app.now_ms();
    let filter = LeadFilter {
        status: q.status,
        grade: q.grade,
        owner_id: q.owner_id,
        overdue_at_ms: q.overdue.unwrap_or(false).then_some(now),
    };
    Ok(Json(PageDto::from_page(
        s.app.list_leads(&actor, &filter, page).await?,
        |l| lead_dto(l, now),
    )))
}

/// Captures a lead owned by the caller; it is graded by the rules and its response clock starts.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", request_body = LeadInput,
    responses((status = 201, body = LeadDto), (status = 422, body = Problem)))]
async fn create_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<Response> {
    let (data, allow) = input.into_data();
    Ok(lead_response(
        &s,
        StatusCode::CREATED,
        s.app.create_lead(&actor, data, allow).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = i64, Path)),
    responses((status = 200, body = LeadDto), (status = 404, body = Problem)))]
async fn get_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(lead_response(
        &s,
        StatusCode::OK,
        s.app.get_lead(&actor, id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/leads/{id}", tag = "leads", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = LeadInput,
    responses((status = 200, body = LeadDto), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(input): ApiJson<LeadInput>,
) -> ApiResult<Response> {
    let (data, _) = input.into_data();
    Ok(lead_response(
        &s,
        StatusCode::OK,
        s.app.update_lead(&actor, id, version, data).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeInput {
    /// A, B or C.
    pub grade: String,
}

/// Grades by hand, overriding the rules; kept in the grade history.
#[utoipa::path(post, path = "/api/v1/leads/{id}/grade", tag = "leads", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = GradeInput, responses((status = 200, body = LeadDto), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn grade_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<GradeInput>,
) -> ApiResult<Response> {
    let grade: LeadGrade = r
        .grade
        .parse()
        .map_err(|_| AppError::field("grade", "invalid", "A, B or C"))?;
    Ok(lead_response(
        &s,
        StatusCode::OK,
        s.app.grade_lead(&actor, id, version, grade).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    pub owner_id: i64,
}

/// Gives the lead to another user; the response clock restarts. Audited.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", tag = "leads", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = AssignInput, responses((status = 200, body = LeadDto), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn assign_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<AssignInput>,
) -> ApiResult<Response> {
    Ok(lead_response(
        &s,
        StatusCode::OK,
        s.app.assign_lead(&actor, id, version, r.owner_id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisqualifyInput {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/disqualify", tag = "leads", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = DisqualifyInput, responses((status = 200, body = LeadDto), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn disqualify_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<DisqualifyInput>,
) -> ApiResult<Response> {
    Ok(lead_response(
        &s,
        StatusCode::OK,
        s.app
            .disqualify_lead(&actor, id, version, &r.reason)
            .await?,
    ))
}

/// A follow-up: call, email, visit, meeting, wechat or note (first_contact through its own endpoint).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    pub lead_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// call, email, visit, meeting, wechat or note (ignored for a first contact).
    pub kind: Option<String>,
    pub summary: String,
    pub interest_points: Option<String>,
    pub pain_points: Option<String>,
    pub next_step: Option<String>,
    /// RFC 3339; default now.
    pub occurred_at: Option<String>,
    /// RFC 3339: when to follow up next.
    pub next_follow_up_at: Option<String>,
}

impl ActivityInput {
    fn data(&self, now_ms: i64) -> Result<ActivityData, AppError> {
        Ok(ActivityData {
            kind: self.kind.clone().unwrap_or_else(|| "note".into()),
            summary: self.summary.clone(),
            interest_points: self.interest_points.clone(),
            pain_points: self.pain_points.clone(),
            next_step: self.next_step.clone(),
            occurred_at_ms: time_ms("occurred_at", self.occurred_at.as_deref())?.unwrap_or(now_ms),
            next_follow_up_at_ms: time_ms("next_follow_up_at", self.next_follow_up_at.as_deref())?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityDto {
    pub id: i64,
    pub lead_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub summary: String,
    pub interest_points: Option<String>,
    pub pain_points: Option<String>,
    pub next_step: Option<String>,
    pub occurred_at: String,
    pub next_follow_up_at: Option<String>,
    pub owner_id: i64,
    /// The follow-up time has passed.
    pub overdue: bool,
}

fn activity_dto(a: Activity, now_ms: i64) -> ActivityDto {
    ActivityDto {
        overdue: a.data.next_follow_up_at_ms.is_some_and(|t| t < now_ms),
        id: a.id,
        lead_id: a.lead_id,
        customer_id: a.customer_id,
        kind: a.data.kind,
        summary: a.data.summary,
        interest_points: a.data.interest_points,
        pain_points: a.data.pain_points,
        next_step: a.data.next_step,
        occurred_at: rfc3339(a.data.occurred_at_ms),
        next_follow_up_at: a.data.next_follow_up_at_ms.map(rfc3339),
        owner_id: a.owner_id,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FirstContactResult {
    pub lead: LeadDto,
    pub activity: ActivityDto,
}

/// Records the first contact: channel, interest points, pain points, next step; stops the clock.
#[utoipa::path(post, path = "/api/v1/leads/{id}/first-contact", tag = "leads", params(("id" = i64, Path)),
    request_body = ActivityInput, responses((status = 201, body = FirstContactResult), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn first_contact(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ActivityInput>,
) -> ApiResult<(StatusCode, Json<FirstContactResult>)> {
    let now = s.app.now_ms();
    let (lead, activity) = s.app.record_first_contact(&actor, id, r.data(now)?).await?;
    Ok((
        StatusCode::CREATED,
        Json(FirstContactResult {
            lead: lead_dto(lead, now),
            activity: activity_dto(activity, now),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConvertResult {
    pub lead: LeadDto,
    pub customer: CustomerDto,
    /// The opportunity opened at first contact, owned by the converting rep.
    pub opportunity_id: i64,
}

/// Converts a contacted or qualified lead into a customer with its contact and an opportunity,
/// in one step.
#[utoipa::path(post, path = "/api/v1/leads/{id}/convert", tag = "leads", params(("id" = i64, Path), ("If-Match" = String, Header)),
    responses((status = 200, body = ConvertResult), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn convert_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
) -> ApiResult<Json<ConvertResult>> {
    let (lead, customer, opportunity) = s.app.convert_lead(&actor, id, version).await?;
    Ok(Json(ConvertResult {
        lead: lead_dto(lead, s.app.now_ms()),
        customer: customer_dto(customer, &s.app.revisit_rule().await?),
        opportunity_id: opportunity.id,
    }))
}

#[utoipa::path(get, path = "/api/v1/leads/export", tag = "leads", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_leads(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::Lead, Action::Export)?;
    let filter = LeadFilter::default();
    let rows = all_pages(|p| s.app.list_leads(&actor, &filter, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Lead, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|l| {
            vec![
                l.id.to_string(),
                l.data.company,
                l.data.contact_name.unwrap_or_default(),
                l.data.phone.unwrap_or_default(),
                l.data.email.unwrap_or_default(),
                l.data.credit_code.unwrap_or_default(),
                l.data.source,
                l.grade,
                l.status,
                l.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "leads",
        &[
            "id",
            "company",
            "contact",
            "phone",
            "email",
            "credit_code",
            "source",
            "grade",
            "status",
            "owner_id",
        ],
        rows,
    ))
}

// ---- activities -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivityListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub lead_id: Option<i64>,
    pub customer_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/activities", tag = "leads", params(ActivityListQuery),
    responses((status = 200, body = PageDto<ActivityDto>)))]
async fn list_activities(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ActivityListQuery>,
) -> ApiResult<Json<PageDto<ActivityDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let now = s.app.now_ms();
    Ok(Json(PageDto::from_page(
        s.app
            .list_activities(&actor, q.lead_id, q.customer_id, page)
            .await?,
        |a| activity_dto(a, now),
    )))
}

#[utoipa::path(post, path = "/api/v1/activities", tag = "leads", request_body = ActivityInput,
    responses((status = 201, body = ActivityDto), (status = 422, body = Problem)))]
async fn create_activity(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<ActivityInput>,
) -> ApiResult<(StatusCode, Json<ActivityDto>)> {
    let now = s.app.now_ms();
    let activity = s
        .app
        .record_activity(&actor, r.lead_id, r.customer_id, r.data(now)?)
        .await?;
    Ok((StatusCode::CREATED, Json(activity_dto(activity, now))))
}

/// A follow-up on the agenda: the activity and the name of its customer or lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgendaItemDto {
    #[serde(flatten)]
    pub activity: ActivityDto,
    /// The customer's name or the lead's company; null when the caller may not see it.
    pub record_name: Option<String>,
}

/// The caller's follow-ups due today or overdue, earliest first: of each customer or lead only
/// the latest activity, with the record's name.
#[utoipa::path(get, path = "/api/v1/agenda", tag = "leads", responses((status = 200, body = Vec<AgendaItemDto>)))]
async fn agenda(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<AgendaItemDto>>> {
    let now = s.app.now_ms();
    Ok(Json(
        s.app
            .agenda(&actor)
            .await?
            .into_iter()
            .map(|item| AgendaItemDto {
                activity: activity_dto(item.activity, now),
                record_name: item.record_name,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Check every row and report, but write nothing.
    pub dry_run: Option<bool>,
    /// Import rows that look like existing customers or leads.
    pub allow_duplicates: Option<bool>,
    /// Extra column mappings, `COLUMN=field`, comma-separated (e.g. `客户=company,手机号=phone`).
    pub map: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowProblem {
    /// The file's row number (the header is row 1).
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
    /// A duplicate of this customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// A duplicate of this open lead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<i64>,
    /// A duplicate of this earlier row of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as_row: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportDto {
    pub rows: usize,
    pub imported: usize,
    /// True when nothing was written.
    pub dry_run: bool,
    pub problems: Vec<ImportRowProblem>,
    /// With `allow_duplicates`: rows imported although they look like a stored customer or
    /// lead, or an earlier row.
    pub duplicates: Vec<ImportRowProblem>,
    /// Which file column filled which lead field.
    pub mapping: Vec<(String, String)>,
}

/// Parses `COLUMN=field` pairs.
pub fn parse_mapping(text: Option<&str>) -> Result<Vec<(String, String)>, AppError> {
    text.unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map(|(c, f)| (c.trim().to_owned(), f.trim().to_owned()))
                .ok_or_else(|| AppError::field("map", "invalid", "write COLUMN=field"))
        })
        .collect()
}

/// Imports leads from a CSV file (UTF-8, header row; English and Chinese headers map themselves).
/// The file is imported whole or not at all; refused rows are listed with the reason (status 422).
#[utoipa::path(post, path = "/api/v1/leads/import", tag = "leads", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportDto), (status = 422, body = ImportReportDto, description = "Rows refused; nothing imported"), (status = 413, body = Problem)))]
async fn import_leads(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mapping = parse_mapping(q.map.as_deref())?;
    let report = s
        .app
        .import_leads(
            &actor,
            &body,
            &mapping,
            q.dry_run.unwrap_or(false),
            q.allow_duplicates.unwrap_or(false),
            &|_, _| {},
        )
        .await?;
    let status = if report.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let rows = |problems: Vec<stride_app::import::RowProblem>| {
        problems
            .into_iter()
            .map(|p| {
                let (mut customer_id, mut lead_id, mut same_as_row) = (None, None, None);
                match p.duplicate_of {
                    Some(DuplicateOf::Customer(id)) => customer_id = Some(id),
                    Some(DuplicateOf::Lead(id)) => lead_id = Some(id),
                    Some(DuplicateOf::Row(row)) => same_as_row = Some(row),
                    None => {}
                }
                ImportRowProblem {
                    row: p.row,
                    field: p.field,
                    code: p.code,
                    message: p.message,
                    customer_id,
                    lead_id,
                    same_as_row,
                }
            })
            .collect()
    };
    let dto = ImportReportDto {
        rows: report.rows,
        imported: report.imported,
        dry_run: report.dry_run,
        problems: rows(report.problems),
        duplicates: rows(report.duplicates),
        mapping: report.mapping,
    };
    Ok((status, Json(dto)).into_response())
}

#[utoipa::path(get, path = "/api/v1/activities/export", tag = "leads", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_activities(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::Activity, Action::Export)?;
    let rows = all_pages(|p| s.app.list_activities(&actor, None, None, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Activity, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.lead_id.map(|i| i.to_string()).unwrap_or_default(),
                a.customer_id.map(|i| i.to_string()).unwrap_or_default(),
                a.data.kind,
                rfc3339(a.data.occurred_at_ms),
                a.data.summary,
                a.data.next_step.unwrap_or_default(),
                a.data.next_follow_up_at_ms.map(rfc3339).unwrap_or_default(),
                a.owner_id.to_string(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "activities",
        &[
            "id",
            "lead_id",
            "customer_id",
            "kind",
            "occurred_at",
            "summary",
            "next_step",
            "next_follow_up_at",
            "owner_id",
        ],
        rows,
    ))
}

/// Assigns by the assignment rules: a matching rule picks the team, round-robin picks the rep.
#[utoipa::path(post, path = "/api/v1/leads/{id}/auto-assign", tag = "leads", params(("id" = i64, Path), ("If-Match" = String, Header)),
    responses((status = 200, body = LeadDto), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn auto_assign_lead(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
) -> ApiResult<Response> {
    Ok(lead_response(
        &s,
        StatusCode::OK,
        s.app.auto_assign_lead(&actor, id, version).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDto {
    #[serde(default)]
    pub id: i64,
    /// Lower runs first.
    pub priority: i64,
    /// Matches leads whose region contains this text; absent: any.
    pub region: Option<String>,
    /// Matches leads whose industry contains this text; absent: any.
    pub industry: Option<String>,
    /// The team that receives matching leads.
    pub department_id: i64,
}

#[utoipa::path(get, path = "/api/v1/assignment-rules", tag = "leads", responses((status = 200, body = Vec<RuleDto>)))]
async fn list_rules(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<RuleDto>>> {
    let rules = s.app.assignment_rules(&actor).await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|r| RuleDto {
                id: r.id,
                priority: r.priority,
                region: r.region,
                industry: r.industry,
                department_id: r.department_id,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/assignment-rules", tag = "leads", request_body = RuleDto,
    responses((status = 201, body = RuleDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_rule(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<RuleDto>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    let rule = s
        .app
        .add_assignment_rule(&actor, r.priority, r.region, r.industry, r.department_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RuleDto {
            id: rule.id,
            priority: rule.priority,
            region: rule.region,
            industry: rule.industry,
            department_id: rule.department_id,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/assignment-rules/{id}", tag = "leads", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_rule(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.remove_assignment_rule(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
