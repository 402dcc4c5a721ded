//! Opportunity pages: the kanban board (drag a card, or pick a stage in its "move to" list),
//! the list with filters, the detail page with lines, competitors, stage history and the
//! customer's follow-ups, create and edit forms, the product catalogue, and the pipeline
//! settings (stage names, order, probabilities and gates).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stride_app::customers::CustomerFilter;
use stride_app::opportunities::{
    CloseInput, LineInput, NewOpportunityInput, Opportunity, OpportunityFilter, OpportunityPatch,
    StageSettings, MAX_LINES,
};
use stride_app::page::{PageRequest, MAX_LIMIT};
use stride_app::products::{Product, ProductData, ProductFilter, ProductPatch, ProductRemoval};
use stride_app::{App, AppError, FieldError};
use stride_domain::access::{Action, RecordKind};
use stride_domain::money::{Currency, Money};
use stride_domain::opportunities::{CloseReason, Outcome, Requirement, Stage, StageConfig};

use super::admin::Opt;
use super::leads::{activity_list, ActivityRow};
use super::{
    app_error_page, field_errors, given, percent_encode, render, see_other, Chrome, PageActor,
};
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/opportunities", get(board_page))
        .route("/opportunities/list", get(list_page))
        .route("/opportunities/new", get(new_page).post(create_opportunity))
        .route("/opportunities/{id}", get(detail_page))
        .route(
            "/opportunities/{id}/discount-approval",
            post(request_discount_approval),
        )
        .route(
            "/opportunities/{id}/edit",
            get(edit_page).post(update_opportunity),
        )
        .route("/opportunities/{id}/stage", post(move_opportunity))
        .route("/opportunities/{id}/close", post(close_opportunity))
        .route("/products", get(products_page).post(create_product))
        .route("/products/{id}", get(product_page).post(update_product))
        .route("/products/{id}/delete", post(delete_product))
        .route("/admin/pipeline", get(pipeline_page).post(update_pipeline))
}

// ---- small helpers --------------------------------------------------------------------------

/// Field errors of a refused form, translated, in the order the use case reported them.
#[derive(Debug, Default)]
struct Errs(Vec<(String, String)>);

impl Errs {
    fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    /// Every message of fields starting with `prefix`, joined.
    fn under(&self, prefix: &str) -> String {
        self.0
            .iter()
            .filter(|(f, _)| f.starts_with(prefix))
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn from_app(tr: &Tr, e: &AppError) -> Self {
        Self(field_errors(tr, e))
    }
}

/// A form page: 422 when it carries errors, so clients and tests can tell.
fn form_response(t: &impl Template, errors: &Errs) -> Response {
    if errors.is_empty() {
        render(t)
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, render(t)).into_response()
    }
}

/// Money in the organisation's currency, formatted for the viewer.
#[derive(Clone, Copy)]
struct Fmt {
    tr: Tr,
    currency: Currency,
}

impl Fmt {
    async fn of(app: &App, tr: Tr) -> Self {
        let currency = app
            .org_settings()
            .await
            .ok()
            .and_then(|s| Currency::parse(&s.currency).ok())
            .unwrap_or(Currency::CNY);
        Self { tr, currency }
    }
    fn money(&self, fen: i64) -> String {
        Money::new(fen, self.currency).format(self.tr.locale)
    }
    fn plain(&self, fen: i64) -> String {
        Money::new(fen, self.currency).to_decimal_string()
    }
    /// Yuan entered in a form as fen; `None` when blank.
    fn parse(&self, s: &str) -> Result<Option<i64>, ()> {
        match s.trim() {
            "" => Ok(None),
            s => Money::parse_decimal(s, self.currency)
                .map(|m| Some(m.minor))
                .map_err(|_| ()),
        }
    }
}

/// Basis points as a percentage, `12.5 %` → "12.50".
fn bp_percent(bp: i64) -> String {
    let s = if bp < 0 { "-" } else { "" };
    let a = bp.unsigned_abs();
    let text = format!("{s}{}.{:02}", a / 100, a % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A percentage with up to two decimals as basis points.
fn percent_bp(s: &str) -> Result<Option<i64>, ()> {
    match s.trim().trim_end_matches('%').trim() {
        "" => Ok(None),
        s => Money::parse_decimal(s, Currency::CNY)
            .map(|m| Some(m.minor))
            .map_err(|_| ()),
    }
}

fn stage_name(settings: &StageSettings, code: &str, tr: &Tr) -> String {
    code.parse::<Stage>()
        .ok()
        .and_then(|s| settings.get(s))
        .map(|c| c.name(tr.locale).to_owned())
        .unwrap_or_else(|| code.to_owned())
}

fn reason_label(tr: &Tr, reason: &str) -> String {
    tr.t_or(&format!("close_reason.{reason}"), reason)
}

fn requirement_label(tr: &Tr, r: Requirement) -> String {
    tr.t(&format!("requirement.{}", r.as_str()))
}

/// The messages of a blocked move: what is missing, in the viewer's language.
fn blocked_message(tr: &Tr, e: &AppError) -> Option<String> {
    let AppError::Validation(errors) = e else {
        return None;
    };
    let missing: Vec<String> = errors
        .iter()
        .filter(|f| f.field == "stage")
        .filter_map(|f| f.code.parse::<Requirement>().ok())
        .map(|r| requirement_label(tr, r))
        .collect();
    if missing.is_empty() {
        let other: Vec<String> = field_errors(tr, e).into_iter().map(|(_, m)| m).collect();
        return (!other.is_empty()).then(|| other.join(" "));
    }
    Some(format!(
        "{} {}",
        tr.t("opportunity.blocked"),
        missing.join("; ")
    ))
}

fn open_stage_options(settings: &StageSettings, tr: &Tr, except: Option<&str>) -> Vec<Opt> {
    settings
        .open()
        .filter(|c| Some(c.stage.as_str()) != except)
        .map(|c| Opt {
            value: c.stage.as_str().to_owned(),
            label: c.name(tr.locale).to_owned(),
            selected: false,
        })
        .collect()
}

/// The hidden list of requirement texts the board's script shows for a blocked move.
fn requirement_texts(tr: &Tr) -> Vec<Opt> {
    Requirement::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().to_owned(),
            label: requirement_label(tr, *r),
            selected: false,
        })
        .collect()
}

// ---- the board ------------------------------------------------------------------------------

struct CardView {
    id: i64,
    name: String,
    customer: String,
    amount: String,
    owner: String,
    version: i64,
}

struct ColumnView {
    code: String,
    name: String,
    terminal: bool,
    count: i64,
    total: String,
    weighted: String,
    cards: Vec<CardView>,
    /// Where a card of this column may move: every other open stage.
    moves: Vec<Opt>,
    /// Opportunities of the stage not shown as cards.
    more: i64,
}

#[derive(Template)]
#[template(path = "opportunity_board.html")]
struct BoardPage {
    chrome: Chrome,
    mine: bool,
    open_count: i64,
    open_total: String,
    open_weighted: String,
    columns: Vec<ColumnView>,
    requirements: Vec<Opt>,
    /// A refused move of the form fallback (no script), already translated.
    message: Option<String>,
    can_move: bool,
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    mine: Option<String>,
}

async fn board_view(
    state: &AppState,
    page: PageActor,
    mine: bool,
    message: Option<String>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let filter = OpportunityFilter {
        owner_id: mine.then_some(actor.user_id),
        ..OpportunityFilter::default()
    };
    let columns = match app.opportunity_board(actor, &filter, 50).await {
        Ok(c) => c,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let settings = match app.opportunity_stages().await {
        Ok(s) => s,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let mut open = (0i64, 0i64, 0i64);
    let columns: Vec<ColumnView> = columns
        .into_iter()
        .map(|c| {
            let terminal = c.stage.stage.is_terminal();
            if !terminal {
                open.0 += c.count;
                open.1 = open.1.saturating_add(c.total_fen);
                open.2 = open.2.saturating_add(c.weighted_fen);
            }
            let code = c.stage.stage.as_str().to_owned();
            let shown = i64::try_from(c.cards.len()).unwrap_or(0);
            ColumnView {
                name: c.stage.name(tr.locale).to_owned(),
                terminal,
                count: c.count,
                total: fmt.money(c.total_fen),
                weighted: fmt.money(c.weighted_fen),
                more: c.count - shown,
                cards: c
                    .cards
                    .into_iter()
                    .map(|o| CardView {
                        id: o.id,
                        amount: fmt.money(o.amount_fen),
                        name: o.name,
                        customer: o.customer_name,
                        owner: o.owner_name,
                        version: o.version,
                    })
                    .collect(),
                moves: open_stage_options(&settings, &tr, Some(&code)),
                code,
            }
        })
        .collect();
    let status = if message.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let view = BoardPage {
        mine,
        open_count: open.0,
        open_total: fmt.money(open.1),
        open_weighted: fmt.money(open.2),
        columns,
        requirements: requirement_texts(&tr),
        message,
        can_move: actor.can(RecordKind::Opportunity, Action::Edit) && !actor.is_read_only(),
        chrome: page.chrome,
    };
    (status, render(&view)).into_response()
}

async fn board_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(q): Query<BoardQuery>,
) -> Response {
    let mine = given(&q.mine).is_some_and(|m| m != "0");
    board_view(&state, page, mine, None).await
}

// ---- the list -------------------------------------------------------------------------------

struct RowView {
    id: i64,
    name: String,
    customer_id: i64,
    customer: String,
    stage: String,
    amount: String,
    probability: i64,
    weighted: String,
    close_date: String,
    owner: String,
}

#[derive(Template)]
#[template(path = "opportunities.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    stages: Vec<Opt>,
    statuses: Vec<Opt>,
    rows: Vec<RowView>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    stage: Option<String>,
    status: Option<String>,
    customer_id: Option<String>,
    cursor: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<ListQuery>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let customer_id = given(&query.customer_id).and_then(|c| c.parse().ok());
    // Unknown filter values are dropped rather than refused: a page never dead-ends.
    let stage = given(&query.stage).filter(|s| s.parse::<Stage>().is_ok());
    let status = given(&query.status).filter(|s| ["open", "won", "lost", "closed"].contains(s));
    let filter = match OpportunityFilter::parse(stage, status, None, customer_id, given(&query.q)) {
        Ok(f) => f,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let listed = match PageRequest::parse(None, given(&query.cursor)) {
        Ok(req) => app.list_opportunities(actor, &filter, req).await,
        Err(e) => Err(e),
    };
    let (listed, settings) = match (listed, app.opportunity_stages().await) {
        (Ok(l), Ok(s)) => (l, s),
        (Err(e), _) | (_, Err(e)) => return app_error_page(&page.chrome, e),
    };
    let rows = listed
        .items
        .iter()
        .map(|o| RowView {
            id: o.id,
            name: o.name.clone(),
            customer_id: o.customer_id,
            customer: o.customer_name.clone(),
            stage: stage_name(&settings, &o.stage, &tr),
            amount: fmt.money(o.amount_fen),
            probability: o.probability(),
            weighted: fmt.money(o.weighted_amount_fen()),
            close_date: o.expected_close_date.clone().unwrap_or_default(),
            owner: o.owner_name.clone(),
        })
        .collect();
    let stages = settings
        .stages
        .iter()
        .map(|c| Opt {
            value: c.stage.as_str().to_owned(),
            label: c.name(tr.locale).to_owned(),
            selected: stage == Some(c.stage.as_str()),
        })
        .collect();
    let statuses = ["open", "won", "lost", "closed"]
        .iter()
        .map(|s| Opt {
            value: (*s).to_owned(),
            label: tr.t(&format!("opportunity_status.{s}")),
            selected: status == Some(*s),
        })
        .collect();
    let next = listed.next_cursor.as_deref().map(|cursor| {
        let mut params: Vec<(&str, String)> = Vec::new();
        for (k, v) in [("q", given(&query.q)), ("stage", stage), ("status", status)] {
            if let Some(v) = v {
                params.push((k, v.to_owned()));
            }
        }
        if let Some(c) = customer_id {
            params.push(("customer_id", c.to_string()));
        }
        params.push(("cursor", cursor.to_owned()));
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        format!("/opportunities/list?{}", query.join("&"))
    });
    render(&ListPage {
        q: given(&query.q).unwrap_or("").to_owned(),
        stages,
        statuses,
        rows,
        next,
        chrome: page.chrome,
    })
}

// ---- the detail page ------------------------------------------------------------------------

struct Item {
    label: String,
    value: String,
}

struct LineView {
    product: String,
    code: String,
    unit: String,
    quantity: i64,
    unit_price: String,
    discount: String,
    list_price: String,
    total: String,
}

struct HistoryView {
    from: String,
    to: String,
    who: String,
    at: String,
}

/// The close form as entered.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CloseForm {
    outcome: String,
    reason: String,
    note: String,
    winning_competitor: String,
    version: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

#[derive(Template)]
#[template(path = "opportunity.html")]
struct DetailPage {
    chrome: Chrome,
    id: i64,
    version: i64,
    name: String,
    stage: String,
    status: String,
    closed: bool,
    customer_id: i64,
    customer: String,
    items: Vec<Item>,
    outcome_items: Vec<Item>,
    lines: Vec<LineView>,
    lines_total: String,
    competitors: Vec<String>,
    history: Vec<HistoryView>,
    activities: Option<Vec<ActivityRow>>,
    moves: Vec<Opt>,
    /// Why the last move was refused, translated.
    move_error: Option<String>,
    outcomes: Vec<Opt>,
    reasons: Vec<Opt>,
    close: CloseForm,
    close_errors: Errs,
    /// What the gates on the way to won still lack, translated.
    close_blocked: Option<String>,
    discount: Option<DiscountView>,
    /// What closing would withdraw, translated; empty when the deal is closed.
    withdraws: Vec<String>,
    /// The sales documents section, rendered by `opportunity_documents`.
    documents: String,
}

/// The deal's cumulative discount and where its approval stands (OPP-5).
struct DiscountView {
    percent: String,
    /// within, approved, pending or needed.
    state: &'static str,
    request_href: String,
}

async fn discount_view(
    app: &stride_app::App,
    o: &stride_app::opportunities::Opportunity,
) -> Option<DiscountView> {
    let bp = o.deal_discount_bp().filter(|bp| *bp > 0)?;
    let cleared = app.discount_cleared(o).await.ok()?;
    let latest = app
        .approval_status(stride_app::discounts::RECORD_KIND, o.id)
        .await
        .ok()
        .flatten();
    let pending = latest.as_ref().filter(|r| r.status.is_open());
    let state = match (pending, cleared, &latest) {
        (Some(_), _, _) => "pending",
        (None, true, Some(r)) if r.status == stride_domain::approvals::RequestStatus::Approved => {
            "approved"
        }
        (None, true, _) => "within",
        (None, false, _) => "needed",
    };
    Some(DiscountView {
        percent: format!("{} %", bp_percent(bp)),
        state,
        request_href: latest
            .map(|r| format!("/approvals/{}", r.id))
            .unwrap_or_default(),
    })
}

/// The lines the close form shows about the reviews a close would withdraw (OPP-7): those
/// withdrawn either way, those withdrawn only when lost, and how many the viewer cannot see.
async fn withdraw_lines(
    app: &App,
    actor: &stride_app::actor::Actor,
    tr: &Tr,
    id: i64,
) -> Result<Vec<String>, AppError> {
    let p = app.close_preview(actor, id).await?;
    let names = |requests: &[stride_app::approvals::ApprovalRequest]| {
        tr.list(requests.iter().map(|r| {
            let kind = tr.t(&format!("approval.kind.{}", r.kind.as_str()));
            format!("{kind} #{} {}", r.id, r.title)
        }))
    };
    let mut lines = Vec::new();
    if !p.either_way.is_empty() {
        lines.push(tr.f(
            "opportunity.close_withdraws_either",
            &[("reviews", &names(&p.either_way))],
        ));
    }
    if !p.if_lost.is_empty() {
        lines.push(tr.f(
            "opportunity.close_withdraws_if_lost",
            &[("reviews", &names(&p.if_lost))],
        ));
    }
    if p.hidden > 0 {
        lines.push(tr.f(
            "opportunity.close_withdraws_hidden",
            &[("count", &p.hidden.to_string())],
        ));
    }
    if lines.is_empty() {
        lines.push(tr.t("opportunity.close_withdraws_none"));
    }
    Ok(lines)
}

/// What a refused form on the detail page puts over the stored values.
#[derive(Default)]
struct Refused {
    move_error: Option<String>,
    close: Option<(CloseForm, Errs)>,
    close_blocked: Option<String>,
}

fn detail_items(
    o: &Opportunity,
    settings: &StageSettings,
    fmt: &Fmt,
    chrome: &Chrome,
) -> Vec<Item> {
    let tr = &fmt.tr;
    let dash = || "—".to_owned();
    let mut items = vec![
        ("opportunity.stage", stage_name(settings, &o.stage, tr)),
        ("opportunity.amount", fmt.money(o.amount_fen)),
        (
            "opportunity.probability",
            format!(
                "{} %{}",
                o.probability(),
                if o.probability_override.is_some() {
                    format!(" ({})", tr.t("opportunity.probability_set"))
                } else {
                    String::new()
                }
            ),
        ),
        ("opportunity.weighted", fmt.money(o.weighted_amount_fen())),
        (
            "opportunity.list_total",
            o.list_total_fen.map(|v| fmt.money(v)).unwrap_or_else(dash),
        ),
        (
            "opportunity.deal_discount",
            o.deal_discount_bp()
                .map(|b| format!("{} %", bp_percent(b)))
                .unwrap_or_else(dash),
        ),
        (
            "opportunity.cost",
            o.cost_fen.map(|v| fmt.money(v)).unwrap_or_else(dash),
        ),
        (
            "opportunity.gross_profit",
            o.gross_profit_fen()
                .map(|v| fmt.money(v))
                .unwrap_or_else(dash),
        ),
        (
            "opportunity.expected_close_date",
            o.expected_close_date.clone().unwrap_or_else(dash),
        ),
        ("opportunity.owner", o.owner_name.clone()),
        ("opportunity.created", chrome.time(&o.created_at_ms)),
    ];
    if let Some(lead) = o.lead_id {
        items.push(("opportunity.lead", format!("#{lead}")));
    }
    items
        .into_iter()
        .map(|(k, value)| Item {
            label: tr.t(k),
            value,
        })
        .collect()
}

async fn detail_view(state: &AppState, page: PageActor, id: i64, refused: Refused) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let o = match app.get_opportunity(actor, id).await {
        Ok(o) => o,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let (settings, history) = match (
        app.opportunity_stages().await,
        app.opportunity_history(actor, id).await,
    ) {
        (Ok(s), Ok(h)) => (s, h),
        (Err(e), _) | (_, Err(e)) => return app_error_page(&page.chrome, e),
    };
    let activities = match activity_list(app, actor, &page.chrome, None, Some(o.customer_id)).await
    {
        Ok(a) => a,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let items = detail_items(&o, &settings, &fmt, &page.chrome);
    let mut outcome_items = Vec::new();
    if o.is_closed() {
        let mut add = |k: &str, v: Option<String>| {
            if let Some(value) = v {
                outcome_items.push(Item {
                    label: tr.t(k),
                    value,
                });
            }
        };
        add(
            "opportunity.close_reason",
            o.close_reason.as_deref().map(|r| reason_label(&tr, r)),
        );
        add(
            "opportunity.winning_competitor",
            o.winning_competitor.clone(),
        );
        add("opportunity.close_note", o.close_note.clone());
        add(
            "opportunity.closed_at",
            o.closed_at_ms.map(|ms| page.chrome.time(&ms)),
        );
    }
    let lines = o
        .lines
        .iter()
        .map(|l| LineView {
            product: l.product_name.clone(),
            code: l.product_code.clone(),
            unit: l.unit.clone(),
            quantity: l.quantity,
            unit_price: fmt.money(l.unit_price_fen),
            discount: format!("{} %", bp_percent(l.discount_bp)),
            list_price: fmt.money(l.list_price_fen),
            total: fmt.money(l.line_total_fen),
        })
        .collect();
    let history = history
        .iter()
        .map(|h| HistoryView {
            from: h
                .from_stage
                .as_deref()
                .map(|s| stage_name(&settings, s, &tr))
                .unwrap_or_else(|| "—".to_owned()),
            to: stage_name(&settings, &h.to_stage, &tr),
            who: h.actor_name.clone().unwrap_or_else(|| "system".to_owned()),
            at: page.chrome.time(&h.at_ms),
        })
        .collect();
    let (close, close_errors) = refused.close.unwrap_or_default();
    let outcomes = Outcome::ALL
        .iter()
        .map(|x| Opt {
            value: x.as_str().to_owned(),
            label: tr.t(&format!("opportunity_status.{}", x.as_str())),
            selected: close.outcome == x.as_str(),
        })
        .collect();
    let reasons = CloseReason::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().to_owned(),
            label: reason_label(&tr, r.as_str()),
            selected: close.reason == r.as_str(),
        })
        .collect();
    let has_errors = refused.move_error.is_some() || !close_errors.is_empty();
    let discount = discount_view(app, &o).await;
    let withdraws = if o.is_closed() {
        Vec::new()
    } else {
        match withdraw_lines(app, actor, &tr, id).await {
            Ok(lines) => lines,
            Err(e) => return app_error_page(&page.chrome, e),
        }
    };
    let documents =
        super::opportunity_documents::section_html(state, actor, &page.chrome, &o).await;
    let view = DetailPage {
        id,
        version: o.version,
        name: o.name.clone(),
        stage: stage_name(&settings, &o.stage, &tr),
        status: tr.t(&format!("opportunity_status.{}", o.status())),
        closed: o.is_closed(),
        customer_id: o.customer_id,
        customer: o.customer_name.clone(),
        items,
        outcome_items,
        lines,
        lines_total: fmt.money(o.amount_fen),
        competitors: o.competitors.clone(),
        history,
        activities,
        moves: open_stage_options(&settings, &tr, Some(&o.stage)),
        move_error: refused.move_error,
        outcomes,
        reasons,
        close,
        close_errors,
        close_blocked: refused.close_blocked,
        discount,
        withdraws,
        documents,
        chrome: page.chrome,
    };
    if has_errors {
        (StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response()
    } else {
        render(&view)
    }
}

async fn detail_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    detail_view(&state, page, id, Refused::default()).await
}

/// Asks for approval of the deal's discount and shows the request.
async fn request_discount_approval(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.request_discount_approval(&page.actor, id).await {
        Ok(r) => see_other(&format!("/approvals/{}?notice=submitted", r.id)),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MoveForm {
    stage: String,
    version: String,
    /// `board` to return to the board, else the detail page.
    back: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// The move without a script (the board's script calls the API instead).
async fn move_opportunity(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<MoveForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let version = form.version.trim().parse().unwrap_or(-1);
    let to_board = form.back == "board";
    match state
        .app
        .move_opportunity(&page.actor, id, version, &form.stage)
        .await
    {
        Ok(_) if to_board => see_other("/opportunities?notice=moved"),
        Ok(_) => see_other(&format!("/opportunities/{id}?notice=moved")),
        Err(e @ AppError::Validation(_)) => {
            let message = blocked_message(&page.chrome.tr, &e);
            if to_board {
                board_view(&state, page, false, message).await
            } else {
                let refused = Refused {
                    move_error: message,
                    ..Refused::default()
                };
                detail_view(&state, page, id, refused).await
            }
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn close_opportunity(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CloseForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let input = CloseInput {
        outcome: form.outcome.clone(),
        reason: form.reason.clone(),
        note: text(&form.note),
        winning_competitor: text(&form.winning_competitor),
    };
    let version = form.version.trim().parse().unwrap_or(-1);
    match state
        .app
        .close_opportunity(&page.actor, id, version, input)
        .await
    {
        Ok(_) => see_other(&format!("/opportunities/{id}?notice=closed")),
        Err(e @ AppError::Validation(_)) => {
            let errs = Errs::from_app(&page.chrome.tr, &e);
            // Won is refused by the gates still open on the way: name what they lack.
            let close_blocked = errs
                .of("stage")
                .and_then(|_| blocked_message(&page.chrome.tr, &e));
            let refused = Refused {
                close: Some((form, errs)),
                close_blocked,
                ..Refused::default()
            };
            detail_view(&state, page, id, refused).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- create and edit ------------------------------------------------------------------------

/// Blank line rows offered under the existing ones.
const BLANK_LINES: usize = 3;

struct LineRow {
    index: usize,
    products: Vec<Opt>,
    quantity: String,
    price: String,
    discount: String,
    error: String,
}

#[derive(Debug, Default, Clone)]
struct EnteredLine {
    product: String,
    quantity: String,
    price: String,
    discount: String,
}

/// What the form itself reads: the amount, the probability and the lines.
type Parsed = (Option<i64>, Option<i64>, Vec<LineInput>);

/// The opportunity form as entered (or as stored, for editing).
#[derive(Debug, Default)]
struct OppForm {
    customer_id: String,
    name: String,
    amount: String,
    expected_close_date: String,
    probability: String,
    stage: String,
    competitors: String,
    version: String,
    csrf: String,
    lines: Vec<EnteredLine>,
}

impl OppForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        let mut lines: Vec<EnteredLine> = Vec::new();
        for (k, v) in pairs {
            if let Some(rest) = k.strip_prefix("line") {
                let Some((index, field)) = rest.split_once('_') else {
                    continue;
                };
                let Ok(index) = index.parse::<usize>() else {
                    continue;
                };
                if index >= MAX_LINES + BLANK_LINES {
                    continue;
                }
                if lines.len() <= index {
                    lines.resize(index + 1, EnteredLine::default());
                }
                let line = &mut lines[index];
                match field {
                    "product" => line.product = v,
                    "quantity" => line.quantity = v,
                    "price" => line.price = v,
                    "discount" => line.discount = v,
                    _ => {}
                }
                continue;
            }
            match k.as_str() {
                "customer_id" => f.customer_id = v,
                "name" => f.name = v,
                "amount" => f.amount = v,
                "expected_close_date" => f.expected_close_date = v,
                "probability" => f.probability = v,
                "stage" => f.stage = v,
                "competitors" => f.competitors = v,
                "version" => f.version = v,
                "_csrf" => f.csrf = v,
                _ => {}
            }
        }
        f.lines = lines;
        f
    }

    fn from_opportunity(o: &Opportunity, fmt: &Fmt) -> Self {
        Self {
            customer_id: o.customer_id.to_string(),
            name: o.name.clone(),
            amount: fmt.plain(o.amount_fen),
            expected_close_date: o.expected_close_date.clone().unwrap_or_default(),
            probability: o
                .probability_override
                .map(|p| p.to_string())
                .unwrap_or_default(),
            stage: o.stage.clone(),
            competitors: o.competitors.join("\n"),
            version: o.version.to_string(),
            csrf: String::new(),
            lines: o
                .lines
                .iter()
                .map(|l| EnteredLine {
                    product: l.product_id.to_string(),
                    quantity: l.quantity.to_string(),
                    price: fmt.plain(l.unit_price_fen),
                    discount: bp_percent(l.discount_bp),
                })
                .collect(),
        }
    }

    fn competitors(&self) -> Vec<String> {
        self.competitors
            .split(['\n', ',', '，', '、', ';'])
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect()
    }

    /// Reads what the form itself must understand (numbers, money); the use case checks the rest.
    fn parsed(&self, fmt: &Fmt) -> Result<Parsed, AppError> {
        let mut problems = Vec::new();
        let amount = fmt.parse(&self.amount).unwrap_or_else(|_| {
            problems.push(FieldError::new("amount_fen", "invalid", "not an amount"));
            None
        });
        let probability = match self.probability.trim().trim_end_matches('%').trim() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(p) => Some(p),
                Err(_) => {
                    problems.push(FieldError::new(
                        "probability",
                        "invalid",
                        "a whole percentage",
                    ));
                    None
                }
            },
        };
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            if l.product.trim().is_empty() {
                continue;
            }
            let at = |f: &str| format!("lines[{}].{f}", lines.len());
            let product_id = l.product.trim().parse::<i64>().unwrap_or(0);
            let quantity = match l.quantity.trim() {
                "" => 1,
                q => q.parse::<i64>().unwrap_or_else(|_| {
                    problems.push(FieldError::new(
                        &at("quantity"),
                        "invalid",
                        "a whole number",
                    ));
                    0
                }),
            };
            let unit_price_fen = fmt.parse(&l.price).unwrap_or_else(|_| {
                problems.push(FieldError::new(
                    &at("unit_price_fen"),
                    "invalid",
                    "not an amount",
                ));
                None
            });
            let discount_bp = percent_bp(&l.discount).unwrap_or_else(|_| {
                problems.push(FieldError::new(
                    &at("discount_bp"),
                    "invalid",
                    "a percentage",
                ));
                None
            });
            let _ = i;
            lines.push(LineInput {
                product_id,
                quantity,
                unit_price_fen,
                discount_bp,
            });
        }
        if problems.is_empty() {
            Ok((amount, probability, lines))
        } else {
            Err(AppError::Validation(problems))
        }
    }
}

#[derive(Template)]
#[template(path = "opportunity_form.html")]
struct FormPage {
    chrome: Chrome,
    /// `None` when creating.
    id: Option<i64>,
    input: OppForm,
    customers: Vec<Opt>,
    stages: Vec<Opt>,
    lines: Vec<LineRow>,
    errors: Errs,
}

/// The entered line rows (errors attached by position among the filled ones) and blank rows.
fn line_rows(input: &OppForm, products: &[Product], errors: &Errs) -> Vec<LineRow> {
    let mut filled = 0usize;
    let mut rows: Vec<LineRow> = input
        .lines
        .iter()
        .filter(|l| !l.product.trim().is_empty())
        .enumerate()
        .map(|(index, l)| {
            let error = errors.under(&format!("lines[{filled}]."));
            filled += 1;
            LineRow {
                index,
                products: product_options(products, l.product.trim()),
                quantity: l.quantity.clone(),
                price: l.price.clone(),
                discount: l.discount.clone(),
                error,
            }
        })
        .collect();
    let start = rows.len();
    for index in start..start + BLANK_LINES {
        rows.push(LineRow {
            index,
            products: product_options(products, ""),
            quantity: String::new(),
            price: String::new(),
            discount: String::new(),
            error: String::new(),
        });
    }
    rows
}

fn product_options(products: &[Product], selected: &str) -> Vec<Opt> {
    products
        .iter()
        .filter(|p| p.data.active || p.id.to_string() == selected)
        .map(|p| Opt {
            value: p.id.to_string(),
            label: format!("{} · {}", p.data.code, p.data.name),
            selected: p.id.to_string() == selected,
        })
        .collect()
}

async fn all_products(app: &App, actor: &stride_app::Actor) -> Vec<Product> {
    match PageRequest::parse(Some(MAX_LIMIT), None) {
        Ok(req) => app
            .list_products(actor, &ProductFilter::default(), req)
            .await
            .map(|p| p.items)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

async fn form_view(
    state: &AppState,
    page: PageActor,
    id: Option<i64>,
    input: OppForm,
    errors: Errs,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let products = all_products(app, actor).await;
    let customers = if id.is_none() {
        let listed = match PageRequest::parse(Some(MAX_LIMIT), None) {
            Ok(req) => app
                .list_customers(actor, &CustomerFilter::default(), req)
                .await
                .map(|p| p.items)
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        listed
            .into_iter()
            .map(|c| Opt {
                selected: input.customer_id.trim() == c.id.to_string(),
                value: c.id.to_string(),
                label: c.data.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let stages = match app.opportunity_stages().await {
        Ok(s) => s
            .open()
            .map(|c| Opt {
                value: c.stage.as_str().to_owned(),
                label: c.name(tr.locale).to_owned(),
                selected: input.stage == c.stage.as_str(),
            })
            .collect(),
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let lines = line_rows(&input, &products, &errors);
    let view = FormPage {
        chrome: page.chrome,
        id,
        input,
        customers,
        stages,
        lines,
        errors,
    };
    form_response(&view, &view.errors)
}

#[derive(Deserialize, Default)]
struct NewQuery {
    customer_id: Option<String>,
}

async fn new_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(q): Query<NewQuery>,
) -> Response {
    if !page.actor.can(RecordKind::Opportunity, Action::Create) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    let input = OppForm {
        customer_id: given(&q.customer_id).unwrap_or("").to_owned(),
        stage: Stage::FirstContact.as_str().to_owned(),
        ..OppForm::default()
    };
    form_view(&state, page, None, input, Errs::default()).await
}

async fn create_opportunity(
    State(state): State<AppState>,
    page: PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let input = OppForm::from_pairs(pairs);
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let result = match input.parsed(&fmt) {
        Ok((amount, probability, lines)) => {
            let new = NewOpportunityInput {
                customer_id: input.customer_id.trim().parse().unwrap_or(0),
                name: input.name.clone(),
                amount_fen: if lines.is_empty() { amount } else { None },
                expected_close_date: Some(input.expected_close_date.clone()),
                stage: Some(input.stage.clone()),
                probability,
                owner_id: None,
                competitors: input.competitors(),
                lines,
            };
            app.create_opportunity(actor, new).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(o) => see_other(&format!("/opportunities/{}?notice=created", o.id)),
        Err(e @ AppError::Validation(_)) => {
            let errors = Errs::from_app(&tr, &e);
            form_view(&state, page, None, input, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    let (app, actor) = (&state.app, &page.actor);
    let fmt = Fmt::of(app, page.chrome.tr).await;
    let o = match app.get_opportunity(actor, id).await {
        Ok(o) => o,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    if !actor.can(RecordKind::Opportunity, Action::Edit) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    if o.is_closed() {
        return app_error_page(&page.chrome, AppError::Conflict("closed".into()));
    }
    let input = OppForm::from_opportunity(&o, &fmt);
    form_view(&state, page, Some(id), input, Errs::default()).await
}

async fn update_opportunity(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let input = OppForm::from_pairs(pairs);
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let version = input.version.trim().parse().unwrap_or(-1);
    let result = match input.parsed(&fmt) {
        Ok((amount, probability, lines)) => {
            let patch = OpportunityPatch {
                name: Some(input.name.clone()),
                amount_fen: if lines.is_empty() {
                    Some(amount.unwrap_or(0))
                } else {
                    None
                },
                expected_close_date: Some(Some(input.expected_close_date.clone())),
                probability: Some(probability),
                competitors: Some(input.competitors()),
                lines: Some(lines),
            };
            app.update_opportunity(actor, id, version, patch).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!("/opportunities/{id}?notice=saved")),
        Err(e @ AppError::Validation(_)) => {
            let errors = Errs::from_app(&tr, &e);
            form_view(&state, page, Some(id), input, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- products -------------------------------------------------------------------------------

struct ProductRow {
    id: i64,
    code: String,
    name: String,
    unit: String,
    list_price: String,
    cost: String,
    active: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProductForm {
    code: String,
    name: String,
    unit: String,
    list_price: String,
    cost: String,
    active: Option<String>,
    version: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl ProductForm {
    fn of(p: &Product, fmt: &Fmt) -> Self {
        Self {
            code: p.data.code.clone(),
            name: p.data.name.clone(),
            unit: p.data.unit.clone(),
            list_price: fmt.plain(p.data.list_price_fen),
            cost: fmt.plain(p.data.cost_fen),
            active: p.data.active.then(|| "on".to_owned()),
            version: p.version.to_string(),
            csrf: String::new(),
        }
    }
    fn is_active(&self) -> bool {
        self.active.is_some()
    }
    fn prices(&self, fmt: &Fmt) -> Result<(i64, i64), AppError> {
        let mut problems = Vec::new();
        let list = fmt.parse(&self.list_price).unwrap_or_else(|_| {
            problems.push(FieldError::new(
                "list_price_fen",
                "invalid",
                "not an amount",
            ));
            None
        });
        let cost = fmt.parse(&self.cost).unwrap_or_else(|_| {
            problems.push(FieldError::new("cost_fen", "invalid", "not an amount"));
            None
        });
        if problems.is_empty() {
            Ok((list.unwrap_or(0), cost.unwrap_or(0)))
        } else {
            Err(AppError::Validation(problems))
        }
    }
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    chrome: Chrome,
    q: String,
    rows: Vec<ProductRow>,
    next: Option<String>,
    input: ProductForm,
    errors: Errs,
}

#[derive(Deserialize, Default)]
struct ProductsQuery {
    q: Option<String>,
    cursor: Option<String>,
}

async fn products_view(
    state: &AppState,
    page: PageActor,
    query: ProductsQuery,
    input: ProductForm,
    errors: Errs,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let filter = ProductFilter {
        q: given(&query.q).map(str::to_owned),
        active: None,
    };
    let listed = match PageRequest::parse(None, given(&query.cursor)) {
        Ok(req) => app.list_products(actor, &filter, req).await,
        Err(e) => Err(e),
    };
    let listed = match listed {
        Ok(l) => l,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let rows = listed
        .items
        .iter()
        .map(|p| ProductRow {
            id: p.id,
            code: p.data.code.clone(),
            name: p.data.name.clone(),
            unit: p.data.unit.clone(),
            list_price: fmt.money(p.data.list_price_fen),
            cost: fmt.money(p.data.cost_fen),
            active: p.data.active,
        })
        .collect();
    let next = listed.next_cursor.as_deref().map(|c| {
        let q = given(&query.q)
            .map(|q| format!("q={}&", percent_encode(q)))
            .unwrap_or_default();
        format!("/products?{q}cursor={}", percent_encode(c))
    });
    let view = ProductsPage {
        q: given(&query.q).unwrap_or("").to_owned(),
        rows,
        next,
        input,
        errors,
        chrome: page.chrome,
    };
    form_response(&view, &view.errors)
}

async fn products_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<ProductsQuery>,
) -> Response {
    let input = ProductForm {
        active: Some("on".into()),
        ..ProductForm::default()
    };
    products_view(&state, page, query, input, Errs::default()).await
}

async fn create_product(
    State(state): State<AppState>,
    page: PageActor,
    Form(input): Form<ProductForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let result = match input.prices(&fmt) {
        Ok((list_price_fen, cost_fen)) => {
            let data = ProductData {
                code: input.code.clone(),
                name: input.name.clone(),
                unit: input.unit.clone(),
                list_price_fen,
                cost_fen,
                active: input.is_active(),
            };
            app.create_product(actor, data).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other("/products?notice=created"),
        Err(e @ AppError::Validation(_)) => {
            let errors = Errs::from_app(&tr, &e);
            products_view(&state, page, ProductsQuery::default(), input, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[derive(Template)]
#[template(path = "product_form.html")]
struct ProductPage {
    chrome: Chrome,
    id: i64,
    input: ProductForm,
    errors: Errs,
}

async fn product_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    let (app, actor) = (&state.app, &page.actor);
    let fmt = Fmt::of(app, page.chrome.tr).await;
    match app.get_product(actor, id).await {
        Ok(p) => render(&ProductPage {
            id,
            input: ProductForm::of(&p, &fmt),
            errors: Errs::default(),
            chrome: page.chrome,
        }),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn update_product(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(input): Form<ProductForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let fmt = Fmt::of(app, tr).await;
    let version = input.version.trim().parse().unwrap_or(-1);
    let result = match input.prices(&fmt) {
        Ok((list_price_fen, cost_fen)) => {
            let patch = ProductPatch {
                code: Some(input.code.clone()),
                name: Some(input.name.clone()),
                unit: Some(input.unit.clone()),
                list_price_fen: Some(list_price_fen),
                cost_fen: Some(cost_fen),
                active: Some(input.is_active()),
            };
            app.update_product(actor, id, version, patch).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!("/products/{id}?notice=saved")),
        Err(e @ AppError::Validation(_)) => {
            let view = ProductPage {
                id,
                errors: Errs::from_app(&tr, &e),
                input,
                chrome: page.chrome,
            };
            form_response(&view, &view.errors)
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn delete_product(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(input): Form<ProductForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let version = input.version.trim().parse().unwrap_or(-1);
    match state.app.remove_product(&page.actor, id, version).await {
        Ok(ProductRemoval::Deleted) => see_other("/products?notice=deleted"),
        Ok(ProductRemoval::Deactivated(_)) => {
            see_other(&format!("/products/{id}?notice=deactivated"))
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- pipeline settings ----------------------------------------------------------------------

struct StageRow {
    index: usize,
    code: String,
    position: usize,
    name_zh: String,
    name_en: String,
    probability: String,
    terminal: bool,
    /// Whether this stage may have a gate at all.
    gateable: bool,
    requires: Vec<Opt>,
    error: String,
}

#[derive(Template)]
#[template(path = "pipeline_settings.html")]
struct PipelinePage {
    chrome: Chrome,
    version: i64,
    rows: Vec<StageRow>,
    errors: Errs,
}

fn stage_rows(tr: &Tr, stages: &[(StageConfig, String)], errors: &Errs) -> Vec<StageRow> {
    stages
        .iter()
        .enumerate()
        .map(|(index, (c, probability))| StageRow {
            index,
            code: c.stage.as_str().to_owned(),
            position: index + 1,
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            probability: probability.clone(),
            terminal: c.stage.is_terminal(),
            gateable: !matches!(c.stage, Stage::FirstContact | Stage::Lost),
            requires: Requirement::ALL
                .iter()
                .map(|r| Opt {
                    value: r.as_str().to_owned(),
                    label: requirement_label(tr, *r),
                    selected: c.requires.contains(r),
                })
                .collect(),
            error: errors.under(&format!("stages[{index}].")),
        })
        .collect()
}

async fn pipeline_page(State(state): State<AppState>, page: PageActor) -> Response {
    if !page.actor.can(RecordKind::Settings, Action::Edit) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    let settings = match state.app.opportunity_stages().await {
        Ok(s) => s,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let stages: Vec<(StageConfig, String)> = settings
        .stages
        .into_iter()
        .map(|c| {
            let p = c.probability.to_string();
            (c, p)
        })
        .collect();
    let tr = page.chrome.tr;
    let errors = Errs::default();
    render(&PipelinePage {
        version: settings.version,
        rows: stage_rows(&tr, &stages, &errors),
        errors,
        chrome: page.chrome,
    })
}

/// A stage as read from the settings form: the config, the probability as typed, the position.
type PipelineRow = (StageConfig, String, i64);

/// Reads the stage table: `s{i}_code`, `s{i}_position`, `s{i}_name_zh`, `s{i}_name_en`,
/// `s{i}_probability` and a `s{i}_requires` checkbox per requirement. Open stages are put in the
/// order of their positions (ties keep the table's order); won and lost stay last.
fn read_pipeline(pairs: &[(String, String)]) -> (Vec<PipelineRow>, Option<Vec<FieldError>>) {
    let mut rows: Vec<(usize, StageConfig, String, i64, bool)> = Vec::new();
    let value = |key: String| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for i in 0..Stage::ALL.len() {
        let code = value(format!("s{i}_code"));
        let Ok(stage) = code.parse::<Stage>() else {
            continue;
        };
        let probability_text = value(format!("s{i}_probability"));
        let (probability, unreadable) = match stage {
            Stage::Won => (100, false),
            Stage::Lost => (0, false),
            _ => match probability_text.trim().parse::<i64>() {
                Ok(p) => (p, false),
                Err(_) => (0, true),
            },
        };
        let requires = pairs
            .iter()
            .filter(|(k, _)| *k == format!("s{i}_requires"))
            .filter_map(|(_, v)| v.parse::<Requirement>().ok())
            .collect();
        let position = value(format!("s{i}_position"))
            .trim()
            .parse::<i64>()
            .unwrap_or(i64::try_from(i).unwrap_or(0) + 1);
        rows.push((
            i,
            StageConfig {
                stage,
                name_zh: value(format!("s{i}_name_zh")),
                name_en: value(format!("s{i}_name_en")),
                probability,
                requires,
            },
            probability_text,
            position,
            unreadable,
        ));
    }
    // Terminal stages last, in their own order; open ones by the position entered.
    rows.sort_by_key(|(i, c, _, position, _)| {
        (
            c.stage.is_terminal(),
            if c.stage.is_terminal() { 0 } else { *position },
            *i,
        )
    });
    let problems: Vec<FieldError> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.4)
        .map(|(at, _)| {
            FieldError::new(
                &format!("stages[{at}].probability"),
                "invalid",
                "a whole percentage",
            )
        })
        .collect();
    let out = rows
        .into_iter()
        .map(|(_, c, p, pos, _)| (c, p, pos))
        .collect();
    (out, (!problems.is_empty()).then_some(problems))
}

async fn update_pipeline(
    State(state): State<AppState>,
    page: PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Err(r) = page.check_csrf(&csrf) {
        return r;
    }
    let version = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(-1);
    let tr = page.chrome.tr;
    let (rows, problems) = read_pipeline(&pairs);
    let result = match problems {
        Some(p) => Err(AppError::Validation(p)),
        None => {
            let configs = rows.iter().map(|(c, _, _)| c.clone()).collect();
            state
                .app
                .update_opportunity_stages(&page.actor, version, configs)
                .await
        }
    };
    match result {
        Ok(_) => see_other("/admin/pipeline?notice=saved"),
        Err(e @ AppError::Validation(_)) => {
            let errors = Errs::from_app(&tr, &e);
            let stages: Vec<(StageConfig, String)> =
                rows.into_iter().map(|(c, p, _)| (c, p)).collect();
            let view = PipelinePage {
                version,
                rows: stage_rows(&tr, &stages, &errors),
                errors,
                chrome: page.chrome,
            };
            form_response(&view, &view.errors)
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_basis_points() {
        assert_eq!(bp_percent(1000), "10");
        assert_eq!(bp_percent(333), "3.33");
        assert_eq!(bp_percent(1250), "12.5");
        assert_eq!(bp_percent(0), "0");
        assert_eq!(bp_percent(-1000), "-10");
        assert_eq!(percent_bp("10"), Ok(Some(1000)));
        assert_eq!(percent_bp("3.33 %"), Ok(Some(333)));
        assert_eq!(percent_bp(""), Ok(None));
        assert_eq!(percent_bp("1.234"), Err(()));
    }

    #[test]
    fn line_rows_come_from_indexed_fields() {
        let f = OppForm::from_pairs(vec![
            ("name".into(), "x".into()),
            ("line1_product".into(), "7".into()),
            ("line1_quantity".into(), "3".into()),
            ("line0_product".into(), "".into()),
            ("line1_discount".into(), "10".into()),
            ("line9999_product".into(), "1".into()),
        ]);
        assert_eq!(f.lines.len(), 2);
        let fmt = Fmt {
            tr: Tr::new("en"),
            currency: Currency::CNY,
        };
        let (_, _, lines) = f.parsed(&fmt).unwrap_or_default();
        assert_eq!(
            lines,
            vec![LineInput {
                product_id: 7,
                quantity: 3,
                unit_price_fen: None,
                discount_bp: Some(1000)
            }]
        );
    }

    #[test]
    fn pipeline_rows_follow_positions_with_terminal_stages_last() {
        let mut pairs = Vec::new();
        for (i, s) in Stage::ALL.iter().enumerate() {
            pairs.push((format!("s{i}_code"), s.as_str().to_owned()));
            pairs.push((format!("s{i}_name_zh"), "名".to_owned()));
            pairs.push((format!("s{i}_name_en"), "N".to_owned()));
            pairs.push((format!("s{i}_probability"), "10".to_owned()));
            // Negotiation (index 3) goes first; won claims position 0 but stays near the end.
            let position = match i {
                3 => 0,
                6 => 0,
                _ => i + 1,
            };
            pairs.push((format!("s{i}_position"), position.to_string()));
        }
        pairs.push(("s2_requires".into(), "needs_analysis_confirmed".into()));
        let (rows, problems) = read_pipeline(&pairs);
        assert!(problems.is_none());
        let order: Vec<&str> = rows.iter().map(|(c, _, _)| c.stage.as_str()).collect();
        assert_eq!(
            order,
            vec![
                "negotiation",
                "first_contact",
                "needs_analysis",
                "proposal",
                "letter_of_intent",
                "contract",
                "won",
                "lost"
            ]
        );
        assert_eq!(
            rows[3].0.requires,
            vec![Requirement::NeedsAnalysisConfirmed]
        );
        assert_eq!((rows[6].0.probability, rows[7].0.probability), (100, 0));
    }
}
