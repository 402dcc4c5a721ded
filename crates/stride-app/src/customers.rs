//! Customers (CUST-1, CUST-4, CUST-5) and their contacts (CUST-2): registration, duplicate
//! detection, the public pool (公海) with claims under a per-rep cap, and handover.

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::customers::{
    normalize_company_name, normalize_email, normalize_phone, CreditRating, DecisionRole,
};
use stride_domain::validate;

use crate::actor::{Actor, Reach};
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, Problems};
use crate::page::{Page, PageRequest};
use crate::App;

/// How many customers one rep may own by default (the sales policy may change it).
pub const DEFAULT_OWNERSHIP_CAP: i64 = 200;

/// What a hand-over moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandOverSummary {
    pub customers: u64,
    pub opportunities: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: i64,
    #[serde(flatten)]
    pub data: CustomerData,
    pub tier: String,
    /// None while the customer sits in the public pool.
    pub owner_id: Option<i64>,
    pub department_id: Option<i64>,
    pub last_activity_at_ms: Option<i64>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The registration form (客户信息登记表): what a user writes about a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerData {
    pub name: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    /// 统一社会信用代码, validated with its check digit.
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub needs: Option<String>,
    /// Follow-up stage in words, as the registration form has it.
    pub stage: Option<String>,
    pub credit_rating: Option<String>,
    pub credit_limit_minor: i64,
    pub next_follow_up_at_ms: Option<i64>,
}

/// One change of a customer's credit rating or limit (CUST-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditChange {
    pub customer_id: i64,
    pub rating_before: Option<String>,
    pub rating_after: Option<String>,
    pub limit_before_minor: i64,
    pub limit_after_minor: i64,
    /// Who made the change; `None` once that user is gone.
    pub changed_by: Option<i64>,
    pub reason: Option<String>,
    pub at_ms: i64,
}

impl CreditChange {
    /// The change from `before` (nothing for a new customer) to `after`, if credit moved at all.
    fn between(
        customer_id: i64,
        before: Option<&CustomerData>,
        after: &CustomerData,
        actor: &Actor,
        reason: Option<String>,
        at_ms: i64,
    ) -> Option<Self> {
        let rating_before = before.and_then(|b| b.credit_rating.clone());
        let limit_before_minor = before.map_or(0, |b| b.credit_limit_minor);
        let unchanged =
            rating_before == after.credit_rating && limit_before_minor == after.credit_limit_minor;
        (!unchanged).then(|| Self {
            customer_id,
            rating_before,
            rating_after: after.credit_rating.clone(),
            limit_before_minor,
            limit_after_minor: after.credit_limit_minor,
            changed_by: Some(actor.user_id),
            reason,
            at_ms,
        })
    }
}

/// The normalised forms duplicate detection compares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MatchKeys {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub credit_code: Option<String>,
}

impl CustomerData {
    pub fn keys(&self) -> MatchKeys {
        MatchKeys {
            name: normalize_company_name(&self.name),
            phone: self
                .phone
                .as_deref()
                .map(normalize_phone)
                .filter(|p| !p.is_empty()),
            email: self
                .email
                .as_deref()
                .map(normalize_email)
                .filter(|e| !e.is_empty()),
            credit_code: self.credit_code.clone(),
        }
    }
}

/// Another record that looks like the same company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateHit {
    pub customer_id: i64,
    /// Which key matched: name, phone, email or credit_code.
    pub matched_on: String,
    /// The name, only when the caller may see that customer.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub owner_id: Option<i64>,
    pub tier: Option<String>,
    /// Only the public pool.
    pub pool: bool,
    pub q: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    #[serde(flatten)]
    pub data: ContactData,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContactData {
    pub name: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// decision_maker, influencer, user, finance or gatekeeper.
    pub decision_role: Option<String>,
    pub notes: Option<String>,
}

/// What the search box looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    Customer,
    Contact,
    Lead,
}

impl SearchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchKind::Customer => "customer",
            SearchKind::Contact => "contact",
            SearchKind::Lead => "lead",
        }
    }
}

/// One hit of the search box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub kind: SearchKind,
    pub id: i64,
    pub title: String,
    pub detail: Option<String>,
    pub customer_id: Option<i64>,
}

/// Validates and tidies the registration form.
fn checked_customer(mut d: CustomerData) -> AppResult<CustomerData> {
    let mut p = Problems::default();
    match validate::required_text(&d.name, 200) {
        Some(n) => d.name = n,
        None => p.add(
            "name",
            "required",
            "the customer's name is required (at most 200 characters)",
        ),
    }
    for (field, value, max) in [
        ("industry", &mut d.industry, 100),
        ("size", &mut d.size, 50),
        ("region", &mut d.region, 100),
        ("address", &mut d.address, 300),
        ("website", &mut d.website, 300),
        ("phone", &mut d.phone, 50),
        ("email", &mut d.email, 254),
        ("needs", &mut d.needs, 4000),
        ("stage", &mut d.stage, 100),
    ] {
        p.optional_text(value, field, max);
    }
    p.contact_points(d.email.as_deref(), d.phone.as_deref());
    p.credit_code(&mut d.credit_code);
    if let Some(rating) = d.credit_rating.take().filter(|r| !r.trim().is_empty()) {
        match rating.trim().parse::<CreditRating>() {
            Ok(r) => d.credit_rating = Some(r.as_str().to_owned()),
            Err(_) => p.add("credit_rating", "invalid", "one of AAA, AA, A, B, C"),
        }
    }
    p.check(
        d.credit_limit_minor >= 0,
        "credit_limit",
        "negative",
        "a credit limit cannot be negative",
    );
    p.into_result()?;
    Ok(d)
}

/// Why credit changed: optional, at most 500 characters.
fn checked_credit_reason(mut reason: Option<String>) -> AppResult<Option<String>> {
    let mut p = Problems::default();
    p.optional_text(&mut reason, "credit_reason", 500);
    p.into_result()?;
    Ok(reason)
}

fn checked_contact(mut d: ContactData) -> AppResult<ContactData> {
    let mut p = Problems::default();
    match validate::required_text(&d.name, 100) {
        Some(n) => d.name = n,
        None => p.add(
            "name",
            "required",
            "the contact's name is required (at most 100 characters)",
        ),
    }
    for (field, value, max) in [
        ("title", &mut d.title, 100),
        ("phone", &mut d.phone, 50),
        ("email", &mut d.email, 254),
        ("wechat", &mut d.wechat, 100),
        ("notes", &mut d.notes, 4000),
    ] {
        p.optional_text(value, field, max);
    }
    p.contact_points(d.email.as_deref(), d.phone.as_deref());
    if let Some(role) = d.decision_role.take().filter(|r| !r.trim().is_empty()) {
        match role.trim().parse::<DecisionRole>() {
            Ok(r) => d.decision_role = Some(r.as_str().to_owned()),
            Err(_) => p.add(
                "decision_role",
                "invalid",
                "one of decision_maker, influencer, user, finance, gatekeeper",
            ),
        }
    }
    p.into_result()?;
    Ok(d)
}

impl App {
    // ---- customers ------------------------------------------------------------------------

    pub async fn list_customers(
        &self,
        actor: &Actor,
        filter: &CustomerFilter,
        page: PageRequest,
    ) -> AppResult<Page<Customer>> {
        actor.require(RecordKind::Customer, Action::View)?;
        // The pool is open to every rep: that is what a public pool is for.
        let reach = if filter.pool {
            Reach::All
        } else {
            self.reach(actor).await?
        };
        let rows = self.store.customers(&reach, filter, page).await?;
        Ok(Page::from_rows(rows, page, |c| c.id))
    }

    /// A customer the actor may see: in their scope, or unowned in the public pool.
    pub async fn get_customer(&self, actor: &Actor, id: i64) -> AppResult<Customer> {
        actor.require(RecordKind::Customer, Action::View)?;
        let reach = self.reach(actor).await?;
        let customer = match self.store.customer(&reach, id).await? {
            Some(c) => c,
            None => self
                .store
                .customer(&Reach::All, id)
                .await?
                .filter(|c| c.owner_id.is_none())
                .ok_or(AppError::NotFound)?,
        };
        Ok(customer)
    }

    /// Looks for customers that are probably the same company.
    pub async fn customer_duplicates(
        &self,
        actor: &Actor,
        data: &CustomerData,
        except: Option<i64>,
    ) -> AppResult<Vec<DuplicateHit>> {
        let reach = self.reach(actor).await?;
        let mut hits = self.store.customer_duplicates(&data.keys(), except).await?;
        for hit in &mut hits {
            // Names of customers outside the caller's scope stay confidential.
            if self
                .store
                .customer(&reach, hit.customer_id)
                .await?
                .is_none()
            {
                hit.name = None;
            }
        }
        Ok(hits)
    }

    /// Registers a customer owned by the actor. Probable duplicates are refused unless confirmed;
    /// a credit code may never be registered twice.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        data: CustomerData,
        allow_duplicate: bool,
    ) -> AppResult<Customer> {
        actor.require(RecordKind::Customer, Action::Create)?;
        let data = checked_customer(data)?;
        self.refuse_duplicates(actor, &data, None, allow_duplicate)
            .await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx
            .insert_customer(&data, Some((actor.user_id, actor.department_id)), now)
            .await?;
        if let Some(change) = CreditChange::between(created.id, None, &data, actor, None, now) {
            tx.record_credit_change(&change).await?;
        }
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Customer,
            created.id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn refuse_duplicates(
        &self,
        actor: &Actor,
        data: &CustomerData,
        except: Option<i64>,
        allow: bool,
    ) -> AppResult<()> {
        let hits = self.customer_duplicates(actor, data, except).await?;
        let mut p = Problems::default();
        for hit in &hits {
            if hit.matched_on == "credit_code" || !allow {
                let whose = hit
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n}, #{})", hit.customer_id))
                    .unwrap_or_default();
                p.add(
                    &hit.matched_on,
                    "duplicate",
                    format!("another customer has the same {}{whose}", hit.matched_on),
                );
            }
        }
        p.into_result()
    }

    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        data: CustomerData,
        allow_duplicate: bool,
    ) -> AppResult<Customer> {
        self.update_customer_with_reason(actor, id, version, data, allow_duplicate, None)
            .await
    }

    /// Updates a customer; a change of credit rating or limit is recorded with `credit_reason`.
    pub async fn update_customer_with_reason(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        data: CustomerData,
        allow_duplicate: bool,
        credit_reason: Option<String>,
    ) -> AppResult<Customer> {
        actor.require(RecordKind::Customer, Action::View)?;
        // Only customers in the editor's scope: pool customers are claimed first, then edited.
        let reach = self.reach(actor).await?;
        let before = self
            .store
            .customer(&reach, id)
            .await?
            .ok_or(AppError::NotFound)?;
        actor.require(RecordKind::Customer, Action::Edit)?;
        let data = checked_customer(data)?;
        let credit_reason = checked_credit_reason(credit_reason)?;
        self.refuse_duplicates(actor, &data, Some(id), allow_duplicate)
            .await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        // The credit before the change is read in the transaction; the version check makes it
        // exactly the state this update replaces.
        let current = tx.customer(id).await?.ok_or(AppError::NotFound)?;
        if current.version != version {
            return Err(crate::StoreError::Stale.into());
        }
        let after = tx.update_customer(id, version, &data, now).await?;
        let change =
            CreditChange::between(id, Some(&current.data), &data, actor, credit_reason, now);
        if let Some(change) = change {
            tx.record_credit_change(&change).await?;
        }
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Customer,
            id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Takes an unowned customer from the public pool. Exactly one of many simultaneous claims
    /// wins, and a rep never owns more than the cap.
    pub async fn claim_customer(&self, actor: &Actor, id: i64) -> AppResult<Customer> {
        actor.require(RecordKind::Customer, Action::Edit)?;
        // Read before the transaction: a use case never waits for a second connection while
        // it holds one, or a burst of claims could exhaust the pool.
        let visible = self.get_customer(actor, id).await?;
        let (policy, _) = self.sales_policy().await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        // Serialises this rep's claims so two claims cannot both pass the cap.
        tx.lock_user(actor.user_id).await?;
        let before = tx.customer(id).await?.ok_or(AppError::NotFound)?;
        match before.owner_id {
            Some(owner) if owner == actor.user_id => {
                return Err(AppError::Conflict("you already own this customer".into()))
            }
            Some(_) if visible.owner_id.is_none() => {
                return Err(AppError::Conflict(
                    "someone claimed this customer first".into(),
                ))
            }
            Some(_) => return Err(AppError::Conflict("this customer has an owner".into())),
            None => {}
        }
        let cap = policy.pool.ownership_cap;
        if tx.owned_customers(actor.user_id).await? >= cap {
            return Err(AppError::Conflict(format!(
                "you already own {cap} customers, the most one rep may hold"
            )));
        }
        let after = tx
            .assign_customer(id, Some((actor.user_id, actor.department_id)), true, now)
            .await?
            .ok_or_else(|| AppError::Conflict("someone claimed this customer first".into()))?;
        let mut entry =
            NewAuditEntry::updated(actor, RecordKind::Customer, id, &before, &after, now);
        entry.action = "claim";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Returns an owned customer to the public pool.
    pub async fn release_customer(&self, actor: &Actor, id: i64) -> AppResult<Customer> {
        let before = self.get_customer(actor, id).await?;
        actor.require(RecordKind::Customer, Action::Edit)?;
        if before.owner_id.is_none() {
            return Err(AppError::Conflict(
                "this customer is already in the pool".into(),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx
            .assign_customer(id, None, false, now)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut entry =
            NewAuditEntry::updated(actor, RecordKind::Customer, id, &before, &after, now);
        entry.action = "release";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Hands every customer and open opportunity of one rep to another in one audited step
    /// (a rep leaving); won and lost deals stay with the rep who closed them.
    pub async fn hand_over_customers(
        &self,
        actor: &Actor,
        from_user: i64,
        to_user: i64,
    ) -> AppResult<HandOverSummary> {
        actor.require(RecordKind::Customer, Action::Edit)?;
        actor.require(RecordKind::User, Action::View)?;
        let reach = self.reach(actor).await?;
        let from = self
            .store
            .user(&reach, from_user)
            .await?
            .ok_or_else(|| AppError::field("from_user_id", "not_found", "no such user"))?;
        let to = self
            .store
            .user(&reach, to_user)
            .await?
            .ok_or_else(|| AppError::field("to_user_id", "not_found", "no such user"))?;
        if from.id == to.id {
            return Err(AppError::field(
                "to_user_id",
                "same",
                "hand over to someone else",
            ));
        }
        if !to.active {
            return Err(AppError::field(
                "to_user_id",
                "inactive",
                "that user is disabled",
            ));
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let moved = HandOverSummary {
            customers: tx
                .transfer_customers(from.id, to.id, to.department_id, now)
                .await?,
            opportunities: tx
                .transfer_open_opportunities(from.id, to.id, to.department_id, now)
                .await?,
        };
        let entry = NewAuditEntry::new(actor, "hand_over", RecordKind::Customer, None, now)
            .with_after(&serde_json::json!({
                "from_user_id": from.id,
                "to_user_id": to.id,
                "customers": moved.customers,
                "opportunities": moved.opportunities,
            }));
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Merges customer `from` into `into` (LEAD-6): contacts, activities and converted leads move
    /// over, `from` is deleted; both must be in the actor's scope. One audited transaction.
    pub async fn merge_customers(
        &self,
        actor: &Actor,
        into: i64,
        from: i64,
    ) -> AppResult<Customer> {
        actor.require(RecordKind::Customer, Action::Edit)?;
        actor.require(RecordKind::Customer, Action::Delete)?;
        if into == from {
            return Err(AppError::field(
                "from_id",
                "same",
                "choose another customer to merge",
            ));
        }
        let reach = self.reach(actor).await?;
        let kept = self
            .store
            .customer(&reach, into)
            .await?
            .ok_or(AppError::NotFound)?;
        let absorbed = self
            .store
            .customer(&reach, from)
            .await?
            .ok_or_else(|| AppError::field("from_id", "not_found", "no such customer"))?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let kept_before = tx.customer(into).await?.ok_or(AppError::NotFound)?.data;
        tx.merge_customer(from, into, now).await?;
        // The kept customer takes the absorbed one's credit where it has none of its own.
        let mut credit = kept_before.clone();
        if credit.credit_rating.is_none() {
            credit.credit_rating = absorbed.data.credit_rating.clone();
        }
        if credit.credit_limit_minor == 0 {
            credit.credit_limit_minor = absorbed.data.credit_limit_minor;
        }
        let reason = Some(format!("merged with #{from} {}", absorbed.data.name));
        if let Some(change) =
            CreditChange::between(into, Some(&kept_before), &credit, actor, reason, now)
        {
            tx.set_customer_credit(
                into,
                credit.credit_rating.as_deref(),
                credit.credit_limit_minor,
                now,
            )
            .await?;
            tx.record_credit_change(&change).await?;
        }
        let mut entry = NewAuditEntry::deleted(actor, RecordKind::Customer, from, &absorbed, now);
        entry.action = "merge";
        entry = entry.with_after(&kept);
        tx.audit(&entry).await?;
        tx.commit().await?;
        self.store
            .customer(&Reach::All, into)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A customer's credit history, newest first; scoped like the customer itself.
    pub async fn credit_history(
        &self,
        actor: &Actor,
        customer_id: i64,
    ) -> AppResult<Vec<CreditChange>> {
        self.get_customer(actor, customer_id).await?;
        Ok(self.store.credit_history(customer_id).await?)
    }

    /// A customer with its tier and credit histories, for the 360° view: the customer's
    /// visibility is checked once for all three.
    pub async fn customer_with_histories(
        &self,
        actor: &Actor,
        customer_id: i64,
    ) -> AppResult<(Customer, Vec<crate::tiers::TierChange>, Vec<CreditChange>)> {
        let customer = self.get_customer(actor, customer_id).await?;
        let tiers = self.store.tier_history(customer_id).await?;
        let credit = self.store.credit_history(customer_id).await?;
        Ok((customer, tiers, credit))
    }

    // ---- contacts -------------------------------------------------------------------------

    pub async fn list_contacts(
        &self,
        actor: &Actor,
        customer_id: Option<i64>,
        page: PageRequest,
    ) -> AppResult<Page<Contact>> {
        actor.require(RecordKind::Contact, Action::View)?;
        let reach = self.reach(actor).await?;
        let rows = self.store.contacts(&reach, customer_id, page).await?;
        Ok(Page::from_rows(rows, page, |c| c.id))
    }

    pub async fn get_contact(&self, actor: &Actor, id: i64) -> AppResult<Contact> {
        actor.require(RecordKind::Contact, Action::View)?;
        let reach = self.reach(actor).await?;
        self.store
            .contact(&reach, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn create_contact(
        &self,
        actor: &Actor,
        customer_id: i64,
        data: ContactData,
    ) -> AppResult<Contact> {
        actor.require(RecordKind::Contact, Action::Create)?;
        let reach = self.reach(actor).await?;
        if self.store.customer(&reach, customer_id).await?.is_none() {
            return Err(AppError::field(
                "customer_id",
                "not_found",
                "no such customer",
            ));
        }
        let data = checked_contact(data)?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let created = tx.insert_contact(customer_id, &data, now).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Contact,
            created.id,
            &created,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        data: ContactData,
    ) -> AppResult<Contact> {
        let before = self.get_contact(actor, id).await?;
        actor.require(RecordKind::Contact, Action::Edit)?;
        let data = checked_contact(data)?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let after = tx.update_contact(id, version, &data, now).await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Contact,
            id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---- search ---------------------------------------------------------------------------

    /// One box over customers, contacts and leads by name, phone or e-mail, within the caller's scope.
    pub async fn search(&self, actor: &Actor, q: &str) -> AppResult<Vec<SearchHit>> {
        let q = q.trim();
        if q.chars().count() < 2 || q.chars().count() > 100 {
            return Err(AppError::field(
                "q",
                "length",
                "search for 2 to 100 characters",
            ));
        }
        let kinds: Vec<SearchKind> = [
            (RecordKind::Customer, SearchKind::Customer),
            (RecordKind::Contact, SearchKind::Contact),
            (RecordKind::Lead, SearchKind::Lead),
        ]
        .into_iter()
        .filter(|(record, _)| actor.can(*record, Action::View))
        .map(|(_, kind)| kind)
        .collect();
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let reach = self.reach(actor).await?;
        Ok(self.store.search(&reach, &kinds, q, 20).await?)
    }
}
