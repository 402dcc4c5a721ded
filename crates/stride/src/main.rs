//! `stride`: the one binary. Wires the store, the use cases and the web layer, and offers the
//! command line (serve, migrate, demo, user, token).

mod benchdata;
mod demo;
mod demo_documents;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use stride_app::{App, AppConfig};
use stride_domain::clock::SystemClock;
use stride_store::{SqlStore, StoreOptions};
use stride_web::WebConfig;

#[derive(Parser)]
#[command(
    name = "stride",
    version,
    about = "Stride — a self-hosted sales management system (销售管理系统)"
)]
struct Cli {
    /// Where the SQLite database lives when no database URL is given, and where attachments
    /// are stored with either database (servers sharing PostgreSQL must share this directory).
    #[arg(
        long,
        global = true,
        env = "STRIDE_DATA_DIR",
        default_value = "./stride-data"
    )]
    data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite://…` for another SQLite file.
    #[arg(long, global = true, env = "STRIDE_DATABASE_URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API.
    Serve {
        #[arg(long, env = "STRIDE_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Mark cookies Secure (when served over HTTPS).
        #[arg(long, env = "STRIDE_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Leave the background jobs to other servers sharing the database, or to
        /// `stride jobs run` from a scheduler.
        #[arg(long, env = "STRIDE_NO_JOBS")]
        no_jobs: bool,
    },
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Create a demo company with a user for every role, then serve it.
    Demo {
        #[arg(long, env = "STRIDE_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import records from a CSV or XLSX file with a header row.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Run background jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    BenchData(benchdata::BenchDataArgs),
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run the jobs that are due now, again and again until nothing is due, then exit: to catch
    /// up after a bulk load or an outage (`stride serve` runs them every minute).
    Run,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password comes from STRIDE_PASSWORD or standard input.
    Add {
        name: String,
        /// A role code: rep, supervisor, manager, assistant, legal, finance, expert, delivery, service, leadership, admin.
        #[arg(long)]
        role: String,
        /// Department path from the top, e.g. "Company/East Region".
        #[arg(long)]
        department: Option<String>,
        /// Display name (default: the user name).
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import leads, owned by user `--as`; the file is imported whole or not at all.
    Leads {
        file: PathBuf,
        /// The user who will own the leads.
        #[arg(long = "as", value_name = "USER")]
        owner: String,
        /// Map a column to a lead field: `--map 客户=company` (repeatable).
        #[arg(long, value_name = "COLUMN=FIELD")]
        map: Vec<String>,
        /// Check and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import rows that look like existing customers or leads.
        #[arg(long)]
        allow_duplicates: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API token for user NAME.
    Create {
        name: String,
        #[arg(long)]
        read_only: bool,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRIDE_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_target(false)
        .init();
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    let url = database_url(&cli)?;
    match cli.command {
        Command::Import {
            command:
                ImportCommand::Leads {
                    file,
                    owner,
                    map,
                    dry_run,
                    allow_duplicates,
                },
        } => {
            let app = open(&url, &cli.data_dir).await?;
            let actor = app.actor_for(&owner).await.map_err(explain)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let mapping = map
                .iter()
                .map(|m| {
                    m.split_once('=')
                        .map(|(c, f)| (c.to_owned(), f.to_owned()))
                        .ok_or_else(|| anyhow::anyhow!("--map takes COLUMN=FIELD, not `{m}`"))
                })
                .collect::<Result<Vec<_>>>()?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("checking, then writing");
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let report = app
                .import_leads(
                    &actor,
                    &bytes,
                    &mapping,
                    dry_run,
                    allow_duplicates,
                    &progress,
                )
                .await
                .map_err(explain)?;
            bar.finish_and_clear();
            for (column, field) in &report.mapping {
                println!("column {column:<16} → {field}");
            }
            for p in &report.problems {
                println!("row {:>6}  {}: {}", p.row, p.field, p.message);
            }
            for d in &report.duplicates {
                use stride_app::import::DuplicateOf;
                let of = match d.duplicate_of {
                    Some(DuplicateOf::Customer(id)) => format!("customer #{id}; "),
                    _ => String::new(),
                };
                println!(
                    "row {:>6}  {}: {} ({of}imported anyway)",
                    d.row, d.field, d.message
                );
            }
            if !report.problems.is_empty() {
                bail!(
                    "{} problem(s) in {} rows; nothing imported",
                    report.problems.len(),
                    report.rows
                );
            }
            if report.dry_run {
                println!("{} rows checked; nothing written (dry run)", report.rows);
            } else {
                println!(
                    "imported {} leads ({} rows flagged as possible duplicates)",
                    report.imported,
                    report
                        .duplicates
                        .iter()
                        .map(|d| d.row)
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                );
            }
            Ok(())
        }
        Command::BenchData(args) => benchdata::run(&open(&url, &cli.data_dir).await?, args).await,
        Command::Jobs {
            command: JobsCommand::Run,
        } => {
            let app = open(&url, &cli.data_dir).await?;
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            let mut total = stride_app::jobs::JobReport::default();
            loop {
                bar.set_message(format!("running due jobs: {} items so far", total.items()));
                let report = app.run_due_jobs().await.map_err(explain)?;
                if report.items() == 0 {
                    break;
                }
                total += report;
            }
            bar.finish_and_clear();
            println!(
                "nothing is due now; handled {} items: {}",
                total.items(),
                serde_json::to_string(&total)?
            );
            Ok(())
        }
        Command::Migrate => {
            let store = connect(&url).await?;
            let applied = store.migrate(now_ms()).await?;
            let app = app(store, &cli.data_dir);
            app.bootstrap().await?;
            println!("schema up to date ({applied} migration(s) applied)");
            Ok(())
        }
        Command::Serve {
            addr,
            secure_cookies,
            no_jobs,
        } => {
            let app = open(&url, &cli.data_dir).await?;
            let config = WebConfig {
                secure_cookies,
                ..WebConfig::default()
            };
            serve(app, &addr, config, !no_jobs, None).await
        }
        Command::Demo { addr } => {
            let app = open(&url, &cli.data_dir).await?;
            let logins = demo::seed(&app).await?;
            serve(app, &addr, WebConfig::default(), true, Some(logins)).await
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    role,
                    department,
                    display_name,
                },
        } => {
            let app = open(&url, &cli.data_dir).await?;
            let password = read_password()?;
            let display = display_name.unwrap_or_else(|| name.clone());
            let user = app
                .add_user_cli(&name, &display, &role, department.as_deref(), &password)
                .await
                .map_err(explain)?;
            println!("added user {} (id {})", user.username, user.id);
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    name,
                    read_only,
                    label,
                },
        } => {
            let app = open(&url, &cli.data_dir).await?;
            let actor = app.actor_for(&name).await.map_err(explain)?;
            let (_, secret) = app
                .create_token(&actor, &label, read_only)
                .await
                .map_err(explain)?;
            println!("{secret}");
            Ok(())
        }
    }
}

fn database_url(cli: &Cli) -> Result<String> {
    if let Some(url) = &cli.database_url {
        return Ok(url.clone());
    }
    std::fs::create_dir_all(&cli.data_dir)
        .with_context(|| format!("creating data directory {}", cli.data_dir.display()))?;
    Ok(format!(
        "sqlite://{}",
        cli.data_dir.join("stride.db").display()
    ))
}

#[allow(clippy::disallowed_methods)]
fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn connect(url: &str) -> Result<SqlStore> {
    // Sized by environment for tuning runs; the store's default otherwise.
    let options = StoreOptions {
        max_connections: std::env::var("STRIDE_DB_POOL")
            .ok()
            .and_then(|v| v.parse().ok()),
    };
    SqlStore::connect(url, options)
        .await
        .with_context(|| format!("opening {}", stride_store::redact(url)))
}

/// Attachments live under the data directory with either database. Servers sharing one
/// PostgreSQL database must share that directory (e.g. a network volume) too.
fn app(store: SqlStore, data_dir: &std::path::Path) -> App {
    let config = AppConfig {
        attachments_dir: data_dir.join("attachments"),
        ..AppConfig::default()
    };
    App::new(Arc::new(store), Arc::new(SystemClock), config)
}

/// Opens the database, migrates it and makes sure the built-in roles and company exist.
async fn open(url: &str, data_dir: &std::path::Path) -> Result<App> {
    let store = connect(url).await?;
    store.migrate(now_ms()).await?;
    let app = app(store, data_dir);
    app.bootstrap().await?;
    Ok(app)
}

async fn serve(
    app: App,
    addr: &str,
    config: WebConfig,
    run_jobs: bool,
    demo_logins: Option<Vec<(String, String)>>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    println!("Stride is running at http://{local}/");
    if let Some(logins) = demo_logins {
        println!("Demo logins (user / password):");
        for (user, role) in logins {
            println!("  {user:<12} / {}   ({role})", demo::PASSWORD);
        }
    }
    if run_jobs {
        spawn_jobs(app.clone());
    }
    stride_web::serve(listener, app, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Runs the background jobs every minute. Every server may run them: each item is claimed once.
fn spawn_jobs(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match app.run_due_jobs().await {
                Ok(report) if report != Default::default() => {
                    tracing::info!(?report, "background jobs")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "background jobs failed"),
            }
        }
    });
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("STRIDE_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprintln!("password (then Enter, Ctrl-D):");
    }
    let mut buf = String::new();
    std::io::stdin().read_to_string(&mut buf)?;
    let password = buf.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given: set STRIDE_PASSWORD or pipe it on standard input");
    }
    Ok(password)
}

/// Turns a refused use case into a readable command-line error.
fn explain(e: stride_app::AppError) -> anyhow::Error {
    match e {
        stride_app::AppError::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
