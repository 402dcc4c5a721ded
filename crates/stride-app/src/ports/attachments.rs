//! Persistence of attachment metadata (the bytes live under the data directory).

use async_trait::async_trait;

/// Reads of attachment metadata (the bytes live under the data directory), outside a transaction.
#[async_trait]
pub trait AttachmentReads: Send + Sync {}

/// Writes of attachment metadata (the bytes live under the data directory), inside a [`crate::Tx`].
#[async_trait]
pub trait AttachmentWrites: Send {}
