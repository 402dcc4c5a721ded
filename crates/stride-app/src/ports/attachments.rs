//! Persistence of attachment metadata (the bytes live under the data directory).

use async_trait::async_trait;

use crate::attachments::{Attachment, NewAttachment};
use crate::page::PageRequest;
use crate::ports::StoreResult;

/// Reads of attachment metadata (the bytes live under the data directory), outside a transaction.
/// Unscoped: the use cases decide visibility through the record an attachment belongs to.
#[async_trait]
pub trait AttachmentReads: Send + Sync {
    async fn attachment(&self, id: i64) -> StoreResult<Option<Attachment>>;
    /// The attachments of one record, oldest first.
    async fn attachments_of(
        &self,
        record_kind: &str,
        record_id: i64,
        page: PageRequest,
    ) -> StoreResult<Vec<Attachment>>;
}

/// Writes of attachment metadata (the bytes live under the data directory), inside a [`crate::Tx`].
#[async_trait]
pub trait AttachmentWrites: Send {
    /// Serialises the transactions that store or remove the content with this SHA-256, so a
    /// removal never deletes bytes a concurrent upload of the same content relies on.
    async fn lock_attachment_content(&mut self, sha256: &str) -> StoreResult<()>;
    async fn insert_attachment(&mut self, new: &NewAttachment) -> StoreResult<Attachment>;
    /// Removes the metadata; false when there was none.
    async fn delete_attachment(&mut self, id: i64) -> StoreResult<bool>;
    /// How many attachments still name this content.
    async fn attachment_content_references(&mut self, sha256: &str) -> StoreResult<i64>;
}
