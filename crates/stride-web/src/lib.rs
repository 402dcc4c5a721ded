//! Stride over HTTP: the JSON API under `/api/v1` (with its OpenAPI document) and the
//! server-rendered UI, sharing one set of use cases.

pub mod api;
pub mod export;
pub mod extract;
pub mod i18n;
pub mod idempotency;
pub mod memo;
pub mod observe;
pub mod problem;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use stride_app::App;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            secure_cookies: false,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<observe::Metrics>,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    /// Pages of the users list as sent, while the directory is unchanged (see [`memo`]).
    pub users_pages: Arc<memo::Memo<stride_app::org::UsersPageStamp>>,
}

/// The whole HTTP surface. There are no setup or demo routes: a running server only serves users.
pub fn router(app: App, config: WebConfig) -> Router {
    let (api, openapi) = api::routes().split_for_parts();
    let state = AppState {
        app,
        config: Arc::new(config.clone()),
        metrics: Arc::new(observe::Metrics::default()),
        openapi: Arc::new(openapi),
        users_pages: Arc::new(memo::Memo::new(100)),
    };
    let api = api
        .route("/api/v1/openapi.json", get(api::openapi_json))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ));
    Router::new()
        .merge(api)
        .merge(ui::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(middleware::from_fn(finish_writes))
        .with_state(state)
}

/// A write the server has begun runs to its end even when the client goes away. The server drops
/// a request's future when its connection closes; a write cut after its Idempotency-Key was
/// claimed would leave the key "in flight" for good, so the client's retry — what the key is
/// for — could never get its answer. (A transaction cut while it begins is the store's concern:
/// `SqlStore::begin_write`.) Reads stay cancellable.
async fn finish_writes(request: axum::extract::Request, next: middleware::Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and its schema is the one this build expects.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.app.readiness().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(
            state.app.store().write_counts(),
            state.app.store().directory_counts(),
        ),
    )
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        problem::ApiError::App(stride_app::AppError::NotFound).into_response()
    } else {
        ui::not_found_page().await
    }
}

/// Serves until `shutdown` resolves; the listener may be bound to port 0.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    config: WebConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app, config).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
