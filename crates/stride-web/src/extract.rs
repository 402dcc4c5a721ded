//! Request extractors: who is asking, which version they saw, and bodies refused field by field.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use stride_app::{Actor, AppError, AuthMethod};

use crate::problem::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "stride_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Resolves the caller from an API token or the session cookie.
pub async fn resolve_actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, AppError> {
    if let Some(token) = bearer(headers) {
        return state.app.authenticate_token(token).await;
    }
    match cookie(headers, SESSION_COOKIE) {
        Some(session) => state.app.authenticate_session(session).await,
        None => Err(AppError::Unauthorized),
    }
}

/// The authenticated caller of an API endpoint. Cookie-authenticated writes must carry the
/// session's CSRF token in `X-CSRF-Token`; bearer tokens are not sent by browsers on their own.
pub struct ApiActor(pub Actor);

impl<S> FromRequestParts<S> for ApiActor
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let actor = resolve_actor(&state, &parts.headers).await?;
        let writes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if writes {
            if let AuthMethod::Session { csrf_token } = &actor.auth {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !same_secret(sent, csrf_token) {
                    return Err(ApiError::CsrfMissing);
                }
            }
        }
        Ok(Self(actor))
    }
}

/// The version named by `If-Match: "N"`; required on PATCH and DELETE.
pub struct IfMatch(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(header::IF_MATCH)
            .ok_or(ApiError::PreconditionRequired)?
            .to_str()
            .map_err(|_| ApiError::App(AppError::Stale))?;
        let version = raw.trim().trim_start_matches("W/").trim_matches('"');
        version
            .parse()
            .map(Self)
            .map_err(|_| ApiError::App(AppError::Stale))
    }
}

/// The version named by an optional `If-Match` (actions such as an approval decision, where the
/// caller may say which version they decided on).
pub fn if_match_optional(headers: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = raw.to_str().map_err(|_| ApiError::App(AppError::Stale))?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| ApiError::App(AppError::Stale))
}

/// The ETag header for a record version.
pub fn etag(version: i64) -> [(header::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{version}\""))]
}

/// A JSON body whose every problem (syntax, unknown field, wrong type, too large) is a problem+json.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge;
    }
    match r {
        JsonRejection::JsonDataError(e) => {
            // serde names the offending field in its message, e.g. "unknown field `owner_id`".
            let message = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_else(|| e.body_text());
            let field = field_in(&message).unwrap_or_else(|| "body".into());
            let code = if message.contains("unknown field") {
                "unknown_field"
            } else {
                "invalid"
            };
            ApiError::App(AppError::field(&field, code, message))
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::App(AppError::field("body", "malformed_json", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::App(AppError::field(
            "body",
            "content_type",
            "send Content-Type: application/json",
        )),
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// The first back-quoted name in a serde message, or the path before `:`.
fn field_in(message: &str) -> Option<String> {
    if let Some(start) = message.find('`') {
        let rest = &message[start + 1..];
        return rest.find('`').map(|end| rest[..end].to_owned());
    }
    message
        .split_once(':')
        .map(|(path, _)| path.trim().to_owned())
        .filter(|p| !p.contains(' '))
}

/// Query parameters refused as a field error rather than a bare 400.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let message = e.body_text();
                let field = field_in(&message).unwrap_or_else(|| "query".into());
                Err(ApiError::App(AppError::field(&field, "invalid", message)))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// A path parameter refused as a problem+json field error (e.g. `/users/abc`).
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(ApiError::App(AppError::field(
                "path",
                "invalid",
                e.body_text(),
            ))),
        }
    }
}

/// The client's address as the server saw it (no proxy headers are trusted).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(Self(ip))
    }
}

/// Deserializes a field that may be absent (leave as is), `null` (clear) or a value (set).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
