//! Test harness for Stride: real servers on port 0, a fresh database per test on both backends.

pub mod browser;

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use sqlx::Connection;
use stride_app::org::{DepartmentData, NewUser, UserData};
use stride_app::{App, AppConfig};
use stride_domain::clock::FrozenClock;
use stride_store::{SqlStore, StoreOptions};
use stride_web::WebConfig;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "password-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running Stride server over its own database.
#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub app: App,
    pub backend: Backend,
    pub database_url: String,
    /// The servers' clock: real time at start, moved only by the test.
    pub clock: Arc<FrozenClock>,
    /// Where this server stores attachment contents; peers share it.
    pub attachments_dir: std::path::PathBuf,
    inner: Arc<Inner>,
}

struct Inner {
    _shutdown: oneshot::Sender<()>,
    _dir: Option<TempDir>,
    pg_name: Option<String>,
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn admin_url() -> String {
    std::env::var("STRIDE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Runs one test body against a fresh server on `backend`, then drops its database.
/// A PostgreSQL test is skipped (with a notice) only when no server is reachable and
/// `STRIDE_TEST_REQUIRE_POSTGRES` is not 1; CI sets it, so CI fails instead.
pub async fn run<F, Fut>(test: F, backend: Backend)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let app = match TestApp::spawn(backend).await {
        Ok(app) => app,
        Err(e) if backend == Backend::Postgres && !required("STRIDE_TEST_REQUIRE_POSTGRES") => {
            eprintln!("skipping PostgreSQL test: {e:#}");
            return;
        }
        Err(e) => panic!("could not start a test server on {backend:?}: {e:#}"),
    };
    test(app.clone()).await;
    app.cleanup().await;
}

/// Declares `name::sqlite` and `name::postgres` tests for each `async fn name(app: TestApp)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run(super::$name, $crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::run(super::$name, $crate::Backend::Postgres).await
            }
        }
    )*};
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Result<Self> {
        let suffix: u64 = rand::thread_rng().gen();
        // Every test has its own data directory, for attachments and (on SQLite) the database.
        let dir = std::env::temp_dir().join(format!("stride-test-{suffix:x}"));
        std::fs::create_dir_all(&dir)?;
        let attachments_dir = dir.join("attachments");
        let dir = TempDir(dir);
        let (url, pg_name) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.0.join("stride.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!("stride_test_{suffix:x}");
                sqlx::any::install_default_drivers();
                let mut admin = sqlx::AnyConnection::connect(&admin_url())
                    .await
                    .context("connecting to PostgreSQL")?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                let base = admin_url();
                let url = match base.rfind('/') {
                    Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
                    _ => format!("{base}/{name}"),
                };
                (url, Some(name))
            }
        };
        #[allow(clippy::disallowed_methods)]
        let clock = Arc::new(FrozenClock::at(jiff::Timestamp::now()));
        Self::start(backend, url, attachments_dir, Some(dir), pg_name, clock).await
    }

    async fn start(
        backend: Backend,
        url: String,
        attachments_dir: std::path::PathBuf,
        dir: Option<TempDir>,
        pg_name: Option<String>,
        clock: Arc<FrozenClock>,
    ) -> Result<Self> {
        let store = SqlStore::connect(
            &url,
            StoreOptions {
                max_connections: Some(5),
            },
        )
        .await?;
        store.migrate(0).await?;
        let config = AppConfig {
            attachments_dir: attachments_dir.clone(),
            ..AppConfig::default()
        };
        let app = App::new(Arc::new(store), clock.clone(), config);
        app.bootstrap().await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        let served = app.clone();
        tokio::spawn(async move {
            let _ = stride_web::serve(listener, served, WebConfig::default(), async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Self {
            base,
            app,
            backend,
            database_url: url,
            clock,
            attachments_dir,
            inner: Arc::new(Inner {
                _shutdown: tx,
                _dir: dir,
                pg_name,
            }),
        })
    }

    /// A second server on the same database, as behind a load balancer.
    pub async fn peer(&self) -> Result<TestApp> {
        Self::start(
            self.backend,
            self.database_url.clone(),
            self.attachments_dir.clone(),
            None,
            None,
            self.clock.clone(),
        )
        .await
    }

    async fn cleanup(self) {
        let name = self.inner.pg_name.clone();
        drop(self);
        if let Some(name) = name {
            if let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }

    /// Moves the servers' clock forward.
    pub fn advance_hours(&self, hours: i64) {
        self.clock.advance_ms(hours * 3600 * 1000);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base, None)
    }

    /// Signs in through the API and returns a client carrying the cookie and CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut c = self.anonymous();
        let res = c
            .post(
                "/api/v1/auth/login",
                serde_json::json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(res.status, 200, "login of {username} failed: {}", res.body);
        c.csrf = res.json["csrf_token"].as_str().map(str::to_owned);
        c
    }

    /// A small organisation for scope tests: company → East (→ Team 1), South; users
    /// `admin` (admin, company), `manager` (manager, East), `rep1` (rep, Team 1), `rep2` (rep, South).
    pub async fn seed_org(&self) -> Org {
        let system = self.app.system_actor().await.expect("system actor");
        let root = system.department_id;
        let dept = |parent: i64, name: &str| DepartmentData {
            parent_id: Some(parent),
            name: name.into(),
        };
        let east = self
            .app
            .create_department(&system, dept(root, "East"))
            .await
            .expect("east")
            .id;
        let team1 = self
            .app
            .create_department(&system, dept(east, "Team 1"))
            .await
            .expect("team1")
            .id;
        let south = self
            .app
            .create_department(&system, dept(root, "South"))
            .await
            .expect("south")
            .id;
        let roles = self.app.store().roles().await.expect("roles");
        let role = |code: &str| {
            roles
                .iter()
                .find(|r| r.code == code)
                .map(|r| r.id)
                .expect("role")
        };
        let mut ids = Vec::new();
        for (name, code, department_id) in [
            ("admin", "admin", root),
            ("manager", "manager", east),
            ("rep1", "rep", team1),
            ("rep2", "rep", south),
        ] {
            let data = UserData {
                username: name.into(),
                display_name: format!("{name} 用户"),
                email: None,
                department_id,
                manager_id: None,
                role_ids: vec![role(code)],
                active: true,
                locale: "auto".into(),
                time_zone: "Asia/Shanghai".into(),
            };
            ids.push(
                self.app
                    .create_user(
                        &system,
                        NewUser {
                            data,
                            password: PASSWORD.into(),
                        },
                    )
                    .await
                    .expect("user")
                    .id,
            );
        }
        Org {
            root,
            east,
            team1,
            south,
            admin: ids[0],
            manager: ids[1],
            rep1: ids[2],
            rep2: ids[3],
        }
    }
}

impl TestApp {
    /// Adds an active user with one built-in role, signing in with [`PASSWORD`].
    pub async fn add_user(
        &self,
        username: &str,
        role_code: &str,
        department_id: i64,
        manager_id: Option<i64>,
    ) -> i64 {
        let system = self.app.system_actor().await.expect("system actor");
        let roles = self.app.store().roles().await.expect("roles");
        let role = roles
            .iter()
            .find(|r| r.code == role_code)
            .map(|r| r.id)
            .expect("role");
        let data = UserData {
            username: username.into(),
            display_name: format!("{username} 用户"),
            email: None,
            department_id,
            manager_id,
            role_ids: vec![role],
            active: true,
            locale: "auto".into(),
            time_zone: "Asia/Shanghai".into(),
        };
        let user = NewUser {
            data,
            password: PASSWORD.into(),
        };
        self.app.create_user(&system, user).await.expect("user").id
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Org {
    pub root: i64,
    pub east: i64,
    pub team1: i64,
    pub south: i64,
    pub admin: i64,
    pub manager: i64,
    pub rep1: i64,
    pub rep2: i64,
}

/// An HTTP client bound to one server, with optional session cookie, CSRF token or bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

/// A response read whole: status, headers, body text and (when JSON) the parsed body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (lossy for binary bodies; see `bytes`).
    pub body: String,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl Reply {
    async fn read(res: reqwest::Response) -> Reply {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            bytes,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn etag(&self) -> String {
        self.header("etag").unwrap_or_default().to_owned()
    }
    /// The `field` of each entry of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Client {
    pub fn new(base: &str, bearer: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            http,
            base: base.to_owned(),
            csrf: None,
            bearer,
        }
    }

    pub fn with_bearer(&self, token: &str) -> Client {
        Client::new(&self.base, Some(token.to_owned()))
    }

    fn headers(&self, extra: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(csrf) = &self.csrf {
            h.insert(
                "x-csrf-token",
                HeaderValue::from_str(csrf).expect("csrf header"),
            );
        }
        if let Some(b) = &self.bearer {
            h.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {b}")).expect("bearer header"),
            );
        }
        for (k, v) in extra {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        h
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .headers(self.headers(extra));
        if let Some(b) = body {
            req = req.json(&b);
        }
        Reply::read(req.send().await.expect("request sent")).await
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .headers(self.headers(extra))
            .body(body);
        Reply::read(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }
    /// Every item of a cursor-paged list, following `next_cursor` from the first page of `path`
    /// (which may carry its own query, e.g. `?limit=3`) to the last; each page must answer 200.
    pub async fn every_item(&self, path: &str) -> Vec<Value> {
        let joiner = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut page = self.get(path).await;
        loop {
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            items.extend(
                page.json["items"]
                    .as_array()
                    .expect("a list")
                    .iter()
                    .cloned(),
            );
            match page.json["next_cursor"].as_str() {
                Some(next) => page = self.get(&format!("{path}{joiner}cursor={next}")).await,
                None => return items,
            }
        }
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(body), &[])
            .await
    }
    pub async fn patch(&self, path: &str, etag: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::PATCH,
            path,
            Some(body),
            &[("if-match", etag)],
        )
        .await
    }
    /// Reads the record at `path` for its current ETag, then patches it.
    pub async fn patch_current(&self, path: &str, body: Value) -> Reply {
        let etag = self.get(path).await.etag();
        self.patch(path, &etag, body).await
    }
    pub async fn delete(&self, path: &str, etag: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, None, &[("if-match", etag)])
            .await
    }
    /// One unlabelled or fully labelled series of `/metrics`, e.g. `stride_sqlite_writes_total`
    /// or `stride_directory_reads_total{answer="memory"}`.
    pub async fn metric(&self, series: &str) -> Option<u64> {
        let text = self.get("/metrics").await.body;
        text.lines().find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .parse::<u64>()
                .ok()
        })
    }
}
