//! Organisation settings, the business calendar and the audit log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use stride_app::audit::{AuditEntry, AuditFilter};
use stride_app::page::PageRequest;
use stride_app::settings::{OrgSettings, SettingsPatch};
use stride_app::AppError;
use stride_domain::access::{Action, RecordKind};
use stride_domain::calendar::{CalendarDay, DayKind};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::org::all_pages;
use super::{rfc3339, ExportQuery, PageDto};
use crate::export::export_response;
use crate::extract::{etag, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(get_sales_policy, update_sales_policy))
        .routes(routes!(list_calendar_days))
        .routes(routes!(set_calendar_day, delete_calendar_day))
        .routes(routes!(working_days))
        .routes(routes!(list_audit))
        .routes(routes!(export_audit))
        .routes(routes!(get_audit))
}

// ---- settings -------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsDto {
    pub name: String,
    /// IANA zone, default Asia/Shanghai.
    pub time_zone: String,
    /// ISO 4217 code, default CNY.
    pub currency: String,
    /// Where leads from the public web form land; absent: the form is off.
    pub lead_form_department_id: Option<i64>,
    pub version: i64,
}

fn settings_response(s: OrgSettings) -> Response {
    let version = s.version;
    let dto = SettingsDto {
        name: s.name,
        time_zone: s.time_zone,
        currency: s.currency,
        lead_form_department_id: s.lead_form_department_id,
        version,
    };
    (etag(version), Json(dto)).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    /// A department id turns the public lead form on; `null` turns it off.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<i64>)]
    pub lead_form_department_id: Option<Option<i64>>,
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = SettingsDto)))]
async fn get_settings(State(s): State<AppState>, ApiActor(_): ApiActor) -> ApiResult<Response> {
    Ok(settings_response(s.app.org_settings().await?))
}

#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", params(("If-Match" = String, Header)), request_body = SettingsUpdate,
    responses((status = 200, body = SettingsDto), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_settings(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<SettingsUpdate>,
) -> ApiResult<Response> {
    let patch = SettingsPatch {
        name: r.name,
        time_zone: r.time_zone,
        currency: r.currency,
        lead_form_department_id: r.lead_form_department_id,
    };
    Ok(settings_response(
        s.app.update_org_settings(&actor, version, patch).await?,
    ))
}

// ---- calendar -------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarDayDto {
    /// YYYY-MM-DD
    pub date: String,
    /// holiday (a public holiday) or workday (a make-up working day, 调休).
    pub kind: String,
    pub name: String,
}

fn day_dto(d: CalendarDay) -> CalendarDayDto {
    CalendarDayDto {
        date: d.date.to_string(),
        kind: d.kind.as_str().into(),
        name: d.name,
    }
}

fn parse_date(field: &str, s: &str) -> Result<Date, AppError> {
    s.parse()
        .map_err(|_| AppError::field(field, "invalid", "a date as YYYY-MM-DD"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    /// First date, YYYY-MM-DD (default: 1 January of this year).
    pub from: Option<String>,
    /// Last date, YYYY-MM-DD (default: 31 December of `from`'s year).
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/calendar/days", tag = "settings", params(DaysQuery),
    responses((status = 200, body = Vec<CalendarDayDto>), (status = 422, body = Problem)))]
async fn list_calendar_days(
    State(s): State<AppState>,
    ApiActor(_): ApiActor,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> ApiResult<Json<Vec<CalendarDayDto>>> {
    let today = jiff::Timestamp::from_millisecond(s.app.now_ms())
        .unwrap_or_default()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let from = match q.from.as_deref() {
        Some(f) => parse_date("from", f)?,
        None => today.first_of_year(),
    };
    let to = match q.to.as_deref() {
        Some(t) => parse_date("to", t)?,
        None => from.last_of_year(),
    };
    Ok(Json(
        s.app
            .calendar_days(from, to)
            .await?
            .into_iter()
            .map(day_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDayInput {
    /// holiday or workday.
    pub kind: String,
    pub name: String,
}

/// Marks a date as a public holiday or a make-up working day, replacing what it was.
#[utoipa::path(put, path = "/api/v1/calendar/days/{date}", tag = "settings", params(("date" = String, Path, description = "YYYY-MM-DD")),
    request_body = CalendarDayInput, responses((status = 200, body = CalendarDayDto), (status = 422, body = Problem)))]
async fn set_calendar_day(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(date): ApiPath<String>,
    ApiJson(r): ApiJson<CalendarDayInput>,
) -> ApiResult<Json<CalendarDayDto>> {
    let date = parse_date("date", &date)?;
    let kind: DayKind = r
        .kind
        .parse()
        .map_err(|_| AppError::field("kind", "invalid", "holiday or workday"))?;
    let day = s
        .app
        .set_calendar_day(
            &actor,
            CalendarDay {
                date,
                kind,
                name: r.name,
            },
        )
        .await?;
    Ok(Json(day_dto(day)))
}

#[utoipa::path(delete, path = "/api/v1/calendar/days/{date}", tag = "settings", params(("date" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_calendar_day(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(date): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app
        .remove_calendar_day(&actor, parse_date("date", &date)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkingDaysQuery {
    /// The start, RFC 3339 (e.g. 2025-09-30T15:00:00+08:00).
    pub from: String,
    /// How many working days to add (0–250).
    pub days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkingDaysAnswer {
    pub from: String,
    pub days: u32,
    /// The deadline: same local time on the N-th working day after `from`, in UTC.
    pub due: String,
}

/// "N working days after T" in the organisation's business calendar.
#[utoipa::path(get, path = "/api/v1/calendar/working-days", tag = "settings", params(WorkingDaysQuery),
    responses((status = 200, body = WorkingDaysAnswer), (status = 422, body = Problem)))]
async fn working_days(
    State(s): State<AppState>,
    ApiActor(_): ApiActor,
    ApiQuery(q): ApiQuery<WorkingDaysQuery>,
) -> ApiResult<Json<WorkingDaysAnswer>> {
    let from: jiff::Timestamp = q.from.parse().map_err(|_| {
        AppError::field(
            "from",
            "invalid",
            "an RFC 3339 time with offset, e.g. 2025-09-30T15:00:00+08:00",
        )
    })?;
    let due = s.app.add_working_days(from, q.days).await?;
    Ok(Json(WorkingDaysAnswer {
        from: from.to_string(),
        days: q.days,
        due: due.to_string(),
    }))
}

// ---- audit ----------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub record_kind: String,
    pub record_id: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

fn audit_dto(e: AuditEntry) -> AuditDto {
    AuditDto {
        id: e.id,
        at: rfc3339(e.at_ms),
        actor_id: e.actor_id,
        actor_name: e.actor_name,
        action: e.action,
        record_kind: e.record_kind,
        record_id: e.record_id,
        before: e.before,
        after: e.after,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Who acted.
    pub actor_id: Option<i64>,
    /// user, department, role, settings, calendar…
    pub record_kind: Option<String>,
    pub record_id: Option<i64>,
    /// create, update, delete, export, login…
    pub action: Option<String>,
    /// From this time on (RFC 3339).
    pub from: Option<String>,
    /// Before this time (RFC 3339).
    pub to: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, AppError> {
        let time = |field: &str, v: &Option<String>| -> Result<Option<i64>, AppError> {
            v.as_deref()
                .map(|t| {
                    t.parse::<jiff::Timestamp>()
                        .map(|t| t.as_millisecond())
                        .map_err(|_| {
                            AppError::field(
                                field,
                                "invalid",
                                "an RFC 3339 time, e.g. 2026-01-01T00:00:00+08:00",
                            )
                        })
                })
                .transpose()
        };
        Ok(AuditFilter {
            actor_id: self.actor_id,
            record_kind: self.record_kind.clone(),
            record_id: self.record_id,
            action: self.action.clone(),
            from_ms: time("from", &self.from)?,
            to_ms: time("to", &self.to)?,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = PageDto<AuditDto>), (status = 403, body = Problem)))]
async fn list_audit(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<PageDto<AuditDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let page = s.app.list_audit(&actor, &q.filter()?, page).await?;
    Ok(Json(PageDto::from_page(page, audit_dto)))
}

#[utoipa::path(get, path = "/api/v1/audit/{id}", tag = "audit", params(("id" = i64, Path)),
    responses((status = 200, body = AuditDto), (status = 404, body = Problem)))]
async fn get_audit(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AuditDto>> {
    Ok(Json(audit_dto(s.app.get_audit(&actor, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_audit(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::Audit, Action::Export)?;
    let filter = AuditFilter::default();
    let rows = all_pages(|p| s.app.list_audit(&actor, &filter, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Audit, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                rfc3339(e.at_ms),
                e.actor_name,
                e.action,
                e.record_kind,
                e.record_id.map(|r| r.to_string()).unwrap_or_default(),
                e.before.map(|v| v.to_string()).unwrap_or_default(),
                e.after.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "audit",
        &[
            "id",
            "at",
            "actor",
            "action",
            "record_kind",
            "record_id",
            "before",
            "after",
        ],
        rows,
    ))
}

// ---- sales policy ---------------------------------------------------------------------------

fn policy_response(policy: stride_app::settings::SalesPolicy, version: i64) -> Response {
    (etag(version), Json(policy)).into_response()
}

/// How the sales process is tuned: `grading` (a_requires_budget, a_requires_decision_chain),
/// `response` (a_hours, b_hours, c_nurture_days), `pool` (ownership_cap), `tier_weights`
/// (contribution, potential, payment), `tier_thresholds` (strategic, core), and `tiers`: for
/// each of `strategic`, `core`, `ordinary` its service (return_days to the public pool without a
/// follow-up, warning_days before that, response_hours, revisit_days, served_by in words).
/// Every field has a default; errors name the field, e.g. `tiers.core.return_days`.
#[utoipa::path(get, path = "/api/v1/settings/sales-policy", tag = "settings",
    responses((status = 200, body = Object, headers(("ETag" = String)))))]
async fn get_sales_policy(State(s): State<AppState>, ApiActor(_): ApiActor) -> ApiResult<Response> {
    let (policy, version) = s.app.sales_policy().await?;
    Ok(policy_response(policy, version))
}

/// Replaces the sales policy (send the whole document; missing fields take their defaults).
#[utoipa::path(put, path = "/api/v1/settings/sales-policy", tag = "settings", params(("If-Match" = String, Header)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_sales_policy(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Response> {
    let policy: stride_app::settings::SalesPolicy = serde_json::from_value(body).map_err(|e| {
        let message = e.to_string();
        let field = message.split('`').nth(1).unwrap_or("body").to_owned();
        AppError::field(&field, "invalid", message)
    })?;
    let (policy, version) = s.app.update_sales_policy(&actor, version, policy).await?;
    Ok(policy_response(policy, version))
}
