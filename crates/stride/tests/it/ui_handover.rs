//! A rep leaves: the administrator hands their customers and open opportunities to a successor
//! from the user's page in a real headless Chromium, and through the API; won and lost deals
//! stay with the rep who closed them, and every board follows.

use crate::stages::open_gates;
use serde_json::{json, Value};
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, Client, TestApp, PASSWORD};

use crate::pages::{click, select, sign_in, wait_present, wait_text};

backend_tests!(
    hand_over_moves_customers_and_open_deals,
    browser_admin_hands_a_leaving_reps_book_over,
);

/// Two customers of `rep`, two open deals and one won deal on the first.
async fn a_reps_book(rep: &Client) -> Vec<Value> {
    let mut deals = Vec::new();
    let mut customers = Vec::new();
    for name in ["宁德时代新能源科技股份有限公司", "Siemens Ltd., China"] {
        let c = rep.post("/api/v1/customers", json!({ "name": name })).await;
        assert_eq!(c.status, 201, "{}", c.body);
        customers.push(c.json["id"].clone());
    }
    for (name, amount) in [
        ("储能 CRM", 500_000),
        ("Service desk", 120_000),
        ("续约", 80_000),
    ] {
        let o = rep
            .post(
                "/api/v1/opportunities",
                json!({"customer_id": customers[0], "name": name, "amount_fen": amount}),
            )
            .await;
        assert_eq!(o.status, 201, "{}", o.body);
        deals.push(o.json);
    }
    // No gate stands between first contact and a win in this test's pipeline.
    let won = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/opportunities/{}/close", deals[2]["id"]),
            Some(json!({"outcome": "won", "reason": "relationship"})),
            &[("if-match", &format!("\"{}\"", deals[2]["version"]))],
        )
        .await;
    assert_eq!(won.status, 200, "{}", won.body);
    deals[2] = won.json;
    deals
}

/// (name, owner) of every deal the client may list, sorted by name.
async fn deals_seen(c: &Client) -> Vec<(String, i64)> {
    let list = c.get("/api/v1/opportunities?limit=100").await;
    let mut seen: Vec<(String, i64)> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_owned(),
                o["owner_id"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    seen
}

async fn hand_over_moves_customers_and_open_deals(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    open_gates(&admin).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    a_reps_book(&rep1).await;

    let r = admin
        .post(
            "/api/v1/customers/hand-over",
            json!({"from_user_id": org.rep1, "to_user_id": org.rep2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json["customers_moved"].as_u64(),
            r.json["opportunities_moved"].as_u64()
        ),
        (Some(2), Some(2))
    );
    // The successor works the open deals; the won one stays the leaver's record.
    assert_eq!(
        deals_seen(&rep2).await,
        vec![
            ("Service desk".to_owned(), org.rep2),
            ("储能 CRM".to_owned(), org.rep2)
        ]
    );
    assert_eq!(deals_seen(&rep1).await, vec![("续约".to_owned(), org.rep1)]);
    // Their boards follow (kept by the database per department, owner and stage).
    let board = rep2.get("/api/v1/opportunities/board?cards=0").await;
    assert_eq!(board.json["open_total_fen"], 620_000, "{}", board.body);
    let board = rep1.get("/api/v1/opportunities/board?cards=0").await;
    assert_eq!(board.json["open_total_fen"], 0, "{}", board.body);
    // The customer list names each customer's owner (read in one go for the whole page).
    let page = admin.get("/customers").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("rep2 用户") && !page.body.contains("rep1 用户"),
        "{}",
        page.body
    );
    let audit = admin
        .get("/api/v1/audit?record_kind=customer&action=hand_over")
        .await;
    assert_eq!(audit.json["items"][0]["after"]["opportunities"], 2);
}

async fn browser_admin_hands_a_leaving_reps_book_over(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    open_gates(&admin).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    a_reps_book(&rep1).await;
    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "admin").await;
    b.goto(&app.url(&format!("/admin/users/{}", org.rep1)))
        .await
        .unwrap();
    b.wait_for("#hand-over-form").await.unwrap();
    // Without a successor the browser would refuse; the server must too.
    b.execute(
        "document.getElementById('to_user_id').removeAttribute('required');",
        vec![],
    )
    .await
    .unwrap();
    click(&b, "#hand-over").await;
    wait_present(&b, ".field-error[data-field=to_user_id]").await;
    assert_eq!(deals_seen(&rep1).await.len(), 3, "nothing moved");

    select(&b, "#to_user_id", &org.rep2.to_string()).await;
    click(&b, "#hand-over").await;
    wait_text(&b, ".notice", "已移交 2 个客户和 2 个进行中的商机").await;
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(deals_seen(&rep2).await.len(), 2);
}
