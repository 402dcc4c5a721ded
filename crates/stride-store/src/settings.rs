//! Organisation settings and the business calendar.

use jiff::civil::Date;
use sqlx::AnyConnection;
use stride_app::settings::OrgSettings;
use stride_app::StoreError;
use stride_domain::calendar::{CalendarDay, DayKind};

use crate::org::versioned;
use crate::sql::{col, Sql};

type Result<T> = std::result::Result<T, StoreError>;

pub async fn org_settings(conn: &mut AnyConnection) -> Result<OrgSettings> {
    let row = Sql::new(
        "SELECT name, time_zone, currency, lead_form_department_id, version FROM org_settings WHERE id = 1",
    )
        .fetch_one(conn)
        .await?;
    Ok(OrgSettings {
        name: col(&row, "name")?,
        time_zone: col(&row, "time_zone")?,
        currency: col(&row, "currency")?,
        lead_form_department_id: col(&row, "lead_form_department_id")?,
        version: col(&row, "version")?,
    })
}

pub async fn update_org_settings(
    conn: &mut AnyConnection,
    version: i64,
    s: &OrgSettings,
    now: i64,
) -> Result<OrgSettings> {
    let mut q = Sql::new("UPDATE org_settings SET name = ");
    q.bind(s.name.clone())
        .push(", time_zone = ")
        .bind(s.time_zone.clone());
    q.push(", lead_form_department_id = ")
        .bind(s.lead_form_department_id);
    q.push(", currency = ")
        .bind(s.currency.clone())
        .push(", updated_at_ms = ")
        .bind(now);
    q.push(", version = version + 1 WHERE id = 1 AND version = ")
        .bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "org_settings", 1).await?;
    org_settings(conn).await
}

fn day(row: &sqlx::any::AnyRow) -> Result<CalendarDay> {
    let date: String = col(row, "day")?;
    let kind: String = col(row, "kind")?;
    Ok(CalendarDay {
        date: date
            .parse()
            .map_err(|e| StoreError::Backend(format!("calendar day {date}: {e}")))?,
        kind: kind
            .parse()
            .map_err(|_| StoreError::Backend(format!("calendar kind {kind}")))?,
        name: col(row, "name")?,
    })
}

/// ISO dates compare correctly as text, on both databases.
pub async fn calendar_days(
    conn: &mut AnyConnection,
    from: Date,
    to: Date,
) -> Result<Vec<CalendarDay>> {
    let mut q = Sql::new("SELECT day, kind, name FROM calendar_days WHERE day >= ");
    q.bind(from.to_string())
        .push(" AND day <= ")
        .bind(to.to_string())
        .push(" ORDER BY day");
    q.fetch_all(conn).await?.iter().map(day).collect()
}

async fn calendar_day(conn: &mut AnyConnection, date: Date) -> Result<Option<CalendarDay>> {
    let mut q = Sql::new("SELECT day, kind, name FROM calendar_days WHERE day = ");
    q.bind(date.to_string());
    q.fetch_optional(conn).await?.as_ref().map(day).transpose()
}

/// Sets a day and returns what it was before.
pub async fn upsert_calendar_day(
    conn: &mut AnyConnection,
    d: &CalendarDay,
) -> Result<Option<CalendarDay>> {
    let before = calendar_day(conn, d.date).await?;
    let mut q = Sql::new("INSERT INTO calendar_days (day, kind, name) VALUES (");
    q.bind(d.date.to_string())
        .push(", ")
        .bind(kind_text(d.kind))
        .push(", ")
        .bind(d.name.clone());
    q.push(") ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name");
    q.execute(conn).await?;
    Ok(before)
}

pub async fn delete_calendar_day(
    conn: &mut AnyConnection,
    date: Date,
) -> Result<Option<CalendarDay>> {
    let before = calendar_day(conn, date).await?;
    let mut q = Sql::new("DELETE FROM calendar_days WHERE day = ");
    q.bind(date.to_string());
    q.execute(conn).await?;
    Ok(before)
}

fn kind_text(k: DayKind) -> String {
    k.as_str().to_owned()
}

pub async fn sales_policy(conn: &mut AnyConnection) -> Result<(Option<String>, i64)> {
    let row = Sql::new("SELECT sales_policy, version FROM org_settings WHERE id = 1")
        .fetch_one(conn)
        .await?;
    Ok((col(&row, "sales_policy")?, col(&row, "version")?))
}

pub async fn set_sales_policy(
    conn: &mut AnyConnection,
    version: i64,
    json: &str,
    now: i64,
) -> Result<i64> {
    let mut q = Sql::new("UPDATE org_settings SET sales_policy = ");
    q.bind(json.to_owned()).push(", updated_at_ms = ").bind(now);
    q.push(", version = version + 1 WHERE id = 1 AND version = ")
        .bind(version);
    let n = q.execute(conn).await?;
    versioned(conn, n, "org_settings", 1).await?;
    Ok(version + 1)
}
