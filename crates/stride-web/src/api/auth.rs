//! Signing in and out, the caller's own profile and password, and API tokens.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::auth::ApiToken;
use stride_app::Actor;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rfc3339;
use crate::extract::{cookie, ApiActor, ApiJson, ApiPath, ClientIp, SESSION_COOKIE};
use crate::problem::ApiResult;
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in user as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub department_id: i64,
    pub locale: String,
    pub time_zone: String,
    /// `kind.action` names granted by the user's roles.
    pub permissions: Vec<String>,
    /// The widest data scope of the user's roles: self, department, department_tree or all.
    pub data_scope: String,
    /// Send as `X-CSRF-Token` on cookie-authenticated writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

pub fn me_dto(a: &Actor) -> MeDto {
    MeDto {
        id: a.user_id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        department_id: a.department_id,
        locale: a.locale.clone(),
        time_zone: a.time_zone.clone(),
        permissions: a.permissions.iter().map(|p| p.to_string()).collect(),
        data_scope: a.scope.to_string(),
        csrf_token: match &a.auth {
            stride_app::AuthMethod::Session { csrf_token } => Some(csrf_token.clone()),
            _ => None,
        },
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS.
pub fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    )
}

/// Signs in with a password; sets a fresh session cookie (any old session id is dropped).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = MeDto), (status = 422, body = crate::problem::Problem), (status = 429, description = "Throttled; see Retry-After")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let session = state.app.login(&req.username, &req.password, &ip).await?;
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.app.logout(old).await;
    }
    let max_age = (session.expires_at_ms - state.app.now_ms()) / 1000;
    let set_cookie = session_cookie(&state, &session.session_token, max_age);
    Ok((
        [(header::SET_COOKIE, set_cookie)],
        Json(me_dto(&session.actor)),
    )
        .into_response())
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(
    State(state): State<AppState>,
    _actor: ApiActor,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        state.app.logout(session).await?;
    }
    Ok((
        [(header::SET_COOKIE, session_cookie(&state, "", 0))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = MeDto), (status = 401, body = crate::problem::Problem)))]
async fn me(ApiActor(actor): ApiActor) -> Json<MeDto> {
    Json(me_dto(&actor))
}

/// The caller's own language, time zone and display name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub display_name: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/auth/me", tag = "auth", request_body = ProfilePatch,
    responses((status = 200, body = crate::api::org::UserDto), (status = 422, body = crate::problem::Problem)))]
async fn update_me(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(p): ApiJson<ProfilePatch>,
) -> ApiResult<Json<crate::api::org::UserDto>> {
    let user = state
        .app
        .update_profile(&actor, p.locale, p.time_zone, p.display_name)
        .await?;
    Ok(Json(super::user_dto(user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password; their other sessions end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = crate::problem::Problem)))]
async fn change_password(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    headers: HeaderMap,
    ApiJson(p): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let session = cookie(&headers, SESSION_COOKIE);
    state
        .app
        .change_password(&actor, session, &p.current_password, &p.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret.
    pub prefix: String,
    pub read_only: bool,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

pub fn token_dto(t: ApiToken) -> TokenDto {
    TokenDto {
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        read_only: t.read_only,
        created_at: rfc3339(t.created_at_ms),
        revoked_at: t.revoked_at_ms.map(rfc3339),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenDto,
    /// The secret, shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = Vec<TokenDto>)))]
async fn list_tokens(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Vec<TokenDto>>> {
    Ok(Json(
        state
            .app
            .list_tokens(&actor)
            .await?
            .into_iter()
            .map(token_dto)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = crate::problem::Problem)))]
async fn create_token(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (token, secret) = state
        .app
        .create_token(&actor, &req.name, req.read_only)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: token_dto(token),
            secret,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::problem::Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.app.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
