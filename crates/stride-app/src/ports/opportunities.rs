//! Persistence of products, opportunities, stages and their documents.

use async_trait::async_trait;

/// Reads of products, opportunities, stages and their documents, outside a transaction.
#[async_trait]
pub trait OpportunityReads: Send + Sync {}

/// Writes of products, opportunities, stages and their documents, inside a [`crate::Tx`].
#[async_trait]
pub trait OpportunityWrites: Send {}
