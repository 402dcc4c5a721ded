//! The append-only audit log.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use stride_app::page::PageRequest;
use stride_app::{Reach, StoreError};

use crate::sql::{col, Binds, CopyIn, Sql};

type Result<T> = std::result::Result<T, StoreError>;

const COLUMNS: &str = "SELECT id, at_ms, actor_id, actor_name, action, record_kind, record_id, before_json, after_json FROM audit_log";

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: col(row, "id")?,
        at_ms: col(row, "at_ms")?,
        actor_id: col(row, "actor_id")?,
        actor_name: col(row, "actor_name")?,
        action: col(row, "action")?,
        record_kind: col(row, "record_kind")?,
        record_id: col(row, "record_id")?,
        before: parse_json(col(row, "before_json")?),
        after: parse_json(col(row, "after_json")?),
    })
}

/// The columns an audit row is written with, in [`values`]'s order.
macro_rules! audit_columns {
    () => {
        "audit_log (at_ms, actor_id, actor_name, actor_department_id, action, record_kind, \
         record_id, before_json, after_json)"
    };
}

/// The start of an audit insert; each row follows as [`values`].
pub(crate) const INSERT_INTO: &str = concat!("INSERT INTO ", audit_columns!(), " VALUES ");

/// Audit rows for PostgreSQL's `COPY`. The audit log refers to nothing by foreign key: it
/// keeps the names of what it records, and outlives them.
pub(crate) fn copy(entries: &[NewAuditEntry]) -> CopyIn {
    CopyIn::of(audit_columns!(), entries, values)
}

/// One audit row's parenthesised values, in [`INSERT_INTO`]'s column order.
pub(crate) fn values(q: &mut impl Binds, e: &NewAuditEntry) {
    q.push("(")
        .bind(e.at_ms)
        .push(", ")
        .bind(e.actor_id)
        .push(", ")
        .bind(e.actor_name.clone())
        .push(", ");
    q.bind(e.actor_department_id)
        .push(", ")
        .bind(e.action)
        .push(", ");
    q.bind(e.record_kind)
        .push(", ")
        .bind(e.record_id)
        .push(", ");
    q.bind(e.before.as_ref().map(|v| v.get().to_owned()))
        .push(", ");
    q.bind(e.after.as_ref().map(|v| v.get().to_owned()))
        .push(")");
}

/// The statement writing one audit row, built into `q`.
pub fn insert_into(q: &mut Sql, e: &NewAuditEntry) {
    q.push(INSERT_INTO);
    values(q, e);
}

/// Audit rows are reached through the actor who wrote them: a manager sees their team's trail.
fn audit_reach(q: &mut Sql, reach: &Reach) {
    q.reach(reach, "actor_id", "actor_department_id");
}

/// Newest first.
pub async fn entries(
    conn: &mut AnyConnection,
    reach: &Reach,
    f: &AuditFilter,
    page: PageRequest,
) -> Result<Vec<AuditEntry>> {
    let mut q = Sql::new(COLUMNS);
    q.push(" WHERE ");
    audit_reach(&mut q, reach);
    if let Some(a) = f.actor_id {
        q.push(" AND actor_id = ").bind(a);
    }
    if let Some(k) = &f.record_kind {
        q.push(" AND record_kind = ").bind(k.clone());
    }
    if let Some(r) = f.record_id {
        q.push(" AND record_id = ").bind(r);
    }
    if let Some(a) = &f.action {
        q.push(" AND action = ").bind(a.clone());
    }
    if let Some(from) = f.from_ms {
        q.push(" AND at_ms >= ").bind(from);
    }
    if let Some(to) = f.to_ms {
        q.push(" AND at_ms < ").bind(to);
    }
    if let Some(after) = page.after {
        q.push(" AND id < ").bind(after);
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(entry).collect()
}

pub async fn entry_by_id(
    conn: &mut AnyConnection,
    reach: &Reach,
    id: i64,
) -> Result<Option<AuditEntry>> {
    let mut q = Sql::new(COLUMNS);
    q.push(" WHERE id = ").bind(id).push(" AND ");
    audit_reach(&mut q, reach);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(entry)
        .transpose()
}
