//! Administration pages: users, departments, roles and their permission matrix, organisation
//! settings, the business calendar and the audit log.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use stride_app::audit::{AuditEntry, AuditFilter};
use stride_app::org::{
    Department, DepartmentData, DepartmentPatch, NewUser, Role, RoleData, RolePatch, User,
    UserData, UserFilter, UserPatch,
};
use stride_app::page::{Page, PageRequest, MAX_LIMIT};
use stride_app::settings::SettingsPatch;
use stride_app::{Actor, App, AppError, AppResult};
use stride_domain::access::{Action, DataScope, PermissionSet, RecordKind};
use stride_domain::calendar::{CalendarDay, DayKind};
use stride_domain::validate::{LOCALES, LOCALE_AUTO};

use super::{
    app_error_page, field_errors, given, percent_encode, render, see_other, Chrome, CsrfForm,
    Fields, PageActor,
};
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page))
        .route("/admin/users/new", get(new_user_page).post(create_user))
        .route("/admin/users/{id}", get(user_page).post(update_user))
        .route("/admin/users/{id}/hand-over", post(hand_over))
        .route(
            "/admin/departments",
            get(departments_page).post(create_department),
        )
        .route(
            "/admin/departments/{id}",
            get(department_page).post(update_department),
        )
        .route("/admin/departments/{id}/delete", post(delete_department))
        .route("/admin/roles", get(roles_page).post(create_role))
        .route("/admin/roles/{id}", get(role_page).post(update_role))
        .route("/admin/settings", get(settings_page).post(update_settings))
        .route("/admin/sales-policy", get(policy_page).post(update_policy))
        .route("/admin/rules", get(rules_page).post(create_rule))
        .route("/admin/rules/{id}/delete", post(delete_rule))
        .route("/admin/calendar", get(calendar_page).post(set_calendar_day))
        .route("/admin/calendar/{date}/delete", post(remove_calendar_day))
        .route("/admin/audit", get(audit_page))
}

// ---- shared pieces (also used by the profile page) ------------------------------------------

/// Per-field messages of a refused form. The lookup is `of`, not `get`: the i18n test reads
/// every `t("…")` in templates as a text key, and `get("…")` would look like one.
#[derive(Debug, Default)]
pub(super) struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A field refused here rather than by a use case (e.g. a filter that is not a number).
    fn invalid(&mut self, tr: &Tr, field: &str) {
        self.0.push((field.to_owned(), tr.t("field_error.invalid")));
    }
}

/// A validation failure becomes field errors for the form; any other failure is handed back
/// for an error page.
pub(super) fn validation_errors(tr: &Tr, e: AppError) -> Result<FieldErrors, AppError> {
    match e {
        AppError::Validation(_) => Ok(FieldErrors(field_errors(tr, &e))),
        e => Err(e),
    }
}

/// A page that shows a form: 422 when it carries errors, so clients and tests can tell.
pub(super) fn form_page(t: &impl Template, errors: &FieldErrors) -> Response {
    if errors.is_empty() {
        render(t)
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, render(t)).into_response()
    }
}

/// One `<option>` of a select, or one checkbox of a group.
pub(super) struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    fn new(value: impl ToString, label: impl Into<String>, selected: bool) -> Self {
        Self {
            value: value.to_string(),
            label: label.into(),
            selected,
        }
    }
}

/// The language choices of a user: automatic (browser), Chinese, English.
pub(super) fn locale_options(tr: &Tr, selected: &str) -> Vec<Opt> {
    std::iter::once(LOCALE_AUTO)
        .chain(LOCALES)
        .map(|l| {
            let key = format!("locale.{}", l.replace('-', "_").to_lowercase());
            Opt::new(l, tr.t(&key), l == selected)
        })
        .collect()
}

/// The link to the next page of a list, keeping its filters.
fn next_link(path: &str, filters: &[(&str, &str)], cursor: Option<&str>) -> Option<String> {
    let cursor = cursor?;
    let query: Vec<String> = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .chain([&("cursor", cursor)])
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    Some(format!("{path}?{}", query.join("&")))
}

/// Every page of a list, for selects and name lookups, which must not stop after the first page.
async fn all_pages<T, F, Fut>(mut fetch: F) -> AppResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = AppResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut req = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    loop {
        let page = fetch(req).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => req = PageRequest::parse(Some(MAX_LIMIT), Some(&c))?,
            None => return Ok(items),
        }
    }
}

async fn all_departments(app: &App, actor: &Actor) -> AppResult<Vec<Department>> {
    all_pages(move |p| app.list_departments(actor, p)).await
}

async fn all_users(app: &App, actor: &Actor) -> AppResult<Vec<User>> {
    let filter = UserFilter::default();
    let filter = &filter;
    all_pages(move |p| app.list_users(actor, filter, p)).await
}

async fn org_zone(app: &App) -> AppResult<TimeZone> {
    let settings = app.org_settings().await?;
    TimeZone::get(&settings.time_zone).map_err(|e| AppError::Internal(e.to_string()))
}

// ---- department tree ------------------------------------------------------------------------

/// One department in tree order. `close` says how many levels end after a leaf, so the
/// template can write nested lists without recursion.
struct TreeNode {
    id: i64,
    name: String,
    depth: usize,
    has_children: bool,
    close: usize,
}

/// Departments in tree order; one whose parent is out of the viewer's scope shows as a root.
fn department_tree(depts: &[Department]) -> Vec<TreeNode> {
    let known: HashMap<i64, ()> = depts.iter().map(|d| (d.id, ())).collect();
    let mut children: BTreeMap<Option<i64>, Vec<&Department>> = BTreeMap::new();
    for d in depts {
        let parent = d.parent_id.filter(|p| known.contains_key(p));
        children.entry(parent).or_default().push(d);
    }
    let mut order: Vec<(&Department, usize)> = Vec::new();
    let mut stack: Vec<(&Department, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|d| (*d, 0)).collect())
        .unwrap_or_default();
    while let Some((d, depth)) = stack.pop() {
        order.push((d, depth));
        if let Some(kids) = children.get(&Some(d.id)) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    (0..order.len())
        .map(|i| {
            let (d, depth) = order[i];
            let next_depth = order.get(i + 1).map(|(_, n)| *n).unwrap_or(0);
            TreeNode {
                id: d.id,
                name: d.name.clone(),
                depth,
                has_children: next_depth > depth,
                close: depth.saturating_sub(next_depth),
            }
        })
        .collect()
}

/// Departments as select options, indented by depth.
fn department_options(depts: &[Department], selected: Option<i64>) -> Vec<Opt> {
    department_tree(depts)
        .into_iter()
        .map(|n| {
            let label = format!("{}{}", "\u{3000}".repeat(n.depth), n.name);
            Opt::new(n.id, label, Some(n.id) == selected)
        })
        .collect()
}

fn department_names(depts: &[Department]) -> HashMap<i64, String> {
    depts.iter().map(|d| (d.id, d.name.clone())).collect()
}

fn role_names(roles: &[Role], ids: &[i64], tr: &Tr) -> String {
    tr.list(
        roles
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| r.name(tr.locale).to_owned()),
    )
}

// ---- users ----------------------------------------------------------------------------------

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    department: String,
    roles: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    departments: Vec<Opt>,
    active: Vec<Opt>,
    rows: Vec<UserRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct UsersQuery {
    q: Option<String>,
    department_id: Option<String>,
    active: Option<String>,
    cursor: Option<String>,
}

async fn users_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<UsersQuery>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, &page.chrome.tr);
    let filter = UserFilter {
        q: given(&query.q).map(str::to_owned),
        department_id: given(&query.department_id).and_then(|d| d.parse().ok()),
        active: given(&query.active).and_then(|a| a.parse().ok()),
    };
    let loaded = async {
        let req = PageRequest::parse(None, given(&query.cursor))?;
        let users = app.list_users(actor, &filter, req).await?;
        Ok::<_, AppError>((
            users,
            all_departments(app, actor).await?,
            app.list_roles(actor).await?,
        ))
    };
    let (users, depts, roles) = match loaded.await {
        Ok(x) => x,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let names = department_names(&depts);
    let rows = users
        .items
        .iter()
        .map(|u| UserRow {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            department: names.get(&u.department_id).cloned().unwrap_or_default(),
            roles: role_names(&roles, &u.role_ids, tr),
            active: u.active,
        })
        .collect();
    let active = [("true", "user.active"), ("false", "user.inactive")]
        .into_iter()
        .map(|(v, key)| Opt::new(v, tr.t(key), given(&query.active) == Some(v)))
        .collect();
    let next = next_link(
        "/admin/users",
        &[
            ("q", given(&query.q).unwrap_or("")),
            ("department_id", given(&query.department_id).unwrap_or("")),
            ("active", given(&query.active).unwrap_or("")),
        ],
        users.next_cursor.as_deref(),
    );
    render(&UsersPage {
        q: filter.q.clone().unwrap_or_default(),
        departments: department_options(&depts, filter.department_id),
        active,
        rows,
        next,
        chrome: page.chrome,
    })
}

/// What the user form shows: a user's fields, or what was entered.
struct UserInput {
    username: String,
    display_name: String,
    email: String,
    department_id: Option<i64>,
    manager_id: Option<i64>,
    role_ids: Vec<i64>,
    locale: String,
    time_zone: String,
    active: bool,
    version: i64,
}

impl UserInput {
    fn from_user(u: &User) -> Self {
        Self {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone().unwrap_or_default(),
            department_id: Some(u.department_id),
            manager_id: u.manager_id,
            role_ids: u.role_ids.clone(),
            locale: u.locale.clone(),
            time_zone: u.time_zone.clone(),
            active: u.active,
            version: u.version,
        }
    }
    fn from_fields(f: &Fields) -> Self {
        Self {
            username: f.one("username").trim().to_owned(),
            display_name: f.one("display_name").to_owned(),
            email: f.one("email").to_owned(),
            department_id: f.id("department_id"),
            manager_id: f.id("manager_id"),
            role_ids: f.all("role_ids").filter_map(|r| r.parse().ok()).collect(),
            locale: f.one("locale").to_owned(),
            time_zone: f.one("time_zone").trim().to_owned(),
            active: f.checked("active"),
            version: f.version(),
        }
    }
    fn email(&self) -> Option<String> {
        Some(self.email.trim().to_owned()).filter(|e| !e.is_empty())
    }
}

#[derive(Template)]
#[template(path = "admin_user_form.html")]
struct UserFormPage {
    chrome: Chrome,
    /// `None` while creating.
    user_id: Option<i64>,
    input: UserInput,
    departments: Vec<Opt>,
    managers: Vec<Opt>,
    roles: Vec<Opt>,
    locales: Vec<Opt>,
    /// Active users who may take over this user's customers and open deals.
    successors: Vec<Opt>,
    errors: FieldErrors,
}

/// The new-user or edit-user form with its choices loaded.
async fn user_form(
    state: &AppState,
    page: PageActor,
    user_id: Option<i64>,
    input: UserInput,
    errors: FieldErrors,
) -> Response {
    let (app, actor) = (&state.app, &page.actor);
    let loaded = async {
        Ok::<_, AppError>((
            all_departments(app, actor).await?,
            all_users(app, actor).await?,
            app.list_roles(actor).await?,
        ))
    };
    let (depts, users, roles) = match loaded.await {
        Ok(x) => x,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let tr = page.chrome.tr;
    let managers = users
        .iter()
        .filter(|u| Some(u.id) != user_id)
        .map(|u| {
            let label = format!("{} ({})", u.display_name, u.username);
            Opt::new(u.id, label, Some(u.id) == input.manager_id)
        })
        .collect();
    let roles = roles
        .iter()
        .map(|r| Opt::new(r.id, r.name(tr.locale), input.role_ids.contains(&r.id)))
        .collect();
    let successors = users
        .iter()
        .filter(|u| u.active && Some(u.id) != user_id)
        .map(|u| Opt::new(u.id, format!("{} ({})", u.display_name, u.username), false))
        .collect();
    let view = UserFormPage {
        departments: department_options(&depts, input.department_id),
        locales: locale_options(&tr, &input.locale),
        managers,
        roles,
        successors,
        user_id,
        input,
        errors,
        chrome: page.chrome,
    };
    form_page(&view, &view.errors)
}

async fn new_user_page(State(state): State<AppState>, page: PageActor) -> Response {
    let time_zone = match state.app.org_settings().await {
        Ok(s) => s.time_zone,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let input = UserInput {
        username: String::new(),
        display_name: String::new(),
        email: String::new(),
        department_id: Some(page.actor.department_id),
        manager_id: None,
        role_ids: vec![],
        locale: LOCALE_AUTO.to_owned(),
        time_zone,
        active: true,
        version: 0,
    };
    user_form(&state, page, None, input, FieldErrors::default()).await
}

async fn create_user(
    State(state): State<AppState>,
    page: PageActor,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(r) = page.check_csrf(fields.one("_csrf")) {
        return r;
    }
    let input = UserInput::from_fields(&fields);
    let new = NewUser {
        data: UserData {
            username: input.username.clone(),
            display_name: input.display_name.clone(),
            email: input.email(),
            department_id: input.department_id.unwrap_or(0),
            manager_id: input.manager_id,
            role_ids: input.role_ids.clone(),
            active: true,
            locale: input.locale.clone(),
            time_zone: input.time_zone.clone(),
        },
        password: fields.one("password").to_owned(),
    };
    match state.app.create_user(&page.actor, new).await {
        Ok(u) => see_other(&format!("/admin/users/{}?notice=created", u.id)),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => user_form(&state, page, None, input, errors).await,
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

async fn user_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    match state.app.get_user(&page.actor, id).await {
        Ok(u) => {
            let input = UserInput::from_user(&u);
            user_form(&state, page, Some(id), input, FieldErrors::default()).await
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn update_user(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(r) = page.check_csrf(fields.one("_csrf")) {
        return r;
    }
    let mut input = UserInput::from_fields(&fields);
    let patch = UserPatch {
        display_name: Some(input.display_name.clone()),
        email: Some(input.email()),
        department_id: Some(input.department_id.unwrap_or(0)),
        manager_id: Some(input.manager_id),
        role_ids: Some(input.role_ids.clone()),
        active: Some(input.active),
        locale: Some(input.locale.clone()),
        time_zone: Some(input.time_zone.clone()),
    };
    match state
        .app
        .update_user(&page.actor, id, input.version, patch)
        .await
    {
        Ok(_) => see_other(&format!("/admin/users/{id}?notice=saved")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                // The login name is not a form field when editing; show the stored one.
                if let Ok(u) = state.app.get_user(&page.actor, id).await {
                    input.username = u.username;
                }
                user_form(&state, page, Some(id), input, errors).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

/// Hands the user's customers and open opportunities to a successor (a rep leaving); the
/// page comes back with what moved, or with the refusal next to the successor field.
async fn hand_over(
    State(state): State<AppState>,
    mut page: PageActor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(r) = page.check_csrf(fields.one("_csrf")) {
        return r;
    }
    let user = match state.app.get_user(&page.actor, id).await {
        Ok(u) => u,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let to = fields.one("to_user_id").trim().parse::<i64>().unwrap_or(0);
    let result = state.app.hand_over_customers(&page.actor, id, to).await;
    let errors = match result {
        Ok(moved) => {
            let (customers, opportunities) =
                (moved.customers.to_string(), moved.opportunities.to_string());
            page.chrome.notice = Some(page.chrome.tr.f(
                "user.handed_over",
                &[("customers", &customers), ("opportunities", &opportunities)],
            ));
            FieldErrors::default()
        }
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => errors,
            Err(e) => return app_error_page(&page.chrome, e),
        },
    };
    user_form(&state, page, Some(id), UserInput::from_user(&user), errors).await
}

// ---- departments ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_departments.html")]
struct DepartmentsPage {
    chrome: Chrome,
    tree: Vec<TreeNode>,
    parents: Vec<Opt>,
    name: String,
    errors: FieldErrors,
}

async fn departments_view(
    state: &AppState,
    page: PageActor,
    parent_id: Option<i64>,
    name: String,
    errors: FieldErrors,
) -> Response {
    let depts = match all_departments(&state.app, &page.actor).await {
        Ok(d) => d,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let view = DepartmentsPage {
        tree: department_tree(&depts),
        parents: department_options(&depts, parent_id),
        name,
        errors,
        chrome: page.chrome,
    };
    form_page(&view, &view.errors)
}

async fn departments_page(State(state): State<AppState>, page: PageActor) -> Response {
    departments_view(&state, page, None, String::new(), FieldErrors::default()).await
}

#[derive(Deserialize)]
struct DepartmentForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    parent_id: Option<String>,
    version: Option<String>,
}

impl DepartmentForm {
    fn parent_id(&self) -> Option<i64> {
        given(&self.parent_id).and_then(|p| p.parse().ok())
    }
    fn version(&self) -> i64 {
        given(&self.version)
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1)
    }
}

async fn create_department(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<DepartmentForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let data = DepartmentData {
        parent_id: form.parent_id(),
        name: form.name.clone(),
    };
    match state.app.create_department(&page.actor, data).await {
        Ok(_) => see_other("/admin/departments?notice=created"),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => departments_view(&state, page, form.parent_id(), form.name, errors).await,
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

#[derive(Template)]
#[template(path = "admin_department.html")]
struct DepartmentPage {
    chrome: Chrome,
    id: i64,
    name: String,
    parents: Vec<Opt>,
    /// The top of the tree has no parent and cannot get one.
    is_root: bool,
    version: i64,
    errors: FieldErrors,
}

async fn department_view(
    state: &AppState,
    page: PageActor,
    current: Department,
    errors: FieldErrors,
) -> Response {
    let depts = match all_departments(&state.app, &page.actor).await {
        Ok(d) => d,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let view = DepartmentPage {
        id: current.id,
        parents: department_options(&depts, current.parent_id),
        is_root: current.parent_id.is_none(),
        name: current.name,
        version: current.version,
        errors,
        chrome: page.chrome,
    };
    form_page(&view, &view.errors)
}

async fn department_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    match state.app.get_department(&page.actor, id).await {
        Ok(d) => department_view(&state, page, d, FieldErrors::default()).await,
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn update_department(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<DepartmentForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let patch = DepartmentPatch {
        parent_id: form.parent_id(),
        name: Some(form.name.clone()),
    };
    let result = state
        .app
        .update_department(&page.actor, id, form.version(), patch)
        .await;
    match result {
        Ok(_) => see_other(&format!("/admin/departments/{id}?notice=saved")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let entered = Department {
                    id,
                    parent_id: form.parent_id(),
                    name: form.name.clone(),
                    version: form.version(),
                    created_at_ms: 0,
                    updated_at_ms: 0,
                };
                department_view(&state, page, entered, errors).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

#[derive(Deserialize)]
struct VersionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: i64,
}

async fn delete_department(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state
        .app
        .delete_department(&page.actor, id, form.version)
        .await
    {
        Ok(()) => see_other("/admin/departments?notice=deleted"),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- roles ----------------------------------------------------------------------------------

fn scope_options(tr: &Tr, selected: DataScope) -> Vec<Opt> {
    DataScope::ALL
        .into_iter()
        .map(|s| {
            let label = tr.t(&format!("scope.{}", s.as_str()));
            Opt::new(s.as_str(), label, s == selected)
        })
        .collect()
}

struct RoleRow {
    id: i64,
    code: String,
    name: String,
    scope: String,
    builtin: bool,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    chrome: Chrome,
    rows: Vec<RoleRow>,
    scopes: Vec<Opt>,
    code: String,
    name_zh: String,
    name_en: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
struct RoleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    code: String,
    name_zh: String,
    name_en: String,
    data_scope: String,
}

impl RoleForm {
    fn scope(&self) -> DataScope {
        self.data_scope.parse().unwrap_or(DataScope::Own)
    }
}

async fn roles_view(
    state: &AppState,
    page: PageActor,
    form: RoleForm,
    errors: FieldErrors,
) -> Response {
    let roles = match state.app.list_roles(&page.actor).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let tr = page.chrome.tr;
    let rows = roles
        .iter()
        .map(|r| RoleRow {
            id: r.id,
            code: r.code.clone(),
            name: r.name(tr.locale).to_owned(),
            scope: tr.t(&format!("scope.{}", r.scope.as_str())),
            builtin: r.builtin,
        })
        .collect();
    let view = RolesPage {
        rows,
        scopes: scope_options(&tr, form.scope()),
        code: form.code,
        name_zh: form.name_zh,
        name_en: form.name_en,
        errors,
        chrome: page.chrome,
    };
    form_page(&view, &view.errors)
}

async fn roles_page(State(state): State<AppState>, page: PageActor) -> Response {
    roles_view(&state, page, RoleForm::default(), FieldErrors::default()).await
}

async fn create_role(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<RoleForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    // A new role starts without permissions; they are granted in its matrix next.
    let data = RoleData {
        code: form.code.trim().to_owned(),
        name_zh: form.name_zh.clone(),
        name_en: form.name_en.clone(),
        scope: form.scope(),
        permissions: PermissionSet::default(),
    };
    match state.app.create_role(&page.actor, data).await {
        Ok(r) => see_other(&format!("/admin/roles/{}?notice=created", r.id)),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => roles_view(&state, page, form, errors).await,
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

struct MatrixCell {
    value: String,
    label: String,
    checked: bool,
}

struct MatrixRow {
    label: String,
    cells: Vec<MatrixCell>,
}

#[derive(Template)]
#[template(path = "admin_role.html")]
struct RolePage {
    chrome: Chrome,
    id: i64,
    code: String,
    builtin: bool,
    name_zh: String,
    name_en: String,
    scopes: Vec<Opt>,
    actions: Vec<String>,
    rows: Vec<MatrixRow>,
    version: i64,
    errors: FieldErrors,
}

/// The role page for `role` as stored, or with the entered values in its fields.
fn role_view(chrome: Chrome, role: Role, errors: FieldErrors) -> Response {
    let tr = chrome.tr;
    let action_label = |a: &Action| tr.t(&format!("action.{}", a.as_str()));
    let rows = RecordKind::ALL
        .iter()
        .map(|k| {
            let kind_label = tr.t(&format!("kind.{}", k.as_str()));
            MatrixRow {
                cells: Action::ALL
                    .iter()
                    .map(|a| MatrixCell {
                        value: format!("{}.{}", k.as_str(), a.as_str()),
                        label: format!("{kind_label} · {}", action_label(a)),
                        checked: role.permissions.allows(*k, *a),
                    })
                    .collect(),
                label: kind_label,
            }
        })
        .collect();
    let view = RolePage {
        id: role.id,
        scopes: scope_options(&tr, role.scope),
        actions: Action::ALL.iter().map(action_label).collect(),
        rows,
        code: role.code,
        builtin: role.builtin,
        name_zh: role.name_zh,
        name_en: role.name_en,
        version: role.version,
        errors,
        chrome,
    };
    form_page(&view, &view.errors)
}

async fn role_page(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
) -> Response {
    match state.app.get_role(&page.actor, id).await {
        Ok(r) => role_view(page.chrome, r, FieldErrors::default()),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

async fn update_role(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let fields = Fields(fields);
    if let Err(r) = page.check_csrf(fields.one("_csrf")) {
        return r;
    }
    let before = match state.app.get_role(&page.actor, id).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    // Unknown cells can only come from a forged form; they are dropped, not granted.
    let permissions = PermissionSet::parse_all(
        fields
            .all("perm")
            .filter(|p| PermissionSet::parse_all([*p]).is_ok()),
    )
    .unwrap_or_default();
    let entered = Role {
        name_zh: fields.one("name_zh").to_owned(),
        name_en: fields.one("name_en").to_owned(),
        scope: fields.one("data_scope").parse().unwrap_or(before.scope),
        permissions,
        version: fields.version(),
        ..before
    };
    let patch = RolePatch {
        name_zh: Some(entered.name_zh.clone()),
        name_en: Some(entered.name_en.clone()),
        scope: Some(entered.scope),
        permissions: Some(entered.permissions.clone()),
    };
    match state
        .app
        .update_role(&page.actor, id, entered.version, patch)
        .await
    {
        Ok(_) => see_other(&format!("/admin/roles/{id}?notice=saved")),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => role_view(page.chrome, entered, errors),
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

// ---- organisation settings ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    name: String,
    time_zone: String,
    currency: String,
    version: i64,
    /// The team receiving public web form leads; `None` when the viewer may not list teams
    /// (the select is left out and the setting kept).
    lead_form_departments: Option<Vec<Opt>>,
    /// The public form is on: link to it.
    lead_form_on: bool,
    errors: FieldErrors,
}

/// The departments the public form can feed, or `None` when the viewer may not list them.
async fn lead_form_departments(
    app: &App,
    actor: &Actor,
    selected: Option<i64>,
) -> Option<Vec<Opt>> {
    all_departments(app, actor)
        .await
        .ok()
        .map(|depts| department_options(&depts, selected))
}

async fn settings_page(State(state): State<AppState>, page: PageActor) -> Response {
    match state.app.org_settings().await {
        Ok(s) => {
            let lead_form_departments =
                lead_form_departments(&state.app, &page.actor, s.lead_form_department_id).await;
            render(&SettingsPage {
                chrome: page.chrome,
                name: s.name,
                time_zone: s.time_zone,
                currency: s.currency,
                version: s.version,
                lead_form_departments,
                lead_form_on: s.lead_form_department_id.is_some(),
                errors: FieldErrors::default(),
            })
        }
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    time_zone: String,
    currency: String,
    version: i64,
    /// Absent: unchanged; empty: the public form is off; a department number: its queue.
    lead_form_department_id: Option<String>,
}

impl SettingsForm {
    /// The patch of the public form's team, or `Err` for a value that is not a number.
    fn lead_form_department(&self) -> Result<Option<Option<i64>>, ()> {
        match self.lead_form_department_id.as_deref().map(str::trim) {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(v) => v.parse().map(|id| Some(Some(id))).map_err(drop),
        }
    }
}

async fn update_settings(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let department = form.lead_form_department();
    let result = match department {
        Ok(lead_form_department_id) => {
            let patch = SettingsPatch {
                name: Some(form.name.clone()),
                time_zone: Some(form.time_zone.trim().to_owned()),
                currency: Some(form.currency.trim().to_owned()),
                lead_form_department_id,
            };
            state
                .app
                .update_org_settings(&page.actor, form.version, patch)
                .await
        }
        Err(()) => Err(AppError::field(
            "lead_form_department_id",
            "invalid",
            "not a department",
        )),
    };
    match result {
        Ok(_) => see_other("/admin/settings?notice=saved"),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let current = state.app.org_settings().await.ok();
                let entered = match department {
                    Ok(Some(d)) => d,
                    _ => current.as_ref().and_then(|s| s.lead_form_department_id),
                };
                let lead_form_departments =
                    lead_form_departments(&state.app, &page.actor, entered).await;
                let view = SettingsPage {
                    chrome: page.chrome,
                    name: form.name,
                    time_zone: form.time_zone,
                    currency: form.currency,
                    version: form.version,
                    lead_form_departments,
                    lead_form_on: current.is_some_and(|s| s.lead_form_department_id.is_some()),
                    errors,
                };
                form_page(&view, &view.errors)
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

// ---- lead assignment rules ------------------------------------------------------------------

struct RuleRow {
    id: i64,
    priority: i64,
    region: String,
    industry: String,
    team: String,
}

#[derive(Template)]
#[template(path = "admin_rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<RuleRow>,
    departments: Vec<Opt>,
    input: RuleForm,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RuleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    priority: String,
    region: String,
    industry: String,
    department_id: String,
}

async fn rules_view(
    state: &AppState,
    page: PageActor,
    input: RuleForm,
    errors: FieldErrors,
) -> Response {
    let (app, actor) = (&state.app, &page.actor);
    let rules = match app.assignment_rules(actor).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    // A team out of the viewer's sight still shows, by number.
    let depts = all_departments(app, actor).await.unwrap_or_default();
    let names = department_names(&depts);
    let selected = input.department_id.trim().parse().ok();
    let view = RulesPage {
        rules: rules
            .into_iter()
            .map(|r| RuleRow {
                id: r.id,
                priority: r.priority,
                region: r.region.unwrap_or_default(),
                industry: r.industry.unwrap_or_default(),
                team: names
                    .get(&r.department_id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", r.department_id)),
            })
            .collect(),
        departments: department_options(&depts, selected),
        input,
        errors,
        chrome: page.chrome,
    };
    form_page(&view, &view.errors)
}

async fn rules_page(State(state): State<AppState>, page: PageActor) -> Response {
    let input = RuleForm {
        priority: "100".into(),
        ..RuleForm::default()
    };
    rules_view(&state, page, input, FieldErrors::default()).await
}

async fn create_rule(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<RuleForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let tr = page.chrome.tr;
    let mut errors = FieldErrors::default();
    let priority = form.priority.trim().parse::<i64>().ok();
    if priority.is_none() {
        errors.invalid(&tr, "priority");
    }
    let department = form.department_id.trim().parse::<i64>().ok();
    if department.is_none() {
        errors
            .0
            .push(("department_id".into(), tr.t("field_error.required")));
    }
    let (Some(priority), Some(department)) = (priority, department) else {
        return rules_view(&state, page, form, errors).await;
    };
    let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let added = state
        .app
        .add_assignment_rule(
            &page.actor,
            priority,
            text(&form.region),
            text(&form.industry),
            department,
        )
        .await;
    match added {
        Ok(_) => see_other("/admin/rules?notice=created"),
        Err(e) => match validation_errors(&tr, e) {
            Ok(errors) => rules_view(&state, page, form, errors).await,
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

async fn delete_rule(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.remove_assignment_rule(&page.actor, id).await {
        Ok(()) => see_other("/admin/rules?notice=deleted"),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- business calendar ----------------------------------------------------------------------

struct DayRow {
    date: String,
    kind: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    year: i16,
    days: Vec<DayRow>,
    kinds: Vec<Opt>,
    date: String,
    name: String,
    errors: FieldErrors,
    from_date: String,
    working_days: String,
    result: Option<String>,
    calc_errors: FieldErrors,
}

#[derive(Deserialize, Default)]
struct CalendarQuery {
    year: Option<String>,
    from_date: Option<String>,
    days: Option<String>,
}

/// 09:00 on `from` in the organisation's zone, plus `days` working days.
async fn working_days_result(
    app: &App,
    tr: &Tr,
    from: Option<&str>,
    days: Option<&str>,
) -> (Option<String>, FieldErrors) {
    let mut errors = FieldErrors::default();
    let (Some(from), Some(days)) = (from, days) else {
        return (None, errors);
    };
    let date = from.parse::<Date>().ok();
    let n = days.parse::<u32>().ok();
    if date.is_none() {
        errors.invalid(tr, "from_date");
    }
    if n.is_none() {
        errors.invalid(tr, "days");
    }
    let (Some(date), Some(n)) = (date, n) else {
        return (None, errors);
    };
    let computed = async {
        let tz = org_zone(app).await?;
        let start = date
            .at(9, 0, 0, 0)
            .to_zoned(tz.clone())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let end = app.add_working_days(start.timestamp(), n).await?;
        Ok::<_, AppError>(end.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
    };
    match computed.await {
        Ok(end) => (
            Some(tr.f("calendar.result", &[("date", end.as_str())])),
            errors,
        ),
        Err(e) => (None, FieldErrors(field_errors(tr, &e))),
    }
}

async fn calendar_view(
    state: &AppState,
    page: PageActor,
    query: CalendarQuery,
    entered: Option<(String, DayKind, String)>,
    errors: FieldErrors,
) -> Response {
    let (app, tr) = (&state.app, page.chrome.tr);
    let year = match given(&query.year).and_then(|y| y.parse::<i16>().ok()) {
        Some(y) => y,
        None => match org_zone(app).await {
            Ok(tz) => jiff::Timestamp::from_millisecond(app.now_ms())
                .map(|t| t.to_zoned(tz).year())
                .unwrap_or(2026),
            Err(e) => return app_error_page(&page.chrome, e),
        },
    };
    let range = Date::new(year, 1, 1).and_then(|from| Ok((from, Date::new(year, 12, 31)?)));
    let days = match range {
        Ok((from, to)) => app.calendar_days(from, to).await,
        Err(_) => Ok(vec![]),
    };
    let days = match days {
        Ok(d) => d,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    let (result, calc_errors) =
        working_days_result(app, &tr, given(&query.from_date), given(&query.days)).await;
    let (date, kind, name) = entered.unwrap_or((String::new(), DayKind::Holiday, String::new()));
    let view = CalendarPage {
        year,
        days: days
            .into_iter()
            .map(|d| DayRow {
                date: d.date.to_string(),
                kind: tr.t(&format!("day_kind.{}", d.kind.as_str())),
                name: d.name,
            })
            .collect(),
        kinds: [DayKind::Holiday, DayKind::Workday]
            .into_iter()
            .map(|k| {
                let label = tr.t(&format!("day_kind.{}", k.as_str()));
                Opt::new(k.as_str(), label, k == kind)
            })
            .collect(),
        date,
        name,
        errors,
        from_date: given(&query.from_date).unwrap_or("").to_owned(),
        working_days: given(&query.days).unwrap_or("").to_owned(),
        result,
        calc_errors,
        chrome: page.chrome,
    };
    form_page(&view, &view.errors)
}

async fn calendar_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(query): Query<CalendarQuery>,
) -> Response {
    calendar_view(&state, page, query, None, FieldErrors::default()).await
}

#[derive(Deserialize)]
struct CalendarForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    date: String,
    kind: String,
    name: String,
}

async fn set_calendar_day(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<CalendarForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let kind = form.kind.parse().unwrap_or(DayKind::Holiday);
    let result = match form.date.trim().parse::<Date>() {
        Ok(date) => {
            let day = CalendarDay {
                date,
                kind,
                name: form.name.clone(),
            };
            state.app.set_calendar_day(&page.actor, day).await
        }
        Err(_) => Err(AppError::field("date", "invalid", "not a date")),
    };
    match result {
        Ok(day) => see_other(&format!(
            "/admin/calendar?year={}&notice=saved",
            day.date.year()
        )),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => {
                let entered = Some((form.date, kind, form.name));
                calendar_view(&state, page, CalendarQuery::default(), entered, errors).await
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}

async fn remove_calendar_day(
    State(state): State<AppState>,
    page: PageActor,
    Path(date): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let Ok(date) = date.parse::<Date>() else {
        return app_error_page(&page.chrome, AppError::NotFound);
    };
    match state.app.remove_calendar_day(&page.actor, date).await {
        Ok(()) => see_other(&format!(
            "/admin/calendar?year={}&notice=deleted",
            date.year()
        )),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

// ---- audit log ------------------------------------------------------------------------------

/// Actions the audit log records; others still show, under their raw name.
const AUDIT_ACTIONS: [&str; 8] = [
    "create",
    "update",
    "delete",
    "export",
    "login",
    "change_password",
    "create_token",
    "revoke_token",
];

struct AuditRow {
    at_ms: i64,
    actor: String,
    action: String,
    kind: String,
    record_id: String,
    change: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    chrome: Chrome,
    actors: Vec<Opt>,
    kinds: Vec<Opt>,
    actions: Vec<Opt>,
    record_id: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    next: Option<String>,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct AuditQuery {
    actor_id: Option<String>,
    record_kind: Option<String>,
    record_id: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

/// The start of a date in the viewer's zone, `days` later; dates are whole days in the filter.
fn day_start_ms(date: &str, zone: &str, days: i64) -> Option<i64> {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let date = date
        .parse::<Date>()
        .ok()?
        .checked_add(jiff::Span::new().days(days))
        .ok()?;
    date.to_zoned(tz)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

fn compact_json(v: Option<&serde_json::Value>) -> String {
    v.and_then(|v| serde_json::to_string(v).ok())
        .unwrap_or_else(|| "—".to_owned())
}

fn audit_row(tr: &Tr, e: AuditEntry) -> AuditRow {
    AuditRow {
        at_ms: e.at_ms,
        action: tr.t_or(&format!("audit_action.{}", e.action), &e.action),
        kind: tr.t_or(&format!("kind.{}", e.record_kind), &e.record_kind),
        record_id: e.record_id.map(|i| i.to_string()).unwrap_or_default(),
        change: format!(
            "{} → {}",
            compact_json(e.before.as_ref()),
            compact_json(e.after.as_ref())
        ),
        actor: e.actor_name,
    }
}

async fn audit_page(
    State(state): State<AppState>,
    page: PageActor,
    Query(q): Query<AuditQuery>,
) -> Response {
    let (app, actor, tr) = (&state.app, &page.actor, page.chrome.tr);
    let mut errors = FieldErrors::default();
    // A filter that cannot mean anything is reported and left out, not silently widened.
    let mut number = |field: &str, v: &Option<String>| {
        let parsed = given(v).map(|s| s.parse::<i64>().ok());
        if parsed == Some(None) {
            errors.invalid(&tr, field);
        }
        parsed.flatten()
    };
    let actor_id = number("actor_id", &q.actor_id);
    let record_id = number("record_id", &q.record_id);
    let mut date = |field: &str, v: &Option<String>, days: i64| {
        let parsed = given(v).map(|s| day_start_ms(s, &actor.time_zone, days));
        if parsed == Some(None) {
            errors.invalid(&tr, field);
        }
        parsed.flatten()
    };
    let filter = AuditFilter {
        actor_id,
        record_kind: given(&q.record_kind).map(str::to_owned),
        record_id,
        action: given(&q.action).map(str::to_owned),
        from_ms: date("from", &q.from, 0),
        to_ms: date("to", &q.to, 1),
    };
    let entries = match PageRequest::parse(None, given(&q.cursor)) {
        Ok(req) => app.list_audit(actor, &filter, req).await,
        Err(e) => Err(e),
    };
    let entries = match entries {
        Ok(p) => p,
        Err(e) => return app_error_page(&page.chrome, e),
    };
    // Someone who may read the log but not the user list filters by id alone.
    let users = all_users(app, actor).await.unwrap_or_default();
    let actors = users
        .iter()
        .map(|u| {
            let label = format!("{} ({})", u.display_name, u.username);
            Opt::new(u.id, label, Some(u.id) == actor_id)
        })
        .collect();
    let kinds = RecordKind::ALL
        .iter()
        .map(|k| {
            let label = tr.t(&format!("kind.{}", k.as_str()));
            Opt::new(
                k.as_str(),
                label,
                filter.record_kind.as_deref() == Some(k.as_str()),
            )
        })
        .collect();
    let actions = AUDIT_ACTIONS
        .iter()
        .map(|a| {
            let label = tr.t(&format!("audit_action.{a}"));
            Opt::new(a, label, filter.action.as_deref() == Some(*a))
        })
        .collect();
    let next = next_link(
        "/admin/audit",
        &[
            ("actor_id", given(&q.actor_id).unwrap_or("")),
            ("record_kind", given(&q.record_kind).unwrap_or("")),
            ("record_id", given(&q.record_id).unwrap_or("")),
            ("action", given(&q.action).unwrap_or("")),
            ("from", given(&q.from).unwrap_or("")),
            ("to", given(&q.to).unwrap_or("")),
        ],
        entries.next_cursor.as_deref(),
    );
    render(&AuditPage {
        actors,
        kinds,
        actions,
        record_id: given(&q.record_id).unwrap_or("").to_owned(),
        from: given(&q.from).unwrap_or("").to_owned(),
        to: given(&q.to).unwrap_or("").to_owned(),
        rows: entries
            .items
            .into_iter()
            .map(|e| audit_row(&tr, e))
            .collect(),
        next,
        errors,
        chrome: page.chrome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dept(id: i64, parent_id: Option<i64>) -> Department {
        Department {
            id,
            parent_id,
            name: format!("d{id}"),
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn tree_closes_every_level_it_opens() {
        let depts = [
            dept(1, None),
            dept(2, Some(1)),
            dept(3, Some(2)),
            dept(4, Some(1)),
        ];
        let tree = department_tree(&depts);
        let order: Vec<(i64, usize, bool, usize)> = tree
            .iter()
            .map(|n| (n.id, n.depth, n.has_children, n.close))
            .collect();
        assert_eq!(
            order,
            vec![
                (1, 0, true, 0),
                (2, 1, true, 0),
                (3, 2, false, 1),
                (4, 1, false, 1)
            ]
        );
    }

    #[test]
    fn next_link_keeps_filters_and_encodes_them() {
        let link = next_link(
            "/admin/users",
            &[("q", "王 五"), ("active", "")],
            Some("abc"),
        );
        assert_eq!(
            link.as_deref(),
            Some("/admin/users?q=%E7%8E%8B%20%E4%BA%94&cursor=abc")
        );
        assert_eq!(next_link("/admin/users", &[], None), None);
    }
}

// ---- sales policy ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_sales_policy.html")]
struct PolicyPage {
    chrome: Chrome,
    p: stride_app::settings::SalesPolicy,
    version: i64,
    errors: FieldErrors,
}

/// One row of the tier service table: a tier and its numbers, each with its own error.
struct TierServiceRow {
    label: String,
    cells: Vec<TierServiceCell>,
    served_by: TierServiceCell,
}

/// One input of the table; `name` is the field as the use case names it, e.g. `tiers.core.return_days`.
struct TierServiceCell {
    name: String,
    value: String,
    min: i64,
    max: i64,
    error: Option<String>,
}

impl PolicyPage {
    fn tier_rows(&self) -> Vec<TierServiceRow> {
        stride_domain::customers::CustomerTier::ALL
            .iter()
            .map(|&tier| {
                let s = self.p.tiers.of(tier);
                let cell = |column: &str, value: String, min: i64, max: i64| {
                    let name = format!("tiers.{tier}.{column}");
                    TierServiceCell {
                        error: self.errors.of(&name).map(str::to_owned),
                        name,
                        value,
                        min,
                        max,
                    }
                };
                TierServiceRow {
                    label: self.chrome.tr.t(&format!("customer_tier.{tier}")),
                    cells: vec![
                        cell("return_days", s.return_days.to_string(), 1, 3650),
                        cell("warning_days", s.warning_days.to_string(), 0, 3649),
                        cell("response_hours", s.response_hours.to_string(), 1, 720),
                        cell("revisit_days", s.revisit_days.to_string(), 1, 365),
                    ],
                    served_by: cell("served_by", s.served_by.clone(), 0, 200),
                }
            })
            .collect()
    }
}

async fn policy_page(State(state): State<AppState>, page: PageActor) -> Response {
    if !page.actor.can(
        stride_domain::access::RecordKind::Settings,
        stride_domain::access::Action::Edit,
    ) {
        return app_error_page(&page.chrome, AppError::Forbidden);
    }
    match state.app.sales_policy().await {
        Ok((p, version)) => render(&PolicyPage {
            chrome: page.chrome,
            p,
            version,
            errors: FieldErrors::default(),
        }),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

/// The form posts every number as text and the checkboxes only when ticked; each tier's
/// service columns are posted as `tiers.<tier>.<column>`, the names its errors carry.
#[derive(Deserialize)]
struct PolicyForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    version: i64,
    a_requires_budget: Option<String>,
    a_requires_decision_chain: Option<String>,
    a_hours: String,
    b_hours: String,
    c_nurture_days: String,
    ownership_cap: String,
    weight_contribution: String,
    weight_potential: String,
    weight_payment: String,
    strategic: String,
    core: String,
    #[serde(rename = "tiers.strategic.return_days")]
    strategic_return_days: String,
    #[serde(rename = "tiers.strategic.warning_days")]
    strategic_warning_days: String,
    #[serde(rename = "tiers.strategic.response_hours")]
    strategic_response_hours: String,
    #[serde(rename = "tiers.strategic.revisit_days")]
    strategic_revisit_days: String,
    #[serde(rename = "tiers.strategic.served_by")]
    strategic_served_by: String,
    #[serde(rename = "tiers.core.return_days")]
    core_return_days: String,
    #[serde(rename = "tiers.core.warning_days")]
    core_warning_days: String,
    #[serde(rename = "tiers.core.response_hours")]
    core_response_hours: String,
    #[serde(rename = "tiers.core.revisit_days")]
    core_revisit_days: String,
    #[serde(rename = "tiers.core.served_by")]
    core_served_by: String,
    #[serde(rename = "tiers.ordinary.return_days")]
    ordinary_return_days: String,
    #[serde(rename = "tiers.ordinary.warning_days")]
    ordinary_warning_days: String,
    #[serde(rename = "tiers.ordinary.response_hours")]
    ordinary_response_hours: String,
    #[serde(rename = "tiers.ordinary.revisit_days")]
    ordinary_revisit_days: String,
    #[serde(rename = "tiers.ordinary.served_by")]
    ordinary_served_by: String,
}

impl PolicyForm {
    fn policy(&self) -> Option<stride_app::settings::SalesPolicy> {
        use stride_app::settings::TierService;
        let n = |v: &str| v.trim().parse::<u32>().ok();
        let i = |v: &str| v.trim().parse::<i64>().ok();
        let service = |days: [&str; 4], served_by: &str| {
            Some(TierService {
                return_days: i(days[0])?,
                warning_days: i(days[1])?,
                response_hours: i(days[2])?,
                revisit_days: i(days[3])?,
                served_by: served_by.to_owned(),
            })
        };
        let mut p = stride_app::settings::SalesPolicy::default();
        p.grading.a_requires_budget = self.a_requires_budget.is_some();
        p.grading.a_requires_decision_chain = self.a_requires_decision_chain.is_some();
        p.response.a_hours = n(&self.a_hours)?;
        p.response.b_hours = n(&self.b_hours)?;
        p.response.c_nurture_days = n(&self.c_nurture_days)?;
        p.pool.ownership_cap = i(&self.ownership_cap)?;
        p.tier_weights.contribution = n(&self.weight_contribution)?;
        p.tier_weights.potential = n(&self.weight_potential)?;
        p.tier_weights.payment = n(&self.weight_payment)?;
        p.tier_thresholds.strategic = n(&self.strategic)?;
        p.tier_thresholds.core = n(&self.core)?;
        p.tiers.strategic = service(
            [
                &self.strategic_return_days,
                &self.strategic_warning_days,
                &self.strategic_response_hours,
                &self.strategic_revisit_days,
            ],
            &self.strategic_served_by,
        )?;
        p.tiers.core = service(
            [
                &self.core_return_days,
                &self.core_warning_days,
                &self.core_response_hours,
                &self.core_revisit_days,
            ],
            &self.core_served_by,
        )?;
        p.tiers.ordinary = service(
            [
                &self.ordinary_return_days,
                &self.ordinary_warning_days,
                &self.ordinary_response_hours,
                &self.ordinary_revisit_days,
            ],
            &self.ordinary_served_by,
        )?;
        Some(p)
    }
}

async fn update_policy(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<PolicyForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let tr = page.chrome.tr;
    let Some(policy) = form.policy() else {
        let errors = FieldErrors(vec![("form".into(), tr.t("policy.not_numbers"))]);
        let view = PolicyPage {
            chrome: page.chrome,
            p: Default::default(),
            version: form.version,
            errors,
        };
        return form_page(&view, &view.errors);
    };
    match state
        .app
        .update_sales_policy(&page.actor, form.version, policy.clone())
        .await
    {
        Ok(_) => see_other("/admin/sales-policy?notice=saved"),
        Err(e) => match validation_errors(&tr, e) {
            Ok(errors) => {
                let view = PolicyPage {
                    chrome: page.chrome,
                    p: policy,
                    version: form.version,
                    errors,
                };
                form_page(&view, &view.errors)
            }
            Err(e) => app_error_page(&page.chrome, e),
        },
    }
}
