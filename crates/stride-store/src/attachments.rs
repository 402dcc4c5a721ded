//! Attachment persistence (attachments).

use async_trait::async_trait;
use stride_app::ports::{AttachmentReads, AttachmentWrites};

use crate::store::SqlTx;
use crate::SqlStore;

#[async_trait]
impl AttachmentReads for SqlStore {}

#[async_trait]
impl AttachmentWrites for SqlTx {}
