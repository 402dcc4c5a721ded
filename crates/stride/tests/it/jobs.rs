//! Background jobs on a frozen clock: SLA escalation and the public pool's tides, with two
//! servers running them at once.

use serde_json::json;
use stride_app::jobs::JOB_BATCH;
use stride_testkit::{backend_tests, TestApp, PASSWORD};

backend_tests!(
    overdue_leads_escalate_once_to_the_supervisor,
    quiet_customers_are_warned_then_return_to_the_pool,
    customers_are_retiered_once_a_month,
    a_tiering_run_a_server_left_is_finished_by_another,
    a_run_catches_up_batch_by_batch_handling_each_item_once,
    a_server_may_leave_the_jobs_to_the_command_line,
);

fn kinds(reply: &stride_testkit::Reply) -> Vec<String> {
    reply.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn overdue_leads_escalate_once_to_the_supervisor(app: TestApp) {
    app.seed_org().await;
    let peer = app.peer().await.unwrap();
    let rep = app.login("rep1", PASSWORD).await;
    let lead = rep
        .post(
            "/api/v1/leads",
            json!({"company": "中国平安保险", "contact_name": "马先生", "source": "referral",
            "explicit_need": true, "budget_known": true, "decision_chain_known": true}),
        )
        .await;
    let contacted = rep
        .post(
            "/api/v1/leads",
            json!({"company": "京东集团", "contact_name": "刘先生", "source": "website",
        "explicit_need": true, "budget_known": true, "decision_chain_known": true}),
        )
        .await;
    rep.post(
        &format!("/api/v1/leads/{}/first-contact", contacted.json["id"]),
        json!({"summary": "已联系"}),
    )
    .await;

    assert_eq!(
        app.app.run_due_jobs().await.unwrap().leads_escalated,
        0,
        "nothing is due yet"
    );
    app.advance_hours(25);
    // Both servers run the jobs at the same moment; the lead is escalated exactly once.
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    assert_eq!(a.unwrap().leads_escalated + b.unwrap().leads_escalated, 1);
    assert_eq!(app.app.run_due_jobs().await.unwrap().leads_escalated, 0);

    // The C lead is nurtured: a reminder when its date comes, then the next one a month on.
    let cold = rep
        .post(
            "/api/v1/leads",
            json!({"company": "只是问问有限公司", "phone": "13700000000", "source": "other"}),
        )
        .await;
    assert_eq!(cold.json["status"], "nurturing");
    app.advance_hours(31 * 24);
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    assert_eq!(
        a.unwrap().nurture_reminders + b.unwrap().nurture_reminders,
        1
    );
    assert_eq!(app.app.run_due_jobs().await.unwrap().nurture_reminders, 0);
    let rep = app.login("rep1", PASSWORD).await;
    assert_eq!(kinds(&rep.get("/api/v1/inbox").await), vec!["nurture_due"]);

    let manager = app.login("manager", PASSWORD).await;
    let inbox = manager.get("/api/v1/inbox?unread=true").await;
    assert_eq!(kinds(&inbox), vec!["lead_overdue"]);
    assert_eq!(inbox.json["items"][0]["record_id"], lead.json["id"]);
    assert_eq!(inbox.json["items"][0]["subject"], "中国平安保险");
    let id = inbox.json["items"][0]["id"].as_i64().unwrap();
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(
        kinds(&rep2.get("/api/v1/inbox").await),
        Vec::<String>::new()
    );
    assert_eq!(
        rep2.post(&format!("/api/v1/inbox/{id}/read"), json!({}))
            .await
            .status,
        404,
        "not their message"
    );
    assert_eq!(
        manager
            .post(&format!("/api/v1/inbox/{id}/read"), json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        kinds(&manager.get("/api/v1/inbox?unread=true").await),
        Vec::<String>::new()
    );
}

async fn quiet_customers_are_warned_then_return_to_the_pool(app: TestApp) {
    app.seed_org().await;
    let peer = app.peer().await.unwrap();
    let rep = app.login("rep1", PASSWORD).await;
    let quiet = rep
        .post("/api/v1/customers", json!({"name": "安静的客户有限公司"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let busy = rep
        .post("/api/v1/customers", json!({"name": "Busy Buyer Inc."}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();

    app.advance_hours(20 * 24);
    // Sessions last a week; sign in again.
    assert_eq!(rep.get("/api/v1/auth/me").await.status, 401);
    let rep = app.login("rep1", PASSWORD).await;
    let call = rep
        .post(
            "/api/v1/activities",
            json!({"customer_id": busy, "kind": "call", "summary": "季度回访"}),
        )
        .await;
    assert_eq!(call.status, 201, "{}", call.body);
    app.advance_hours(8 * 24);
    let rep = app.login("rep1", PASSWORD).await;
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (
            a.pool_warnings + b.pool_warnings,
            a.returned_to_pool + b.returned_to_pool
        ),
        (1, 0)
    );
    assert_eq!(kinds(&rep.get("/api/v1/inbox").await), vec!["pool_warning"]);

    app.advance_hours(3 * 24);
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    assert_eq!(a.unwrap().returned_to_pool + b.unwrap().returned_to_pool, 1);
    assert_eq!(
        kinds(&rep.get("/api/v1/inbox").await),
        vec!["returned_to_pool", "pool_warning"]
    );
    let pool = rep.get("/api/v1/customers?pool=true").await;
    let ids: Vec<i64> = pool.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![quiet],
        "the customer with a recent follow-up stays"
    );
    // A fresh claim starts a new quiet period.
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(
        rep2.post(&format!("/api/v1/customers/{quiet}/claim"), json!({}))
            .await
            .status,
        200
    );
    assert_eq!(app.app.run_due_jobs().await.unwrap().returned_to_pool, 0);
    let admin = app.login("admin", PASSWORD).await;
    let trail = admin
        .get(&format!(
            "/api/v1/audit?record_kind=customer&record_id={quiet}&action=return_to_pool"
        ))
        .await;
    assert_eq!(trail.json["items"].as_array().unwrap().len(), 1);
}

async fn customers_are_retiered_once_a_month(app: TestApp) {
    app.seed_org().await;
    let peer = app.peer().await.unwrap();
    let rep = app.login("rep1", PASSWORD).await;
    let star = rep.post("/api/v1/customers", json!({"name": "国家电网有限公司", "credit_rating": "AAA", "credit_limit": 200_000_000})).await.json["id"].as_i64().unwrap();
    let small = rep
        .post(
            "/api/v1/customers",
            json!({"name": "街角小店", "credit_rating": "C"}),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    for i in 0..10 {
        rep.post(
            "/api/v1/activities",
            json!({"customer_id": star, "kind": "visit", "summary": format!("拜访 {i}")}),
        )
        .await;
    }
    // The first run of the month re-tiers; the other server and later runs find it done.
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    assert_eq!(
        a.unwrap().customers_retiered + b.unwrap().customers_retiered,
        1
    );
    assert_eq!(app.app.run_due_jobs().await.unwrap().customers_retiered, 0);
    assert_eq!(
        rep.get(&format!("/api/v1/customers/{star}")).await.json["tier"],
        "strategic"
    );
    assert_eq!(
        rep.get(&format!("/api/v1/customers/{small}")).await.json["tier"],
        "ordinary"
    );
    let history = rep.get(&format!("/api/v1/customers/{star}/tiers")).await;
    assert_eq!(history.json[0]["tier"], "strategic");
    assert_eq!(history.json[0]["score"], 100);
    assert!(
        history.json[0]["reason"]
            .as_str()
            .unwrap()
            .contains("ordinary → strategic"),
        "{}",
        history.body
    );
    assert_eq!(
        app.login("rep2", PASSWORD)
            .await
            .get(&format!("/api/v1/customers/{star}/tiers"))
            .await
            .status,
        404
    );

    // A month on, with no follow-ups in 90 days the score drops and the tier moves down.
    app.advance_hours(100 * 24);
    let rep = app.login("rep1", PASSWORD).await;
    for _ in 0..3 {
        let call = json!({"customer_id": star, "kind": "call", "summary": "keep the customer"});
        rep.post("/api/v1/activities", call).await;
    }
    assert_eq!(app.app.run_due_jobs().await.unwrap().customers_retiered, 1);
    let tier = rep.get(&format!("/api/v1/customers/{star}")).await.json["tier"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        tier, "core",
        "score 65: three recent activities, full potential and payment"
    );
}

async fn a_tiering_run_a_server_left_is_finished_by_another(app: TestApp) {
    // Mid-month, so the hold lapsing below stays within the same month's run.
    app.clock.set("2026-12-15T04:00:00Z".parse().unwrap());
    app.seed_org().await;
    let peer = app.peer().await.unwrap();
    let rep = app.login("rep1", PASSWORD).await;
    let mut stars = Vec::new();
    for name in ["中国石化", "宝钢股份", "Contoso Ltd."] {
        let star = rep
            .post(
                "/api/v1/customers",
                json!({"name": name, "credit_rating": "AAA", "credit_limit": 200_000_000}),
            )
            .await
            .json["id"]
            .as_i64()
            .unwrap();
        for i in 0..10 {
            let visit =
                json!({"customer_id": star, "kind": "visit", "summary": format!("拜访 {i}")});
            rep.post("/api/v1/activities", visit).await;
        }
        stars.push(star);
    }
    let tier = |id: i64| {
        let rep = &rep;
        async move {
            rep.get(&format!("/api/v1/customers/{id}")).await.json["tier"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    // One server re-tiers the first customer, then stops as if it had crashed.
    assert_eq!(app.app.retier_customers(1, 1).await.unwrap(), 1);
    assert_eq!(tier(stars[0]).await, "strategic");
    assert_eq!(tier(stars[1]).await, "ordinary");
    // While its hold lasts, the other server leaves the run alone.
    assert_eq!(peer.app.run_monthly_tiering().await.unwrap(), 0);
    assert_eq!(tier(stars[1]).await, "ordinary");
    // Once the hold has lapsed, the other server finishes the run from where it stopped.
    app.advance_hours(1);
    assert_eq!(peer.app.run_monthly_tiering().await.unwrap(), 2);
    for star in &stars {
        assert_eq!(tier(*star).await, "strategic");
        let history = rep.get(&format!("/api/v1/customers/{star}/tiers")).await;
        assert_eq!(
            history.json.as_array().unwrap().len(),
            1,
            "each customer re-tiered once: {}",
            history.body
        );
    }
    // The month is done for every server.
    assert_eq!(app.app.run_monthly_tiering().await.unwrap(), 0);
    assert_eq!(peer.app.run_due_jobs().await.unwrap().customers_retiered, 0);
}

async fn a_run_catches_up_batch_by_batch_handling_each_item_once(app: TestApp) {
    app.seed_org().await;
    let peer = app.peer().await.unwrap();
    let rep = app.login("rep1", PASSWORD).await;
    // More quiet customers than two batches hold, as after an outage or a bulk load.
    let n = 2 * JOB_BATCH as usize + 1;
    for i in 0..n {
        let r = rep
            .post(
                "/api/v1/customers",
                json!({"name": format!("静默贸易{i}号有限公司")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    app.advance_hours(31 * 24);
    let (a, b) = tokio::join!(app.app.run_due_jobs(), peer.app.run_due_jobs());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (
            a.pool_warnings + b.pool_warnings,
            a.returned_to_pool + b.returned_to_pool
        ),
        (n, n),
        "one run of each server handles every due item, once"
    );
    let rep = app.login("rep1", PASSWORD).await;
    assert_eq!(rep.every_item("/api/v1/customers?pool=true").await.len(), n);
    assert_eq!(rep.every_item("/api/v1/inbox").await.len(), 2 * n);
    let admin = app.login("admin", PASSWORD).await;
    assert_eq!(
        admin
            .every_item("/api/v1/audit?record_kind=customer&action=return_to_pool")
            .await
            .len(),
        n
    );
    let again = app.app.run_due_jobs().await.unwrap();
    assert_eq!((again.pool_warnings, again.returned_to_pool), (0, 0));
}

async fn a_server_may_leave_the_jobs_to_the_command_line(app: TestApp) {
    app.seed_org().await;
    // Customers created 40 days ago and quiet since: `stride jobs run`, on the real clock,
    // finds them due.
    // (The servers' clock starts at the real time.)
    let forty_days_ms = 40 * 86_400_000;
    app.clock.advance_ms(-forty_days_ms);
    let rep = app.login("rep1", PASSWORD).await;
    for name in [
        "沉睡科技有限公司",
        "Dormant Devices Ltd.",
        "静止物流有限公司",
    ] {
        let r = rep.post("/api/v1/customers", json!({ "name": name })).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let stride = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_stride"));
        c.arg("--database-url")
            .arg(&app.database_url)
            .arg("--data-dir")
            .arg(&app.attachments_dir);
        c
    };
    // A server told to leave the jobs to others does not run them: they would run at its
    // start.
    let mut server = stride()
        .args(["serve", "--no-jobs", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("http://127.0.0.1:"), "{line}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(rep.every_item("/api/v1/customers").await.len(), 3);

    let out = stride().args(["jobs", "run"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"returned_to_pool\":3"), "{stdout}");

    app.clock.advance_ms(forty_days_ms);
    let rep = app.login("rep1", PASSWORD).await;
    assert_eq!(rep.every_item("/api/v1/customers?pool=true").await.len(), 3);
    assert!(rep.every_item("/api/v1/customers").await.is_empty());
}
