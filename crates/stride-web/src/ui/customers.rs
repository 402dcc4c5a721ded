//! Customer pages: the list and the public pool (公海), registration with duplicate checks,
//! the 360° view with contacts, and the search box.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Deserialize;
use stride_app::customers::{
    Contact, ContactData, Customer, CustomerData, CustomerFilter, SearchHit,
};
use stride_app::page::{PageRequest, MAX_LIMIT};
use stride_app::{Actor, App, AppError, FieldError};
use stride_domain::access::{Action, RecordKind};
use stride_domain::customers::{CreditRating, CustomerTier, DecisionRole};
use stride_domain::money::{Currency, Money};

use super::admin::{form_page, validation_errors, FieldErrors, Opt};
use super::attachments::{attachments_section, AttachmentsSection};
use super::leads::{activity_list, kind_options, ActivityInput, ActivityRow};
use super::user_names;
use super::{
    app_error_page, given, money, opt, percent_encode, render, see_other, Chrome, CsrfForm,
    PageActor,
};
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(customers_page))
        .route(
            "/customers/new",
            get(new_customer_page).post(create_customer),
        )
        .route("/customers/{id}", get(customer_page).post(update_customer))
        .route("/customers/{id}/claim", post(claim_customer))
        .route("/customers/{id}/release", post(release_customer))
        .route("/customers/{id}/contacts", post(create_contact))
        .route("/customers/{id}/activities", post(create_activity))
        .route("/customers/{id}/merge", post(merge_customer))
        .route("/search", get(search_page))
}

// ---- small helpers --------------------------------------------------------------------------

fn tier_label(tr: &Tr, tier: &str) -> String {
    tr.t_or(&format!("customer_tier.{tier}"), tier)
}

fn is_poor_credit(rating: Option<&str>) -> bool {
    rating
        .and_then(|r| r.parse::<CreditRating>().ok())
        .is_some_and(CreditRating::is_poor)
}

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

/// UTC milliseconds as a `datetime-local` value in the viewer's zone.
fn local_time_value(ms: i64, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

// ---- list and public pool -------------------------------------------------------------------

struct CustomerRow {
    id: i64,
    name: String,
    industry: String,
    region: String,
    tier: String,
    owner: String,
    poor_credit: bool,
    credit_rating: String,
    revisit_due: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    chrome: Chrome,
    pool: bool,
    q: String,
    tiers: Vec<Opt>,
    rows: Vec<CustomerRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct CustomersQuery {
    q: Option<String>,
    tier: Option<String>,
    pool: Option<String>,
    cursor: Option<String>,
}

async fn customers_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<CustomersQuery>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let pool = given(&query.pool).is_some_and(|p| p != "0" && p != "false");
    let tier = given(&query.tier)
        .and_then(|t| t.parse::<CustomerTier>().ok())
        .map(|t| t.as_str().to_owned());
    let filter = CustomerFilter {
        owner_id: None,
        tier: tier.clone(),
        pool,
        q: given(&query.q).map(str::to_owned),
    };
    let listed = match PageRequest::parse(None, given(&query.cursor)) {
        Ok(req) => app.list_customers(actor, &filter, req).await,
        Err(e) => Err(e),
    };
    let customers = match listed {
        Ok(c) => c,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let owners: Vec<i64> = customers.items.iter().filter_map(|c| c.owner_id).collect();
    let names = user_names(app, actor, owners).await;
    let revisit = match app.revisit_rule().await {
        Ok(r) => r,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let rows = customers
        .items
        .iter()
        .map(|c| CustomerRow {
            id: c.id,
            name: c.data.name.clone(),
            industry: c.data.industry.clone().unwrap_or_default(),
            region: c.data.region.clone().unwrap_or_default(),
            tier: tier_label(&tr, &c.tier),
            owner: c
                .owner_id
                .and_then(|o| names.get(&o).cloned())
                .unwrap_or_default(),
            poor_credit: is_poor_credit(c.data.credit_rating.as_deref()),
            credit_rating: c.data.credit_rating.clone().unwrap_or_default(),
            revisit_due: revisit.is_due(c),
        })
        .collect();
    let tiers = CustomerTier::ALL
        .iter()
        .map(|t| Opt {
            value: t.as_str().to_owned(),
            label: tier_label(&tr, t.as_str()),
            selected: tier.as_deref() == Some(t.as_str()),
        })
        .collect();
    let next = customers.next_cursor.as_deref().map(|cursor| {
        let mut params: Vec<(&str, &str)> = Vec::new();
        if pool {
            params.push(("pool", "1"));
        }
        if let Some(q) = given(&query.q) {
            params.push(("q", q));
        }
        if let Some(t) = tier.as_deref() {
            params.push(("tier", t));
        }
        params.push(("cursor", cursor));
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        format!("/customers?{}", query.join("&"))
    });
    render(&CustomersPage {
        pool,
        q: given(&query.q).unwrap_or("").to_owned(),
        tiers,
        rows,
        next,
        chrome: page.chrome,
    })
}

// ---- the registration form ------------------------------------------------------------------

/// What the customer form shows: a customer's fields, or what was entered.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CustomerInput {
    name: String,
    industry: String,
    size: String,
    region: String,
    address: String,
    website: String,
    credit_code: String,
    phone: String,
    email: String,
    needs: String,
    stage: String,
    credit_rating: String,
    /// Yuan, as a decimal.
    credit_limit: String,
    /// `datetime-local` in the viewer's zone.
    next_follow_up: String,
    /// Why the credit changes (the edit form only; kept in the credit history).
    credit_reason: String,
    version: String,
    allow_duplicate: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl CustomerInput {
    fn from_customer(c: &Customer, tz: &TimeZone) -> Self {
        let d = &c.data;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            name: d.name.clone(),
            industry: text(&d.industry),
            size: text(&d.size),
            region: text(&d.region),
            address: text(&d.address),
            website: text(&d.website),
            credit_code: text(&d.credit_code),
            phone: text(&d.phone),
            email: text(&d.email),
            needs: text(&d.needs),
            stage: text(&d.stage),
            credit_rating: text(&d.credit_rating),
            credit_limit: if d.credit_limit_minor == 0 {
                String::new()
            } else {
                Money::new(d.credit_limit_minor, Currency::CNY).to_decimal_string()
            },
            next_follow_up: d
                .next_follow_up_at_ms
                .map(|ms| local_time_value(ms, tz))
                .unwrap_or_default(),
            credit_reason: String::new(),
            version: c.version.to_string(),
            allow_duplicate: None,
            csrf: String::new(),
        }
    }

    /// The entered data, or the fields this form itself cannot read (amount, time).
    fn to_data(&self, tz: &TimeZone) -> Result<CustomerData, AppError> {
        let mut problems = Vec::new();
        let credit_limit_minor = match self.credit_limit.trim() {
            "" => 0,
            s => match Money::parse_decimal(s, Currency::CNY) {
                Ok(m) => m.minor,
                Err(e) => {
                    problems.push(FieldError::new("credit_limit", "invalid", e.to_string()));
                    0
                }
            },
        };
        let next_follow_up_at_ms = match self.next_follow_up.trim() {
            "" => None,
            s => {
                let ms = parse_local_time(s, tz);
                if ms.is_none() {
                    problems.push(FieldError::new(
                        "next_follow_up",
                        "invalid",
                        "not a date and time",
                    ));
                }
                ms
            }
        };
        if !problems.is_empty() {
            // The use case is not asked, so report what it would say about the name too.
            if self.name.trim().is_empty() {
                problems.push(FieldError::new("name", "required", "required"));
            }
            return Err(AppError::Validation(problems));
        }
        Ok(CustomerData {
            name: self.name.clone(),
            industry: opt(&self.industry),
            size: opt(&self.size),
            region: opt(&self.region),
            address: opt(&self.address),
            website: opt(&self.website),
            credit_code: opt(&self.credit_code),
            phone: opt(&self.phone),
            email: opt(&self.email),
            needs: opt(&self.needs),
            stage: opt(&self.stage),
            credit_rating: opt(&self.credit_rating),
            credit_limit_minor,
            next_follow_up_at_ms,
        })
    }

    fn allow_duplicate(&self) -> bool {
        self.allow_duplicate.is_some()
    }

    /// A missing or garbled version is never current, so it ends as a stale-record error.
    fn version(&self) -> i64 {
        self.version.trim().parse().unwrap_or(-1)
    }
}

/// Another customer that looks like the one entered.
struct DuplicateRow {
    customer_id: i64,
    /// Only when the viewer may see that customer.
    name: Option<String>,
    matched_on: String,
}

/// What a refused save shows: per-field messages, the look-alike customers, and whether the
/// user may confirm the save anyway (never for a credit code already registered).
#[derive(Default)]
struct Refusal {
    errors: FieldErrors,
    duplicates: Vec<DuplicateRow>,
    can_confirm: bool,
}

/// Turns a failed save into what the form shows, or hands back an error for an error page.
async fn refusal(
    app: &App,
    actor: &Actor,
    tr: &Tr,
    e: AppError,
    data: Option<&CustomerData>,
    except: Option<i64>,
) -> Result<Refusal, AppError> {
    let duplicate_fields: Vec<String> = match &e {
        AppError::Validation(errs) => errs
            .iter()
            .filter(|f| f.code == "duplicate")
            .map(|f| f.field.clone())
            .collect(),
        _ => vec![],
    };
    let errors = validation_errors(tr, e)?;
    let mut duplicates = Vec::new();
    if let (false, Some(data)) = (duplicate_fields.is_empty(), data) {
        if let Ok(hits) = app.customer_duplicates(actor, data, except).await {
            duplicates = hits
                .into_iter()
                .map(|h| DuplicateRow {
                    customer_id: h.customer_id,
                    name: h.name,
                    matched_on: tr.t_or(&format!("customer.{}", h.matched_on), &h.matched_on),
                })
                .collect();
        }
    }
    let can_confirm =
        !duplicate_fields.is_empty() && duplicate_fields.iter().all(|f| f != "credit_code");
    Ok(Refusal {
        errors,
        duplicates,
        can_confirm,
    })
}

fn rating_options(selected: &str) -> Vec<Opt> {
    CreditRating::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().to_owned(),
            label: r.as_str().to_owned(),
            selected: r.as_str() == selected.trim(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct CustomerFormPage {
    chrome: Chrome,
    input: CustomerInput,
    ratings: Vec<Opt>,
    errors: FieldErrors,
    duplicates: Vec<DuplicateRow>,
    can_confirm: bool,
}

fn customer_form(chrome: Chrome, input: CustomerInput, refused: Refusal) -> Response {
    let view = CustomerFormPage {
        chrome,
        ratings: rating_options(&input.credit_rating),
        input,
        errors: refused.errors,
        duplicates: refused.duplicates,
        can_confirm: refused.can_confirm,
    };
    form_page(&view, &view.errors)
}

async fn new_customer_page(page: PageActor) -> Response {
    if !page.actor.can(RecordKind::Customer, Action::Create) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    customer_form(page.chrome, CustomerInput::default(), Refusal::default())
}

async fn create_customer(
    State(state): State<AppState>,
    page: PageActor,
    Form(input): Form<CustomerInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor) = (&state.app, &page.actor);
    let tr = &page.chrome.tr;
    let e = match input.to_data(&zone(actor)) {
        Ok(d) => match app
            .create_customer(actor, d.clone(), input.allow_duplicate())
            .await
        {
            Ok(c) => return see_other(&format!("/customers/{}?notice=created", c.id)),
            Err(e) => refusal(app, actor, tr, e, Some(&d), None).await,
        },
        Err(e) => refusal(app, actor, tr, e, None, None).await,
    };
    match e {
        Ok(refused) => customer_form(page.chrome, input, refused),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- the 360° view --------------------------------------------------------------------------

/// The profile as label and value pairs, already formatted.
struct ProfileItem {
    label: String,
    value: String,
}

struct ContactRow {
    name: String,
    title: String,
    phone: String,
    email: String,
    role: String,
}

/// What the add-contact form shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContactInput {
    name: String,
    title: String,
    phone: String,
    email: String,
    wechat: String,
    decision_role: String,
    notes: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl ContactInput {
    fn to_data(&self) -> ContactData {
        ContactData {
            name: self.name.clone(),
            title: opt(&self.title),
            phone: opt(&self.phone),
            email: opt(&self.email),
            wechat: opt(&self.wechat),
            decision_role: opt(&self.decision_role),
            notes: opt(&self.notes),
        }
    }
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    chrome: Chrome,
    id: i64,
    name: String,
    tier: String,
    profile: Vec<ProfileItem>,
    poor_credit: bool,
    credit_rating: String,
    in_pool: bool,
    owner: String,
    /// The edit form; only for customers someone owns (pool customers are claimed first).
    input: CustomerInput,
    ratings: Vec<Opt>,
    errors: FieldErrors,
    duplicates: Vec<DuplicateRow>,
    can_confirm: bool,
    /// `None` when the viewer may not see contacts.
    contacts: Option<Vec<ContactRow>>,
    contact: ContactInput,
    roles: Vec<Opt>,
    contact_errors: FieldErrors,
    /// The customer's activities, newest first; `None` when the viewer may not see them.
    timeline: Option<Vec<ActivityRow>>,
    activity: ActivityInput,
    activity_kinds: Vec<Opt>,
    activity_errors: FieldErrors,
    /// The tier history, newest first.
    tiers: Vec<TierRow>,
    revisit_due: bool,
    /// Changes of credit rating and limit, newest first.
    credit_history: Vec<CreditRow>,
    /// The merge form: the customer number entered.
    merge_from: String,
    merge_errors: FieldErrors,
    attachments: Option<AttachmentsSection>,
}

/// One change of a customer's tier.
struct TierRow {
    tier: String,
    score: i64,
    reason: String,
    at: String,
}

/// One change of a customer's credit rating or limit.
struct CreditRow {
    at: String,
    rating: String,
    limit: String,
    by: String,
    reason: String,
}

/// Credit changes as rows: "A → C", "¥500,000.00 → ¥100,000.00" (unchanged values once).
async fn credit_rows(
    app: &App,
    actor: &Actor,
    chrome: &Chrome,
    changes: Vec<stride_app::customers::CreditChange>,
) -> Vec<CreditRow> {
    let tr = chrome.tr;
    let people = changes.iter().filter_map(|c| c.changed_by).collect();
    let names = user_names(app, actor, people).await;
    let moved = |before: String, after: String| {
        if before == after {
            after
        } else {
            format!("{before} → {after}")
        }
    };
    changes
        .into_iter()
        .map(|c| CreditRow {
            at: chrome.time(&c.at_ms),
            rating: moved(
                c.rating_before.unwrap_or_else(|| "—".to_owned()),
                c.rating_after.unwrap_or_else(|| "—".to_owned()),
            ),
            limit: moved(
                money(c.limit_before_minor, &tr),
                money(c.limit_after_minor, &tr),
            ),
            by: c
                .changed_by
                .map(|u| names.get(&u).cloned().unwrap_or_else(|| format!("#{u}")))
                .unwrap_or_default(),
            reason: c.reason.unwrap_or_default(),
        })
        .collect()
}

/// Entered values and errors of the forms on the 360° view, put over the stored ones.
#[derive(Default)]
struct Entered {
    customer: Option<(CustomerInput, Refusal)>,
    contact: Option<(ContactInput, FieldErrors)>,
    activity: Option<(ActivityInput, FieldErrors)>,
    merge: Option<(String, FieldErrors)>,
}

impl CustomerPage {
    /// Any form's errors make the page a refused form.
    fn any_errors(&self) -> &FieldErrors {
        [
            &self.errors,
            &self.contact_errors,
            &self.activity_errors,
            &self.merge_errors,
        ]
        .into_iter()
        .find(|e| !e.is_empty())
        .unwrap_or(&self.errors)
    }
}

fn profile_items(c: &Customer, tr: &Tr, chrome: &Chrome) -> Vec<ProfileItem> {
    let d = &c.data;
    let mut items: Vec<(&str, Option<String>)> = vec![
        ("industry", d.industry.clone()),
        ("size", d.size.clone()),
        ("region", d.region.clone()),
        ("address", d.address.clone()),
        ("website", d.website.clone()),
        ("credit_code", d.credit_code.clone()),
        ("phone", d.phone.clone()),
        ("email", d.email.clone()),
        ("needs", d.needs.clone()),
        ("stage", d.stage.clone()),
        ("credit_rating", d.credit_rating.clone()),
        ("credit_limit", Some(money(d.credit_limit_minor, tr))),
    ];
    items.push((
        "next_follow_up",
        d.next_follow_up_at_ms.map(|ms| chrome.time(&ms)),
    ));
    items.push((
        "last_activity",
        c.last_activity_at_ms.map(|ms| chrome.time(&ms)),
    ));
    items.push(("created", Some(chrome.time(&c.created_at_ms))));
    items
        .into_iter()
        .map(|(field, value)| ProfileItem {
            label: tr.t(&format!("customer.{field}")),
            value: value.unwrap_or_else(|| "—".to_owned()),
        })
        .collect()
}

/// The 360° view, with entered values and errors of a refused form put over the stored ones.
async fn customer_view(state: &AppState, page: PageActor, id: i64, forms: Entered) -> Response {
    let Entered {
        customer: entered,
        contact,
        activity,
        merge,
    } = forms;
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let (customer, tiers, credit_history) = match app.customer_with_histories(actor, id).await {
        Ok(found) => found,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let tiers = tiers
        .into_iter()
        .map(|c| TierRow {
            tier: tier_label(&tr, &c.tier),
            score: c.score,
            reason: c.reason,
            at: page.chrome.time(&c.at_ms),
        })
        .collect();
    let credit_history = credit_rows(app, actor, &page.chrome, credit_history).await;
    let revisit_due = match app.revisit_rule().await {
        Ok(rule) => rule.is_due(&customer),
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let (merge_from, merge_errors) = merge.unwrap_or_default();
    let contacts = match PageRequest::parse(Some(MAX_LIMIT), None) {
        Ok(req) => app.list_contacts(actor, Some(id), req).await,
        Err(e) => Err(e),
    };
    let contacts = match contacts {
        Ok(p) => Some(p.items.iter().map(|c| contact_row(c, &tr)).collect()),
        Err(AppError::Forbidden) => None,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let timeline = match activity_list(app, actor, &page.chrome, None, Some(id)).await {
        Ok(t) => t,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let (activity, activity_errors) = activity.unwrap_or_default();
    let activity_kinds = kind_options(&tr, &activity.kind);
    let owner = match customer.owner_id {
        Some(o) => user_names(app, actor, vec![o])
            .await
            .remove(&o)
            .unwrap_or_else(|| format!("#{o}")),
        None => String::new(),
    };
    let (input, refused) = entered.unwrap_or_else(|| {
        (
            CustomerInput::from_customer(&customer, &zone(actor)),
            Refusal::default(),
        )
    });
    let (contact, contact_errors) = contact.unwrap_or_default();
    let roles = DecisionRole::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().to_owned(),
            label: tr.t(&format!("decision_role.{}", r.as_str())),
            selected: contact.decision_role == r.as_str(),
        })
        .collect();
    let attachments = attachments_section(app, actor, &page.chrome, "customer", id).await;
    let view = CustomerPage {
        id,
        name: customer.data.name.clone(),
        tier: tier_label(&tr, &customer.tier),
        profile: profile_items(&customer, &tr, &page.chrome),
        poor_credit: is_poor_credit(customer.data.credit_rating.as_deref()),
        credit_rating: customer.data.credit_rating.clone().unwrap_or_default(),
        in_pool: customer.owner_id.is_none(),
        owner,
        ratings: rating_options(&input.credit_rating),
        input,
        errors: refused.errors,
        duplicates: refused.duplicates,
        can_confirm: refused.can_confirm,
        contacts,
        contact,
        roles,
        contact_errors,
        timeline,
        activity,
        activity_kinds,
        activity_errors,
        tiers,
        revisit_due,
        credit_history,
        merge_from,
        merge_errors,
        attachments,
        chrome: page.chrome,
    };
    form_page(&view, view.any_errors())
}

fn contact_row(c: &Contact, tr: &Tr) -> ContactRow {
    let d = &c.data;
    ContactRow {
        name: d.name.clone(),
        title: d.title.clone().unwrap_or_default(),
        phone: d.phone.clone().unwrap_or_default(),
        email: d.email.clone().unwrap_or_default(),
        role: d
            .decision_role
            .as_deref()
            .map(|r| tr.t_or(&format!("decision_role.{r}"), r))
            .unwrap_or_default(),
    }
}

async fn customer_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    customer_view(&state, page, id, Entered::default()).await
}

async fn update_customer(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(input): Form<CustomerInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor) = (&state.app, &page.actor);
    let tr = &page.chrome.tr;
    let (version, allow) = (input.version(), input.allow_duplicate());
    let credit_reason = Some(input.credit_reason.clone());
    let e = match input.to_data(&zone(actor)) {
        Ok(d) => match app
            .update_customer_with_reason(actor, id, version, d.clone(), allow, credit_reason)
            .await
        {
            Ok(_) => return see_other(&format!("/customers/{id}?notice=saved")),
            Err(e) => refusal(app, actor, tr, e, Some(&d), Some(id)).await,
        },
        Err(e) => refusal(app, actor, tr, e, None, Some(id)).await,
    };
    match e {
        Ok(refused) => {
            let forms = Entered {
                customer: Some((input, refused)),
                ..Entered::default()
            };
            customer_view(&state, page, id, forms).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn claim_customer(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.claim_customer(&page.actor, id).await {
        Ok(_) => see_other(&format!("/customers/{id}?notice=claimed")),
        // Someone was quicker, or the rep holds the most customers allowed.
        Err(AppError::Conflict(_)) => see_other("/customers?pool=1&notice=claim_failed"),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn release_customer(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.release_customer(&page.actor, id).await {
        Ok(_) => see_other(&format!("/customers/{id}?notice=released")),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn create_contact(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(input): Form<ContactInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    match state
        .app
        .create_contact(&page.actor, id, input.to_data())
        .await
    {
        Ok(_) => see_other(&format!("/customers/{id}?notice=created")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let forms = Entered {
                    contact: Some((input, errors)),
                    ..Entered::default()
                };
                customer_view(&state, page, id, forms).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

async fn create_activity(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(input): Form<ActivityInput>,
) -> Response {
    if let Err(r) = page.check_csrf(&input.csrf) {
        return r;
    }
    let (app, actor) = (&state.app, &page.actor);
    let recorded = match input.to_data(&zone(actor), app.now_ms()) {
        Ok(data) => app.record_activity(actor, None, Some(id), data).await,
        Err(e) => Err(e),
    };
    match recorded {
        Ok(_) => see_other(&format!("/customers/{id}?notice=activity_recorded")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let forms = Entered {
                    activity: Some((input, errors)),
                    ..Entered::default()
                };
                customer_view(&state, page, id, forms).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MergeForm {
    /// The number of the customer merged into this one (and then deleted).
    from_id: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// Merges another customer into this one: its contacts, activities and leads move over.
async fn merge_customer(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<MergeForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let entered = form.from_id.trim().trim_start_matches('#');
    let result = match entered.parse::<i64>() {
        Ok(from) => state.app.merge_customers(&page.actor, id, from).await,
        Err(_) if entered.is_empty() => Err(AppError::field(
            "from_id",
            "required",
            "the customer number to merge",
        )),
        Err(_) => Err(AppError::field("from_id", "invalid", "a customer number")),
    };
    match result {
        Ok(_) => see_other(&format!("/customers/{id}?notice=merged")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let forms = Entered {
                    merge: Some((form.from_id, errors)),
                    ..Entered::default()
                };
                customer_view(&state, page, id, forms).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

// ---- search ---------------------------------------------------------------------------------

struct HitRow {
    kind: String,
    title: String,
    detail: String,
    customer_id: Option<i64>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    /// `None` before anything was searched for.
    hits: Option<Vec<HitRow>>,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

fn hit_row(h: SearchHit, tr: &Tr) -> HitRow {
    HitRow {
        kind: tr.t(&format!("search_kind.{}", h.kind.as_str())),
        title: h.title,
        detail: h.detail.unwrap_or_default(),
        customer_id: h.customer_id,
    }
}

async fn search_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<SearchQuery>,
) -> Response {
    let tr = page.chrome.tr;
    let q = query.q.unwrap_or_default();
    let (hits, errors) = if q.trim().is_empty() {
        (None, FieldErrors::default())
    } else {
        match state.app.search(&page.actor, &q).await {
            Ok(hits) => (
                Some(hits.into_iter().map(|h| hit_row(h, &tr)).collect()),
                FieldErrors::default(),
            ),
            Err(e) => match validation_errors(&tr, e) {
                Ok(errors) => (None, errors),
                Err(e) => return app_error_page(&page.chrome, e),
            },
        }
    };
    let view = SearchPage {
        chrome: page.chrome,
        q,
        hits,
        errors,
    };
    form_page(&view, &view.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_times_are_read_in_the_viewers_zone() {
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        let ms = parse_local_time("2026-11-23T14:05", &shanghai);
        // 14:05 in Shanghai is 06:05 UTC.
        assert_eq!(ms, Some(1_795_413_900_000));
        assert_eq!(
            ms.map(|ms| local_time_value(ms, &shanghai)).as_deref(),
            Some("2026-11-23T14:05")
        );
        assert_eq!(parse_local_time("tomorrow", &shanghai), None);
    }

    #[test]
    fn credit_limits_are_yuan_and_poor_credit_is_b_or_c() {
        let input = CustomerInput {
            name: "华为".into(),
            credit_limit: "1,234.5".into(),
            ..CustomerInput::default()
        };
        let data = input.to_data(&TimeZone::UTC).ok();
        assert_eq!(data.map(|d| d.credit_limit_minor), Some(123_450));
        let bad = CustomerInput {
            credit_limit: "12.345".into(),
            ..CustomerInput::default()
        };
        assert!(matches!(
            bad.to_data(&TimeZone::UTC),
            Err(AppError::Validation(_))
        ));
        assert!(is_poor_credit(Some("B")));
        assert!(is_poor_credit(Some("C")));
        assert!(!is_poor_credit(Some("AAA")));
        assert!(!is_poor_credit(None));
    }
}
