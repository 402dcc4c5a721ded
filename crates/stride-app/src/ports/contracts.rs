//! Persistence of contracts, their versions and payment milestones.

use async_trait::async_trait;

/// Reads of contracts, their versions and payment milestones, outside a transaction.
#[async_trait]
pub trait ContractReads: Send + Sync {}

/// Writes of contracts, their versions and payment milestones, inside a [`crate::Tx`].
#[async_trait]
pub trait ContractWrites: Send {}
