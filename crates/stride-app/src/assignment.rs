//! Assigning leads by rule (LEAD-5): the first rule, by priority, whose region and industry
//! match the lead names a team; within it, the active rep whose last assignment is oldest gets
//! the lead (round-robin that needs no counter, so every server agrees).

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::validate;

use crate::actor::{Actor, Reach};
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult, Problems};
use crate::leads::Lead;
use crate::App;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentRule {
    pub id: i64,
    /// Lower runs first.
    pub priority: i64,
    /// Matches when the lead's region contains this text (empty: any region).
    pub region: Option<String>,
    /// Matches when the lead's industry contains this text (empty: any industry).
    pub industry: Option<String>,
    pub department_id: i64,
}

impl AssignmentRule {
    fn matches(&self, lead: &Lead) -> bool {
        let fits = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have
                .as_deref()
                .is_some_and(|h| h.to_lowercase().contains(&w.to_lowercase())),
        };
        fits(&self.region, &lead.data.region) && fits(&self.industry, &lead.data.industry)
    }
}

impl App {
    pub async fn assignment_rules(&self, actor: &Actor) -> AppResult<Vec<AssignmentRule>> {
        actor.require(RecordKind::Lead, Action::View)?;
        Ok(self.store.assignment_rules().await?)
    }

    /// Adds a rule; managing rules is a settings right.
    pub async fn add_assignment_rule(
        &self,
        actor: &Actor,
        priority: i64,
        region: Option<String>,
        industry: Option<String>,
        department_id: i64,
    ) -> AppResult<AssignmentRule> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        let mut p = Problems::default();
        let clean = |v: Option<String>| v.and_then(|s| validate::required_text(&s, 100));
        let (region, industry) = (clean(region), clean(industry));
        if self
            .store
            .department(&Reach::All, department_id)
            .await?
            .is_none()
        {
            p.add(
                "department_id",
                "not_found",
                "the department does not exist",
            );
        }
        p.check(
            (0..=10_000).contains(&priority),
            "priority",
            "out_of_range",
            "0 to 10000",
        );
        p.into_result()?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let rule = tx
            .insert_assignment_rule(
                priority,
                region.as_deref(),
                industry.as_deref(),
                department_id,
                now,
            )
            .await?;
        tx.audit(
            &NewAuditEntry::new(actor, "create_rule", RecordKind::Lead, None, now)
                .with_after(&rule),
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    pub async fn remove_assignment_rule(&self, actor: &Actor, id: i64) -> AppResult<()> {
        actor.require(RecordKind::Settings, Action::Edit)?;
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let rule = tx
            .delete_assignment_rule(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let entry = NewAuditEntry::new(actor, "delete_rule", RecordKind::Lead, None, now)
            .with_before(&rule);
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Assigns a lead by the rules; without a matching rule, within the lead's own department.
    pub async fn auto_assign_lead(&self, actor: &Actor, id: i64, version: i64) -> AppResult<Lead> {
        let lead = self.get_lead(actor, id).await?;
        let rules = self.store.assignment_rules().await?;
        let department = rules
            .iter()
            .find(|r| r.matches(&lead))
            .map(|r| r.department_id)
            .or(lead.department_id)
            .ok_or_else(|| {
                AppError::Conflict("no rule matches and the lead has no department".into())
            })?;
        let rep =
            self.store.next_rep_in(department).await?.ok_or_else(|| {
                AppError::Conflict("that team has no active rep to assign to".into())
            })?;
        self.assign_lead(actor, id, version, rep).await
    }
}
