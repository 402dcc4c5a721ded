//! Leads (LEAD-1…LEAD-8): capture, A/B/C grading with response clocks, assignment, the first
//! contact, conversion into a customer with its contact, or disqualification. Activities
//! (ACT-1, ACT-2) are recorded against leads and customers.

use jiff::Timestamp;
use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::leads::{
    GradingRules, LeadGrade, LeadSource, LeadStatus, Qualification, ResponsePolicy,
};
use stride_domain::validate;

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::customers::{ContactData, Customer, CustomerData};
use crate::error::{AppError, AppResult, Problems};
use crate::opportunities::Opportunity;
use crate::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeadData {
    pub company: String,
    pub contact_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// website, exhibition, referral, partner, social_media, cold_call, campaign or other.
    pub source: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub size: Option<String>,
    /// 统一社会信用代码, validated with its check digit; carried into the customer.
    pub credit_code: Option<String>,
    pub need: Option<String>,
    pub budget: Option<String>,
    pub explicit_need: bool,
    pub budget_known: bool,
    pub decision_chain_known: bool,
    pub notes: Option<String>,
}

impl LeadData {
    /// The customer this lead would become, as far as duplicate detection compares it.
    pub fn as_customer(&self) -> CustomerData {
        CustomerData {
            name: self.company.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            credit_code: self.credit_code.clone(),
            ..Default::default()
        }
    }

    fn qualification(&self) -> Qualification {
        Qualification {
            explicit_need: self.explicit_need,
            budget_known: self.budget_known,
            decision_chain_known: self.decision_chain_known,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lead {
    pub id: i64,
    #[serde(flatten)]
    pub data: LeadData,
    pub grade: String,
    pub status: String,
    pub owner_id: Option<i64>,
    pub department_id: Option<i64>,
    pub assigned_at_ms: Option<i64>,
    pub response_due_at_ms: Option<i64>,
    pub first_contact_at_ms: Option<i64>,
    pub next_nurture_at_ms: Option<i64>,
    pub disqualify_reason: Option<String>,
    pub customer_id: Option<i64>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Lead {
    /// The lead as the store holds it right after inserting `data` and `state` under `id`
    /// at `now_ms`: the first version, created and updated then.
    pub fn inserted(id: i64, data: LeadData, state: LeadState, now_ms: i64) -> Self {
        Self {
            id,
            data,
            grade: state.grade.as_str().to_owned(),
            status: state.status.as_str().to_owned(),
            owner_id: state.owner_id,
            department_id: state.department_id,
            assigned_at_ms: state.assigned_at_ms,
            response_due_at_ms: state.response_due_at_ms,
            first_contact_at_ms: state.first_contact_at_ms,
            next_nurture_at_ms: state.next_nurture_at_ms,
            disqualify_reason: state.disqualify_reason,
            customer_id: state.customer_id,
            version: 1,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }

    /// Past its response clock with no first contact in time (LEAD-4).
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        let ts = |ms: Option<i64>| ms.and_then(|m| Timestamp::from_millisecond(m).ok());
        stride_domain::leads::is_overdue(
            ts(self.response_due_at_ms),
            ts(self.first_contact_at_ms),
            Timestamp::from_millisecond(now_ms).unwrap_or_default(),
        ) && !self
            .status
            .parse::<LeadStatus>()
            .is_ok_and(LeadStatus::is_final)
    }
}

/// What the store writes when a lead's grade, owner or clocks change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadState {
    pub grade: LeadGrade,
    pub status: LeadStatus,
    pub owner_id: Option<i64>,
    /// The owner's department, or the queue's for a lead nobody owns yet.
    pub department_id: Option<i64>,
    pub assigned_at_ms: Option<i64>,
    pub response_due_at_ms: Option<i64>,
    pub first_contact_at_ms: Option<i64>,
    pub next_nurture_at_ms: Option<i64>,
    pub disqualify_reason: Option<String>,
    pub customer_id: Option<i64>,
}

impl LeadState {
    fn of(lead: &Lead) -> AppResult<Self> {
        let bad =
            |what: &str| AppError::Internal(format!("stored lead {} has a bad {what}", lead.id));
        Ok(Self {
            grade: lead.grade.parse().map_err(|_| bad("grade"))?,
            status: lead.status.parse().map_err(|_| bad("status"))?,
            owner_id: lead.owner_id,
            department_id: lead.department_id,
            assigned_at_ms: lead.assigned_at_ms,
            response_due_at_ms: lead.response_due_at_ms,
            first_contact_at_ms: lead.first_contact_at_ms,
            next_nurture_at_ms: lead.next_nurture_at_ms,
            disqualify_reason: lead.disqualify_reason.clone(),
            customer_id: lead.customer_id,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<String>,
    pub grade: Option<String>,
    pub owner_id: Option<i64>,
    /// Only leads past their response clock without a first contact.
    pub overdue_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivityData {
    /// call, email, visit, meeting, wechat, note or first_contact.
    pub kind: String,
    pub summary: String,
    pub interest_points: Option<String>,
    pub pain_points: Option<String>,
    pub next_step: Option<String>,
    pub occurred_at_ms: i64,
    pub next_follow_up_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub id: i64,
    pub lead_id: Option<i64>,
    pub customer_id: Option<i64>,
    #[serde(flatten)]
    pub data: ActivityData,
    pub owner_id: i64,
    pub created_at_ms: i64,
}

/// A follow-up on the agenda with the name of its customer or lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaItem {
    #[serde(flatten)]
    pub activity: Activity,
    /// The customer's name or the lead's company; `None` when the viewer may not see it.
    pub record_name: Option<String>,
}

pub const ACTIVITY_KINDS: [&str; 7] = [
    "call",
    "email",
    "visit",
    "meeting",
    "wechat",
    "note",
    "first_contact",
];

pub(crate) fn checked_lead(mut d: LeadData) -> AppResult<LeadData> {
    let mut p = Problems::default();
    match validate::required_text(&d.company, 200) {
        Some(c) => d.company = c,
        None => p.add(
            "company",
            "required",
            "the company is required (at most 200 characters)",
        ),
    }
    match d.source.trim().parse::<LeadSource>() {
        Ok(s) => d.source = s.as_str().to_owned(),
        Err(_) => p.add("source", "invalid", "one of website, exhibition, referral, partner, social_media, cold_call, campaign, other"),
    }
    for (field, value, max) in [
        ("contact_name", &mut d.contact_name, 100),
        ("title", &mut d.title, 100),
        ("phone", &mut d.phone, 50),
        ("email", &mut d.email, 254),
        ("industry", &mut d.industry, 100),
        ("region", &mut d.region, 100),
        ("size", &mut d.size, 50),
        ("need", &mut d.need, 4000),
        ("budget", &mut d.budget, 200),
        ("notes", &mut d.notes, 4000),
    ] {
        p.optional_text(value, field, max);
    }
    p.contact_points(d.email.as_deref(), d.phone.as_deref());
    p.credit_code(&mut d.credit_code);
    p.check(
        d.phone.is_some() || d.email.is_some() || d.contact_name.is_some(),
        "contact_name",
        "required",
        "give a contact name, phone or e-mail",
    );
    p.into_result()?;
    Ok(d)
}

fn checked_activity(mut d: ActivityData, now_ms: i64) -> AppResult<ActivityData> {
    let mut p = Problems::default();
    p.check(
        ACTIVITY_KINDS.contains(&d.kind.as_str()),
        "kind",
        "invalid",
        "one of call, email, visit, meeting, wechat, note, first_contact",
    );
    match validate::required_text(&d.summary, 4000) {
        Some(s) => d.summary = s,
        None => p.add(
            "summary",
            "required",
            "say what happened (at most 4000 characters)",
        ),
    }
    for (field, value) in [
        ("interest_points", &mut d.interest_points),
        ("pain_points", &mut d.pain_points),
        ("next_step", &mut d.next_step),
    ] {
        p.optional_text(value, field, 2000);
    }
    p.check(
        d.occurred_at_ms <= now_ms + 60_000,
        "occurred_at",
        "future",
        "an activity cannot have happened in the future",
    );
    if let Some(next) = d.next_follow_up_at_ms {
        p.check(
            next >= d.occurred_at_ms,
            "next_follow_up_at",
            "before",
            "the next follow-up is before the activity",
        );
    }
    p.into_result()?;
    Ok(d)
}

/// Clocks for a lead of `grade` assigned at `now`: A and B must be answered in time, C goes to nurture.
fn clocks(policy: &ResponsePolicy, grade: LeadGrade, now_ms: i64, state: &mut LeadState) {
    let now = Timestamp::from_millisecond(now_ms).unwrap_or_default();
    state.assigned_at_ms = Some(now_ms);
    state.response_due_at_ms = policy.response_due(grade, now).map(|t| t.as_millisecond());
    state.next_nurture_at_ms =
        (grade == LeadGrade::C).then(|| policy.next_nurture(now).as_millisecond());
    if grade == LeadGrade::C && state.status == LeadStatus::New {
        state.status = LeadStatus::Nurturing;
    }
}

/// A new lead owned by the actor: graded by the rules, its response clock started.
pub(crate) fn new_lead_state(
    rules: &GradingRules,
    policy: &ResponsePolicy,
    actor: &Actor,
    data: &LeadData,
    now_ms: i64,
) -> LeadState {
    let grade = rules.grade(&data.qualification());
    let mut state = LeadState {
        grade,
        status: LeadStatus::New,
        owner_id: Some(actor.user_id),
        department_id: Some(actor.department_id),
        assigned_at_ms: None,
        response_due_at_ms: None,
        first_contact_at_ms: None,
        next_nurture_at_ms: None,
        disqualify_reason: None,
        customer_id: None,
    };
    clocks(policy, grade, now_ms, &mut state);
    state
}

impl App {
    /// The grading rules and response clocks of the organisation's sales policy.
    pub(crate) async fn grading(&self) -> AppResult<(GradingRules, ResponsePolicy)> {
        let (policy, _) = self.sales_policy().await?;
        Ok((policy.grading, policy.response))
    }

    pub async fn list_leads(
        &self,
        actor: &Actor,
        filter: &LeadFilter,
        page: PageRequest,
    ) -> AppResult<Page<Lead>> {
        actor.require(RecordKind::Lead, Action::View)?;
        let reach = self.reach(actor).await?;
        let rows = self.store.leads(&reach, filter, page).await?;
        Ok(Page::from_rows(rows, page, |l| l.id))
    }

    pub async fn get_lead(&self, actor: &Actor, id: i64) -> AppResult<Lead> {
        actor.require(RecordKind::Lead, Action::View)?;
        let reach = self.reach(actor).await?;
        self.store.lead(&reach, id).await?.ok_or(AppError::NotFound)
    }

    /// Captures a lead owned by the actor, graded by the rules, its response clock started.
    pub async fn create_lead(
        &self,
        actor: &Actor,
        data: LeadData,
        allow_duplicate: bool,
    ) -> AppResult<Lead> {
        actor.require(RecordKind::Lead, Action::Create)?;
        let data = self.checked_new_lead(actor, data, allow_duplicate).await?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let lead = self.insert_new_lead(&mut *tx, actor, &data, now).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Validates a new lead and, unless allowed, refuses probable duplicates.
    pub(crate) async fn checked_new_lead(
        &self,
        actor: &Actor,
        data: LeadData,
        allow_duplicate: bool,
    ) -> AppResult<LeadData> {
        let data = checked_lead(data)?;
        if !allow_duplicate {
            self.refuse_lead_duplicates(actor, &data, None).await?;
        }
        Ok(data)
    }

    /// Writes a checked lead owned by the actor: graded by the rules, its clock started, audited.
    pub(crate) async fn insert_new_lead(
        &self,
        tx: &mut dyn crate::Tx,
        actor: &Actor,
        data: &LeadData,
        now: i64,
    ) -> AppResult<Lead> {
        let (rules, policy) = self.grading().await?;
        let state = new_lead_state(&rules, &policy, actor, data, now);
        let lead = tx.insert_lead(data, &state, now).await?;
        tx.record_lead_grade(
            lead.id,
            state.grade.as_str(),
            true,
            Some(actor.user_id),
            now,
        )
        .await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Lead,
            lead.id,
            &lead,
            now,
        ))
        .await?;
        Ok(lead)
    }

    async fn refuse_lead_duplicates(
        &self,
        actor: &Actor,
        data: &LeadData,
        except: Option<i64>,
    ) -> AppResult<()> {
        let as_customer = data.as_customer();
        let keys = as_customer.keys();
        let mut p = Problems::default();
        for hit in self.customer_duplicates(actor, &as_customer, None).await? {
            let field = if hit.matched_on == "name" {
                "company"
            } else {
                hit.matched_on.as_str()
            };
            p.add(
                field,
                "duplicate",
                format!("a customer has the same {}", hit.matched_on),
            );
        }
        for (id, field) in self.store.lead_duplicates(&keys, except).await? {
            let field = if field == "name" {
                "company".to_owned()
            } else {
                field
            };
            p.add(
                &field,
                "duplicate",
                format!("lead #{id} has the same {field}"),
            );
        }
        p.into_result()
    }

    /// Edits a lead's details; a change of need, budget or decision chain regrades it.
    pub async fn update_lead(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        data: LeadData,
    ) -> AppResult<Lead> {
        let before = self.get_lead(actor, id).await?;
        actor.require(RecordKind::Lead, Action::Edit)?;
        let data = checked_lead(data)?;
        let mut state = LeadState::of(&before)?;
        if state.status.is_final() {
            return Err(AppError::Conflict(format!(
                "the lead is {}",
                state.status.as_str()
            )));
        }
        let (rules, _) = self.grading().await?;
        let regraded = rules.grade(&data.qualification());
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        if data.qualification() != before.data.qualification() && regraded != state.grade {
            state.grade = regraded;
            tx.record_lead_grade(id, regraded.as_str(), true, Some(actor.user_id), now)
                .await?;
        }
        let after = tx.update_lead(id, version, &data, &state, now).await?;
        tx.audit(&NewAuditEntry::updated(
            actor,
            RecordKind::Lead,
            id,
            &before,
            &after,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Changes a lead's state through one of its actions, audited as `action`.
    async fn lead_action(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        action: &'static str,
        change: impl FnOnce(&mut LeadState) -> AppResult<()>,
    ) -> AppResult<Lead> {
        let before = self.get_lead(actor, id).await?;
        actor.require(RecordKind::Lead, Action::Edit)?;
        let mut state = LeadState::of(&before)?;
        change(&mut state)?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        if state.grade.as_str() != before.grade {
            tx.record_lead_grade(id, state.grade.as_str(), false, Some(actor.user_id), now)
                .await?;
        }
        let after = tx.update_lead_state(id, version, &state, now).await?;
        let mut entry = NewAuditEntry::updated(actor, RecordKind::Lead, id, &before, &after, now);
        entry.action = action;
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Grades by hand, overriding the rules; the clock restarts for the new grade.
    pub async fn grade_lead(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        grade: LeadGrade,
    ) -> AppResult<Lead> {
        let now = self.now_ms();
        let (_, policy) = self.grading().await?;
        self.lead_action(actor, id, version, "grade", |s| {
            if s.status.is_final() {
                return Err(AppError::Conflict("the lead is closed".into()));
            }
            s.grade = grade;
            clocks(&policy, grade, now, s);
            Ok(())
        })
        .await
    }

    /// Gives a lead to another user in the actor's scope; the response clock restarts.
    pub async fn assign_lead(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        to_user: i64,
    ) -> AppResult<Lead> {
        let reach = self.reach(actor).await?;
        let to = self
            .store
            .user(&reach, to_user)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| {
                AppError::field("owner_id", "not_found", "no such active user in your scope")
            })?;
        let now = self.now_ms();
        let (_, policy) = self.grading().await?;
        self.lead_action(actor, id, version, "assign", |s| {
            if s.status.is_final() {
                return Err(AppError::Conflict("the lead is closed".into()));
            }
            s.owner_id = Some(to.id);
            s.department_id = Some(to.department_id);
            clocks(&policy, s.grade, now, s);
            Ok(())
        })
        .await
    }

    pub async fn disqualify_lead(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        reason: &str,
    ) -> AppResult<Lead> {
        let reason = validate::required_text(reason, 500).ok_or_else(|| {
            AppError::field("reason", "required", "say why (at most 500 characters)")
        })?;
        self.lead_action(actor, id, version, "disqualify", |s| {
            if !s.status.can_become(LeadStatus::Disqualified) {
                return Err(AppError::Conflict(format!(
                    "a {} lead cannot be disqualified",
                    s.status.as_str()
                )));
            }
            s.status = LeadStatus::Disqualified;
            s.disqualify_reason = Some(reason);
            Ok(())
        })
        .await
    }

    /// Records the first contact (LEAD-7): an activity, the clock stopped, the lead contacted.
    pub async fn record_first_contact(
        &self,
        actor: &Actor,
        id: i64,
        data: ActivityData,
    ) -> AppResult<(Lead, Activity)> {
        let before = self.get_lead(actor, id).await?;
        actor.require(RecordKind::Activity, Action::Create)?;
        let now = self.now_ms();
        let data = checked_activity(
            ActivityData {
                kind: "first_contact".into(),
                ..data
            },
            now,
        )?;
        let mut state = LeadState::of(&before)?;
        if state.status.is_final() {
            return Err(AppError::Conflict("the lead is closed".into()));
        }
        state.first_contact_at_ms = Some(state.first_contact_at_ms.unwrap_or(data.occurred_at_ms));
        if state.status == LeadStatus::New {
            state.status = LeadStatus::Contacted;
        }
        let mut tx = self.store.begin().await?;
        let activity = tx
            .insert_activity(
                Some(id),
                None,
                &data,
                actor.user_id,
                before.department_id,
                now,
            )
            .await?;
        let after = tx
            .update_lead_state(id, before.version, &state, now)
            .await?;
        let mut entry = NewAuditEntry::updated(actor, RecordKind::Lead, id, &before, &after, now);
        entry.action = "first_contact";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok((after, activity))
    }

    /// Converts a lead into a customer owned by the lead's owner, with its contact and an
    /// opportunity at first contact owned by the converting rep, in one step (LEAD-8).
    pub async fn convert_lead(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
    ) -> AppResult<(Lead, Customer, Opportunity)> {
        let before = self.get_lead(actor, id).await?;
        actor.require(RecordKind::Lead, Action::Edit)?;
        actor.require(RecordKind::Customer, Action::Create)?;
        actor.require(RecordKind::Opportunity, Action::Create)?;
        let mut state = LeadState::of(&before)?;
        if !state.status.can_become(LeadStatus::Converted) {
            return Err(AppError::Conflict(format!(
                "a {} lead cannot be converted; record the first contact first",
                state.status.as_str()
            )));
        }
        let customer_data = CustomerData {
            name: before.data.company.clone(),
            industry: before.data.industry.clone(),
            size: before.data.size.clone(),
            region: before.data.region.clone(),
            credit_code: before.data.credit_code.clone(),
            phone: before.data.phone.clone(),
            email: before.data.email.clone(),
            needs: before.data.need.clone(),
            ..Default::default()
        };
        // A credit code names one company: it may belong to one customer only.
        if let Some(hit) = self
            .customer_duplicates(actor, &customer_data, None)
            .await?
            .into_iter()
            .find(|h| h.matched_on == "credit_code")
        {
            return Err(AppError::field(
                "credit_code",
                "duplicate",
                format!(
                    "customer #{} already has this credit code; correct the lead's code first",
                    hit.customer_id
                ),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let owner = state.owner_id.zip(state.department_id);
        let customer = tx.insert_customer(&customer_data, owner, now).await?;
        if let Some(name) = before.data.contact_name.clone() {
            let contact = ContactData {
                name,
                title: before.data.title.clone(),
                phone: before.data.phone.clone(),
                email: before.data.email.clone(),
                ..Default::default()
            };
            let created = tx.insert_contact(customer.id, &contact, now).await?;
            tx.audit(&NewAuditEntry::created(
                actor,
                RecordKind::Contact,
                created.id,
                &created,
                now,
            ))
            .await?;
        }
        tx.move_lead_activities(id, customer.id).await?;
        let opportunity = self
            .insert_converted_opportunity(
                &mut *tx,
                actor,
                owner,
                id,
                customer.id,
                &before.data.company,
                now,
            )
            .await?;
        state.status = LeadStatus::Converted;
        state.customer_id = Some(customer.id);
        let after = tx.update_lead_state(id, version, &state, now).await?;
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Customer,
            customer.id,
            &customer,
            now,
        ))
        .await?;
        let mut entry = NewAuditEntry::updated(actor, RecordKind::Lead, id, &before, &after, now);
        entry.action = "convert";
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok((after, customer, opportunity))
    }

    // ---- activities -----------------------------------------------------------------------

    /// Records a follow-up against a lead or a customer the actor may see.
    pub async fn record_activity(
        &self,
        actor: &Actor,
        lead_id: Option<i64>,
        customer_id: Option<i64>,
        data: ActivityData,
    ) -> AppResult<Activity> {
        actor.require(RecordKind::Activity, Action::Create)?;
        let department = match (lead_id, customer_id) {
            (Some(l), None) => {
                self.get_lead(actor, l)
                    .await
                    .map_err(|_| AppError::field("lead_id", "not_found", "no such lead"))?
                    .department_id
            }
            (None, Some(c)) => {
                let reach = self.reach(actor).await?;
                self.store
                    .customer(&reach, c)
                    .await?
                    .ok_or_else(|| AppError::field("customer_id", "not_found", "no such customer"))?
                    .department_id
            }
            _ => {
                return Err(AppError::field(
                    "customer_id",
                    "required",
                    "give exactly one of lead_id and customer_id",
                ))
            }
        };
        let now = self.now_ms();
        let data = checked_activity(data, now)?;
        let mut tx = self.store.begin().await?;
        let activity = tx
            .insert_activity(lead_id, customer_id, &data, actor.user_id, department, now)
            .await?;
        if let Some(c) = customer_id {
            tx.touch_customer(c, data.occurred_at_ms, data.next_follow_up_at_ms)
                .await?;
        }
        tx.audit(&NewAuditEntry::created(
            actor,
            RecordKind::Activity,
            activity.id,
            &activity,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(activity)
    }

    pub async fn list_activities(
        &self,
        actor: &Actor,
        lead_id: Option<i64>,
        customer_id: Option<i64>,
        page: PageRequest,
    ) -> AppResult<Page<Activity>> {
        actor.require(RecordKind::Activity, Action::View)?;
        let reach = self.reach(actor).await?;
        let rows = self
            .store
            .activities(&reach, lead_id, customer_id, page)
            .await?;
        Ok(Page::from_rows(rows, page, |a| a.id))
    }

    /// The actor's follow-ups between two times, earliest first (the calendar view).
    pub async fn follow_ups(
        &self,
        actor: &Actor,
        from_ms: i64,
        to_ms: i64,
    ) -> AppResult<Vec<Activity>> {
        actor.require(RecordKind::Activity, Action::View)?;
        Ok(self.store.follow_ups(actor.user_id, from_ms, to_ms).await?)
    }

    /// The actor's follow-ups due by the end of today in their time zone, overdue first (ACT-2),
    /// only the latest of each customer or lead, with its name as far as the actor may see it.
    pub async fn agenda(&self, actor: &Actor) -> AppResult<Vec<AgendaItem>> {
        actor.require(RecordKind::Activity, Action::View)?;
        let tz = jiff::tz::TimeZone::get(&actor.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let now = Timestamp::from_millisecond(self.now_ms())
            .unwrap_or_default()
            .to_zoned(tz);
        let end_of_day = now
            .date()
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(now.time_zone().clone()).ok())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(i64::MAX);
        // The same names `get_customer` and `get_lead` would show: in scope, or (customers) in
        // the public pool.
        let reach = self.reach(actor).await?;
        let visible = |kind| actor.require(kind, Action::View).is_ok().then_some(&reach);
        Ok(self
            .store
            .agenda(
                actor.user_id,
                end_of_day,
                visible(RecordKind::Customer),
                visible(RecordKind::Lead),
            )
            .await?)
    }
}

/// A lead sent through the public web form: no account behind it, so only the essentials.
#[derive(Debug, Clone, Default)]
pub struct PublicLead {
    pub company: String,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub need: Option<String>,
    /// A field people never see; anything in it marks a robot.
    pub honeypot: Option<String>,
}

/// Public submissions per client address inside the window.
const PUBLIC_FORM_LIMIT: i64 = 5;
const PUBLIC_FORM_WINDOW_MS: i64 = 10 * 60 * 1000;

impl App {
    /// Takes a lead from the public web form into the configured department's queue, unowned
    /// until a supervisor assigns it. Throttled per client address; robots are dropped quietly.
    pub async fn submit_public_lead(&self, form: PublicLead, client_ip: &str) -> AppResult<()> {
        let settings = self.store.org_settings().await?;
        let Some(department) = settings.lead_form_department_id else {
            return Err(AppError::NotFound);
        };
        let now = self.now_ms();
        let key = format!("lead_form:{client_ip}");
        self.throttle(&key, PUBLIC_FORM_LIMIT, PUBLIC_FORM_WINDOW_MS, now)
            .await?;
        self.store
            .record_throttle_hits(std::slice::from_ref(&key), now)
            .await?;
        if form.honeypot.is_some_and(|h| !h.trim().is_empty()) {
            tracing::info!(client_ip, "public lead form: honeypot filled, dropped");
            return Ok(());
        }
        let data = checked_lead(LeadData {
            explicit_need: form.need.as_deref().is_some_and(|n| !n.trim().is_empty()),
            company: form.company,
            contact_name: form.contact_name,
            phone: form.phone,
            email: form.email,
            need: form.need,
            source: "website".into(),
            ..Default::default()
        })?;
        let (rules, _) = self.grading().await?;
        let grade = rules.grade(&data.qualification());
        let state = LeadState {
            grade,
            status: LeadStatus::New,
            owner_id: None,
            department_id: Some(department),
            assigned_at_ms: None,
            response_due_at_ms: None,
            first_contact_at_ms: None,
            next_nurture_at_ms: None,
            disqualify_reason: None,
            customer_id: None,
        };
        let system = self.system_actor().await?;
        let mut tx = self.store.begin().await?;
        let lead = tx.insert_lead(&data, &state, now).await?;
        tx.record_lead_grade(lead.id, grade.as_str(), true, None, now)
            .await?;
        tx.audit(&NewAuditEntry::created(
            &system,
            RecordKind::Lead,
            lead.id,
            &lead,
            now,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
