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
    let welcome = b.wait_for("#welcome").await.unwrap().text().await.unwrap();
    assert_eq!(welcome, "Hello, admin 用户");
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
