//! Persistence of lead imports: duplicate keys looked up for a whole file at once, and leads,
//! their grades and audit rows written with multi-row statements.

use async_trait::async_trait;

use crate::audit::NewAuditEntry;
use crate::leads::{Lead, LeadData, LeadState};
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

/// Writes for imports, inside a [`crate::Tx`].
#[async_trait]
pub trait ImportWrites: Send {
    /// Inserts checked leads; returns their ids, in the order given.
    async fn insert_leads(
        &mut self,
        leads: &[(LeadData, LeadState)],
        now_ms: i64,
    ) -> StoreResult<Vec<i64>>;
    /// The first grade of each lead, given by the rules.
    async fn record_first_grades(
        &mut self,
        leads: &[Lead],
        actor_id: Option<i64>,
        at_ms: i64,
    ) -> StoreResult<()>;
    async fn audit_all(&mut self, entries: &[NewAuditEntry]) -> StoreResult<()>;
}
