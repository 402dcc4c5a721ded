//! The sales pages in a real headless Chromium: a lead captured, graded, first contacted and
//! converted through the forms; follow-ups on the customer's timeline and the agenda; CSV import;
//! the inbox; claiming a customer from the public pool.

use stride_app::customers::CustomerData;
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, TestApp, PASSWORD};

use crate::pages::{click, sign_in, text, type_into, wait_text};

backend_tests!(
    browser_lead_capture_grade_follow_up_convert,
    browser_claims_from_the_pool
);

async fn browser_lead_capture_grade_follow_up_convert(app: TestApp) {
    app.seed_org().await;
    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "rep1").await;
    let nav = text(&b, "nav.main").await;
    assert!(
        nav.contains("线索") && nav.contains("日程") && nav.contains("消息"),
        "{nav}"
    );

    // Captured through the form: need, budget and decision chain known make grade A.
    click(&b, "#nav-leads").await;
    b.wait_for("#leads").await.unwrap();
    click(&b, "#new-lead").await;
    b.wait_for("#lead-form").await.unwrap();
    type_into(&b, "#company", "苏州精密机械有限公司").await;
    type_into(&b, "#contact_name", "李雷").await;
    type_into(&b, "#title", "采购经理").await;
    type_into(&b, "#phone", "138 0013 8000").await;
    b.find("#source")
        .await
        .unwrap()
        .select_by_value("exhibition")
        .await
        .unwrap();
    type_into(&b, "#need", "三台五轴加工中心").await;
    type_into(&b, "#budget", "300 万").await;
    click(&b, "#explicit_need").await;
    click(&b, "#budget_known").await;
    click(&b, "#decision_chain_known").await;
    click(&b, "#save-lead").await;
    wait_text(&b, ".notice", "已创建").await;
    assert_eq!(text(&b, "#lead-grade").await, "A");
    assert_eq!(text(&b, "#lead-status").await, "新线索");
    let details = text(&b, "#lead-details").await;
    assert!(
        details.contains("李雷") && details.contains("展会"),
        "{details}"
    );

    // Graded B by hand.
    b.find("#grade")
        .await
        .unwrap()
        .select_by_value("B")
        .await
        .unwrap();
    click(&b, "#save-grade").await;
    wait_text(&b, ".notice", "已调整分级").await;
    assert_eq!(text(&b, "#lead-grade").await, "B");

    // The first contact, by phone: a blank summary is refused in place.
    type_into(&b, "#summary", "   ").await;
    click(&b, "#save-first-contact").await;
    wait_text(&b, ".field-error[data-field=summary]", "必填").await;
    b.find("#summary").await.unwrap().clear().await.unwrap();
    b.find("#channel")
        .await
        .unwrap()
        .select_by_value("call")
        .await
        .unwrap();
    type_into(&b, "#summary", "电话沟通,客户确认需要三台设备").await;
    type_into(&b, "#interest_points", "交期和售后").await;
    type_into(&b, "#next_step", "下周上门演示").await;
    click(&b, "#save-first-contact").await;
    wait_text(&b, ".notice", "已记录首次联系").await;
    assert_eq!(text(&b, "#lead-status").await, "已联系");
    let activities = text(&b, "#activities").await;
    assert!(
        activities.contains("电话:电话沟通,客户确认需要三台设备")
            && activities.contains("首次联系"),
        "{activities}"
    );
    assert!(b.find_all("#first-contact-form").await.unwrap().is_empty());

    // Converted: the new customer's timeline shows the first contact.
    click(&b, "#convert").await;
    wait_text(&b, ".notice", "线索已转化").await;
    let url = b.current_url().await.unwrap();
    assert!(url.contains("/customers/"), "{url}");
    assert!(text(&b, "h1").await.contains("苏州精密机械有限公司"));
    let timeline = text(&b, "#timeline").await;
    assert!(
        timeline.contains("客户确认需要三台设备") && timeline.contains("首次联系"),
        "{timeline}"
    );
    assert!(text(&b, "#contacts").await.contains("李雷"));

    // A follow-up on the customer, due in a minute; an hour later it is overdue on the agenda.
    b.find("#activity-kind")
        .await
        .unwrap()
        .select_by_value("visit")
        .await
        .unwrap();
    type_into(&b, "#activity-summary", "上门演示样机").await;
    type_into(&b, "#activity-next-step", "发送正式报价").await;
    let due = jiff::Timestamp::from_millisecond(app.app.now_ms() + 60_000)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let field = b.find("#activity-next-follow-up").await.unwrap();
    b.execute(
        "arguments[0].value = arguments[1];",
        vec![field.as_arg(), serde_json::json!(due)],
    )
    .await
    .unwrap();
    click(&b, "#save-activity").await;
    wait_text(&b, ".notice", "已记录跟进").await;
    let timeline = text(&b, "#timeline").await;
    assert!(
        timeline.contains("上门演示样机") && timeline.contains("拜访"),
        "{timeline}"
    );
    app.advance_hours(1);
    click(&b, "#nav-agenda").await;
    let agenda = wait_text(&b, "#agenda", "上门演示样机").await;
    assert!(agenda.contains("苏州精密机械有限公司"), "{agenda}");
    assert_eq!(b.find_all("#agenda tr.overdue").await.unwrap().len(), 1);
    b.goto(&app.url("/")).await.unwrap();
    wait_text(&b, "#agenda-widget", "上门演示样机").await;

    // The inbox is empty, its count zero.
    click(&b, "#nav-inbox").await;
    b.wait_for("#inbox").await.unwrap();
    assert_eq!(text(&b, "#inbox-count").await, "0");

    // CSV import: pasted, checked, imported.
    b.goto(&app.url("/leads/import")).await.unwrap();
    b.wait_for("#import-form").await.unwrap();
    type_into(
        &b,
        "#csv",
        "公司名称,联系人,电话,需求\n杭州新材料科技有限公司,韩梅梅,13900139000,试用\n",
    )
    .await;
    click(&b, "#run-import").await;
    wait_text(&b, "#import-result", "已检查 1 行").await;
    assert!(text(&b, "#import-mapping").await.contains("公司名称"));
    click(&b, "#dry_run").await;
    click(&b, "#run-import").await;
    wait_text(&b, "#import-result", "已导入 1 条线索").await;
    // The same file again, duplicates allowed: imported, and the look-alike rows listed.
    click(&b, "#allow_duplicates").await;
    click(&b, "#run-import").await;
    let duplicates = wait_text(&b, "#import-duplicates", "线索 #").await;
    assert!(duplicates.contains("电话"), "{duplicates}");
    // The same company again is a probable duplicate, captured only when confirmed.
    b.goto(&app.url("/leads/new")).await.unwrap();
    b.wait_for("#lead-form").await.unwrap();
    type_into(&b, "#company", "苏州精密机械有限公司").await;
    type_into(&b, "#contact_name", "王强").await;
    b.find("#source")
        .await
        .unwrap()
        .select_by_value("referral")
        .await
        .unwrap();
    click(&b, "#save-lead").await;
    let duplicates = wait_text(&b, "#duplicates", "苏州精密机械有限公司").await;
    assert!(duplicates.contains("客户"), "{duplicates}");
    click(&b, "#allow_duplicate").await;
    click(&b, "#save-lead").await;
    wait_text(&b, ".notice", "已创建").await;
    assert_eq!(text(&b, "#lead-grade").await, "C");

    click(&b, "#nav-leads").await;
    let leads = wait_text(&b, "#leads", "杭州新材料科技有限公司").await;
    assert!(
        leads.contains("苏州精密机械有限公司") && leads.contains("已转化"),
        "{leads}"
    );
    b.quit().await.unwrap();
}

async fn browser_claims_from_the_pool(app: TestApp) {
    app.seed_org().await;
    let admin = app.app.actor_for("admin").await.unwrap();
    let customer = app
        .app
        .create_customer(
            &admin,
            CustomerData {
                name: "无锡公海测试有限公司".into(),
                industry: Some("制造业".into()),
                ..Default::default()
            },
            true,
        )
        .await
        .unwrap();
    app.app.release_customer(&admin, customer.id).await.unwrap();

    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "rep2").await;
    b.goto(&app.url("/customers?pool=1")).await.unwrap();
    let pool = wait_text(&b, "#customers", "无锡公海测试有限公司").await;
    assert!(pool.contains("制造业"), "{pool}");
    click(
        &b,
        &format!("#customers tr[data-id=\"{}\"] button.claim", customer.id),
    )
    .await;
    wait_text(&b, ".notice", "领取成功").await;
    assert!(text(&b, "#owner").await.contains("rep2"));

    click(&b, "#nav-customers").await;
    wait_text(&b, "#customers", "无锡公海测试有限公司").await;
    click(&b, "#tab-pool").await;
    b.wait_for("#tab-pool[aria-current=page]").await.unwrap();
    let pool = text(&b, "#customers").await;
    assert!(!pool.contains("无锡公海测试有限公司"), "{pool}");
    b.quit().await.unwrap();
}

backend_tests!(browser_public_form_fills_the_queue);

async fn browser_public_form_fills_the_queue(app: TestApp) {
    let org = app.seed_org().await;
    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    b.goto(&app.url("/forms/lead")).await.unwrap();
    assert!(
        b.wait_for("#error-message").await.is_ok(),
        "the form is off until configured"
    );
    let system = app.app.system_actor().await.unwrap();
    let version = app.app.org_settings().await.unwrap().version;
    let patch = stride_app::settings::SettingsPatch {
        lead_form_department_id: Some(Some(org.east)),
        ..Default::default()
    };
    app.app
        .update_org_settings(&system, version, patch)
        .await
        .unwrap();

    b.goto(&app.url("/forms/lead")).await.unwrap();
    assert_eq!(
        b.wait_for("h1").await.unwrap().text().await.unwrap(),
        "联系我们"
    );
    b.find("#company")
        .await
        .unwrap()
        .send_keys("网页询价科技有限公司")
        .await
        .unwrap();
    b.find("#email")
        .await
        .unwrap()
        .send_keys("buyer@web-lead.example")
        .await
        .unwrap();
    b.find("#need")
        .await
        .unwrap()
        .send_keys("需要 50 个销售账号")
        .await
        .unwrap();
    b.find("#send-lead").await.unwrap().click().await.unwrap();
    let sent = b
        .wait_for("#public-lead-sent")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sent.contains("已收到"), "{sent}");
    b.quit().await.unwrap();

    let manager = app.login("manager", PASSWORD).await;
    let queue = manager.get("/api/v1/leads").await;
    assert_eq!(
        queue.json["items"][0]["company"], "网页询价科技有限公司",
        "{}",
        queue.body
    );
    assert!(queue.json["items"][0]["owner_id"].is_null());
}
