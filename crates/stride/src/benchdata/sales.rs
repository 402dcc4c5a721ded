//! The sales process for `bench/sales.sh`: customers, opportunities in every stage and
//! discount approvals with their tasks, bulk-inserted through [`stride_app::ports::BulkWrites`].
//!
//! Everything is a pure function of the row number, so a run is reproducible:
//! - opportunities `1..=10,000` are the open deals of `Bench Region 1/Team 1` (the board the
//!   benchmark loads); later ones go round the teams, that team only getting won or lost ones;
//! - every approval request is a discount request on an opportunity, with one task per step;
//!   all but a pool of pending ones are decided (two steps), the pending ones (one step) wait
//!   for the bench approvers `benchappr01`… so the load run always finds a task to decide;
//!   each has its history: the submission, then an event per decision.
//!
//! Besides, three kinds of people the benchmark logs in as: `benchlead` (sales manager of
//! `Bench Region 1/Team 1`), `benchlegal` (legal, drafts contracts) and the approvers. Ids are
//! explicit, so this needs the fresh database the users part insists on.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use stride_app::org::UserData;
use stride_app::ports::Cell;
use stride_app::App;
use stride_domain::approvals::{
    ApproverRule, FlowDefinition, FlowKind, FlowStep, RequestStatus, StepMode, TaskState,
};

use super::BenchOrg;

/// The open opportunities of the first bench team, the board under load.
pub const BOARD_TEAM_OPEN: usize = 10_000;
/// Rows per transaction: SQLite writes every index page a transaction dirtied at its commit,
/// so fewer, bigger transactions write each page of a randomly filled index fewer times.
const BATCH: usize = 100_000;
pub(super) const DAY_MS: i64 = 86_400_000;

const OPEN_STAGES: [&str; 6] = [
    "first_contact",
    "needs_analysis",
    "proposal",
    "negotiation",
    "letter_of_intent",
    "contract",
];
const PRODUCTS: &[&str] = &[
    "MES 实施",
    "ERP 升级",
    "数据平台",
    "Annual support",
    "IoT rollout",
];

/// How much of the sales process to generate (nothing by default).
#[derive(Args)]
pub struct SalesArgs {
    /// Customers, spread over the bench reps (needed by opportunities and contracts).
    #[arg(long, default_value_t = 0)]
    pub customers: usize,
    /// Opportunities in every stage; the first 10,000 are open deals of Bench Region 1/Team 1.
    #[arg(long, default_value_t = 0)]
    pub opportunities: usize,
    /// Approval task rows in all (discount requests on the opportunities).
    #[arg(long, default_value_t = 0)]
    pub approval_steps: usize,
    /// Approver users `benchappr01`… holding the pending tasks.
    #[arg(long, default_value_t = 32)]
    pub approvers: usize,
    /// Pending tasks per approver (one-step requests); the other tasks are decided.
    #[arg(long, default_value_t = 1_000)]
    pub pending_per_approver: usize,
}

/// A generated opportunity, derived from its id.
struct Deal {
    team: usize,
    stage: &'static str,
    owner: i64,
    customer: i64,
    amount_fen: i64,
}

/// Spreads neighbouring row numbers apart (Knuth's multiplicative hash).
pub(super) fn mix(i: usize) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 7) ^ i
}

struct Plan<'a> {
    org: &'a BenchOrg,
    customers: usize,
    now: i64,
}

impl Plan<'_> {
    fn teams(&self) -> usize {
        self.org.teams.len()
    }

    fn deal(&self, id: usize) -> Deal {
        let h = mix(id);
        let (team, stage) = if id <= BOARD_TEAM_OPEN {
            (0, OPEN_STAGES[id % OPEN_STAGES.len()])
        } else {
            let team = id % self.teams();
            let stage = match h % 8 {
                6 => "won",
                7 => "lost",
                _ if team == 0 => ["won", "lost"][h % 2],
                s => OPEN_STAGES[s],
            };
            (team, stage)
        };
        let reps = &self.org.reps[team];
        // A customer of the same team: ids team+1, team+1+teams, …
        let per_team = (self.customers - 1 - team) / self.teams() + 1;
        let customer = team + 1 + self.teams() * ((h / 11) % per_team);
        Deal {
            team,
            stage,
            owner: reps[(h / 3) % reps.len()],
            customer: customer as i64,
            amount_fen: 1_000_000 * (1 + (h % 500) as i64),
        }
    }

    /// Creation times spread over the last two years, oldest row first.
    fn created_at(&self, n: usize, of: usize) -> i64 {
        self.now - (of - n) as i64 * (730 * DAY_MS / of.max(1) as i64) - DAY_MS
    }
}

pub async fn generate(app: &App, org: &BenchOrg, args: &SalesArgs) -> Result<()> {
    if args.customers == 0 && args.opportunities == 0 && args.approval_steps == 0 {
        return Ok(());
    }
    if org.reps.iter().any(Vec::is_empty) {
        bail!(
            "every bench team needs reps: pass --users {} or more",
            org.teams.len()
        );
    }
    if args.opportunities > 0 && args.customers < org.teams.len() {
        bail!(
            "opportunities need customers: pass --customers {} or more",
            org.teams.len()
        );
    }
    if args.approval_steps > 0 && (args.opportunities == 0 || args.approvers == 0) {
        bail!("approval steps need --opportunities and --approvers");
    }
    let plan = Plan {
        org,
        customers: args.customers,
        now: app.now_ms(),
    };
    let approvers = people(app, org, args.approvers).await?;
    customers(app, &plan).await?;
    opportunities(app, &plan, args.opportunities).await?;
    approvals(app, &plan, args, &approvers).await?;
    println!(
        "created {} customers, {} opportunities ({BOARD_TEAM_OPEN} open in Bench Region 1/Team 1), \
         {} approval tasks; users benchlead (manager), benchlegal (legal), benchappr01…{:02} \
         (password {:?})",
        args.customers,
        args.opportunities,
        args.approval_steps,
        args.approvers,
        super::PASSWORD
    );
    Ok(())
}

/// `benchlead`, `benchlegal` and the approvers; returns the approvers' ids.
async fn people(app: &App, org: &BenchOrg, approvers: usize) -> Result<Vec<i64>> {
    let roles = app.store().roles().await?;
    let role = |code: &str| {
        roles
            .iter()
            .find(|r| r.code == code)
            .map(|r| r.id)
            .with_context(|| format!("built-in role `{code}` missing"))
    };
    let (manager, legal) = (role("manager")?, role("legal")?);
    let user = |username: String, display_name: &str, department_id: i64, role_id: i64| UserData {
        email: Some(format!("{username}@bench.example")),
        username,
        display_name: display_name.to_owned(),
        department_id,
        manager_id: None,
        role_ids: vec![role_id],
        active: true,
        locale: "auto".into(),
        time_zone: org.time_zone.clone(),
    };
    let now = app.now_ms();
    let hash = &org.password_hash;
    let mut tx = app.store().begin_bulk().await?;
    let board_team = org.teams[0];
    tx.insert_user(
        &user("benchlead".into(), "周经理", board_team, manager),
        hash,
        now,
    )
    .await?;
    tx.insert_user(
        &user("benchlegal".into(), "Legal Lin", board_team, legal),
        hash,
        now,
    )
    .await?;
    let mut ids = Vec::with_capacity(approvers);
    for a in 1..=approvers {
        let team = org.teams[a % org.teams.len()];
        let data = user(
            format!("benchappr{a:02}"),
            &format!("审批人 {a:02}"),
            team,
            manager,
        );
        ids.push(tx.insert_user(&data, hash, now).await?.id);
    }
    tx.commit().await?;
    Ok(ids)
}

fn bar(len: usize, what: &str) -> Result<ProgressBar> {
    let bar = ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})"
        ))?
        .progress_chars("=> "),
    );
    bar.set_message("bench-data");
    Ok(bar)
}

/// Inserts rows `1..=count` of `table`, `BATCH` per transaction, made by `row`.
pub(super) async fn insert_all(
    app: &App,
    table: &'static str,
    columns: &[&'static str],
    count: usize,
    mut row: impl FnMut(usize) -> Vec<Cell>,
) -> Result<()> {
    let bar = bar(count, table)?;
    let mut n = 0;
    while n < count {
        let end = (n + BATCH).min(count);
        let rows: Vec<Vec<Cell>> = (n + 1..=end).map(&mut row).collect();
        let mut tx = app.store().begin_bulk().await?;
        tx.bulk_insert(table, columns, &rows).await?;
        tx.commit().await?;
        bar.inc((end - n) as u64);
        n = end;
    }
    bar.finish();
    Ok(())
}

async fn customers(app: &App, plan: &Plan<'_>) -> Result<()> {
    let columns = super::crm::CUSTOMER_COLUMNS;
    insert_all(app, "customers", &columns, plan.customers, |c| {
        let at = plan.created_at(c, plan.customers);
        super::crm::customer_row(&plan.org.crm, c, plan.org.customer_owner(c), at)
    })
    .await
}

async fn opportunities(app: &App, plan: &Plan<'_>, count: usize) -> Result<()> {
    let columns = [
        "id",
        "customer_id",
        "name",
        "amount_fen",
        "expected_close_date",
        "stage",
        "owner_id",
        "department_id",
        "close_reason",
        "closed_at_ms",
        "created_at_ms",
        "updated_at_ms",
    ];
    insert_all(app, "opportunities", &columns, count, |id| {
        let d = plan.deal(id);
        let h = mix(id);
        let at = plan.created_at(id, count);
        let closed = matches!(d.stage, "won" | "lost");
        let month = 1 + h % 12;
        vec![
            Cell::Int(id as i64),
            Cell::Int(d.customer),
            Cell::Text(format!("{} #{id}", PRODUCTS[h % PRODUCTS.len()])),
            Cell::Int(d.amount_fen),
            Cell::Text(format!("2027-{month:02}-15")),
            Cell::Text(d.stage.into()),
            Cell::Int(d.owner),
            Cell::Int(plan.org.teams[d.team]),
            Cell::MaybeText((d.stage == "lost").then(|| "price".into())),
            Cell::MaybeInt(closed.then_some(at + 30 * DAY_MS)),
            Cell::Int(at),
            Cell::Int(at),
        ]
    })
    .await
}

/// One generated approval request: its opportunity, approvers (one per step) and whether the
/// last step rejected it; pending requests have one step, still waiting.
struct Request {
    deal_id: usize,
    approvers: Vec<i64>,
    pending: bool,
    rejected: bool,
}

async fn approvals(app: &App, plan: &Plan<'_>, args: &SalesArgs, approvers: &[i64]) -> Result<()> {
    let pending = (args.approvers * args.pending_per_approver).min(args.approval_steps);
    // Pending requests need distinct open opportunities (one running request per record); take
    // them outside the board team so the board stays as generated.
    let open: Vec<usize> = (BOARD_TEAM_OPEN + 1..=args.opportunities)
        .filter(|&id| {
            let d = plan.deal(id);
            d.team != 0 && OPEN_STAGES.contains(&d.stage)
        })
        .take(pending)
        .collect();
    if open.len() < pending {
        bail!(
            "{pending} pending approvals need as many open opportunities outside the board team; \
             only {} — pass more --opportunities",
            open.len()
        );
    }
    let decided_tasks = args.approval_steps - pending;
    let mut requests = Vec::with_capacity(decided_tasks / 2 + pending + 1);
    let mut left = decided_tasks;
    while left > 0 {
        let r = requests.len() + 1;
        let steps = left.min(2);
        let h = mix(r);
        requests.push(Request {
            deal_id: 1 + h % args.opportunities,
            approvers: (0..steps)
                .map(|s| approvers[(h / 13 + s) % approvers.len()])
                .collect(),
            pending: false,
            rejected: h.is_multiple_of(5),
        });
        left -= steps;
    }
    // Round robin, so every approver holds `pending_per_approver` of them.
    for (p, &deal_id) in open.iter().enumerate() {
        requests.push(Request {
            deal_id,
            approvers: vec![approvers[p % approvers.len()]],
            pending: true,
            rejected: false,
        });
    }

    let count = requests.len();
    let request_columns = [
        "id",
        "kind",
        "record_kind",
        "record_id",
        "record_version",
        "title",
        "amount_fen",
        "discount_bp",
        "snapshot",
        "definition",
        "requester_id",
        "department_id",
        "status",
        "current_step",
        "created_at_ms",
        "updated_at_ms",
        "decided_at_ms",
    ];
    let mut definition_error = None;
    insert_all(app, "approval_requests", &request_columns, count, |id| {
        let r = &requests[id - 1];
        let d = plan.deal(r.deal_id);
        let at = plan.created_at(id, count);
        let definition = FlowDefinition {
            steps: r
                .approvers
                .iter()
                .enumerate()
                .map(|(s, &user_id)| FlowStep {
                    name: ["主管审批 Supervisor", "经理审批 Manager"][s].into(),
                    mode: StepMode::Any,
                    approvers: vec![ApproverRule::User { user_id }],
                    when: None,
                })
                .collect(),
        };
        let definition = serde_json::to_string(&definition).unwrap_or_else(|e| {
            definition_error = Some(e);
            String::new()
        });
        let status = match (r.pending, r.rejected) {
            (true, _) => RequestStatus::Pending,
            (false, true) => RequestStatus::Rejected,
            (false, false) => RequestStatus::Approved,
        };
        vec![
            Cell::Int(id as i64),
            Cell::Text(FlowKind::Discount.as_str().into()),
            Cell::Text(stride_app::discounts::RECORD_KIND.into()),
            Cell::Int(r.deal_id as i64),
            Cell::Int(1),
            Cell::Text(format!("折扣审批 Discount #{}", r.deal_id)),
            Cell::Int(d.amount_fen),
            Cell::Int(1_200),
            Cell::Text(format!(
                r#"{{"stage":"{}","amount_fen":{}}}"#,
                d.stage, d.amount_fen
            )),
            Cell::Text(definition),
            Cell::Int(d.owner),
            Cell::Int(plan.org.teams[d.team]),
            Cell::Text(status.as_str().into()),
            Cell::MaybeInt(r.pending.then_some(0)),
            Cell::Int(at),
            Cell::Int(at),
            Cell::MaybeInt((!r.pending).then_some(at + DAY_MS)),
        ]
    })
    .await?;
    if let Some(e) = definition_error {
        return Err(e.into());
    }

    // Tasks in request order: (request id, step).
    let tasks: Vec<(usize, usize)> = requests
        .iter()
        .enumerate()
        .flat_map(|(r, req)| (0..req.approvers.len()).map(move |s| (r + 1, s)))
        .collect();
    let task_columns = [
        "id",
        "request_id",
        "step_index",
        "step_name",
        "mode",
        "approver_id",
        "status",
        "comment",
        "created_at_ms",
        "decided_at_ms",
    ];
    insert_all(app, "approval_tasks", &task_columns, tasks.len(), |id| {
        let (request_id, step) = tasks[id - 1];
        let r = &requests[request_id - 1];
        let at = plan.created_at(request_id, count) + step as i64 * DAY_MS / 2;
        let last = step + 1 == r.approvers.len();
        let state = match (r.pending, r.rejected && last) {
            (true, _) => TaskState::Pending,
            (false, true) => TaskState::Rejected,
            (false, false) => TaskState::Approved,
        };
        vec![
            Cell::Int(id as i64),
            Cell::Int(request_id as i64),
            Cell::Int(step as i64),
            Cell::Text(["主管审批 Supervisor", "经理审批 Manager"][step].into()),
            Cell::Text(StepMode::Any.as_str().into()),
            Cell::Int(r.approvers[step]),
            Cell::Text(state.as_str().into()),
            Cell::MaybeText(
                (state == TaskState::Rejected).then(|| "折扣过高 discount too deep".into()),
            ),
            Cell::Int(at),
            Cell::MaybeInt((!r.pending).then_some(at + DAY_MS / 4)),
        ]
    })
    .await?;

    // The history a request page shows: its submission, then each decision.
    let events: Vec<(usize, Option<usize>)> = requests
        .iter()
        .enumerate()
        .flat_map(|(r, req)| {
            let decided = if req.pending { 0 } else { req.approvers.len() };
            std::iter::once((r + 1, None)).chain((0..decided).map(move |s| (r + 1, Some(s))))
        })
        .collect();
    let event_columns = [
        "id",
        "request_id",
        "at_ms",
        "actor_id",
        "action",
        "step_index",
        "comment",
    ];
    insert_all(app, "approval_events", &event_columns, events.len(), |id| {
        let (request_id, step) = events[id - 1];
        let r = &requests[request_id - 1];
        let submitted = plan.created_at(request_id, count);
        match step {
            None => vec![
                Cell::Int(id as i64),
                Cell::Int(request_id as i64),
                Cell::Int(submitted),
                Cell::Int(plan.deal(r.deal_id).owner),
                Cell::Text("submitted".into()),
                Cell::MaybeInt(None),
                Cell::MaybeText(None),
            ],
            Some(s) => {
                let rejected = r.rejected && s + 1 == r.approvers.len();
                vec![
                    Cell::Int(id as i64),
                    Cell::Int(request_id as i64),
                    Cell::Int(submitted + s as i64 * DAY_MS / 2 + DAY_MS / 4),
                    Cell::Int(r.approvers[s]),
                    Cell::Text(if rejected { "reject" } else { "approve" }.into()),
                    Cell::MaybeInt(Some(s as i64)),
                    Cell::MaybeText(rejected.then(|| "折扣过高 discount too deep".into())),
                ]
            }
        }
    })
    .await
}
