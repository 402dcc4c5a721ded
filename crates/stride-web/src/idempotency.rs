//! `Idempotency-Key` for POSTs under `/api/v1`: the first request with a key runs, a retry with
//! the same body replays the stored answer, the same key with another body is refused (422).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use stride_app::idempotency::{IdempotencyClaim, StoredResponse};

use crate::extract::{cookie, SESSION_COOKIE};
use crate::problem::ApiError;
use crate::AppState;

pub const HEADER: &str = "idempotency-key";
/// Answers larger than this are not kept for replay (the key is released instead).
const MAX_STORED_RESPONSE: usize = 256 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keys belong to the credential that sent them, so two clients never collide.
fn owner(req: &Request) -> Option<String> {
    let h = req.headers();
    let credential = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| cookie(h, SESSION_COOKIE).map(str::to_owned))?;
    Some(hex(&Sha256::digest(credential.as_bytes())))
}

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (Some(key), true) = (key, req.method() == Method::POST) else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 200 {
        return ApiError::App(stride_app::AppError::field(
            HEADER,
            "invalid",
            "1 to 200 characters",
        ))
        .into_response();
    }
    let Some(owner) = owner(&req) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, state.config.body_limit).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let request_hash = hex(&hasher.finalize());

    match state
        .app
        .claim_idempotency_key(&owner, &key, &request_hash)
        .await
    {
        Err(e) => ApiError::App(e).into_response(),
        Ok(IdempotencyClaim::Mismatch) => ApiError::IdempotencyMismatch.into_response(),
        Ok(IdempotencyClaim::InFlight) => ApiError::IdempotencyInFlight.into_response(),
        Ok(IdempotencyClaim::Replay(stored)) => replay(stored),
        Ok(IdempotencyClaim::Claimed) => {
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (res_parts, res_body) = res.into_parts();
            let status = res_parts.status;
            let body = to_bytes(res_body, MAX_STORED_RESPONSE).await;
            match (status.is_server_error(), body) {
                (false, Ok(body)) => {
                    let stored = StoredResponse {
                        status: status.as_u16(),
                        content_type: res_parts
                            .headers
                            .get(header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("application/json")
                            .to_owned(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    if let Err(e) = state
                        .app
                        .complete_idempotency_key(&owner, &key, &stored)
                        .await
                    {
                        tracing::warn!(error = %e, "could not store idempotent response");
                    }
                    Response::from_parts(res_parts, Body::from(body))
                }
                (_, body) => {
                    // Failures are not remembered: the client may retry with the same key.
                    let _ = state.app.release_idempotency_key(&owner, &key).await;
                    Response::from_parts(
                        res_parts,
                        body.map(Body::from).unwrap_or_else(|_| Body::empty()),
                    )
                }
            }
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status =
        axum::http::StatusCode::from_u16(stored.status).unwrap_or(axum::http::StatusCode::OK);
    let mut res = (status, stored.body).into_response();
    if let Ok(v) = HeaderValue::from_str(&stored.content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
