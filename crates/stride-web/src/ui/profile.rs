//! The signed-in user's own pages: language, time zone, name, password and API tokens.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stride_app::auth::ApiToken;

use super::admin::{form_page, locale_options, validation_errors, FieldErrors, Opt};
use super::{app_error_page, Chrome, CsrfForm, PageActor};
use crate::extract::{cookie, SESSION_COOKIE};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile_page).post(update_profile))
        .route("/profile/password", post(change_password))
        .route("/profile/tokens", post(create_token))
        .route("/profile/tokens/{id}/revoke", post(revoke_token))
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    chrome: Chrome,
    display_name: String,
    time_zone: String,
    locales: Vec<Opt>,
    profile_errors: FieldErrors,
    password_errors: FieldErrors,
    token_name: String,
    token_read_only: bool,
    token_errors: FieldErrors,
    tokens: Vec<ApiToken>,
    /// A just-created token's secret: shown once, never stored in the clear.
    new_token: Option<String>,
}

impl ProfilePage {
    /// Any section's errors make the page a refused form.
    fn errors(&self) -> &FieldErrors {
        [&self.profile_errors, &self.password_errors]
            .into_iter()
            .find(|e| !e.is_empty())
            .unwrap_or(&self.token_errors)
    }
}

/// The profile page with the stored values; handlers put entered values and errors over it.
async fn profile_view(state: &AppState, page: PageActor) -> Result<ProfilePage, Response> {
    let tokens = match state.app.list_tokens(&page.actor).await {
        Ok(t) => t,
        Err(e) => return Err(app_error_page(&page.chrome, e)),
    };
    Ok(ProfilePage {
        display_name: page.actor.display_name.clone(),
        time_zone: page.actor.time_zone.clone(),
        locales: locale_options(&page.chrome.tr, &page.actor.locale),
        profile_errors: FieldErrors::default(),
        password_errors: FieldErrors::default(),
        token_name: String::new(),
        token_read_only: false,
        token_errors: FieldErrors::default(),
        tokens,
        new_token: None,
        chrome: page.chrome,
    })
}

fn show(view: Result<ProfilePage, Response>) -> Response {
    match view {
        Ok(v) => form_page(&v, v.errors()),
        Err(r) => r,
    }
}

async fn profile_page(State(state): State<AppState>, page: PageActor) -> Response {
    show(profile_view(&state, page).await)
}

#[derive(Deserialize)]
struct ProfileForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    display_name: String,
    time_zone: String,
    locale: String,
}

async fn update_profile(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<ProfileForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let result = state
        .app
        .update_profile(
            &page.actor,
            Some(form.locale.clone()),
            Some(form.time_zone.trim().to_owned()),
            Some(form.display_name.clone()),
        )
        .await;
    let errors = match result {
        Ok(_) => return Redirect::to("/profile?notice=saved").into_response(),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => errors,
            Err(e) => return app_error_page(&page.chrome, e),
        },
    };
    show(profile_view(&state, page).await.map(|mut v| {
        v.locales = locale_options(&v.chrome.tr, &form.locale);
        v.display_name = form.display_name;
        v.time_zone = form.time_zone;
        v.profile_errors = errors;
        v
    }))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    page: PageActor,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    // This browser's session stays signed in; every other one ends.
    let session = cookie(&headers, SESSION_COOKIE);
    let result = state
        .app
        .change_password(
            &page.actor,
            session,
            &form.current_password,
            &form.new_password,
        )
        .await;
    let errors = match result {
        Ok(()) => return Redirect::to("/profile?notice=password_changed").into_response(),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => errors,
            Err(e) => return app_error_page(&page.chrome, e),
        },
    };
    show(profile_view(&state, page).await.map(|mut v| {
        v.password_errors = errors;
        v
    }))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    read_only: Option<String>,
}

/// Creating a token renders the page instead of redirecting: the secret exists only now.
async fn create_token(
    State(state): State<AppState>,
    page: PageActor,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    let read_only = form.read_only.is_some();
    let outcome = match state
        .app
        .create_token(&page.actor, &form.name, read_only)
        .await
    {
        Ok((_, secret)) => Ok(secret),
        Err(e) => match validation_errors(&page.chrome.tr, e) {
            Ok(errors) => Err(errors),
            Err(e) => return app_error_page(&page.chrome, e),
        },
    };
    show(profile_view(&state, page).await.map(|mut v| {
        match outcome {
            Ok(secret) => {
                v.chrome.notice = Some(v.chrome.tr.t("notice.created"));
                v.new_token = Some(secret);
            }
            Err(errors) => {
                v.token_name = form.name;
                v.token_read_only = read_only;
                v.token_errors = errors;
            }
        }
        v
    }))
}

async fn revoke_token(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.revoke_token(&page.actor, id).await {
        Ok(()) => Redirect::to("/profile?notice=token_revoked").into_response(),
        Err(e) => app_error_page(&page.chrome, e),
    }
}
