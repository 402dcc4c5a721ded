//! The sales documents in a real headless Chromium: a rep records the needs analysis on the
//! opportunity page, the customer confirms it on the public link page without signing in, and
//! the opportunity then moves to the proposal stage.

use serde_json::json;
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, TestApp, PASSWORD};

use crate::pages::{click, select, sign_in, text, type_into, wait_text};

backend_tests!(browser_needs_analysis_confirmed_by_link_opens_the_proposal_stage);

async fn browser_needs_analysis_confirmed_by_link_opens_the_proposal_stage(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let c = rep
        .post("/api/v1/customers", json!({"name": "顺丰控股"}))
        .await;
    let o = rep
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": c.json["id"], "name": "顺丰 CRM", "amount_fen": 30_000_000, "stage": "needs_analysis"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.body);
    let id = o.json["id"].as_i64().unwrap();

    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "rep1").await;
    b.goto(&app.url(&format!("/opportunities/{id}")))
        .await
        .unwrap();
    wait_text(&b, "#needs-analysis h3", "需求分析报告").await;
    assert!(text(&b, "#needs-none").await.contains("尚无需求分析报告"));

    // The move is refused first, naming the missing confirmation.
    select(&b, "#move-stage", "proposal").await;
    click(&b, "#move").await;
    wait_text(&b, "#move-error", "经客户确认的需求分析报告").await;

    type_into(&b, "#needs-pain", "快递理赔流程慢，客户投诉多").await;
    type_into(&b, "#needs-goals", "理赔时效缩短到 3 天").await;
    type_into(&b, "#needs-budget-min", "200000").await;
    type_into(&b, "#needs-budget-max", "350000").await;
    b.execute(
        "document.querySelector('#needs-meeting').value = arguments[0];",
        vec![json!("2026-11-20T10:00")],
    )
    .await
    .unwrap();
    click(&b, "#needs-save").await;
    wait_text(&b, "#needs-unconfirmed", "尚未确认").await;
    assert!(text(&b, "#needs-pain-points")
        .await
        .contains("快递理赔流程慢"));

    // Sending shows the link once; the customer opens it without a session.
    click(&b, "#needs-send").await;
    let link = b
        .wait_for("#confirm-link")
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(link.contains("/confirm/needs/"), "{link}");
    b.goto(&link).await.unwrap();
    wait_text(&b, "#public-pain-points", "快递理赔流程慢").await;
    type_into(&b, "#public-signer", "王卫").await;
    type_into(&b, "#public-comment", "确认无误").await;
    click(&b, "#public-confirm").await;
    wait_text(&b, "#public-confirmed", "谢谢，您的确认已记录。").await;

    // Back on the opportunity: confirmed, and the proposal stage opens.
    b.goto(&app.url(&format!("/opportunities/{id}")))
        .await
        .unwrap();
    let confirmed = wait_text(&b, "#needs-confirmed", "王卫").await;
    assert!(confirmed.contains("通过链接确认"), "{confirmed}");
    select(&b, "#move-stage", "proposal").await;
    click(&b, "#move").await;
    wait_text(&b, "#opportunity-stage", "方案报价").await;
    b.quit().await.unwrap();
}
