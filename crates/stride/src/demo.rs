//! `stride demo`: a lived-in company so a newcomer's first look has something to see.

mod contracts;

use anyhow::Result;
use stride_app::org::{DepartmentData, NewUser, UserData};
use stride_app::App;
use stride_domain::calendar::{CalendarDay, DayKind};

/// Every demo user's password, printed at start.
pub const PASSWORD: &str = "stride-demo";

/// (login, display name, role code, department path)
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("admin", "系统管理员", "admin", ""),
    ("ceo", "王总 Wang Wei", "leadership", ""),
    ("manager", "李经理 Li Na", "manager", "华东大区 East Region"),
    (
        "supervisor",
        "张主管 Zhang Qiang",
        "supervisor",
        "华东大区 East Region",
    ),
    (
        "rep",
        "陈晓 Chen Xiao",
        "rep",
        "华东大区 East Region/上海一组 Shanghai Team 1",
    ),
    (
        "rep2",
        "Emily Zhou",
        "rep",
        "华东大区 East Region/杭州组 Hangzhou Team",
    ),
    (
        "rep3",
        "刘洋 Liu Yang",
        "rep",
        "华南大区 South Region/深圳组 Shenzhen Team",
    ),
    (
        "assistant",
        "赵敏 Zhao Min",
        "assistant",
        "华东大区 East Region",
    ),
    ("legal", "孙律师 Sun Li", "legal", ""),
    ("finance", "周会计 Zhou Jing", "finance", ""),
    ("expert", "吴工 Wu Hao", "expert", ""),
    ("delivery", "郑交付 Zheng Kai", "delivery", ""),
    ("service", "冯客服 Feng Yu", "service", ""),
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("", "华东大区 East Region"),
    ("华东大区 East Region", "上海一组 Shanghai Team 1"),
    ("华东大区 East Region", "杭州组 Hangzhou Team"),
    ("", "华南大区 South Region"),
    ("华南大区 South Region", "深圳组 Shenzhen Team"),
];

/// Official 2026 public holidays and make-up working days (国务院办公厅通知).
const CALENDAR_2026: &[(&str, DayKind, &str)] = &[
    ("2026-01-01", DayKind::Holiday, "元旦"),
    ("2026-01-02", DayKind::Holiday, "元旦"),
    ("2026-01-03", DayKind::Holiday, "元旦"),
    ("2026-01-04", DayKind::Workday, "元旦调休"),
    ("2026-02-14", DayKind::Workday, "春节调休"),
    ("2026-02-15", DayKind::Holiday, "春节"),
    ("2026-02-16", DayKind::Holiday, "春节"),
    ("2026-02-17", DayKind::Holiday, "春节"),
    ("2026-02-18", DayKind::Holiday, "春节"),
    ("2026-02-19", DayKind::Holiday, "春节"),
    ("2026-02-20", DayKind::Holiday, "春节"),
    ("2026-02-21", DayKind::Holiday, "春节"),
    ("2026-02-22", DayKind::Holiday, "春节"),
    ("2026-02-23", DayKind::Holiday, "春节"),
    ("2026-02-28", DayKind::Workday, "春节调休"),
    ("2026-10-01", DayKind::Holiday, "国庆节"),
    ("2026-10-02", DayKind::Holiday, "国庆节"),
    ("2026-10-03", DayKind::Holiday, "国庆节"),
    ("2026-10-04", DayKind::Holiday, "国庆节"),
    ("2026-10-05", DayKind::Holiday, "国庆节"),
    ("2026-10-06", DayKind::Holiday, "国庆节"),
    ("2026-10-07", DayKind::Holiday, "国庆节"),
];

/// Seeds the demo company once; later runs find it and only report the logins.
pub async fn seed(app: &App) -> Result<Vec<(String, String)>> {
    let system = app.system_actor().await?;
    let logins = PEOPLE
        .iter()
        .map(|(u, _, r, _)| (u.to_string(), r.to_string()))
        .collect();
    if app.store().credentials("admin").await?.is_some() {
        return Ok(logins);
    }
    let settings = app.org_settings().await?;
    app.update_org_settings(
        &system,
        settings.version,
        stride_app::settings::SettingsPatch {
            name: Some("星河科技 Galaxy Tech".into()),
            ..Default::default()
        },
    )
    .await?;
    let root = system.department_id;
    let company = app.get_department(&system, root).await?;
    let patch = stride_app::org::DepartmentPatch {
        name: Some("星河科技 Galaxy Tech".into()),
        parent_id: None,
    };
    app.update_department(&system, root, company.version, patch)
        .await?;
    for (parent, name) in DEPARTMENTS {
        let parent_id = if parent.is_empty() {
            root
        } else {
            department(app, parent).await?
        };
        app.create_department(
            &system,
            DepartmentData {
                parent_id: Some(parent_id),
                name: (*name).into(),
            },
        )
        .await?;
    }
    let roles = app.store().roles().await?;
    let mut manager_of_east = None;
    for (username, display, role, path) in PEOPLE {
        let department_id = if path.is_empty() {
            root
        } else {
            department(app, path).await?
        };
        let role_id = roles
            .iter()
            .find(|r| r.code == *role)
            .map(|r| r.id)
            .unwrap_or_default();
        let data = UserData {
            username: (*username).into(),
            display_name: (*display).into(),
            email: Some(format!("{username}@galaxy-tech.example")),
            department_id,
            manager_id: if path.starts_with("华东") && *role != "manager" {
                manager_of_east
            } else {
                None
            },
            role_ids: vec![role_id],
            active: true,
            locale: if *username == "rep2" {
                "en".into()
            } else {
                "auto".into()
            },
            time_zone: "Asia/Shanghai".into(),
        };
        let user = app
            .create_user(
                &system,
                NewUser {
                    data,
                    password: PASSWORD.into(),
                },
            )
            .await?;
        if *role == "manager" {
            manager_of_east = Some(user.id);
        }
    }
    for (date, kind, name) in CALENDAR_2026 {
        let day = CalendarDay {
            date: date.parse()?,
            kind: *kind,
            name: (*name).into(),
        };
        app.set_calendar_day(&system, day).await?;
    }
    seed_sales(app).await?;
    Ok(logins)
}

async fn department(app: &App, path: &str) -> Result<i64> {
    app.department_by_path(&format!("星河科技 Galaxy Tech/{path}"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo department {path} missing"))
}

/// A demo lead: owner login, company, contact, phone, source, and what is known of
/// (need, budget, decision chain).
type DemoLead = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    [bool; 3],
);

const LEADS: &[DemoLead] = &[
    (
        "rep",
        "宁德时代新能源科技股份有限公司",
        "曾先生",
        "13800000001",
        "exhibition",
        [true, true, true],
    ),
    (
        "rep",
        "Globex Corporation",
        "Hank Scorpio",
        "+1 415 555 0101",
        "website",
        [true, false, false],
    ),
    (
        "rep",
        "杭州随问科技有限公司",
        "周小姐",
        "13800000003",
        "cold_call",
        [false, false, false],
    ),
    (
        "rep2",
        "Initech Ltd.",
        "Bill Lumbergh",
        "+44 20 7946 0000",
        "referral",
        [true, true, false],
    ),
    (
        "rep2",
        "苏州精密制造有限公司",
        "吴工",
        "13800000005",
        "partner",
        [true, true, true],
    ),
    (
        "rep3",
        "深圳华强电子有限公司",
        "黄经理",
        "13800000006",
        "social_media",
        [true, false, true],
    ),
    (
        "rep3",
        "Umbrella Pharma GmbH",
        "Alice Marker",
        "+49 30 901820",
        "campaign",
        [false, false, false],
    ),
];

/// Demo leads that carry their unified social credit code (统一社会信用代码); the converted one
/// hands it to its customer.
const LEAD_CREDIT_CODES: &[(&str, &str)] = &[
    ("宁德时代新能源科技股份有限公司", "91350900MA2XN0001J"),
    ("苏州精密制造有限公司", "91320505MA1MX0003B"),
    ("深圳华强电子有限公司", "91440300MA5FT0004W"),
];

/// (owner login or "" for the public pool, name, industry, phone, rating)
const CUSTOMERS: &[(&str, &str, &str, &str, &str)] = &[
    ("rep", "华为技术有限公司", "通信", "0755-28780808", "AAA"),
    ("rep", "招商银行股份有限公司", "金融", "0755-95555", "AA"),
    (
        "rep",
        "Acme Trading Co., Ltd.",
        "Retail",
        "+86 21 5555 0100",
        "B",
    ),
    (
        "rep2",
        "阿里巴巴(中国)有限公司",
        "互联网",
        "0571-85022088",
        "AAA",
    ),
    (
        "rep2",
        "Contoso Manufacturing Inc.",
        "Manufacturing",
        "+1 206 555 0142",
        "A",
    ),
    ("rep3", "比亚迪股份有限公司", "汽车", "0755-89888888", "AA"),
    ("", "小米科技有限责任公司", "消费电子", "010-60606666", "A"),
    (
        "",
        "Wayne Enterprises",
        "Conglomerate",
        "+1 212 555 0199",
        "C",
    ),
];

/// Leads in every grade and state, customers with contacts and follow-ups (some overdue),
/// and customers waiting in the public pool.
async fn seed_sales(app: &App) -> Result<()> {
    use stride_app::customers::{ContactData, CustomerData};
    use stride_app::leads::{ActivityData, LeadData};

    let now = app.now_ms();
    seed_products(app).await?;
    for (i, (owner, company, contact, phone, source, [need, budget, chain])) in
        LEADS.iter().enumerate()
    {
        let actor = app.actor_for(owner).await?;
        let data = LeadData {
            company: (*company).into(),
            contact_name: Some((*contact).into()),
            phone: Some((*phone).into()),
            source: (*source).into(),
            explicit_need: *need,
            budget_known: *budget,
            decision_chain_known: *chain,
            need: need.then(|| "CRM 与销售流程数字化 / CRM rollout".to_owned()),
            credit_code: LEAD_CREDIT_CODES
                .iter()
                .find(|(name, _)| name == company)
                .map(|(_, code)| (*code).to_owned()),
            ..Default::default()
        };
        let lead = app.create_lead(&actor, data, true).await?;
        // Every other lead has had its first contact; one of those is converted.
        if i % 2 == 0 && lead.status == "new" {
            let call = ActivityData {
                kind: "first_contact".into(),
                summary: "首次电话沟通,确认需求 / first call, need confirmed".into(),
                interest_points: Some("销售漏斗、回款跟踪".into()),
                pain_points: Some("线索响应慢".into()),
                next_step: Some("安排需求调研 / schedule needs analysis".into()),
                occurred_at_ms: now - 3_600_000,
                next_follow_up_at_ms: Some(now + 2 * 86_400_000),
            };
            let (lead, _) = app.record_first_contact(&actor, lead.id, call).await?;
            if i == 4 {
                app.convert_lead(&actor, lead.id, lead.version).await?;
            }
        }
    }
    let mut customer_ids = Vec::new();
    for (i, (owner, name, industry, phone, rating)) in CUSTOMERS.iter().enumerate() {
        let actor = if owner.is_empty() {
            app.actor_for("admin").await?
        } else {
            app.actor_for(owner).await?
        };
        let data = CustomerData {
            name: (*name).into(),
            industry: Some((*industry).into()),
            phone: Some((*phone).into()),
            credit_rating: Some((*rating).into()),
            credit_limit_minor: 50_000_000,
            region: Some(
                if i % 2 == 0 {
                    "华东 East"
                } else {
                    "华南 South"
                }
                .into(),
            ),
            ..Default::default()
        };
        let customer = app.create_customer(&actor, data, true).await?;
        customer_ids.push((*name, customer.id));
        if owner.is_empty() {
            app.release_customer(&actor, customer.id).await?;
            continue;
        }
        let contact = ContactData {
            name: format!(
                "{}联系人 Contact",
                &name.chars().take(2).collect::<String>()
            ),
            title: Some("采购经理 Purchasing manager".into()),
            decision_role: Some(
                if i % 2 == 0 {
                    "decision_maker"
                } else {
                    "influencer"
                }
                .into(),
            ),
            ..Default::default()
        };
        app.create_contact(&actor, customer.id, contact).await?;
        // A follow-up each; every third one is already overdue.
        let follow_up = if i % 3 == 0 {
            now - 86_400_000
        } else {
            now + (i as i64 + 1) * 3_600_000
        };
        let visit = ActivityData {
            kind: if i % 2 == 0 { "visit" } else { "wechat" }.into(),
            summary: "回访客户,介绍新产品 / revisit, presented the new product line".into(),
            next_step: Some("发送报价 / send a quote".into()),
            occurred_at_ms: now - 2 * 86_400_000,
            next_follow_up_at_ms: Some(follow_up),
            ..Default::default()
        };
        app.record_activity(&actor, None, Some(customer.id), visit)
            .await?;
        demo_attachment(app, &actor, i, customer.id).await?;
    }
    seed_opportunities(app, &customer_ids).await?;
    crate::demo_documents::seed(app).await?;
    demo_queue_and_escalation(app).await?;
    demo_credit_and_revisit(app).await?;
    contracts::seed(app).await
}

/// (code, name, unit, list price, cost) in fen; the last one is no longer sold.
const PRODUCTS: &[(&str, &str, &str, i64, i64)] = &[
    ("CRM-STD", "星河 CRM 标准版", "用户/年", 120_000, 30_000),
    ("CRM-ENT", "星河 CRM 企业版", "用户/年", 240_000, 60_000),
    (
        "BI-PRO",
        "Galaxy BI Professional",
        "licence",
        5_000_000,
        1_500_000,
    ),
    (
        "IMPL-DAY",
        "实施服务(人天) Implementation day",
        "人天",
        250_000,
        120_000,
    ),
    (
        "TRAIN",
        "Sales training workshop 销售培训",
        "session",
        800_000,
        300_000,
    ),
    ("KIOSK", "智能终端 Smart kiosk", "台", 1_800_000, 1_100_000),
    (
        "CRM-2019",
        "星河 CRM 2019 (停售 discontinued)",
        "套",
        9_900_000,
        4_000_000,
    ),
];

/// The product catalogue, with one discontinued product.
async fn seed_products(app: &App) -> Result<()> {
    use stride_app::products::{ProductData, ProductPatch};
    let admin = app.actor_for("admin").await?;
    for (code, name, unit, list, cost) in PRODUCTS {
        let product = app
            .create_product(
                &admin,
                ProductData {
                    code: (*code).into(),
                    name: (*name).into(),
                    unit: (*unit).into(),
                    list_price_fen: *list,
                    cost_fen: *cost,
                    active: true,
                },
            )
            .await?;
        if *code == "CRM-2019" {
            let patch = ProductPatch {
                active: Some(false),
                ..Default::default()
            };
            app.update_product(&admin, product.id, product.version, patch)
                .await?;
        }
    }
    Ok(())
}

/// A demo opportunity: owner login, customer, name, stage it reached, days to the expected close,
/// lines (product code, quantity, discount bp), and how it ended (outcome, reason, competitor).
type DemoOpportunity = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static [(&'static str, i64, i64)],
    Option<(&'static str, &'static str, Option<&'static str>)>,
);

const OPPORTUNITIES: &[DemoOpportunity] = &[
    (
        "rep",
        "Acme Trading Co., Ltd.",
        "Acme CRM pilot",
        "first_contact",
        90,
        &[("CRM-STD", 20, 0)],
        None,
    ),
    (
        "rep3",
        "比亚迪股份有限公司",
        "比亚迪 经销商 CRM",
        "needs_analysis",
        75,
        &[("CRM-ENT", 300, 1500), ("IMPL-DAY", 40, 0)],
        None,
    ),
    (
        "rep",
        "招商银行股份有限公司",
        "招行 BI 分析平台",
        "proposal",
        60,
        &[("BI-PRO", 2, 500), ("IMPL-DAY", 15, 0)],
        None,
    ),
    (
        "rep2",
        "阿里巴巴(中国)有限公司",
        "阿里 销售云 企业版",
        "negotiation",
        45,
        &[("CRM-ENT", 500, 2000), ("TRAIN", 4, 0)],
        None,
    ),
    (
        "rep2",
        "Contoso Manufacturing Inc.",
        "Contoso kiosk rollout",
        "letter_of_intent",
        30,
        &[("KIOSK", 12, 800), ("IMPL-DAY", 6, 0)],
        None,
    ),
    (
        "rep",
        "华为技术有限公司",
        "华为 销售云 200 用户",
        "contract",
        14,
        &[("CRM-ENT", 200, 1000), ("IMPL-DAY", 20, 500)],
        None,
    ),
    (
        "rep",
        "华为技术有限公司",
        "华为 销售培训",
        "proposal",
        -10,
        &[("TRAIN", 3, 0)],
        Some(("won", "relationship", None)),
    ),
    (
        "rep3",
        "比亚迪股份有限公司",
        "比亚迪 门店终端",
        "negotiation",
        -20,
        &[("KIOSK", 30, 1200)],
        Some(("lost", "price", None)),
    ),
    (
        "rep2",
        "阿里巴巴(中国)有限公司",
        "阿里 BI 看板",
        "proposal",
        -5,
        &[("BI-PRO", 1, 0)],
        Some(("lost", "competitor", Some("帆软 FineBI"))),
    ),
    (
        "rep2",
        "Contoso Manufacturing Inc.",
        "Contoso CRM renewal",
        "contract",
        -2,
        &[("CRM-STD", 80, 500)],
        Some(("won", "product_fit", None)),
    ),
];

/// Opportunities in every stage for the demo reps, some won and some lost with their reasons.
/// The stage gates ask for documents that do not exist yet in the demo, so they are switched off
/// while the opportunities move and switched back on afterwards.
async fn seed_opportunities(app: &App, customers: &[(&str, i64)]) -> Result<()> {
    use stride_app::opportunities::{CloseInput, LineInput, NewOpportunityInput};
    use stride_app::page::{PageRequest, MAX_LIMIT};
    use stride_app::products::ProductFilter;
    use stride_domain::opportunities::Stage;

    let admin = app.actor_for("admin").await?;
    let products = app
        .list_products(
            &admin,
            &ProductFilter::default(),
            PageRequest {
                limit: MAX_LIMIT,
                after: None,
            },
        )
        .await?
        .items;
    let gated = app.opportunity_stages().await?;
    let open_gates = gated
        .stages
        .iter()
        .cloned()
        .map(|mut c| {
            c.requires.clear();
            c
        })
        .collect();
    let opened = app
        .update_opportunity_stages(&admin, gated.version, open_gates)
        .await?;
    let today = jiff::Timestamp::from_millisecond(app.now_ms())?
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai")?)
        .date();
    for (owner, customer, name, reached, days, lines, end) in OPPORTUNITIES {
        let actor = app.actor_for(owner).await?;
        let customer_id = customers
            .iter()
            .find(|(n, _)| n == customer)
            .map(|(_, id)| *id)
            .ok_or_else(|| anyhow::anyhow!("demo customer {customer} missing"))?;
        let lines = lines
            .iter()
            .map(|(code, quantity, discount_bp)| {
                let product = products
                    .iter()
                    .find(|p| p.data.code == *code)
                    .ok_or_else(|| anyhow::anyhow!("demo product {code} missing"))?;
                Ok(LineInput {
                    product_id: product.id,
                    quantity: *quantity,
                    unit_price_fen: None,
                    discount_bp: Some(*discount_bp),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut o = app
            .create_opportunity(
                &actor,
                NewOpportunityInput {
                    customer_id,
                    name: (*name).into(),
                    expected_close_date: Some(
                        today
                            .checked_add(jiff::Span::new().days(*days))?
                            .to_string(),
                    ),
                    competitors: vec!["纷享销客".into(), "Salesforce".into()],
                    lines,
                    ..Default::default()
                },
            )
            .await?;
        let target: Stage = reached.parse()?;
        for stage in Stage::open().skip(1) {
            if Stage::open().position(|s| s == stage) > Stage::open().position(|s| s == target) {
                break;
            }
            if stride_app::discounts::needs_cleared_discount(stage) {
                o = contracts::clear_discount(app, &actor, o).await?;
            }
            o = app
                .move_opportunity(&actor, o.id, o.version, stage.as_str())
                .await?;
        }
        if let Some((outcome, reason, competitor)) = end {
            app.close_opportunity(
                &actor,
                o.id,
                o.version,
                CloseInput {
                    outcome: (*outcome).into(),
                    reason: (*reason).into(),
                    note: Some("演示数据 / demo".into()),
                    winning_competitor: competitor.map(str::to_owned),
                },
            )
            .await?;
        }
    }
    app.update_opportunity_stages(&admin, opened.version, gated.stages)
        .await?;
    Ok(())
}

/// A customer whose credit was cut to a poor rating (so the warning shows, with its history),
/// and a strategic customer left longer than its tier's revisit cadence.
async fn demo_credit_and_revisit(app: &App) -> Result<()> {
    use stride_app::customers::CustomerData;
    use stride_app::leads::ActivityData;
    use stride_app::tiers::TierChange;

    let rep = app.actor_for("rep").await?;
    let now = app.now_ms();
    let data = CustomerData {
        name: "宁波迟付五金制品有限公司 Ningbo Late-Pay Hardware".into(),
        industry: Some("制造 Manufacturing".into()),
        region: Some("华东 East".into()),
        credit_rating: Some("AA".into()),
        credit_limit_minor: 80_000_000,
        ..Default::default()
    };
    let customer = app.create_customer(&rep, data, true).await?;
    let mut cut = customer.data.clone();
    cut.credit_rating = Some("C".into());
    cut.credit_limit_minor = 10_000_000;
    app.update_customer_with_reason(
        &rep,
        customer.id,
        customer.version,
        cut,
        true,
        Some("连续三期逾期付款 / three payments overdue in a row".into()),
    )
    .await?;

    let data = CustomerData {
        name: "中国商飞上海飞机制造有限公司 COMAC Shanghai".into(),
        industry: Some("航空 Aviation".into()),
        region: Some("华东 East".into()),
        credit_rating: Some("AAA".into()),
        credit_limit_minor: 500_000_000,
        ..Default::default()
    };
    let strategic = app.create_customer(&rep, data, true).await?;
    let mut tx = app.store().begin().await?;
    tx.record_tier(&TierChange {
        customer_id: strategic.id,
        tier: "strategic".into(),
        score: 90,
        reason: "年度框架协议 / annual framework agreement".into(),
        at_ms: now,
    })
    .await?;
    tx.commit().await?;
    // Three weeks since the last visit: past the strategic revisit cadence of 14 days.
    let visit = ActivityData {
        kind: "visit".into(),
        summary: "季度业务回顾 / quarterly business review".into(),
        occurred_at_ms: now - 21 * 86_400_000,
        ..Default::default()
    };
    app.record_activity(&rep, None, Some(strategic.id), visit)
        .await?;
    Ok(())
}

/// A quote (CSV) on the first customer and a requirements summary (PDF) on the second.
async fn demo_attachment(
    app: &App,
    actor: &stride_app::Actor,
    index: usize,
    customer_id: i64,
) -> Result<()> {
    use stride_app::attachments::Upload;
    let (file_name, bytes) = match index {
        0 => (
            "报价单 Quote.csv",
            "产品 Product,数量 Quantity,单价(元) Unit price (yuan)\n\
             星河 CRM 专业版 Professional,50,1200.00\n\
             实施服务 Implementation,1,30000.00\n"
                .as_bytes()
                .to_vec(),
        ),
        1 => (
            "需求说明 Requirements.pdf",
            tiny_pdf("Requirements: CRM rollout for 50 sales reps, lead-to-cash tracking."),
        ),
        _ => return Ok(()),
    };
    let upload = Upload {
        record_kind: "customer".into(),
        record_id: customer_id,
        file_name: file_name.into(),
        bytes,
    };
    app.upload_attachment(actor, upload).await?;
    Ok(())
}

/// A one-page PDF showing one line of ASCII text, with a correct cross-reference table.
fn tiny_pdf(line: &str) -> Vec<u8> {
    let text: String = line
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
        .collect();
    let stream = format!("BT /F1 14 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        pdf.push_str(&format!("{offset:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

/// The public form feeds East's queue, a rule routes Jiangsu manufacturing leads to Hangzhou, and
/// one lead has sat past its response clock so the supervisor's inbox has an escalation.
async fn demo_queue_and_escalation(app: &App) -> Result<()> {
    use stride_app::leads::{LeadData, LeadState};
    use stride_domain::leads::{LeadGrade, LeadStatus};

    let system = app.system_actor().await?;
    let east = department(app, "华东大区 East Region").await?;
    let hangzhou = department(app, "华东大区 East Region/杭州组 Hangzhou Team").await?;
    let settings = app.org_settings().await?;
    let patch = stride_app::settings::SettingsPatch {
        lead_form_department_id: Some(Some(east)),
        ..Default::default()
    };
    app.update_org_settings(&system, settings.version, patch)
        .await?;
    app.add_assignment_rule(
        &system,
        10,
        Some("江苏".into()),
        Some("制造".into()),
        hangzhou,
    )
    .await?;
    app.submit_public_lead(
        stride_app::leads::PublicLead {
            company: "江苏恒力精密制造有限公司".into(),
            contact_name: Some("孙经理".into()),
            phone: Some("0512-6666 8888".into()),
            need: Some("官网留言:想了解 CRM 报价".into()),
            ..Default::default()
        },
        "demo",
    )
    .await?;

    let rep = app.actor_for("rep").await?;
    let now = app.now_ms();
    let data = LeadData {
        company: "上海久等未回贸易有限公司".into(),
        contact_name: Some("钱先生".into()),
        phone: Some("021-5555 0000".into()),
        source: "campaign".into(),
        region: Some("上海".into()),
        explicit_need: true,
        budget_known: true,
        decision_chain_known: true,
        ..Default::default()
    };
    let assigned = now - 30 * 3_600_000;
    let state = LeadState {
        grade: LeadGrade::A,
        status: LeadStatus::New,
        owner_id: Some(rep.user_id),
        department_id: Some(rep.department_id),
        assigned_at_ms: Some(assigned),
        response_due_at_ms: Some(assigned + 24 * 3_600_000),
        first_contact_at_ms: None,
        next_nurture_at_ms: None,
        disqualify_reason: None,
        customer_id: None,
    };
    let mut tx = app.store().begin().await?;
    tx.insert_lead(&data, &state, assigned).await?;
    tx.commit().await?;
    app.run_due_jobs().await?;
    Ok(())
}
