//! Approval pages: "my approvals" (waiting, decided, requested), a request with its steps and
//! history where the approver decides, and delegation while away. The flow editor lives in
//! `approval_flows`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stride_app::approvals::{ApprovalDetail, ApprovalRequest, InboxFilter};
use stride_app::page::PageRequest;
use stride_app::AppError;
use stride_domain::approvals::{Decision, FlowKind};

use super::user_names;
use super::{
    app_error_page, field_errors, given, money, percent_encode, render, see_other, Chrome,
    PageActor,
};
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(list_page))
        .route("/approvals/{id}", get(detail_page))
        .route("/approvals/{id}/decision", post(decide))
        .route("/approvals/{id}/withdraw", post(withdraw))
        .route("/approvals/delegations", post(delegate))
        .route("/approvals/delegations/{id}/end", post(end_delegation))
        .merge(super::approval_flows::routes())
}

/// A discount in basis points as a percentage, `12.5%`.
fn percent(bp: i64) -> String {
    let whole = bp / 100;
    match bp % 100 {
        0 => format!("{whole}%"),
        rest if rest % 10 == 0 => format!("{whole}.{}%", rest / 10),
        rest => format!("{whole}.{rest:02}%"),
    }
}

pub(super) fn kind_label(tr: &Tr, kind: FlowKind) -> String {
    tr.t(&format!("approval.kind.{kind}"))
}

/// Where the record under approval lives in the UI, when it has a page.
fn record_href(r: &ApprovalRequest) -> String {
    match r.record_kind.as_str() {
        "opportunity" => format!("/opportunities/{}", r.record_id),
        "contract" => format!("/contracts/{}", r.record_id),
        "customer" => format!("/customers/{}", r.record_id),
        _ => String::new(),
    }
}

// ---- my approvals ---------------------------------------------------------------------------

struct Row {
    id: i64,
    title: String,
    kind: String,
    amount: String,
    step: String,
    status: String,
    status_code: String,
    time: String,
}

struct DelegationRow {
    id: i64,
    delegate: String,
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ListPage {
    chrome: Chrome,
    tab: String,
    rows: Vec<Row>,
    next: Option<String>,
    delegations: Vec<DelegationRow>,
    colleagues: Vec<(i64, String)>,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct ListQuery {
    tab: Option<String>,
    cursor: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(q): Query<ListQuery>,
) -> Response {
    list_view(&state, page, q, vec![]).await
}

async fn list_view(
    state: &AppState,
    page: PageActor,
    q: ListQuery,
    errors: Vec<(String, String)>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let tab = match given(&q.tab) {
        Some("decided") => "decided",
        Some("requested") => "requested",
        _ => "waiting",
    };
    let loaded = async {
        let req = PageRequest::parse(None, given(&q.cursor))?;
        let (rows, next) = if tab == "requested" {
            let p = app.my_approval_requests(actor, req).await?;
            let rows: Vec<(ApprovalRequest, Option<String>)> =
                p.items.into_iter().map(|r| (r, None)).collect();
            (rows, p.next_cursor)
        } else {
            let filter = if tab == "decided" {
                InboxFilter::Decided
            } else {
                InboxFilter::Waiting
            };
            let p = app.approval_inbox(actor, filter, req).await?;
            let rows = p
                .items
                .into_iter()
                .map(|i| (i.request, Some(i.task.step_name)))
                .collect();
            (rows, p.next_cursor)
        };
        let delegations = app.delegations(actor).await?;
        Ok::<_, AppError>((rows, next, delegations))
    };
    let (rows, next, delegations) = match loaded.await {
        Ok(x) => x,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let colleagues = colleagues(state, &page).await;
    let names = user_names(
        app,
        actor,
        delegations.iter().map(|d| d.delegate_id).collect(),
    )
    .await;
    let rows = rows
        .into_iter()
        .map(|(r, step)| Row {
            id: r.id,
            kind: kind_label(&tr, r.kind),
            amount: money(r.amount_fen, &tr),
            step: step.unwrap_or_else(|| {
                r.current_step
                    .and_then(|i| r.definition.steps.get(i as usize))
                    .map(|s| s.name.clone())
                    .unwrap_or_default()
            }),
            status: tr.t(&format!("approval.status.{}", r.status)),
            status_code: r.status.to_string(),
            time: page.chrome.time(&r.created_at_ms),
            title: r.title,
        })
        .collect();
    let delegations = delegations
        .into_iter()
        .map(|d| DelegationRow {
            id: d.id,
            delegate: names
                .get(&d.delegate_id)
                .cloned()
                .unwrap_or_else(|| format!("#{}", d.delegate_id)),
            from: page.chrome.time(&d.starts_at_ms),
            to: page.chrome.time(&d.ends_at_ms),
        })
        .collect();
    let next = next.map(|c| format!("/approvals?tab={tab}&cursor={}", percent_encode(&c)));
    render(&ListPage {
        tab: tab.into(),
        rows,
        next,
        delegations,
        colleagues,
        errors,
        chrome: page.chrome,
    })
}

/// The users the viewer may pick as a delegate: those they can see, themselves excluded.
async fn colleagues(state: &AppState, page: &PageActor) -> Vec<(i64, String)> {
    let filter = stride_app::org::UserFilter::default();
    let req = PageRequest::parse(Some(200), None).unwrap_or_default();
    match state.app.list_users(&page.actor, &filter, req).await {
        Ok(p) => p
            .items
            .into_iter()
            .filter(|u| u.id != page.actor.user_id && u.active)
            .map(|u| (u.id, u.display_name))
            .collect(),
        Err(_) => vec![],
    }
}

#[derive(Deserialize)]
struct DelegateForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    delegate_id: String,
    starts_on: String,
    ends_on: String,
}

/// A date in the viewer's zone (`2026-12-01`) as the start of that day in UTC milliseconds.
fn day_start_ms(text: &str, zone: &str) -> Option<i64> {
    let date: jiff::civil::Date = text.trim().parse().ok()?;
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    date.to_zoned(tz)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

async fn delegate(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<DelegateForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let zone = page.actor.time_zone.clone();
    let starts = day_start_ms(&form.starts_on, &zone);
    // The end date is inclusive: the delegation lasts until that day is over.
    let ends = day_start_ms(&form.ends_on, &zone).map(|ms| ms + 24 * 3600 * 1000);
    let result = match (form.delegate_id.trim().parse::<i64>(), starts, ends) {
        (Err(_), _, _) => Err(AppError::field(
            "delegate_id",
            "required",
            "choose a colleague",
        )),
        (_, None, _) => Err(AppError::field("starts_on", "invalid", "not a date")),
        (_, _, None) => Err(AppError::field("ends_on", "invalid", "not a date")),
        (Ok(id), Some(s), Some(e)) => state.app.delegate_approvals(&page.actor, id, s, e).await,
    };
    match result {
        Ok(_) => see_other("/approvals?notice=delegated"),
        Err(e @ AppError::Validation(_)) => {
            let errors = field_errors(&page.chrome.tr, &e);
            let q = ListQuery {
                tab: None,
                cursor: None,
            };
            list_view(&state, page, q, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn end_delegation(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.end_delegation(&page.actor, id).await {
        Ok(()) => see_other("/approvals?notice=delegation_ended"),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- one request ----------------------------------------------------------------------------

struct TaskRow {
    step: String,
    approver: String,
    status: String,
    status_code: String,
    comment: String,
    time: String,
}

struct EventRow {
    time: String,
    actor: String,
    action: String,
    comment: String,
}

#[derive(Template)]
#[template(path = "approval.html")]
struct DetailPage {
    chrome: Chrome,
    id: i64,
    version: i64,
    title: String,
    kind: String,
    status: String,
    status_code: String,
    amount: String,
    discount: String,
    requester: String,
    record_href: String,
    snapshot: Vec<(String, String)>,
    steps: Vec<(String, String, bool)>,
    tasks: Vec<TaskRow>,
    events: Vec<EventRow>,
    can_decide: bool,
    can_withdraw: bool,
    errors: Vec<(String, String)>,
}

/// The submitted record's top-level fields, as plain text lines.
fn snapshot_lines(snapshot: &serde_json::Value) -> Vec<(String, String)> {
    let Some(map) = snapshot.as_object() else {
        return vec![];
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

async fn detail_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    match state.app.approval_detail(&page.actor, id).await {
        Ok(d) => detail_view(&state, page, d, vec![]).await,
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn detail_view(
    state: &AppState,
    page: PageActor,
    d: ApprovalDetail,
    errors: Vec<(String, String)>,
) -> Response {
    let tr = page.chrome.tr;
    let mut people: Vec<i64> = d.tasks.iter().map(|t| t.approver_id).collect();
    people.push(d.request.requester_id);
    people.extend(d.events.iter().filter_map(|e| e.actor_id));
    let names = user_names(&state.app, &page.actor, people).await;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let r = &d.request;
    let steps = d
        .steps
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                tr.t(&format!("approval.mode.{}", s.mode)),
                Some(s.index) == r.current_step,
            )
        })
        .collect();
    let tasks = d
        .tasks
        .iter()
        .map(|t| TaskRow {
            step: t.step_name.clone(),
            approver: match t.on_behalf_of {
                Some(o) => tr.f(
                    "approval.on_behalf_of",
                    &[("delegate", &name(t.approver_id)), ("user", &name(o))],
                ),
                None => name(t.approver_id),
            },
            status: tr.t(&format!("approval.task.{}", t.status)),
            status_code: t.status.to_string(),
            comment: t.comment.clone().unwrap_or_default(),
            time: t
                .decided_at_ms
                .map(|ms| page.chrome.time(&ms))
                .unwrap_or_default(),
        })
        .collect();
    let events = d
        .events
        .iter()
        .map(|e| EventRow {
            time: page.chrome.time(&e.at_ms),
            actor: e
                .actor_id
                .map(name)
                .unwrap_or_else(|| tr.t("approval.system")),
            action: tr.t_or(&format!("approval.event.{}", e.action), &e.action),
            comment: e.comment.clone().unwrap_or_default(),
        })
        .collect();
    render(&DetailPage {
        id: r.id,
        version: r.version,
        title: r.title.clone(),
        kind: kind_label(&tr, r.kind),
        status: tr.t(&format!("approval.status.{}", r.status)),
        status_code: r.status.to_string(),
        amount: money(r.amount_fen, &tr),
        discount: percent(r.discount_bp),
        requester: name(r.requester_id),
        record_href: record_href(r),
        snapshot: snapshot_lines(&r.snapshot),
        steps,
        tasks,
        events,
        can_decide: d.my_task_id.is_some(),
        can_withdraw: r.status.is_open() && r.requester_id == page.actor.user_id,
        errors,
        chrome: page.chrome,
    })
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    decision: String,
    version: i64,
    comment: Option<String>,
}

async fn decide(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let Ok(decision) = form.decision.parse::<Decision>() else {
        return app_error_page(&page.chrome, AppError::NotFound);
    };
    let result = state
        .app
        .decide_approval(&page.actor, id, decision, form.comment, Some(form.version))
        .await;
    match result {
        Ok(_) => see_other(&format!("/approvals/{id}?notice=decided")),
        Err(e @ (AppError::Validation(_) | AppError::Stale | AppError::Conflict(_))) => {
            let errors = match &e {
                AppError::Validation(_) => field_errors(&page.chrome.tr, &e),
                AppError::Stale => vec![("version".into(), page.chrome.tr.t("approval.stale"))],
                _ => vec![(
                    "decision".into(),
                    page.chrome.tr.t("approval.already_decided"),
                )],
            };
            match state.app.approval_detail(&page.actor, id).await {
                Ok(d) => detail_view(&state, page, d, errors).await,
                Err(e) => app_error_page(&page.chrome, e),
            }
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn withdraw(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.withdraw_approval(&page.actor, id).await {
        Ok(_) => see_other(&format!("/approvals/{id}?notice=withdrawn")),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn discounts_read_as_percentages() {
        assert_eq!(percent(1_000), "10%");
        assert_eq!(percent(1_250), "12.5%");
        assert_eq!(percent(1_234), "12.34%");
        assert_eq!(percent(5), "0.05%");
    }
}
