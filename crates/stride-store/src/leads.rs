//! Leads, their grade history, and activities.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use stride_app::assignment::AssignmentRule;
use stride_app::customers::MatchKeys;
use stride_app::leads::{
    Activity, ActivityData, AgendaItem, Lead, LeadData, LeadFilter, LeadState,
};
use stride_app::page::PageRequest;
use stride_app::{Reach, StoreError};
use stride_domain::customers::{normalize_company_name, normalize_email, normalize_phone};

use crate::name_index::LEAD_NAMES;
use crate::org::versioned;
use crate::sql::{col, flag, Sql};
use crate::sql::{Batch, Binds, CopyIn, References};
use crate::Dialect;

type Result<T> = std::result::Result<T, StoreError>;

/// The columns [`lead`] reads.
macro_rules! lead_columns {
    () => {
        "id, company, contact_name, title, phone, email, source, industry, region, size, credit_code, \
        need, budget, explicit_need, budget_known, decision_chain_known, notes, grade, status, owner_id, department_id, \
        assigned_at_ms, response_due_at_ms, first_contact_at_ms, next_nurture_at_ms, disqualify_reason, customer_id, \
        version, created_at_ms, updated_at_ms"
    };
}

const LEAD_COLUMNS: &str = concat!("SELECT ", lead_columns!(), " FROM leads");

fn lead(row: &AnyRow) -> Result<Lead> {
    Ok(Lead {
        id: col(row, "id")?,
        data: LeadData {
            company: col(row, "company")?,
            contact_name: col(row, "contact_name")?,
            title: col(row, "title")?,
            phone: col(row, "phone")?,
            email: col(row, "email")?,
            source: col(row, "source")?,
            industry: col(row, "industry")?,
            region: col(row, "region")?,
            size: col(row, "size")?,
            credit_code: col(row, "credit_code")?,
            need: col(row, "need")?,
            budget: col(row, "budget")?,
            explicit_need: flag(row, "explicit_need")?,
            budget_known: flag(row, "budget_known")?,
            decision_chain_known: flag(row, "decision_chain_known")?,
            notes: col(row, "notes")?,
        },
        grade: col(row, "grade")?,
        status: col(row, "status")?,
        owner_id: col(row, "owner_id")?,
        department_id: col(row, "department_id")?,
        assigned_at_ms: col(row, "assigned_at_ms")?,
        response_due_at_ms: col(row, "response_due_at_ms")?,
        first_contact_at_ms: col(row, "first_contact_at_ms")?,
        next_nurture_at_ms: col(row, "next_nurture_at_ms")?,
        disqualify_reason: col(row, "disqualify_reason")?,
        customer_id: col(row, "customer_id")?,
        version: col(row, "version")?,
        created_at_ms: col(row, "created_at_ms")?,
        updated_at_ms: col(row, "updated_at_ms")?,
    })
}

fn lead_reach(q: &mut Sql, reach: &Reach) {
    q.reach(reach, "owner_id", "department_id");
}

pub async fn leads(
    conn: &mut AnyConnection,
    reach: &Reach,
    f: &LeadFilter,
    page: PageRequest,
) -> Result<Vec<Lead>> {
    let mut q = Sql::new(LEAD_COLUMNS);
    q.push(" WHERE ");
    lead_reach(&mut q, reach);
    if let Some(s) = &f.status {
        q.push(" AND status = ").bind(s.clone());
    }
    if let Some(g) = &f.grade {
        q.push(" AND grade = ").bind(g.clone());
    }
    if let Some(o) = f.owner_id {
        q.push(" AND owner_id = ").bind(o);
    }
    if let Some(now) = f.overdue_at_ms {
        q.push(" AND first_contact_at_ms IS NULL AND status NOT IN ('converted', 'disqualified') AND response_due_at_ms < ").bind(now);
    }
    if let Some(after) = page.after {
        q.push(" AND id > ").bind(after);
    }
    q.push(" ORDER BY id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(lead).collect()
}

pub async fn lead_by_id(conn: &mut AnyConnection, reach: &Reach, id: i64) -> Result<Option<Lead>> {
    let mut q = Sql::new(LEAD_COLUMNS);
    q.push(" WHERE id = ").bind(id).push(" AND ");
    lead_reach(&mut q, reach);
    q.fetch_optional(conn).await?.as_ref().map(lead).transpose()
}

pub async fn duplicates(
    conn: &mut AnyConnection,
    keys: &MatchKeys,
    except: Option<i64>,
) -> Result<Vec<(i64, String)>> {
    let mut q = Sql::new("SELECT id, company_key, phone_key, email_key, credit_code FROM leads WHERE status NOT IN ('converted', 'disqualified') AND (company_key = ");
    q.bind(keys.name.clone());
    for (column, value) in [
        ("phone_key", &keys.phone),
        ("email_key", &keys.email),
        ("credit_code", &keys.credit_code),
    ] {
        if let Some(v) = value {
            q.push(" OR ").push(column).push(" = ").bind(v.clone());
        }
    }
    q.push(") AND id <> ")
        .bind(except.unwrap_or(0))
        .push(" ORDER BY id LIMIT 20");
    let mut hits = Vec::new();
    for row in q.fetch_all(conn).await? {
        let id: i64 = col(&row, "id")?;
        if col::<String>(&row, "company_key")? == keys.name {
            hits.push((id, "name".to_owned()));
        }
        if keys.phone.is_some() && col::<Option<String>>(&row, "phone_key")? == keys.phone {
            hits.push((id, "phone".to_owned()));
        }
        if keys.email.is_some() && col::<Option<String>>(&row, "email_key")? == keys.email {
            hits.push((id, "email".to_owned()));
        }
        if keys.credit_code.is_some()
            && col::<Option<String>>(&row, "credit_code")? == keys.credit_code
        {
            hits.push((id, "credit_code".to_owned()));
        }
    }
    Ok(hits)
}

/// What the lead's editor sets (`LeadData`), then where it stands (`LeadState`): macros, so
/// that `LEAD_FIELDS` is the two joined at compile time.
macro_rules! lead_data_fields {
    () => {
        "company, company_key, contact_name, title, phone, phone_key, email, email_key, source, \
         industry, region, size, credit_code, need, budget, explicit_need, budget_known, \
         decision_chain_known, notes"
    };
}
macro_rules! lead_state_fields {
    () => {
        "grade, status, owner_id, department_id, assigned_at_ms, response_due_at_ms, \
         first_contact_at_ms, next_nurture_at_ms, disqualify_reason, customer_id"
    };
}
const LEAD_STATE_FIELDS: &str = lead_state_fields!();
const LEAD_FIELDS: &str = concat!(lead_data_fields!(), ", ", lead_state_fields!());

fn bind_lead(q: &mut impl Binds, d: &LeadData, s: &LeadState) {
    bind_lead_data(q, d);
    q.push(", ");
    bind_lead_state(q, s);
}

fn bind_lead_data(q: &mut impl Binds, d: &LeadData) {
    q.bind(d.company.clone())
        .push(", ")
        .bind(normalize_company_name(&d.company))
        .push(", ");
    q.bind(d.contact_name.clone())
        .push(", ")
        .bind(d.title.clone())
        .push(", ");
    q.bind(d.phone.clone())
        .push(", ")
        .bind(d.phone.as_deref().map(normalize_phone))
        .push(", ");
    q.bind(d.email.clone())
        .push(", ")
        .bind(d.email.as_deref().map(normalize_email))
        .push(", ");
    q.bind(d.source.clone())
        .push(", ")
        .bind(d.industry.clone())
        .push(", ")
        .bind(d.region.clone())
        .push(", ");
    q.bind(d.size.clone())
        .push(", ")
        .bind(d.credit_code.clone())
        .push(", ")
        .bind(d.need.clone())
        .push(", ")
        .bind(d.budget.clone())
        .push(", ");
    q.bind(i64::from(d.explicit_need))
        .push(", ")
        .bind(i64::from(d.budget_known))
        .push(", ");
    q.bind(i64::from(d.decision_chain_known))
        .push(", ")
        .bind(d.notes.clone());
}

fn bind_lead_state(q: &mut impl Binds, s: &LeadState) {
    q.bind(s.grade.as_str())
        .push(", ")
        .bind(s.status.as_str())
        .push(", ");
    q.bind(s.owner_id)
        .push(", ")
        .bind(s.department_id)
        .push(", ");
    q.bind(s.assigned_at_ms)
        .push(", ")
        .bind(s.response_due_at_ms)
        .push(", ");
    q.bind(s.first_contact_at_ms)
        .push(", ")
        .bind(s.next_nurture_at_ms)
        .push(", ");
    q.bind(s.disqualify_reason.clone())
        .push(", ")
        .bind(s.customer_id);
}

pub async fn insert_lead(
    conn: &mut AnyConnection,
    d: &LeadData,
    s: &LeadState,
    now: i64,
) -> Result<Lead> {
    let mut q = Sql::new(&format!(
        "INSERT INTO leads ({LEAD_FIELDS}, created_at_ms, updated_at_ms) VALUES ("
    ));
    bind_lead(&mut q, d, s);
    q.push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(&mut *conn).await?, "id")?;
    lead_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Leads per statement: 32 placeholders each, well below SQLite's 32,766.
const LEADS_PER_INSERT: usize = 500;

/// The columns of a lead written under a reserved id, in [`new_lead_values`]'s order.
macro_rules! new_lead_columns {
    () => {
        concat!(
            "leads (id, ",
            lead_data_fields!(),
            ", ",
            lead_state_fields!(),
            ", created_at_ms, updated_at_ms)"
        )
    };
}

/// A new lead's parenthesised values, in `new_lead_columns!`' order.
fn new_lead_values(q: &mut impl Binds, id: i64, d: &LeadData, s: &LeadState, now: i64) {
    q.push("(").bind(id).push(", ");
    bind_lead(q, d, s);
    q.push(", ").bind(now).push(", ").bind(now).push(")");
}

/// Multi-row statements inserting many leads under reserved ids (see
/// [`crate::sql::reserve_ids`]), built one by one as they are run.
pub fn lead_inserts<'a>(
    dialect: Dialect,
    ids: &'a [i64],
    leads: &'a [(LeadData, LeadState)],
    now: i64,
) -> impl Iterator<Item = Batch> + 'a {
    debug_assert_eq!(ids.len(), leads.len());
    Batch::inserts(
        dialect,
        concat!("INSERT INTO ", new_lead_columns!(), " VALUES "),
        ids.iter().zip(leads),
        LEADS_PER_INSERT,
        move |q, (id, (d, s))| new_lead_values(q, *id, d, s, now),
    )
}

/// Many leads under reserved ids, for PostgreSQL's `COPY`, with every row of another table a
/// lead refers to by foreign key: its owner, department and customer.
pub fn lead_copy(ids: &[i64], leads: &[(LeadData, LeadState)], now: i64) -> CopyIn {
    let states = || leads.iter().map(|(_, s)| s);
    CopyIn::of(
        new_lead_columns!(),
        ids.iter().zip(leads),
        |copy, (id, (d, s))| new_lead_values(copy, *id, d, s, now),
    )
    .referring_to(
        References::default()
            .to("users", states().filter_map(|s| s.owner_id))
            .to("departments", states().filter_map(|s| s.department_id))
            .to("customers", states().filter_map(|s| s.customer_id)),
    )
}

/// Grade rows per statement (5 placeholders each).
const GRADES_PER_INSERT: usize = 2_000;

/// The columns of a first grade, in [`first_grade_values`]' order.
macro_rules! first_grade_columns {
    () => {
        "lead_grades (lead_id, grade, by_rules, actor_id, at_ms)"
    };
}

/// A new lead's first grade, given by the rules, parenthesised.
fn first_grade_values(q: &mut impl Binds, id: i64, s: &LeadState, actor: Option<i64>, at: i64) {
    q.push("(")
        .bind(id)
        .push(", ")
        .bind(s.grade.as_str())
        .push(", ")
        .bind(1_i64)
        .push(", ")
        .bind(actor)
        .push(", ")
        .bind(at)
        .push(")");
}

/// Statements recording the first grade of each new lead, as the rules gave it.
pub fn first_grade_inserts<'a>(
    dialect: Dialect,
    ids: &'a [i64],
    leads: &'a [(LeadData, LeadState)],
    actor: Option<i64>,
    at: i64,
) -> impl Iterator<Item = Batch> + 'a {
    Batch::inserts(
        dialect,
        concat!("INSERT INTO ", first_grade_columns!(), " VALUES "),
        ids.iter().zip(leads),
        GRADES_PER_INSERT,
        move |q, (id, (_, state))| first_grade_values(q, *id, state, actor, at),
    )
}

/// The first grades of many new leads, for PostgreSQL's `COPY`. They refer to their leads,
/// which the same transaction has just written: no other can see those rows, let alone delete
/// them, so there is nothing to hold.
pub fn first_grade_copy(
    ids: &[i64],
    leads: &[(LeadData, LeadState)],
    actor: Option<i64>,
    at: i64,
) -> CopyIn {
    CopyIn::of(
        first_grade_columns!(),
        ids.iter().zip(leads),
        |copy, (id, (_, state))| first_grade_values(copy, *id, state, actor, at),
    )
}

/// `UPDATE leads SET (columns) = (values)` of lead `id`, only while it is at `version`, which
/// the update bumps.
fn versioned_lead_update(
    columns: &str,
    values: impl FnOnce(&mut Sql),
    (id, version): (i64, i64),
    now: i64,
) -> Sql {
    let mut q = Sql::new("UPDATE leads SET (");
    q.push(columns).push(") = (");
    values(&mut q);
    q.push("), updated_at_ms = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    q.push(" AND version = ").bind(version);
    q
}

pub async fn update_lead(
    conn: &mut AnyConnection,
    dialect: Dialect,
    id: i64,
    version: i64,
    d: &LeadData,
    s: &LeadState,
    now: i64,
) -> Result<Lead> {
    let q = versioned_lead_update(LEAD_FIELDS, |q| bind_lead(q, d, s), (id, version), now);
    LEAD_NAMES
        .versioned_update(&mut *conn, dialect, (id, version), &d.company, q)
        .await?;
    lead_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Moves a lead on (assigned, graded, contacted, converted…) without touching what its
/// editor sets: its name, and so its bigrams, stay as they are.
pub async fn update_lead_state(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    s: &LeadState,
    now: i64,
) -> Result<Lead> {
    let q = versioned_lead_update(
        LEAD_STATE_FIELDS,
        |q| bind_lead_state(q, s),
        (id, version),
        now,
    );
    let touched = q.execute(&mut *conn).await?;
    versioned(&mut *conn, touched, "leads", id).await?;
    lead_by_id(conn, &Reach::All, id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn record_grade(
    conn: &mut AnyConnection,
    lead_id: i64,
    grade: &str,
    by_rules: bool,
    actor: Option<i64>,
    at: i64,
) -> Result<()> {
    let mut q =
        Sql::new("INSERT INTO lead_grades (lead_id, grade, by_rules, actor_id, at_ms) VALUES (");
    q.bind(lead_id)
        .push(", ")
        .bind(grade.to_owned())
        .push(", ")
        .bind(i64::from(by_rules))
        .push(", ");
    q.bind(actor).push(", ").bind(at).push(")");
    q.execute(conn).await.map(drop)
}

// ---- activities -----------------------------------------------------------------------------

const ACTIVITY_COLUMNS: &str =
    "SELECT id, lead_id, customer_id, kind, summary, interest_points, pain_points, next_step, \
    occurred_at_ms, next_follow_up_at_ms, owner_id, created_at_ms FROM activities";

fn activity(row: &AnyRow) -> Result<Activity> {
    Ok(Activity {
        id: col(row, "id")?,
        lead_id: col(row, "lead_id")?,
        customer_id: col(row, "customer_id")?,
        data: ActivityData {
            kind: col(row, "kind")?,
            summary: col(row, "summary")?,
            interest_points: col(row, "interest_points")?,
            pain_points: col(row, "pain_points")?,
            next_step: col(row, "next_step")?,
            occurred_at_ms: col(row, "occurred_at_ms")?,
            next_follow_up_at_ms: col(row, "next_follow_up_at_ms")?,
        },
        owner_id: col(row, "owner_id")?,
        created_at_ms: col(row, "created_at_ms")?,
    })
}

/// Newest first.
pub async fn activities(
    conn: &mut AnyConnection,
    reach: &Reach,
    lead_id: Option<i64>,
    customer_id: Option<i64>,
    page: PageRequest,
) -> Result<Vec<Activity>> {
    let mut q = Sql::new(ACTIVITY_COLUMNS);
    q.push(" WHERE ");
    q.reach(reach, "owner_id", "department_id");
    if let Some(l) = lead_id {
        q.push(" AND lead_id = ").bind(l);
    }
    if let Some(c) = customer_id {
        q.push(" AND customer_id = ").bind(c);
    }
    if let Some(after) = page.after {
        q.push(" AND id < ").bind(after);
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .bind(i64::from(page.limit) + 1);
    q.fetch_all(conn).await?.iter().map(activity).collect()
}

/// The agenda's activity columns, qualified because customers and leads are joined in.
const AGENDA_COLUMNS: &str = "SELECT a.id, a.lead_id, a.customer_id, a.kind, a.summary, a.interest_points, \
    a.pain_points, a.next_step, a.occurred_at_ms, a.next_follow_up_at_ms, a.owner_id, a.created_at_ms, \
    c.name AS customer_name, l.company AS lead_company FROM activities a";

/// A user's live follow-ups due before `until`, each with the name of its customer (when
/// `customers` reaches it, or it sits in the public pool) or its lead (when `leads` reaches it),
/// in one statement.
pub async fn agenda(
    conn: &mut AnyConnection,
    user_id: i64,
    until: i64,
    customers: Option<&Reach>,
    leads: Option<&Reach>,
) -> Result<Vec<AgendaItem>> {
    let mut q = Sql::new(AGENDA_COLUMNS);
    q.push(" LEFT JOIN customers c ON c.id = a.customer_id AND ");
    match customers {
        Some(reach) => {
            q.push("(");
            q.reach(reach, "c.owner_id", "c.department_id");
            q.push(" OR c.owner_id IS NULL)")
        }
        None => q.push("1 = 0"),
    };
    q.push(" LEFT JOIN leads l ON a.customer_id IS NULL AND l.id = a.lead_id AND ");
    match leads {
        Some(reach) => q.reach(reach, "l.owner_id", "l.department_id"),
        None => q.push("1 = 0"),
    };
    // `superseded = 0` and `IS NOT NULL` as the partial index `activities_agenda` has them.
    q.push(" WHERE a.owner_id = ")
        .bind(user_id)
        .push(" AND a.next_follow_up_at_ms IS NOT NULL AND a.superseded = 0 AND a.next_follow_up_at_ms < ")
        .bind(until);
    q.push(" ORDER BY a.next_follow_up_at_ms, a.id LIMIT 200");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            let customer_name: Option<String> = col(row, "customer_name")?;
            let lead_company: Option<String> = col(row, "lead_company")?;
            Ok(AgendaItem {
                activity: activity(row)?,
                record_name: customer_name.or(lead_company),
            })
        })
        .collect()
}

/// Marks every activity a later one of the same record supersedes: of a customer, all but its
/// latest; of a lead not yet converted (no customer), all but the latest of that lead. Run after
/// activities of `lead_id` / `customer_id` were added or moved, in the same transaction.
pub async fn settle_superseded(
    conn: &mut AnyConnection,
    lead_id: Option<i64>,
    customer_id: Option<i64>,
) -> Result<()> {
    // A no-op update locks the record's row first, so writers of the same record's activities
    // take turns and each sees the others' committed activities (PostgreSQL reads the latest
    // committed rows per statement; SQLite writers are serial anyway).
    for (table, record, column, unconverted) in [
        ("customers", customer_id, "customer_id", ""),
        ("leads", lead_id, "lead_id", " AND customer_id IS NULL"),
    ] {
        let Some(id) = record else { continue };
        let mut q = Sql::new(&format!("UPDATE {table} SET version = version WHERE id = "));
        q.bind(id);
        q.execute(conn).await?;
        let mut q = Sql::new(&format!(
            "UPDATE activities SET superseded = 1 WHERE superseded = 0 AND {column} = "
        ));
        q.bind(id).push(unconverted).push(&format!(
            " AND id < (SELECT MAX(latest.id) FROM activities latest WHERE latest.{column} = "
        ));
        q.bind(id).push(")");
        q.execute(conn).await?;
    }
    Ok(())
}

pub async fn insert_activity(
    conn: &mut AnyConnection,
    lead_id: Option<i64>,
    customer_id: Option<i64>,
    d: &ActivityData,
    owner: i64,
    department: Option<i64>,
    now: i64,
) -> Result<Activity> {
    let mut q = Sql::new(
        "INSERT INTO activities (lead_id, customer_id, kind, summary, interest_points, pain_points, next_step, \
         occurred_at_ms, next_follow_up_at_ms, owner_id, department_id, created_at_ms) VALUES (",
    );
    q.bind(lead_id)
        .push(", ")
        .bind(customer_id)
        .push(", ")
        .bind(d.kind.clone())
        .push(", ");
    q.bind(d.summary.clone())
        .push(", ")
        .bind(d.interest_points.clone())
        .push(", ")
        .bind(d.pain_points.clone())
        .push(", ");
    q.bind(d.next_step.clone())
        .push(", ")
        .bind(d.occurred_at_ms)
        .push(", ")
        .bind(d.next_follow_up_at_ms)
        .push(", ");
    q.bind(owner)
        .push(", ")
        .bind(department)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    settle_superseded(conn, lead_id, customer_id).await?;
    let mut q = Sql::new(ACTIVITY_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    activity(&q.fetch_one(conn).await?)
}

pub async fn touch_customer(
    conn: &mut AnyConnection,
    id: i64,
    at: i64,
    next: Option<i64>,
) -> Result<()> {
    // Any follow-up withdraws a pending warning about returning to the pool.
    let mut q = Sql::new("UPDATE customers SET pool_warned_at_ms = NULL, last_activity_at_ms = ");
    q.bind(at)
        .push(", next_follow_up_at_ms = ")
        .bind(next)
        .push(" WHERE id = ")
        .bind(id);
    q.execute(conn).await.map(drop)
}

pub async fn move_activities(
    conn: &mut AnyConnection,
    lead_id: i64,
    customer_id: i64,
) -> Result<()> {
    let mut q = Sql::new("UPDATE activities SET customer_id = ");
    q.bind(customer_id).push(" WHERE lead_id = ").bind(lead_id);
    q.execute(conn).await?;
    // Now the customer's activities: only the latest of them all stays on the agenda.
    settle_superseded(conn, None, Some(customer_id)).await
}

pub async fn follow_ups(
    conn: &mut AnyConnection,
    user_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Activity>> {
    let mut q = Sql::new(ACTIVITY_COLUMNS);
    q.push(" WHERE owner_id = ")
        .bind(user_id)
        .push(" AND next_follow_up_at_ms >= ")
        .bind(from);
    q.push(" AND next_follow_up_at_ms < ")
        .bind(to)
        .push(" ORDER BY next_follow_up_at_ms LIMIT 1000");
    q.fetch_all(conn).await?.iter().map(activity).collect()
}

pub async fn calendar_feed_user(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<i64>> {
    let mut q = Sql::new("SELECT user_id FROM calendar_feeds WHERE token_hash = ");
    q.bind(token_hash.to_owned());
    q.fetch_optional(conn)
        .await?
        .map(|r| col(&r, "user_id"))
        .transpose()
}

pub async fn set_calendar_feed(
    conn: &mut AnyConnection,
    user_id: i64,
    token_hash: &str,
    now: i64,
) -> Result<()> {
    let mut q =
        Sql::new("INSERT INTO calendar_feeds (user_id, token_hash, created_at_ms) VALUES (");
    q.bind(user_id)
        .push(", ")
        .bind(token_hash.to_owned())
        .push(", ")
        .bind(now);
    q.push(") ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at_ms = excluded.created_at_ms");
    q.execute(conn).await.map(drop)
}

const RULE_COLUMNS: &str =
    "SELECT id, priority, region, industry, department_id FROM assignment_rules";

fn rule(row: &AnyRow) -> Result<AssignmentRule> {
    Ok(AssignmentRule {
        id: col(row, "id")?,
        priority: col(row, "priority")?,
        region: col(row, "region")?,
        industry: col(row, "industry")?,
        department_id: col(row, "department_id")?,
    })
}

pub async fn assignment_rules(conn: &mut AnyConnection) -> Result<Vec<AssignmentRule>> {
    let q = Sql::new(&format!("{RULE_COLUMNS} ORDER BY priority, id"));
    q.fetch_all(conn).await?.iter().map(rule).collect()
}

pub async fn insert_rule(
    conn: &mut AnyConnection,
    priority: i64,
    region: Option<&str>,
    industry: Option<&str>,
    department_id: i64,
    now: i64,
) -> Result<AssignmentRule> {
    let mut q = Sql::new("INSERT INTO assignment_rules (priority, region, industry, department_id, created_at_ms) VALUES (");
    q.bind(priority)
        .push(", ")
        .bind(region.map(str::to_owned))
        .push(", ")
        .bind(industry.map(str::to_owned));
    q.push(", ")
        .bind(department_id)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id: i64 = col(&q.fetch_one(conn).await?, "id")?;
    let mut q = Sql::new(RULE_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    rule(&q.fetch_one(conn).await?)
}

pub async fn delete_rule(conn: &mut AnyConnection, id: i64) -> Result<Option<AssignmentRule>> {
    let mut q = Sql::new(RULE_COLUMNS);
    q.push(" WHERE id = ").bind(id);
    let Some(found) = q
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(rule)
        .transpose()?
    else {
        return Ok(None);
    };
    let mut q = Sql::new("DELETE FROM assignment_rules WHERE id = ");
    q.bind(id);
    q.execute(conn).await?;
    Ok(Some(found))
}

/// Round-robin without a counter: the rep who was assigned a lead longest ago (or never) is next.
pub async fn next_rep_in(conn: &mut AnyConnection, department_id: i64) -> Result<Option<i64>> {
    let mut q = Sql::new(
        "SELECT u.id \
         FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id \
         WHERE u.active = 1 AND r.code = 'rep' AND u.department_id = ",
    );
    q.bind(department_id).push(" ORDER BY COALESCE((SELECT MAX(l.assigned_at_ms) FROM leads l WHERE l.owner_id = u.id), 0), u.id LIMIT 1");
    q.fetch_optional(conn)
        .await?
        .map(|r| col(&r, "id"))
        .transpose()
}
