//! Discounts above a rep's authority (OPP-5) through the approval engine, on both databases:
//! judged on the whole deal, approved by the reporting line (and leadership for deep ones),
//! a deal under approval locked against others, and a change of price sending it back.

use crate::stages::open_gates;
use serde_json::{json, Value};
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    a_deep_discount_waits_for_approval_before_the_deal_is_won,
    a_discount_within_authority_needs_nobody,
    changing_the_price_under_approval_starts_it_again,
    closing_the_deal_withdraws_its_pending_discount_request,
    a_request_moved_on_twice_in_one_transaction_keeps_the_second,
);

struct Deal {
    rep: Client,
    manager: Client,
    id: i64,
    company: i64,
}

/// A rep reporting to the manager, selling 10 units of a 1,000-yuan product at `discount_bp`.
/// The stage gates are switched off: these deals are won on their discount alone.
async fn deal(app: &TestApp, discount_bp: i64) -> Deal {
    let org = app.seed_org().await;
    app.add_user("rep9", "rep", org.team1, Some(org.manager))
        .await;
    open_gates(&app.login("admin", PASSWORD).await).await;
    let manager = app.login("manager", PASSWORD).await;
    let product = manager
        .post(
            "/api/v1/products",
            json!({"code": "CRM", "name": "星河 CRM", "unit": "套", "list_price_fen": 100_000, "cost_fen": 40_000}),
        )
        .await;
    assert_eq!(product.status, 201, "{}", product.body);
    let rep = app.login("rep9", PASSWORD).await;
    let customer = rep
        .post("/api/v1/customers", json!({"name": "比亚迪股份有限公司"}))
        .await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let r = rep
        .post(
            "/api/v1/opportunities",
            json!({
                "customer_id": customer.json["id"],
                "name": "比亚迪 销售系统",
                "lines": [{"product_id": product.json["id"], "quantity": 10, "discount_bp": discount_bp}],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["deal_discount_bp"], discount_bp);
    Deal {
        rep,
        manager,
        id: r.json["id"].as_i64().unwrap(),
        company: org.root,
    }
}

/// The rep asks for the deal's discount to be approved.
async fn ask_for_discount(d: &Deal) -> Reply {
    d.rep
        .post(
            &format!("/api/v1/opportunities/{}/discount-approval", d.id),
            json!({}),
        )
        .await
}

async fn win(c: &Client, id: i64) -> (u16, Value) {
    let etag = c.get(&format!("/api/v1/opportunities/{id}")).await.etag();
    let r = c
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/opportunities/{id}/close"),
            Some(json!({"outcome": "won", "reason": "price"})),
            &[("if-match", &etag)],
        )
        .await;
    (r.status, r.json)
}

async fn waiting(c: &Client) -> Vec<i64> {
    c.get("/api/v1/approvals").await.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["request"]["id"].as_i64().unwrap())
        .collect()
}

async fn a_deep_discount_waits_for_approval_before_the_deal_is_won(app: TestApp) {
    let d = deal(&app, 1_200).await;
    let (status, body) = win(&d.rep, d.id).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "discount_approval");

    let r = ask_for_discount(&d).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.json["status"].as_str(), r.json["discount_bp"].as_i64()),
        (Some("pending"), Some(1_200))
    );
    let request = r.json["id"].as_i64().unwrap();
    // One running request per deal.
    let again = ask_for_discount(&d).await;
    assert_eq!(again.status, 409);
    // 12 % is above the rep's 5 % and below leadership's 20 %: the manager alone decides.
    assert_eq!(waiting(&d.manager).await, [request]);
    let r = d
        .manager
        .post(
            &format!("/api/v1/approvals/{request}/decision"),
            json!({"decision": "approve", "comment": "战略客户 / strategic account"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["status"], "approved");
    let (status, body) = win(&d.rep, d.id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stage"], "won");
}

async fn a_discount_within_authority_needs_nobody(app: TestApp) {
    let d = deal(&app, 300).await;
    let r = ask_for_discount(&d).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["status"], "approved", "no step applies to 3 %");
    assert!(waiting(&d.manager).await.is_empty());
    assert_eq!(win(&d.rep, d.id).await.0, 200);
}

async fn changing_the_price_under_approval_starts_it_again(app: TestApp) {
    let d = deal(&app, 1_000).await;
    let r = ask_for_discount(&d).await;
    let request = r.json["id"].as_i64().unwrap();
    let path = format!("/api/v1/opportunities/{}", d.id);
    let current = d.rep.get(&path).await;
    let product = current.json["lines"][0]["product_id"].clone();
    let deeper = json!({"lines": [{"product_id": product, "quantity": 10, "discount_bp": 2_500}]});

    // Locked against everyone but the requester.
    let r = d
        .manager
        .patch(&path, &current.etag(), deeper.clone())
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    let r = d.rep.patch(&path, &current.etag(), deeper).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d.rep.get(&format!("/api/v1/approvals/{request}")).await;
    assert_eq!(r.json["status"], "pending");
    assert_eq!(
        r.json["discount_bp"], 2_500,
        "the approvers judge the new discount"
    );
    assert_eq!(r.json["snapshot"]["deal_discount_bp"], 2_500);
    let actions: Vec<&str> = r.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "restarted"]);
    // 25 %: the manager first, then leadership — and nobody holds leadership here.
    let r = d
        .manager
        .post(
            &format!("/api/v1/approvals/{request}/decision"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json["errors"][0]["code"], "no_approver");
    app.add_user("ceo", "leadership", d.company, None).await;
    let r = d
        .manager
        .post(
            &format!("/api/v1/approvals/{request}/decision"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json["current_step"].as_i64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    let ceo = app.login("ceo", PASSWORD).await;
    assert_eq!(waiting(&ceo).await, [request]);
}

async fn closing_the_deal_withdraws_its_pending_discount_request(app: TestApp) {
    let d = deal(&app, 1_200).await;
    let r = ask_for_discount(&d).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let request = r.json["id"].as_i64().unwrap();
    assert_eq!(waiting(&d.manager).await, [request]);

    // The customer walks away: nothing is left for the manager to decide.
    let etag = d
        .rep
        .get(&format!("/api/v1/opportunities/{}", d.id))
        .await
        .etag();
    let r = d
        .rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/opportunities/{}/close", d.id),
            Some(json!({"outcome": "lost", "reason": "budget"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(waiting(&d.manager).await.is_empty());
    let r = d.rep.get(&format!("/api/v1/approvals/{request}")).await;
    assert_eq!(r.json["status"], "withdrawn");
    let last = r.json["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["action"].as_str(), last["comment"].as_str()),
        (
            Some("withdrawn"),
            Some("withdrawn because the deal was lost")
        )
    );
    let tasks: Vec<&str> = r.json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["skipped"]);
}

/// A request's new state is written with the transaction's next statement, not on its own
/// (`Deferred` in the store). Moved on twice in one transaction, the request reads as the
/// second move inside it and after the commit; a move left uncommitted is gone.
async fn a_request_moved_on_twice_in_one_transaction_keeps_the_second(app: TestApp) {
    use stride_app::approvals::{ApprovalRequest, RequestState};
    use stride_domain::approvals::{Facts, RequestStatus};

    let d = deal(&app, 1_200).await;
    let r = ask_for_discount(&d).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    let store = app.app.store().clone();
    async fn read(tx: &mut Box<dyn stride_app::Tx>, id: i64) -> ApprovalRequest {
        tx.lock_approval_request(id).await.unwrap().unwrap()
    }
    let state = |step: Option<i64>, n: i64| RequestState {
        status: RequestStatus::Pending,
        current_step: step,
        record_version: 1,
        facts: Facts {
            amount_fen: 900_000,
            discount_bp: 1_000 + n,
        },
        snapshot: json!({ "move": n }),
        decided_at_ms: None,
    };

    let mut tx = store.begin().await.unwrap();
    let before = read(&mut tx, id).await;
    let first = tx
        .set_approval_state(&before, &state(Some(0), 1), 1_000)
        .await
        .unwrap();
    let second = tx
        .set_approval_state(&first, &state(None, 2), 2_000)
        .await
        .unwrap();
    assert_eq!(second.version, before.version + 2);
    assert_eq!(
        read(&mut tx, id).await,
        second,
        "the transaction reads its own moves"
    );
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        read(&mut tx, id).await,
        second,
        "the commit keeps the second move"
    );
    let third = tx
        .set_approval_state(&second, &state(Some(0), 3), 3_000)
        .await
        .unwrap();
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let now = read(&mut tx, id).await;
    assert_eq!(now, second, "an uncommitted move is gone, not {third:?}");
}
