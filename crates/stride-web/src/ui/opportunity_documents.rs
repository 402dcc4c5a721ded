//! The documents section of the opportunity page (needs analysis, proposals, objections,
//! letter of intent), its forms, and the public page a customer confirms a needs analysis on.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stride_app::opportunities::Opportunity;
use stride_app::stage_documents::{
    LetterOfIntentData, NeedsAnalysis, NeedsAnalysisData, NeedsAnalysisInput, ObjectionInput,
    PresentationData, ProposalData,
};
use stride_app::{Actor, AppError};
use stride_domain::money::{Currency, Money};
use stride_domain::stage_documents::{ObjectionKind, ProposalStatus};

use super::{app_error_page, opt, public_chrome, render, see_other, Chrome, PageActor};
use crate::api::stage_documents::confirmation_path;
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/opportunities/{id}/needs-analysis",
            post(write_needs_analysis),
        )
        .route(
            "/opportunities/{id}/needs-analysis/send",
            post(send_needs_analysis),
        )
        .route(
            "/opportunities/{id}/needs-analysis/confirm",
            post(confirm_by_hand),
        )
        .route("/opportunities/{id}/proposals", post(create_proposal))
        .route("/proposals/{id}", post(update_proposal))
        .route("/proposals/{id}/submit", post(submit_proposal))
        .route("/proposals/{id}/presentations", post(add_presentation))
        .route("/opportunities/{id}/objections", post(add_objection))
        .route("/objections/{id}/resolve", post(resolve_objection))
        .route("/opportunities/{id}/letter-of-intent", post(write_letter))
        .route(
            "/confirm/needs/{token}",
            get(confirmation_page).post(confirm_by_link),
        )
}

/// Money in yuan for a viewer, and yuan typed into a form back in fen.
#[derive(Clone, Copy)]
struct Yuan {
    tr: Tr,
    currency: Currency,
}

impl Yuan {
    async fn of(state: &AppState, tr: Tr) -> Self {
        let currency = state
            .app
            .org_settings()
            .await
            .ok()
            .and_then(|s| Currency::parse(&s.currency).ok())
            .unwrap_or(Currency::CNY);
        Self { tr, currency }
    }
    fn show(&self, fen: i64) -> String {
        Money::new(fen, self.currency).format(self.tr.locale)
    }
    fn plain(&self, fen: i64) -> String {
        Money::new(fen, self.currency).to_decimal_string()
    }
    /// `None` when blank; `Err(field)` when not an amount.
    fn parse(&self, s: &str, field: &str) -> Result<Option<i64>, AppError> {
        match s.trim() {
            "" => Ok(None),
            s => Money::parse_decimal(s, self.currency)
                .map(|m| Some(m.minor))
                .map_err(|_| AppError::field(field, "invalid", "an amount such as 1234.50")),
        }
    }
}

// ---- the section on the opportunity page ---------------------------------------------------

struct KindOpt {
    value: &'static str,
    label: String,
}

struct NeedsView {
    revision: i64,
    pain_points: String,
    goals: String,
    budget: String,
    decision_process: String,
    decision_makers: String,
    timeline: String,
    meeting: String,
    send_due: String,
    sent: Option<String>,
    send_late: bool,
    /// "signer · method · time", translated.
    confirmed: Option<String>,
    comment: Option<String>,
}

/// The needs analysis form, prefilled from the newest revision.
#[derive(Default)]
struct NeedsForm {
    pain_points: String,
    goals: String,
    budget_min: String,
    budget_max: String,
    decision_process: String,
    decision_makers: String,
    timeline: String,
    meeting_at: String,
}

struct PresentationView {
    presented_on: String,
    attendees: String,
    feedback: String,
    next_steps: String,
}

struct ProposalView {
    id: i64,
    version_no: i64,
    version: i64,
    title: String,
    summary: String,
    price: String,
    /// The price as typed in the edit form.
    price_plain: String,
    /// Not approved: it may still change (under review, by its requester only).
    changeable: bool,
    status: String,
    status_code: &'static str,
    submittable: bool,
    presentations: Vec<PresentationView>,
}

struct ObjectionView {
    id: i64,
    version: i64,
    kind: String,
    customer_said: String,
    answer: String,
    resolved: bool,
}

struct LetterView {
    revision: i64,
    scope: String,
    amount: String,
    payment_terms: String,
    delivery: String,
    valid_until: String,
    next_steps: String,
    signed: Option<String>,
}

#[derive(Default)]
struct LetterForm {
    scope: String,
    amount: String,
    payment_terms: String,
    delivery: String,
    valid_until: String,
    next_steps: String,
    signed_on: String,
    customer_signatory: String,
}

#[derive(Template)]
#[template(path = "opportunity_documents.html")]
struct Section {
    tr: Tr,
    csrf: String,
    id: i64,
    editable: bool,
    needs: Option<NeedsView>,
    needs_revisions: usize,
    needs_form: NeedsForm,
    proposals: Vec<ProposalView>,
    objections: Vec<ObjectionView>,
    objection_kinds: Vec<KindOpt>,
    letter: Option<LetterView>,
    letter_revision: i64,
    letter_form: LetterForm,
}

fn or_dash(s: Option<&String>) -> String {
    s.cloned().unwrap_or_else(|| "—".to_owned())
}

fn local_input(chrome: &Chrome, ms: i64) -> String {
    // The datetime-local control wants `YYYY-MM-DDTHH:MM`.
    chrome.time(&ms).replacen(' ', "T", 1)
}

fn needs_view(n: &NeedsAnalysis, chrome: &Chrome, yuan: Yuan, now_ms: i64) -> NeedsView {
    let tr = &chrome.tr;
    let budget = match (n.data.budget_min_fen, n.data.budget_max_fen) {
        (None, None) => "—".to_owned(),
        (lo, hi) => format!(
            "{} – {}",
            lo.map(|v| yuan.show(v)).unwrap_or_default(),
            hi.map(|v| yuan.show(v)).unwrap_or_default()
        ),
    };
    NeedsView {
        revision: n.revision,
        pain_points: n.data.pain_points.clone(),
        goals: n.data.goals.clone(),
        budget,
        decision_process: or_dash(n.data.decision_process.as_ref()),
        decision_makers: or_dash(n.data.decision_makers.as_ref()),
        timeline: or_dash(n.data.timeline.as_ref()),
        meeting: chrome.time(&n.meeting_at_ms),
        send_due: chrome.time(&n.send_due_at_ms),
        sent: n.sent_at_ms.map(|ms| chrome.time(&ms)),
        send_late: n.send_late(now_ms),
        confirmed: n.confirmation.as_ref().map(|c| {
            format!(
                "{} · {} · {}",
                c.signer_name,
                tr.t(&format!("needs.method.{}", c.method)),
                chrome.time(&c.at_ms)
            )
        }),
        comment: n.confirmation.as_ref().and_then(|c| c.comment.clone()),
    }
}

/// The documents section of an opportunity page, rendered for the viewer; empty when it
/// cannot be read (the page around it shows what went wrong).
pub(super) async fn section_html(
    state: &AppState,
    actor: &Actor,
    chrome: &Chrome,
    o: &Opportunity,
) -> String {
    let Ok(docs) = state.app.opportunity_documents(actor, o.id).await else {
        return String::new();
    };
    let tr = chrome.tr;
    let yuan = Yuan::of(state, tr).await;
    let now = state.app.now_ms();
    let latest = docs.needs_analyses.first();
    let needs_form = latest
        .map(|n| NeedsForm {
            pain_points: n.data.pain_points.clone(),
            goals: n.data.goals.clone(),
            budget_min: n
                .data
                .budget_min_fen
                .map(|v| yuan.plain(v))
                .unwrap_or_default(),
            budget_max: n
                .data
                .budget_max_fen
                .map(|v| yuan.plain(v))
                .unwrap_or_default(),
            decision_process: n.data.decision_process.clone().unwrap_or_default(),
            decision_makers: n.data.decision_makers.clone().unwrap_or_default(),
            timeline: n.data.timeline.clone().unwrap_or_default(),
            meeting_at: local_input(chrome, n.meeting_at_ms),
        })
        .unwrap_or_default();
    let newest_proposal = docs.proposals.first().map(|(p, _)| p.id);
    let proposals = docs
        .proposals
        .iter()
        .map(|(p, shown)| ProposalView {
            id: p.id,
            version_no: p.version_no,
            version: p.version,
            title: p.data.title.clone(),
            summary: p.data.summary.clone().unwrap_or_default(),
            price: yuan.show(p.data.price_fen),
            price_plain: yuan.plain(p.data.price_fen),
            changeable: p.status != ProposalStatus::Approved,
            status: tr.t(&format!("proposal.status.{}", p.status)),
            status_code: p.status.as_str(),
            submittable: Some(p.id) == newest_proposal
                && matches!(p.status, ProposalStatus::Draft | ProposalStatus::Rejected),
            presentations: shown
                .iter()
                .map(|s| PresentationView {
                    presented_on: s.data.presented_on.clone(),
                    attendees: s.data.attendees.clone(),
                    feedback: s.data.feedback.clone(),
                    next_steps: s.data.next_steps.clone().unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let objections = docs
        .objections
        .iter()
        .map(|x| ObjectionView {
            id: x.id,
            version: x.version,
            kind: tr.t(&format!("objection.kind.{}", x.data.kind)),
            customer_said: x.data.customer_said.clone(),
            answer: x.data.answer.clone().unwrap_or_default(),
            resolved: x.data.resolved,
        })
        .collect();
    let letter_now = docs.letters_of_intent.first();
    let letter = letter_now.map(|l| LetterView {
        revision: l.revision,
        scope: l.data.scope.clone(),
        amount: yuan.show(l.data.amount_fen),
        payment_terms: l.data.payment_terms.clone(),
        delivery: l.data.delivery.clone(),
        valid_until: l.data.valid_until.clone(),
        next_steps: l.data.next_steps.clone().unwrap_or_default(),
        signed: l.data.is_signed().then(|| {
            format!(
                "{} · {}",
                l.data.signed_on.clone().unwrap_or_default(),
                l.data.customer_signatory.clone().unwrap_or_default()
            )
        }),
    });
    let letter_form = letter_now
        .map(|l| LetterForm {
            scope: l.data.scope.clone(),
            amount: yuan.plain(l.data.amount_fen),
            payment_terms: l.data.payment_terms.clone(),
            delivery: l.data.delivery.clone(),
            valid_until: l.data.valid_until.clone(),
            next_steps: l.data.next_steps.clone().unwrap_or_default(),
            signed_on: l.data.signed_on.clone().unwrap_or_default(),
            customer_signatory: l.data.customer_signatory.clone().unwrap_or_default(),
        })
        .unwrap_or_else(|| LetterForm {
            amount: yuan.plain(o.amount_fen),
            ..LetterForm::default()
        });
    let section = Section {
        tr,
        csrf: chrome.csrf.clone(),
        id: o.id,
        editable: !o.is_closed() && chrome.can("opportunity", "edit"),
        needs: latest.map(|n| needs_view(n, chrome, yuan, now)),
        needs_revisions: docs.needs_analyses.len(),
        needs_form,
        proposals,
        objections,
        objection_kinds: ObjectionKind::ALL
            .iter()
            .map(|k| KindOpt {
                value: k.as_str(),
                label: tr.t(&format!("objection.kind.{k}")),
            })
            .collect(),
        letter_revision: letter.as_ref().map_or(0, |l| l.revision),
        letter,
        letter_form,
    };
    section.render().unwrap_or_default()
}

// ---- forms ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "stage_document_refused.html")]
struct RefusedPage {
    chrome: Chrome,
    back: String,
    /// (field label, message), translated where a text exists.
    problems: Vec<(String, String)>,
}

/// After a form: back to the opportunity with a notice, or the refusal with what is wrong.
fn outcome<T>(
    page: PageActor,
    opportunity_id: i64,
    notice: &str,
    r: Result<T, AppError>,
) -> Response {
    match r {
        Ok(_) => see_other(&format!(
            "/opportunities/{opportunity_id}?notice={notice}#documents"
        )),
        Err(AppError::Validation(errors)) => {
            let tr = page.chrome.tr;
            let problems = errors
                .iter()
                .map(|e| {
                    (
                        tr.t_or(&format!("stage_doc.field.{}", e.field), &e.field),
                        tr.t_or(&format!("stage_doc.error.{}", e.code), &e.message),
                    )
                })
                .collect();
            let view = RefusedPage {
                chrome: page.chrome,
                back: format!("/opportunities/{opportunity_id}#documents"),
                problems,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response()
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NeedsFormInput {
    #[serde(rename = "_csrf")]
    csrf: String,
    /// The revision the form was filled from; blank for the first report.
    revision: String,
    pain_points: String,
    goals: String,
    budget_min: String,
    budget_max: String,
    decision_process: String,
    decision_makers: String,
    timeline: String,
    meeting_at: String,
}

async fn write_needs_analysis(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<NeedsFormInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let yuan = Yuan::of(&state, page.chrome.tr).await;
    let result = async {
        let input = NeedsAnalysisInput {
            data: NeedsAnalysisData {
                pain_points: f.pain_points,
                goals: f.goals,
                budget_min_fen: yuan.parse(&f.budget_min, "budget_min_fen")?,
                budget_max_fen: yuan.parse(&f.budget_max, "budget_max_fen")?,
                decision_process: opt(&f.decision_process),
                decision_makers: opt(&f.decision_makers),
                timeline: opt(&f.timeline),
            },
            meeting_at: f.meeting_at,
        };
        let revision = f.revision.trim().parse::<i64>().ok();
        state
            .app
            .write_needs_analysis(&page.actor, id, revision, input)
            .await
    }
    .await;
    outcome(page, id, "needs_saved", result)
}

#[derive(Template)]
#[template(path = "needs_analysis_sent.html")]
struct SentPage {
    chrome: Chrome,
    id: i64,
    link: String,
}

/// Creates the link and shows it once, for the rep to pass to the customer.
async fn send_needs_analysis(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<super::CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    match state.app.send_needs_analysis(&page.actor, id).await {
        Ok(sent) => {
            // The same absolute address rule as the calendar feed's link.
            let path = confirmation_path(&sent.token);
            let link = match super::leads::request_host(&headers) {
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
            render(&SentPage {
                chrome: page.chrome,
                id,
                link,
            })
        }
        Err(e) => outcome::<()>(page, id, "", Err(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ByHandForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    signer_name: String,
    how: String,
}

async fn confirm_by_hand(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<ByHandForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let r = state
        .app
        .confirm_needs_analysis_by_hand(&page.actor, id, f.signer_name, f.how)
        .await;
    outcome(page, id, "needs_confirmed", r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProposalForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    title: String,
    summary: String,
    price: String,
}

async fn create_proposal(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<ProposalForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let yuan = Yuan::of(&state, page.chrome.tr).await;
    let r = async {
        let data = ProposalData {
            title: f.title,
            summary: opt(&f.summary),
            price_fen: yuan.parse(&f.price, "price_fen")?.unwrap_or(0),
        };
        state.app.create_proposal(&page.actor, id, data).await
    }
    .await;
    outcome(page, id, "proposal_saved", r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProposalEditForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    title: String,
    summary: String,
    price: String,
}

/// Edits a version; under review this restarts the review (its requester only).
async fn update_proposal(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<ProposalEditForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let opp = match proposal_opportunity(&state, &page.actor, id).await {
        Ok(o) => o,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let yuan = Yuan::of(&state, page.chrome.tr).await;
    let r = async {
        let data = ProposalData {
            title: f.title,
            summary: opt(&f.summary),
            price_fen: yuan.parse(&f.price, "price_fen")?.unwrap_or(0),
        };
        let version = f.version.trim().parse().unwrap_or(-1);
        state
            .app
            .update_proposal(&page.actor, id, version, data)
            .await
    }
    .await;
    outcome(page, opp, "proposal_saved", r)
}

/// The opportunity a proposal belongs to, for the redirect after its forms.
async fn proposal_opportunity(state: &AppState, actor: &Actor, id: i64) -> Result<i64, AppError> {
    Ok(state.app.get_proposal(actor, id).await?.1.id)
}

async fn submit_proposal(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<super::CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let opp = match proposal_opportunity(&state, &page.actor, id).await {
        Ok(o) => o,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let r = state.app.submit_proposal(&page.actor, id).await;
    outcome(page, opp, "proposal_submitted", r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PresentationForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    presented_on: String,
    attendees: String,
    feedback: String,
    next_steps: String,
}

async fn add_presentation(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<PresentationForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let opp = match proposal_opportunity(&state, &page.actor, id).await {
        Ok(o) => o,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let data = PresentationData {
        presented_on: f.presented_on,
        attendees: f.attendees,
        feedback: f.feedback,
        next_steps: opt(&f.next_steps),
    };
    let r = state.app.add_presentation(&page.actor, id, data).await;
    outcome(page, opp, "presentation_saved", r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ObjectionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    customer_said: String,
    answer: String,
    resolved: Option<String>,
}

async fn add_objection(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<ObjectionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let input = ObjectionInput {
        kind: f.kind,
        customer_said: f.customer_said,
        answer: opt(&f.answer),
        resolved: f.resolved.is_some(),
    };
    let r = state.app.add_objection(&page.actor, id, input).await;
    outcome(page, id, "objection_saved", r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResolveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: String,
    answer: String,
}

/// Marks an objection resolved with the answer given.
async fn resolve_objection(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<ResolveForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let before = match state.app.get_objection(&page.actor, id).await {
        Ok(o) => o,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let input = ObjectionInput {
        kind: before.data.kind.to_string(),
        customer_said: before.data.customer_said.clone(),
        answer: opt(&f.answer).or(before.data.answer.clone()),
        resolved: true,
    };
    let version = f.version.trim().parse().unwrap_or(-1);
    let r = state
        .app
        .update_objection(&page.actor, id, version, input)
        .await;
    outcome(page, before.opportunity_id, "objection_saved", r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LetterFormInput {
    #[serde(rename = "_csrf")]
    csrf: String,
    revision: String,
    scope: String,
    amount: String,
    payment_terms: String,
    delivery: String,
    valid_until: String,
    next_steps: String,
    signed_on: String,
    customer_signatory: String,
}

async fn write_letter(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(f): Form<LetterFormInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&f.csrf) {
        return r;
    }
    let yuan = Yuan::of(&state, page.chrome.tr).await;
    let r = async {
        let data = LetterOfIntentData {
            scope: f.scope,
            amount_fen: yuan.parse(&f.amount, "amount_fen")?.unwrap_or(0),
            payment_terms: f.payment_terms,
            delivery: f.delivery,
            valid_until: f.valid_until,
            next_steps: opt(&f.next_steps),
            signed_on: opt(&f.signed_on),
            customer_signatory: opt(&f.customer_signatory),
        };
        let revision = f.revision.trim().parse::<i64>().ok().filter(|r| *r > 0);
        state
            .app
            .write_letter_of_intent(&page.actor, id, revision, data)
            .await
    }
    .await;
    outcome(page, id, "letter_saved", r)
}

// ---- the public confirmation page ----------------------------------------------------------

#[derive(Template)]
#[template(path = "needs_confirm_public.html")]
struct ConfirmPage {
    chrome: Chrome,
    token: String,
    lang: String,
    customer: String,
    opportunity: String,
    needs: NeedsView,
    /// Just confirmed, or confirmed before.
    confirmed: bool,
    error: Option<String>,
    signer_name: String,
    comment: String,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn confirmation_view(
    state: &AppState,
    chrome: Chrome,
    token: String,
    error: Option<String>,
    typed: (String, String),
) -> Response {
    let shown = match state.app.report_for_confirmation(&token).await {
        Ok(s) => s,
        Err(e) => return app_error_page(&chrome, e),
    };
    let yuan = Yuan::of(state, chrome.tr).await;
    let needs = needs_view(&shown.report, &chrome, yuan, state.app.now_ms());
    let page = ConfirmPage {
        lang: chrome.tr.locale.to_owned(),
        confirmed: shown.report.confirmation.is_some(),
        customer: shown.customer_name,
        opportunity: shown.opportunity_name,
        needs,
        error,
        signer_name: typed.0,
        comment: typed.1,
        token,
        chrome,
    };
    render(&page)
}

/// No login: the link's secret is the key. Unknown links and links to an older revision are 404.
async fn confirmation_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let chrome = public_chrome(&headers, q.lang.as_deref());
    confirmation_view(&state, chrome, token, None, Default::default()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfirmForm {
    signer_name: String,
    comment: String,
    lang: String,
}

async fn confirm_by_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Response {
    let lang = Some(f.lang.as_str()).filter(|l| !l.is_empty());
    let chrome = public_chrome(&headers, lang);
    match state
        .app
        .confirm_needs_analysis_by_link(&token, f.signer_name.clone(), opt(&f.comment))
        .await
    {
        Ok(_) => confirmation_view(&state, chrome, token, None, Default::default()).await,
        Err(AppError::Validation(_)) => {
            let message = chrome.tr.t("needs.confirm_name_required");
            let view = confirmation_view(
                &state,
                chrome,
                token,
                Some(message),
                (f.signer_name, f.comment),
            )
            .await;
            (StatusCode::UNPROCESSABLE_ENTITY, view).into_response()
        }
        Err(e) => app_error_page(&chrome, e),
    }
}
