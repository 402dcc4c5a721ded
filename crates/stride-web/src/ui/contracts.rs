//! Contract pages: the list, drafting (from a deal or by hand), a contract with its review,
//! signing, archiving and revisions, and the number pattern.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stride_app::contracts::{
    Contract, ContractData, ContractDraft, ContractFilter, ContractLine, ContractStatus,
    SigningInput,
};
use stride_app::customers::CustomerFilter;
use stride_app::page::PageRequest;
use stride_app::{AppError, FieldError};
use stride_domain::contracts::Milestone;
use stride_domain::money::{Currency, Money};

use super::user_names;
use super::{
    app_error_page, field_errors, given, money, percent_encode, render, see_other, Chrome,
    CsrfForm, Fields, PageActor,
};
use crate::i18n::Tr;
use crate::AppState;

/// Rows the drafting form offers for product lines and for payment milestones.
const FORM_ROWS: usize = 6;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contracts", get(list_page))
        .route("/contracts/new", get(new_page).post(create))
        .route("/contracts/{id}", get(detail_page))
        .route("/contracts/{id}/edit", get(edit_page).post(update))
        .route("/contracts/{id}/submit", post(submit))
        .route("/contracts/{id}/sign", post(sign))
        .route("/contracts/{id}/archive", post(archive))
        .route("/contracts/{id}/amend", post(amend))
        .route(
            "/admin/contract-settings",
            get(settings_page).post(save_settings),
        )
}

/// Fen as the plain decimal a form field holds, `1234.50`.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

fn status_label(tr: &Tr, s: ContractStatus) -> String {
    tr.t(&format!("contract.status.{s}"))
}

// ---- list -----------------------------------------------------------------------------------

struct Row {
    id: i64,
    number: String,
    revision: i64,
    title: String,
    party: String,
    amount: String,
    status: String,
    status_code: String,
    late: bool,
}

#[derive(Template)]
#[template(path = "contracts.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    q: String,
    status: String,
    statuses: Vec<(String, String)>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<ListQuery>,
) -> Response {
    let (app, tr) = (&state.app, page.chrome.tr);
    let status = given(&query.status).and_then(|s| s.parse::<ContractStatus>().ok());
    let filter = ContractFilter {
        status,
        q: given(&query.q).map(str::to_owned),
        ..ContractFilter::default()
    };
    let loaded = async {
        let req = PageRequest::parse(None, given(&query.cursor))?;
        app.list_contracts(&page.actor, &filter, req).await
    };
    let contracts = match loaded.await {
        Ok(p) => p,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let now = app.now_ms();
    let rows = contracts
        .items
        .into_iter()
        .map(|c| Row {
            late: c.archive_late(now),
            id: c.id,
            number: c.number,
            revision: c.revision,
            party: c.data.customer_party,
            amount: money(c.data.amount_fen, &tr),
            status: status_label(&tr, c.status),
            status_code: c.status.to_string(),
            title: c.data.title,
        })
        .collect();
    let q = query.q.clone().unwrap_or_default();
    let status_code = status.map(|s| s.to_string()).unwrap_or_default();
    let next = contracts.next_cursor.map(|c| {
        format!(
            "/contracts?q={}&status={}&cursor={}",
            percent_encode(&q),
            status_code,
            percent_encode(&c)
        )
    });
    render(&ListPage {
        rows,
        q,
        status: status_code,
        statuses: ContractStatus::ALL
            .iter()
            .map(|s| (s.to_string(), status_label(&tr, *s)))
            .collect(),
        next,
        chrome: page.chrome,
    })
}

// ---- drafting and editing -------------------------------------------------------------------

/// The drafting form. Product lines and milestones are rows of repeated fields.
#[derive(Debug, Default)]
struct ContractForm {
    csrf: String,
    customer_id: String,
    opportunity_id: String,
    title: String,
    our_party: String,
    customer_party: String,
    amount: String,
    payment_terms: String,
    delivery_period: String,
    acceptance_criteria: String,
    liability: String,
    confidentiality: String,
    ip_clause: String,
    line_name: Vec<String>,
    line_quantity: Vec<String>,
    line_price: Vec<String>,
    milestone_name: Vec<String>,
    milestone_due: Vec<String>,
    milestone_amount: Vec<String>,
    version: i64,
}

fn opt_text(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn fen(field: &str, text: &str, problems: &mut Vec<FieldError>) -> i64 {
    match Money::parse_decimal(text, Currency::CNY) {
        Ok(m) => m.minor,
        Err(e) => {
            problems.push(FieldError::new(field, "invalid", e.to_string()));
            0
        }
    }
}

impl ContractForm {
    fn from_fields(f: &Fields) -> Self {
        let all = |name: &str| f.all(name).map(str::to_owned).collect::<Vec<_>>();
        Self {
            csrf: f.one("_csrf").to_owned(),
            customer_id: f.one("customer_id").to_owned(),
            opportunity_id: f.one("opportunity_id").to_owned(),
            title: f.one("title").to_owned(),
            our_party: f.one("our_party").to_owned(),
            customer_party: f.one("customer_party").to_owned(),
            amount: f.one("amount").to_owned(),
            payment_terms: f.one("payment_terms").to_owned(),
            delivery_period: f.one("delivery_period").to_owned(),
            acceptance_criteria: f.one("acceptance_criteria").to_owned(),
            liability: f.one("liability").to_owned(),
            confidentiality: f.one("confidentiality").to_owned(),
            ip_clause: f.one("ip_clause").to_owned(),
            line_name: all("line_name"),
            line_quantity: all("line_quantity"),
            line_price: all("line_price"),
            milestone_name: all("milestone_name"),
            milestone_due: all("milestone_due"),
            milestone_amount: all("milestone_amount"),
            version: f.version(),
        }
    }

    fn from_contract(c: &Contract) -> Self {
        let d = &c.data;
        Self {
            customer_id: c.customer_id.to_string(),
            opportunity_id: c.opportunity_id.map(|o| o.to_string()).unwrap_or_default(),
            title: d.title.clone(),
            our_party: d.our_party.clone(),
            customer_party: d.customer_party.clone(),
            amount: yuan(d.amount_fen),
            payment_terms: d.payment_terms.clone().unwrap_or_default(),
            delivery_period: d.delivery_period.clone().unwrap_or_default(),
            acceptance_criteria: d.acceptance_criteria.clone().unwrap_or_default(),
            liability: d.liability.clone().unwrap_or_default(),
            confidentiality: d.confidentiality.clone().unwrap_or_default(),
            ip_clause: d.ip_clause.clone().unwrap_or_default(),
            line_name: d.lines.iter().map(|l| l.name.clone()).collect(),
            line_quantity: d.lines.iter().map(|l| l.quantity.to_string()).collect(),
            line_price: d.lines.iter().map(|l| yuan(l.unit_price_fen)).collect(),
            milestone_name: d.milestones.iter().map(|m| m.name.clone()).collect(),
            milestone_due: d.milestones.iter().map(|m| m.due_on.to_string()).collect(),
            milestone_amount: d.milestones.iter().map(|m| yuan(m.amount_fen)).collect(),
            version: c.version,
            csrf: String::new(),
        }
    }

    /// The entered contract; blank rows of lines and milestones are left out.
    fn to_data(&self) -> Result<ContractData, AppError> {
        let mut problems = Vec::new();
        let amount_fen = fen("amount_fen", &self.amount, &mut problems);
        fn cell(v: &[String], i: usize) -> &str {
            v.get(i).map(|s| s.trim()).unwrap_or("")
        }
        let mut lines = Vec::new();
        for i in 0..self.line_name.len() {
            let (name, qty, price) = (
                cell(&self.line_name, i),
                cell(&self.line_quantity, i),
                cell(&self.line_price, i),
            );
            if name.is_empty() && qty.is_empty() && price.is_empty() {
                continue;
            }
            let n = lines.len();
            let quantity = qty.parse::<i64>().unwrap_or_else(|_| {
                problems.push(FieldError::new(
                    &format!("lines[{n}].quantity"),
                    "invalid",
                    "a whole number",
                ));
                0
            });
            let unit_price_fen = fen(&format!("lines[{n}].unit_price_fen"), price, &mut problems);
            lines.push(ContractLine {
                name: name.to_owned(),
                quantity,
                unit_price_fen,
            });
        }
        let mut milestones = Vec::new();
        for i in 0..self.milestone_name.len() {
            let (name, due, amount) = (
                cell(&self.milestone_name, i),
                cell(&self.milestone_due, i),
                cell(&self.milestone_amount, i),
            );
            if name.is_empty() && due.is_empty() && amount.is_empty() {
                continue;
            }
            let n = milestones.len();
            let Ok(due_on) = due.parse() else {
                problems.push(FieldError::new(
                    &format!("milestones[{n}].due_on"),
                    "invalid",
                    "a date such as 2026-12-01",
                ));
                continue;
            };
            let amount_fen = fen(
                &format!("milestones[{n}].amount_fen"),
                amount,
                &mut problems,
            );
            milestones.push(Milestone {
                name: name.to_owned(),
                due_on,
                amount_fen,
            });
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        Ok(ContractData {
            title: self.title.clone(),
            our_party: self.our_party.clone(),
            customer_party: self.customer_party.clone(),
            amount_fen,
            lines,
            milestones,
            payment_terms: opt_text(&self.payment_terms),
            delivery_period: opt_text(&self.delivery_period),
            acceptance_criteria: opt_text(&self.acceptance_criteria),
            liability: opt_text(&self.liability),
            confidentiality: opt_text(&self.confidentiality),
            ip_clause: opt_text(&self.ip_clause),
        })
    }

    /// Pads the row lists so the form always offers the same number of blank rows.
    fn padded(mut self) -> Self {
        for v in [
            &mut self.line_name,
            &mut self.line_quantity,
            &mut self.line_price,
            &mut self.milestone_name,
            &mut self.milestone_due,
            &mut self.milestone_amount,
        ] {
            let rows = v.len().max(FORM_ROWS);
            v.resize(rows, String::new());
        }
        self
    }
}

#[derive(Template)]
#[template(path = "contract_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    editing: bool,
    form: ContractForm,
    deal: String,
    /// The deal's letter of intent gives the payment terms and delivery (revision number).
    intent_revision: Option<i64>,
    customers: Vec<(i64, String)>,
    rows: Vec<usize>,
    errors: Vec<(String, String)>,
}

impl FormPage {
    fn value<'a>(v: &'a [String], i: &usize) -> &'a str {
        v.get(*i).map(String::as_str).unwrap_or("")
    }
    fn line_name(&self, i: &usize) -> &str {
        Self::value(&self.form.line_name, i)
    }
    fn line_quantity(&self, i: &usize) -> &str {
        Self::value(&self.form.line_quantity, i)
    }
    fn line_price(&self, i: &usize) -> &str {
        Self::value(&self.form.line_price, i)
    }
    fn milestone_name(&self, i: &usize) -> &str {
        Self::value(&self.form.milestone_name, i)
    }
    fn milestone_due(&self, i: &usize) -> &str {
        Self::value(&self.form.milestone_due, i)
    }
    fn milestone_amount(&self, i: &usize) -> &str {
        Self::value(&self.form.milestone_amount, i)
    }
}

#[derive(Deserialize)]
struct NewQuery {
    opportunity_id: Option<String>,
}

async fn form_page(
    state: &AppState,
    page: PageActor,
    action: String,
    editing: bool,
    form: ContractForm,
    errors: Vec<(String, String)>,
) -> Response {
    let (deal, intent_revision) = match form.opportunity_id.trim().parse::<i64>() {
        Ok(id) => state
            .app
            .deal_for_contract(&page.actor, id)
            .await
            .map(|d| (d.name, d.intent.map(|i| i.revision)))
            .unwrap_or_default(),
        Err(_) => (String::new(), None),
    };
    let customers = if editing || !deal.is_empty() {
        vec![]
    } else {
        let req = PageRequest::parse(Some(200), None).unwrap_or_default();
        state
            .app
            .list_customers(&page.actor, &CustomerFilter::default(), req)
            .await
            .map(|p| p.items.into_iter().map(|c| (c.id, c.data.name)).collect())
            .unwrap_or_default()
    };
    let form = form.padded();
    let rows = (0..form.line_name.len().max(form.milestone_name.len())).collect();
    render(&FormPage {
        action,
        editing,
        form,
        deal,
        intent_revision,
        customers,
        rows,
        errors,
        chrome: page.chrome,
    })
}

async fn new_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(q): Query<NewQuery>,
) -> Response {
    let mut form = ContractForm {
        our_party: page.chrome.org_name.clone(),
        ..ContractForm::default()
    };
    if let Some(opp) = given(&q.opportunity_id).and_then(|o| o.parse::<i64>().ok()) {
        match state.app.deal_for_contract(&page.actor, opp).await {
            Ok(deal) => {
                form.opportunity_id = opp.to_string();
                form.customer_id = deal.customer_id.to_string();
                form.title = deal.name.clone();
                form.amount = yuan(deal.amount_fen);
                form.customer_party = deal.customer_name;
                // The letter of intent's terms, as the draft would take them anyway.
                if let Some(intent) = deal.intent {
                    form.payment_terms = intent.payment_terms;
                    form.delivery_period = intent.delivery;
                }
            }
            Err(e) => return app_error_page(&page.chrome, e),
        }
    }
    form_page(&state, page, "/contracts/new".into(), false, form, vec![]).await
}

async fn create(
    State(state): State<AppState>,
    page: PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = ContractForm::from_fields(&Fields(pairs));
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = match form.to_data() {
        Ok(data) => {
            let draft = ContractDraft {
                customer_id: form.customer_id.trim().parse().ok(),
                opportunity_id: form.opportunity_id.trim().parse().ok(),
                data,
            };
            state.app.create_contract(&page.actor, draft).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => see_other(&format!("/contracts/{}?notice=saved", c.id)),
        Err(e @ AppError::Validation(_)) => {
            let errors = field_errors(&page.chrome.tr, &e);
            form_page(&state, page, "/contracts/new".into(), false, form, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    match state.app.get_contract(&page.actor, id).await {
        Ok(c) => {
            let form = ContractForm::from_contract(&c);
            form_page(
                &state,
                page,
                format!("/contracts/{id}/edit"),
                true,
                form,
                vec![],
            )
            .await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn update(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = ContractForm::from_fields(&Fields(pairs));
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = match form.to_data() {
        Ok(data) => {
            state
                .app
                .update_contract(&page.actor, id, form.version, data)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!("/contracts/{id}?notice=saved")),
        Err(e @ (AppError::Validation(_) | AppError::Stale | AppError::Conflict(_))) => {
            let errors = match &e {
                AppError::Validation(_) => field_errors(&page.chrome.tr, &e),
                AppError::Stale => vec![("version".into(), page.chrome.tr.t("error.stale"))],
                AppError::Conflict(m) => vec![("status".into(), m.clone())],
                _ => vec![],
            };
            let action = format!("/contracts/{id}/edit");
            form_page(&state, page, action, true, form, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- one contract ---------------------------------------------------------------------------

struct RevisionRow {
    id: i64,
    revision: i64,
    status: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "contract.html")]
struct DetailPage {
    chrome: Chrome,
    c: Contract,
    status: String,
    amount: String,
    lines: Vec<(String, i64, String, String)>,
    milestones: Vec<(String, String, String)>,
    clauses: Vec<(String, String)>,
    owner: String,
    archive_due: String,
    archive_late: bool,
    approval_href: String,
    revisions: Vec<RevisionRow>,
    scans: Vec<(i64, String)>,
    can_edit: bool,
    errors: Vec<(String, String)>,
    /// The payment terms of the deal's newest letter of intent; empty without one.
    intent_terms: String,
    terms_differ: bool,
}

async fn detail_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    detail_view(&state, page, id, vec![]).await
}

async fn detail_view(
    state: &AppState,
    page: PageActor,
    id: i64,
    mut errors: Vec<(String, String)>,
) -> Response {
    let (app, tr) = (&state.app, page.chrome.tr);
    let c = match app.get_contract(&page.actor, id).await {
        Ok(c) => c,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let intent = app
        .contract_intent_terms(&page.actor, id)
        .await
        .ok()
        .flatten();
    // Terms that differ from the letter of intent: say what the letter agreed.
    let differs = intent
        .as_ref()
        .zip(c.data.payment_terms.as_ref())
        .filter(|(i, t)| !stride_domain::contracts::same_terms(t, &i.payment_terms));
    if let Some((i, _)) = differs {
        for (field, message) in &mut errors {
            if field == "payment_terms" {
                *message = tr.f(
                    "contract.terms_not_negotiated",
                    &[("terms", &i.payment_terms)],
                );
            }
        }
    }
    let terms_differ = differs.is_some();
    let intent_terms = intent.map(|i| i.payment_terms).unwrap_or_default();
    let revisions = app
        .contract_revisions(&page.actor, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| RevisionRow {
            current: r.id == id,
            id: r.id,
            revision: r.revision,
            status: status_label(&tr, r.status),
        })
        .collect();
    let approval_href = app
        .approval_status(stride_app::contracts::RECORD_KIND, id)
        .await
        .ok()
        .flatten()
        .map(|r| format!("/approvals/{}", r.id))
        .unwrap_or_default();
    let scans = app
        .list_attachments(
            &page.actor,
            stride_app::contracts::RECORD_KIND,
            id,
            PageRequest::parse(Some(200), None).unwrap_or_default(),
        )
        .await
        .map(|a| a.items.into_iter().map(|a| (a.id, a.file_name)).collect())
        .unwrap_or_default();
    let names = user_names(app, &page.actor, vec![c.owner_id]).await;
    let d = &c.data;
    let clauses = [
        ("contract.payment_terms", &d.payment_terms),
        ("contract.delivery_period", &d.delivery_period),
        ("contract.acceptance_criteria", &d.acceptance_criteria),
        ("contract.liability", &d.liability),
        ("contract.confidentiality", &d.confidentiality),
        ("contract.ip_clause", &d.ip_clause),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (tr.t(k), v.clone())))
    .collect();
    let now = app.now_ms();
    render(&DetailPage {
        status: status_label(&tr, c.status),
        amount: money(d.amount_fen, &tr),
        lines: d
            .lines
            .iter()
            .map(|l| {
                (
                    l.name.clone(),
                    l.quantity,
                    money(l.unit_price_fen, &tr),
                    money(l.total_fen().unwrap_or_default(), &tr),
                )
            })
            .collect(),
        milestones: d
            .milestones
            .iter()
            .map(|m| {
                (
                    m.due_on.to_string(),
                    m.name.clone(),
                    money(m.amount_fen, &tr),
                )
            })
            .collect(),
        clauses,
        owner: names
            .get(&c.owner_id)
            .cloned()
            .unwrap_or_else(|| format!("#{}", c.owner_id)),
        archive_due: c
            .signing
            .archive_due_at_ms
            .map(|ms| page.chrome.time(&ms))
            .unwrap_or_default(),
        archive_late: c.archive_late(now),
        approval_href,
        revisions,
        scans,
        can_edit: page.actor.can(
            stride_domain::access::RecordKind::Contract,
            stride_domain::access::Action::Edit,
        ),
        errors,
        intent_terms,
        terms_differ,
        c,
        chrome: page.chrome,
    })
}

/// Runs an action on a contract and shows the contract again, with the refusal if any.
async fn act(
    state: &AppState,
    page: PageActor,
    id: i64,
    result: Result<Contract, AppError>,
    notice: &str,
) -> Response {
    match result {
        Ok(c) => see_other(&format!("/contracts/{}?notice={notice}", c.id)),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let errors = match &e {
                AppError::Conflict(m) => vec![("status".into(), m.clone())],
                _ => field_errors(&page.chrome.tr, &e),
            };
            detail_view(state, page, id, errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn submit(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = state.app.submit_contract(&page.actor, id).await;
    act(&state, page, id, result, "submitted").await
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    method: String,
    signed_on: String,
    customer_signatory: Option<String>,
}

async fn sign(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<SignForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let input = SigningInput {
        method: form.method,
        signed_on: form.signed_on,
        customer_signatory: form.customer_signatory,
    };
    let result = state.app.sign_contract(&page.actor, id, input).await;
    act(&state, page, id, result, "signed").await
}

#[derive(Deserialize)]
struct ArchiveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    scan_attachment_id: String,
}

async fn archive(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<ArchiveForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = match form.scan_attachment_id.trim().parse::<i64>() {
        Ok(scan) => state.app.archive_contract(&page.actor, id, scan).await,
        Err(_) => Err(AppError::field(
            "scan_attachment_id",
            "required",
            "choose the signed scan",
        )),
    };
    act(&state, page, id, result, "archived").await
}

async fn amend(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = state.app.amend_contract(&page.actor, id).await;
    act(&state, page, id, result, "amended").await
}

// ---- the number pattern ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_contract_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    pattern: String,
    version: i64,
    example: String,
    errors: Vec<(String, String)>,
}

async fn settings_view(
    state: &AppState,
    page: PageActor,
    typed: Option<String>,
    errors: Vec<(String, String)>,
) -> Response {
    let (pattern, version) = match state.app.contract_number_pattern().await {
        Ok(p) => p,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let example = stride_domain::contracts::NumberPattern::parse(&pattern)
        .map(|p| {
            let today = jiff::Timestamp::from_millisecond(state.app.now_ms())
                .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
                .unwrap_or_default();
            p.number(today, 1)
        })
        .unwrap_or_default();
    render(&SettingsPage {
        pattern: typed.unwrap_or(pattern),
        version,
        example,
        errors,
        chrome: page.chrome,
    })
}

async fn settings_page(State(state): State<AppState>, page: PageActor) -> Response {
    settings_view(&state, page, None, vec![]).await
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    number_pattern: String,
    version: i64,
}

async fn save_settings(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = state
        .app
        .set_contract_number_pattern(&page.actor, &form.number_pattern, form.version)
        .await;
    match result {
        Ok(_) => see_other("/admin/contract-settings?notice=saved"),
        Err(e @ (AppError::Validation(_) | AppError::Stale)) => {
            let errors = match &e {
                AppError::Stale => vec![("version".into(), page.chrome.tr.t("error.stale"))],
                _ => field_errors(&page.chrome.tr, &e),
            };
            settings_view(&state, page, Some(form.number_pattern), errors).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_amounts_round_trip_through_fen() {
        assert_eq!(yuan(123_450), "1234.50");
        assert_eq!(yuan(5), "0.05");
        let form = ContractForm {
            title: "t".into(),
            amount: "1234.50".into(),
            milestone_name: vec!["预付款".into(), String::new()],
            milestone_due: vec!["2026-12-01".into(), String::new()],
            milestone_amount: vec!["1234.50".into(), String::new()],
            ..ContractForm::default()
        };
        let data = form.to_data().unwrap();
        assert_eq!(data.amount_fen, 123_450);
        assert_eq!(data.milestones.len(), 1, "blank rows are left out");
        assert_eq!(data.milestones[0].amount_fen, 123_450);
    }

    #[test]
    fn a_bad_milestone_date_names_its_row() {
        let form = ContractForm {
            amount: "1".into(),
            milestone_name: vec!["x".into()],
            milestone_due: vec!["soon".into()],
            milestone_amount: vec!["1".into()],
            ..ContractForm::default()
        };
        let Err(AppError::Validation(errors)) = form.to_data() else {
            panic!("accepted a bad date");
        };
        assert_eq!(errors[0].field, "milestones[0].due_on");
    }
}
