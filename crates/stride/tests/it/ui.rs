//! The UI in a real headless Chromium: sign in, see the home page in the browser's language,
//! switch language from the user menu, and use the administration pages.

use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, TestApp, PASSWORD};

backend_tests!(browser_signs_in_switches_language_and_administers);

async fn sign_in(b: &Browser, app: &TestApp, user: &str) {
    b.goto(&app.url("/login")).await.unwrap();
    b.wait_for("#username")
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find("#password")
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find("#login").await.unwrap().click().await.unwrap();
    b.wait_for("#welcome").await.unwrap();
}

async fn browser_signs_in_switches_language_and_administers(app: TestApp) {
    let org = app.seed_org().await;
    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    // A wrong password stays on the login page with a message in the browser's language.
    b.goto(&app.url("/login")).await.unwrap();
    b.wait_for("#username")
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    b.find("#password")
        .await
        .unwrap()
        .send_keys("wrong-password")
        .await
        .unwrap();
    b.find("#login").await.unwrap().click().await.unwrap();
    assert_eq!(
        b.wait_for(".error").await.unwrap().text().await.unwrap(),
        "用户名或密码错误。"
    );

    sign_in(&b, &app, "admin").await;
    assert_eq!(
        b.find("#welcome").await.unwrap().text().await.unwrap(),
        "你好,admin 用户"
    );
    assert!(b
        .find("nav.main")
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("审计日志"));

    // The user menu switches to English and remembers it.
    b.find("#user-menu summary")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find("#switch-lang").await.unwrap().click().await.unwrap();
    b.wait_for_text("#welcome", "Hello, admin 用户")
        .await
        .unwrap();
    b.goto(&app.url("/")).await.unwrap();
    assert!(b
        .find("nav.main")
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Audit log"));

    // Administration pages.
    b.goto(&app.url("/admin/users")).await.unwrap();
    let users = b.wait_for("#users").await.unwrap().text().await.unwrap();
    assert!(
        users.contains("rep1") && users.contains("manager"),
        "{users}"
    );
    b.goto(&app.url("/admin/departments")).await.unwrap();
    let tree = b.wait_for(".tree").await.unwrap().text().await.unwrap();
    assert!(
        tree.contains("East") && tree.contains("Team 1") && tree.contains("South"),
        "{tree}"
    );
    b.goto(&app.url("/admin/roles")).await.unwrap();
    b.wait_for("main table").await.unwrap();
    b.goto(&app.url("/admin/audit")).await.unwrap();
    let audit = b.wait_for("#audit").await.unwrap().text().await.unwrap();
    assert!(audit.contains("admin"), "{audit}");
    b.goto(&app.url("/admin/settings")).await.unwrap();
    b.wait_for("#settings-form").await.unwrap();
    b.goto(&app.url("/admin/calendar")).await.unwrap();
    b.wait_for("#calendar-form").await.unwrap();

    // A rep sees no administration and only themselves.
    b.goto(&app.url("/profile")).await.unwrap();
    b.find("#user-menu summary")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find("#logout").await.unwrap().click().await.unwrap();
    b.wait_for("#username").await.unwrap();
    sign_in(&b, &app, "rep1").await;
    let nav = b.find("nav.main").await.unwrap().text().await.unwrap();
    assert!(!nav.contains("审计") && !nav.contains("Audit"), "{nav}");
    b.goto(&app.url(&format!("/admin/users/{}", org.rep2)))
        .await
        .unwrap();
    let body = b
        .wait_for("#error-message")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("没有找到") || body.contains("Not found"),
        "{body}"
    );
    b.quit().await.unwrap();
}

backend_tests!(browser_admin_edits_through_forms);

async fn browser_admin_edits_through_forms(app: TestApp) {
    let org = app.seed_org().await;
    let Some(b) = Browser::launch_if_available("en-US").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "admin").await;
    assert_eq!(
        b.find("#welcome").await.unwrap().text().await.unwrap(),
        "Hello, admin 用户"
    );

    // A department below East.
    b.goto(&app.url("/admin/departments")).await.unwrap();
    b.wait_for("#department-form").await.unwrap();
    b.find("#parent_id")
        .await
        .unwrap()
        .select_by_value(&org.east.to_string())
        .await
        .unwrap();
    b.find("#name")
        .await
        .unwrap()
        .send_keys("苏州组 Suzhou Team")
        .await
        .unwrap();
    b.find("#add-department")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(".notice").await.unwrap();
    let tree = b.wait_for(".tree").await.unwrap().text().await.unwrap();
    assert!(tree.contains("苏州组 Suzhou Team"), "{tree}");

    // A user: first refused field by field, then created.
    b.goto(&app.url("/admin/users/new")).await.unwrap();
    b.wait_for("#user-form").await.unwrap();
    b.find("#username")
        .await
        .unwrap()
        .send_keys("x")
        .await
        .unwrap();
    b.find("#display_name")
        .await
        .unwrap()
        .send_keys("王芳 Wang Fang")
        .await
        .unwrap();
    b.find("#password")
        .await
        .unwrap()
        .send_keys("short")
        .await
        .unwrap();
    b.find("#save-user").await.unwrap().click().await.unwrap();
    let errors = b.wait_for(".field-error").await.unwrap();
    assert!(!errors.text().await.unwrap().is_empty());
    assert_eq!(
        b.find("#display_name")
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("王芳 Wang Fang")
    );
    b.find("#username").await.unwrap().clear().await.unwrap();
    b.find("#username")
        .await
        .unwrap()
        .send_keys("wangfang")
        .await
        .unwrap();
    b.find("#password")
        .await
        .unwrap()
        .send_keys("a-long-password")
        .await
        .unwrap();
    b.find("#department_id")
        .await
        .unwrap()
        .select_by_value(&org.team1.to_string())
        .await
        .unwrap();
    let rep_role = b.find("fieldset#roles input[type=checkbox]").await.unwrap();
    rep_role.click().await.unwrap();
    b.find("#save-user").await.unwrap().click().await.unwrap();
    b.wait_for(".notice").await.unwrap();
    let created = app.app.store().credentials("wangfang").await.unwrap();
    assert!(created.is_some(), "the form created the user");

    // A make-up working day in the calendar.
    b.goto(&app.url("/admin/calendar?year=2026")).await.unwrap();
    b.wait_for("#calendar-form").await.unwrap();
    b.execute(
        "document.querySelector('#date').value = '2026-09-27'",
        vec![],
    )
    .await
    .unwrap();
    b.find("#kind")
        .await
        .unwrap()
        .select_by_value("workday")
        .await
        .unwrap();
    b.find("#name")
        .await
        .unwrap()
        .send_keys("国庆调休")
        .await
        .unwrap();
    b.find("#save-day").await.unwrap().click().await.unwrap();
    b.wait_for(".notice").await.unwrap();
    let days = b
        .wait_for("#calendar-days")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        days.contains("2026-09-27") && days.contains("国庆调休"),
        "{days}"
    );

    // The audit log shows what the forms did.
    b.goto(&app.url("/admin/audit")).await.unwrap();
    let audit = b.wait_for("#audit").await.unwrap().text().await.unwrap();
    assert!(
        audit.contains("wangfang") && audit.contains("Suzhou"),
        "{audit}"
    );
    b.quit().await.unwrap();
}
