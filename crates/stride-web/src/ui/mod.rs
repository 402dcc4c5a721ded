//! The server-rendered UI: one typed askama struct per page, texts from `i18n`, forms posting
//! back with a CSRF token, and the same use cases as the API.

mod admin;
mod approval_flows;
mod approvals;
mod attachments;
mod contracts;
mod customers;
mod leads;
mod opportunities;
mod opportunity_documents;
mod profile;

use askama::Template;
use axum::extract::{FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stride_app::{Actor, AppError, AuthMethod};
use stride_domain::access::{Action, RecordKind};
use stride_domain::validate::LOCALE_AUTO;

use crate::api::rfc3339;
use crate::extract::{cookie, resolve_actor, same_secret, ClientIp, SESSION_COOKIE};
use crate::i18n::{negotiate, Tr};
use crate::AppState;

/// Template files, for the test that every text key used exists in every locale.
pub const TEMPLATE_SOURCES: &[&str] = &[
    include_str!("../../templates/login.html"),
    include_str!("../../templates/lead_form_public.html"),
    include_str!("../../templates/home.html"),
    include_str!("../../templates/error.html"),
    include_str!("../../templates/admin_users.html"),
    include_str!("../../templates/admin_user_form.html"),
    include_str!("../../templates/admin_departments.html"),
    include_str!("../../templates/admin_department.html"),
    include_str!("../../templates/admin_roles.html"),
    include_str!("../../templates/admin_role.html"),
    include_str!("../../templates/admin_settings.html"),
    include_str!("../../templates/admin_sales_policy.html"),
    include_str!("../../templates/admin_calendar.html"),
    include_str!("../../templates/admin_audit.html"),
    include_str!("../../templates/profile.html"),
    include_str!("../../templates/customers.html"),
    include_str!("../../templates/customer_form.html"),
    include_str!("../../templates/customer_fields.html"),
    include_str!("../../templates/customer.html"),
    include_str!("../../templates/search.html"),
    include_str!("../../templates/leads.html"),
    include_str!("../../templates/lead_form.html"),
    include_str!("../../templates/lead.html"),
    include_str!("../../templates/lead_import.html"),
    include_str!("../../templates/agenda.html"),
    include_str!("../../templates/inbox.html"),
    include_str!("../../templates/calendar_month.html"),
    include_str!("../../templates/admin_rules.html"),
    include_str!("../../templates/approvals.html"),
    include_str!("../../templates/approval.html"),
    include_str!("../../templates/admin_approval_flows.html"),
    include_str!("../../templates/contracts.html"),
    include_str!("../../templates/contract_form.html"),
    include_str!("../../templates/contract.html"),
    include_str!("../../templates/admin_contract_settings.html"),
    include_str!("../../templates/attachments_section.html"),
    include_str!("../../templates/opportunity_board.html"),
    include_str!("../../templates/opportunities.html"),
    include_str!("../../templates/opportunity.html"),
    include_str!("../../templates/opportunity_form.html"),
    include_str!("../../templates/products.html"),
    include_str!("../../templates/product_fields.html"),
    include_str!("../../templates/product_form.html"),
    include_str!("../../templates/pipeline_settings.html"),
    include_str!("../../templates/opportunity_documents.html"),
    include_str!("../../templates/stage_document_refused.html"),
    include_str!("../../templates/needs_analysis_sent.html"),
    include_str!("../../templates/needs_confirm_public.html"),
];

const LANG_COOKIE: &str = "stride_lang";
const STYLE: &str = include_str!("../../assets/stride.css");
const SCRIPT: &str = include_str!("../../assets/stride.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route(
            "/forms/lead",
            get(public_lead_page).post(public_lead_submit),
        )
        .route("/logout", post(logout))
        .route(
            "/lang",
            post(switch_language).get(switch_language_anonymous),
        )
        .route(
            "/assets/stride.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
        .route(
            "/assets/stride.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SCRIPT,
                )
            }),
        )
        .merge(admin::routes())
        .merge(profile::routes())
        .merge(customers::routes())
        .merge(leads::routes())
        .merge(approvals::routes())
        .merge(contracts::routes())
        .merge(attachments::routes())
        .merge(opportunities::routes())
        .merge(opportunity_documents::routes())
}

/// What every signed-in page shows around its content: navigation, user menu, language.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub tr: Tr,
    pub user: Option<Actor>,
    pub csrf: String,
    pub org_name: String,
    /// A one-line confirmation after a form was saved, already translated.
    pub notice: Option<String>,
}

impl Chrome {
    pub fn can(&self, kind: &str, action: &str) -> bool {
        let (Ok(kind), Ok(action)) = (kind.parse::<RecordKind>(), action.parse::<Action>()) else {
            return false;
        };
        self.user.as_ref().is_some_and(|u| u.can(kind, action))
    }
    pub fn user_name(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.display_name.as_str())
            .unwrap_or("")
    }
    pub fn lang(&self) -> &str {
        self.tr.locale
    }
    /// A time in the viewer's zone, `2026-11-23 14:05`.
    pub fn time(&self, ms: &i64) -> String {
        let zone = self
            .user
            .as_ref()
            .map(|u| u.time_zone.as_str())
            .unwrap_or("Asia/Shanghai");
        let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_millisecond(*ms)
            .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|_| rfc3339(*ms))
    }
}

/// The language of a request: the user's setting, else the language cookie, else the browser.
pub fn locale_for(headers: &HeaderMap, actor: Option<&Actor>) -> Tr {
    if let Some(a) = actor.filter(|a| a.locale != LOCALE_AUTO) {
        return Tr::new(&a.locale);
    }
    if let Some(lang) = cookie(headers, LANG_COOKIE) {
        return Tr::new(lang);
    }
    Tr::new(negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    ))
}

/// The signed-in user of a page; anyone else is sent to the login page.
pub struct PageActor {
    pub actor: Actor,
    pub chrome: Chrome,
}

impl<S> FromRequestParts<S> for PageActor
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        // Pages only accept the session cookie: a bearer token is for the API.
        let Some(_) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/login").into_response());
        };
        let actor = resolve_actor(&state, &parts.headers)
            .await
            .map_err(|_| Redirect::to("/login").into_response())?;
        let csrf = match &actor.auth {
            AuthMethod::Session { csrf_token } => csrf_token.clone(),
            _ => String::new(),
        };
        let tr = locale_for(&parts.headers, Some(&actor));
        let org_name = state
            .app
            .org_settings()
            .await
            .map(|s| s.name)
            .unwrap_or_default();
        let notice = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("notice=")))
            .filter(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .map(|k| tr.t(&format!("notice.{k}")));
        Ok(Self {
            chrome: Chrome {
                tr,
                user: Some(actor.clone()),
                csrf,
                org_name,
                notice,
            },
            actor,
        })
    }
}

impl PageActor {
    /// Refuses a form whose CSRF token is not the session's. The error is the page to answer
    /// with, so handlers can return it as is.
    #[allow(clippy::result_large_err)]
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        if same_secret(sent, &self.chrome.csrf) {
            Ok(())
        } else {
            Err(error_page(
                &self.chrome,
                StatusCode::FORBIDDEN,
                "error.csrf",
            ))
        }
    }
}

/// Renders a page template, or a plain 500 when rendering fails.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: &'a Chrome,
    message: String,
}

pub fn error_page(chrome: &Chrome, status: StatusCode, key: &str) -> Response {
    (
        status,
        render(&ErrorPage {
            chrome,
            message: chrome.tr.t(key),
        }),
    )
        .into_response()
}

/// Maps a use-case failure to a page: 404 and 403 as error pages, anything else as a 500.
pub fn app_error_page(chrome: &Chrome, e: AppError) -> Response {
    match e {
        AppError::NotFound => error_page(chrome, StatusCode::NOT_FOUND, "error.not_found"),
        AppError::Forbidden => error_page(chrome, StatusCode::FORBIDDEN, "error.forbidden"),
        AppError::Stale => error_page(chrome, StatusCode::PRECONDITION_FAILED, "error.stale"),
        AppError::Conflict(_) => error_page(chrome, StatusCode::CONFLICT, "error.conflict"),
        _ => error_page(chrome, StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
    }
}

/// An optional query parameter or form field; blank means "not given".
pub(super) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A form field as an optional value: blank is none.
pub(super) fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The redirect after a successful form post.
pub(super) fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// Percent-encodes a query value.
pub(super) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A urlencoded form kept as pairs, so repeated fields (checkbox groups) survive.
pub(super) struct Fields(pub(super) Vec<(String, String)>);

impl Fields {
    pub(super) fn one(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn id(&self, name: &str) -> Option<i64> {
        self.one(name).trim().parse().ok()
    }
    pub(super) fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
    /// A missing or garbled version is never current, so it ends as a stale-record error.
    pub(super) fn version(&self) -> i64 {
        self.id("version").unwrap_or(-1)
    }
}

/// An amount in fen as the viewer's language writes yuan.
pub(super) fn money(fen: i64, tr: &crate::i18n::Tr) -> String {
    stride_domain::money::Money::new(fen, stride_domain::money::Currency::CNY).format(tr.locale)
}

/// Field errors of a refused form, translated where a text exists for the code.
pub fn field_errors(tr: &Tr, e: &AppError) -> Vec<(String, String)> {
    match e {
        AppError::Validation(errors) => errors
            .iter()
            .map(|f| {
                let key = format!("field_error.{}", f.code);
                let text = tr.t(&key);
                (
                    f.field.clone(),
                    if text == key { f.message.clone() } else { text },
                )
            })
            .collect(),
        _ => vec![],
    }
}

pub async fn not_found_page() -> Response {
    let chrome = Chrome {
        tr: Tr::new("en"),
        user: None,
        csrf: String::new(),
        org_name: String::new(),
        notice: None,
    };
    error_page(&chrome, StatusCode::NOT_FOUND, "error.not_found")
}

// ---- home -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
}

async fn home(page: PageActor) -> Response {
    render(&HomePage {
        chrome: page.chrome,
    })
}

// ---- login, logout, language ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    error: Option<String>,
}

fn anonymous_chrome(headers: &HeaderMap) -> Chrome {
    Chrome {
        tr: locale_for(headers, None),
        user: None,
        csrf: String::new(),
        org_name: String::new(),
        notice: None,
    }
}

async fn login_page(headers: HeaderMap) -> Response {
    render(&LoginPage {
        chrome: anonymous_chrome(&headers),
        username: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let chrome = anonymous_chrome(&headers);
    match state.app.login(&form.username, &form.password, &ip).await {
        Ok(session) => {
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                let _ = state.app.logout(old).await;
            }
            let max_age = (session.expires_at_ms - state.app.now_ms()) / 1000;
            let set = crate::api::session_cookie(&state, &session.session_token, max_age);
            ([(header::SET_COOKIE, set)], Redirect::to("/")).into_response()
        }
        Err(e) => {
            let (status, key) = match e {
                AppError::TooManyRequests { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "login.throttled")
                }
                _ => (StatusCode::UNAUTHORIZED, "login.failed"),
            };
            let page = LoginPage {
                error: Some(chrome.tr.t(key)),
                username: form.username,
                chrome,
            };
            (status, render(&page)).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.app.logout(session).await;
    }
    let clear = crate::api::session_cookie(&state, "", 0);
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}

#[derive(Deserialize)]
struct LangForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    locale: String,
    back: Option<String>,
}

/// Only same-site paths are followed back, never another host.
fn safe_back(back: Option<&str>) -> &str {
    back.filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or("/")
}

/// The user menu's language switch: saved to the user's profile.
async fn switch_language(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<LangForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state
        .app
        .update_profile(&page.actor, Some(form.locale), None, None)
        .await
    {
        Ok(_) => Redirect::to(safe_back(form.back.as_deref())).into_response(),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[derive(Deserialize)]
struct LangQuery {
    locale: String,
}

/// The login page's language links: remembered in a cookie until someone signs in.
async fn switch_language_anonymous(Query(q): Query<LangQuery>) -> Response {
    let locale = Tr::new(&q.locale).locale;
    let set = format!("{LANG_COOKIE}={locale}; Path=/; SameSite=Lax; Max-Age=31536000");
    ([(header::SET_COOKIE, set)], Redirect::to("/login")).into_response()
}

// ---- the public lead form -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "lead_form_public.html")]
struct PublicLeadPage {
    chrome: Chrome,
    sent: bool,
    error: Option<String>,
    company: String,
    contact_name: String,
    phone: String,
    email: String,
    need: String,
}

#[derive(Deserialize, Default)]
struct PublicLeadForm {
    #[serde(default)]
    company: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    need: String,
    #[serde(default)]
    website: String,
}

#[derive(Deserialize)]
struct PublicLangQuery {
    lang: Option<String>,
}

fn public_chrome(headers: &HeaderMap, lang: Option<&str>) -> Chrome {
    let mut chrome = anonymous_chrome(headers);
    if let Some(lang) = lang {
        chrome.tr = Tr::new(lang);
    }
    chrome
}

/// The form a company links from its website: no login, lands in the configured team's queue.
async fn public_lead_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PublicLangQuery>,
) -> Response {
    let chrome = public_chrome(&headers, q.lang.as_deref());
    if state
        .app
        .org_settings()
        .await
        .map(|s| s.lead_form_department_id.is_none())
        .unwrap_or(true)
    {
        return error_page(&chrome, StatusCode::NOT_FOUND, "error.not_found");
    }
    render(&PublicLeadPage {
        chrome,
        sent: false,
        error: None,
        company: String::new(),
        contact_name: String::new(),
        phone: String::new(),
        email: String::new(),
        need: String::new(),
    })
}

async fn public_lead_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<PublicLeadForm>,
) -> Response {
    let chrome = public_chrome(&headers, None);
    let given = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    let lead = stride_app::leads::PublicLead {
        company: f.company.clone(),
        contact_name: given(&f.contact_name),
        phone: given(&f.phone),
        email: given(&f.email),
        need: given(&f.need),
        honeypot: given(&f.website),
    };
    let (status, error) = match state.app.submit_public_lead(lead, &ip).await {
        Ok(()) => (StatusCode::OK, None),
        Err(AppError::NotFound) => {
            return error_page(&chrome, StatusCode::NOT_FOUND, "error.not_found")
        }
        Err(AppError::TooManyRequests { .. }) => {
            (StatusCode::TOO_MANY_REQUESTS, Some("public_form.throttled"))
        }
        Err(AppError::Validation(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("public_form.invalid"),
        ),
        Err(e) => return app_error_page(&chrome, e),
    };
    let page = PublicLeadPage {
        sent: error.is_none(),
        error: error.map(|k| chrome.tr.t(k)),
        chrome,
        company: f.company,
        contact_name: f.contact_name,
        phone: f.phone,
        email: f.email,
        need: f.need,
    };
    (status, render(&page)).into_response()
}

/// Display names of the given users, as far as the viewer may read them; the viewer's own name
/// always. A failed read shows ids instead of names rather than failing the page.
async fn user_names(
    app: &stride_app::App,
    actor: &Actor,
    ids: Vec<i64>,
) -> std::collections::HashMap<i64, String> {
    match app.user_names(actor, &ids).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %e, "could not read user names");
            std::iter::once((actor.user_id, actor.display_name.clone())).collect()
        }
    }
}
