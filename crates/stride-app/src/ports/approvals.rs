//! Persistence of approval flows, requests and their steps.

use async_trait::async_trait;

/// Reads of approval flows, requests and their steps, outside a transaction.
#[async_trait]
pub trait ApprovalReads: Send + Sync {}

/// Writes of approval flows, requests and their steps, inside a [`crate::Tx`].
#[async_trait]
pub trait ApprovalWrites: Send {}
