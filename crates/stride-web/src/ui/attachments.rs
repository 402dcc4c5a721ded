//! The attachments section of record pages, and its upload and delete forms.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use stride_app::attachments::RecordAccess;
use stride_app::page::{PageRequest, MAX_LIMIT};
use stride_app::{Actor, App, AppError};

use super::{app_error_page, error_page, see_other, Chrome, CsrfForm, PageActor};
use crate::api::read_upload;
use crate::problem::ApiError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        // Bounded by the attachment size limit while the file streams in.
        .route(
            "/attachments",
            post(upload_attachment).layer(DefaultBodyLimit::disable()),
        )
        .route("/attachments/{id}/delete", post(delete_attachment))
}

/// The attachments of one record as its page shows them.
pub struct AttachmentsSection {
    pub record_kind: &'static str,
    pub record_id: i64,
    pub files: Vec<AttachmentRow>,
    pub can_upload: bool,
    /// The size limit, for the form's hint.
    pub max_size: String,
}

pub struct AttachmentRow {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub uploader: String,
    pub at: String,
}

/// A size in bytes for people: `512 B`, `12.3 KB`, `4.0 MB`.
fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    match bytes {
        b if b < KB => format!("{b} B"),
        b if b < MB => format!("{}.{} KB", b / KB, b % KB * 10 / KB),
        b => format!("{}.{} MB", b / MB, b % MB * 10 / MB),
    }
}

/// The section for a record page; `None` when the viewer may not see the record's attachments.
pub async fn attachments_section(
    app: &App,
    actor: &Actor,
    chrome: &Chrome,
    record_kind: &'static str,
    record_id: i64,
) -> Option<AttachmentsSection> {
    let page = PageRequest::parse(Some(MAX_LIMIT), None).ok()?;
    let (access, found) = app
        .record_files(actor, record_kind, record_id, page)
        .await
        .ok()?;
    Some(AttachmentsSection {
        record_kind,
        record_id,
        files: found
            .items
            .into_iter()
            .map(|a| AttachmentRow {
                id: a.id,
                name: a.file_name,
                size: human_size(a.size_bytes.unsigned_abs()),
                uploader: a.uploaded_by_name,
                at: chrome.time(&a.uploaded_at_ms),
            })
            .collect(),
        can_upload: access == RecordAccess::Edit && !actor.is_read_only(),
        max_size: human_size(app.config().attachment_max_bytes),
    })
}

/// The page a record's attachments are shown on.
fn record_page(record_kind: &str, record_id: i64) -> String {
    match record_kind {
        "customer" => format!("/customers/{record_id}"),
        "lead" => format!("/leads/{record_id}"),
        _ => "/".to_owned(),
    }
}

/// A refused upload as a page naming the reason.
fn refused(chrome: &Chrome, e: ApiError) -> Response {
    match e {
        ApiError::PayloadTooLarge => error_page(
            chrome,
            StatusCode::PAYLOAD_TOO_LARGE,
            "attachments.refused.too_large",
        ),
        ApiError::App(AppError::Validation(errors)) => {
            let key = match errors.first().map(|e| e.code.as_str()) {
                Some(
                    code @ ("empty" | "executable" | "type_mismatch" | "unsupported_type"
                    | "too_large" | "required"),
                ) => format!("attachments.refused.{code}"),
                _ => "attachments.refused.invalid".to_owned(),
            };
            error_page(chrome, StatusCode::UNPROCESSABLE_ENTITY, &key)
        }
        ApiError::App(e) => app_error_page(chrome, e),
        _ => error_page(
            chrome,
            StatusCode::BAD_REQUEST,
            "attachments.refused.invalid",
        ),
    }
}

async fn upload_attachment(
    State(state): State<AppState>,
    page: PageActor,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let read = match read_upload(multipart, state.app.config().attachment_max_bytes).await {
        Ok(read) => read,
        Err(e) => return refused(&page.chrome, e),
    };
    if let Err(r) = page.check_csrf(read.csrf.as_deref().unwrap_or_default()) {
        return r;
    }
    let back = record_page(&read.upload.record_kind, read.upload.record_id);
    match state.app.upload_attachment(&page.actor, read.upload).await {
        Ok(_) => see_other(&format!("{back}?notice=attachment_uploaded")),
        Err(e) => refused(&page.chrome, ApiError::App(e)),
    }
}

async fn delete_attachment(
    State(state): State<AppState>,
    page: PageActor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = page.check_csrf(&form.csrf) {
        return r;
    }
    match state.app.delete_attachment(&page.actor, id).await {
        Ok(a) => see_other(&format!(
            "{}?notice=attachment_deleted",
            record_page(&a.record_kind, a.record_id)
        )),
        Err(e) => app_error_page(&page.chrome, e),
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(20 * 1024 * 1024), "20.0 MB");
    }
}
