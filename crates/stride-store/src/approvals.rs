//! Approval flows, requests, tasks, history and delegations.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::approvals::{
    ApprovalDetailParts, ApprovalEvent, ApprovalRequest, ApprovalTask, Delegation, InboxFilter,
    InboxItem, NewEvent, NewRequest, NewTask, RequestState, StoredFlow,
};
use stride_app::jobs::JOB_BATCH;
use stride_app::page::PageRequest;
use stride_app::ports::{ApprovalReads, ApprovalWrites, StoreResult};
use stride_app::{Reach, StoreError};
use stride_domain::approvals::{FlowKind, TaskState};

use crate::sql::{col, json, json_rows_in_order, json_rows_of, Held, Sql};
use crate::store::SqlTx;
use crate::{Dialect, SqlStore};

type Result<T> = std::result::Result<T, StoreError>;

fn parsed<T: std::str::FromStr>(row: &AnyRow, name: &str) -> Result<T> {
    let text: String = col(row, name)?;
    text.parse()
        .map_err(|_| StoreError::Backend(format!("column {name}: unknown value `{text}`")))
}

const REQUEST_COLUMNS: &str = "r.id, r.kind, r.record_kind, r.record_id, r.record_version, r.title, \
    r.amount_fen, r.discount_bp, r.snapshot, r.definition, r.requester_id, r.department_id, r.status, \
    r.current_step, r.version, r.created_at_ms, r.updated_at_ms, r.decided_at_ms";

fn request(row: &AnyRow) -> Result<ApprovalRequest> {
    Ok(ApprovalRequest {
        id: col(row, "id")?,
        kind: parsed(row, "kind")?,
        record_kind: col(row, "record_kind")?,
        record_id: col(row, "record_id")?,
        record_version: col(row, "record_version")?,
        title: col(row, "title")?,
        amount_fen: col(row, "amount_fen")?,
        discount_bp: col(row, "discount_bp")?,
        snapshot: json(row, "snapshot")?,
        definition: json(row, "definition")?,
        requester_id: col(row, "requester_id")?,
        department_id: col(row, "department_id")?,
        status: parsed(row, "status")?,
        current_step: col(row, "current_step")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
        decided_at_ms: col(row, "decided_at_ms")?,
    })
}

const TASK_COLUMNS: &str = "t.id AS task_id, t.request_id, t.step_index, t.step_name, t.mode, \
    t.approver_id, t.on_behalf_of, t.status AS task_status, t.comment, t.created_at_ms AS task_created_at_ms, \
    t.decided_at_ms AS task_decided_at_ms";

fn task(row: &AnyRow) -> Result<ApprovalTask> {
    Ok(ApprovalTask {
        id: col(row, "task_id")?,
        request_id: col(row, "request_id")?,
        step_index: col(row, "step_index")?,
        step_name: col(row, "step_name")?,
        mode: parsed(row, "mode")?,
        approver_id: col(row, "approver_id")?,
        on_behalf_of: col(row, "on_behalf_of")?,
        status: parsed(row, "task_status")?,
        comment: col(row, "comment")?,
        created_at_ms: col(row, "task_created_at_ms")?,
        decided_at_ms: col(row, "task_decided_at_ms")?,
    })
}

fn delegation(row: &AnyRow) -> Result<Delegation> {
    Ok(Delegation {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        delegate_id: col(row, "delegate_id")?,
        starts_at_ms: col(row, "starts_at_ms")?,
        ends_at_ms: col(row, "ends_at_ms")?,
    })
}

async fn flow(conn: &mut AnyConnection, kind: FlowKind) -> Result<Option<StoredFlow>> {
    let mut q = Sql::new(
        "SELECT kind, definition, version, updated_at_ms FROM approval_flows WHERE kind = ",
    );
    q.bind(kind.as_str());
    q.fetch_optional(conn)
        .await?
        .map(|row| {
            Ok(StoredFlow {
                kind,
                definition: json(&row, "definition")?,
                version: col(&row, "version")?,
                updated_at_ms: col(&row, "updated_at_ms")?,
            })
        })
        .transpose()
}

async fn request_by_id(
    conn: &mut AnyConnection,
    id: i64,
    lock: bool,
) -> Result<Option<ApprovalRequest>> {
    let mut q = Sql::new(&format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = "
    ));
    q.bind(id);
    if lock {
        q.push(" FOR UPDATE");
    }
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(request)
        .transpose()
}

/// A request with its tasks (step by step, oldest first) and its history (oldest first), in one
/// round trip; with `lock` (PostgreSQL), in two: its row is first locked until the transaction
/// ends.
async fn request_in_full(
    conn: &mut AnyConnection,
    dialect: Dialect,
    id: i64,
    lock: bool,
) -> Result<Option<ApprovalDetailParts>> {
    let tasks = json_rows_of(
        dialect,
        "'id', t.id, 'request_id', t.request_id, 'step_index', t.step_index, \
         'step_name', t.step_name, 'mode', t.mode, 'approver_id', t.approver_id, \
         'on_behalf_of', t.on_behalf_of, 'status', t.status, 'comment', t.comment, \
         'created_at_ms', t.created_at_ms, 'decided_at_ms', t.decided_at_ms",
    );
    let events = json_rows_in_order(
        dialect,
        "'request_id', e.request_id, 'at_ms', e.at_ms, 'actor_id', e.actor_id, \
         'action', e.action, 'step_index', e.step_index, 'comment', e.comment",
        "e.id",
    );
    if lock {
        // The lock is taken by a statement of its own: PostgreSQL reads a statement's
        // subqueries in the snapshot the statement began with, so tasks read together with a
        // lock it had to wait for would be those from before the decision that held it. Two
        // approvers of an "all" step deciding at once would each see the other's task still
        // pending, and the step would wait for ever on tasks all approved.
        let mut q = Sql::new("SELECT id FROM approval_requests WHERE id = ");
        q.bind(id).push(" FOR UPDATE");
        if q.fetch_optional(&mut *conn).await?.is_none() {
            return Ok(None);
        }
    }
    let mut q = Sql::new(&format!(
        "SELECT {REQUEST_COLUMNS}, \
         (SELECT {tasks} FROM approval_tasks t WHERE t.request_id = r.id) AS tasks, \
         (SELECT {events} FROM approval_events e WHERE e.request_id = r.id) AS events \
         FROM approval_requests r WHERE r.id = "
    ));
    q.bind(id);
    let Some(row) = q.fetch_optional(conn).await? else {
        return Ok(None);
    };
    let mut tasks: Vec<ApprovalTask> = json(&row, "tasks")?;
    tasks.sort_unstable_by_key(|t| (t.step_index, t.id));
    let events: Vec<ApprovalEvent> = json(&row, "events")?;
    Ok(Some(ApprovalDetailParts {
        request: request(&row)?,
        tasks,
        events,
    }))
}

/// The running requests about one deal of the `kinds` given: its discount, the reviews of its
/// proposals and of its contracts.
fn open_deal_approvals(opportunity_id: i64, kinds: &[FlowKind]) -> Sql {
    // Where each kind's record hangs on the deal: the deal itself, or its documents.
    let records = |kind: FlowKind| match kind {
        FlowKind::Discount => Some((stride_app::discounts::RECORD_KIND, None)),
        FlowKind::ProposalReview => Some((
            stride_app::stage_documents::PROPOSAL_KIND,
            Some("SELECT p.id FROM proposals p WHERE p.opportunity_id = "),
        )),
        FlowKind::Contract => Some((
            stride_app::contracts::RECORD_KIND,
            Some("SELECT c.id FROM contracts c WHERE c.opportunity_id = "),
        )),
        _ => None,
    };
    let mut q = Sql::new(&format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.status = 'pending' AND (1 = 0"
    ));
    for kind in kinds {
        let Some((record_kind, documents)) = records(*kind) else {
            continue;
        };
        q.push(" OR (r.kind = ")
            .bind(kind.as_str())
            .push(" AND r.record_kind = ")
            .bind(record_kind.to_owned());
        match documents {
            None => q.push(" AND r.record_id = ").bind(opportunity_id),
            Some(select) => q
                .push(" AND r.record_id IN (")
                .push(select)
                .bind(opportunity_id)
                .push(")"),
        };
        q.push(")");
    }
    q.push(") ORDER BY r.id");
    q
}

/// The start of a history row's insert; [`event_values`] follows, in its column order.
const INSERT_EVENT: &str =
    "INSERT INTO approval_events (request_id, at_ms, actor_id, action, step_index, comment) ";

/// A history row's values, in [`INSERT_EVENT`]'s column order.
fn event_values(q: &mut Sql, e: &NewEvent, now_ms: i64) {
    q.bind(e.request_id)
        .push(", ")
        .bind(now_ms)
        .push(", ")
        .bind(e.actor_id)
        .push(", ")
        .bind(e.action.to_owned())
        .push(", ")
        .bind(e.step_index)
        .push(", ")
        .bind(e.comment.clone());
}

#[async_trait]
impl ApprovalReads for SqlStore {
    async fn approval_flow(&self, kind: FlowKind) -> StoreResult<Option<StoredFlow>> {
        flow(&mut *self.conn().await?, kind).await
    }

    async fn approval_request(
        &self,
        viewer_id: i64,
        reach: Option<&Reach>,
        id: i64,
    ) -> StoreResult<Option<ApprovalRequest>> {
        let mut q = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = "
        ));
        q.bind(id).push(" AND (r.requester_id = ").bind(viewer_id);
        q.push(" OR EXISTS (SELECT 1 FROM approval_tasks t WHERE t.request_id = r.id AND (t.approver_id = ")
            .bind(viewer_id)
            .push(" OR t.on_behalf_of = ")
            .bind(viewer_id)
            .push("))");
        if let Some(reach) = reach {
            q.push(" OR ");
            q.reach(reach, "r.requester_id", "r.department_id");
        }
        q.push(")");
        let mut conn = self.conn().await?;
        q.fetch_optional(&mut conn)
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    async fn approval_request_in_full(&self, id: i64) -> StoreResult<Option<ApprovalDetailParts>> {
        request_in_full(&mut *self.conn().await?, self.dialect, id, false).await
    }

    async fn approval_inbox(
        &self,
        user_id: i64,
        filter: InboxFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<InboxItem>> {
        let mut q = Sql::new(&format!(
            "SELECT {TASK_COLUMNS}, {REQUEST_COLUMNS} FROM approval_tasks t \
             JOIN approval_requests r ON r.id = t.request_id WHERE t.approver_id = "
        ));
        q.bind(user_id);
        match filter {
            InboxFilter::Waiting => q.push(" AND t.status = 'pending'"),
            InboxFilter::Decided => q.push(" AND t.status IN ('approved', 'rejected', 'returned')"),
        };
        if let Some(after) = page.after {
            q.push(" AND t.id < ").bind(after);
        }
        q.push(" ORDER BY t.id DESC LIMIT ")
            .bind(i64::from(page.limit) + 1);
        q.fetch_all(&mut *self.conn().await?)
            .await?
            .iter()
            .map(|r| {
                Ok(InboxItem {
                    task: task(r)?,
                    request: request(r)?,
                })
            })
            .collect()
    }

    async fn approval_requests_of(
        &self,
        requester_id: i64,
        page: PageRequest,
    ) -> StoreResult<Vec<ApprovalRequest>> {
        let mut q = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.requester_id = "
        ));
        q.bind(requester_id);
        if let Some(after) = page.after {
            q.push(" AND r.id < ").bind(after);
        }
        q.push(" ORDER BY r.id DESC LIMIT ")
            .bind(i64::from(page.limit) + 1);
        q.fetch_all(&mut *self.conn().await?)
            .await?
            .iter()
            .map(request)
            .collect()
    }

    async fn open_deal_approvals(
        &self,
        opportunity_id: i64,
        kinds: &[FlowKind],
    ) -> StoreResult<Vec<ApprovalRequest>> {
        open_deal_approvals(opportunity_id, kinds)
            .fetch_all(&mut *self.conn().await?)
            .await?
            .iter()
            .map(request)
            .collect()
    }

    async fn latest_approval(
        &self,
        record_kind: &str,
        record_id: i64,
    ) -> StoreResult<Option<ApprovalRequest>> {
        let mut q = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.record_kind = "
        ));
        q.bind(record_kind.to_owned())
            .push(" AND r.record_id = ")
            .bind(record_id)
            .push(" ORDER BY r.id DESC LIMIT 1");
        q.fetch_optional(&mut *self.conn().await?)
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    async fn delegations_of(&self, user_id: i64) -> StoreResult<Vec<Delegation>> {
        let mut q = Sql::new(
            "SELECT id, user_id, delegate_id, starts_at_ms, ends_at_ms FROM approval_delegations WHERE user_id = ",
        );
        q.bind(user_id).push(" ORDER BY starts_at_ms DESC, id DESC");
        q.fetch_all(&mut *self.conn().await?)
            .await?
            .iter()
            .map(delegation)
            .collect()
    }
}

#[async_trait]
impl ApprovalWrites for SqlTx {
    async fn save_approval_flow(
        &mut self,
        kind: FlowKind,
        definition_json: &str,
        version: i64,
        now_ms: i64,
    ) -> StoreResult<StoredFlow> {
        let touched = if version == 0 {
            // The first customisation; a concurrent one collides on the primary key.
            let mut q = Sql::new(
                "INSERT INTO approval_flows (kind, definition, version, updated_at_ms) VALUES (",
            );
            q.bind(kind.as_str())
                .push(", ")
                .bind(definition_json.to_owned())
                .push(", 1, ")
                .bind(now_ms)
                .push(")");
            q.execute(self.conn().await?).await.map_err(|e| match e {
                StoreError::Duplicate { .. } => StoreError::Stale,
                other => other,
            })?
        } else {
            let mut q = Sql::new("UPDATE approval_flows SET definition = ");
            q.bind(definition_json.to_owned())
                .push(", version = version + 1, updated_at_ms = ")
                .bind(now_ms)
                .push(" WHERE kind = ")
                .bind(kind.as_str())
                .push(" AND version = ")
                .bind(version);
            q.execute(self.conn().await?).await?
        };
        if touched == 0 {
            return Err(StoreError::Stale);
        }
        flow(self.conn().await?, kind)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn insert_approval_request(
        &mut self,
        r: &NewRequest,
        now_ms: i64,
    ) -> StoreResult<ApprovalRequest> {
        let s = &r.subject;
        let definition =
            serde_json::to_string(&r.definition).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut q = Sql::new(
            "INSERT INTO approval_requests (kind, record_kind, record_id, record_version, title, \
             amount_fen, discount_bp, snapshot, definition, requester_id, department_id, status, \
             created_at_ms, updated_at_ms) VALUES (",
        );
        q.bind(s.kind.as_str())
            .push(", ")
            .bind(s.record_kind.to_owned())
            .push(", ")
            .bind(s.record_id)
            .push(", ")
            .bind(s.record_version)
            .push(", ")
            .bind(s.title.clone())
            .push(", ")
            .bind(s.facts.amount_fen)
            .push(", ")
            .bind(s.facts.discount_bp)
            .push(", ")
            .bind(s.snapshot.to_string())
            .push(", ")
            .bind(definition)
            .push(", ")
            .bind(r.requester_id)
            .push(", ")
            .bind(s.department_id)
            .push(", 'pending', ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id");
        let id: i64 = col(&q.fetch_one(self.conn().await?).await?, "id")?;
        request_by_id(self.conn().await?, id, false)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn lock_approval_request(&mut self, id: i64) -> StoreResult<Option<ApprovalRequest>> {
        let lock = self.dialect == Dialect::Postgres;
        request_by_id(self.conn().await?, id, lock).await
    }

    async fn lock_approval_request_in_full(
        &mut self,
        id: i64,
    ) -> StoreResult<Option<ApprovalDetailParts>> {
        let lock = self.dialect == Dialect::Postgres;
        let dialect = self.dialect;
        request_in_full(self.conn().await?, dialect, id, lock).await
    }

    async fn lock_open_approval(
        &mut self,
        record_kind: &str,
        record_id: i64,
    ) -> StoreResult<Option<ApprovalRequest>> {
        let mut q = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.status = 'pending' AND r.record_kind = "
        ));
        q.bind(record_kind.to_owned())
            .push(" AND r.record_id = ")
            .bind(record_id);
        if self.dialect == Dialect::Postgres {
            q.push(" FOR UPDATE");
        }
        q.fetch_optional(self.conn().await?)
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    async fn lock_open_deal_approvals(
        &mut self,
        opportunity_id: i64,
        kinds: &[FlowKind],
    ) -> StoreResult<Vec<ApprovalRequest>> {
        let mut q = open_deal_approvals(opportunity_id, kinds);
        if self.dialect == Dialect::Postgres {
            q.push(" FOR UPDATE");
        }
        q.fetch_all(self.conn().await?)
            .await?
            .iter()
            .map(request)
            .collect()
    }

    async fn set_approval_state(
        &mut self,
        request: &ApprovalRequest,
        s: &RequestState,
        now_ms: i64,
    ) -> StoreResult<ApprovalRequest> {
        let after = request.moved_on(s, now_ms);
        // Nothing to read back: the caller holds the request under the transaction's lock.
        self.hold(Held::Update("approval_requests"), |q| {
            q.push("UPDATE approval_requests SET status = ")
                .bind(after.status.as_str())
                .push(", current_step = ")
                .bind(after.current_step)
                .push(", record_version = ")
                .bind(after.record_version)
                .push(", amount_fen = ")
                .bind(after.amount_fen)
                .push(", discount_bp = ")
                .bind(after.discount_bp)
                .push(", snapshot = ")
                .bind(after.snapshot.to_string())
                .push(", decided_at_ms = ")
                .bind(after.decided_at_ms)
                .push(", updated_at_ms = ")
                .bind(after.updated_at_ms)
                .push(", version = ")
                .bind(after.version)
                .push(" WHERE id = ")
                .bind(after.id);
        })
        .await?;
        Ok(after)
    }

    async fn insert_approval_tasks(&mut self, tasks: &[NewTask], now_ms: i64) -> StoreResult<()> {
        for t in tasks {
            self.hold(Held::Insert("approval_tasks"), |q| {
                q.push(
                    "INSERT INTO approval_tasks (request_id, step_index, step_name, mode, \
                     approver_id, on_behalf_of, status, created_at_ms) VALUES (",
                )
                .bind(t.request_id)
                .push(", ")
                .bind(t.step_index)
                .push(", ")
                .bind(t.step_name.clone())
                .push(", ")
                .bind(t.mode.as_str())
                .push(", ")
                .bind(t.approver_id)
                .push(", ")
                .bind(t.on_behalf_of)
                .push(", 'pending', ")
                .bind(now_ms)
                .push(")");
            })
            .await?;
        }
        Ok(())
    }

    async fn decide_approval_task(
        &mut self,
        task_id: i64,
        state: TaskState,
        comment: Option<&str>,
        event: &NewEvent,
        now_ms: i64,
    ) -> StoreResult<()> {
        // Nothing to read back: both writes go with the transaction's next round trip.
        self.hold(Held::Update("approval_tasks"), |q| {
            q.push("UPDATE approval_tasks SET status = ")
                .bind(state.as_str())
                .push(", comment = ")
                .bind(comment.map(str::to_owned))
                .push(", decided_at_ms = ")
                .bind(now_ms)
                .push(" WHERE id = ")
                .bind(task_id);
        })
        .await?;
        self.approval_event(event, now_ms).await
    }

    async fn close_pending_tasks(
        &mut self,
        request_id: i64,
        state: TaskState,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.hold(Held::Update("approval_tasks"), |q| {
            q.push("UPDATE approval_tasks SET status = ")
                .bind(state.as_str())
                .push(", decided_at_ms = ")
                .bind(now_ms)
                .push(" WHERE request_id = ")
                .bind(request_id)
                .push(" AND status = 'pending'");
        })
        .await
    }

    async fn approval_event(&mut self, e: &NewEvent, now_ms: i64) -> StoreResult<()> {
        self.hold(Held::Insert("approval_events"), |q| {
            q.push(INSERT_EVENT).push("VALUES (");
            event_values(q, e, now_ms);
            q.push(")");
        })
        .await
    }

    async fn users_with_role(&mut self, role_code: &str) -> StoreResult<Vec<i64>> {
        let mut q = Sql::new(
            "SELECT DISTINCT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id \
             JOIN roles r ON r.id = ur.role_id WHERE u.active = 1 AND r.code = ",
        );
        q.bind(role_code.to_owned()).push(" ORDER BY u.id");
        q.fetch_ids(self.conn().await?, "id").await
    }

    async fn department_heads(&mut self, department_id: i64, except: i64) -> StoreResult<Vec<i64>> {
        // Walk up from the department; the nearest level with a supervisor or manager wins.
        let mut q = Sql::new(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
               SELECT id, parent_id, 0 FROM departments WHERE id = ",
        );
        q.bind(department_id).push(
            " UNION ALL SELECT d.id, d.parent_id, up.depth + 1 FROM departments d JOIN up ON d.id = up.parent_id) \
             SELECT u.id, up.depth FROM users u JOIN up ON up.id = u.department_id \
             JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id \
             WHERE u.active = 1 AND r.code IN ('supervisor', 'manager') AND u.id <> ",
        );
        q.bind(except).push(" ORDER BY up.depth, u.id");
        let rows = q.fetch_all(self.conn().await?).await?;
        let Some(nearest) = rows.first().map(|r| col::<i64>(r, "depth")).transpose()? else {
            return Ok(vec![]);
        };
        let mut heads = Vec::new();
        for r in &rows {
            if col::<i64>(r, "depth")? == nearest {
                let id: i64 = col(r, "id")?;
                if !heads.contains(&id) {
                    heads.push(id);
                }
            }
        }
        Ok(heads)
    }

    async fn reporting_line(&mut self, user_id: i64, levels: u8) -> StoreResult<Vec<i64>> {
        let mut line = Vec::new();
        let mut current = user_id;
        for _ in 0..levels {
            let mut q = Sql::new(
                "SELECT m.id, m.active FROM users u JOIN users m ON m.id = u.manager_id WHERE u.id = ",
            );
            q.bind(current);
            let Some(row) = q.fetch_optional(self.conn().await?).await? else {
                break;
            };
            current = col(&row, "id")?;
            if line.contains(&current) {
                break; // a cycle in the reporting line
            }
            if col::<i64>(&row, "active")? != 0 {
                line.push(current);
            }
        }
        Ok(line)
    }

    async fn is_active_user(&mut self, user_id: i64) -> StoreResult<bool> {
        let mut q = Sql::new("SELECT COUNT(*) AS n FROM users WHERE active = 1 AND id = ");
        q.bind(user_id);
        Ok(col::<i64>(&q.fetch_one(self.conn().await?).await?, "n")? > 0)
    }

    async fn active_delegate(&mut self, user_id: i64, now_ms: i64) -> StoreResult<Option<i64>> {
        let mut q = Sql::new(
            "SELECT g.delegate_id FROM approval_delegations g JOIN users u ON u.id = g.delegate_id \
             WHERE u.active = 1 AND g.user_id = ",
        );
        q.bind(user_id)
            .push(" AND g.starts_at_ms <= ")
            .bind(now_ms)
            .push(" AND g.ends_at_ms > ")
            .bind(now_ms)
            .push(" ORDER BY g.id DESC LIMIT 1");
        q.fetch_optional(self.conn().await?)
            .await?
            .map(|r| col(&r, "delegate_id"))
            .transpose()
    }

    async fn insert_delegation(
        &mut self,
        user_id: i64,
        delegate_id: i64,
        starts_at_ms: i64,
        ends_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Delegation> {
        let mut q = Sql::new(
            "INSERT INTO approval_delegations (user_id, delegate_id, starts_at_ms, ends_at_ms, created_at_ms) VALUES (",
        );
        q.bind(user_id)
            .push(", ")
            .bind(delegate_id)
            .push(", ")
            .bind(starts_at_ms)
            .push(", ")
            .bind(ends_at_ms)
            .push(", ")
            .bind(now_ms)
            .push(") RETURNING id");
        let id: i64 = col(&q.fetch_one(self.conn().await?).await?, "id")?;
        Ok(Delegation {
            id,
            user_id,
            delegate_id,
            starts_at_ms,
            ends_at_ms,
        })
    }

    async fn delete_delegation(&mut self, user_id: i64, id: i64) -> StoreResult<bool> {
        let mut q = Sql::new("DELETE FROM approval_delegations WHERE id = ");
        q.bind(id).push(" AND user_id = ").bind(user_id);
        Ok(q.execute(self.conn().await?).await? > 0)
    }

    async fn reassign_pending_tasks(
        &mut self,
        from_user: i64,
        to_user: i64,
    ) -> StoreResult<Vec<i64>> {
        let mut q = Sql::new(
            "SELECT DISTINCT request_id FROM approval_tasks WHERE status = 'pending' AND approver_id = ",
        );
        q.bind(from_user).push(" ORDER BY request_id");
        let requests = q.fetch_ids(self.conn().await?, "request_id").await?;
        let mut q = Sql::new("UPDATE approval_tasks SET on_behalf_of = COALESCE(on_behalf_of, approver_id), approver_id = ");
        q.bind(to_user)
            .push(" WHERE status = 'pending' AND approver_id = ")
            .bind(from_user);
        q.execute(self.conn().await?).await?;
        Ok(requests)
    }

    async fn claim_approval_reminders(
        &mut self,
        quiet_since_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, i64, String)>> {
        let mut q = Sql::new(
            "SELECT t.id, t.approver_id, t.request_id, r.title FROM approval_tasks t \
             JOIN approval_requests r ON r.id = t.request_id \
             WHERE t.status = 'pending' AND COALESCE(t.reminded_at_ms, t.created_at_ms) < ",
        );
        q.bind(quiet_since_ms)
            .push(" ORDER BY t.id LIMIT ")
            .bind(JOB_BATCH);
        if self.dialect == Dialect::Postgres {
            // Two servers running the jobs at once must not remind twice.
            q.push(" FOR UPDATE OF t SKIP LOCKED");
        }
        let due: Vec<(i64, i64, i64, String)> = q
            .fetch_all(self.conn().await?)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    col(r, "id")?,
                    col(r, "approver_id")?,
                    col(r, "request_id")?,
                    col(r, "title")?,
                ))
            })
            .collect::<Result<_>>()?;
        if due.is_empty() {
            return Ok(due); // the job's usual run: nothing to mark
        }
        let ids: Vec<i64> = due.iter().map(|d| d.0).collect();
        // One statement for the batch, sent with the reminders' notifications.
        self.hold(Held::Update("approval_tasks"), |q| {
            q.push("UPDATE approval_tasks SET reminded_at_ms = ")
                .bind(now_ms)
                .push(" WHERE ")
                .in_list("id", &ids);
        })
        .await?;
        Ok(due)
    }
}
