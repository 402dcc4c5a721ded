//! What the use cases need from persistence. `stride-store` implements these over SQLite and
//! PostgreSQL; nothing here names a database type.

mod approvals;
mod attachments;
mod bulk;
mod contracts;
mod import;
mod opportunities;
mod stage_documents;

pub use approvals::{ApprovalReads, ApprovalWrites};
pub use attachments::{AttachmentReads, AttachmentWrites};
pub use bulk::{BulkWrites, Cell};
pub use contracts::{ContractReads, ContractWrites};
pub use import::{ImportKeys, ImportReads, ImportWrites, LeadBatch, StoredKey, StoredRecord};
pub use opportunities::{OpportunityReads, OpportunityWrites};
pub use stage_documents::{StageDocumentReads, StageDocumentWrites};

use async_trait::async_trait;
use jiff::civil::Date;
use stride_domain::calendar::CalendarDay;

use crate::actor::Reach;
use crate::assignment::AssignmentRule;
use crate::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::auth::{ApiToken, Principal};
use crate::customers::{
    Contact, ContactData, CreditChange, Customer, CustomerData, CustomerFilter, DuplicateHit,
    MatchKeys, SearchHit, SearchKind,
};
use crate::idempotency::{IdempotencyClaim, StoredResponse};
use crate::jobs::{NewNotification, Notification};
use crate::leads::{Activity, ActivityData, AgendaItem, Lead, LeadData, LeadFilter, LeadState};
use crate::org::{Department, DepartmentData, Role, RoleData, User, UserData, UserFilter};
use crate::page::PageRequest;
use crate::settings::OrgSettings;
use crate::tiers::{TierChange, TierFacts};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The version given is not the record's current version.
    #[error("stale version")]
    Stale,
    /// A unique field collides with another record.
    #[error("duplicate {field}")]
    Duplicate { field: String },
    /// Other records still refer to this one.
    #[error("in use: {0}")]
    InUse(String),
    #[error("database: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Committed writes and the commits that carried them, since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub writes: u64,
    pub commits: u64,
}

/// Where this process's reads of the directory (users, roles, departments, sessions, tokens)
/// were answered from, since it started, and whether it may answer from memory now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryCounts {
    /// Whether changes by other processes reach this one, without which nothing is kept.
    pub hearing: bool,
    pub from_memory: u64,
    pub from_database: u64,
}

/// Reads outside a transaction, and the door to one. Newer business areas declare their
/// reads in their own trait under `ports/`.
#[async_trait]
pub trait Store:
    Send
    + Sync
    + OpportunityReads
    + ApprovalReads
    + ContractReads
    + AttachmentReads
    + StageDocumentReads
    + ImportReads
{
    /// Ok when the database answers and the schema is current.
    async fn readiness(&self) -> Result<(), String>;
    /// Starts a write transaction. On SQLite, writers queue for the one write turn, and short
    /// writes that queue together share one commit (see the store's `write` module).
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
    /// Starts a long write (an import, generated data), which shares no commit: short writes
    /// are never held until it ends.
    async fn begin_bulk(&self) -> StoreResult<Box<dyn Tx>>;
    /// How many writes this process committed and in how many commits, where writes share
    /// commits (SQLite); for `/metrics`.
    fn write_counts(&self) -> Option<WriteCounts> {
        None
    }
    /// How directory reads were answered (the store keeps them in memory); for `/metrics`.
    fn directory_counts(&self) -> Option<DirectoryCounts> {
        None
    }
    /// A number that moves on at every change to the directory, as far as this process knows of
    /// changes; `None` when it cannot know of every change now. Reads of the directory made in
    /// one generation are equal.
    fn directory_generation(&self) -> Option<u64> {
        None
    }

    async fn department_subtree(&self, root: i64) -> StoreResult<Vec<i64>>;
    async fn departments(&self, reach: &Reach, page: PageRequest) -> StoreResult<Vec<Department>>;
    async fn department(&self, reach: &Reach, id: i64) -> StoreResult<Option<Department>>;

    async fn users(
        &self,
        reach: &Reach,
        filter: &UserFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<User>>;
    async fn user(&self, reach: &Reach, id: i64) -> StoreResult<Option<User>>;
    /// Display names of those of `ids` within reach, in one read.
    async fn display_names(&self, reach: &Reach, ids: &[i64]) -> StoreResult<Vec<(i64, String)>>;
    /// The user id and password hash for a login name.
    async fn credentials(&self, username: &str) -> StoreResult<Option<(i64, String, bool)>>;

    async fn roles(&self) -> StoreResult<Vec<Role>>;
    async fn role(&self, id: i64) -> StoreResult<Option<Role>>;

    /// The active user behind an unexpired session, with their roles.
    async fn principal_by_session(
        &self,
        session_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(Principal, String)>>;
    /// The active user behind an unrevoked API token, with their roles and the token.
    async fn principal_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(Principal, ApiToken)>>;
    async fn principal(&self, user_id: i64) -> StoreResult<Option<Principal>>;

    async fn org_settings(&self) -> StoreResult<OrgSettings>;
    async fn calendar_days(&self, from: Date, to: Date) -> StoreResult<Vec<CalendarDay>>;

    async fn audit_entries(
        &self,
        reach: &Reach,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<AuditEntry>>;
    async fn audit_entry(&self, reach: &Reach, id: i64) -> StoreResult<Option<AuditEntry>>;

    async fn tokens_of(&self, user_id: i64) -> StoreResult<Vec<ApiToken>>;

    async fn customers(
        &self,
        reach: &Reach,
        filter: &CustomerFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Customer>>;
    async fn customer(&self, reach: &Reach, id: i64) -> StoreResult<Option<Customer>>;
    /// Customers whose normalised name, phone, e-mail or credit code equals one of `keys`.
    async fn customer_duplicates(
        &self,
        keys: &MatchKeys,
        except: Option<i64>,
    ) -> StoreResult<Vec<DuplicateHit>>;
    async fn contacts(
        &self,
        reach: &Reach,
        customer_id: Option<i64>,
        page: PageRequest,
    ) -> StoreResult<Vec<Contact>>;
    async fn contact(&self, reach: &Reach, id: i64) -> StoreResult<Option<Contact>>;
    /// Up to `limit` hits of each kind, grouped by kind in the order given, newest first.
    async fn search(
        &self,
        reach: &Reach,
        kinds: &[SearchKind],
        q: &str,
        limit: i64,
    ) -> StoreResult<Vec<SearchHit>>;

    /// Throttle counters (failed logins, public form posts): hits under `key` since `since_ms`,
    /// and the oldest of them.
    async fn throttle_hits(&self, key: &str, since_ms: i64) -> StoreResult<(i64, Option<i64>)>;
    async fn record_throttle_hits(&self, keys: &[String], at_ms: i64) -> StoreResult<()>;
    async fn clear_throttle_hits(&self, key: &str) -> StoreResult<()>;

    /// Claims an idempotency key for a request, or reports what the key already holds.
    async fn claim_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
        now_ms: i64,
    ) -> StoreResult<IdempotencyClaim>;
    async fn complete_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()>;
    async fn release_idempotency_key(&self, owner: &str, key: &str) -> StoreResult<()>;
    async fn leads(
        &self,
        reach: &Reach,
        filter: &LeadFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Lead>>;
    async fn lead(&self, reach: &Reach, id: i64) -> StoreResult<Option<Lead>>;
    /// Open leads matching the keys: (lead id, matched key).
    async fn lead_duplicates(
        &self,
        keys: &MatchKeys,
        except: Option<i64>,
    ) -> StoreResult<Vec<(i64, String)>>;
    async fn activities(
        &self,
        reach: &Reach,
        lead_id: Option<i64>,
        customer_id: Option<i64>,
        page: PageRequest,
    ) -> StoreResult<Vec<Activity>>;
    /// A user's latest activities of each record with a next follow-up before `until_ms`,
    /// earliest first, each with the name of its customer (if `customers` reaches it or it is in
    /// the public pool) or lead (if `leads` reaches it); `None` shows no names of that kind.
    async fn agenda(
        &self,
        user_id: i64,
        until_ms: i64,
        customers: Option<&Reach>,
        leads: Option<&Reach>,
    ) -> StoreResult<Vec<AgendaItem>>;
    /// A user's notifications, newest first.
    async fn notifications(
        &self,
        user_id: i64,
        unread_only: bool,
        page: PageRequest,
    ) -> StoreResult<Vec<Notification>>;
    /// The user behind a calendar feed secret.
    async fn calendar_feed_user(&self, token_hash: &str) -> StoreResult<Option<i64>>;
    /// A user's activities with a follow-up between the two times, earliest first.
    async fn follow_ups(
        &self,
        user_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<Activity>>;
    async fn assignment_rules(&self) -> StoreResult<Vec<AssignmentRule>>;
    /// The active rep of a department whose latest lead assignment is the oldest.
    async fn next_rep_in(&self, department_id: i64) -> StoreResult<Option<i64>>;
    /// A customer's tier history, newest first.
    async fn tier_history(&self, customer_id: i64) -> StoreResult<Vec<TierChange>>;
    /// The stored sales policy as JSON (None: defaults) and the settings version.
    async fn sales_policy(&self) -> StoreResult<(Option<String>, i64)>;

    // ---- credit history (CUST-5) ----
    /// A customer's credit changes, newest first.
    async fn credit_history(&self, customer_id: i64) -> StoreResult<Vec<CreditChange>>;
}

/// One write transaction. Every state change writes its audit row through the same `Tx`,
/// so a change and its record of it commit or vanish together.
#[async_trait]
pub trait Tx:
    Send
    + OpportunityWrites
    + ApprovalWrites
    + ContractWrites
    + AttachmentWrites
    + StageDocumentWrites
    + BulkWrites
    + ImportWrites
{
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    async fn audit(&mut self, entry: &NewAuditEntry) -> StoreResult<()>;

    async fn department(&mut self, id: i64) -> StoreResult<Option<Department>>;
    async fn insert_department(
        &mut self,
        data: &DepartmentData,
        now_ms: i64,
    ) -> StoreResult<Department>;
    async fn update_department(
        &mut self,
        id: i64,
        version: i64,
        data: &DepartmentData,
        now_ms: i64,
    ) -> StoreResult<Department>;
    async fn delete_department(&mut self, id: i64, version: i64) -> StoreResult<()>;

    async fn user(&mut self, id: i64) -> StoreResult<Option<User>>;
    async fn insert_user(
        &mut self,
        data: &UserData,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<User>;
    async fn update_user(
        &mut self,
        id: i64,
        version: i64,
        data: &UserData,
        now_ms: i64,
    ) -> StoreResult<User>;
    async fn set_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()>;

    async fn role(&mut self, id: i64) -> StoreResult<Option<Role>>;
    async fn insert_role(
        &mut self,
        data: &RoleData,
        builtin: bool,
        now_ms: i64,
    ) -> StoreResult<Role>;
    async fn update_role(
        &mut self,
        id: i64,
        version: i64,
        data: &RoleData,
        now_ms: i64,
    ) -> StoreResult<Role>;
    async fn delete_role(&mut self, id: i64, version: i64) -> StoreResult<()>;

    async fn update_org_settings(
        &mut self,
        version: i64,
        settings: &OrgSettings,
        now_ms: i64,
    ) -> StoreResult<OrgSettings>;
    async fn upsert_calendar_day(&mut self, day: &CalendarDay) -> StoreResult<Option<CalendarDay>>;
    async fn delete_calendar_day(&mut self, date: Date) -> StoreResult<Option<CalendarDay>>;

    async fn insert_session(
        &mut self,
        session_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()>;
    async fn delete_session(&mut self, session_hash: &str) -> StoreResult<()>;
    /// Ends every session of a user except the one given.
    async fn delete_sessions_of(
        &mut self,
        user_id: i64,
        except_hash: Option<&str>,
    ) -> StoreResult<()>;

    async fn insert_token(
        &mut self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        prefix: &str,
        read_only: bool,
        now_ms: i64,
    ) -> StoreResult<ApiToken>;
    async fn token(&mut self, id: i64) -> StoreResult<Option<ApiToken>>;
    async fn revoke_token(&mut self, id: i64, now_ms: i64) -> StoreResult<()>;
    async fn revoke_tokens_of(&mut self, user_id: i64, now_ms: i64) -> StoreResult<()>;

    /// Holds a lock on a user row until the transaction ends (a no-op on SQLite, whose write
    /// transactions are already serial).
    async fn lock_user(&mut self, user_id: i64) -> StoreResult<()>;
    async fn customer(&mut self, id: i64) -> StoreResult<Option<Customer>>;
    /// Inserts a customer owned by `(user, department)`, or unowned in the pool.
    async fn insert_customer(
        &mut self,
        data: &CustomerData,
        owner: Option<(i64, i64)>,
        now_ms: i64,
    ) -> StoreResult<Customer>;
    async fn update_customer(
        &mut self,
        id: i64,
        version: i64,
        data: &CustomerData,
        now_ms: i64,
    ) -> StoreResult<Customer>;
    async fn owned_customers(&mut self, user_id: i64) -> StoreResult<i64>;
    /// Sets or clears a customer's owner; with `only_if_unowned`, `None` when someone owns it already.
    async fn assign_customer(
        &mut self,
        id: i64,
        owner: Option<(i64, i64)>,
        only_if_unowned: bool,
        now_ms: i64,
    ) -> StoreResult<Option<Customer>>;
    /// Moves every customer of one user to another; returns how many moved.
    async fn transfer_customers(
        &mut self,
        from_user: i64,
        to_user: i64,
        to_department: i64,
        now_ms: i64,
    ) -> StoreResult<u64>;
    async fn insert_contact(
        &mut self,
        customer_id: i64,
        data: &ContactData,
        now_ms: i64,
    ) -> StoreResult<Contact>;
    async fn update_contact(
        &mut self,
        id: i64,
        version: i64,
        data: &ContactData,
        now_ms: i64,
    ) -> StoreResult<Contact>;
    async fn insert_lead(
        &mut self,
        data: &LeadData,
        state: &LeadState,
        now_ms: i64,
    ) -> StoreResult<Lead>;
    async fn update_lead(
        &mut self,
        id: i64,
        version: i64,
        data: &LeadData,
        state: &LeadState,
        now_ms: i64,
    ) -> StoreResult<Lead>;
    /// Moves a lead on (assigned, graded, contacted, converted…); what its editor sets stays.
    async fn update_lead_state(
        &mut self,
        id: i64,
        version: i64,
        state: &LeadState,
        now_ms: i64,
    ) -> StoreResult<Lead>;
    async fn record_lead_grade(
        &mut self,
        lead_id: i64,
        grade: &str,
        by_rules: bool,
        actor_id: Option<i64>,
        at_ms: i64,
    ) -> StoreResult<()>;
    async fn insert_activity(
        &mut self,
        lead_id: Option<i64>,
        customer_id: Option<i64>,
        data: &ActivityData,
        owner_id: i64,
        department_id: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Activity>;
    /// Notes a customer's latest activity and next follow-up.
    async fn touch_customer(
        &mut self,
        id: i64,
        activity_at_ms: i64,
        next_follow_up_at_ms: Option<i64>,
    ) -> StoreResult<()>;
    /// Carries a converted lead's activities over to its customer.
    async fn move_lead_activities(&mut self, lead_id: i64, customer_id: i64) -> StoreResult<()>;
    /// Marks overdue, unescalated leads as escalated and returns them.
    async fn claim_overdue_leads(&mut self, now_ms: i64) -> StoreResult<Vec<Lead>>;
    /// Who hears about a user's overdue leads: their manager, else the supervisors and managers above them.
    async fn escalation_targets(&mut self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// Marks owned customers of `tier` quiet since before `quiet_before_ms` as warned: (customer, owner, name).
    async fn claim_pool_warnings(
        &mut self,
        tier: &str,
        quiet_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>>;
    /// Returns owned customers of `tier` quiet since before `quiet_before_ms` to the pool: (customer, former owner, name).
    async fn return_quiet_customers(
        &mut self,
        tier: &str,
        quiet_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>>;
    async fn notify(&mut self, n: &NewNotification, now_ms: i64) -> StoreResult<()>;
    /// False when the notification is not the user's.
    async fn mark_notification_read(
        &mut self,
        user_id: i64,
        id: i64,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Moves everything of customer `from` to `into` and deletes `from`.
    async fn merge_customer(&mut self, from: i64, into: i64, now_ms: i64) -> StoreResult<()>;
    async fn set_calendar_feed(
        &mut self,
        user_id: i64,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
    async fn insert_assignment_rule(
        &mut self,
        priority: i64,
        region: Option<&str>,
        industry: Option<&str>,
        department_id: i64,
        now_ms: i64,
    ) -> StoreResult<AssignmentRule>;
    /// Deletes a rule and returns it.
    async fn delete_assignment_rule(&mut self, id: i64) -> StoreResult<Option<AssignmentRule>>;
    /// Takes the run of a periodic job for `period`, holding it until `held_until_ms`: a new
    /// run, or an unfinished one whose hold lapsed by `now_ms`. Returns the id its next batch
    /// starts after; `None` when the run is finished or another server holds it.
    async fn take_job_run(
        &mut self,
        job: &str,
        period: &str,
        now_ms: i64,
        held_until_ms: i64,
    ) -> StoreResult<Option<i64>>;
    /// Renews the hold on a run still resuming from `from_id` and locks it for this
    /// transaction; false when another server took it over meanwhile.
    async fn hold_job_run(
        &mut self,
        job: &str,
        period: &str,
        from_id: i64,
        held_until_ms: i64,
    ) -> StoreResult<bool>;
    /// Records where a run's next batch starts; `None` finishes it.
    async fn advance_job_run(
        &mut self,
        job: &str,
        period: &str,
        next_from_id: Option<i64>,
    ) -> StoreResult<()>;
    /// Tiering facts of up to `limit` customers with ids above `after_id`, in id order:
    /// activities count from `activities_since_ms`, signed contracts from `contracts_since_ms`.
    async fn tier_facts(
        &mut self,
        activities_since_ms: i64,
        contracts_since_ms: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<TierFacts>>;
    /// Sets a customer's tier and writes the history row.
    async fn record_tier(&mut self, change: &TierChange) -> StoreResult<()>;
    /// Moves the nurture date of owned, open leads whose date has come to `next_ms`:
    /// (lead, owner, company) of each one moved here.
    async fn claim_due_nurtures(
        &mut self,
        now_ms: i64,
        next_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>>;
    /// Stores the sales policy JSON; returns the new settings version.
    async fn set_sales_policy(&mut self, version: i64, json: &str, now_ms: i64)
        -> StoreResult<i64>;

    // ---- credit history (CUST-5) ----
    async fn record_credit_change(&mut self, change: &CreditChange) -> StoreResult<()>;
    /// Sets a customer's credit rating and limit (a merge adopting the absorbed customer's).
    async fn set_customer_credit(
        &mut self,
        customer_id: i64,
        rating: Option<&str>,
        limit_minor: i64,
        now_ms: i64,
    ) -> StoreResult<()>;
}
