//! The audit log (ORG-4): who did what to which record, before and after. Append-only.

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};

use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub record_kind: String,
    pub record_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A record's state as the audit log keeps it: JSON text, serialized once, straight from the
/// record (a lead import writes one for every lead).
pub type AuditJson = Box<serde_json::value::RawValue>;

/// An audit row about to be written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub actor_department_id: Option<i64>,
    pub action: &'static str,
    pub record_kind: &'static str,
    pub record_id: Option<i64>,
    pub before: Option<AuditJson>,
    pub after: Option<AuditJson>,
}

fn json(v: &impl Serialize) -> Option<AuditJson> {
    serde_json::value::to_raw_value(v).ok()
}

impl NewAuditEntry {
    pub fn new(
        actor: &Actor,
        action: &'static str,
        kind: RecordKind,
        id: Option<i64>,
        at_ms: i64,
    ) -> Self {
        Self {
            at_ms,
            actor_id: actor.is_person().then_some(actor.user_id),
            actor_name: actor.username.clone(),
            actor_department_id: actor.is_person().then_some(actor.department_id),
            action,
            record_kind: kind.as_str(),
            record_id: id,
            before: None,
            after: None,
        }
    }
    pub fn created(
        actor: &Actor,
        kind: RecordKind,
        id: i64,
        after: &impl Serialize,
        at_ms: i64,
    ) -> Self {
        Self {
            after: json(after),
            ..Self::new(actor, "create", kind, Some(id), at_ms)
        }
    }
    pub fn updated(
        actor: &Actor,
        kind: RecordKind,
        id: i64,
        before: &impl Serialize,
        after: &impl Serialize,
        at_ms: i64,
    ) -> Self {
        Self {
            before: json(before),
            after: json(after),
            ..Self::new(actor, "update", kind, Some(id), at_ms)
        }
    }
    pub fn deleted(
        actor: &Actor,
        kind: RecordKind,
        id: i64,
        before: &impl Serialize,
        at_ms: i64,
    ) -> Self {
        Self {
            before: json(before),
            ..Self::new(actor, "delete", kind, Some(id), at_ms)
        }
    }
    pub fn with_before(mut self, before: &impl Serialize) -> Self {
        self.before = json(before);
        self
    }
    pub fn with_after(mut self, after: &impl Serialize) -> Self {
        self.after = json(after);
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub record_kind: Option<String>,
    pub record_id: Option<i64>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl App {
    pub async fn list_audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> AppResult<Page<AuditEntry>> {
        actor.require(RecordKind::Audit, Action::View)?;
        let reach = self.reach(actor).await?;
        let rows = self.store.audit_entries(&reach, filter, page).await?;
        Ok(Page::from_rows(rows, page, |e| e.id))
    }

    pub async fn get_audit(&self, actor: &Actor, id: i64) -> AppResult<AuditEntry> {
        actor.require(RecordKind::Audit, Action::View)?;
        let reach = self.reach(actor).await?;
        self.store
            .audit_entry(&reach, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Exports are audited like changes: who took which records out, and how many.
    pub async fn record_export(
        &self,
        actor: &Actor,
        kind: RecordKind,
        rows: usize,
    ) -> AppResult<()> {
        actor.require(kind, Action::Export)?;
        let mut tx = self.store.begin().await?;
        let entry = NewAuditEntry::new(actor, "export", kind, None, self.now_ms())
            .with_after(&serde_json::json!({ "rows": rows }));
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
