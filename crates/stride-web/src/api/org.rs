//! Departments, users and roles.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::org::{
    Department, DepartmentData, DepartmentPatch, NewUser, Role, RoleData, RolePatch, User,
    UserData, UserFilter, UserPatch,
};
use stride_app::page::PageRequest;
use stride_app::AppError;
use stride_domain::access::{DataScope, PermissionSet, RecordKind};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{rfc3339, ExportQuery, ListQuery, PageDto};
use crate::export::export_response;
use crate::extract::{double_option, etag, ApiActor, ApiJson, ApiPath, ApiQuery, IfMatch};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_departments, create_department))
        .routes(routes!(export_departments))
        .routes(routes!(
            get_department,
            update_department,
            delete_department
        ))
        .routes(routes!(list_users, create_user))
        .routes(routes!(export_users))
        .routes(routes!(get_user, update_user))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(get_role, update_role, delete_role))
}

// ---- departments ----------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentDto {
    pub id: i64,
    /// Absent for the company at the top of the tree.
    pub parent_id: Option<i64>,
    pub name: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn department_dto(d: Department) -> DepartmentDto {
    DepartmentDto {
        id: d.id,
        parent_id: d.parent_id,
        name: d.name,
        version: d.version,
        created_at: rfc3339(d.created_at_ms),
        updated_at: rfc3339(d.updated_at_ms),
    }
}

fn department_response(status: StatusCode, d: Department) -> Response {
    (status, etag(d.version), Json(department_dto(d))).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    pub parent_id: i64,
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentUpdate {
    /// Move the department below another one.
    pub parent_id: Option<i64>,
    pub name: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "organization", params(ListQuery),
    responses((status = 200, body = PageDto<DepartmentDto>), (status = 403, body = Problem)))]
async fn list_departments(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageDto<DepartmentDto>>> {
    let page = s.app.list_departments(&actor, q.page()?).await?;
    Ok(Json(PageDto::from_page(page, department_dto)))
}

#[utoipa::path(post, path = "/api/v1/departments", tag = "organization", request_body = NewDepartment,
    responses((status = 201, body = DepartmentDto), (status = 422, body = Problem)))]
async fn create_department(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(req): ApiJson<NewDepartment>,
) -> ApiResult<Response> {
    let d = s
        .app
        .create_department(
            &actor,
            DepartmentData {
                parent_id: Some(req.parent_id),
                name: req.name,
            },
        )
        .await?;
    Ok(department_response(StatusCode::CREATED, d))
}

#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "organization", params(("id" = i64, Path)),
    responses((status = 200, body = DepartmentDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_department(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(department_response(
        StatusCode::OK,
        s.app.get_department(&actor, id).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/departments/{id}", tag = "organization", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = DepartmentUpdate,
    responses((status = 200, body = DepartmentDto), (status = 404, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
async fn update_department(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(req): ApiJson<DepartmentUpdate>,
) -> ApiResult<Response> {
    let d = s
        .app
        .update_department(
            &actor,
            id,
            version,
            DepartmentPatch {
                parent_id: req.parent_id,
                name: req.name,
            },
        )
        .await?;
    Ok(department_response(StatusCode::OK, d))
}

#[utoipa::path(delete, path = "/api/v1/departments/{id}", tag = "organization", params(("id" = i64, Path), ("If-Match" = String, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
async fn delete_department(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
) -> ApiResult<StatusCode> {
    s.app.delete_department(&actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pages through everything a list use case returns, for exports.
pub(crate) async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, AppError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<stride_app::page::Page<T>, AppError>>,
    T: HasId,
{
    let mut out = Vec::new();
    let mut req = PageRequest {
        limit: stride_app::page::MAX_LIMIT,
        after: None,
    };
    loop {
        let page = fetch(req).await?;
        let more = page.next_cursor.is_some();
        req.after = page.items.last().map(HasId::id);
        out.extend(page.items);
        if !more {
            return Ok(out);
        }
    }
}

pub(crate) trait HasId {
    fn id(&self) -> i64;
}
impl HasId for Department {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for User {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for stride_app::audit::AuditEntry {
    fn id(&self) -> i64 {
        self.id
    }
}

#[utoipa::path(get, path = "/api/v1/departments/export", tag = "organization", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_departments(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(
        RecordKind::Department,
        stride_domain::access::Action::Export,
    )?;
    let rows = all_pages(|p| s.app.list_departments(&actor, p)).await?;
    s.app
        .record_export(&actor, RecordKind::Department, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.parent_id.map(|p| p.to_string()).unwrap_or_default(),
                d.name,
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "departments",
        &["id", "parent_id", "name"],
        rows,
    ))
}

// ---- users ----------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub department_id: i64,
    pub manager_id: Option<i64>,
    pub role_ids: Vec<i64>,
    pub active: bool,
    pub locale: String,
    pub time_zone: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn user_dto(u: User) -> UserDto {
    UserDto {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        email: u.email,
        department_id: u.department_id,
        manager_id: u.manager_id,
        role_ids: u.role_ids,
        active: u.active,
        locale: u.locale,
        time_zone: u.time_zone,
        version: u.version,
        created_at: rfc3339(u.created_at_ms),
        updated_at: rfc3339(u.updated_at_ms),
    }
}

fn user_response(status: StatusCode, u: User) -> Response {
    (status, etag(u.version), Json(user_dto(u))).into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub department_id: Option<i64>,
    pub active: Option<bool>,
    /// Part of a login or display name.
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub department_id: i64,
    pub manager_id: Option<i64>,
    pub role_ids: Vec<i64>,
    /// auto (follow the browser; default), zh-CN or en.
    pub locale: Option<String>,
    /// Default: the organisation's time zone.
    pub time_zone: Option<String>,
    pub password: String,
}

/// What an administrator may change; the login name, password and version are not here.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub department_id: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub manager_id: Option<Option<i64>>,
    pub role_ids: Option<Vec<i64>>,
    /// false disables the user: their sessions and API tokens stop working at once.
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "organization", params(UserListQuery),
    responses((status = 200, body = PageDto<UserDto>), (status = 403, body = Problem)))]
async fn list_users(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> ApiResult<Response> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = UserFilter {
        department_id: q.department_id,
        active: q.active,
        q: q.q,
    };
    // Every integration polls this list; a page asked again before the directory changes is
    // sent as it was, neither read nor written out again.
    let stamp = s.app.users_page_stamp(&actor, &filter, page).await?;
    let json = match s.users_pages.get(&stamp) {
        Some(json) => json,
        None => {
            let page = s.app.users_page(&stamp).await?;
            let json = serde_json::to_vec(&PageDto::from_page(page, user_dto))
                .map_err(|e| AppError::Internal(format!("encoding the users list: {e}")))?;
            let json = Bytes::from(json);
            s.users_pages.put(stamp, json.clone());
            json
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

#[utoipa::path(post, path = "/api/v1/users", tag = "organization", request_body = NewUserRequest,
    responses((status = 201, body = UserDto), (status = 422, body = Problem)))]
async fn create_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<NewUserRequest>,
) -> ApiResult<Response> {
    let time_zone = match r.time_zone {
        Some(tz) => tz,
        None => s.app.org_settings().await?.time_zone,
    };
    let data = UserData {
        username: r.username,
        display_name: r.display_name,
        email: r.email,
        department_id: r.department_id,
        manager_id: r.manager_id,
        role_ids: r.role_ids,
        active: true,
        locale: r
            .locale
            .unwrap_or_else(|| stride_domain::validate::LOCALE_AUTO.into()),
        time_zone,
    };
    let user = s
        .app
        .create_user(
            &actor,
            NewUser {
                data,
                password: r.password,
            },
        )
        .await?;
    Ok(user_response(StatusCode::CREATED, user))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "organization", params(("id" = i64, Path)),
    responses((status = 200, body = UserDto, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(user_response(
        StatusCode::OK,
        s.app.get_user(&actor, id).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "organization", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = UserUpdate,
    responses((status = 200, body = UserDto), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_user(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<UserUpdate>,
) -> ApiResult<Response> {
    let patch = UserPatch {
        display_name: r.display_name,
        email: r.email,
        department_id: r.department_id,
        manager_id: r.manager_id,
        role_ids: r.role_ids,
        active: r.active,
        locale: r.locale,
        time_zone: r.time_zone,
    };
    Ok(user_response(
        StatusCode::OK,
        s.app.update_user(&actor, id, version, patch).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/users/export", tag = "organization", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV, or XLSX with format=xlsx"), (status = 403, body = Problem)))]
async fn export_users(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = q.format()?;
    actor.require(RecordKind::User, stride_domain::access::Action::Export)?;
    let filter = UserFilter::default();
    let rows = all_pages(|p| s.app.list_users(&actor, &filter, p)).await?;
    s.app
        .record_export(&actor, RecordKind::User, rows.len())
        .await?;
    let rows = rows
        .into_iter()
        .map(|u| {
            vec![
                u.id.to_string(),
                u.username,
                u.display_name,
                u.email.unwrap_or_default(),
                u.department_id.to_string(),
                u.active.to_string(),
            ]
        })
        .collect();
    Ok(export_response(
        format,
        "users",
        &[
            "id",
            "username",
            "display_name",
            "email",
            "department_id",
            "active",
        ],
        rows,
    ))
}

// ---- roles ----------------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDto {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// self, department, department_tree or all.
    pub data_scope: String,
    /// `kind.action` names, e.g. `user.edit`.
    pub permissions: Vec<String>,
    pub builtin: bool,
    pub version: i64,
}

fn role_dto(r: Role) -> RoleDto {
    RoleDto {
        id: r.id,
        code: r.code,
        name_zh: r.name_zh,
        name_en: r.name_en,
        data_scope: r.scope.to_string(),
        permissions: r.permissions.iter().map(|p| p.to_string()).collect(),
        builtin: r.builtin,
        version: r.version,
    }
}

fn role_response(status: StatusCode, r: Role) -> Response {
    (status, etag(r.version), Json(role_dto(r))).into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    pub code: String,
    pub name_zh: String,
    pub name_en: Option<String>,
    pub data_scope: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub data_scope: Option<String>,
    pub permissions: Option<Vec<String>>,
}

fn parse_scope(s: &str) -> Result<DataScope, AppError> {
    s.parse().map_err(|_| {
        AppError::field(
            "data_scope",
            "invalid",
            "one of self, department, department_tree, all",
        )
    })
}

fn parse_permissions(names: &[String]) -> Result<PermissionSet, AppError> {
    PermissionSet::parse_all(names.iter().map(String::as_str)).map_err(|e| {
        AppError::field(
            "permissions",
            "unknown",
            format!("{e}; write kind.action, e.g. user.view"),
        )
    })
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "organization", responses((status = 200, body = Vec<RoleDto>)))]
async fn list_roles(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<RoleDto>>> {
    Ok(Json(
        s.app
            .list_roles(&actor)
            .await?
            .into_iter()
            .map(role_dto)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "organization", request_body = NewRole,
    responses((status = 201, body = RoleDto), (status = 422, body = Problem)))]
async fn create_role(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(r): ApiJson<NewRole>,
) -> ApiResult<Response> {
    let data = RoleData {
        code: r.code,
        name_en: r.name_en.unwrap_or_default(),
        name_zh: r.name_zh,
        scope: parse_scope(&r.data_scope)?,
        permissions: parse_permissions(&r.permissions)?,
    };
    Ok(role_response(
        StatusCode::CREATED,
        s.app.create_role(&actor, data).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "organization", params(("id" = i64, Path)),
    responses((status = 200, body = RoleDto), (status = 404, body = Problem)))]
async fn get_role(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(role_response(
        StatusCode::OK,
        s.app.get_role(&actor, id).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "organization", params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = RoleUpdate,
    responses((status = 200, body = RoleDto), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_role(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
    ApiJson(r): ApiJson<RoleUpdate>,
) -> ApiResult<Response> {
    let patch = RolePatch {
        name_zh: r.name_zh,
        name_en: r.name_en,
        scope: r.data_scope.as_deref().map(parse_scope).transpose()?,
        permissions: r
            .permissions
            .as_deref()
            .map(parse_permissions)
            .transpose()?,
    };
    Ok(role_response(
        StatusCode::OK,
        s.app.update_role(&actor, id, version, patch).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "organization", params(("id" = i64, Path), ("If-Match" = String, Header)),
    responses((status = 204), (status = 409, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
async fn delete_role(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    IfMatch(version): IfMatch,
) -> ApiResult<StatusCode> {
    s.app.delete_role(&actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
