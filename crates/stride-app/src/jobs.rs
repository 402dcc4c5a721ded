//! Work the server does on its own clock (LEAD-4, CUST-4): escalating leads past their response
//! clock to the supervisor's inbox, warning owners before a quiet customer returns to the public
//! pool, and returning it; once a month, re-tiering customers. Every item is claimed by a
//! conditional update inside its batch's transaction, so when several servers share one
//! database each item is handled exactly once.

use serde::Serialize;
use stride_domain::access::RecordKind;
use stride_domain::customers::CustomerTier;

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};
use crate::ports::Tx;
use crate::settings::SalesPolicy;
use crate::App;

const DAY_MS: i64 = 86_400_000;

/// A message in a user's in-app inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    /// lead_overdue, nurture_due, pool_warning or returned_to_pool.
    pub kind: String,
    pub record_kind: String,
    pub record_id: i64,
    /// The record's name, for the inbox line.
    pub subject: String,
    pub created_at_ms: i64,
    pub read_at_ms: Option<i64>,
}

/// A notification about to be written with the change that causes it.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: i64,
    pub kind: &'static str,
    pub record_kind: &'static str,
    pub record_id: i64,
    pub subject: String,
}

/// What one run of the jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    pub leads_escalated: usize,
    pub pool_warnings: usize,
    pub returned_to_pool: usize,
    /// C-grade leads whose nurture date came: their owner is reminded and the next date set.
    pub nurture_reminders: usize,
    /// Customers whose tier changed in this month's re-evaluation.
    pub customers_retiered: usize,
    /// Approvers reminded of a task that has waited a day.
    pub approval_reminders: usize,
    /// Signed contracts flagged because their scan was not archived in time.
    pub late_archives: usize,
    /// Needs analysis reports past their send deadline and unsent, flagged to their owner.
    pub late_needs_analyses: usize,
}

impl JobReport {
    /// Everything the run handled.
    pub fn items(&self) -> usize {
        self.leads_escalated
            + self.pool_warnings
            + self.returned_to_pool
            + self.nurture_reminders
            + self.customers_retiered
            + self.approval_reminders
            + self.late_archives
            + self.late_needs_analyses
    }

    /// The count a part's batches add to.
    fn count_of(&mut self, part: JobPart) -> &mut usize {
        match part {
            JobPart::EscalateLeads => &mut self.leads_escalated,
            JobPart::NurtureReminders => &mut self.nurture_reminders,
            JobPart::PoolWarnings(_) => &mut self.pool_warnings,
            JobPart::PoolReturns(_) => &mut self.returned_to_pool,
            JobPart::ApprovalReminders => &mut self.approval_reminders,
            JobPart::LateArchives => &mut self.late_archives,
            JobPart::LateNeedsAnalyses => &mut self.late_needs_analyses,
        }
    }
}

impl std::ops::AddAssign for JobReport {
    fn add_assign(&mut self, run: JobReport) {
        self.leads_escalated += run.leads_escalated;
        self.pool_warnings += run.pool_warnings;
        self.returned_to_pool += run.returned_to_pool;
        self.nurture_reminders += run.nurture_reminders;
        self.customers_retiered += run.customers_retiered;
        self.approval_reminders += run.approval_reminders;
        self.late_archives += run.late_archives;
        self.late_needs_analyses += run.late_needs_analyses;
    }
}

/// Items one batch of a job claims. Every batch is a transaction of its own, so SQLite's other
/// writers wait for one batch (a few hundred statements), never for a whole run — a run that
/// catches up after a bulk load or an outage may find thousands of items.
pub const JOB_BATCH: i64 = 100;

/// Batches of one job part in one run at most; the next run goes on where it stopped.
const MAX_BATCHES_PER_RUN: usize = 100;

/// The parts of a run, in the order they run.
#[derive(Debug, Clone, Copy)]
enum JobPart {
    EscalateLeads,
    NurtureReminders,
    PoolWarnings(CustomerTier),
    PoolReturns(CustomerTier),
    ApprovalReminders,
    LateArchives,
    LateNeedsAnalyses,
}

impl JobPart {
    fn all() -> Vec<JobPart> {
        let mut parts = vec![JobPart::EscalateLeads, JobPart::NurtureReminders];
        for &tier in CustomerTier::ALL {
            parts.push(JobPart::PoolWarnings(tier));
            parts.push(JobPart::PoolReturns(tier));
        }
        parts.extend([
            JobPart::ApprovalReminders,
            JobPart::LateArchives,
            JobPart::LateNeedsAnalyses,
        ]);
        parts
    }
}

impl App {
    /// Runs every job that is due now, batch by batch. Safe to call from every server at once.
    pub async fn run_due_jobs(&self) -> AppResult<JobReport> {
        let now = self.now_ms();
        let mut report = JobReport::default();
        let system = self.system_actor().await?;
        let (policy, _) = self.sales_policy().await?;
        for part in JobPart::all() {
            for _ in 0..MAX_BATCHES_PER_RUN {
                let mut tx = self.store.begin().await?;
                let done = self
                    .run_job_batch(&mut *tx, part, &system, &policy, now)
                    .await?;
                tx.commit().await?;
                *report.count_of(part) += done;
                if done == 0 {
                    break;
                }
            }
        }
        report.customers_retiered = self.run_monthly_tiering().await?;
        Ok(report)
    }

    /// One batch of one part, in the caller's transaction; how many items it handled.
    async fn run_job_batch(
        &self,
        tx: &mut dyn Tx,
        part: JobPart,
        system: &Actor,
        policy: &SalesPolicy,
        now: i64,
    ) -> AppResult<usize> {
        Ok(match part {
            JobPart::EscalateLeads => {
                let leads = tx.claim_overdue_leads(now).await?;
                for lead in &leads {
                    let Some(owner) = lead.owner_id else { continue };
                    for user_id in tx.escalation_targets(owner).await? {
                        let n = NewNotification {
                            user_id,
                            kind: "lead_overdue",
                            record_kind: "lead",
                            record_id: lead.id,
                            subject: lead.data.company.clone(),
                        };
                        tx.notify(&n, now).await?;
                    }
                    let entry = NewAuditEntry::new(
                        system,
                        "escalate",
                        RecordKind::Lead,
                        Some(lead.id),
                        now,
                    )
                    .with_after(lead);
                    tx.audit(&entry).await?;
                }
                leads.len()
            }
            JobPart::NurtureReminders => {
                let next_nurture = now + i64::from(policy.response.c_nurture_days) * DAY_MS;
                let due = tx.claim_due_nurtures(now, next_nurture).await?;
                notify_owners(tx, "nurture_due", "lead", &due, now).await?;
                due.len()
            }
            JobPart::PoolWarnings(tier) => {
                let (_, warn_before) = pool_deadlines(policy, tier, now);
                let warned = tx
                    .claim_pool_warnings(tier.as_str(), warn_before, now)
                    .await?;
                notify_owners(tx, "pool_warning", "customer", &warned, now).await?;
                warned.len()
            }
            JobPart::PoolReturns(tier) => {
                let (return_before, _) = pool_deadlines(policy, tier, now);
                let returned = tx
                    .return_quiet_customers(tier.as_str(), return_before, now)
                    .await?;
                notify_owners(tx, "returned_to_pool", "customer", &returned, now).await?;
                for (customer_id, owner, _) in &returned {
                    let entry = NewAuditEntry::new(
                        system,
                        "return_to_pool",
                        RecordKind::Customer,
                        Some(*customer_id),
                        now,
                    )
                    .with_after(&serde_json::json!({ "former_owner_id": owner, "tier": tier }));
                    tx.audit(&entry).await?;
                }
                returned.len()
            }
            JobPart::ApprovalReminders => self.remind_waiting_approvals(tx).await?,
            JobPart::LateArchives => self.flag_late_archives(tx).await?,
            JobPart::LateNeedsAnalyses => self.flag_late_needs_analyses(tx).await?,
        })
    }

    /// The actor's own inbox, newest first.
    pub async fn inbox(
        &self,
        actor: &Actor,
        unread_only: bool,
        page: PageRequest,
    ) -> AppResult<Page<Notification>> {
        let rows = self
            .store
            .notifications(actor.user_id, unread_only, page)
            .await?;
        Ok(Page::from_rows(rows, page, |n| n.id))
    }

    pub async fn mark_read(&self, actor: &Actor, id: i64) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        if !tx
            .mark_notification_read(actor.user_id, id, self.now_ms())
            .await?
        {
            return Err(AppError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Tells each owner about their record a job part claimed: `(record id, owner, name)`.
async fn notify_owners(
    tx: &mut dyn Tx,
    kind: &'static str,
    record_kind: &'static str,
    claimed: &[(i64, i64, String)],
    now: i64,
) -> AppResult<()> {
    for (record_id, owner, name) in claimed {
        let n = NewNotification {
            user_id: *owner,
            kind,
            record_kind,
            record_id: *record_id,
            subject: name.clone(),
        };
        tx.notify(&n, now).await?;
    }
    Ok(())
}

/// When a quiet customer of `tier` returns to the pool (quiet since before the first instant)
/// and when its owner is warned (quiet since before the second).
fn pool_deadlines(policy: &SalesPolicy, tier: CustomerTier, now: i64) -> (i64, i64) {
    let service = policy.tiers.of(tier);
    let return_before = now - service.return_days * DAY_MS;
    (return_before, return_before + service.warning_days * DAY_MS)
}
