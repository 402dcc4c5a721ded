//! Lead imports: the duplicate keys of a whole file looked up a thousand at a time through the
//! key indexes, and leads, grades and audit rows written with multi-row statements.

use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Arguments, Encode, Type};
use stride_app::audit::NewAuditEntry;
use stride_app::leads::{Lead, LeadData, LeadState};
use stride_app::ports::{
    ImportKeys, ImportReads, ImportWrites, StoreResult, StoredKey, StoredRecord,
};

use crate::sql::{col, Sql};
use crate::store::SqlTx;
use crate::{backend, leads, Dialect, SqlStore};

/// What builds a statement: [`Sql`] for one record, [`Batch`] for many.
pub(crate) trait Binds {
    fn push(&mut self, text: &str) -> &mut Self;
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any>;
}

impl Binds for Sql {
    fn push(&mut self, text: &str) -> &mut Self {
        Sql::push(self, text)
    }
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any>,
    {
        Sql::bind(self, value)
    }
}

/// A statement with thousands of values. SQLite finds a numbered placeholder's name by walking
/// a list, so binding thousands of `$N` takes quadratic time (a 500-lead insert took most of a
/// second); there the placeholders are plain `?`, bound in order. PostgreSQL reads `$N`.
pub(crate) struct Batch {
    text: String,
    args: AnyArguments<'static>,
    n: usize,
    dialect: Dialect,
}

impl Batch {
    pub fn new(dialect: Dialect, text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: AnyArguments::default(),
            n: 0,
            dialect,
        }
    }

    pub async fn fetch_all(self, conn: &mut AnyConnection) -> StoreResult<Vec<AnyRow>> {
        sqlx::query_with(&self.text, self.args)
            .fetch_all(conn)
            .await
            .map_err(backend)
    }

    pub async fn execute(self, conn: &mut AnyConnection) -> StoreResult<u64> {
        sqlx::query_with(&self.text, self.args)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(backend)
    }
}

impl Binds for Batch {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any>,
    {
        self.n += 1;
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.n.to_string());
            }
        }
        // Adding to AnyArguments only fails for types Any cannot carry, which `T` rules out.
        let _ = self.args.add(value);
        self
    }
}

/// Keys per lookup.
const KEYS_PER_QUERY: usize = 1_000;
/// Audit rows per statement (9 placeholders each).
const AUDIT_ROWS_PER_INSERT: usize = 2_000;

/// Where each key lives, and which records duplicate detection compares against: every
/// customer, and leads still open.
const KEY_COLUMNS: [(&str, &str, &str); 6] = [
    ("customers", "name_key", "name"),
    ("customers", "phone_key", "phone"),
    ("customers", "email_key", "email"),
    ("leads", "company_key", "name"),
    ("leads", "phone_key", "phone"),
    ("leads", "email_key", "email"),
];

async fn stored_keys(
    conn: &mut AnyConnection,
    dialect: Dialect,
    keys: &ImportKeys,
) -> StoreResult<Vec<StoredKey>> {
    let mut found = Vec::new();
    for (table, column, matched_on) in KEY_COLUMNS {
        let wanted = match matched_on {
            "name" => &keys.names,
            "phone" => &keys.phones,
            _ => &keys.emails,
        };
        for chunk in wanted.chunks(KEYS_PER_QUERY) {
            let mut q = Batch::new(
                dialect,
                &format!("SELECT id, {column} FROM {table} WHERE {column} IN ("),
            );
            for (i, key) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(key.clone());
            }
            q.push(")");
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

async fn audit_all(
    conn: &mut AnyConnection,
    dialect: Dialect,
    entries: &[NewAuditEntry],
) -> StoreResult<()> {
    for chunk in entries.chunks(AUDIT_ROWS_PER_INSERT) {
        let mut q = Batch::new(
            dialect,
            "INSERT INTO audit_log (at_ms, actor_id, actor_name, actor_department_id, action, record_kind, record_id, before_json, after_json) VALUES ",
        );
        for (i, e) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(e.at_ms)
                .push(", ")
                .bind(e.actor_id)
                .push(", ")
                .bind(e.actor_name.clone())
                .push(", ");
            q.bind(e.actor_department_id)
                .push(", ")
                .bind(e.action.to_owned())
                .push(", ");
            q.bind(e.record_kind.to_owned())
                .push(", ")
                .bind(e.record_id)
                .push(", ");
            q.bind(e.before.as_ref().map(|v| v.to_string()))
                .push(", ")
                .bind(e.after.as_ref().map(|v| v.to_string()))
                .push(")");
        }
        q.execute(conn).await?;
    }
    Ok(())
}

#[async_trait]
impl ImportReads for SqlStore {
    async fn stored_keys(&self, keys: &ImportKeys) -> StoreResult<Vec<StoredKey>> {
        stored_keys(&mut *self.conn().await?, self.dialect(), keys).await
    }
}

#[async_trait]
impl ImportWrites for SqlTx {
    async fn insert_leads(
        &mut self,
        leads: &[(LeadData, LeadState)],
        now_ms: i64,
    ) -> StoreResult<Vec<Lead>> {
        leads::insert_leads(&mut self.0, self.1, leads, now_ms).await
    }
    async fn record_first_grades(
        &mut self,
        leads: &[Lead],
        actor_id: Option<i64>,
        at_ms: i64,
    ) -> StoreResult<()> {
        leads::record_first_grades(&mut self.0, self.1, leads, actor_id, at_ms).await
    }
    async fn audit_all(&mut self, entries: &[NewAuditEntry]) -> StoreResult<()> {
        audit_all(&mut self.0, self.1, entries).await
    }
}
