//! Customer tiers (CUST-3): strategic / core / ordinary from a weighted score, re-evaluated each
//! month. Contribution is read from the contracts signed in the last year (or, where that says
//! less, from follow-up activity), potential from the credit limit, and payment behaviour from the
//! credit rating until payments exist; each change is recorded with its reason.

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use stride_domain::customers::{score, tier_for, CreditRating, TierInputs};

use crate::actor::Actor;
use crate::error::AppResult;
use crate::App;

/// A credit limit at or above this (in fen) counts as full potential: ¥1,000,000.
const FULL_POTENTIAL_MINOR: i64 = 100_000_000;
/// Activities in the last 90 days that count as full contribution.
const FULL_CONTRIBUTION_ACTIVITIES: i64 = 10;
/// Contracts signed in the last year worth this much (in fen) count as full contribution: ¥1,000,000.
const FULL_CONTRIBUTION_CONTRACTS_FEN: i64 = 100_000_000;
const DAY_MS: i64 = 86_400_000;

/// What the store knows about a customer for tiering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierFacts {
    pub customer_id: i64,
    pub tier: String,
    pub recent_activities: i64,
    /// Contracts signed (and not superseded) in the last year, in fen.
    pub signed_contracts_fen: i64,
    pub credit_limit_minor: i64,
    pub credit_rating: Option<String>,
}

/// One entry of a customer's tier history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierChange {
    pub customer_id: i64,
    pub tier: String,
    pub score: i64,
    pub reason: String,
    pub at_ms: i64,
}

fn inputs(f: &TierFacts) -> TierInputs {
    let percent =
        |part: i64, whole: i64| u8::try_from((part.clamp(0, whole) * 100) / whole).unwrap_or(100);
    let payment = match f
        .credit_rating
        .as_deref()
        .and_then(|r| r.parse::<CreditRating>().ok())
    {
        Some(CreditRating::Aaa) => 100,
        Some(CreditRating::Aa) => 85,
        Some(CreditRating::A) => 70,
        Some(CreditRating::B) => 40,
        Some(CreditRating::C) => 10,
        None => 50,
    };
    TierInputs {
        contribution: percent(f.recent_activities, FULL_CONTRIBUTION_ACTIVITIES).max(percent(
            f.signed_contracts_fen,
            FULL_CONTRIBUTION_CONTRACTS_FEN,
        )),
        potential: percent(f.credit_limit_minor, FULL_POTENTIAL_MINOR),
        payment,
    }
}

/// Customers re-tiered per transaction: small enough that other writers get the database in
/// between (SQLite has one writer), large enough that a million customers take a thousand
/// commits.
const TIERING_BATCH: usize = 1000;
/// How long a server holds the month's run between two batches; a server that stopped mid-run
/// is taken over once this has passed.
const TIERING_HOLD_MS: i64 = 10 * 60 * 1000;
const TIERING_JOB: &str = "tiering";

impl App {
    /// Re-tiers every customer once per calendar month (in the organisation's time zone);
    /// returns how many moved. Several servers may call it: one holds the month's run, batch by
    /// batch, and another finishes it if that one stops.
    pub async fn run_monthly_tiering(&self) -> AppResult<usize> {
        self.retier_customers(TIERING_BATCH, usize::MAX).await
    }

    /// This month's re-tiering, at most `batches` batches of `batch` customers, each in its own
    /// transaction. Stopping early leaves the run held until the hold lapses, as a server that
    /// stopped would (the tests use it so).
    pub async fn retier_customers(&self, batch: usize, batches: usize) -> AppResult<usize> {
        let now = self.now_ms();
        let tz = jiff::tz::TimeZone::get(&self.store.org_settings().await?.time_zone)
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let period = jiff::Timestamp::from_millisecond(now)
            .unwrap_or_default()
            .to_zoned(tz)
            .strftime("%Y-%m")
            .to_string();
        let (policy, _) = self.sales_policy().await?;
        let (weights, thresholds) = (policy.tier_weights, policy.tier_thresholds);
        let limit = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut from = None;
        let mut moved = 0;
        for _ in 0..batches {
            let now = self.now_ms();
            let held_until = now + TIERING_HOLD_MS;
            let mut tx = self.store.begin().await?;
            let after = match from {
                None => match tx
                    .take_job_run(TIERING_JOB, &period, now, held_until)
                    .await?
                {
                    Some(after) => after,
                    None => return Ok(moved),
                },
                Some(after) => {
                    if !tx
                        .hold_job_run(TIERING_JOB, &period, after, held_until)
                        .await?
                    {
                        return Ok(moved);
                    }
                    after
                }
            };
            let facts = tx
                .tier_facts(now - 90 * DAY_MS, now - 365 * DAY_MS, after, limit)
                .await?;
            for facts in &facts {
                let i = inputs(facts);
                let s = score(&weights, &i);
                let tier = tier_for(s, &thresholds).as_str();
                if tier != facts.tier {
                    let reason = format!(
                        "{period}: score {s} (contribution {}, potential {}, payment {}); {} → {tier}",
                        i.contribution, i.potential, i.payment, facts.tier
                    );
                    let change = TierChange {
                        customer_id: facts.customer_id,
                        tier: tier.to_owned(),
                        score: i64::from(s),
                        reason,
                        at_ms: now,
                    };
                    tx.record_tier(&change).await?;
                    moved += 1;
                }
            }
            let next = match facts.last() {
                Some(last) if facts.len() as i64 == limit => Some(last.customer_id),
                _ => None,
            };
            tx.advance_job_run(TIERING_JOB, &period, next).await?;
            tx.commit().await?;
            if next.is_none() {
                break;
            }
            from = next;
        }
        Ok(moved)
    }

    /// A customer's tier history, newest first.
    pub async fn tier_history(
        &self,
        actor: &Actor,
        customer_id: i64,
    ) -> AppResult<Vec<TierChange>> {
        self.get_customer(actor, customer_id).await?;
        actor.require(RecordKind::Customer, Action::View)?;
        Ok(self.store.tier_history(customer_id).await?)
    }
}

/// Tells which customers are due a revisit under their tier's cadence, as of one instant.
#[derive(Debug, Clone)]
pub struct RevisitRule {
    tiers: crate::settings::TierPolicies,
    now_ms: i64,
}

impl RevisitRule {
    pub fn is_due(&self, c: &crate::customers::Customer) -> bool {
        stride_domain::customers::revisit_due(
            c.owner_id.is_some(),
            c.last_activity_at_ms.unwrap_or(c.created_at_ms),
            self.now_ms,
            self.tiers.of_name(&c.tier).revisit_days,
        )
    }
}

impl App {
    /// The revisit rule of the current sales policy, as of now.
    pub async fn revisit_rule(&self) -> AppResult<RevisitRule> {
        let (policy, _) = self.sales_policy().await?;
        Ok(RevisitRule {
            tiers: policy.tiers,
            now_ms: self.now_ms(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(recent_activities: i64, signed_contracts_fen: i64) -> TierFacts {
        TierFacts {
            customer_id: 1,
            tier: "ordinary".into(),
            recent_activities,
            signed_contracts_fen,
            credit_limit_minor: 0,
            credit_rating: None,
        }
    }

    #[test]
    fn contribution_counts_signed_contracts_or_follow_ups_whichever_says_more() {
        assert_eq!(inputs(&facts(0, 0)).contribution, 0);
        assert_eq!(inputs(&facts(5, 0)).contribution, 50);
        assert_eq!(inputs(&facts(5, 80_000_000)).contribution, 80);
        assert_eq!(inputs(&facts(0, 300_000_000)).contribution, 100);
    }
}
