//! The `Store` and `Tx` ports over the area modules: reads borrow a pooled connection,
//! writes run on the transaction's.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::civil::Date;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};
use stride_app::assignment::AssignmentRule;
use stride_app::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use stride_app::auth::{ApiToken, Principal};
use stride_app::customers::{
    Contact, ContactData, CreditChange, Customer, CustomerData, CustomerFilter, DuplicateHit,
    MatchKeys, SearchHit, SearchKind,
};
use stride_app::idempotency::{IdempotencyClaim, StoredResponse};
use stride_app::jobs::{NewNotification, Notification};
use stride_app::leads::{
    Activity, ActivityData, AgendaItem, Lead, LeadData, LeadFilter, LeadState,
};
use stride_app::org::{Department, DepartmentData, Role, RoleData, User, UserData, UserFilter};
use stride_app::page::PageRequest;
use stride_app::ports::StoreResult;
use stride_app::settings::OrgSettings;
use stride_app::tiers::{TierChange, TierFacts};
use stride_app::{DirectoryCounts, Reach, Store, Tx, WriteCounts};
use stride_domain::calendar::CalendarDay;

use crate::directory::Directory;
use crate::name_index::{CONTACT_NAMES, CUSTOMER_NAMES, LEAD_NAMES};
use crate::sql::{Deferred, Held, Sql};
use crate::write::{BesideSlots, CopyTx};
use crate::{
    audit, auth, backend, customers, jobs, leads, org, settings, Dialect, Sharing, SqlStore,
    WriteTx,
};

impl SqlStore {
    pub(crate) async fn conn(&self) -> StoreResult<PoolConnection<Any>> {
        self.pool.acquire().await.map_err(backend)
    }

    /// A connection for the search box's reads: from the search pool where there is one.
    pub(crate) async fn search_conn(&self) -> StoreResult<PoolConnection<Any>> {
        self.search_pool
            .as_ref()
            .unwrap_or(&self.pool)
            .acquire()
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn readiness(&self) -> Result<(), String> {
        self.schema_version_ok().await
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.begin_write(Sharing::Group).await?;
        Ok(Box::new(SqlTx::new(tx, self)))
    }

    async fn begin_bulk(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.begin_write(Sharing::Alone).await?;
        Ok(Box::new(SqlTx::new(tx, self)))
    }

    fn write_counts(&self) -> Option<WriteCounts> {
        self.write_turns.as_ref().map(|turns| turns.counts())
    }

    fn directory_counts(&self) -> Option<DirectoryCounts> {
        Some(self.directory.counts())
    }

    fn directory_generation(&self) -> Option<u64> {
        self.directory.generation()
    }

    async fn department_subtree(&self, root: i64) -> StoreResult<Vec<i64>> {
        self.directory
            .read_through(|kept| &mut kept.subtrees, root, async {
                org::subtree(&mut *self.conn().await?, root).await
            })
            .await
    }
    async fn departments(&self, reach: &Reach, page: PageRequest) -> StoreResult<Vec<Department>> {
        org::departments(&mut *self.conn().await?, reach, page).await
    }
    async fn department(&self, reach: &Reach, id: i64) -> StoreResult<Option<Department>> {
        org::department_by_id(&mut *self.conn().await?, reach, id).await
    }
    async fn users(
        &self,
        reach: &Reach,
        filter: &UserFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<User>> {
        org::users(&mut *self.conn().await?, self.dialect, reach, filter, page).await
    }
    async fn user(&self, reach: &Reach, id: i64) -> StoreResult<Option<User>> {
        self.directory
            .read_through(|kept| &mut kept.users, (reach.clone(), id), async {
                org::user_by_id(&mut *self.conn().await?, reach, id).await
            })
            .await
    }
    async fn display_names(&self, reach: &Reach, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
        org::display_names(&mut *self.conn().await?, reach, ids).await
    }
    async fn credentials(&self, username: &str) -> StoreResult<Option<(i64, String, bool)>> {
        org::credentials(&mut *self.conn().await?, username).await
    }
    async fn roles(&self) -> StoreResult<Vec<Role>> {
        org::roles(&mut *self.conn().await?).await
    }
    async fn role(&self, id: i64) -> StoreResult<Option<Role>> {
        org::role_by_id(&mut *self.conn().await?, id).await
    }
    async fn principal_by_session(
        &self,
        hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(Principal, String)>> {
        let stored = self
            .directory
            .read_through(|kept| &mut kept.sessions, hash.to_owned(), async {
                auth::session(&mut *self.conn().await?, hash).await
            })
            .await?;
        Ok(stored
            .filter(|s| s.expires_at_ms > now_ms)
            .map(|s| (s.principal, s.csrf_token)))
    }
    async fn principal_by_token(&self, hash: &str) -> StoreResult<Option<(Principal, ApiToken)>> {
        self.directory
            .read_through(|kept| &mut kept.tokens, hash.to_owned(), async {
                auth::principal_by_token(&mut *self.conn().await?, hash).await
            })
            .await
    }
    async fn principal(&self, user_id: i64) -> StoreResult<Option<Principal>> {
        org::principal(&mut *self.conn().await?, user_id).await
    }
    async fn org_settings(&self) -> StoreResult<OrgSettings> {
        settings::org_settings(&mut *self.conn().await?).await
    }
    async fn calendar_days(&self, from: Date, to: Date) -> StoreResult<Vec<CalendarDay>> {
        settings::calendar_days(&mut *self.conn().await?, from, to).await
    }
    async fn audit_entries(
        &self,
        reach: &Reach,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<AuditEntry>> {
        audit::entries(&mut *self.conn().await?, reach, filter, page).await
    }
    async fn audit_entry(&self, reach: &Reach, id: i64) -> StoreResult<Option<AuditEntry>> {
        audit::entry_by_id(&mut *self.conn().await?, reach, id).await
    }
    async fn tokens_of(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        auth::tokens_of(&mut *self.conn().await?, user_id).await
    }
    async fn customers(
        &self,
        reach: &Reach,
        filter: &CustomerFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Customer>> {
        customers::customers(&mut *self.conn().await?, reach, filter, page).await
    }
    async fn customer(&self, reach: &Reach, id: i64) -> StoreResult<Option<Customer>> {
        customers::customer_by_id(&mut *self.conn().await?, reach, id).await
    }
    async fn customer_duplicates(
        &self,
        keys: &MatchKeys,
        except: Option<i64>,
    ) -> StoreResult<Vec<DuplicateHit>> {
        customers::duplicates(&mut *self.conn().await?, keys, except).await
    }
    async fn contacts(
        &self,
        reach: &Reach,
        customer_id: Option<i64>,
        page: PageRequest,
    ) -> StoreResult<Vec<Contact>> {
        customers::contacts(&mut *self.conn().await?, reach, customer_id, page).await
    }
    async fn contact(&self, reach: &Reach, id: i64) -> StoreResult<Option<Contact>> {
        customers::contact_by_id(&mut *self.conn().await?, reach, id).await
    }
    async fn search(
        &self,
        reach: &Reach,
        kinds: &[SearchKind],
        q: &str,
        limit: i64,
    ) -> StoreResult<Vec<SearchHit>> {
        customers::search(
            &mut *self.search_conn().await?,
            self.dialect(),
            &self.many_counts,
            reach,
            kinds,
            q,
            limit,
        )
        .await
    }
    async fn leads(
        &self,
        reach: &Reach,
        filter: &LeadFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Lead>> {
        leads::leads(&mut *self.conn().await?, reach, filter, page).await
    }
    async fn lead(&self, reach: &Reach, id: i64) -> StoreResult<Option<Lead>> {
        leads::lead_by_id(&mut *self.conn().await?, reach, id).await
    }
    async fn lead_duplicates(
        &self,
        keys: &MatchKeys,
        except: Option<i64>,
    ) -> StoreResult<Vec<(i64, String)>> {
        leads::duplicates(&mut *self.conn().await?, keys, except).await
    }
    async fn activities(
        &self,
        reach: &Reach,
        lead_id: Option<i64>,
        customer_id: Option<i64>,
        page: PageRequest,
    ) -> StoreResult<Vec<Activity>> {
        leads::activities(&mut *self.conn().await?, reach, lead_id, customer_id, page).await
    }
    async fn agenda(
        &self,
        user_id: i64,
        until_ms: i64,
        customers: Option<&Reach>,
        leads: Option<&Reach>,
    ) -> StoreResult<Vec<AgendaItem>> {
        leads::agenda(
            &mut *self.conn().await?,
            user_id,
            until_ms,
            customers,
            leads,
        )
        .await
    }
    async fn notifications(
        &self,
        user_id: i64,
        unread_only: bool,
        page: PageRequest,
    ) -> StoreResult<Vec<Notification>> {
        jobs::notifications(&mut *self.conn().await?, user_id, unread_only, page).await
    }
    async fn calendar_feed_user(&self, token_hash: &str) -> StoreResult<Option<i64>> {
        leads::calendar_feed_user(&mut *self.conn().await?, token_hash).await
    }
    async fn follow_ups(
        &self,
        user_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<Activity>> {
        leads::follow_ups(&mut *self.conn().await?, user_id, from_ms, to_ms).await
    }
    async fn assignment_rules(&self) -> StoreResult<Vec<AssignmentRule>> {
        leads::assignment_rules(&mut *self.conn().await?).await
    }
    async fn next_rep_in(&self, department_id: i64) -> StoreResult<Option<i64>> {
        leads::next_rep_in(&mut *self.conn().await?, department_id).await
    }
    async fn tier_history(&self, customer_id: i64) -> StoreResult<Vec<TierChange>> {
        jobs::tier_history(&mut *self.conn().await?, customer_id).await
    }
    async fn sales_policy(&self) -> StoreResult<(Option<String>, i64)> {
        settings::sales_policy(&mut *self.conn().await?).await
    }
    async fn throttle_hits(&self, key: &str, since_ms: i64) -> StoreResult<(i64, Option<i64>)> {
        auth::throttle_hits(&mut *self.conn().await?, key, since_ms).await
    }
    async fn record_throttle_hits(&self, keys: &[String], at_ms: i64) -> StoreResult<()> {
        let mut tx = self.begin_write(Sharing::Group).await?;
        auth::record_throttle_hits(&mut tx, keys, at_ms).await?;
        tx.commit().await
    }
    async fn clear_throttle_hits(&self, key: &str) -> StoreResult<()> {
        auth::clear_throttle_hits(&mut *self.conn().await?, key).await
    }
    async fn claim_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        hash: &str,
        now_ms: i64,
    ) -> StoreResult<IdempotencyClaim> {
        let mut tx = self.begin_write(Sharing::Group).await?;
        let claim = auth::claim_idempotency_key(&mut tx, owner, key, hash, now_ms).await?;
        tx.commit().await?;
        Ok(claim)
    }
    async fn complete_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        auth::complete_idempotency_key(&mut *self.conn().await?, owner, key, response).await
    }
    async fn release_idempotency_key(&self, owner: &str, key: &str) -> StoreResult<()> {
        auth::release_idempotency_key(&mut *self.conn().await?, owner, key).await
    }

    // ---- credit history (CUST-5) ----
    async fn credit_history(&self, customer_id: i64) -> StoreResult<Vec<CreditChange>> {
        customers::credit_history(&mut *self.conn().await?, customer_id).await
    }
}

/// A write transaction and the dialect it speaks; area modules implement their `…Writes` port on it.
pub(crate) struct SqlTx {
    write: WriteTx,
    pub(crate) dialect: Dialect,
    deferred: Deferred,
    directory: Arc<Directory>,
    /// Whether the transaction wrote the directory, whose kept reads its commit then drops.
    writes_directory: bool,
    /// PostgreSQL: where [`SqlTx::beside`] and [`SqlTx::copy`] open their transactions, and
    /// the ones they opened.
    beside_slots: Option<Arc<BesideSlots>>,
    beside: Option<CopyTx>,
    copy: Option<CopyTx>,
}

impl SqlTx {
    fn new(write: WriteTx, store: &SqlStore) -> Self {
        Self {
            write,
            dialect: store.dialect,
            deferred: Deferred::new(store.dialect),
            directory: store.directory.clone(),
            writes_directory: false,
            beside_slots: store.beside.clone(),
            beside: None,
            copy: None,
        }
    }

    /// PostgreSQL: a second transaction that copies (see [`CopyTx`]), for rows that no
    /// statement of this one reads and no constraint ties to its rows (an import's name
    /// index), so that another server process writes them while this one runs the rest. It
    /// commits just before this transaction and rolls back with it. A crash between the two
    /// commits leaves its rows naming ids this transaction reserved and never stored; ids are
    /// never handed out twice, so such a row cannot name another record, and the search,
    /// which reads records through them, finds nothing there. Hand it back with
    /// [`SqlTx::keep_beside`].
    ///
    /// `None` on SQLite, which takes one writer at a time, and while a quarter of the pool is
    /// already beside other transactions; the writes then go in this one.
    pub(crate) async fn beside(&mut self) -> StoreResult<Option<CopyTx>> {
        kept_or_opened(&mut self.beside, self.beside_slots.as_deref()).await
    }

    pub(crate) fn keep_beside(&mut self, beside: Option<CopyTx>) {
        self.beside = beside;
    }

    /// PostgreSQL: a transaction on a connection of its own that writes rows by `COPY` (see
    /// [`CopyTx`]), for a bulk write's records, their rows beside (grades) and their audit
    /// rows. Once it is open, this transaction's audit rows go there too, and it commits just
    /// before this one, which then holds no writes of its own: a crash between the two commits
    /// loses nothing. Hand it back with [`SqlTx::keep_copy`].
    ///
    /// `None` on SQLite, and while a quarter of the pool is already beside other transactions;
    /// the rows then go in this one, by `INSERT`.
    pub(crate) async fn copy(&mut self) -> StoreResult<Option<CopyTx>> {
        kept_or_opened(&mut self.copy, self.beside_slots.as_deref()).await
    }

    pub(crate) fn keep_copy(&mut self, copy: Option<CopyTx>) {
        self.copy = copy;
    }

    /// The connection for a write to the directory (users, their roles, roles, departments,
    /// sessions, API tokens): every such write goes through here, so that this server forgets
    /// what it kept of the directory as soon as the write is committed.
    async fn directory_conn(&mut self) -> StoreResult<&mut AnyConnection> {
        self.writes_directory = true;
        self.conn().await
    }

    /// The transaction's connection, once the writes held back so far are sent: every
    /// statement of the transaction goes through here, so each sees all the writes before it.
    pub(crate) async fn conn(&mut self) -> StoreResult<&mut AnyConnection> {
        if let Some(held) = self.deferred.take() {
            held.execute(&mut self.write).await?;
        }
        Ok(&mut self.write)
    }

    /// Holds back a write nobody reads the outcome of, to go with the next statement's round
    /// trip (see [`Deferred`]).
    pub(crate) async fn hold(
        &mut self,
        what: Held,
        write: impl FnOnce(&mut Sql),
    ) -> StoreResult<()> {
        if let Some(first) = self.deferred.hold(what, write) {
            first.execute(&mut self.write).await?;
        }
        Ok(())
    }
}

/// The copying transaction `kept` holds, handed over, or else a new one from `slots` (none on
/// SQLite, nor while every slot is taken).
async fn kept_or_opened(
    kept: &mut Option<CopyTx>,
    slots: Option<&BesideSlots>,
) -> StoreResult<Option<CopyTx>> {
    match (kept.take(), slots) {
        (Some(tx), _) => Ok(Some(tx)),
        (None, Some(slots)) => slots.open().await,
        (None, None) => Ok(None),
    }
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        if let Some(beside) = self.beside.take() {
            beside.commit().await?;
        }
        if let Some(copy) = self.copy.take() {
            copy.commit().await?;
        }
        let held = self.deferred.take();
        let committed = self.write.commit_after(held).await;
        // Also after a failed commit: it may have committed before the failure was seen.
        if self.writes_directory {
            self.directory.changed();
        }
        committed
    }
    async fn audit(&mut self, entry: &NewAuditEntry) -> StoreResult<()> {
        if let Some(copy) = self.copy.as_mut() {
            return copy.copy(audit::copy(std::slice::from_ref(entry))).await;
        }
        self.hold(Held::Insert("audit_log"), |q| audit::insert_into(q, entry))
            .await
    }
    async fn department(&mut self, id: i64) -> StoreResult<Option<Department>> {
        org::department_by_id(self.conn().await?, &Reach::All, id).await
    }
    async fn insert_department(
        &mut self,
        data: &DepartmentData,
        now_ms: i64,
    ) -> StoreResult<Department> {
        org::insert_department(self.directory_conn().await?, data, now_ms).await
    }
    async fn update_department(
        &mut self,
        id: i64,
        version: i64,
        data: &DepartmentData,
        now_ms: i64,
    ) -> StoreResult<Department> {
        org::update_department(self.directory_conn().await?, id, version, data, now_ms).await
    }
    async fn delete_department(&mut self, id: i64, version: i64) -> StoreResult<()> {
        org::delete_department(self.directory_conn().await?, id, version).await
    }
    async fn user(&mut self, id: i64) -> StoreResult<Option<User>> {
        org::user_by_id(self.conn().await?, &Reach::All, id).await
    }
    async fn insert_user(
        &mut self,
        data: &UserData,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<User> {
        org::insert_user(self.directory_conn().await?, data, password_hash, now_ms).await
    }
    async fn update_user(
        &mut self,
        id: i64,
        version: i64,
        data: &UserData,
        now_ms: i64,
    ) -> StoreResult<User> {
        org::update_user(self.directory_conn().await?, id, version, data, now_ms).await
    }
    async fn set_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        org::set_password(self.directory_conn().await?, user_id, password_hash, now_ms).await
    }
    async fn role(&mut self, id: i64) -> StoreResult<Option<Role>> {
        org::role_by_id(self.conn().await?, id).await
    }
    async fn insert_role(
        &mut self,
        data: &RoleData,
        builtin: bool,
        now_ms: i64,
    ) -> StoreResult<Role> {
        org::insert_role(self.directory_conn().await?, data, builtin, now_ms).await
    }
    async fn update_role(
        &mut self,
        id: i64,
        version: i64,
        data: &RoleData,
        now_ms: i64,
    ) -> StoreResult<Role> {
        org::update_role(self.directory_conn().await?, id, version, data, now_ms).await
    }
    async fn delete_role(&mut self, id: i64, version: i64) -> StoreResult<()> {
        org::delete_role(self.directory_conn().await?, id, version).await
    }
    async fn update_org_settings(
        &mut self,
        version: i64,
        s: &OrgSettings,
        now_ms: i64,
    ) -> StoreResult<OrgSettings> {
        settings::update_org_settings(self.conn().await?, version, s, now_ms).await
    }
    async fn upsert_calendar_day(&mut self, day: &CalendarDay) -> StoreResult<Option<CalendarDay>> {
        settings::upsert_calendar_day(self.conn().await?, day).await
    }
    async fn delete_calendar_day(&mut self, date: Date) -> StoreResult<Option<CalendarDay>> {
        settings::delete_calendar_day(self.conn().await?, date).await
    }
    async fn insert_session(
        &mut self,
        hash: &str,
        user_id: i64,
        csrf: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> StoreResult<()> {
        auth::insert_session(
            self.directory_conn().await?,
            hash,
            user_id,
            csrf,
            now_ms,
            expires_ms,
        )
        .await
    }
    async fn delete_session(&mut self, hash: &str) -> StoreResult<()> {
        auth::delete_session(self.directory_conn().await?, hash).await
    }
    async fn delete_sessions_of(&mut self, user_id: i64, except: Option<&str>) -> StoreResult<()> {
        auth::delete_sessions_of(self.directory_conn().await?, user_id, except).await
    }
    async fn insert_token(
        &mut self,
        user_id: i64,
        name: &str,
        hash: &str,
        prefix: &str,
        read_only: bool,
        now_ms: i64,
    ) -> StoreResult<ApiToken> {
        auth::insert_token(
            self.directory_conn().await?,
            user_id,
            name,
            hash,
            prefix,
            read_only,
            now_ms,
        )
        .await
    }
    async fn token(&mut self, id: i64) -> StoreResult<Option<ApiToken>> {
        auth::token_by_id(self.conn().await?, id).await
    }
    async fn revoke_token(&mut self, id: i64, now_ms: i64) -> StoreResult<()> {
        auth::revoke_token(self.directory_conn().await?, id, now_ms).await
    }
    async fn revoke_tokens_of(&mut self, user_id: i64, now_ms: i64) -> StoreResult<()> {
        auth::revoke_tokens_of(self.directory_conn().await?, user_id, now_ms).await
    }
    async fn lock_user(&mut self, user_id: i64) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            let mut q = crate::sql::Sql::new("SELECT id FROM users WHERE id = ");
            q.bind(user_id).push(" FOR UPDATE");
            q.fetch_optional(self.conn().await?).await?;
        }
        Ok(())
    }
    async fn customer(&mut self, id: i64) -> StoreResult<Option<Customer>> {
        customers::customer_by_id(self.conn().await?, &Reach::All, id).await
    }
    async fn insert_customer(
        &mut self,
        data: &CustomerData,
        owner: Option<(i64, i64)>,
        now_ms: i64,
    ) -> StoreResult<Customer> {
        let customer = customers::insert_customer(self.conn().await?, data, owner, now_ms).await?;
        CUSTOMER_NAMES
            .hold_new(self, customer.id, &customer.data.name)
            .await?;
        Ok(customer)
    }
    async fn update_customer(
        &mut self,
        id: i64,
        version: i64,
        data: &CustomerData,
        now_ms: i64,
    ) -> StoreResult<Customer> {
        let dialect = self.dialect;
        customers::update_customer(self.conn().await?, dialect, id, version, data, now_ms).await
    }
    async fn owned_customers(&mut self, user_id: i64) -> StoreResult<i64> {
        customers::owned(self.conn().await?, user_id).await
    }
    async fn assign_customer(
        &mut self,
        id: i64,
        owner: Option<(i64, i64)>,
        only_if_unowned: bool,
        now_ms: i64,
    ) -> StoreResult<Option<Customer>> {
        customers::assign(self.conn().await?, id, owner, only_if_unowned, now_ms).await
    }
    async fn transfer_customers(
        &mut self,
        from_user: i64,
        to_user: i64,
        to_department: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        customers::transfer(
            self.conn().await?,
            from_user,
            to_user,
            to_department,
            now_ms,
        )
        .await
    }
    async fn insert_contact(
        &mut self,
        customer_id: i64,
        data: &ContactData,
        now_ms: i64,
    ) -> StoreResult<Contact> {
        let contact =
            customers::insert_contact(self.conn().await?, customer_id, data, now_ms).await?;
        CONTACT_NAMES
            .hold_new(self, contact.id, &contact.data.name)
            .await?;
        Ok(contact)
    }
    async fn update_contact(
        &mut self,
        id: i64,
        version: i64,
        data: &ContactData,
        now_ms: i64,
    ) -> StoreResult<Contact> {
        let dialect = self.dialect;
        customers::update_contact(self.conn().await?, dialect, id, version, data, now_ms).await
    }
    async fn insert_lead(
        &mut self,
        data: &LeadData,
        state: &LeadState,
        now_ms: i64,
    ) -> StoreResult<Lead> {
        let lead = leads::insert_lead(self.conn().await?, data, state, now_ms).await?;
        LEAD_NAMES
            .hold_new(self, lead.id, &lead.data.company)
            .await?;
        Ok(lead)
    }
    async fn update_lead(
        &mut self,
        id: i64,
        version: i64,
        data: &LeadData,
        state: &LeadState,
        now_ms: i64,
    ) -> StoreResult<Lead> {
        let dialect = self.dialect;
        leads::update_lead(
            self.conn().await?,
            dialect,
            id,
            version,
            data,
            state,
            now_ms,
        )
        .await
    }
    async fn update_lead_state(
        &mut self,
        id: i64,
        version: i64,
        state: &LeadState,
        now_ms: i64,
    ) -> StoreResult<Lead> {
        leads::update_lead_state(self.conn().await?, id, version, state, now_ms).await
    }
    async fn record_lead_grade(
        &mut self,
        lead_id: i64,
        grade: &str,
        by_rules: bool,
        actor_id: Option<i64>,
        at_ms: i64,
    ) -> StoreResult<()> {
        leads::record_grade(
            self.conn().await?,
            lead_id,
            grade,
            by_rules,
            actor_id,
            at_ms,
        )
        .await
    }
    async fn insert_activity(
        &mut self,
        lead_id: Option<i64>,
        customer_id: Option<i64>,
        data: &ActivityData,
        owner_id: i64,
        department_id: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Activity> {
        leads::insert_activity(
            self.conn().await?,
            lead_id,
            customer_id,
            data,
            owner_id,
            department_id,
            now_ms,
        )
        .await
    }
    async fn touch_customer(
        &mut self,
        id: i64,
        activity_at_ms: i64,
        next_follow_up_at_ms: Option<i64>,
    ) -> StoreResult<()> {
        leads::touch_customer(self.conn().await?, id, activity_at_ms, next_follow_up_at_ms).await
    }
    async fn move_lead_activities(&mut self, lead_id: i64, customer_id: i64) -> StoreResult<()> {
        leads::move_activities(self.conn().await?, lead_id, customer_id).await
    }
    async fn claim_overdue_leads(&mut self, now_ms: i64) -> StoreResult<Vec<Lead>> {
        jobs::claim_overdue_leads(self.conn().await?, now_ms).await
    }
    async fn escalation_targets(&mut self, user_id: i64) -> StoreResult<Vec<i64>> {
        jobs::escalation_targets(self.conn().await?, user_id).await
    }
    async fn claim_pool_warnings(
        &mut self,
        tier: &str,
        quiet_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>> {
        jobs::claim_pool_warnings(self.conn().await?, tier, quiet_before_ms, now_ms).await
    }
    async fn return_quiet_customers(
        &mut self,
        tier: &str,
        quiet_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>> {
        jobs::return_quiet_customers(self.conn().await?, tier, quiet_before_ms, now_ms).await
    }
    async fn notify(&mut self, n: &NewNotification, now_ms: i64) -> StoreResult<()> {
        self.hold(Held::Insert("notifications"), |q| {
            jobs::notification_into(q, n, now_ms)
        })
        .await
    }
    async fn mark_notification_read(
        &mut self,
        user_id: i64,
        id: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        jobs::mark_read(self.conn().await?, user_id, id, now_ms).await
    }
    async fn merge_customer(&mut self, from: i64, into: i64, now_ms: i64) -> StoreResult<()> {
        customers::merge(self.conn().await?, from, into, now_ms).await?;
        // The absorbed customer's follow-ups now compete with the survivor's for its agenda entry.
        leads::settle_superseded(self.conn().await?, None, Some(into)).await
    }
    async fn set_calendar_feed(
        &mut self,
        user_id: i64,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        leads::set_calendar_feed(self.conn().await?, user_id, token_hash, now_ms).await
    }
    async fn insert_assignment_rule(
        &mut self,
        priority: i64,
        region: Option<&str>,
        industry: Option<&str>,
        department_id: i64,
        now_ms: i64,
    ) -> StoreResult<AssignmentRule> {
        leads::insert_rule(
            self.conn().await?,
            priority,
            region,
            industry,
            department_id,
            now_ms,
        )
        .await
    }
    async fn delete_assignment_rule(&mut self, id: i64) -> StoreResult<Option<AssignmentRule>> {
        leads::delete_rule(self.conn().await?, id).await
    }
    async fn take_job_run(
        &mut self,
        job: &str,
        period: &str,
        now_ms: i64,
        held_until_ms: i64,
    ) -> StoreResult<Option<i64>> {
        jobs::take_job_run(self.conn().await?, job, period, now_ms, held_until_ms).await
    }
    async fn hold_job_run(
        &mut self,
        job: &str,
        period: &str,
        from_id: i64,
        held_until_ms: i64,
    ) -> StoreResult<bool> {
        jobs::hold_job_run(self.conn().await?, job, period, from_id, held_until_ms).await
    }
    async fn advance_job_run(
        &mut self,
        job: &str,
        period: &str,
        next_from_id: Option<i64>,
    ) -> StoreResult<()> {
        jobs::advance_job_run(self.conn().await?, job, period, next_from_id).await
    }
    async fn tier_facts(
        &mut self,
        activities_since_ms: i64,
        contracts_since_ms: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<TierFacts>> {
        jobs::tier_facts(
            self.conn().await?,
            activities_since_ms,
            contracts_since_ms,
            after_id,
            limit,
        )
        .await
    }
    async fn record_tier(&mut self, change: &TierChange) -> StoreResult<()> {
        jobs::record_tier(self.conn().await?, change).await
    }
    async fn claim_due_nurtures(
        &mut self,
        now_ms: i64,
        next_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>> {
        jobs::claim_due_nurtures(self.conn().await?, now_ms, next_ms).await
    }
    async fn set_sales_policy(
        &mut self,
        version: i64,
        json: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        settings::set_sales_policy(self.conn().await?, version, json, now_ms).await
    }

    // ---- credit history (CUST-5) ----
    async fn record_credit_change(&mut self, change: &CreditChange) -> StoreResult<()> {
        customers::record_credit_change(self.conn().await?, change).await
    }
    async fn set_customer_credit(
        &mut self,
        customer_id: i64,
        rating: Option<&str>,
        limit_minor: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        customers::set_credit(self.conn().await?, customer_id, rating, limit_minor, now_ms).await
    }
}
