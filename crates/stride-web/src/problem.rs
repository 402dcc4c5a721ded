//! Errors as RFC 9457 `application/problem+json`, with field-level details.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stride_app::{AppError, FieldError};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// One entry per refused field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Every way an API request can fail.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// PATCH and DELETE need `If-Match`.
    PreconditionRequired,
    PayloadTooLarge,
    CsrfMissing,
    BadRequest(String),
    /// An `Idempotency-Key` reused with another body, or still in flight.
    IdempotencyMismatch,
    IdempotencyInFlight,
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: Option<String>,
    errors: Vec<FieldError>,
) -> Response {
    let body = Problem {
        kind: format!("https://stride.invalid/problems/{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        errors: errors
            .into_iter()
            .map(|e| ProblemField {
                field: e.field,
                code: e.code,
                message: e.message,
            })
            .collect(),
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use StatusCode as S;
        match self {
            ApiError::App(e) => match e {
                AppError::Validation(errors) => problem(
                    S::UNPROCESSABLE_ENTITY,
                    "validation",
                    "The request has invalid fields",
                    None,
                    errors,
                ),
                AppError::NotFound => problem(S::NOT_FOUND, "not-found", "Not found", None, vec![]),
                AppError::Forbidden => {
                    problem(S::FORBIDDEN, "forbidden", "Not permitted", None, vec![])
                }
                AppError::Unauthorized => problem(
                    S::UNAUTHORIZED,
                    "unauthorized",
                    "Sign in or send an API token",
                    None,
                    vec![],
                ),
                AppError::Conflict(msg) => {
                    problem(S::CONFLICT, "conflict", "Conflict", Some(msg), vec![])
                }
                AppError::Stale => problem(
                    S::PRECONDITION_FAILED,
                    "stale",
                    "The record was changed by someone else; reload it and try again",
                    None,
                    vec![],
                ),
                AppError::TooManyRequests { retry_after_secs } => {
                    let mut res = problem(
                        S::TOO_MANY_REQUESTS,
                        "throttled",
                        "Too many attempts; wait and retry",
                        None,
                        vec![],
                    );
                    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        res.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                    res
                }
                AppError::Internal(msg) => {
                    tracing::error!(error = %msg, "internal error");
                    problem(
                        S::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Internal error",
                        None,
                        vec![],
                    )
                }
            },
            ApiError::PreconditionRequired => problem(
                S::PRECONDITION_REQUIRED,
                "if-match-required",
                "Send If-Match with the ETag you read",
                None,
                vec![],
            ),
            ApiError::PayloadTooLarge => problem(
                S::PAYLOAD_TOO_LARGE,
                "too-large",
                "The request body is too large",
                None,
                vec![],
            ),
            ApiError::CsrfMissing => problem(
                S::FORBIDDEN,
                "csrf",
                "Missing or wrong X-CSRF-Token for a cookie-authenticated write",
                None,
                vec![],
            ),
            ApiError::BadRequest(detail) => problem(
                S::BAD_REQUEST,
                "bad-request",
                "Bad request",
                Some(detail),
                vec![],
            ),
            ApiError::IdempotencyMismatch => problem(
                S::UNPROCESSABLE_ENTITY,
                "idempotency-mismatch",
                "This Idempotency-Key was used for a different request",
                None,
                vec![FieldError::new(
                    "Idempotency-Key",
                    "reused",
                    "the key was used with another body",
                )],
            ),
            ApiError::IdempotencyInFlight => problem(
                S::CONFLICT,
                "idempotency-in-flight",
                "A request with this Idempotency-Key is still running",
                None,
                vec![],
            ),
        }
    }
}
