//! Lead imports: the duplicate keys of a whole file looked up a thousand at a time through the
//! key indexes, and leads, grades and audit rows written with multi-row statements.

use async_trait::async_trait;
use sqlx::AnyConnection;
use stride_app::audit::NewAuditEntry;
use stride_app::ports::{
    ImportKeys, ImportReads, ImportWrites, LeadBatch, StoreResult, StoredKey, StoredRecord,
};
use stride_app::StoreError;
use tokio::sync::mpsc;

use crate::name_index::LEAD_NAMES;
use crate::sql::{col, reserve_ids, Batch, CopyIn, Sql};
use crate::store::SqlTx;
use crate::{audit, leads, Dialect, SqlStore};

/// Keys per lookup.
const KEYS_PER_QUERY: usize = 5_000;
/// Audit rows per statement (9 placeholders each).
const AUDIT_ROWS_PER_INSERT: usize = 2_000;

/// Where each key lives, and which records duplicate detection compares against: every
/// customer, and leads still open.
const KEY_COLUMNS: [(&str, &str, &str); 8] = [
    ("customers", "name_key", "name"),
    ("customers", "phone_key", "phone"),
    ("customers", "email_key", "email"),
    ("customers", "credit_code", "credit_code"),
    ("leads", "company_key", "name"),
    ("leads", "phone_key", "phone"),
    ("leads", "email_key", "email"),
    ("leads", "credit_code", "credit_code"),
];

/// `column IN (…)` over the keys of one lookup, bound as a single JSON array: one placeholder
/// however many keys, so every chunk plans alike, and PostgreSQL probes the key index per key
/// instead of filtering a scan of the whole table through a thousand-item `IN` list.
fn key_in(q: &mut Sql, dialect: Dialect, column: &str, keys: &[String]) -> StoreResult<()> {
    let keys = serde_json::to_string(keys).map_err(|e| StoreError::Backend(e.to_string()))?;
    q.push(column).push(" IN (SELECT ");
    match dialect {
        Dialect::Sqlite => q.push("value FROM json_each(").bind(keys).push("))"),
        Dialect::Postgres => q
            .push("json_array_elements_text(")
            .bind(keys)
            .push("::json))"),
    };
    Ok(())
}

/// The stored records of one table (`customers` or `leads`) holding any of the keys.
async fn stored_keys_in(
    conn: &mut AnyConnection,
    dialect: Dialect,
    keys: &ImportKeys,
    of_table: &str,
) -> StoreResult<Vec<StoredKey>> {
    let mut found = Vec::new();
    for (table, column, matched_on) in KEY_COLUMNS {
        if table != of_table {
            continue;
        }
        let wanted = match matched_on {
            "name" => &keys.names,
            "phone" => &keys.phones,
            "email" => &keys.emails,
            _ => &keys.credit_codes,
        };
        for chunk in wanted.chunks(KEYS_PER_QUERY) {
            let mut q = Sql::new(&format!("SELECT id, {column} FROM {table} WHERE "));
            key_in(&mut q, dialect, column, chunk)?;
            if table == "leads" {
                q.push(" AND status NOT IN ('converted', 'disqualified')");
            }
            q.push(" ORDER BY id");
            for row in q.fetch_all(conn).await? {
                let id: i64 = col(&row, "id")?;
                found.push(StoredKey {
                    matched_on,
                    key: col(&row, column)?,
                    record: if table == "leads" {
                        StoredRecord::Lead(id)
                    } else {
                        StoredRecord::Customer(id)
                    },
                });
            }
        }
    }
    Ok(found)
}

/// `INSERT INTO audit_log` statements for many rows.
fn audit_inserts(dialect: Dialect, entries: &[NewAuditEntry]) -> impl Iterator<Item = Batch> + '_ {
    Batch::inserts(
        dialect,
        audit::INSERT_INTO,
        entries,
        AUDIT_ROWS_PER_INSERT,
        audit::values,
    )
}

#[async_trait]
impl ImportReads for SqlStore {
    /// Customers and leads are looked up at once, each on a connection of its own: a check
    /// of a whole file is mostly these lookups.
    async fn stored_keys(&self, keys: &ImportKeys) -> StoreResult<Vec<StoredKey>> {
        let dialect = self.dialect();
        let (customers, leads) = tokio::try_join!(
            async { stored_keys_in(&mut *self.conn().await?, dialect, keys, "customers").await },
            async { stored_keys_in(&mut *self.conn().await?, dialect, keys, "leads").await },
        )?;
        Ok(customers.into_iter().chain(leads).collect())
    }
}

#[async_trait]
impl ImportWrites for SqlTx {
    async fn reserve_lead_ids(&mut self, n: usize) -> StoreResult<Vec<i64>> {
        let dialect = self.dialect;
        reserve_ids(self.conn().await?, dialect, "leads", n).await
    }
    /// On PostgreSQL the leads, their first grades and audit rows go by `COPY`, in the
    /// transaction [`SqlTx::copy`] opens: the server takes rows as they stream in, instead of
    /// waiting between statements while the next one's values are encoded. The names' bigrams
    /// go to the transaction beside ([`SqlTx::beside`]), so another server process writes them
    /// meanwhile, or when none can be had, with the leads.
    async fn insert_lead_batches(
        &mut self,
        mut batches: mpsc::Receiver<LeadBatch>,
        actor_id: Option<i64>,
        now_ms: i64,
        written: &(dyn Fn(usize) + Sync),
    ) -> StoreResult<usize> {
        let dialect = self.dialect;
        let mut copy = self.copy().await?;
        let mut beside = self.beside().await?;
        let copying = copy.is_some();
        let beside_open = beside.is_some();
        // Statements are bound on a thread of their own, ahead of the ones running, so the
        // database does not wait for the next one between statements, nor between batches.
        let (to_run, mut built) = mpsc::channel::<Built>(STATEMENTS_AHEAD);
        let building = tokio::task::spawn_blocking(move || {
            while let Some(batch) = batches.blocking_recv() {
                // Inserts are built one by one as the channel takes them; copies whole.
                let statements: Box<dyn Iterator<Item = Built>> = if copying {
                    Box::new(batch_copies(&batch, actor_id, now_ms, !beside_open).into_iter())
                } else {
                    Box::new(batch_inserts(dialect, &batch, actor_id, now_ms))
                };
                let statements = statements.chain([Built::Batch(batch.ids.len())]);
                for next in statements {
                    if to_run.blocking_send(next).is_err() {
                        return; // a statement failed
                    }
                }
            }
        });
        let (to_index, mut index) = mpsc::channel::<CopyIn>(STATEMENTS_AHEAD);
        let indexing = async {
            if let Some(beside) = beside.as_mut() {
                while let Some(rows) = index.recv().await {
                    beside.copy(rows).await?;
                }
            }
            Ok::<_, StoreError>(())
        };
        let conn = self.conn().await?;
        let writing = async move {
            let mut leads = 0;
            while let Some(next) = built.recv().await {
                match next {
                    Built::Beside(rows) => {
                        to_index.send(rows).await.map_err(|_| {
                            StoreError::Backend("the name index's writes stopped".to_owned())
                        })?;
                    }
                    Built::Statement(statement) => {
                        statement.execute(conn).await?;
                    }
                    Built::Copy(rows) => {
                        let copy = copy.as_mut().ok_or_else(|| {
                            StoreError::Backend("rows to copy with no copy open".to_owned())
                        })?;
                        copy.copy(rows).await?;
                    }
                    Built::Batch(n) => {
                        leads += n;
                        written(n);
                    }
                }
            }
            // The copy goes back to the transaction, to commit with it.
            Ok::<_, StoreError>((leads, copy))
        };
        let ((), (leads, copy)) = tokio::try_join!(indexing, writing)?;
        self.keep_beside(beside);
        self.keep_copy(copy);
        building
            .await
            .map_err(|e| StoreError::Backend(format!("building the import's statements: {e}")))?;
        Ok(leads)
    }
}

/// Statements built ahead of the writing connection.
const STATEMENTS_AHEAD: usize = 4;

enum Built {
    Statement(Batch),
    /// Rows for the transaction that copies.
    Copy(CopyIn),
    /// Rows for the transaction beside: names' bigrams.
    Beside(CopyIn),
    /// The statements of a batch of this many leads are all sent before this.
    Batch(usize),
}

/// The copies writing one batch on PostgreSQL: its leads, first grades and audit rows, and its
/// names' bigrams, for the transaction beside or, `with_leads`, with the leads.
fn batch_copies(
    batch: &LeadBatch,
    actor_id: Option<i64>,
    now_ms: i64,
    with_leads: bool,
) -> Vec<Built> {
    let LeadBatch { ids, leads, audit } = batch;
    let names = ids
        .iter()
        .zip(leads)
        .map(|(id, (d, _))| (*id, d.company.as_str()));
    let bigrams = LEAD_NAMES.copy(names);
    let mut built = vec![Built::Copy(leads::lead_copy(ids, leads, now_ms))];
    built.push(if with_leads {
        Built::Copy(bigrams)
    } else {
        Built::Beside(bigrams)
    });
    built.push(Built::Copy(leads::first_grade_copy(
        ids, leads, actor_id, now_ms,
    )));
    built.push(Built::Copy(audit::copy(audit)));
    built
}

/// The statements writing one batch: its leads, their name bigrams, first grades and audit rows.
fn batch_inserts<'a>(
    dialect: Dialect,
    batch: &'a LeadBatch,
    actor_id: Option<i64>,
    now_ms: i64,
) -> impl Iterator<Item = Built> + 'a {
    let LeadBatch { ids, leads, audit } = batch;
    let names = ids
        .iter()
        .zip(leads)
        .map(|(id, (d, _))| (*id, d.company.as_str()));
    leads::lead_inserts(dialect, ids, leads, now_ms)
        .map(Built::Statement)
        .chain(LEAD_NAMES.inserts(dialect, names).map(Built::Statement))
        .chain(
            leads::first_grade_inserts(dialect, ids, leads, actor_id, now_ms)
                .chain(audit_inserts(dialect, audit))
                .map(Built::Statement),
        )
}
