//! More pages in a real headless Chromium: lead assignment rules and the public form's team in
//! the administration, assigning a lead by the rules, merging customers, and a rep's month
//! calendar of follow-ups with its private iCalendar feed.

use stride_app::customers::CustomerData;
use stride_app::leads::{ActivityData, LeadData};
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, TestApp};

use crate::pages::{click, select, sign_in, text, type_into, wait_text};

backend_tests!(browser_admin_rules_and_calendar);

async fn this_month_attr(b: &Browser) -> String {
    b.find("#calendar-month")
        .await
        .unwrap()
        .attr("data-month")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Buttons with `data-confirm` ask first; a test answers yes.
async fn accept_confirms(b: &Browser) {
    b.execute("window.confirm = () => true;", vec![])
        .await
        .unwrap();
}

async fn browser_admin_rules_and_calendar(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.app.actor_for("admin").await.unwrap();
    let lead = app
        .app
        .create_lead(
            &admin,
            LeadData {
                company: "上海规则分配测试有限公司".into(),
                contact_name: Some("周杰".into()),
                source: "website".into(),
                region: Some("华东地区".into()),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    let kept = app
        .app
        .create_customer(
            &admin,
            CustomerData {
                name: "南京合并保留有限公司".into(),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    let absorbed = app
        .app
        .create_customer(
            &admin,
            CustomerData {
                name: "南京合并重复有限公司".into(),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    let rep = app.app.actor_for("rep1").await.unwrap();
    // Due in an hour, unless that is already next month in the rep's zone.
    let now = app.app.now_ms();
    let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let month_of = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned(shanghai.clone())
            .strftime("%Y-%m")
            .to_string()
    };
    let due = if month_of(now + 3_600_000) == month_of(now) {
        now + 3_600_000
    } else {
        now + 60_000
    };
    let customer = app
        .app
        .create_customer(
            &rep,
            CustomerData {
                name: "杭州日历测试有限公司".into(),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    app.app
        .record_activity(
            &rep,
            None,
            Some(customer.id),
            ActivityData {
                kind: "call".into(),
                summary: "电话确认样品需求".into(),
                next_step: Some("寄送样品".into()),
                occurred_at_ms: app.app.now_ms(),
                next_follow_up_at_ms: Some(due),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };

    // The administrator adds a rule: leads from East China go to Team 1.
    sign_in(&b, &app, "admin").await;
    click(&b, "#nav-rules").await;
    b.wait_for("#rule-form").await.unwrap();
    assert!(text(&b, "#rules").await.contains("暂无规则"));
    // A team must be chosen; the refusal keeps what was entered.
    b.find("#priority").await.unwrap().clear().await.unwrap();
    type_into(&b, "#priority", "10").await;
    type_into(&b, "#region", "华东").await;
    b.execute(
        "document.getElementById('department_id').removeAttribute('required');",
        vec![],
    )
    .await
    .unwrap();
    click(&b, "#save-rule").await;
    wait_text(&b, ".field-error[data-field=department_id]", "必填").await;
    assert_eq!(
        b.find("#region")
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("华东")
    );
    select(&b, "#department_id", &org.team1.to_string()).await;
    click(&b, "#save-rule").await;
    wait_text(&b, ".notice", "已创建").await;
    let rules = text(&b, "#rules").await;
    assert!(
        rules.contains("10") && rules.contains("华东") && rules.contains("Team 1"),
        "{rules}"
    );

    // The public form's team is chosen with the other settings, and the form is linked.
    b.goto(&app.url("/admin/settings")).await.unwrap();
    b.wait_for("#settings-form").await.unwrap();
    assert!(b.find_all("#public-form-link").await.unwrap().is_empty());
    b.find("#rules-link").await.unwrap();
    select(&b, "#lead_form_department_id", &org.east.to_string()).await;
    click(&b, "#save-settings").await;
    wait_text(&b, ".notice", "已保存").await;
    b.find("#public-form-link").await.unwrap();
    assert_eq!(
        app.app
            .org_settings()
            .await
            .unwrap()
            .lead_form_department_id,
        Some(org.east)
    );

    // The lead is assigned by the rule: to the only rep of Team 1.
    b.goto(&app.url(&format!("/leads/{}", lead.id)))
        .await
        .unwrap();
    click(&b, "#auto-assign").await;
    wait_text(&b, ".notice", "线索已分配").await;
    let details = text(&b, "#lead-details").await;
    assert!(details.contains("rep1 用户"), "{details}");

    // A duplicate customer is merged into the one kept; the page shows the tier history.
    b.goto(&app.url(&format!("/customers/{}", kept.id)))
        .await
        .unwrap();
    b.wait_for("#tiers").await.unwrap();
    type_into(&b, "#from_id", &kept.id.to_string()).await;
    accept_confirms(&b).await;
    click(&b, "#merge-customer").await;
    wait_text(&b, ".field-error[data-field=from_id]", "另一个客户").await;
    b.find("#from_id").await.unwrap().clear().await.unwrap();
    type_into(&b, "#from_id", &absorbed.id.to_string()).await;
    accept_confirms(&b).await;
    click(&b, "#merge-customer").await;
    wait_text(&b, ".notice", "客户已合并").await;
    assert!(app.app.get_customer(&admin, absorbed.id).await.is_err());

    b.find("#user-menu summary")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&b, "#logout").await;
    b.wait_for("#username").await.unwrap();

    // The rep sees the follow-up in this month's calendar, linked to the customer.
    sign_in(&b, &app, "rep1").await;
    assert!(b.find_all("#nav-rules").await.unwrap().is_empty());
    click(&b, "#nav-calendar").await;
    let month = wait_text(&b, "#calendar-month", "杭州日历测试有限公司").await;
    assert!(
        month.contains("寄送样品") && month.contains("周一"),
        "{month}"
    );
    b.find(&format!(
        "#calendar-month a[href=\"/customers/{}\"]",
        customer.id
    ))
    .await
    .unwrap();
    assert!(b
        .find_all("#calendar-month li.overdue")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(this_month_attr(&b).await, month_of(now));
    let this_month = this_month_attr(&b).await;

    // The next month is empty; back again, the follow-up is there.
    click(&b, "#next-month").await;
    b.wait_for(&format!(
        "#calendar-month:not([data-month=\"{this_month}\"])"
    ))
    .await
    .unwrap();
    let link = format!(
        "#calendar-month td:not(.other-month) a[href=\"/customers/{}\"]",
        customer.id
    );
    assert!(b.find_all(&link).await.unwrap().is_empty());
    click(&b, "#prev-month").await;
    wait_text(&b, "#calendar-month", "杭州日历测试有限公司").await;

    // A private feed URL, shown once, that calendar apps can fetch without signing in.
    assert!(b.find_all("#feed-url").await.unwrap().is_empty());
    accept_confirms(&b).await;
    click(&b, "#renew-feed").await;
    wait_text(&b, ".notice", "已生成新的日历地址").await;
    let url = text(&b, "#feed-url").await;
    assert!(url.starts_with("http://") && url.ends_with(".ics"), "{url}");
    let path = &url[url.find("/ical/").unwrap()..];
    let feed = app.anonymous().get(path).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert!(
        feed.body.starts_with("BEGIN:VCALENDAR") && feed.body.contains("寄送样品"),
        "{}",
        feed.body
    );
    b.goto(&app.url("/calendar")).await.unwrap();
    b.wait_for("#calendar-month").await.unwrap();
    assert!(b.find_all("#feed-url").await.unwrap().is_empty());
    b.quit().await.unwrap();
}
