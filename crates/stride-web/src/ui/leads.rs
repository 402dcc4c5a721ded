//! Lead pages: the list with its filters, capture with duplicate checks, a lead's page with its
//! grade, response clock and actions (grade, assign, first contact, convert, disqualify), CSV
//! import, the follow-up agenda and the in-app inbox. The activity pieces shared with the
//! customer 360° view (rows, the follow-up form) live here too.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::Deserialize;
use stride_app::import::{DuplicateOf, ImportReport, LEAD_FIELDS};
use stride_app::leads::{Activity, ActivityData, Lead, LeadData, LeadFilter};
use stride_app::org::UserFilter;
use stride_app::page::{PageRequest, MAX_LIMIT};
use stride_app::{Actor, App, AppError, FieldError};
use stride_domain::access::{Action, RecordKind};
use stride_domain::leads::{LeadGrade, LeadSource, LeadStatus};

use super::admin::{form_page, validation_errors, FieldErrors, Opt};
use super::attachments::{attachments_section, AttachmentsSection};
use super::user_names;
use super::{
    app_error_page, given, opt, percent_encode, render, see_other, Chrome, CsrfForm, PageActor,
};
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads", get(leads_page))
        .route("/leads/new", get(new_lead_page).post(create_lead))
        .route("/leads/import", get(import_page).post(import_submit))
        .route("/leads/{id}", get(lead_page))
        .route("/leads/{id}/grade", post(grade_lead))
        .route("/leads/{id}/assign", post(assign_lead))
        .route("/leads/{id}/first-contact", post(first_contact))
        .route("/leads/{id}/convert", post(convert_lead))
        .route("/leads/{id}/disqualify", post(disqualify_lead))
        .route("/leads/{id}/auto-assign", post(auto_assign_lead))
        .route("/calendar", get(calendar_month_page))
        .route("/calendar/feed", post(renew_feed))
        .route("/agenda", get(agenda_page))
        .route("/agenda/widget", get(agenda_widget))
        .route("/inbox", get(inbox_page))
        .route("/inbox/{id}/read", post(mark_read))
}

// ---- small helpers --------------------------------------------------------------------------

fn zone(actor: &Actor) -> TimeZone {
    TimeZone::get(&actor.time_zone).unwrap_or(TimeZone::UTC)
}

/// A `datetime-local` value (`2026-11-23T14:05`) in the viewer's zone as UTC milliseconds.
fn parse_local_time(s: &str, tz: &TimeZone) -> Option<i64> {
    let dt = s.trim().parse::<DateTime>().ok()?;
    dt.to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

fn source_label(tr: &Tr, source: &str) -> String {
    tr.t_or(&format!("lead_source.{source}"), source)
}

fn status_label(tr: &Tr, status: &str) -> String {
    tr.t_or(&format!("lead_status.{status}"), status)
}

pub(super) fn kind_label(tr: &Tr, kind: &str) -> String {
    tr.t_or(&format!("activity_kind.{kind}"), kind)
}

fn yes_no(tr: &Tr, v: bool) -> String {
    tr.t(if v { "form.yes" } else { "form.no" })
}

/// A label and an already formatted value.
struct Item {
    label: String,
    value: String,
}

// ---- activities (shared with the customer 360° view) ----------------------------------------

/// Kinds a follow-up can be recorded as (the first contact has its own form).
const FOLLOW_UP_KINDS: [&str; 6] = ["call", "email", "visit", "meeting", "wechat", "note"];
/// How a first contact was made; it is recorded as a `first_contact` activity.
const CHANNELS: [&str; 5] = ["call", "visit", "wechat", "email", "meeting"];

pub(super) struct ActivityRow {
    pub occurred: String,
    pub kind: String,
    pub summary: String,
    pub interest_points: String,
    pub pain_points: String,
    pub next_step: String,
    pub next_follow_up: String,
    pub owner: String,
}

pub(super) fn activity_rows(
    chrome: &Chrome,
    items: &[Activity],
    names: &HashMap<i64, String>,
) -> Vec<ActivityRow> {
    let tr = &chrome.tr;
    items
        .iter()
        .map(|a| {
            let d = &a.data;
            ActivityRow {
                occurred: chrome.time(&d.occurred_at_ms),
                kind: kind_label(tr, &d.kind),
                summary: d.summary.clone(),
                interest_points: d.interest_points.clone().unwrap_or_default(),
                pain_points: d.pain_points.clone().unwrap_or_default(),
                next_step: d.next_step.clone().unwrap_or_default(),
                next_follow_up: d
                    .next_follow_up_at_ms
                    .map(|ms| chrome.time(&ms))
                    .unwrap_or_default(),
                owner: names
                    .get(&a.owner_id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", a.owner_id)),
            }
        })
        .collect()
}

/// The activities of a lead or customer, newest first; `None` when the viewer may not see them.
pub(super) async fn activity_list(
    app: &App,
    actor: &Actor,
    chrome: &Chrome,
    lead_id: Option<i64>,
    customer_id: Option<i64>,
) -> Result<Option<Vec<ActivityRow>>, AppError> {
    if !actor.can(RecordKind::Activity, Action::View) {
        return Ok(None);
    }
    let req = PageRequest::parse(Some(MAX_LIMIT), None)?;
    let page = match app.list_activities(actor, lead_id, customer_id, req).await {
        Ok(p) => p,
        Err(AppError::Forbidden) => return Ok(None),
        Err(e) => return Err(e),
    };
    let owners = page.items.iter().map(|a| a.owner_id).collect();
    let names = user_names(app, actor, owners).await;
    Ok(Some(activity_rows(chrome, &page.items, &names)))
}

/// The follow-up kinds as select options.
pub(super) fn kind_options(tr: &Tr, selected: &str) -> Vec<Opt> {
    FOLLOW_UP_KINDS
        .iter()
        .map(|k| Opt {
            value: (*k).to_owned(),
            label: kind_label(tr, k),
            selected: *k == selected,
        })
        .collect()
}

fn channel_options(tr: &Tr, selected: &str) -> Vec<Opt> {
    CHANNELS
        .iter()
        .map(|k| Opt {
            value: (*k).to_owned(),
            label: kind_label(tr, k),
            selected: *k == selected,
        })
        .collect()
}

/// What a follow-up form shows: entered values, kept when the form is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ActivityInput {
    pub kind: String,
    /// First contact only: how it was made, written before the summary.
    pub channel: String,
    pub summary: String,
    pub interest_points: String,
    pub pain_points: String,
    pub next_step: String,
    /// `datetime-local` in the viewer's zone.
    pub next_follow_up: String,
    #[serde(rename = "_csrf")]
    pub csrf: String,
}

impl ActivityInput {
    /// The activity as happening now, or the field this form itself cannot read (the time).
    pub(super) fn to_data(&self, tz: &TimeZone, now_ms: i64) -> Result<ActivityData, AppError> {
        let next_follow_up_at_ms = match self.next_follow_up.trim() {
            "" => None,
            s => Some(parse_local_time(s, tz).ok_or_else(|| {
                AppError::field("next_follow_up_at", "invalid", "not a date and time")
            })?),
        };
        Ok(ActivityData {
            kind: self.kind.trim().to_owned(),
            summary: self.summary.clone(),
            interest_points: opt(&self.interest_points),
            pain_points: opt(&self.pain_points),
            next_step: opt(&self.next_step),
            occurred_at_ms: now_ms,
            next_follow_up_at_ms,
        })
    }
}

// ---- the list -------------------------------------------------------------------------------

struct LeadRow {
    id: i64,
    company: String,
    contact: String,
    source: String,
    grade: String,
    status: String,
    due: String,
    overdue: bool,
    owner: String,
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    chrome: Chrome,
    statuses: Vec<Opt>,
    grades: Vec<Opt>,
    overdue: bool,
    rows: Vec<LeadRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct LeadsQuery {
    status: Option<String>,
    grade: Option<String>,
    overdue: Option<String>,
    cursor: Option<String>,
}

async fn leads_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<LeadsQuery>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let now = app.now_ms();
    let status = given(&query.status)
        .and_then(|s| s.parse::<LeadStatus>().ok())
        .map(|s| s.as_str().to_owned());
    let grade = given(&query.grade)
        .and_then(|g| g.parse::<LeadGrade>().ok())
        .map(|g| g.as_str().to_owned());
    let overdue = given(&query.overdue).is_some_and(|o| o != "0" && o != "false");
    let filter = LeadFilter {
        status: status.clone(),
        grade: grade.clone(),
        owner_id: None,
        overdue_at_ms: overdue.then_some(now),
    };
    let listed = match PageRequest::parse(None, given(&query.cursor)) {
        Ok(req) => app.list_leads(actor, &filter, req).await,
        Err(e) => Err(e),
    };
    let leads = match listed {
        Ok(l) => l,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let owners = leads.items.iter().filter_map(|l| l.owner_id).collect();
    let names = user_names(app, actor, owners).await;
    let rows = leads
        .items
        .iter()
        .map(|l| LeadRow {
            id: l.id,
            company: l.data.company.clone(),
            contact: l.data.contact_name.clone().unwrap_or_default(),
            source: source_label(&tr, &l.data.source),
            grade: l.grade.clone(),
            status: status_label(&tr, &l.status),
            due: l
                .response_due_at_ms
                .map(|ms| page.chrome.time(&ms))
                .unwrap_or_default(),
            overdue: l.is_overdue(now),
            owner: l
                .owner_id
                .and_then(|o| names.get(&o).cloned())
                .unwrap_or_default(),
        })
        .collect();
    let statuses = LeadStatus::ALL
        .iter()
        .map(|s| Opt {
            value: s.as_str().to_owned(),
            label: status_label(&tr, s.as_str()),
            selected: status.as_deref() == Some(s.as_str()),
        })
        .collect();
    let grades = LeadGrade::ALL
        .iter()
        .map(|g| Opt {
            value: g.as_str().to_owned(),
            label: g.as_str().to_owned(),
            selected: grade.as_deref() == Some(g.as_str()),
        })
        .collect();
    let next = leads.next_cursor.as_deref().map(|cursor| {
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = status.as_deref() {
            params.push(("status", s));
        }
        if let Some(g) = grade.as_deref() {
            params.push(("grade", g));
        }
        if overdue {
            params.push(("overdue", "1"));
        }
        params.push(("cursor", cursor));
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        format!("/leads?{}", query.join("&"))
    });
    render(&LeadsPage {
        statuses,
        grades,
        overdue,
        rows,
        next,
        chrome: page.chrome,
    })
}

// ---- capture --------------------------------------------------------------------------------

/// What the lead form shows: what was entered.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LeadInput {
    company: String,
    contact_name: String,
    title: String,
    phone: String,
    email: String,
    source: String,
    industry: String,
    region: String,
    size: String,
    credit_code: String,
    need: String,
    budget: String,
    explicit_need: Option<String>,
    budget_known: Option<String>,
    decision_chain_known: Option<String>,
    notes: String,
    allow_duplicate: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl LeadInput {
    fn to_data(&self) -> LeadData {
        LeadData {
            company: self.company.clone(),
            contact_name: opt(&self.contact_name),
            title: opt(&self.title),
            phone: opt(&self.phone),
            email: opt(&self.email),
            source: self.source.trim().to_owned(),
            industry: opt(&self.industry),
            region: opt(&self.region),
            size: opt(&self.size),
            credit_code: opt(&self.credit_code),
            need: opt(&self.need),
            budget: opt(&self.budget),
            explicit_need: self.explicit_need.is_some(),
            budget_known: self.budget_known.is_some(),
            decision_chain_known: self.decision_chain_known.is_some(),
            notes: opt(&self.notes),
        }
    }
}

/// A record that looks like the lead entered.
struct DuplicateRow {
    href: String,
    label: String,
}

#[derive(Template)]
#[template(path = "lead_form.html")]
struct LeadFormPage {
    chrome: Chrome,
    input: LeadInput,
    sources: Vec<Opt>,
    errors: FieldErrors,
    duplicates: Vec<DuplicateRow>,
    can_confirm: bool,
}

fn lead_form(
    chrome: Chrome,
    input: LeadInput,
    errors: FieldErrors,
    duplicates: Vec<DuplicateRow>,
    can_confirm: bool,
) -> Response {
    let sources = LeadSource::ALL
        .iter()
        .map(|s| Opt {
            value: s.as_str().to_owned(),
            label: source_label(&chrome.tr, s.as_str()),
            selected: input.source.trim() == s.as_str(),
        })
        .collect();
    let view = LeadFormPage {
        chrome,
        input,
        sources,
        errors,
        duplicates,
        can_confirm,
    };
    form_page(&view, &view.errors)
}

async fn new_lead_page(page: PageActor) -> Response {
    if !page.actor.can(RecordKind::Lead, Action::Create) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    lead_form(
        page.chrome,
        LeadInput::default(),
        FieldErrors::default(),
        vec![],
        false,
    )
}

async fn create_lead(
    State(state): State<AppState>,
    page: PageActor,
    Form(input): Form<LeadInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let data = input.to_data();
    let e = match app
        .create_lead(actor, data.clone(), input.allow_duplicate.is_some())
        .await
    {
        Ok(lead) => return see_other(&format!("/leads/{}?notice=created", lead.id)),
        Err(e) => e,
    };
    let AppError::Validation(problems) = e else {
        return app_error_page(&page.chrome, e);
    };
    // Look-alike leads are named only in the message; link the ones the viewer may see.
    let mut duplicates = Vec::new();
    let mut lead_ids = Vec::new();
    for p in problems.iter().filter(|p| p.code == "duplicate") {
        if let Some(id) = p
            .message
            .strip_prefix("lead #")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse::<i64>().ok())
        {
            if !lead_ids.contains(&id) {
                lead_ids.push(id);
            }
        }
    }
    let has_duplicates = problems.iter().any(|p| p.code == "duplicate");
    if has_duplicates {
        if let Ok(hits) = app
            .customer_duplicates(actor, &data.as_customer(), None)
            .await
        {
            for h in hits {
                let on = tr.t_or(&format!("lead.{}", h.matched_on), &h.matched_on);
                let name = h.name.unwrap_or_else(|| tr.t("customer.hidden_duplicate"));
                duplicates.push(DuplicateRow {
                    href: format!("/customers/{}", h.customer_id),
                    label: format!("{} · {on}: {name}", tr.t("search_kind.customer")),
                });
            }
        }
        for id in lead_ids {
            let name = match app.get_lead(actor, id).await {
                Ok(l) => l.data.company,
                Err(_) => tr.t("lead.hidden_duplicate"),
            };
            duplicates.push(DuplicateRow {
                href: format!("/leads/{id}"),
                label: format!("{} #{id}: {name}", tr.t("search_kind.lead")),
            });
        }
    }
    // A duplicate of a lead or a customer: say so in words that fit a lead.
    let problems: Vec<FieldError> = problems
        .into_iter()
        .map(|mut p| {
            if p.code == "duplicate" {
                p.code = "lead_duplicate".into();
            }
            p
        })
        .collect();
    let errors = validation_errors(&tr, AppError::Validation(problems)).unwrap_or_default();
    lead_form(page.chrome, input, errors, duplicates, has_duplicates)
}

// ---- a lead's page and its actions ----------------------------------------------------------

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    chrome: Chrome,
    id: i64,
    version: i64,
    company: String,
    grade: String,
    status: String,
    overdue: bool,
    closed: bool,
    can_convert: bool,
    first_contacted: bool,
    customer_id: Option<i64>,
    details: Vec<Item>,
    clocks: Vec<Item>,
    grades: Vec<Opt>,
    /// `None` when the viewer may not list users.
    users: Option<Vec<Opt>>,
    channels: Vec<Opt>,
    contact: ActivityInput,
    reason: String,
    errors: FieldErrors,
    /// `None` when the viewer may not see activities.
    activities: Option<Vec<ActivityRow>>,
    /// Why assigning by the rules failed (no rule, no rep), already translated.
    auto_assign_error: Option<String>,
    attachments: Option<AttachmentsSection>,
}

/// What a refused action form shows again.
#[derive(Default)]
struct Refused {
    errors: FieldErrors,
    contact: ActivityInput,
    reason: String,
    /// A conflict of the auto-assign button: the page answers 409 with this message.
    conflict: Option<String>,
}

fn lead_details(l: &Lead, tr: &Tr, owner: String, chrome: &Chrome) -> Vec<Item> {
    let d = &l.data;
    let items: Vec<(&str, Option<String>)> = vec![
        ("contact_name", d.contact_name.clone()),
        ("title", d.title.clone()),
        ("phone", d.phone.clone()),
        ("email", d.email.clone()),
        ("source", Some(source_label(tr, &d.source))),
        ("industry", d.industry.clone()),
        ("region", d.region.clone()),
        ("size", d.size.clone()),
        ("credit_code", d.credit_code.clone()),
        ("need", d.need.clone()),
        ("budget", d.budget.clone()),
        ("explicit_need", Some(yes_no(tr, d.explicit_need))),
        ("budget_known", Some(yes_no(tr, d.budget_known))),
        (
            "decision_chain_known",
            Some(yes_no(tr, d.decision_chain_known)),
        ),
        ("notes", d.notes.clone()),
        ("owner", Some(owner).filter(|o| !o.is_empty())),
        ("created", Some(chrome.time(&l.created_at_ms))),
    ];
    items
        .into_iter()
        .map(|(field, value)| Item {
            label: tr.t(&format!("lead.{field}")),
            value: value.unwrap_or_else(|| "—".to_owned()),
        })
        .collect()
}

fn lead_clocks(l: &Lead, tr: &Tr, chrome: &Chrome) -> Vec<Item> {
    let time = |ms: Option<i64>| ms.map(|ms| chrome.time(&ms));
    let mut items: Vec<(&str, Option<String>)> = vec![
        ("assigned_at", time(l.assigned_at_ms)),
        ("response_due", time(l.response_due_at_ms)),
        ("first_contact_at", time(l.first_contact_at_ms)),
        ("next_nurture_at", time(l.next_nurture_at_ms)),
    ];
    if l.disqualify_reason.is_some() {
        items.push(("disqualify_reason", l.disqualify_reason.clone()));
    }
    items
        .into_iter()
        .map(|(field, value)| Item {
            label: tr.t(&format!("lead.{field}")),
            value: value.unwrap_or_else(|| "—".to_owned()),
        })
        .collect()
}

async fn lead_view(state: &AppState, page: PageActor, id: i64, refused: Refused) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let lead = match app.get_lead(actor, id).await {
        Ok(l) => l,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let activities = match activity_list(app, actor, &page.chrome, Some(id), None).await {
        Ok(a) => a,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let owner = match lead.owner_id {
        Some(o) => user_names(app, actor, vec![o])
            .await
            .remove(&o)
            .unwrap_or_else(|| format!("#{o}")),
        None => String::new(),
    };
    let users = if actor.can(RecordKind::User, Action::View) {
        let filter = UserFilter {
            active: Some(true),
            ..UserFilter::default()
        };
        let listed = match PageRequest::parse(Some(MAX_LIMIT), None) {
            Ok(req) => app.list_users(actor, &filter, req).await,
            Err(e) => Err(e),
        };
        listed.ok().map(|p| {
            p.items
                .into_iter()
                .map(|u| Opt {
                    value: u.id.to_string(),
                    label: u.display_name,
                    selected: lead.owner_id == Some(u.id),
                })
                .collect()
        })
    } else {
        None
    };
    let status = lead.status.parse::<LeadStatus>().ok();
    let closed = status.is_none_or(LeadStatus::is_final);
    let can_convert = status.is_some_and(|s| s.can_become(LeadStatus::Converted));
    let grades = LeadGrade::ALL
        .iter()
        .map(|g| Opt {
            value: g.as_str().to_owned(),
            label: tr.t(&format!("lead_grade.{}", g.as_str())),
            selected: lead.grade == g.as_str(),
        })
        .collect();
    let channels = channel_options(&tr, &refused.contact.channel);
    let attachments = attachments_section(app, actor, &page.chrome, "lead", id).await;
    let view = LeadPage {
        id,
        version: lead.version,
        company: lead.data.company.clone(),
        grade: lead.grade.clone(),
        status: status_label(&tr, &lead.status),
        overdue: lead.is_overdue(app.now_ms()),
        closed,
        can_convert,
        first_contacted: lead.first_contact_at_ms.is_some(),
        customer_id: lead.customer_id,
        details: lead_details(&lead, &tr, owner, &page.chrome),
        clocks: lead_clocks(&lead, &tr, &page.chrome),
        grades,
        users,
        channels,
        contact: refused.contact,
        reason: refused.reason,
        errors: refused.errors,
        activities,
        auto_assign_error: refused.conflict,
        attachments,
        chrome: page.chrome,
    };
    if view.auto_assign_error.is_some() {
        return (StatusCode::CONFLICT, render(&view)).into_response();
    }
    form_page(&view, &view.errors)
}

async fn lead_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    lead_view(&state, page, id, Refused::default()).await
}

/// The fields of the small action forms on a lead's page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    grade: String,
    owner_id: String,
    reason: String,
}

impl ActionForm {
    /// A missing or garbled version is never current, so it ends as a stale-record error.
    fn version(&self) -> i64 {
        self.version.trim().parse().unwrap_or(-1)
    }
}

/// After an action: its notice on success, the form again on refusal, else an error page.
async fn after_action(
    state: &AppState,
    page: PageActor,
    id: i64,
    result: Result<(), AppError>,
    notice: &str,
    reason: String,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/leads/{id}?notice={notice}")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let refused = Refused {
                    errors,
                    reason,
                    ..Refused::default()
                };
                lead_view(state, page, id, refused).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

async fn grade_lead(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = match form.grade.trim().parse::<LeadGrade>() {
        Ok(g) => state
            .app
            .grade_lead(&page.actor, id, form.version(), g)
            .await
            .map(drop),
        Err(_) => Err(AppError::field("grade", "invalid", "one of A, B, C")),
    };
    after_action(&state, page, id, result, "graded", String::new()).await
}

async fn assign_lead(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = match form.owner_id.trim().parse::<i64>() {
        Ok(user) => state
            .app
            .assign_lead(&page.actor, id, form.version(), user)
            .await
            .map(drop),
        Err(_) => Err(AppError::field("owner_id", "required", "choose a user")),
    };
    after_action(&state, page, id, result, "assigned", String::new()).await
}

async fn disqualify_lead(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = state
        .app
        .disqualify_lead(&page.actor, id, form.version(), &form.reason)
        .await
        .map(drop);
    after_action(&state, page, id, result, "disqualified", form.reason).await
}

/// Assigns the lead by the assignment rules (or within its own team); a conflict (no rule
/// matches, nobody to assign to) shows the lead again with the reason.
async fn auto_assign_lead(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state
        .app
        .auto_assign_lead(&page.actor, id, form.version())
        .await
    {
        Ok(_) => see_other(&format!("/leads/{id}?notice=assigned")),
        Err(AppError::Conflict(why)) => {
            let key = if why.contains("no rule") {
                "lead.auto_assign_no_rule"
            } else if why.contains("no active rep") {
                "lead.auto_assign_no_rep"
            } else {
                "lead.auto_assign_failed"
            };
            let refused = Refused {
                conflict: Some(page.chrome.tr.t(key)),
                ..Refused::default()
            };
            lead_view(&state, page, id, refused).await
        }
        Err(e) => after_action(&state, page, id, Err(e), "assigned", String::new()).await,
    }
}

async fn convert_lead(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state
        .app
        .convert_lead(&page.actor, id, form.version())
        .await
    {
        Ok((_, customer, _)) => see_other(&format!("/customers/{}?notice=converted", customer.id)),
        Err(e) => after_action(&state, page, id, Err(e), "converted", String::new()).await,
    }
}

async fn first_contact(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(input): Form<ActivityInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let result = match input.to_data(&zone(actor), app.now_ms()) {
        Ok(mut data) => {
            let channel = input.channel.trim();
            if CHANNELS.contains(&channel) && !data.summary.trim().is_empty() {
                data.summary = tr.f(
                    "activity.channel_summary",
                    &[
                        ("channel", &kind_label(&tr, channel)),
                        ("summary", data.summary.trim()),
                    ],
                );
            }
            app.record_first_contact(actor, id, data).await.map(drop)
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("/leads/{id}?notice=first_contact")),
        Err(e) => match validation_errors(&tr, e) {
            Ok(errors) => {
                let refused = Refused {
                    errors,
                    contact: input,
                    ..Refused::default()
                };
                lead_view(&state, page, id, refused).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

// ---- import ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImportInput {
    csv: String,
    /// `COLUMN=field` pairs, separated by commas or lines.
    mapping: String,
    dry_run: Option<String>,
    allow_duplicates: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl ImportInput {
    fn overrides(&self) -> Vec<(String, String)> {
        self.mapping
            .split([',', '\n', ','])
            .filter_map(|pair| pair.split_once('='))
            .map(|(c, f)| (c.trim().to_owned(), f.trim().to_owned()))
            .filter(|(c, f)| !c.is_empty() && !f.is_empty())
            .collect()
    }
}

struct MapRow {
    column: String,
    field: String,
}

struct ProblemRow {
    row: usize,
    field: String,
    message: String,
}

/// A row imported although it looks like a stored record or an earlier row.
struct DuplicateImportRow {
    row: usize,
    /// The field that matched, in the viewer's language.
    field: String,
    /// The record it looks like: a customer, an open lead or an earlier row.
    record: String,
    /// The record's page; empty for an earlier row.
    href: String,
}

struct ReportView {
    rows: usize,
    imported: usize,
    dry_run: bool,
    mapping: Vec<MapRow>,
    problems: Vec<ProblemRow>,
    duplicates: Vec<DuplicateImportRow>,
}

#[derive(Template)]
#[template(path = "lead_import.html")]
struct ImportPage {
    chrome: Chrome,
    input: ImportInput,
    fields: String,
    errors: FieldErrors,
    /// A refused file's problem in the use case's words (they name the row).
    detail: String,
    report: Option<ReportView>,
}

impl ImportPage {
    fn duplicates_hint(&self) -> String {
        let count = self.report.as_ref().map_or(0, |r| r.duplicates.len());
        self.chrome
            .tr
            .f("import.duplicates_hint", &[("count", &count.to_string())])
    }

    fn result_text(&self) -> String {
        let tr = &self.chrome.tr;
        match &self.report {
            Some(r) if !r.problems.is_empty() => tr.f(
                "import.refused",
                &[("count", &r.problems.len().to_string())],
            ),
            Some(r) if r.dry_run => tr.f("import.checked", &[("rows", &r.rows.to_string())]),
            Some(r) => tr.f("import.imported", &[("count", &r.imported.to_string())]),
            None => String::new(),
        }
    }
}

fn report_view(tr: &Tr, r: ImportReport) -> ReportView {
    let field = |f: &str| tr.t_or(&format!("lead.{f}"), f);
    ReportView {
        rows: r.rows,
        imported: r.imported,
        dry_run: r.dry_run,
        mapping: r
            .mapping
            .iter()
            .map(|(c, f)| MapRow {
                column: c.clone(),
                field: field(f),
            })
            .collect(),
        problems: r
            .problems
            .iter()
            .map(|p| {
                let key = format!("field_error.{}", p.code);
                let text = tr.t(&key);
                ProblemRow {
                    row: p.row,
                    field: field(&p.field),
                    message: if text == key || p.code == "duplicate" {
                        p.message.clone()
                    } else {
                        text
                    },
                }
            })
            .collect(),
        duplicates: r
            .duplicates
            .iter()
            .map(|d| {
                let (record, href) = match d.duplicate_of {
                    Some(DuplicateOf::Customer(id)) => (
                        tr.f("import.duplicate_customer", &[("id", &id.to_string())]),
                        format!("/customers/{id}"),
                    ),
                    Some(DuplicateOf::Lead(id)) => (
                        tr.f("import.duplicate_lead", &[("id", &id.to_string())]),
                        format!("/leads/{id}"),
                    ),
                    Some(DuplicateOf::Row(row)) => (
                        tr.f("import.duplicate_row", &[("row", &row.to_string())]),
                        String::new(),
                    ),
                    None => (d.message.clone(), String::new()),
                };
                DuplicateImportRow {
                    row: d.row,
                    field: field(&d.field),
                    record,
                    href,
                }
            })
            .collect(),
    }
}

fn import_view(
    chrome: Chrome,
    input: ImportInput,
    errors: FieldErrors,
    report: Option<ReportView>,
) -> Response {
    let refused = report.as_ref().is_some_and(|r| !r.problems.is_empty());
    let view = ImportPage {
        chrome,
        input,
        fields: LEAD_FIELDS.join(", "),
        errors,
        detail: String::new(),
        report,
    };
    if refused {
        (StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response()
    } else {
        form_page(&view, &view.errors)
    }
}

async fn import_page(page: PageActor) -> Response {
    if !page.actor.can(RecordKind::Lead, Action::Create) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    let input = ImportInput {
        dry_run: Some("1".into()),
        ..ImportInput::default()
    };
    import_view(page.chrome, input, FieldErrors::default(), None)
}

async fn import_submit(
    State(state): State<AppState>,
    page: PageActor,
    Form(input): Form<ImportInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let tr = page.chrome.tr;
    if input.csv.trim().is_empty() {
        let errors = validation_errors(&tr, AppError::field("file", "required", "paste a file"))
            .unwrap_or_default();
        return import_view(page.chrome, input, errors, None);
    }
    let imported = state
        .app
        .import_leads(
            &page.actor,
            input.csv.as_bytes(),
            &input.overrides(),
            input.dry_run.is_some(),
            input.allow_duplicates.is_some(),
            &|_, _| {},
        )
        .await;
    match imported {
        Ok(report) => {
            let report = report_view(&tr, report);
            import_view(page.chrome, input, FieldErrors::default(), Some(report))
        }
        // A file-level problem (malformed, not UTF-8, no company column…): the use case's
        // words name the row at fault, so they are shown under the translated message.
        Err(AppError::Validation(problems)) => {
            let detail = problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let problems = problems
                .into_iter()
                .map(|p| {
                    let code = format!("import_{}", p.code);
                    let code = if tr
                        .t(&format!("field_error.{code}"))
                        .starts_with("field_error.")
                    {
                        "invalid".to_owned()
                    } else {
                        code
                    };
                    FieldError::new(&p.field, &code, p.message)
                })
                .collect();
            let errors = validation_errors(&tr, AppError::Validation(problems)).unwrap_or_default();
            let view = ImportPage {
                fields: LEAD_FIELDS.join(", "),
                report: None,
                detail,
                errors,
                input,
                chrome: page.chrome,
            };
            form_page(&view, &view.errors)
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- agenda ---------------------------------------------------------------------------------

struct AgendaRow {
    due: String,
    overdue: bool,
    kind: String,
    summary: String,
    next_step: String,
    href: String,
    record: String,
}

#[derive(Template)]
#[template(path = "agenda.html")]
struct AgendaPage {
    chrome: Chrome,
    rows: Vec<AgendaRow>,
}

/// The actor's follow-ups due today or overdue, each with the name of its customer or lead
/// (read with them in one statement; `#id` for a record the actor may not see).
async fn agenda_rows(
    app: &App,
    actor: &Actor,
    chrome: &Chrome,
    limit: usize,
) -> Result<Vec<AgendaRow>, AppError> {
    let now = app.now_ms();
    let items = app.agenda(actor).await?;
    Ok(items
        .into_iter()
        .take(limit)
        .map(|item| {
            let a = item.activity;
            let (href, id) = match (a.customer_id, a.lead_id) {
                (Some(c), _) => (format!("/customers/{c}"), c),
                (None, Some(l)) => (format!("/leads/{l}"), l),
                (None, None) => (String::new(), 0),
            };
            let record = match item.record_name {
                Some(name) => name,
                None if href.is_empty() => String::new(),
                None => format!("#{id}"),
            };
            let due = a.data.next_follow_up_at_ms.unwrap_or(now);
            AgendaRow {
                due: chrome.time(&due),
                overdue: due < now,
                kind: kind_label(&chrome.tr, &a.data.kind),
                summary: a.data.summary,
                next_step: a.data.next_step.unwrap_or_default(),
                href,
                record,
            }
        })
        .collect())
}

async fn agenda_page(State(state): State<AppState>, page: PageActor) -> Response {
    match agenda_rows(&state.app, &page.actor, &page.chrome, usize::MAX).await {
        Ok(rows) => render(&AgendaPage {
            chrome: page.chrome,
            rows,
        }),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

/// The home page's agenda box, fetched by the home page's script (every text key is also
/// used by `agenda.html`).
#[derive(Template)]
#[template(
    source = r#"{% if rows.is_empty() %}<p class="muted">{{ chrome.tr.t("agenda.none") }}</p>{% else %}<ul class="agenda-list">
{% for r in rows %}<li{% if r.overdue %} class="overdue"{% endif %}><span class="due">{{ r.due }}</span> {% if r.overdue %}<span class="badge overdue">{{ chrome.tr.t("agenda.overdue") }}</span> {% endif %}<a href="{{ r.href }}">{{ r.record }}</a> · {{ r.kind }} · {{ r.summary }}</li>
{% endfor %}</ul>{% endif %}
<p><a href="/agenda" id="agenda-all">{{ chrome.tr.t("agenda.all") }}</a></p>"#,
    ext = "html"
)]
struct AgendaWidget {
    chrome: Chrome,
    rows: Vec<AgendaRow>,
}

async fn agenda_widget(State(state): State<AppState>, page: PageActor) -> Response {
    match agenda_rows(&state.app, &page.actor, &page.chrome, 5).await {
        Ok(rows) => render(&AgendaWidget {
            chrome: page.chrome,
            rows,
        }),
        Err(AppError::Forbidden) => StatusCode::FORBIDDEN.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

// ---- the follow-up calendar -----------------------------------------------------------------

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

struct CalendarItem {
    time: String,
    overdue: bool,
    kind: String,
    summary: String,
    href: String,
    record: String,
}

struct CalendarCell {
    day: i8,
    date: String,
    in_month: bool,
    today: bool,
    items: Vec<CalendarItem>,
}

#[derive(Template)]
#[template(path = "calendar_month.html")]
struct CalendarMonthPage {
    chrome: Chrome,
    /// `2026-11`, the value of the month picker.
    month: String,
    title: String,
    weekdays: Vec<String>,
    weeks: Vec<Vec<CalendarCell>>,
    prev: String,
    next: String,
    /// The private feed URL, shown once right after it was issued.
    feed_url: Option<String>,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

/// `2026-11` as the first day of that month.
fn parse_month(s: &str) -> Option<Date> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.is_empty() || m.len() > 2 {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()
}

fn month_value(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The days shown for a month: whole weeks, Monday first, from the week of the 1st to the
/// week of the last day.
fn month_grid(first: Date) -> Vec<Vec<Date>> {
    let lead = i64::from(first.weekday().to_monday_zero_offset());
    let Ok(mut day) = first.checked_sub(jiff::Span::new().days(lead)) else {
        return vec![];
    };
    let last = first.last_of_month();
    let mut weeks = Vec::new();
    while day <= last {
        let mut week = Vec::with_capacity(7);
        for _ in 0..7 {
            week.push(day);
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => return weeks,
            }
        }
        weeks.push(week);
    }
    weeks
}

/// The names of the customers and leads of the follow-ups, as far as the viewer may see them.
async fn record_link(
    app: &App,
    actor: &Actor,
    a: &Activity,
    customers: &mut HashMap<i64, String>,
    leads: &mut HashMap<i64, String>,
) -> (String, String) {
    match (a.customer_id, a.lead_id) {
        (Some(c), _) => {
            let name = match customers.get(&c) {
                Some(n) => n.clone(),
                None => {
                    let n = app
                        .get_customer(actor, c)
                        .await
                        .map(|c| c.data.name)
                        .unwrap_or_else(|_| format!("#{c}"));
                    customers.insert(c, n.clone());
                    n
                }
            };
            (format!("/customers/{c}"), name)
        }
        (None, Some(l)) => {
            let name = match leads.get(&l) {
                Some(n) => n.clone(),
                None => {
                    let n = app
                        .get_lead(actor, l)
                        .await
                        .map(|l| l.data.company)
                        .unwrap_or_else(|_| format!("#{l}"));
                    leads.insert(l, n.clone());
                    n
                }
            };
            (format!("/leads/{l}"), name)
        }
        (None, None) => (String::new(), String::new()),
    }
}

/// A month of the actor's follow-ups in the actor's time zone. A month that cannot be read
/// shows the current one with the field refused (422).
async fn calendar_month_view(
    state: &AppState,
    mut page: PageActor,
    month: Option<&str>,
    feed_url: Option<String>,
) -> Response {
    // `follow_ups` below decides whether the actor may see activities.
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let tz = zone(actor);
    let now = app.now_ms();
    let today = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.to_zoned(tz.clone()).date())
        .unwrap_or_default();
    let mut errors = FieldErrors::default();
    let first = match month.map(str::trim).filter(|m| !m.is_empty()) {
        None => today.first_of_month(),
        Some(m) => match parse_month(m) {
            Some(d) => d,
            None => {
                errors = validation_errors(
                    &tr,
                    AppError::field("month", "invalid", "a month such as 2026-11"),
                )
                .unwrap_or_default();
                today.first_of_month()
            }
        },
    };
    let grid = month_grid(first);
    let start_of = |d: Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .ok()
    };
    let range = grid.first().and_then(|w| w.first()).copied().zip(
        grid.last()
            .and_then(|w| w.last())
            .and_then(|d| d.tomorrow().ok()),
    );
    let Some((from, to)) = range.and_then(|(a, b)| start_of(a).zip(start_of(b))) else {
        return app_error_page(&page.chrome, AppError::NotFound);
    };
    let items = match app.follow_ups(actor, from, to).await {
        Ok(items) => items,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let mut by_day: HashMap<Date, Vec<CalendarItem>> = HashMap::new();
    let (mut customers, mut leads) = (HashMap::new(), HashMap::new());
    for a in &items {
        let Some(due) = a.data.next_follow_up_at_ms else {
            continue;
        };
        let Ok(at) = jiff::Timestamp::from_millisecond(due) else {
            continue;
        };
        let at = at.to_zoned(tz.clone());
        let (href, record) = record_link(app, actor, a, &mut customers, &mut leads).await;
        by_day.entry(at.date()).or_default().push(CalendarItem {
            time: at.strftime("%H:%M").to_string(),
            overdue: due < now,
            kind: kind_label(&tr, &a.data.kind),
            summary: a
                .data
                .next_step
                .clone()
                .unwrap_or_else(|| a.data.summary.clone()),
            href,
            record,
        });
    }
    let weeks = grid
        .into_iter()
        .map(|week| {
            week.into_iter()
                .map(|d| CalendarCell {
                    day: d.day(),
                    date: d.to_string(),
                    in_month: d.month() == first.month(),
                    today: d == today,
                    items: by_day.remove(&d).unwrap_or_default(),
                })
                .collect()
        })
        .collect();
    let shift = |months: i64| {
        first
            .checked_add(jiff::Span::new().months(months))
            .map(month_value)
            .unwrap_or_else(|_| month_value(first))
    };
    let title = tr.f(
        "my_calendar.month_title",
        &[
            ("year", &first.year().to_string()),
            ("month", &tr.t(&format!("month_name.{}", first.month()))),
        ],
    );
    if feed_url.is_some() {
        page.chrome.notice = Some(tr.t("notice.feed_renewed"));
    }
    let fresh_secret = feed_url.is_some();
    let view = CalendarMonthPage {
        month: month_value(first),
        title,
        weekdays: DAY_KEYS
            .iter()
            .map(|d| tr.t(&format!("weekday.{d}")))
            .collect(),
        weeks,
        prev: shift(-1),
        next: shift(1),
        feed_url,
        errors,
        chrome: page.chrome,
    };
    let response = form_page(&view, &view.errors);
    if fresh_secret {
        // The page carries a secret: keep it out of caches and the back-forward history.
        ([(header::CACHE_CONTROL, "no-store")], response).into_response()
    } else {
        response
    }
}

async fn calendar_month_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(q): Query<MonthQuery>,
) -> Response {
    calendar_month_view(&state, page, q.month.as_deref(), None).await
}

/// The host a page was asked for, when it looks like one (a name or address and a port).
pub(super) fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
}

/// Issues a new private feed URL; the old one stops working. The page answers directly (no
/// redirect) so the secret never lands in a URL; it is not shown again.
async fn renew_feed(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let secret = match state.app.renew_calendar_feed(&page.actor).await {
        Ok(s) => s,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let path = format!("/ical/{secret}.ics");
    let url = match request_host(&headers) {
        Some(host) => {
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}{path}")
        }
        None => path,
    };
    calendar_month_view(&state, page, None, Some(url)).await
}

// ---- inbox ----------------------------------------------------------------------------------

struct InboxRow {
    id: i64,
    kind: String,
    subject: String,
    href: String,
    time: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    unread_only: bool,
    unread: String,
    rows: Vec<InboxRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct InboxQuery {
    unread: Option<String>,
    cursor: Option<String>,
}

async fn inbox_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<InboxQuery>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let unread_only = given(&query.unread).is_some_and(|u| u != "0" && u != "false");
    let loaded = async {
        let req = PageRequest::parse(None, given(&query.cursor))?;
        let items = app.inbox(actor, unread_only, req).await?;
        let unread = app
            .inbox(actor, true, PageRequest::parse(Some(MAX_LIMIT), None)?)
            .await?;
        Ok::<_, AppError>((items, unread))
    };
    let (items, unread) = match loaded.await {
        Ok(x) => x,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let unread = if unread.next_cursor.is_some() {
        format!("{}+", unread.items.len())
    } else {
        unread.items.len().to_string()
    };
    let rows = items
        .items
        .iter()
        .map(|n| InboxRow {
            id: n.id,
            kind: tr.t_or(&format!("notification.{}", n.kind), &n.kind),
            subject: n.subject.clone(),
            href: match n.record_kind.as_str() {
                "lead" => format!("/leads/{}", n.record_id),
                "customer" => format!("/customers/{}", n.record_id),
                "approval" => format!("/approvals/{}", n.record_id),
                "contract" => format!("/contracts/{}", n.record_id),
                "opportunity" => format!("/opportunities/{}", n.record_id),
                _ => String::new(),
            },
            time: page.chrome.time(&n.created_at_ms),
            read: n.read_at_ms.is_some(),
        })
        .collect();
    let next = items.next_cursor.as_deref().map(|c| {
        let unread = if unread_only { "unread=1&" } else { "" };
        format!("/inbox?{unread}cursor={}", percent_encode(c))
    });
    render(&InboxPage {
        unread_only,
        unread,
        rows,
        next,
        chrome: page.chrome,
    })
}

async fn mark_read(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.mark_read(&page.actor, id).await {
        Ok(()) => see_other("/inbox?notice=marked_read"),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_whole_weeks_from_monday() {
        assert_eq!(parse_month("2026-11"), Date::new(2026, 11, 1).ok());
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("November"), None);
        let Some(first) = parse_month("2026-11") else {
            return;
        };
        let weeks = month_grid(first);
        // 1 November 2026 is a Sunday: the grid opens on Monday 26 October and ends on
        // Sunday 6 December.
        assert_eq!(weeks.len(), 6);
        assert!(weeks.iter().all(|w| w.len() == 7));
        assert_eq!(
            weeks.first().and_then(|w| w.first()).copied(),
            Date::new(2026, 10, 26).ok()
        );
        assert_eq!(
            weeks.last().and_then(|w| w.last()).copied(),
            Date::new(2026, 12, 6).ok()
        );
        assert_eq!(month_value(first), "2026-11");
    }

    #[test]
    fn import_mappings_are_column_field_pairs() {
        let input = ImportInput {
            mapping: "Firma=company, Tel = phone\n坏的\n备注2=notes".into(),
            ..ImportInput::default()
        };
        assert_eq!(
            input.overrides(),
            vec![
                ("Firma".to_owned(), "company".to_owned()),
                ("Tel".to_owned(), "phone".to_owned()),
                ("备注2".to_owned(), "notes".to_owned()),
            ]
        );
    }

    #[test]
    fn follow_ups_are_read_in_the_viewers_zone() {
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        let input = ActivityInput {
            kind: "call".into(),
            summary: "谈了报价".into(),
            next_follow_up: "2026-11-23T14:05".into(),
            ..ActivityInput::default()
        };
        let data = input.to_data(&shanghai, 0).ok();
        assert_eq!(
            data.and_then(|d| d.next_follow_up_at_ms),
            Some(1_795_413_900_000)
        );
        let bad = ActivityInput {
            next_follow_up: "tomorrow".into(),
            ..ActivityInput::default()
        };
        assert!(matches!(
            bad.to_data(&shanghai, 0),
            Err(AppError::Validation(_))
        ));
    }
}
