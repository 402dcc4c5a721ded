//! Persistence of approval flows, requests, their tasks, history and delegations.

use async_trait::async_trait;
use stride_domain::approvals::{FlowKind, TaskState};

use crate::actor::Reach;
use crate::approvals::{
    ApprovalDetailParts, ApprovalRequest, Delegation, InboxFilter, InboxItem, NewEvent, NewRequest,
    NewTask, RequestState, StoredFlow,
};
use crate::page::PageRequest;
use crate::ports::StoreResult;

/// Reads of approvals, outside a transaction.
#[async_trait]
pub trait ApprovalReads: Send + Sync {
    /// The stored flow of a kind; None while the shipped default applies.
    async fn approval_flow(&self, kind: FlowKind) -> StoreResult<Option<StoredFlow>>;
    /// A request the viewer may see: they asked for it, hold or held a task in it, or (with
    /// `reach`) it comes from a department or requester they reach.
    async fn approval_request(
        &self,
        viewer_id: i64,
        reach: Option<&Reach>,
        id: i64,
    ) -> StoreResult<Option<ApprovalRequest>>;
    /// A request with its tasks (step by step, oldest first) and history, in one round trip.
    async fn approval_request_in_full(&self, id: i64) -> StoreResult<Option<ApprovalDetailParts>>;
    /// The viewer's tasks with their requests, newest first.
    async fn approval_inbox(
        &self,
        user_id: i64,
        filter: InboxFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<InboxItem>>;
    /// Requests the user submitted, newest first.
    async fn approval_requests_of(
        &self,
        requester_id: i64,
        page: PageRequest,
    ) -> StoreResult<Vec<ApprovalRequest>>;
    /// The running requests about one deal, unlocked: of the `kinds` given, its discount, the
    /// reviews of its proposals and of its contracts.
    async fn open_deal_approvals(
        &self,
        opportunity_id: i64,
        kinds: &[FlowKind],
    ) -> StoreResult<Vec<ApprovalRequest>>;
    /// The newest request about a record, whatever its status.
    async fn latest_approval(
        &self,
        record_kind: &str,
        record_id: i64,
    ) -> StoreResult<Option<ApprovalRequest>>;
    async fn delegations_of(&self, user_id: i64) -> StoreResult<Vec<Delegation>>;
}

/// Writes of approvals, inside a [`crate::Tx`].
#[async_trait]
pub trait ApprovalWrites: Send {
    /// Stores a flow if `version` is its current one (0 while the default applies).
    async fn save_approval_flow(
        &mut self,
        kind: FlowKind,
        definition_json: &str,
        version: i64,
        now_ms: i64,
    ) -> StoreResult<StoredFlow>;
    async fn insert_approval_request(
        &mut self,
        request: &NewRequest,
        now_ms: i64,
    ) -> StoreResult<ApprovalRequest>;
    /// Reads a request and, on PostgreSQL, holds its row until the transaction ends, so the
    /// decisions on one request queue up instead of racing.
    async fn lock_approval_request(&mut self, id: i64) -> StoreResult<Option<ApprovalRequest>>;
    /// [`Self::lock_approval_request`] with the request's tasks (step by step, oldest first)
    /// and history, in one round trip: what a decision reads and answers with.
    async fn lock_approval_request_in_full(
        &mut self,
        id: i64,
    ) -> StoreResult<Option<ApprovalDetailParts>>;
    /// The running request about a record, locked like [`Self::lock_approval_request`].
    async fn lock_open_approval(
        &mut self,
        record_kind: &str,
        record_id: i64,
    ) -> StoreResult<Option<ApprovalRequest>>;
    /// The running requests about one deal, locked like [`Self::lock_approval_request`]: of the
    /// `kinds` given, its discount, the reviews of its proposals and of its contracts.
    async fn lock_open_deal_approvals(
        &mut self,
        opportunity_id: i64,
        kinds: &[FlowKind],
    ) -> StoreResult<Vec<ApprovalRequest>>;
    /// Moves `request`, as this transaction read it, on to `state`: answers
    /// [`ApprovalRequest::moved_on`], which is what it writes.
    async fn set_approval_state(
        &mut self,
        request: &ApprovalRequest,
        state: &RequestState,
        now_ms: i64,
    ) -> StoreResult<ApprovalRequest>;
    async fn insert_approval_tasks(&mut self, tasks: &[NewTask], now_ms: i64) -> StoreResult<()>;
    /// Decides a task the caller read pending under its request's lock
    /// ([`ApprovalWrites::lock_approval_request_in_full`]), and writes `event` to the request's
    /// history with it.
    async fn decide_approval_task(
        &mut self,
        task_id: i64,
        state: TaskState,
        comment: Option<&str>,
        event: &NewEvent,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Closes every pending task of a request as `state` (skipped, superseded).
    async fn close_pending_tasks(
        &mut self,
        request_id: i64,
        state: TaskState,
        now_ms: i64,
    ) -> StoreResult<()>;
    async fn approval_event(&mut self, event: &NewEvent, now_ms: i64) -> StoreResult<()>;

    /// Active users holding a role.
    async fn users_with_role(&mut self, role_code: &str) -> StoreResult<Vec<i64>>;
    /// Supervisors and managers of a department, else of the nearest department above it with
    /// any, leaving out `except` (the requester, who never approves their own request).
    async fn department_heads(&mut self, department_id: i64, except: i64) -> StoreResult<Vec<i64>>;
    /// A user's manager and the managers above, up to `levels`, active ones only.
    async fn reporting_line(&mut self, user_id: i64, levels: u8) -> StoreResult<Vec<i64>>;
    async fn is_active_user(&mut self, user_id: i64) -> StoreResult<bool>;
    /// Whom a user's approvals go to at `now_ms`, if they delegated them.
    async fn active_delegate(&mut self, user_id: i64, now_ms: i64) -> StoreResult<Option<i64>>;
    async fn insert_delegation(
        &mut self,
        user_id: i64,
        delegate_id: i64,
        starts_at_ms: i64,
        ends_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Delegation>;
    /// Deletes one of the user's delegations; false when it is not theirs.
    async fn delete_delegation(&mut self, user_id: i64, id: i64) -> StoreResult<bool>;
    /// Hands a user's pending tasks to their delegate; returns the requests touched.
    async fn reassign_pending_tasks(
        &mut self,
        from_user: i64,
        to_user: i64,
    ) -> StoreResult<Vec<i64>>;
    /// Pending tasks not reminded (or created) since `quiet_since_ms`, marked reminded now:
    /// (task, approver, request, request title).
    async fn claim_approval_reminders(
        &mut self,
        quiet_since_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, i64, String)>>;
}
