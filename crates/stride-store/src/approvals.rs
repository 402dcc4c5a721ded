//! Approval persistence (approvals).

use async_trait::async_trait;
use stride_app::ports::{ApprovalReads, ApprovalWrites};

use crate::store::SqlTx;
use crate::SqlStore;

#[async_trait]
impl ApprovalReads for SqlStore {}

#[async_trait]
impl ApprovalWrites for SqlTx {}
