//! Stride's database: one code path over SQLite (embedded default) and PostgreSQL (scale-out),
//! through sqlx's `Any` driver with portable SQL. Dialect-specific SQL sits behind [`Dialect`].

mod approvals;
mod attachments;
mod audit;
mod auth;
mod bulk;
mod contracts;
mod customers;
mod directory;
mod import;
mod jobs;
mod leads;
mod migrate;
mod name_index;
mod opportunities;
mod org;
mod search_counts;
mod settings;
mod sql;
mod stage_documents;
mod store;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};
use stride_app::StoreError;

use directory::Directory;
pub use migrate::{LATEST_VERSION, MIGRATIONS};
use search_counts::ManyCounts;
use write::{BesideSlots, WriteTurns};
pub(crate) use write::{Sharing, WriteTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A pooled connection idle for longer than this is pinged before it is used again.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(10);

/// Every SQLite connection's settings; [`SqlStore::check_pragmas`] makes sure the safety ones took.
const SQLITE_SETTINGS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000;";

/// PostgreSQL connections that serve the search box plan its statements once, when they are
/// first prepared. Left to itself PostgreSQL planned the read afresh at every execution (it
/// judged the generic plan costlier), a tenth of a common word's search, and planned the same
/// joins each time. The other statements keep custom plans: some depend on their parameters'
/// values. Measured in docs/benchmarks.md (ninth session). The connections are named, so
/// `pg_stat_activity` tells them apart.
const SEARCH_SETTINGS: &str =
    "SET plan_cache_mode = force_generic_plan; SET application_name = 'stride search'";

/// A pool whose connections run `settings` (if any) when they open.
fn pool_options(max_connections: u32, settings: Option<&'static str>) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings every connection it hands out by default: one more round trip (to the
        // server, or to SQLite's worker thread) per query. Only a connection that sat idle
        // long enough to have been dropped by a server restart or a firewall is checked.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(settings) = settings {
                    conn.execute(settings).await?;
                }
                Ok(())
            })
        })
}

/// The store over one database. Cheap to clone; all state lives in the database.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// PostgreSQL: the connections the search box reads on; see [`SEARCH_SETTINGS`].
    search_pool: Option<AnyPool>,
    dialect: Dialect,
    /// SQLite: the write turn and its commit group; see [`write`].
    write_turns: Option<Arc<WriteTurns>>,
    /// The directory reads kept in memory; see [`directory`].
    directory: Arc<Directory>,
    /// PostgreSQL: where transactions beside others are opened (`SqlTx::beside`).
    beside: Option<Arc<BesideSlots>>,
    /// The search box's counts that reached their cap; see [`search_counts`].
    many_counts: Arc<ManyCounts>,
}

/// Connection settings; defaults suit one server on a small machine.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Pool size. Default: 4 for SQLite (one file, writers serial, more threads than cores only
    /// contend — measured in docs/benchmarks.md), 16 for PostgreSQL, which also opens up to
    /// half as many again for the search box as searches come.
    pub max_connections: Option<u32>,
}

/// How every connection logs: statements at trace level, slow ones as warnings.
fn logged<C: ConnectOptions>(options: C) -> C {
    options
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500))
}

impl SqlStore {
    /// Opens `sqlite://…` or `postgres://…`. SQLite files are created when missing.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(StoreError::Backend(format!(
                "unsupported database URL (want sqlite: or postgres://): {}",
                redact(url)
            )));
        };
        let url = match dialect {
            Dialect::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
            }
            _ => url.to_owned(),
        };
        let connect = logged(AnyConnectOptions::from_str(&url).map_err(backend)?);
        let max_connections = options.max_connections.unwrap_or(match dialect {
            Dialect::Sqlite => 4,
            Dialect::Postgres => 16,
        });
        let settings = (dialect == Dialect::Sqlite).then_some(SQLITE_SETTINGS);
        let pool = pool_options(max_connections, settings)
            .min_connections(1)
            .connect_with(connect.clone())
            .await
            .map_err(backend)?;
        // Opened as searches come; half the main pool's size is enough to keep the cores busy.
        let search_pool = (dialect == Dialect::Postgres).then(|| {
            pool_options((max_connections / 2).max(1), Some(SEARCH_SETTINGS))
                .min_connections(0)
                .connect_lazy_with(connect)
        });
        let write_turns = (dialect == Dialect::Sqlite).then(|| Arc::new(WriteTurns::new()));
        let directory = match dialect {
            Dialect::Sqlite => Directory::new(directory::Source::Sqlite(pool.clone())),
            Dialect::Postgres => Directory::new(directory::Source::Postgres(url.clone())),
        };
        let beside = match dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(BesideSlots::of(
                &pool,
                logged(sqlx::postgres::PgConnectOptions::from_str(&url).map_err(backend)?),
            )),
        };
        let store = Self {
            pool,
            search_pool,
            dialect,
            write_turns,
            directory,
            beside,
            many_counts: Arc::default(),
        };
        store.check_pragmas().await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Refuses to run on a SQLite connection whose safety settings did not take.
    async fn check_pragmas(&self) -> Result<(), StoreError> {
        if self.dialect != Dialect::Sqlite {
            return Ok(());
        }
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") || fk != 1 || sync != 2 {
            return Err(StoreError::Backend(format!(
                "SQLite settings did not apply (journal_mode={mode}, foreign_keys={fk}, synchronous={sync})"
            )));
        }
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(search_pool) = &self.search_pool {
            search_pool.close().await;
        }
        self.pool.close().await;
    }
}

/// Hides the password of a database URL for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..s], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
        if db.is_unique_violation() {
            return StoreError::Duplicate {
                field: unique_field(&text).to_owned(),
            };
        }
        if db.is_foreign_key_violation() {
            return StoreError::InUse("other records still refer to this one".into());
        }
    }
    StoreError::Backend(e.to_string())
}

/// Which request field a unique index protects, named the same on both databases.
fn unique_field(text: &str) -> &'static str {
    const FIELDS: [(&str, &str); 5] = [
        ("username", "username"),
        ("roles", "code"),
        ("departments", "name"),
        ("token", "token"),
        ("idempotency", "idempotency_key"),
    ];
    FIELDS
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, f)| *f)
        .unwrap_or("value")
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
