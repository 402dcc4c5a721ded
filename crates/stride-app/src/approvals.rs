//! The approval engine (APPR-1…3), used by every document that needs sign-off: proposals,
//! discounts, contracts, and later expenses, budgets and change confirmations.
//!
//! A document area opens a request with [`App::open_approval`] inside its own transaction,
//! passing an [`ApprovalSubject`] (what is being approved, at which version, with which amount
//! and discount). The request copies the flow as it stood at submission, so editing a flow never
//! changes a running request. Each applicable step gets one task per approver; decisions on one
//! request are serialised by a row lock, so parallel clicks change its state once. When the
//! document changes under review, [`App::restart_approval`] sends the request back to its first
//! step: approvals are tied to the version they saw.

use serde::{Deserialize, Serialize};
use stride_domain::access::{Action, RecordKind};
use stride_domain::approvals::{
    step_outcome, ApproverRule, Decision, Facts, FlowDefinition, FlowKind, RequestStatus, StepMode,
    StepOutcome, TaskState,
};
use stride_domain::opportunities::Outcome;

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, FieldError, Problems};
use crate::jobs::NewNotification;
use crate::page::{Page, PageRequest};
use crate::ports::Tx;
use crate::App;

/// How long a task may wait before its approver is reminded, and again after each reminder.
pub const REMINDER_INTERVAL_MS: i64 = 24 * 3600 * 1000;

/// The audit log's name for approval requests.
const AUDIT_KIND: &str = "approval";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFlow {
    pub kind: FlowKind,
    pub definition: FlowDefinition,
    pub version: i64,
    pub updated_at_ms: i64,
}

/// A flow as users see it: the stored one, or the shipped default (version 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub kind: FlowKind,
    pub definition: FlowDefinition,
    pub version: i64,
    pub customized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    pub id: i64,
    pub kind: FlowKind,
    pub record_kind: String,
    pub record_id: i64,
    /// The version of the record the approvers are looking at.
    pub record_version: i64,
    pub title: String,
    pub amount_fen: i64,
    pub discount_bp: i64,
    /// What the record said when it was submitted (or last restarted).
    pub snapshot: serde_json::Value,
    #[serde(skip)]
    pub definition: FlowDefinition,
    pub requester_id: i64,
    pub department_id: i64,
    pub status: RequestStatus,
    /// Index of the step waiting for decisions; None once the request ended.
    pub current_step: Option<i64>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalTask {
    pub id: i64,
    pub request_id: i64,
    pub step_index: i64,
    pub step_name: String,
    pub mode: StepMode,
    pub approver_id: i64,
    /// Set when the approver acts for someone who delegated to them.
    pub on_behalf_of: Option<i64>,
    pub status: TaskState,
    pub comment: Option<String>,
    pub created_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

/// One entry of a request's history, oldest first as the store reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalEvent {
    pub request_id: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    pub step_index: Option<i64>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegation {
    pub id: i64,
    pub user_id: i64,
    pub delegate_id: i64,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

/// One line of "my approvals": a task and the request it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxItem {
    pub task: ApprovalTask,
    pub request: ApprovalRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxFilter {
    /// Tasks waiting for the user.
    #[default]
    Waiting,
    /// Tasks the user already decided.
    Decided,
}

/// What a document area hands the engine when it asks for approval.
#[derive(Debug, Clone)]
pub struct ApprovalSubject {
    pub kind: FlowKind,
    pub record_kind: &'static str,
    pub record_id: i64,
    pub record_version: i64,
    pub title: String,
    pub facts: Facts,
    pub snapshot: serde_json::Value,
    /// The department the record belongs to; its heads approve "department head" steps.
    pub department_id: i64,
}

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub subject: ApprovalSubject,
    pub definition: FlowDefinition,
    pub requester_id: i64,
}

/// The mutable part of a request.
#[derive(Debug, Clone)]
pub struct RequestState {
    pub status: RequestStatus,
    pub current_step: Option<i64>,
    pub record_version: i64,
    pub facts: Facts,
    pub snapshot: serde_json::Value,
    pub decided_at_ms: Option<i64>,
}

impl ApprovalRequest {
    /// The request as `state` leaves it at `now_ms`, one version on: what the store writes.
    pub fn moved_on(&self, state: &RequestState, now_ms: i64) -> ApprovalRequest {
        ApprovalRequest {
            status: state.status,
            current_step: state.current_step,
            record_version: state.record_version,
            amount_fen: state.facts.amount_fen,
            discount_bp: state.facts.discount_bp,
            snapshot: state.snapshot.clone(),
            decided_at_ms: state.decided_at_ms,
            updated_at_ms: now_ms,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

impl RequestState {
    fn of(r: &ApprovalRequest) -> Self {
        Self {
            status: r.status,
            current_step: r.current_step,
            record_version: r.record_version,
            facts: Facts {
                amount_fen: r.amount_fen,
                discount_bp: r.discount_bp,
            },
            snapshot: r.snapshot.clone(),
            decided_at_ms: r.decided_at_ms,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub request_id: i64,
    pub step_index: i64,
    pub step_name: String,
    pub mode: StepMode,
    pub approver_id: i64,
    pub on_behalf_of: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub request_id: i64,
    pub actor_id: Option<i64>,
    pub action: &'static str,
    pub step_index: Option<i64>,
    pub comment: Option<String>,
}

impl ApprovalEvent {
    /// The history entry `event` becomes, written at `at_ms`.
    pub fn written(event: NewEvent, at_ms: i64) -> Self {
        Self {
            request_id: event.request_id,
            at_ms,
            actor_id: event.actor_id,
            action: event.action.to_owned(),
            step_index: event.step_index,
            comment: event.comment,
        }
    }
}

/// A request with its tasks and history as the store holds them.
#[derive(Debug, Clone)]
pub struct ApprovalDetailParts {
    pub request: ApprovalRequest,
    pub tasks: Vec<ApprovalTask>,
    pub events: Vec<ApprovalEvent>,
}

/// A request with its tasks and history, as its detail page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalDetail {
    #[serde(flatten)]
    pub request: ApprovalRequest,
    pub steps: Vec<StepView>,
    pub tasks: Vec<ApprovalTask>,
    pub events: Vec<ApprovalEvent>,
    /// The viewer's pending task, if they can decide now.
    pub my_task_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub index: i64,
    pub name: String,
    pub mode: StepMode,
}

const MAX_COMMENT: usize = 2000;

/// Why a running request was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawReason {
    /// The requester took it back.
    Requester,
    /// The deal it belongs to was won or lost, so nothing is left to decide.
    DealClosed(Outcome),
}

/// A withdrawn request as its audit row keeps it: the request, and why it was withdrawn.
#[derive(Serialize)]
struct Withdrawn<'a> {
    #[serde(flatten)]
    request: &'a ApprovalRequest,
    withdrawn_because: &'static str,
}

impl WithdrawReason {
    /// What the audit row records.
    pub fn code(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::DealClosed(Outcome::Won) => "deal_won",
            Self::DealClosed(Outcome::Lost) => "deal_lost",
        }
    }

    /// What the request's history says.
    fn comment(self) -> Option<String> {
        match self {
            Self::Requester => None,
            Self::DealClosed(outcome) => Some(format!("withdrawn because the deal was {outcome}")),
        }
    }
}

impl App {
    // ---- flows ---------------------------------------------------------------------------

    /// Every document kind's flow, as it applies now.
    pub async fn approval_flows(&self, actor: &Actor) -> AppResult<Vec<Flow>> {
        actor.require(RecordKind::Settings, Action::View)?;
        let mut flows = Vec::new();
        for kind in FlowKind::ALL {
            flows.push(self.approval_flow(*kind).await?);
        }
        Ok(flows)
    }

    pub(crate) async fn approval_flow(&self, kind: FlowKind) -> AppResult<Flow> {
        Ok(match self.store.approval_flow(kind).await? {
            Some(stored) => Flow {
                kind,
                definition: stored.definition,
                version: stored.version,
                customized: true,
            },
            None => Flow {
                kind,
                definition: FlowDefinition::default_for(kind),
                version: 0,
                customized: false,
            },
        })
    }

    /// Replaces a kind's flow. Running requests keep the flow they started with.
    pub async fn set_approval_flow(
        &self,
        actor: &Actor,
        kind: FlowKind,
        definition: FlowDefinition,
        version: i64,
    ) -> AppResult<Flow> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        if let Err(problems) = definition.check() {
            return Err(AppError::Validation(
                problems
                    .into_iter()
                    .map(|p| FieldError::new(&p.field, p.code, p.message))
                    .collect(),
            ));
        }
        let before = self.approval_flow(kind).await?;
        let roles: Vec<String> = self
            .store
            .roles()
            .await?
            .into_iter()
            .map(|r| r.code)
            .collect();
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        // Approvers are checked where the form shows them: on the rule's own field.
        let mut p = Problems::default();
        for (i, step) in definition.steps.iter().enumerate() {
            for (j, rule) in step.approvers.iter().enumerate() {
                match rule {
                    ApproverRule::Role { role } if !roles.iter().any(|r| r == role.trim()) => {
                        p.add(
                            &format!("steps[{i}].approvers[{j}].role"),
                            "unknown_role",
                            format!("there is no role {role}"),
                        );
                    }
                    ApproverRule::User { user_id } if !tx.is_active_user(*user_id).await? => {
                        p.add(
                            &format!("steps[{i}].approvers[{j}].user_id"),
                            "unknown_user",
                            format!("user {user_id} does not exist or is disabled"),
                        );
                    }
                    _ => {}
                }
            }
        }
        p.into_result()?;
        let json =
            serde_json::to_string(&definition).map_err(|e| AppError::Internal(e.to_string()))?;
        let stored = tx.save_approval_flow(kind, &json, version, now).await?;
        let mut entry = NewAuditEntry::updated(
            actor,
            RecordKind::Settings,
            0,
            &before.definition,
            &stored.definition,
            now,
        );
        entry.action = "set_approval_flow";
        entry.record_id = None;
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(Flow {
            kind,
            definition: stored.definition,
            version: stored.version,
            customized: true,
        })
    }

    // ---- the engine, called by document areas inside their transactions -------------------

    /// Starts the approval of a record, in the caller's transaction. Refused while another
    /// request about the record is running.
    pub async fn open_approval(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        subject: ApprovalSubject,
    ) -> AppResult<ApprovalRequest> {
        let flow = self.approval_flow(subject.kind).await?;
        let now = self.now_ms();
        if tx
            .lock_open_approval(subject.record_kind, subject.record_id)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(
                "this record is already under approval".into(),
            ));
        }
        let new = NewRequest {
            subject,
            definition: flow.definition,
            requester_id: actor.user_id,
        };
        let request = tx
            .insert_approval_request(&new, now)
            .await
            .map_err(|e| match e {
                crate::StoreError::Duplicate { .. } => {
                    AppError::Conflict("this record is already under approval".into())
                }
                other => other.into(),
            })?;
        self.log_event(tx, &request, actor, "submitted", None, None, now)
            .await?;
        let request = self.enter_step(tx, request, 0, now).await?;
        let entry = NewAuditEntry {
            record_kind: AUDIT_KIND,
            ..NewAuditEntry::created(actor, RecordKind::Settings, request.id, &request, now)
        };
        tx.audit(&entry).await?;
        Ok(request)
    }

    /// The record changed under review: the running request (if any) forgets every decision
    /// and starts again from its first step with the record as `revised` describes it now.
    /// Returns the request when there was one.
    pub async fn restart_approval(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        revised: ApprovalSubject,
    ) -> AppResult<Option<ApprovalRequest>> {
        let Some(request) = tx
            .lock_open_approval(revised.record_kind, revised.record_id)
            .await?
        else {
            return Ok(None);
        };
        let now = self.now_ms();
        tx.close_pending_tasks(request.id, TaskState::Superseded, now)
            .await?;
        let state = RequestState {
            record_version: revised.record_version,
            facts: revised.facts,
            snapshot: revised.snapshot,
            current_step: None,
            ..RequestState::of(&request)
        };
        let request = tx.set_approval_state(&request, &state, now).await?;
        self.log_event(
            tx,
            &request,
            actor,
            "restarted",
            None,
            Some("the record changed under review".into()),
            now,
        )
        .await?;
        Ok(Some(self.enter_step(tx, request, 0, now).await?))
    }

    /// Refuses an edit of a record while it is under approval, unless the editor is the one who
    /// asked for it (their edit then restarts the approval through [`Self::restart_approval`]).
    pub async fn ensure_not_locked(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        record_kind: &str,
        record_id: i64,
    ) -> AppResult<()> {
        match tx.lock_open_approval(record_kind, record_id).await? {
            Some(r) if r.requester_id != actor.user_id => Err(AppError::Conflict(
                "this record is under approval and locked until it is decided".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Where the newest approval of a record stands, if it ever went through one.
    pub async fn approval_status(
        &self,
        record_kind: &str,
        record_id: i64,
    ) -> AppResult<Option<ApprovalRequest>> {
        Ok(self.store.latest_approval(record_kind, record_id).await?)
    }

    /// Opens the first applicable step at or after `from`, or approves the request when none is
    /// left. Approvers who would approve their own request are left out.
    async fn enter_step(
        &self,
        tx: &mut dyn Tx,
        request: ApprovalRequest,
        from: usize,
        now: i64,
    ) -> AppResult<ApprovalRequest> {
        let facts = Facts {
            amount_fen: request.amount_fen,
            discount_bp: request.discount_bp,
        };
        let Some(index) = request.definition.next_applicable(from, &facts) else {
            return self
                .finish(tx, request, RequestStatus::Approved, None, now)
                .await;
        };
        let step = &request.definition.steps[index];
        let mut approvers: Vec<i64> = Vec::new();
        for rule in &step.approvers {
            let ids = match rule {
                ApproverRule::Role { role } => tx.users_with_role(role).await?,
                ApproverRule::DepartmentHead => {
                    tx.department_heads(request.department_id, request.requester_id)
                        .await?
                }
                ApproverRule::ReportingLine { levels } => {
                    tx.reporting_line(request.requester_id, *levels).await?
                }
                ApproverRule::User { user_id } => {
                    if tx.is_active_user(*user_id).await? {
                        vec![*user_id]
                    } else {
                        vec![]
                    }
                }
            };
            for id in ids {
                if id != request.requester_id && !approvers.contains(&id) {
                    approvers.push(id);
                }
            }
        }
        if approvers.is_empty() {
            return Err(AppError::field(
                "approvers",
                "no_approver",
                format!(
                    "nobody can approve step «{}» of the {} flow; ask an administrator to fix the flow",
                    step.name, request.kind
                ),
            ));
        }
        let mut tasks = Vec::with_capacity(approvers.len());
        for approver in approvers {
            let delegate = tx.active_delegate(approver, now).await?;
            tasks.push(NewTask {
                request_id: request.id,
                step_index: index as i64,
                step_name: step.name.clone(),
                mode: step.mode,
                approver_id: delegate.unwrap_or(approver),
                on_behalf_of: delegate.map(|_| approver),
            });
        }
        tx.insert_approval_tasks(&tasks, now).await?;
        for task in &tasks {
            let n = NewNotification {
                user_id: task.approver_id,
                kind: "approval_waiting",
                record_kind: AUDIT_KIND,
                record_id: request.id,
                subject: request.title.clone(),
            };
            tx.notify(&n, now).await?;
        }
        let state = RequestState {
            current_step: Some(index as i64),
            ..RequestState::of(&request)
        };
        Ok(tx.set_approval_state(&request, &state, now).await?)
    }

    async fn finish(
        &self,
        tx: &mut dyn Tx,
        request: ApprovalRequest,
        status: RequestStatus,
        by: Option<&Actor>,
        now: i64,
    ) -> AppResult<ApprovalRequest> {
        let state = RequestState {
            status,
            current_step: None,
            decided_at_ms: Some(now),
            ..RequestState::of(&request)
        };
        let done = tx.set_approval_state(&request, &state, now).await?;
        self.review_closed(tx, &done, now).await?;
        if by.is_none_or(|a| a.user_id != done.requester_id) {
            let n = NewNotification {
                user_id: done.requester_id,
                kind: match status {
                    RequestStatus::Approved => "approval_approved",
                    RequestStatus::Rejected => "approval_rejected",
                    RequestStatus::Returned => "approval_returned",
                    _ => "approval_withdrawn",
                },
                record_kind: AUDIT_KIND,
                record_id: done.id,
                subject: done.title.clone(),
            };
            tx.notify(&n, now).await?;
        }
        Ok(done)
    }

    /// Tells the record's own area how its review ended: the one place documents learn it.
    async fn review_closed(
        &self,
        tx: &mut dyn Tx,
        request: &ApprovalRequest,
        now: i64,
    ) -> AppResult<()> {
        match request.record_kind.as_str() {
            crate::contracts::RECORD_KIND => {
                self.contract_review_closed(tx, request.record_id, request.status, now)
                    .await
            }
            crate::stage_documents::PROPOSAL_KIND => {
                self.proposal_review_closed(tx, request.record_id, request.status, now)
                    .await
            }
            _ => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn log_event(
        &self,
        tx: &mut dyn Tx,
        request: &ApprovalRequest,
        actor: &Actor,
        action: &'static str,
        step_index: Option<i64>,
        comment: Option<String>,
        now: i64,
    ) -> AppResult<()> {
        let event = history_entry(request, actor, action, step_index, comment);
        Ok(tx.approval_event(&event, now).await?)
    }

    // ---- what approvers and requesters do --------------------------------------------------

    /// Approves, rejects or returns the actor's pending task in a request. `seen_version` is
    /// the request version the approver looked at (the ETag); a request that moved on since
    /// answers 412. Someone without a task in the request gets 403; a task already decided, 409.
    pub async fn decide_approval(
        &self,
        actor: &Actor,
        request_id: i64,
        decision: Decision,
        comment: Option<String>,
        seen_version: Option<i64>,
    ) -> AppResult<ApprovalDetail> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let comment = comment
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT)
        {
            return Err(AppError::field(
                "comment",
                "too_long",
                format!("at most {MAX_COMMENT} characters"),
            ));
        }
        if decision != Decision::Approve && comment.is_none() {
            return Err(AppError::field(
                "comment",
                "required",
                "say why when rejecting or returning",
            ));
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let ApprovalDetailParts {
            request,
            tasks,
            mut events,
        } = tx
            .lock_approval_request_in_full(request_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mine: Vec<&ApprovalTask> = tasks
            .iter()
            .filter(|t| t.approver_id == actor.user_id)
            .collect();
        if mine.is_empty() {
            // Not part of this flow (the requester never is): refused, or unseen. The
            // transaction ends first so no use case holds one connection waiting for another.
            drop(tx);
            let visible = self.visible_request(actor, request_id).await.is_ok();
            return Err(if visible {
                AppError::Forbidden
            } else {
                AppError::NotFound
            });
        }
        if seen_version.is_some_and(|v| v != request.version) {
            return Err(AppError::Stale);
        }
        let Some(task) = mine
            .iter()
            .find(|t| t.status == TaskState::Pending && Some(t.step_index) == request.current_step)
        else {
            return Err(AppError::Conflict(
                "there is nothing waiting for your decision in this request".into(),
            ));
        };
        let (decided, step, mode) = (task.id, task.step_index, task.mode);
        let event = history_entry(
            &request,
            actor,
            decision.as_str(),
            Some(step),
            comment.clone(),
        );
        // The task was read pending under the request's lock: nobody else can decide it now.
        tx.decide_approval_task(
            decided,
            decision.task_state(),
            comment.as_deref(),
            &event,
            now,
        )
        .await?;
        events.push(ApprovalEvent::written(event, now));
        // The tasks as they now stand: the ones read under the lock, with this decision.
        let mut tasks = tasks;
        if let Some(t) = tasks.iter_mut().find(|t| t.id == decided) {
            t.status = decision.task_state();
            t.comment = comment.clone();
            t.decided_at_ms = Some(now);
        }
        let states: Vec<TaskState> = tasks
            .iter()
            .filter(|t| t.step_index == step && t.status != TaskState::Superseded)
            .map(|t| t.status)
            .collect();
        let outcome = step_outcome(mode, &states);
        let pending = |t: &ApprovalTask| t.status == TaskState::Pending;
        if outcome != StepOutcome::Waiting && tasks.iter().any(pending) {
            // The step is over either way: whoever has not decided yet no longer needs to.
            tx.close_pending_tasks(request_id, TaskState::Skipped, now)
                .await?;
            for t in tasks.iter_mut().filter(|t| pending(t)) {
                t.status = TaskState::Skipped;
                t.decided_at_ms = Some(now);
            }
        }
        let after = match outcome {
            StepOutcome::Waiting => request.clone(),
            StepOutcome::Passed => {
                self.enter_step(&mut *tx, request.clone(), step as usize + 1, now)
                    .await?
            }
            StepOutcome::Rejected => {
                self.finish(
                    &mut *tx,
                    request.clone(),
                    RequestStatus::Rejected,
                    Some(actor),
                    now,
                )
                .await?
            }
            StepOutcome::Returned => {
                self.finish(
                    &mut *tx,
                    request.clone(),
                    RequestStatus::Returned,
                    Some(actor),
                    now,
                )
                .await?
            }
        };
        let mut entry = NewAuditEntry::updated(
            actor,
            RecordKind::Settings,
            request_id,
            &request,
            &after,
            now,
        );
        entry.record_kind = AUDIT_KIND;
        entry.action = decision.as_str();
        tx.audit(&entry).await?;
        tx.commit().await?;
        // The approver holds a task in the request, so it is theirs to see; and the
        // transaction returned the request as it now stands. Its tasks and history are the
        // ones read under the lock with this decision, unless a next step was entered: its
        // tasks are new, and only the store knows their ids.
        if after.current_step.is_some_and(|s| s != step) {
            return self.detail_of(actor, request_id).await;
        }
        Ok(detail_for(
            actor,
            ApprovalDetailParts {
                request: after,
                tasks,
                events,
            },
        ))
    }

    /// The requester takes a running request back.
    pub async fn withdraw_approval(
        &self,
        actor: &Actor,
        request_id: i64,
    ) -> AppResult<ApprovalDetail> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let request = tx
            .lock_approval_request(request_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if request.requester_id != actor.user_id {
            return Err(AppError::NotFound);
        }
        if !request.status.is_open() {
            return Err(AppError::Conflict("this request is already decided".into()));
        }
        let after = self
            .withdraw_request(&mut *tx, actor, request, WithdrawReason::Requester, now)
            .await?;
        tx.commit().await?;
        self.detail_of(actor, after.id).await
    }

    /// Ends a running request as withdrawn, in the caller's transaction: its pending tasks close
    /// as skipped (they leave the approvers' inboxes), the record's area learns it, the history
    /// and the audit log say who withdrew it and why.
    pub(crate) async fn withdraw_request(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        request: ApprovalRequest,
        reason: WithdrawReason,
        now: i64,
    ) -> AppResult<ApprovalRequest> {
        self.log_event(
            tx,
            &request,
            actor,
            "withdrawn",
            None,
            reason.comment(),
            now,
        )
        .await?;
        tx.close_pending_tasks(request.id, TaskState::Skipped, now)
            .await?;
        let after = self
            .finish(
                tx,
                request.clone(),
                RequestStatus::Withdrawn,
                Some(actor),
                now,
            )
            .await?;
        let withdrawn = Withdrawn {
            request: &after,
            withdrawn_because: reason.code(),
        };
        let mut entry = NewAuditEntry::updated(
            actor,
            RecordKind::Settings,
            request.id,
            &request,
            &withdrawn,
            now,
        );
        entry.record_kind = AUDIT_KIND;
        entry.action = "withdraw";
        tx.audit(&entry).await?;
        Ok(after)
    }

    /// A request the actor may see: they asked for it or hold (or held) a task in it; or their
    /// data scope reaches it and they may view records of its kind.
    pub(crate) async fn visible_request(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<ApprovalRequest> {
        if let Some(r) = self.store.approval_request(actor.user_id, None, id).await? {
            return Ok(r);
        }
        let reach = self.reach(actor).await?;
        let request = self
            .store
            .approval_request(actor.user_id, Some(&reach), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let kind = request.record_kind.parse::<RecordKind>().ok();
        if kind.is_some_and(|k| actor.can(k, Action::View)) {
            Ok(request)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// A request with its steps, tasks and history, for the requester, its approvers, and those
    /// whose data scope reaches the requester's records.
    pub async fn approval_detail(&self, actor: &Actor, id: i64) -> AppResult<ApprovalDetail> {
        self.visible_request(actor, id).await?;
        self.detail_of(actor, id).await
    }

    /// The detail of a request the actor is known to see, as it now stands.
    async fn detail_of(&self, actor: &Actor, request_id: i64) -> AppResult<ApprovalDetail> {
        let parts = self
            .store
            .approval_request_in_full(request_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(detail_for(actor, parts))
    }

    /// "My approvals": what waits for the actor, or what they decided.
    pub async fn approval_inbox(
        &self,
        actor: &Actor,
        filter: InboxFilter,
        page: PageRequest,
    ) -> AppResult<Page<InboxItem>> {
        let rows = self
            .store
            .approval_inbox(actor.user_id, filter, page)
            .await?;
        Ok(Page::from_rows(rows, page, |i| i.task.id))
    }

    /// The requests the actor submitted.
    pub async fn my_approval_requests(
        &self,
        actor: &Actor,
        page: PageRequest,
    ) -> AppResult<Page<ApprovalRequest>> {
        let rows = self.store.approval_requests_of(actor.user_id, page).await?;
        Ok(Page::from_rows(rows, page, |r| r.id))
    }

    // ---- delegation while away -------------------------------------------------------------

    pub async fn delegations(&self, actor: &Actor) -> AppResult<Vec<Delegation>> {
        Ok(self.store.delegations_of(actor.user_id).await?)
    }

    /// Sends the actor's approvals to a colleague between two times. Tasks already waiting move
    /// to the delegate at once when the delegation has started.
    pub async fn delegate_approvals(
        &self,
        actor: &Actor,
        delegate_id: i64,
        starts_at_ms: i64,
        ends_at_ms: i64,
    ) -> AppResult<Delegation> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let mut problems = crate::error::Problems::default();
        problems.check(
            delegate_id != actor.user_id,
            "delegate_id",
            "invalid",
            "delegate to someone else",
        );
        problems.check(
            ends_at_ms > starts_at_ms,
            "ends_at_ms",
            "invalid",
            "the delegation must end after it starts",
        );
        problems.into_result()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        if !tx.is_active_user(delegate_id).await? {
            return Err(AppError::field(
                "delegate_id",
                "unknown_user",
                "no active user with this id",
            ));
        }
        let d = tx
            .insert_delegation(actor.user_id, delegate_id, starts_at_ms, ends_at_ms, now)
            .await?;
        if starts_at_ms <= now && now < ends_at_ms {
            for request_id in tx
                .reassign_pending_tasks(actor.user_id, delegate_id)
                .await?
            {
                let n = NewNotification {
                    user_id: delegate_id,
                    kind: "approval_waiting",
                    record_kind: AUDIT_KIND,
                    record_id: request_id,
                    subject: actor.display_name.clone(),
                };
                tx.notify(&n, now).await?;
            }
        }
        let mut entry = NewAuditEntry::created(actor, RecordKind::User, actor.user_id, &d, now);
        entry.action = "delegate_approvals";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(d)
    }

    pub async fn end_delegation(&self, actor: &Actor, id: i64) -> AppResult<()> {
        if actor.is_read_only() {
            return Err(AppError::Forbidden);
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        if !tx.delete_delegation(actor.user_id, id).await? {
            return Err(AppError::NotFound);
        }
        let mut entry = NewAuditEntry::new(
            actor,
            "end_delegation",
            RecordKind::User,
            Some(actor.user_id),
            now,
        );
        entry = entry.with_after(&serde_json::json!({ "delegation_id": id }));
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reminds approvers of tasks that waited a day since they arrived or were last reminded.
    pub(crate) async fn remind_waiting_approvals(&self, tx: &mut dyn Tx) -> AppResult<usize> {
        let now = self.now_ms();
        let due = tx
            .claim_approval_reminders(now - REMINDER_INTERVAL_MS, now)
            .await?;
        for (_, approver, request_id, title) in &due {
            let n = NewNotification {
                user_id: *approver,
                kind: "approval_reminder",
                record_kind: AUDIT_KIND,
                record_id: *request_id,
                subject: title.clone(),
            };
            tx.notify(&n, now).await?;
        }
        Ok(due.len())
    }
}

/// What the request's history says of an actor's step.
fn history_entry(
    request: &ApprovalRequest,
    actor: &Actor,
    action: &'static str,
    step_index: Option<i64>,
    comment: Option<String>,
) -> NewEvent {
    NewEvent {
        request_id: request.id,
        actor_id: actor.is_person().then_some(actor.user_id),
        action,
        step_index,
        comment,
    }
}

/// A request's detail as the actor sees it: its steps, and the task they can decide now.
fn detail_for(actor: &Actor, parts: ApprovalDetailParts) -> ApprovalDetail {
    let ApprovalDetailParts {
        request,
        tasks,
        events,
    } = parts;
    let my_task_id = tasks
        .iter()
        .find(|t| {
            t.approver_id == actor.user_id
                && t.status == TaskState::Pending
                && Some(t.step_index) == request.current_step
        })
        .map(|t| t.id);
    let steps = request
        .definition
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepView {
            index: i as i64,
            name: s.name.clone(),
            mode: s.mode,
        })
        .collect();
    ApprovalDetail {
        request,
        steps,
        tasks,
        events,
        my_task_id,
    }
}
