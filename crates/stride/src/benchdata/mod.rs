//! `stride bench-data` (hidden): synthetic users for the load benchmarks in `bench/run.sh`,
//! with `--customers/--opportunities/--approval-steps` the sales process behind
//! `bench/sales.sh` (see [`sales`]), and with `--contacts/--activities/--pool-every` the
//! customer relationship data behind `bench/crm.sh` (see [`crm`]).
//!
//! Users go straight through the store's transaction port in batches, with one password hash
//! shared by all of them, so ten thousand users take seconds rather than the minutes that
//! per-user Argon2 hashing through `App::create_user` would cost. No audit rows are written:
//! this is throw-away data for a throw-away database.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use stride_app::org::{DepartmentData, UserData};
use stride_app::App;

mod crm;
mod leads_csv;
mod sales;

/// The password of every generated user.
pub const PASSWORD: &str = "bench-password";

/// Regions × teams the users are spread over, under the company department.
const REGIONS: usize = 4;
const TEAMS_PER_REGION: usize = 3;
/// Users inserted per transaction.
const BATCH: usize = 1_000;

const ZH_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "欧阳", "司马",
];
const ZH_GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "晓东", "雪梅", "志强", "海燕", "建华",
    "子涵", "浩然", "思雨", "一鸣",
];
const EN_GIVEN: &[&str] = &[
    "Emily", "James", "Olivia", "Michael", "Sophia", "David", "Emma", "Daniel", "Grace", "Kevin",
    "Chloe", "Ryan", "Hannah", "Jason", "Lily", "Eric", "Amy", "Brian", "Sarah", "Tony", "Vivian",
    "Frank", "Helen", "Peter",
];
const EN_SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clark", "Lewis", "Walker", "Hall", "Young",
    "King", "Wright", "Zhou", "Chen", "Wong", "Lee", "Tan", "Lim", "Ng", "Ho",
];

/// Generate synthetic users for benchmarks (see bench/run.sh).
#[derive(Args)]
#[command(hide = true)]
pub struct BenchDataArgs {
    /// How many users to create.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    #[command(flatten)]
    pub sales: sales::SalesArgs,
    #[command(flatten)]
    pub crm: crm::CrmArgs,
    #[command(flatten)]
    pub leads_csv: leads_csv::LeadsCsvArgs,
}

/// Entry point of `stride bench-data`.
pub async fn run(app: &App, args: BenchDataArgs) -> Result<()> {
    if let Some(path) = &args.leads_csv.leads_csv {
        return leads_csv::write(app, &args.leads_csv, path).await.map(drop);
    }
    let mut org = generate_users(app, args.users).await?;
    org.crm = crm::Shape {
        customers: args.sales.customers,
        args: args.crm,
        now: app.now_ms(),
        end_of_today: end_of_today(app.now_ms(), &org.time_zone),
        month: this_month(app.now_ms(), &org.time_zone),
    };
    sales::generate(app, &org, &args.sales).await?;
    crm::generate(app, &org.crm, |c| org.customer_owner(c)).await
}

/// `2026-12` in `time_zone` (UTC when unknown), as the monthly tiering names its periods.
fn this_month(now_ms: i64, time_zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(now_ms)
        .unwrap_or_default()
        .to_zoned(tz)
        .strftime("%Y-%m")
        .to_string()
}

/// The first instant of tomorrow in `time_zone` (UTC when unknown), as the agenda counts days.
fn end_of_today(now_ms: i64, time_zone: &str) -> i64 {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(now_ms)
        .ok()
        .map(|t| t.to_zoned(tz))
        .and_then(|now| now.date().tomorrow().ok().map(|d| (d, now)))
        .and_then(|(d, now)| d.to_zoned(now.time_zone().clone()).ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(now_ms)
}

/// The generated organisation: the bench teams and the reps of each.
pub struct BenchOrg {
    /// `Bench Region 1/Team 1`, `…/Team 2`, … in order.
    pub teams: Vec<i64>,
    /// The rep user ids of each team, in `teams` order.
    pub reps: Vec<Vec<i64>>,
    pub time_zone: String,
    /// The hash of [`PASSWORD`], shared by every generated user.
    pub password_hash: String,
    /// What the customer rows need to know of the contacts and activities to come.
    pub crm: crm::Shape,
}

impl BenchOrg {
    /// Customer `c` (1-based) belongs to team `(c - 1) % teams` and goes round its reps:
    /// (owner, department).
    pub fn customer_owner(&self, c: usize) -> (i64, i64) {
        let team = (c - 1) % self.teams.len();
        let reps = &self.reps[team];
        (
            reps[((c - 1) / self.teams.len()) % reps.len()],
            self.teams[team],
        )
    }
}

/// Creates `count` rep users `bench00001`… spread over `Bench Region N/Team M` departments.
pub async fn generate_users(app: &App, count: usize) -> Result<BenchOrg> {
    if app.store().credentials(&username(1)).await?.is_some() {
        bail!("bench users already exist in this database; start from a fresh one");
    }
    let system = app.system_actor().await?;
    let root = system.department_id;
    let company = app.get_department(&system, root).await?.name;
    let time_zone = app.org_settings().await?.time_zone;
    let role_id = app
        .store()
        .roles()
        .await?
        .into_iter()
        .find(|r| r.code == "rep")
        .map(|r| r.id)
        .context("built-in role `rep` missing; run `stride migrate`")?;

    let mut teams = Vec::with_capacity(REGIONS * TEAMS_PER_REGION);
    for r in 1..=REGIONS {
        let region = department(app, &system, &company, root, &format!("Bench Region {r}")).await?;
        let region_path = format!("Bench Region {r}");
        for t in 1..=TEAMS_PER_REGION {
            let path = format!("{region_path}/Team {t}");
            teams.push(department(app, &system, &company, region, &path).await?);
        }
    }

    let hash = stride_app::auth::hash_password(PASSWORD)?;
    let bar = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} users ({per_sec}, eta {eta})")?
            .progress_chars("=> "),
    );
    bar.set_message("bench-data");
    let mut reps = vec![Vec::new(); teams.len()];
    let mut n = 0;
    while n < count {
        let end = (n + BATCH).min(count);
        let mut tx = app.store().begin_bulk().await?;
        for i in n + 1..=end {
            let data = UserData {
                username: username(i),
                display_name: display_name(i),
                email: Some(format!("{}@bench.example", username(i))),
                department_id: teams[i % teams.len()],
                manager_id: None,
                role_ids: vec![role_id],
                active: true,
                locale: "auto".into(),
                time_zone: time_zone.clone(),
            };
            let user = tx.insert_user(&data, &hash, app.now_ms()).await?;
            reps[i % teams.len()].push(user.id);
        }
        tx.commit().await?;
        bar.inc((end - n) as u64);
        n = end;
    }
    bar.finish();
    println!(
        "created {count} bench users (bench00001…, password {PASSWORD:?}) in {} teams",
        teams.len()
    );
    Ok(BenchOrg {
        teams,
        reps,
        time_zone,
        password_hash: hash,
        crm: crm::Shape::default(),
    })
}

fn username(i: usize) -> String {
    format!("bench{i:05}")
}

/// A deterministic, varied display name: about two in three Chinese, the rest English.
fn display_name(i: usize) -> String {
    // Spread neighbouring indexes apart so consecutive users do not share a surname.
    let h = i.wrapping_mul(2_654_435_761) ^ (i >> 7);
    if h % 3 == 2 {
        let given = EN_GIVEN[(h / 3) % EN_GIVEN.len()];
        let surname = EN_SURNAMES[(h / 97) % EN_SURNAMES.len()];
        format!("{given} {surname}")
    } else {
        let surname = ZH_SURNAMES[(h / 3) % ZH_SURNAMES.len()];
        let given = ZH_GIVEN[(h / 89) % ZH_GIVEN.len()];
        format!("{surname}{given}")
    }
}

/// The id of department `company/path`, created under `parent` when it does not exist yet.
async fn department(
    app: &App,
    system: &stride_app::Actor,
    company: &str,
    parent: i64,
    path: &str,
) -> Result<i64> {
    if let Some(id) = app.department_by_path(&format!("{company}/{path}")).await? {
        return Ok(id);
    }
    let name = path.rsplit('/').next().unwrap_or(path).to_owned();
    let created = app
        .create_department(
            system,
            DepartmentData {
                parent_id: Some(parent),
                name,
            },
        )
        .await?;
    Ok(created.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_varied_and_usernames_padded() {
        assert_eq!(username(1), "bench00001");
        assert_eq!(username(10_000), "bench10000");
        let names: std::collections::HashSet<_> = (1..=1_000).map(display_name).collect();
        assert!(names.len() > 300, "only {} distinct names", names.len());
        assert!(names.iter().any(|n| n.is_ascii()));
        assert!(names.iter().any(|n| !n.is_ascii()));
    }
}
