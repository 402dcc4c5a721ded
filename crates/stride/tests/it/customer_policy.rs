//! Each tier's service policy (CUST-3, CUST-4) and the credit history (CUST-5): per-tier pool
//! tides on a frozen clock with two servers, the revisit cadence, validation of the policy, an
//! old stored policy, credit changes by create, edit and merge, and both in a real Chromium.

use serde_json::{json, Value};
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

use crate::pages::{sign_in, wait_text};

backend_tests!(
    each_tier_returns_to_the_pool_after_its_own_days,
    bad_tier_values_are_refused_and_change_nothing,
    a_policy_stored_before_tiers_still_loads,
    credit_changes_are_recorded_and_scoped,
    a_revisit_falls_due_after_the_tier_cadence,
    browser_edits_a_tier_and_sees_credit_history,
);

fn kinds(reply: &Reply) -> Vec<String> {
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(reply: &Reply) -> Vec<i64> {
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

async fn put_policy(admin: &Client, policy: Value, etag: &str) -> Reply {
    admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/settings/sales-policy",
            Some(policy),
            &[("if-match", etag)],
        )
        .await
}

async fn put_customer(client: &Client, id: i64, etag: &str, body: Value) -> Reply {
    client
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/customers/{id}"),
            Some(body),
            &[("if-match", etag)],
        )
        .await
}

async fn new_customer(client: &Client, body: Value) -> i64 {
    let r = client.post("/api/v1/customers", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json["id"].as_i64().unwrap()
}

async fn each_tier_returns_to_the_pool_after_its_own_days(app: TestApp) {
    app.seed_org().await;
    let peer = app.peer().await.unwrap();
    let policy = app.login("admin", PASSWORD).await;
    let policy = policy.get("/api/v1/settings/sales-policy").await.json;
    assert_eq!(
        (
            &policy["tiers"]["strategic"]["return_days"],
            &policy["tiers"]["strategic"]["warning_days"],
            &policy["tiers"]["ordinary"]["return_days"],
            &policy["tiers"]["ordinary"]["warning_days"],
        ),
        (&json!(90), &json!(7), &json!(30), &json!(5))
    );

    let rep = app.login("rep1", PASSWORD).await;
    // Top credit, full potential and ten visits make a strategic customer at this month's tiering.
    let star = new_customer(
        &rep,
        json!({"name": "国家电网有限公司", "credit_rating": "AAA", "credit_limit": 200_000_000}),
    )
    .await;
    for i in 0..10 {
        let visit = json!({"customer_id": star, "kind": "visit", "summary": format!("拜访 {i}")});
        assert_eq!(rep.post("/api/v1/activities", visit).await.status, 201);
    }
    let plain = new_customer(&rep, json!({"name": "Corner Shop Ltd."})).await;
    assert_eq!(app.app.run_due_jobs().await.unwrap().customers_retiered, 1);
    assert_eq!(
        rep.get(&format!("/api/v1/customers/{star}")).await.json["tier"],
        "strategic"
    );

    // Day 26: the ordinary customer's warning window (30 − 5 days) has begun; not the strategic one's.
    app.advance_hours(26 * 24);
    let report = app.app.run_due_jobs().await.unwrap();
    assert_eq!((report.pool_warnings, report.returned_to_pool), (1, 0));
    let rep = app.login("rep1", PASSWORD).await;
    let inbox = rep.get("/api/v1/inbox").await;
    assert_eq!(kinds(&inbox), vec!["pool_warning"]);
    assert_eq!(inbox.json["items"][0]["record_id"], plain);

    // Day 31: only the ordinary customer returns, once although both servers run the jobs.
    app.advance_hours(5 * 24);
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (
            a.returned_to_pool + b.returned_to_pool,
            a.pool_warnings + b.pool_warnings
        ),
        (1, 0)
    );
    let inbox = rep.get("/api/v1/inbox").await;
    assert_eq!(kinds(&inbox), vec!["returned_to_pool", "pool_warning"]);
    assert_eq!(inbox.json["items"][0]["record_id"], plain);
    assert_eq!(inbox.json["items"][0]["subject"], "Corner Shop Ltd.");
    assert_eq!(
        ids(&rep.get("/api/v1/customers?pool=true").await),
        vec![plain]
    );
    assert_eq!(ids(&rep.get("/api/v1/customers").await), vec![star]);

    // Day 82: the strategic customer's window (90 − 7 days) has not begun; early on day 83 it has.
    app.advance_hours(51 * 24);
    assert_eq!(app.app.run_due_jobs().await.unwrap().pool_warnings, 0);
    app.advance_hours(25);
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (
            a.pool_warnings + b.pool_warnings,
            a.returned_to_pool + b.returned_to_pool
        ),
        (1, 0)
    );
    let rep = app.login("rep1", PASSWORD).await;
    let inbox = rep.get("/api/v1/inbox").await;
    assert_eq!(
        kinds(&inbox),
        vec!["pool_warning", "returned_to_pool", "pool_warning"]
    );
    assert_eq!(inbox.json["items"][0]["record_id"], star);
}

async fn bad_tier_values_are_refused_and_change_nothing(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let before = admin.get("/api/v1/settings/sales-policy").await;
    let mut bad = before.json.clone();
    bad["tiers"]["core"]["return_days"] = json!(0);
    bad["tiers"]["core"]["warning_days"] = json!(3);
    bad["tiers"]["strategic"]["warning_days"] = json!(90);
    bad["tiers"]["ordinary"]["revisit_days"] = json!(400);
    bad["tiers"]["ordinary"]["served_by"] = json!("x".repeat(201));
    let r = put_policy(&admin, bad, &before.etag()).await;
    assert_eq!(
        (r.status, r.error_fields()),
        (
            422,
            vec![
                "tiers.strategic.warning_days".to_owned(),
                "tiers.core.return_days".to_owned(),
                "tiers.ordinary.revisit_days".to_owned(),
                "tiers.ordinary.served_by".to_owned(),
            ]
        ),
        "{}",
        r.body
    );
    let after = admin.get("/api/v1/settings/sales-policy").await;
    assert_eq!(after.etag(), before.etag());
    assert_eq!(after.json, before.json);

    // A good change saves, the texts trimmed.
    let mut good = before.json.clone();
    good["tiers"]["core"]["return_days"] = json!(45);
    good["tiers"]["core"]["served_by"] = json!("  区域经理 Regional manager ");
    let r = put_policy(&admin, good, &before.etag()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let saved = admin.get("/api/v1/settings/sales-policy").await.json;
    assert_eq!(saved["tiers"]["core"]["return_days"], 45);
    assert_eq!(
        saved["tiers"]["core"]["served_by"],
        "区域经理 Regional manager"
    );
    assert_eq!(
        saved["tiers"]["strategic"],
        before.json["tiers"]["strategic"]
    );
    // Not for a rep.
    let rep = app.login("rep1", PASSWORD).await;
    let r = put_policy(&rep, saved, &r.etag()).await;
    assert_eq!(r.status, 403);
}

async fn a_policy_stored_before_tiers_still_loads(app: TestApp) {
    app.seed_org().await;
    let (_, version) = app.app.sales_policy().await.unwrap();
    // What a server before per-tier service stored: one return period for the whole pool.
    let old = r#"{"grading":{"a_requires_budget":true,"a_requires_decision_chain":true},
        "response":{"a_hours":12,"b_hours":72,"c_nurture_days":30},
        "pool":{"return_days":45,"warning_days":3,"ownership_cap":150},
        "tier_weights":{"contribution":50,"potential":30,"payment":20},
        "tier_thresholds":{"strategic":80,"core":60}}"#;
    let mut tx = app.app.store().begin().await.unwrap();
    tx.set_sales_policy(version, old, app.app.now_ms())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let admin = app.login("admin", PASSWORD).await;
    let policy = admin.get("/api/v1/settings/sales-policy").await;
    assert_eq!(policy.status, 200, "{}", policy.body);
    assert_eq!(policy.json["response"]["a_hours"], 12);
    assert_eq!(policy.json["pool"], json!({"ownership_cap": 150}));
    assert_eq!(policy.json["tiers"]["core"]["return_days"], 60);
    assert_eq!(policy.json["tiers"]["ordinary"]["response_hours"], 48);
    assert_eq!(policy.json["tiers"]["strategic"]["revisit_days"], 14);
    // The jobs run on it, and it saves back in the new form.
    app.app.run_due_jobs().await.unwrap();
    let r = put_policy(&admin, policy.json.clone(), &policy.etag()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = admin.get("/admin/sales-policy").await;
    assert_eq!(page.status, 200);
}

async fn credit_changes_are_recorded_and_scoped(app: TestApp) {
    let org = app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let created = rep
        .post(
            "/api/v1/customers",
            json!({"name": "宁波迟付五金有限公司", "credit_rating": "AA", "credit_limit": 50_000_000}),
        )
        .await;
    let id = created.json["id"].as_i64().unwrap();
    let history = |c: Client| async move {
        c.get(&format!("/api/v1/customers/{id}/credit-history"))
            .await
    };
    let h = history(rep.clone()).await;
    assert_eq!(h.status, 200);
    assert_eq!(
        h.json,
        json!([{"rating_before": null, "rating_after": "AA", "limit_before": 0,
            "limit_after": 50_000_000, "changed_by": org.rep1, "reason": null,
            "at": h.json[0]["at"]}])
    );

    // An edit that leaves credit alone writes nothing.
    let edit = json!({"name": "宁波迟付五金制品有限公司", "credit_rating": "AA", "credit_limit": 50_000_000});
    let r = put_customer(&rep, id, &created.etag(), edit).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(history(rep.clone()).await.json.as_array().unwrap().len(), 1);

    // A downgrade is recorded with its reason, and the poor-credit warning shows.
    let cut = json!({"name": "宁波迟付五金制品有限公司", "credit_rating": "C", "credit_limit": 10_000_000,
        "credit_reason": "连续三期逾期付款"});
    let r = put_customer(&rep, id, &r.etag(), cut).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["poor_credit"], true);
    let h = history(rep.clone()).await.json;
    assert_eq!(h.as_array().unwrap().len(), 2);
    assert_eq!(
        (
            &h[0]["rating_before"],
            &h[0]["rating_after"],
            &h[0]["limit_before"],
            &h[0]["limit_after"],
            &h[0]["reason"]
        ),
        (
            &json!("AA"),
            &json!("C"),
            &json!(50_000_000),
            &json!(10_000_000),
            &json!("连续三期逾期付款")
        )
    );
    // A refused edit (stale version) writes nothing either.
    let stale =
        json!({"name": "宁波迟付五金制品有限公司", "credit_rating": "A", "credit_limit": 0});
    assert_eq!(
        put_customer(&rep, id, &created.etag(), stale).await.status,
        412
    );
    assert_eq!(history(rep.clone()).await.json.as_array().unwrap().len(), 2);

    // Scoped like the customer: another rep's customer is not found.
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(history(rep2).await.status, 404);
    assert_eq!(
        history(app.login("admin", PASSWORD).await).await.status,
        200
    );

    // A merge into a customer without credit of its own brings the absorbed one's along.
    let kept = new_customer(&rep, json!({"name": "Ningbo Hardware Group"})).await;
    let admin = app.login("admin", PASSWORD).await;
    let r = admin
        .post(
            &format!("/api/v1/customers/{kept}/merge"),
            json!({"from_id": id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.json["credit_rating"], &r.json["credit_limit"]),
        (&json!("C"), &json!(10_000_000))
    );
    let h = admin
        .get(&format!("/api/v1/customers/{kept}/credit-history"))
        .await
        .json;
    assert_eq!(h.as_array().unwrap().len(), 3, "{h}");
    assert_eq!(
        (&h[0]["rating_before"], &h[0]["rating_after"]),
        (&json!(null), &json!("C"))
    );
    assert!(h[0]["reason"].as_str().unwrap().contains(&format!("#{id}")));
    assert_eq!(h[0]["changed_by"], org.admin);
}

async fn a_revisit_falls_due_after_the_tier_cadence(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let policy = admin.get("/api/v1/settings/sales-policy").await;
    let mut tuned = policy.json.clone();
    tuned["tiers"]["ordinary"]["revisit_days"] = json!(10);
    assert_eq!(put_policy(&admin, tuned, &policy.etag()).await.status, 200);
    let rep = app.login("rep1", PASSWORD).await;
    let id = new_customer(&rep, json!({"name": "常来常往贸易有限公司"})).await;
    let due = |r: Reply| r.json["revisit_due"].clone();
    assert_eq!(
        due(rep.get(&format!("/api/v1/customers/{id}")).await),
        false
    );

    app.advance_hours(9 * 24);
    let rep = app.login("rep1", PASSWORD).await;
    assert_eq!(
        due(rep.get(&format!("/api/v1/customers/{id}")).await),
        false
    );
    let page = rep.get(&format!("/customers/{id}")).await.body;
    assert!(!page.contains("id=\"revisit-due\""));

    app.advance_hours(24);
    assert_eq!(due(rep.get(&format!("/api/v1/customers/{id}")).await), true);
    let list = rep.get("/api/v1/customers").await;
    assert_eq!(list.json["items"][0]["revisit_due"], true);
    let page = rep.get(&format!("/customers/{id}")).await.body;
    assert!(page.contains("id=\"revisit-due\""), "{page}");
    let list_page = rep.get("/customers").await.body;
    assert!(list_page.contains("revisit-due"));

    // A follow-up starts the cadence again.
    let call = json!({"customer_id": id, "kind": "call", "summary": "回访"});
    assert_eq!(rep.post("/api/v1/activities", call).await.status, 201);
    assert_eq!(
        due(rep.get(&format!("/api/v1/customers/{id}")).await),
        false
    );
}

// ---- in the browser -------------------------------------------------------------------------

async fn browser_edits_a_tier_and_sees_credit_history(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let created = rep
        .post(
            "/api/v1/customers",
            json!({"name": "Late Pay Hardware Co.", "credit_rating": "AA", "credit_limit": 50_000_000}),
        )
        .await;
    let id = created.json["id"].as_i64().unwrap();
    let cut = json!({"name": "Late Pay Hardware Co.", "credit_rating": "C", "credit_limit": 10_000_000,
        "credit_reason": "three payments overdue"});
    assert_eq!(
        put_customer(&rep, id, &created.etag(), cut).await.status,
        200
    );
    let Some(b) = Browser::launch_if_available("en").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "admin").await;
    b.goto(&app.url("/admin/sales-policy")).await.unwrap();
    let table = wait_text(&b, "#tier-service", "Strategic").await;
    assert!(
        table.contains("Core") && table.contains("Ordinary") && table.contains("Revisit every"),
        "{table}"
    );
    let core_return = r#"#tier-service input[name="tiers.core.return_days"]"#;
    let input = b.find(core_return).await.unwrap();
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some("60"));
    input.clear().await.unwrap();
    input.send_keys("45").await.unwrap();
    let served = b
        .find(r#"#tier-service input[name="tiers.core.served_by"]"#)
        .await
        .unwrap();
    served.clear().await.unwrap();
    served.send_keys("Regional manager").await.unwrap();
    b.find("#save-policy").await.unwrap().click().await.unwrap();
    wait_text(&b, ".notice", "Saved").await;
    let input = b.find(core_return).await.unwrap();
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some("45"));
    let saved = app.app.sales_policy().await.unwrap().0;
    assert_eq!(
        (
            saved.tiers.core.return_days,
            saved.tiers.core.served_by.as_str()
        ),
        (45, "Regional manager")
    );

    // A refused value shows its error at its cell and saves nothing: warned 50 days before a
    // return after 45.
    let warning = b
        .find(r#"#tier-service input[name="tiers.core.warning_days"]"#)
        .await
        .unwrap();
    warning.clear().await.unwrap();
    warning.send_keys("50").await.unwrap();
    b.find("#save-policy").await.unwrap().click().await.unwrap();
    wait_text(
        &b,
        r#"#tier-service [data-field="tiers.core.warning_days"]"#,
        "Out of range",
    )
    .await;
    assert_eq!(
        app.app
            .sales_policy()
            .await
            .unwrap()
            .0
            .tiers
            .core
            .warning_days,
        7
    );

    b.goto(&app.url(&format!("/customers/{id}"))).await.unwrap();
    let history = wait_text(&b, "#credit", "Credit history").await;
    assert!(
        history.contains("AA → C") && history.contains("three payments overdue"),
        "{history}"
    );
    let warning = wait_text(&b, "#credit-warning", "Poor credit").await;
    assert!(warning.contains("(C)"), "{warning}");

    // Raised again through the edit form, with a reason.
    b.find("#credit_rating")
        .await
        .unwrap()
        .select_by_value("A")
        .await
        .unwrap();
    b.find("#credit_reason")
        .await
        .unwrap()
        .send_keys("paid in full")
        .await
        .unwrap();
    b.find("#save-customer")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, ".notice", "Saved").await;
    let history = wait_text(&b, "#credit-history", "C → A").await;
    assert!(history.contains("paid in full"), "{history}");
    assert!(
        b.find("#credit-warning").await.is_err(),
        "no longer poor credit"
    );
    b.quit().await.unwrap();
}
