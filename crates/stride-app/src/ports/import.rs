//! Persistence of lead imports: duplicate keys looked up for a whole file at once, and leads,
//! their grades and audit rows written with multi-row statements.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::audit::NewAuditEntry;
use crate::leads::{LeadData, LeadState};
use crate::ports::StoreResult;

/// The normalised keys of a file's rows, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportKeys {
    pub names: Vec<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub credit_codes: Vec<String>,
}

/// A stored record that holds one of the keys asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// name, phone, email or credit_code.
    pub matched_on: &'static str,
    pub key: String,
    pub record: StoredRecord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredRecord {
    Customer(i64),
    /// An open lead: neither converted nor disqualified.
    Lead(i64),
}

/// Reads for imports, outside a transaction.
#[async_trait]
pub trait ImportReads: Send + Sync {
    /// Every customer and open lead whose company, phone, e-mail or credit code key is among `keys`.
    async fn stored_keys(&self, keys: &ImportKeys) -> StoreResult<Vec<StoredKey>>;
}

/// Checked leads under reserved ids (`ids[i]` for `leads[i]`), with their `create` audit rows.
#[derive(Debug, Clone, Default)]
pub struct LeadBatch {
    pub ids: Vec<i64>,
    pub leads: Vec<(LeadData, LeadState)>,
    pub audit: Vec<NewAuditEntry>,
}

/// Writes for imports, inside a [`crate::Tx`].
#[async_trait]
pub trait ImportWrites: Send {
    /// `n` fresh lead ids, for the batches of [`ImportWrites::insert_lead_batches`].
    async fn reserve_lead_ids(&mut self, n: usize) -> StoreResult<Vec<i64>>;
    /// Inserts the batches as they arrive, until their sender closes: each lead with its first
    /// grade as the rules gave it (recorded for `actor_id`) and its `create` audit row.
    /// `written(n)` is told each batch's `n` leads once they are written. Answers how many
    /// leads were written.
    async fn insert_lead_batches(
        &mut self,
        batches: mpsc::Receiver<LeadBatch>,
        actor_id: Option<i64>,
        now_ms: i64,
        written: &(dyn Fn(usize) + Sync),
    ) -> StoreResult<usize>;
}
