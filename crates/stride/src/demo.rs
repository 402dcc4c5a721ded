//! `stride demo`: a lived-in company so a newcomer's first look has something to see.

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
    Ok(logins)
}

async fn department(app: &App, path: &str) -> Result<i64> {
    app.department_by_path(&format!("星河科技 Galaxy Tech/{path}"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo department {path} missing"))
}
