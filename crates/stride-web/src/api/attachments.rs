//! Attachments: multipart upload, listing per record, metadata, download and removal.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use stride_app::attachments::{Attachment, Upload};
use stride_app::error::Problems;
use stride_app::page::PageRequest;
use stride_app::AppError;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{rfc3339, PageDto};
use crate::extract::{ApiActor, ApiPath, ApiQuery};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_attachments, upload_attachment))
        .routes(routes!(get_attachment, delete_attachment))
        .routes(routes!(download_attachment))
        // Uploads are bounded by the attachment size limit while they stream in, not by the
        // JSON body limit.
        .layer(DefaultBodyLimit::disable())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: i64,
    /// customer or lead.
    pub record_kind: String,
    pub record_id: i64,
    /// The file name, made safe (no path, control characters or quotes).
    pub file_name: String,
    /// Decided from the content, not from the client.
    pub content_type: String,
    pub size_bytes: i64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub uploaded_at: String,
}

fn attachment_dto(a: Attachment) -> AttachmentDto {
    AttachmentDto {
        id: a.id,
        record_kind: a.record_kind,
        record_id: a.record_id,
        file_name: a.file_name,
        content_type: a.content_type,
        size_bytes: a.size_bytes,
        sha256: a.sha256,
        uploaded_by: a.uploaded_by,
        uploaded_by_name: a.uploaded_by_name,
        uploaded_at: rfc3339(a.uploaded_at_ms),
    }
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// customer or lead.
    record_kind: String,
    record_id: i64,
    /// The file; its name's extension must match its content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// An upload as read from a multipart body, with the CSRF field of the UI's form when sent.
pub(crate) struct ReadUpload {
    pub upload: Upload,
    pub csrf: Option<String>,
}

/// The largest text field of an upload form.
const MAX_TEXT_FIELD: u64 = 1024;

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::App(AppError::field(
            "body",
            "malformed_multipart",
            e.body_text(),
        ))
    }
}

/// Reads a field, refusing it with 413 as soon as it grows past `max` bytes.
async fn read_capped(field: &mut Field<'_>, max: u64) -> ApiResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(ApiError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads `record_kind`, `record_id` and `file` (and the UI's `_csrf`), streaming the file
/// under the size limit; every missing or malformed field is reported at once.
pub(crate) async fn read_upload(
    multipart: Result<Multipart, MultipartRejection>,
    max_file_bytes: u64,
) -> ApiResult<ReadUpload> {
    let mut multipart = multipart.map_err(|_| {
        AppError::field(
            "body",
            "content_type",
            "send Content-Type: multipart/form-data",
        )
    })?;
    let (mut kind, mut id, mut file, mut csrf) = (None, None, None, None);
    let mut p = Problems::default();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            file = Some((file_name, read_capped(&mut field, max_file_bytes).await?));
            continue;
        }
        let text = read_capped(&mut field, MAX_TEXT_FIELD).await?;
        let text = String::from_utf8_lossy(&text).trim().to_owned();
        match name.as_str() {
            "record_kind" => kind = Some(text),
            "record_id" => id = Some(text),
            "_csrf" => csrf = Some(text),
            other => p.add(other, "unknown_field", "not a field of an upload"),
        }
    }
    let kind = kind.filter(|k| !k.is_empty());
    p.check(
        kind.is_some(),
        "record_kind",
        "required",
        "customer or lead",
    );
    let id = id.and_then(|i| i.parse::<i64>().ok());
    p.check(id.is_some(), "record_id", "invalid", "the record's number");
    let file = file.filter(|(_, bytes)| !bytes.is_empty());
    p.check(
        file.is_some(),
        "file",
        "required",
        "choose a file to attach",
    );
    p.into_result()?;
    match (kind, id, file) {
        (Some(record_kind), Some(record_id), Some((file_name, bytes))) => Ok(ReadUpload {
            upload: Upload {
                record_kind,
                record_id,
                file_name,
                bytes,
            },
            csrf,
        }),
        _ => Err(AppError::Internal("upload fields checked above".into()).into()),
    }
}

#[utoipa::path(post, path = "/api/v1/attachments", tag = "attachments",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentDto),
        (status = 403, body = Problem, description = "The caller may see but not edit the record"),
        (status = 404, body = Problem, description = "No such record, or outside the caller's scope"),
        (status = 413, body = Problem, description = "The file is larger than the attachment limit (default 20 MiB)"),
        (status = 422, body = Problem, description = "Unknown record kind, or a file refused by its content (field `file`)")))]
async fn upload_attachment(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<AttachmentDto>)> {
    let read = read_upload(multipart, s.app.config().attachment_max_bytes).await?;
    let created = s.app.upload_attachment(&actor, read.upload).await?;
    Ok((StatusCode::CREATED, Json(attachment_dto(created))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttachmentListQuery {
    /// customer or lead.
    pub record_kind: String,
    pub record_id: i64,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/attachments", tag = "attachments", params(AttachmentListQuery),
    responses((status = 200, body = PageDto<AttachmentDto>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_attachments(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AttachmentListQuery>,
) -> ApiResult<Json<PageDto<AttachmentDto>>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let found = s
        .app
        .list_attachments(&actor, &q.record_kind, q.record_id, page)
        .await?;
    Ok(Json(PageDto::from_page(found, attachment_dto)))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, body = AttachmentDto), (status = 404, body = Problem)))]
async fn get_attachment(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AttachmentDto>> {
    Ok(Json(attachment_dto(
        s.app.get_attachment(&actor, id).await?,
    )))
}

/// Attachments are immutable, so removal needs no `If-Match`.
#[utoipa::path(delete, path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, description = "The caller may see but not edit the record"),
        (status = 404, body = Problem)))]
async fn delete_attachment(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_attachment(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}/content", tag = "attachments", params(("id" = i64, Path)),
    responses((status = 200, description = "The file, as a download with its stored content type"),
        (status = 404, body = Problem)))]
async fn download_attachment(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let (attachment, bytes) = s.app.attachment_content(&actor, id).await?;
    Ok(download(&attachment, bytes))
}

/// The file as a download that a browser never renders or runs in the site's origin.
pub(crate) fn download(attachment: &Attachment, bytes: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_str(&attachment.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&attachment.file_name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback for old clients and the
/// exact (e.g. Chinese) name percent-encoded per RFC 5987.
pub fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => char::from(b).to_string(),
            b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn chinese_names_survive_in_the_extended_parameter() {
        assert_eq!(
            content_disposition("报价 v2.pdf"),
            "attachment; filename=\"__ v2.pdf\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%20v2.pdf"
        );
    }
}
