//! Embedded migrations, one file per dialect and version. Each runs in one transaction with its
//! bookkeeping row, so a schema is never half-migrated; a schema newer than this build refuses to run.

use sqlx::Executor;
use stride_app::StoreError;

use crate::sql::{col, Sql};
use crate::{backend, Dialect, Sharing, SqlStore};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// A migration: its number, its name, and the file of that name in each dialect's folder.
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $file, ".sql")),
        }
    };
}

pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "foundation", "0001_foundation"),
    migration!(2, "customers", "0002_customers"),
    migration!(3, "leads", "0003_leads"),
    migration!(4, "inbox", "0004_inbox"),
    migration!(5, "lead_form", "0005_lead_form"),
    migration!(6, "calendar_feeds", "0006_calendar_feeds"),
    migration!(7, "assignment_rules", "0007_assignment_rules"),
    migration!(8, "tiers", "0008_tiers"),
    migration!(9, "sales_policy", "0009_sales_policy"),
    migration!(10, "opportunities", "0010_opportunities"),
    migration!(11, "approvals", "0011_approvals"),
    migration!(12, "contracts", "0012_contracts"),
    migration!(13, "attachments", "0013_attachments"),
    migration!(14, "credit_history", "0014_credit_history"),
    migration!(15, "stage_documents", "0015_stage_documents"),
    migration!(16, "sales_indexes", "0016_sales_indexes"),
    migration!(17, "crm_indexes", "0017_crm_indexes"),
    migration!(18, "agenda", "0018_agenda"),
    migration!(19, "board_totals", "0019_board_totals"),
    migration!(20, "job_batches", "0020_job_batches"),
    migration!(21, "name_bigrams", "0021_name_bigrams"),
    migration!(
        22,
        "department_board_totals",
        "0022_department_board_totals"
    ),
    migration!(23, "name_bigrams_follow", "0023_name_bigrams_follow"),
    migration!(
        24,
        "name_bigrams_skip_ascii",
        "0024_name_bigrams_skip_ascii"
    ),
    migration!(
        25,
        "name_bigrams_by_the_store",
        "0025_name_bigrams_by_the_store"
    ),
    migration!(26, "directory_changes", "0026_directory_changes"),
    migration!(
        27,
        "name_bigrams_without_legal_forms",
        "0027_name_bigrams_without_legal_forms"
    ),
    migration!(28, "keys_compared_bytewise", "0028_keys_compared_bytewise"),
];

/// The schema version this build expects: its last migration.
pub const LATEST_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

impl SqlStore {
    /// Applies every migration this database lacks. Safe when several servers start together.
    pub async fn migrate(&self, now_ms: i64) -> Result<u32, StoreError> {
        self.pool.execute(BOOKKEEPING).await.map_err(backend)?;
        let mut applied = 0;
        for m in MIGRATIONS {
            let mut tx = self.begin_write(Sharing::Alone).await?;
            if self.dialect == Dialect::Postgres {
                // Servers starting together queue here instead of racing on the same DDL.
                tx.execute("SELECT pg_advisory_xact_lock(7424873)")
                    .await
                    .map_err(backend)?;
            }
            let mut q = Sql::new("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = ");
            q.bind(m.version);
            if col::<i64>(&q.fetch_one(&mut tx).await?, "n")? > 0 {
                continue;
            }
            let script = match self.dialect {
                Dialect::Sqlite => m.sqlite,
                Dialect::Postgres => m.postgres,
            };
            sqlx::raw_sql(script)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let mut q =
                Sql::new("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (");
            q.bind(m.version)
                .push(", ")
                .bind(m.name.to_owned())
                .push(", ")
                .bind(now_ms)
                .push(")");
            q.execute(&mut tx).await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
            applied += 1;
        }
        self.schema_version_ok()
            .await
            .map_err(StoreError::Backend)?;
        Ok(applied)
    }

    /// Ok when the schema is exactly the one this build knows.
    pub async fn schema_version_ok(&self) -> Result<(), String> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("schema unknown: {e}"))?;
        match version {
            Some(v) if v == LATEST_VERSION => Ok(()),
            Some(v) if v > LATEST_VERSION => {
                Err(format!("the database schema (version {v}) is newer than this Stride (version {LATEST_VERSION})"))
            }
            v => Err(format!("the database schema is at version {} of {LATEST_VERSION}; run `stride migrate`", v.unwrap_or(0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_without_gaps_and_both_dialects_say_something() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            assert!(
                !m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty(),
                "{}",
                m.name
            );
        }
        assert_eq!(LATEST_VERSION, MIGRATIONS.len() as i64);
    }
}
