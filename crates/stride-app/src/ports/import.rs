//! Persistence of lead imports: duplicate keys looked up for a whole file at once, and leads,
//! their grades and audit rows written with multi-row statements.

use async_trait::async_trait;

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

/// Writes for imports, inside a [`crate::Tx`].
#[async_trait]
pub trait ImportWrites: Send {
    /// `n` fresh lead ids, for [`ImportWrites::insert_leads`].
    async fn reserve_lead_ids(&mut self, n: usize) -> StoreResult<Vec<i64>>;
    /// Inserts checked leads under reserved ids (`ids[i]` for `leads[i]`), each with its first
    /// grade as the rules gave it (recorded for `actor_id`) and its `create` audit row.
    async fn insert_leads(
        &mut self,
        ids: &[i64],
        leads: &[(LeadData, LeadState)],
        audit: &[NewAuditEntry],
        actor_id: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()>;
}
