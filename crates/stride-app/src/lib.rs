//! Stride use cases. One service function per thing a user does; authorization is decided here,
//! once, by turning the acting user into a [`Reach`] that every store query takes.

pub mod actor;
pub mod approvals;
pub mod assignment;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod contracts;
pub mod customers;
pub mod discounts;
pub mod error;
pub mod feeds;
pub mod idempotency;
pub mod import;
pub mod jobs;
pub mod leads;
pub mod opportunities;
pub mod org;
pub mod page;
pub mod ports;
pub mod products;
pub mod settings;
pub mod setup;
pub mod stage_documents;
pub mod tiers;

use std::path::PathBuf;
use std::sync::Arc;

use stride_domain::clock::Clock;

pub use actor::{Actor, AuthMethod, Reach};
pub use error::{AppError, AppResult, FieldError};
pub use ports::{DirectoryCounts, Store, StoreError, Tx, WriteCounts};

/// Tunables of the use cases; defaults are production values.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a login session lives, in milliseconds.
    pub session_ttl_ms: i64,
    /// Failed logins per account inside the window before the account is throttled.
    pub max_failures_per_account: i64,
    /// Failed logins per client address inside the window before the address is throttled.
    pub max_failures_per_ip: i64,
    /// The throttling window, in milliseconds.
    pub throttle_window_ms: i64,
    /// Where attachment contents are stored, named by their SHA-256. Servers sharing one
    /// PostgreSQL database must share this directory too.
    pub attachments_dir: PathBuf,
    /// The largest attachment accepted, in bytes.
    pub attachment_max_bytes: u64,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_ttl_ms: 7 * 24 * 3600 * 1000,
            max_failures_per_account: 5,
            max_failures_per_ip: 30,
            throttle_window_ms: 15 * 60 * 1000,
            attachments_dir: PathBuf::from("stride-data/attachments"),
            attachment_max_bytes: 20 * 1024 * 1024,
        }
    }
}

/// The application: every use case is a method, grouped by business area in the modules above.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: AppConfig,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        Self {
            store,
            clock,
            config,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }

    /// Whether the database answers and its schema is the one this build expects.
    pub async fn readiness(&self) -> Result<(), String> {
        self.store.readiness().await
    }
}
