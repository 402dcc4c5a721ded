//! The store side of background jobs and the inbox. Candidates are read, then each is claimed
//! with a conditional update; a concurrent server's update of the same row finds the condition
//! false and skips it.

use sqlx::AnyConnection;
use stride_app::jobs::{NewNotification, Notification, JOB_BATCH};
use stride_app::leads::Lead;
use stride_app::page::PageRequest;
use stride_app::tiers::{TierChange, TierFacts};
use stride_app::{Reach, StoreError};

use crate::leads::lead_by_id;
use crate::sql::{col, Sql};

type Result<T> = std::result::Result<T, StoreError>;

pub async fn claim_overdue_leads(conn: &mut AnyConnection, now: i64) -> Result<Vec<Lead>> {
    let mut q = Sql::new(
        "SELECT id FROM leads WHERE escalated_at_ms IS NULL AND first_contact_at_ms IS NULL \
         AND status NOT IN ('converted', 'disqualified') AND response_due_at_ms < ",
    );
    q.bind(now).push(" ORDER BY id LIMIT ").bind(JOB_BATCH);
    let ids = q.fetch_ids(conn, "id").await?;
    let mut claimed = Vec::new();
    for id in ids {
        let mut q = Sql::new("UPDATE leads SET escalated_at_ms = ");
        q.bind(now)
            .push(" WHERE escalated_at_ms IS NULL AND id = ")
            .bind(id);
        if q.execute(conn).await? == 1 {
            claimed.extend(lead_by_id(conn, &Reach::All, id).await?);
        }
    }
    Ok(claimed)
}

pub async fn escalation_targets(conn: &mut AnyConnection, user_id: i64) -> Result<Vec<i64>> {
    let mut q = Sql::new("SELECT manager_id FROM users WHERE id = ");
    q.bind(user_id);
    if let Some(manager) = q
        .fetch_optional(conn)
        .await?
        .map(|r| col::<Option<i64>>(&r, "manager_id"))
        .transpose()?
        .flatten()
    {
        return Ok(vec![manager]);
    }
    let mut q = Sql::new(
        "WITH RECURSIVE up(id, parent_id) AS ( \
           SELECT d.id, d.parent_id FROM departments d JOIN users u ON u.department_id = d.id WHERE u.id = ",
    );
    q.bind(user_id).push(
        " UNION ALL SELECT d.id, d.parent_id FROM departments d JOIN up ON d.id = up.parent_id) \
         SELECT DISTINCT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id \
         WHERE u.active = 1 AND r.code IN ('supervisor', 'manager') AND u.department_id IN (SELECT id FROM up) AND u.id <> ",
    );
    q.bind(user_id).push(" ORDER BY u.id");
    q.fetch_ids(conn, "id").await
}

/// Owned customers of `tier` with neither an activity nor a change of owner since `quiet_before`.
fn quiet_customers(tier: &str, quiet_before: i64, extra: &str) -> Sql {
    let mut q =
        Sql::new("SELECT id, owner_id, name FROM customers WHERE owner_id IS NOT NULL AND tier = ");
    q.bind(tier.to_owned())
        .push(extra)
        .push(" AND COALESCE(last_activity_at_ms, 0) < ")
        .bind(quiet_before);
    q.push(" AND COALESCE(owned_since_ms, created_at_ms) < ")
        .bind(quiet_before);
    q.push(" ORDER BY id LIMIT ").bind(JOB_BATCH);
    q
}

fn owner_rows(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<(i64, i64, String)>> {
    rows.iter()
        .map(|r| Ok((col(r, "id")?, col(r, "owner_id")?, col(r, "name")?)))
        .collect()
}

pub async fn claim_pool_warnings(
    conn: &mut AnyConnection,
    tier: &str,
    quiet_before: i64,
    now: i64,
) -> Result<Vec<(i64, i64, String)>> {
    let candidates = owner_rows(
        quiet_customers(tier, quiet_before, " AND pool_warned_at_ms IS NULL")
            .fetch_all(conn)
            .await?,
    )?;
    let mut claimed = Vec::new();
    for (id, owner, name) in candidates {
        let mut q = Sql::new("UPDATE customers SET pool_warned_at_ms = ");
        q.bind(now)
            .push(" WHERE pool_warned_at_ms IS NULL AND id = ")
            .bind(id)
            .push(" AND owner_id = ")
            .bind(owner);
        if q.execute(conn).await? == 1 {
            claimed.push((id, owner, name));
        }
    }
    Ok(claimed)
}

pub async fn return_quiet_customers(
    conn: &mut AnyConnection,
    tier: &str,
    quiet_before: i64,
    now: i64,
) -> Result<Vec<(i64, i64, String)>> {
    let candidates = owner_rows(
        quiet_customers(tier, quiet_before, "")
            .fetch_all(conn)
            .await?,
    )?;
    let mut returned = Vec::new();
    for (id, owner, name) in candidates {
        let mut q = Sql::new(
            "UPDATE customers SET owner_id = NULL, department_id = NULL, owned_since_ms = NULL, pool_warned_at_ms = NULL, \
             version = version + 1, updated_at_ms = ",
        );
        q.bind(now)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND owner_id = ")
            .bind(owner);
        // Re-checked here: a follow-up or a re-tiering since the read keeps the customer.
        q.push(" AND tier = ").bind(tier.to_owned());
        q.push(" AND COALESCE(last_activity_at_ms, 0) < ")
            .bind(quiet_before);
        if q.execute(conn).await? == 1 {
            returned.push((id, owner, name));
        }
    }
    Ok(returned)
}

/// The statement writing one notification, built into `q`.
pub fn notification_into(q: &mut Sql, n: &NewNotification, now: i64) {
    q.push("INSERT INTO notifications (user_id, kind, record_kind, record_id, subject, created_at_ms) VALUES (");
    q.bind(n.user_id)
        .push(", ")
        .bind(n.kind.to_owned())
        .push(", ")
        .bind(n.record_kind.to_owned())
        .push(", ");
    q.bind(n.record_id)
        .push(", ")
        .bind(n.subject.clone())
        .push(", ")
        .bind(now)
        .push(")");
}

pub async fn notifications(
    conn: &mut AnyConnection,
    user_id: i64,
    unread_only: bool,
    page: PageRequest,
) -> Result<Vec<Notification>> {
    let mut q = Sql::new(
        "SELECT id, user_id, kind, record_kind, record_id, subject, created_at_ms, read_at_ms FROM notifications WHERE user_id = ",
    );
    q.bind(user_id);
    if unread_only {
        q.push(" AND read_at_ms IS NULL");
    }
    if let Some(after) = page.after {
        q.push(" AND id < ").bind(after);
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Notification {
                id: col(r, "id")?,
                user_id: col(r, "user_id")?,
                kind: col(r, "kind")?,
                record_kind: col(r, "record_kind")?,
                record_id: col(r, "record_id")?,
                subject: col(r, "subject")?,
                created_at_ms: col(r, "created_at_ms")?,
                read_at_ms: col(r, "read_at_ms")?,
            })
        })
        .collect()
}

pub async fn mark_read(conn: &mut AnyConnection, user_id: i64, id: i64, now: i64) -> Result<bool> {
    let mut q = Sql::new("UPDATE notifications SET read_at_ms = COALESCE(read_at_ms, ");
    q.bind(now)
        .push(") WHERE id = ")
        .bind(id)
        .push(" AND user_id = ")
        .bind(user_id);
    Ok(q.execute(conn).await? == 1)
}

/// Takes `job`'s run for `period`: a new run starts at id 0; an unfinished one is taken over
/// once its holder's hold has lapsed. Returns the id the next batch starts after.
pub async fn take_job_run(
    conn: &mut AnyConnection,
    job: &str,
    period: &str,
    now: i64,
    held_until: i64,
) -> Result<Option<i64>> {
    let mut q = Sql::new(
        "INSERT INTO job_runs (job, period, at_ms, resume_from_id, held_until_ms) VALUES (",
    );
    q.bind(job.to_owned())
        .push(", ")
        .bind(period.to_owned())
        .push(", ")
        .bind(now)
        .push(", 0, ")
        .bind(held_until)
        .push(") ON CONFLICT (job, period) DO NOTHING");
    if q.execute(&mut *conn).await? == 1 {
        return Ok(Some(0));
    }
    let mut q = Sql::new("UPDATE job_runs SET held_until_ms = ");
    q.bind(held_until);
    run_row(&mut q, job, period)
        .push(" AND resume_from_id IS NOT NULL AND held_until_ms <= ")
        .bind(now)
        .push(" RETURNING resume_from_id");
    q.fetch_optional(conn)
        .await?
        .map(|r| col(&r, "resume_from_id"))
        .transpose()
}

/// Renews the hold on a run that still resumes from `from` (no other server took it over and
/// moved it on). The row stays locked until the transaction ends.
pub async fn hold_job_run(
    conn: &mut AnyConnection,
    job: &str,
    period: &str,
    from: i64,
    held_until: i64,
) -> Result<bool> {
    let mut q = Sql::new("UPDATE job_runs SET held_until_ms = ");
    q.bind(held_until);
    run_row(&mut q, job, period)
        .push(" AND resume_from_id = ")
        .bind(from);
    Ok(q.execute(conn).await? == 1)
}

/// Records where the run's next batch starts; `None` finishes the run.
pub async fn advance_job_run(
    conn: &mut AnyConnection,
    job: &str,
    period: &str,
    next_from: Option<i64>,
) -> Result<()> {
    let mut q = Sql::new("UPDATE job_runs SET resume_from_id = ");
    q.bind(next_from);
    run_row(&mut q, job, period);
    q.execute(conn).await.map(drop)
}

/// The `WHERE` that picks one run: a job's row for one period.
fn run_row<'q>(q: &'q mut Sql, job: &str, period: &str) -> &'q mut Sql {
    q.push(" WHERE job = ")
        .bind(job.to_owned())
        .push(" AND period = ")
        .bind(period.to_owned())
}

pub async fn tier_facts(
    conn: &mut AnyConnection,
    activities_since: i64,
    contracts_since: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<TierFacts>> {
    let mut q = Sql::new(
        "SELECT c.id, c.tier, c.credit_limit_minor, c.credit_rating, \
         (SELECT COUNT(*) FROM activities a WHERE a.customer_id = c.id AND a.occurred_at_ms >= ",
    );
    q.bind(activities_since).push(
        ") AS recent, (SELECT CAST(COALESCE(SUM(k.amount_fen), 0) AS BIGINT) FROM contracts k \
         WHERE k.customer_id = c.id AND k.status IN ('signed', 'archived') AND k.signed_at_ms >= ",
    );
    q.bind(contracts_since)
        .push(") AS signed FROM customers c WHERE c.id > ")
        .bind(after_id)
        .push(" ORDER BY c.id LIMIT ")
        .bind(limit);
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(TierFacts {
                customer_id: col(r, "id")?,
                tier: col(r, "tier")?,
                recent_activities: col(r, "recent")?,
                signed_contracts_fen: col(r, "signed")?,
                credit_limit_minor: col(r, "credit_limit_minor")?,
                credit_rating: col(r, "credit_rating")?,
            })
        })
        .collect()
}

pub async fn record_tier(conn: &mut AnyConnection, c: &TierChange) -> Result<()> {
    let mut q = Sql::new("UPDATE customers SET tier = ");
    q.bind(c.tier.clone())
        .push(", version = version + 1, updated_at_ms = ")
        .bind(c.at_ms);
    q.push(" WHERE id = ").bind(c.customer_id);
    q.execute(conn).await?;
    let mut q =
        Sql::new("INSERT INTO customer_tiers (customer_id, tier, score, reason, at_ms) VALUES (");
    q.bind(c.customer_id)
        .push(", ")
        .bind(c.tier.clone())
        .push(", ")
        .bind(c.score)
        .push(", ");
    q.bind(c.reason.clone()).push(", ").bind(c.at_ms).push(")");
    q.execute(conn).await.map(drop)
}

pub async fn tier_history(conn: &mut AnyConnection, customer_id: i64) -> Result<Vec<TierChange>> {
    let mut q = Sql::new(
        "SELECT customer_id, tier, score, reason, at_ms FROM customer_tiers WHERE customer_id = ",
    );
    q.bind(customer_id).push(" ORDER BY id DESC");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(TierChange {
                customer_id: col(r, "customer_id")?,
                tier: col(r, "tier")?,
                score: col(r, "score")?,
                reason: col(r, "reason")?,
                at_ms: col(r, "at_ms")?,
            })
        })
        .collect()
}

pub async fn claim_due_nurtures(
    conn: &mut AnyConnection,
    now: i64,
    next: i64,
) -> Result<Vec<(i64, i64, String)>> {
    let mut q = Sql::new(
        "SELECT id, owner_id, company, next_nurture_at_ms FROM leads WHERE owner_id IS NOT NULL \
         AND status NOT IN ('converted', 'disqualified') AND next_nurture_at_ms <= ",
    );
    q.bind(now).push(" ORDER BY id LIMIT ").bind(JOB_BATCH);
    let mut claimed = Vec::new();
    for row in q.fetch_all(conn).await? {
        let (id, due): (i64, i64) = (col(&row, "id")?, col(&row, "next_nurture_at_ms")?);
        let mut q = Sql::new("UPDATE leads SET next_nurture_at_ms = ");
        q.bind(next)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND next_nurture_at_ms = ")
            .bind(due);
        if q.execute(conn).await? == 1 {
            claimed.push((id, col(&row, "owner_id")?, col(&row, "company")?));
        }
    }
    Ok(claimed)
}
