//! Attachments: files on records, stored once per content under the data directory and shown
//! only to users who may see their record.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use stride_domain::access::{Action, RecordKind};
use stride_domain::attachments::{safe_file_name, sniff};

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};
use crate::App;

/// The metadata of one stored file. Attachments are immutable: replaced by deleting and uploading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: i64,
    pub record_kind: String,
    pub record_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Lower-case hex; also the content's name on disk.
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub uploaded_at_ms: i64,
}

/// An attachment's metadata about to be stored.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub record_kind: String,
    pub record_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub uploaded_at_ms: i64,
}

/// A file as it arrives.
#[derive(Debug, Clone)]
pub struct Upload {
    pub record_kind: String,
    pub record_id: i64,
    /// As the client named it; made safe before it is stored.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What an actor may do with the attachments of a record they can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAccess {
    /// List and download.
    View,
    /// Also upload and delete.
    Edit,
}

impl App {
    /// Which records carry attachments, and what the actor may do with them: the record's own
    /// scoped getter decides visibility (a record out of scope is NotFound, like a missing one).
    /// Each business area that gains attachments adds one arm.
    pub async fn record_access(
        &self,
        actor: &Actor,
        record_kind: &str,
        record_id: i64,
    ) -> AppResult<RecordAccess> {
        let editable = match record_kind {
            "customer" => {
                let customer = self.get_customer(actor, record_id).await?;
                // Pool customers are visible to every rep but claimed before anyone works on them.
                customer.owner_id.is_some() && may(actor, RecordKind::Customer, Action::Edit)
            }
            "lead" => {
                self.get_lead(actor, record_id).await?;
                may(actor, RecordKind::Lead, Action::Edit)
            }
            crate::contracts::RECORD_KIND => {
                self.get_contract(actor, record_id).await?;
                may(actor, RecordKind::Contract, Action::Edit)
            }
            crate::stage_documents::PROPOSAL_KIND => {
                self.get_proposal(actor, record_id).await?;
                may(actor, RecordKind::Opportunity, Action::Edit)
            }
            _ => {
                return Err(AppError::field(
                    "record_kind",
                    "unsupported",
                    "attachments belong to a customer, a lead or a contract",
                ))
            }
        };
        Ok(if editable {
            RecordAccess::Edit
        } else {
            RecordAccess::View
        })
    }

    async fn require_record_edit(
        &self,
        actor: &Actor,
        record_kind: &str,
        record_id: i64,
    ) -> AppResult<RecordKind> {
        match self.record_access(actor, record_kind, record_id).await? {
            // A proposal is edited by whoever edits its opportunity.
            RecordAccess::Edit if record_kind == crate::stage_documents::PROPOSAL_KIND => {
                Ok(RecordKind::Opportunity)
            }
            RecordAccess::Edit => record_kind
                .parse::<RecordKind>()
                .map_err(|e| AppError::Internal(e.to_string())),
            RecordAccess::View => Err(AppError::Forbidden),
        }
    }

    /// The attachments of a record the actor can see.
    pub async fn list_attachments(
        &self,
        actor: &Actor,
        record_kind: &str,
        record_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Attachment>> {
        Ok(self
            .record_files(actor, record_kind, record_id, page)
            .await?
            .1)
    }

    /// What the actor may do with a record's attachments, and the attachments: the record's
    /// visibility is checked once for both.
    pub async fn record_files(
        &self,
        actor: &Actor,
        record_kind: &str,
        record_id: i64,
        page: PageRequest,
    ) -> AppResult<(RecordAccess, Page<Attachment>)> {
        let access = self.record_access(actor, record_kind, record_id).await?;
        let rows = self
            .store
            .attachments_of(record_kind, record_id, page)
            .await?;
        Ok((access, Page::from_rows(rows, page, |a| a.id)))
    }

    /// One attachment, when the actor can see its record.
    pub async fn get_attachment(&self, actor: &Actor, id: i64) -> AppResult<Attachment> {
        let attachment = self.store.attachment(id).await?.ok_or(AppError::NotFound)?;
        self.record_access(actor, &attachment.record_kind, attachment.record_id)
            .await?;
        Ok(attachment)
    }

    /// One attachment and its bytes.
    pub async fn attachment_content(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<(Attachment, Vec<u8>)> {
        let attachment = self.get_attachment(actor, id).await?;
        let path = self.contents().path(&attachment.sha256);
        let bytes = blocking(move || std::fs::read(&path))
            .await
            .map_err(|e| AppError::Internal(format!("attachment {id} content unreadable: {e}")))?;
        Ok((attachment, bytes))
    }

    /// Stores a file on a record the actor may edit, after checking its size and its content.
    pub async fn upload_attachment(&self, actor: &Actor, upload: Upload) -> AppResult<Attachment> {
        let kind = self
            .require_record_edit(actor, &upload.record_kind, upload.record_id)
            .await?;
        let file_name = safe_file_name(&upload.file_name);
        let max = self.config.attachment_max_bytes;
        if upload.bytes.len() as u64 > max {
            return Err(AppError::field(
                "file",
                "too_large",
                format!("at most {max} bytes"),
            ));
        }
        let file_kind = sniff(&file_name, &upload.bytes)
            .map_err(|r| AppError::field("file", r.code(), r.message()))?;
        let sha256 = hex(&Sha256::digest(&upload.bytes));
        let now = self.now_ms();
        let new = NewAttachment {
            record_kind: upload.record_kind,
            record_id: upload.record_id,
            file_name,
            content_type: file_kind.content_type().to_owned(),
            size_bytes: upload.bytes.len() as i64,
            sha256: sha256.clone(),
            uploaded_by: actor.is_person().then_some(actor.user_id),
            uploaded_by_name: actor.display_name.clone(),
            uploaded_at_ms: now,
        };
        let mut tx = self.store.begin().await?;
        tx.lock_attachment_content(&sha256).await?;
        self.contents().put(sha256, upload.bytes).await?;
        let created = tx.insert_attachment(&new).await?;
        let mut entry = NewAuditEntry::new(actor, "attach", kind, Some(new.record_id), now)
            .with_after(&created);
        entry.record_kind = audit_kind(&new.record_kind, kind);
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Removes an attachment from a record the actor may edit; its content goes with its last
    /// attachment.
    pub async fn delete_attachment(&self, actor: &Actor, id: i64) -> AppResult<Attachment> {
        let attachment = self.get_attachment(actor, id).await?;
        let kind = self
            .require_record_edit(actor, &attachment.record_kind, attachment.record_id)
            .await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        tx.lock_attachment_content(&attachment.sha256).await?;
        if !tx.delete_attachment(id).await? {
            return Err(AppError::NotFound);
        }
        let mut entry = NewAuditEntry::new(actor, "detach", kind, Some(attachment.record_id), now);
        entry.record_kind = audit_kind(&attachment.record_kind, kind);
        entry = entry.with_before(&attachment);
        tx.audit(&entry).await?;
        if tx.attachment_content_references(&attachment.sha256).await? == 0 {
            // Under the content lock, so no upload of the same bytes is between its write and insert.
            self.contents().remove(&attachment.sha256).await?;
        }
        tx.commit().await?;
        Ok(attachment)
    }

    fn contents(&self) -> ContentStore<'_> {
        ContentStore {
            root: &self.config.attachments_dir,
        }
    }
}

fn may(actor: &Actor, kind: RecordKind, action: Action) -> bool {
    actor.require(kind, action).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs file I/O off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

/// Contents on disk at `<root>/ab/cdef…`, named by their SHA-256, so equal files are stored once.
struct ContentStore<'a> {
    root: &'a Path,
}

impl ContentStore<'_> {
    fn path(&self, sha256: &str) -> PathBuf {
        let (dir, rest) = sha256.split_at(2.min(sha256.len()));
        self.root.join(dir).join(rest)
    }

    /// Writes the content unless it is already there: to a temporary file, synced, then renamed
    /// into place, so a reader never sees half a file.
    async fn put(&self, sha256: String, bytes: Vec<u8>) -> AppResult<()> {
        let path = self.path(&sha256);
        blocking(move || {
            if path.exists() {
                return Ok(());
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let temp = dir.join(format!(".{sha256}.{}.tmp", rand::random::<u64>()));
            let written = (|| {
                let mut file = std::fs::File::create(&temp)?;
                file.write_all(&bytes)?;
                file.sync_all()?;
                std::fs::rename(&temp, &path)
            })();
            if written.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            written?;
            // The rename itself is durable only once the directory is synced.
            std::fs::File::open(dir)?.sync_all()
        })
        .await
        .map_err(|e| AppError::Internal(format!("storing attachment content: {e}")))
    }

    async fn remove(&self, sha256: &str) -> AppResult<()> {
        let path = self.path(sha256);
        blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
        .map_err(|e| AppError::Internal(format!("removing attachment content: {e}")))
    }
}

/// The audit log's name for the record a file hangs on.
fn audit_kind(record_kind: &str, kind: RecordKind) -> &'static str {
    if record_kind == crate::stage_documents::PROPOSAL_KIND {
        crate::stage_documents::PROPOSAL_KIND
    } else {
        kind.as_str()
    }
}
