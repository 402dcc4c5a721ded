//! Customers, contacts and follow-ups for `bench/crm.sh`, bulk-inserted through
//! [`stride_app::ports::BulkWrites`].
//!
//! Everything is a pure function of the row number, so a run is reproducible:
//! - customers carry Chinese (about seven in ten) or English company names, phones, e-mails and
//!   a tier (5 % strategic, 20 % core); with `--pool-every N` every N-th one sits in the public
//!   pool. Owners are the reps of the team the sales part assigns;
//! - contacts and activities go to customers in id order (customer 1 gets the first ones), so
//!   each customer's rows are neighbours, like the rows of a real account added over time;
//! - the newest activity of a customer decides its agenda entry: one in twenty is overdue, one
//!   in twenty falls later today, the others lie ahead or ask for no follow-up. Older activities
//!   had follow-ups that are past and superseded.
//!
//! The customer row also holds what recording the newest activity leaves on the customer
//! (`last_activity_at_ms`, `next_follow_up_at_ms`), as the product keeps them in step.

use anyhow::Result;
use clap::Args;
use stride_app::ports::Cell;
use stride_app::App;
use stride_domain::customers::{normalize_company_name, normalize_email, normalize_phone};

use super::sales::{insert_all, mix, DAY_MS};
use super::{EN_GIVEN, EN_SURNAMES, ZH_GIVEN, ZH_SURNAMES};

const HOUR_MS: i64 = 3_600_000;

/// How much customer relationship data to generate beside the customers (nothing by default).
#[derive(Args, Clone, Default)]
pub struct CrmArgs {
    /// Contacts, spread evenly over the customers.
    #[arg(long, default_value_t = 0)]
    pub contacts: usize,
    /// Follow-up activities, spread evenly over the customers.
    #[arg(long, default_value_t = 0)]
    pub activities: usize,
    /// Every N-th customer sits in the public pool (0: none).
    #[arg(long, default_value_t = 0)]
    pub pool_every: usize,
}

/// What the customer rows need to know of the rest of the data set.
#[derive(Clone, Default)]
pub struct Shape {
    pub customers: usize,
    pub args: CrmArgs,
    pub now: i64,
    /// The end of today in the organisation's time zone, for follow-ups due later today.
    pub end_of_today: i64,
    /// This month (`2026-12`) in the organisation's time zone: the tiering period already run.
    pub month: String,
}

const ZH_CITIES: &[&str] = &[
    "上海", "北京", "深圳", "广州", "杭州", "苏州", "成都", "武汉", "南京", "天津", "重庆", "西安",
    "宁波", "无锡", "青岛", "厦门", "合肥", "长沙", "郑州", "佛山",
];
const EN_CITIES: &[&str] = &[
    "Shanghai",
    "Suzhou",
    "Shenzhen",
    "Hong Kong",
    "Singapore",
    "Beijing",
    "Hangzhou",
    "Ningbo",
];
/// First and second characters of Chinese brand names (华信, 德诚, 宏远…).
const ZH_BRAND_1: &[&str] = &[
    "华", "德", "宏", "金", "瑞", "中", "天", "恒", "新", "东", "远", "国", "博", "鼎", "汇", "盛",
    "嘉", "永", "安", "联", "正", "泰", "信", "明", "兴", "鑫", "海", "光", "智", "立",
];
const ZH_BRAND_2: &[&str] = &[
    "信", "诚", "远", "泰", "丰", "科", "成", "通", "达", "源", "和", "益", "创", "力", "辰", "航",
    "润", "邦", "凯", "峰", "晟", "拓", "亿", "腾", "森", "威", "盈", "捷", "维", "华",
];
const ZH_TRADES: &[&str] = &[
    "精密机械",
    "智能制造",
    "新材料",
    "信息技术",
    "医疗器械",
    "物流",
    "电子",
    "环保科技",
    "化工",
    "汽车零部件",
    "软件",
    "食品",
    "建材",
    "能源",
    "生物科技",
    "光电",
    "纺织",
    "包装",
    "自动化",
    "贸易",
];
const ZH_SUFFIXES: &[&str] = &["有限公司", "股份有限公司", "集团有限公司"];
const EN_BRAND_1: &[&str] = &[
    "Sino",
    "Pacific",
    "Vertex",
    "Orient",
    "Harbor",
    "Summit",
    "Blue",
    "Golden",
    "Apex",
    "Nova",
    "Silver",
    "Bright",
    "Crest",
    "Delta",
    "Evergreen",
    "Pioneer",
];
const EN_BRAND_2: &[&str] = &[
    "tech", "link", "wave", "point", "field", "stone", "bridge", "gate", "star", "line", "way",
    "core",
];
const EN_TRADES: &[&str] = &[
    "Robotics",
    "Software",
    "Logistics",
    "Medical",
    "Electronics",
    "Materials",
    "Automation",
    "Trading",
];
const EN_SUFFIXES: &[&str] = &["Co., Ltd.", "Ltd.", "Inc.", "Holdings"];
const INDUSTRIES: &[&str] = &["manufacturing", "it", "healthcare", "logistics", "retail"];
const SIZES: &[&str] = &["1-49", "50-199", "200-999", "1000+"];
const ZH_TITLES: &[&str] = &[
    "总经理",
    "采购经理",
    "IT 总监",
    "财务总监",
    "生产经理",
    "技术主管",
    "董事长助理",
];
const EN_TITLES: &[&str] = &[
    "General Manager",
    "Purchasing Manager",
    "CTO",
    "CFO",
    "Operations Director",
    "IT Manager",
];
const DECISION_ROLES: &[&str] = &[
    "decision_maker",
    "influencer",
    "user",
    "finance",
    "gatekeeper",
];
const KINDS: &[&str] = &["call", "email", "visit", "meeting", "wechat", "note"];
const ZH_SUMMARIES: &[&str] = &[
    "电话沟通产线改造需求",
    "上门拜访，演示系统",
    "发送报价单，等待反馈",
    "微信确认下周会议时间",
    "与采购讨论付款条件",
    "技术交流，梳理接口清单",
];
const EN_SUMMARIES: &[&str] = &[
    "Call about the rollout plan",
    "Site visit and product demo",
    "Sent the quotation, awaiting feedback",
    "Agreed on next week's meeting",
    "Discussed payment terms with purchasing",
];

/// The columns [`customer_row`] fills, in order.
pub const CUSTOMER_COLUMNS: [&str; 20] = [
    "id",
    "name",
    "name_key",
    "industry",
    "size",
    "region",
    "phone",
    "phone_key",
    "email",
    "email_key",
    "tier",
    "owner_id",
    "department_id",
    "owned_since_ms",
    "last_activity_at_ms",
    "next_follow_up_at_ms",
    "stage",
    "created_at_ms",
    "updated_at_ms",
    "needs",
];

/// Whether customer `c` is written in Chinese (the rest are English).
fn is_chinese(c: usize) -> bool {
    mix(c) % 10 < 7
}

fn company_name(c: usize) -> String {
    let h = mix(c);
    if is_chinese(c) {
        format!(
            "{}{}{}{}{}",
            ZH_CITIES[(h / 10) % ZH_CITIES.len()],
            ZH_BRAND_1[(h / 200) % ZH_BRAND_1.len()],
            ZH_BRAND_2[(h / 6_000) % ZH_BRAND_2.len()],
            ZH_TRADES[(h / 180_000) % ZH_TRADES.len()],
            ZH_SUFFIXES[(h / 3_600_000) % ZH_SUFFIXES.len()],
        )
    } else {
        format!(
            "{}{} {} ({}) {}",
            EN_BRAND_1[(h / 10) % EN_BRAND_1.len()],
            EN_BRAND_2[(h / 160) % EN_BRAND_2.len()],
            EN_TRADES[(h / 1_920) % EN_TRADES.len()],
            EN_CITIES[(h / 15_360) % EN_CITIES.len()],
            EN_SUFFIXES[(h / 122_880) % EN_SUFFIXES.len()],
        )
    }
}

/// A mainland mobile number, different for every `n`.
fn mobile(n: usize) -> String {
    let prefixes = ["138", "139", "136", "186", "135", "150", "177", "189"];
    let h = mix(n);
    format!(
        "+86 {} {:04} {:04}",
        prefixes[h % prefixes.len()],
        (n / 10_000) % 10_000,
        n % 10_000
    )
}

fn person_name(n: usize, chinese: bool) -> String {
    let h = mix(n.wrapping_add(7_919));
    if chinese {
        format!(
            "{}{}",
            ZH_SURNAMES[h % ZH_SURNAMES.len()],
            ZH_GIVEN[(h / 37) % ZH_GIVEN.len()]
        )
    } else {
        format!(
            "{} {}",
            EN_GIVEN[h % EN_GIVEN.len()],
            EN_SURNAMES[(h / 29) % EN_SURNAMES.len()]
        )
    }
}

/// The follow-up the newest activity of customer `c` asks for, relative to the shape's clock.
fn latest_follow_up(shape: &Shape, c: usize) -> Option<i64> {
    let h = mix(c.wrapping_add(104_729));
    match h % 20 {
        0 => Some(shape.now - (1 + (h / 20) as i64 % 5) * DAY_MS),
        1 => {
            let left = (shape.end_of_today - shape.now).max(2);
            Some(shape.now + 1 + (h / 20) as i64 % (left - 1))
        }
        2..=9 => Some(shape.now + (1 + (h / 20) as i64 % 30) * DAY_MS),
        _ => None,
    }
}

/// When the newest activity of customer `c` happened: within the last two weeks.
fn latest_occurred(shape: &Shape, c: usize) -> i64 {
    shape.now - HOUR_MS - (mix(c) as i64 % (14 * 24)) * HOUR_MS
}

/// The customer rows (`id`s `first..`) of the children (`count` of them) spread evenly over the
/// customers: child `n` (1-based) belongs to customer `1 + (n - 1) * customers / count`.
fn parent(shape: &Shape, n: usize, count: usize) -> usize {
    1 + ((n - 1) as u128 * shape.customers as u128 / count as u128) as usize
}

/// The first child of customer `c`, and how many it has.
fn children(shape: &Shape, c: usize, count: usize) -> (usize, usize) {
    // The smallest n with parent(n) >= c is ceil((c - 1) * count / customers) + 1.
    let first = |c: usize| ((c - 1) as u128 * count as u128).div_ceil(shape.customers as u128);
    let lo = first(c);
    let hi = first(c + 1);
    (lo as usize + 1, (hi - lo) as usize)
}

fn in_pool(shape: &Shape, c: usize) -> bool {
    shape.args.pool_every > 0 && c.is_multiple_of(shape.args.pool_every)
}

/// Customer `c`, owned by `owner` (user, department) unless it is one of the pool's, created at
/// `created_at`; in [`CUSTOMER_COLUMNS`] order.
pub fn customer_row(shape: &Shape, c: usize, owner: (i64, i64), created_at: i64) -> Vec<Cell> {
    let h = mix(c);
    let name = company_name(c);
    let chinese = is_chinese(c);
    let phone = if h.is_multiple_of(3) {
        mobile(c)
    } else {
        format!("+86 21 {:08}", 50_000_000 + c % 50_000_000)
    };
    let email = if chinese {
        format!("contact{c}@example.cn")
    } else {
        format!("sales{c}@example.com")
    };
    // `tiers` writes the history of the same split.
    let tier = match h % 20 {
        0 => "strategic",
        1..=4 => "core",
        _ => "ordinary",
    };
    let pooled = in_pool(shape, c);
    let has_activities =
        shape.args.activities > 0 && children(shape, c, shape.args.activities).1 > 0;
    let (last_activity, next_follow_up) = if has_activities {
        (Some(latest_occurred(shape, c)), latest_follow_up(shape, c))
    } else {
        (None, None)
    };
    vec![
        Cell::Int(c as i64),
        Cell::Text(name.clone()),
        Cell::Text(normalize_company_name(&name)),
        Cell::Text(INDUSTRIES[(h / 5) % INDUSTRIES.len()].into()),
        Cell::Text(SIZES[(h / 25) % SIZES.len()].into()),
        Cell::Text(if chinese {
            ZH_CITIES[(h / 10) % ZH_CITIES.len()].into()
        } else {
            EN_CITIES[(h / 15_360) % EN_CITIES.len()].into()
        }),
        Cell::Text(phone.clone()),
        Cell::Text(normalize_phone(&phone)),
        Cell::Text(email.clone()),
        Cell::Text(normalize_email(&email)),
        Cell::Text(tier.into()),
        Cell::MaybeInt((!pooled).then_some(owner.0)),
        Cell::MaybeInt((!pooled).then_some(owner.1)),
        Cell::MaybeInt((!pooled).then_some(created_at)),
        Cell::MaybeInt(last_activity),
        Cell::MaybeInt(next_follow_up),
        Cell::Text(
            if chinese {
                "需求确认"
            } else {
                "needs confirmed"
            }
            .into(),
        ),
        Cell::Int(created_at),
        Cell::Int(created_at),
        Cell::MaybeText(h.is_multiple_of(4).then(|| {
            if chinese {
                "产线数字化改造，预算待定".into()
            } else {
                "Digitising two production lines".into()
            }
        })),
    ]
}

/// Contacts and activities of the customers already inserted; `owner(c)` is the (user,
/// department) customer `c` belongs to, or last belonged to for the pool's customers.
pub async fn generate(app: &App, shape: &Shape, owner: impl Fn(usize) -> (i64, i64)) -> Result<()> {
    let args = &shape.args;
    if args.contacts == 0 && args.activities == 0 {
        return Ok(());
    }
    anyhow::ensure!(
        shape.customers > 0,
        "contacts and activities need customers: pass --customers"
    );
    contacts(app, shape).await?;
    activities(app, shape, &owner).await?;
    tiers(app, shape).await?;
    println!(
        "created {} contacts and {} activities over {} customers{}",
        args.contacts,
        args.activities,
        shape.customers,
        if args.pool_every > 0 {
            format!(", every {}th in the public pool", args.pool_every)
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn contacts(app: &App, shape: &Shape) -> Result<()> {
    let columns = [
        "id",
        "customer_id",
        "name",
        "title",
        "phone",
        "phone_key",
        "email",
        "email_key",
        "wechat",
        "decision_role",
        "created_at_ms",
        "updated_at_ms",
    ];
    let count = shape.args.contacts;
    insert_all(app, "contacts", &columns, count, |n| {
        let c = parent(shape, n, count);
        let chinese = is_chinese(c);
        let h = mix(n);
        let name = person_name(n, chinese);
        let phone = mobile(n + 50_000_000);
        let email = format!(
            "person{n}@{}",
            if chinese { "example.cn" } else { "example.com" }
        );
        let titles = if chinese { ZH_TITLES } else { EN_TITLES };
        let at = latest_occurred(shape, c) - 200 * DAY_MS;
        vec![
            Cell::Int(n as i64),
            Cell::Int(c as i64),
            Cell::Text(name),
            Cell::Text(titles[h % titles.len()].into()),
            Cell::Text(phone.clone()),
            Cell::Text(normalize_phone(&phone)),
            Cell::Text(email.clone()),
            Cell::Text(normalize_email(&email)),
            Cell::MaybeText(chinese.then(|| format!("wx_{n}"))),
            Cell::Text(DECISION_ROLES[(h / 7) % DECISION_ROLES.len()].into()),
            Cell::Int(at),
            Cell::Int(at),
        ]
    })
    .await
}

async fn activities(app: &App, shape: &Shape, owner: &impl Fn(usize) -> (i64, i64)) -> Result<()> {
    let columns = [
        "id",
        "customer_id",
        "kind",
        "summary",
        "next_step",
        "occurred_at_ms",
        "next_follow_up_at_ms",
        "owner_id",
        "department_id",
        "created_at_ms",
        "superseded",
    ];
    let count = shape.args.activities;
    insert_all(app, "activities", &columns, count, |n| {
        let c = parent(shape, n, count);
        let (first, of) = children(shape, c, count);
        // 0 for the newest activity of the customer, counting back.
        let back = (first + of - 1 - n) as i64;
        let h = mix(n);
        let occurred = latest_occurred(shape, c) - back * 21 * DAY_MS;
        let next = if back == 0 {
            latest_follow_up(shape, c)
        } else {
            Some(occurred + 7 * DAY_MS)
        };
        let summaries = if is_chinese(c) {
            ZH_SUMMARIES
        } else {
            EN_SUMMARIES
        };
        let (user, department) = owner(c);
        vec![
            Cell::Int(n as i64),
            Cell::Int(c as i64),
            Cell::Text(KINDS[(h >> 9) % KINDS.len()].into()),
            Cell::Text(summaries[(h >> 13) % summaries.len()].into()),
            Cell::MaybeText(next.map(|_| {
                if is_chinese(c) {
                    "再次电话跟进".into()
                } else {
                    "Call again".into()
                }
            })),
            Cell::Int(occurred),
            Cell::MaybeInt(next),
            Cell::Int(user),
            Cell::Int(department),
            Cell::Int(occurred),
            // As recording a newer activity leaves it (see `activities.superseded`).
            Cell::Int(i64::from(back > 0)),
        ]
    })
    .await
}

/// The tier history of the strategic and core customers (each moved up once, a month ago), and
/// this month's tiering marked as run: a live system has tiered its customers already, and the
/// server re-tiering a million customers on start would both rewrite the generated tiers and
/// hold the write lock for the whole run.
async fn tiers(app: &App, shape: &Shape) -> Result<()> {
    let moved: Vec<(usize, &str)> = (1..=shape.customers)
        .filter_map(|c| match mix(c) % 20 {
            0 => Some((c, "strategic")),
            1..=4 => Some((c, "core")),
            _ => None,
        })
        .collect();
    let columns = ["customer_id", "tier", "score", "reason", "at_ms"];
    let at = shape.now - 30 * DAY_MS;
    insert_all(app, "customer_tiers", &columns, moved.len(), |n| {
        let (c, tier) = moved[n - 1];
        let score = if tier == "strategic" { 85 } else { 65 };
        vec![
            Cell::Int(c as i64),
            Cell::Text(tier.into()),
            Cell::Int(score),
            Cell::Text(format!("score {score}; ordinary → {tier}")),
            Cell::Int(at),
        ]
    })
    .await?;
    let mut tx = app.store().begin_bulk().await?;
    let row = vec![
        Cell::Text("tiering".into()),
        Cell::Text(shape.month.clone()),
        Cell::Int(shape.now),
    ];
    tx.bulk_insert("job_runs", &["job", "period", "at_ms"], &[row])
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(customers: usize, activities: usize) -> Shape {
        Shape {
            customers,
            args: CrmArgs {
                contacts: 0,
                activities,
                pool_every: 50,
            },
            now: 1_000 * DAY_MS,
            end_of_today: 1_000 * DAY_MS + 5 * HOUR_MS,
            month: "2026-12".into(),
        }
    }

    #[test]
    fn children_cover_the_parents_in_order() {
        for (customers, count) in [(10, 25), (7, 3), (1_000, 5_000), (3, 3)] {
            let s = shape(customers, count);
            let mut next = 1;
            for c in 1..=customers {
                let (first, of) = children(&s, c, count);
                assert_eq!(first, next, "customers {customers}, count {count}, c {c}");
                for n in first..first + of {
                    assert_eq!(parent(&s, n, count), c);
                }
                next = first + of;
            }
            assert_eq!(next, count + 1);
        }
    }

    #[test]
    fn names_are_varied_and_agendas_have_due_items() {
        let names: std::collections::HashSet<_> = (1..=10_000).map(company_name).collect();
        assert!(names.len() > 9_000, "only {} distinct names", names.len());
        assert!(names.iter().any(|n| n.is_ascii()));
        assert!(names.iter().any(|n| n.contains("上海")));
        let s = shape(1_000, 5_000);
        let due: Vec<i64> = (1..=1_000)
            .filter_map(|c| latest_follow_up(&s, c))
            .collect();
        assert!(due.iter().any(|&t| t < s.now));
        assert!(due.iter().any(|&t| t > s.now && t < s.end_of_today));
        assert!(due.iter().any(|&t| t > s.end_of_today));
    }
}
