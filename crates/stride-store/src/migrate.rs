//! Embedded migrations, one file per dialect and version. Each runs in one transaction with its
//! bookkeeping row, so a schema is never half-migrated; a schema newer than this build refuses to run.

use sqlx::Executor;
use stride_app::StoreError;

use crate::sql::{col, Sql};
use crate::{backend, Dialect, SqlStore};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "customers",
        sqlite: include_str!("../migrations/sqlite/0002_customers.sql"),
        postgres: include_str!("../migrations/postgres/0002_customers.sql"),
    },
    Migration {
        version: 3,
        name: "leads",
        sqlite: include_str!("../migrations/sqlite/0003_leads.sql"),
        postgres: include_str!("../migrations/postgres/0003_leads.sql"),
    },
    Migration {
        version: 4,
        name: "inbox",
        sqlite: include_str!("../migrations/sqlite/0004_inbox.sql"),
        postgres: include_str!("../migrations/postgres/0004_inbox.sql"),
    },
    Migration {
        version: 5,
        name: "lead_form",
        sqlite: include_str!("../migrations/sqlite/0005_lead_form.sql"),
        postgres: include_str!("../migrations/postgres/0005_lead_form.sql"),
    },
    Migration {
        version: 6,
        name: "calendar_feeds",
        sqlite: include_str!("../migrations/sqlite/0006_calendar_feeds.sql"),
        postgres: include_str!("../migrations/postgres/0006_calendar_feeds.sql"),
    },
    Migration {
        version: 7,
        name: "assignment_rules",
        sqlite: include_str!("../migrations/sqlite/0007_assignment_rules.sql"),
        postgres: include_str!("../migrations/postgres/0007_assignment_rules.sql"),
    },
    Migration {
        version: 8,
        name: "tiers",
        sqlite: include_str!("../migrations/sqlite/0008_tiers.sql"),
        postgres: include_str!("../migrations/postgres/0008_tiers.sql"),
    },
    Migration {
        version: 9,
        name: "sales_policy",
        sqlite: include_str!("../migrations/sqlite/0009_sales_policy.sql"),
        postgres: include_str!("../migrations/postgres/0009_sales_policy.sql"),
    },
];

pub const LATEST_VERSION: i64 = 9;

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

impl SqlStore {
    /// Applies every migration this database lacks. Safe when several servers start together.
    pub async fn migrate(&self, now_ms: i64) -> Result<u32, StoreError> {
        self.pool.execute(BOOKKEEPING).await.map_err(backend)?;
        let mut applied = 0;
        for m in MIGRATIONS {
            let mut tx = self.begin_write().await?;
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
            tx.commit().await.map_err(backend)?;
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

    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.dialect {
            Dialect::Sqlite => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(backend),
            Dialect::Postgres => self.pool.begin().await.map_err(backend),
        }
    }
}
