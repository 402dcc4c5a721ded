//! Contracts and the approval engine they run through, on both databases: numbering under
//! concurrency, milestones that must add up, review legal → sales → finance with parallel
//! clicks, outsiders and requesters refused, edits under review restarting it, delegation,
//! signing, archiving, amendments and who sees what.

use std::future::Future;

use crate::stages::open_gates;
use serde_json::{json, Value};
use stride_testkit::{backend_tests, Client, Org, TestApp, PASSWORD};

backend_tests!(
    contract_review_runs_legal_sales_finance,
    contract_numbers_stay_unique_under_concurrency,
    money_must_add_up_before_review,
    parallel_approvals_change_a_step_once,
    approvers_of_one_step_deciding_at_once_both_count,
    a_decisions_answer_is_the_request_as_it_now_stands,
    outsiders_and_requesters_cannot_decide,
    editing_under_review_restarts_the_approval,
    delegation_hands_waiting_tasks_over,
    signing_archiving_and_amendment,
    approval_flows_are_configurable_and_validated,
    waiting_approvers_are_reminded_and_requesters_may_withdraw,
    the_draft_takes_the_letter_of_intents_terms,
    submission_checks_the_negotiated_price_and_terms,
    closing_a_deal_withdraws_its_moot_reviews,
);

/// Runs `n` requests at once, each on its own task, and collects what they answered.
async fn at_once<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(f())).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// A company where rep1 (team 1, supervised by sup1) has a negotiated deal of 100,000.00 yuan
/// with 华为, legal1 drafts the contract, fin1 reviews it last.
pub(crate) struct Deal {
    pub org: Org,
    pub rep1: Client,
    pub legal1: Client,
    pub sup1: Client,
    pub fin1: Client,
    pub customer: i64,
    pub opportunity: i64,
}

/// Yuan in fen.
const fn yuan(y: i64) -> i64 {
    y * 100
}

const AMOUNT: i64 = yuan(100_000);

pub(crate) async fn deal(app: &TestApp) -> Deal {
    let org = app.seed_org().await;
    app.add_user("sup1", "supervisor", org.team1, None).await;
    app.add_user("legal1", "legal", org.root, None).await;
    app.add_user("legal2", "legal", org.root, None).await;
    app.add_user("fin1", "finance", org.root, None).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let r = rep1
        .post("/api/v1/customers", json!({"name": "华为技术有限公司"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let customer = r.json["id"].as_i64().unwrap();
    let r = rep1
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": customer, "name": "华为 数据中心扩容", "amount_fen": AMOUNT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Deal {
        org,
        rep1,
        legal1: app.login("legal1", PASSWORD).await,
        sup1: app.login("sup1", PASSWORD).await,
        fin1: app.login("fin1", PASSWORD).await,
        customer,
        opportunity: r.json["id"].as_i64().unwrap(),
    }
}

fn contract_body(d: &Deal, amount: i64, milestones: Value) -> Value {
    json!({
        "customer_id": d.customer,
        "opportunity_id": d.opportunity,
        "title": "数据中心扩容合同",
        "our_party": "Stride 示范公司",
        "customer_party": "华为技术有限公司",
        "amount_fen": amount,
        "milestones": milestones,
        "payment_terms": "30% 预付，70% 验收后 30 天内",
        "delivery_period": "签约后 60 天",
    })
}

fn split_milestones(amount: i64) -> Value {
    json!([
        {"name": "预付款", "due_on": "2026-12-15", "amount_fen": amount * 3 / 10},
        {"name": "验收款", "due_on": "2027-03-31", "amount_fen": amount - amount * 3 / 10},
    ])
}

async fn draft(d: &Deal) -> (i64, String) {
    let r = d
        .legal1
        .post(
            "/api/v1/contracts",
            contract_body(d, AMOUNT, split_milestones(AMOUNT)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.json["id"].as_i64().unwrap(),
        r.json["number"].as_str().unwrap().to_owned(),
    )
}

/// Drafts and submits; returns the contract and its approval request.
pub(crate) async fn submitted(d: &Deal) -> (i64, i64) {
    let (id, _) = draft(d).await;
    let r = d
        .rep1
        .post(&format!("/api/v1/contracts/{id}/submit"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["status"], "in_review");
    let r = d.rep1.get("/api/v1/approvals/requested").await;
    let request = r.json["items"][0]["id"].as_i64().unwrap();
    (id, request)
}

async fn decide(c: &Client, request: i64, decision: &str, comment: Option<&str>) -> u16 {
    c.post(
        &format!("/api/v1/approvals/{request}/decision"),
        json!({"decision": decision, "comment": comment}),
    )
    .await
    .status
}

/// The approval requests waiting for the client.
pub(crate) async fn waiting(c: &Client) -> Vec<i64> {
    let r = c.get("/api/v1/approvals").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["request"]["id"].as_i64().unwrap())
        .collect()
}

async fn contract_review_runs_legal_sales_finance(app: TestApp) {
    let d = deal(&app).await;
    let (id, request) = submitted(&d).await;
    // One step at a time: only legal has it now.
    assert_eq!(waiting(&d.legal1).await, [request]);
    assert!(waiting(&d.sup1).await.is_empty());
    assert!(waiting(&d.fin1).await.is_empty());
    // Reviewers see exactly what was sent to them, though the deal is not in their scope.
    let r = d.legal1.get(&format!("/api/v1/approvals/{request}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["snapshot"]["amount_fen"], AMOUNT);
    assert_eq!(r.json["kind"], "contract");

    assert_eq!(
        decide(&d.legal1, request, "approve", Some("条款无误")).await,
        200
    );
    assert_eq!(
        waiting(&d.sup1).await,
        [request],
        "sales: team 1's supervisor"
    );
    assert_eq!(decide(&d.sup1, request, "approve", None).await, 200);
    assert_eq!(waiting(&d.fin1).await, [request]);
    assert_eq!(decide(&d.fin1, request, "approve", None).await, 200);

    let r = d.rep1.get(&format!("/api/v1/approvals/{request}")).await;
    assert_eq!(r.json["status"], "approved");
    let actions: Vec<&str> = r.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "approve", "approve", "approve"]);
    let r = d.rep1.get(&format!("/api/v1/contracts/{id}")).await;
    assert_eq!(r.json["status"], "approved");
    // The requester heard about it in the inbox.
    let inbox = d.rep1.get("/api/v1/inbox").await;
    assert!(inbox.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["kind"] == "approval_approved" && n["record_id"] == request));
    // Approved: only an amendment may change it.
    let etag = r.etag();
    let r = d
        .rep1
        .patch(
            &format!("/api/v1/contracts/{id}"),
            &etag,
            contract_body_without_ids(&d),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
}

fn contract_body_without_ids(d: &Deal) -> Value {
    let mut body = contract_body(d, AMOUNT, split_milestones(AMOUNT));
    let map = body.as_object_mut().unwrap();
    map.remove("customer_id");
    map.remove("opportunity_id");
    map.insert("payment_terms".into(), json!("50% 预付，50% 验收后"));
    body
}

async fn contract_numbers_stay_unique_under_concurrency(app: TestApp) {
    let d = deal(&app).await;
    let body = contract_body(&d, AMOUNT, split_milestones(AMOUNT));
    let replies = at_once(30, || {
        let (c, body) = (d.legal1.clone(), body.clone());
        async move { c.post("/api/v1/contracts", body).await }
    })
    .await;
    let mut numbers: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.json["number"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 30, "every draft got its own number");
    let year = &numbers[0][3..7];
    let expected: Vec<String> = (1..=30).map(|n| format!("HT-{year}-{n:05}")).collect();
    assert_eq!(numbers, expected, "one series, no gaps");

    // A new pattern takes effect for the next draft; a bad one is refused by field.
    let admin = app.login("admin", PASSWORD).await;
    let r = admin.get("/api/v1/contract-settings").await;
    let etag = r.etag();
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/contract-settings",
            Some(json!({"number_pattern": "SH-{yyyy}"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["number_pattern".to_owned()])
    );
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/contract-settings",
            Some(json!({"number_pattern": "SH/{yy}{mm}-{seq:3}"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d.legal1.post("/api/v1/contracts", body).await;
    let number = r.json["number"].as_str().unwrap();
    assert!(
        number.starts_with("SH/") && number.ends_with("-001"),
        "{number}"
    );
}

async fn money_must_add_up_before_review(app: TestApp) {
    let d = deal(&app).await;
    // Milestones 30,000 + 60,000 for a 100,000 contract.
    let short = json!([
        {"name": "预付款", "due_on": "2026-12-15", "amount_fen": yuan(30_000)},
        {"name": "验收款", "due_on": "2027-03-31", "amount_fen": yuan(60_000)},
    ]);
    let r = d
        .legal1
        .post("/api/v1/contracts", contract_body(&d, AMOUNT, short))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error_fields().contains(&"milestones".to_owned()),
        "{}",
        r.body
    );
    let list = d.legal1.get("/api/v1/contracts").await;
    assert_eq!(
        list.json["items"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );

    // Lines must add up to the amount too.
    let mut body = contract_body(&d, AMOUNT, split_milestones(AMOUNT));
    body["lines"] = json!([{"name": "服务器", "quantity": 3, "unit_price_fen": 3_333_333}]);
    let r = d.legal1.post("/api/v1/contracts", body).await;
    assert_eq!(r.status, 422);
    assert!(
        r.error_fields().contains(&"amount_fen".to_owned()),
        "{}",
        r.body
    );

    // A contract for another amount than the one negotiated cannot go to review.
    let other = AMOUNT - 1;
    let r = d
        .legal1
        .post(
            "/api/v1/contracts",
            contract_body(&d, other, split_milestones(other)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    let r = d
        .rep1
        .post(&format!("/api/v1/contracts/{id}/submit"), json!({}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["amount_fen"]);
    let r = d.rep1.get(&format!("/api/v1/contracts/{id}")).await;
    assert_eq!(
        r.json["status"], "draft",
        "a refused submission changes nothing"
    );
}

async fn parallel_approvals_change_a_step_once(app: TestApp) {
    let d = deal(&app).await;
    let (_, request) = submitted(&d).await;
    let statuses = at_once(50, || {
        let c = d.legal1.clone();
        async move { decide(&c, request, "approve", None).await }
    })
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );

    let r = d.legal1.get(&format!("/api/v1/approvals/{request}")).await;
    let approvals = r.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "approve")
        .count();
    assert_eq!(approvals, 1);
    assert_eq!(r.json["current_step"], 1, "moved on exactly one step");
    // One notification for the next approver, one audit row for the decision.
    let inbox = d.sup1.get("/api/v1/inbox").await;
    let waiting_notes = inbox.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "approval_waiting" && n["record_id"] == request)
        .count();
    assert_eq!(waiting_notes, 1);
    let admin = app.login("admin", PASSWORD).await;
    let audit = admin
        .get(&format!(
            "/api/v1/audit?record_kind=approval&record_id={request}&action=approve"
        ))
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert_eq!(audit.json["items"].as_array().unwrap().len(), 1);
}

/// The contract flow becomes one step that both lawyers must approve.
async fn both_lawyers_review_contracts(app: &TestApp) {
    let admin = app.login("admin", PASSWORD).await;
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/approval-flows/contract",
            Some(json!({"definition": {"steps": [{"name": "会审", "mode": "all", "approvers": [{"type": "role", "role": "legal"}]}]}})),
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Both lawyers of an "all" step approve at the same moment: whichever decides second must see
/// the first's approval, or the step would wait for ever on tasks that are all approved.
async fn approvers_of_one_step_deciding_at_once_both_count(app: TestApp) {
    let d = deal(&app).await;
    let legal2 = app.login("legal2", PASSWORD).await;
    both_lawyers_review_contracts(&app).await;
    for round in 0..8 {
        let (_, request) = submitted(&d).await;
        let (first, second) = tokio::join!(
            decide(&d.legal1, request, "approve", None),
            decide(&legal2, request, "approve", None),
        );
        assert_eq!((first, second), (200, 200), "round {round}");
        let r = d.legal1.get(&format!("/api/v1/approvals/{request}")).await;
        assert_eq!(
            r.json["status"], "approved",
            "round {round}: both approved the only step: {}",
            r.body
        );
    }
}

/// Decides and expects the answer to be what reading the request afterwards shows: its
/// tasks, history and state, for every way a step can end.
async fn decide_as_shown(c: &Client, request: i64, decision: &str, comment: Option<&str>) {
    let r = c
        .post(
            &format!("/api/v1/approvals/{request}/decision"),
            json!({"decision": decision, "comment": comment}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = c.get(&format!("/api/v1/approvals/{request}")).await;
    assert_eq!(r.json, shown.json, "the answer to {decision}");
}

async fn a_decisions_answer_is_the_request_as_it_now_stands(app: TestApp) {
    let d = deal(&app).await;
    let legal2 = app.login("legal2", PASSWORD).await;
    // Legal (either lawyer: the other's task is skipped, and sales' step begins), then
    // sales, then finance, which approves the request.
    let (_, request) = submitted(&d).await;
    decide_as_shown(&legal2, request, "approve", Some("条款无误")).await;
    decide_as_shown(&d.sup1, request, "approve", None).await;
    decide_as_shown(&d.fin1, request, "approve", None).await;

    // Both lawyers must approve: the first approval leaves the step waiting, a rejection
    // ends the request.
    both_lawyers_review_contracts(&app).await;
    let (_, request) = submitted(&d).await;
    decide_as_shown(&d.legal1, request, "approve", None).await;
    decide_as_shown(
        &legal2,
        request,
        "reject",
        Some("违约条款缺失 / no liability clause"),
    )
    .await;
    // A first rejection ends the step: the other lawyer's task is skipped.
    let (_, request) = submitted(&d).await;
    decide_as_shown(&legal2, request, "return", Some("请补充验收标准")).await;
}

async fn outsiders_and_requesters_cannot_decide(app: TestApp) {
    let d = deal(&app).await;
    let (_, request) = submitted(&d).await;
    // The requester is never an approver of their own request.
    assert_eq!(decide(&d.rep1, request, "approve", None).await, 403);
    // A manager who sees the request but is not in the flow.
    let manager = app.login("manager", PASSWORD).await;
    assert_eq!(
        manager
            .get(&format!("/api/v1/approvals/{request}"))
            .await
            .status,
        200
    );
    assert_eq!(decide(&manager, request, "approve", None).await, 403);
    // Someone who may not even see it.
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(decide(&rep2, request, "approve", None).await, 404);
    assert_eq!(
        rep2.get(&format!("/api/v1/approvals/{request}"))
            .await
            .status,
        404
    );
    // A later step's approver has nothing to decide yet.
    assert_eq!(decide(&d.fin1, request, "approve", None).await, 403);
    // Rejecting needs a reason.
    let r = d
        .legal1
        .post(
            &format!("/api/v1/approvals/{request}/decision"),
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["comment".to_owned()])
    );
    let _ = d.org;
}

async fn editing_under_review_restarts_the_approval(app: TestApp) {
    let d = deal(&app).await;
    let (id, request) = submitted(&d).await;
    let seen = d
        .legal1
        .get(&format!("/api/v1/approvals/{request}"))
        .await
        .etag();
    assert_eq!(decide(&d.legal1, request, "approve", None).await, 200);
    assert_eq!(waiting(&d.sup1).await, [request]);

    // Someone other than the requester cannot edit a contract under review.
    let r = d.legal1.get(&format!("/api/v1/contracts/{id}")).await;
    let etag = r.etag();
    let r = d
        .legal1
        .patch(
            &format!("/api/v1/contracts/{id}"),
            &etag,
            contract_body_without_ids(&d),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // The requester's edit sends the review back to its first step.
    let r = d
        .rep1
        .patch(
            &format!("/api/v1/contracts/{id}"),
            &etag,
            contract_body_without_ids(&d),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d.rep1.get(&format!("/api/v1/approvals/{request}")).await;
    assert_eq!(
        (r.json["status"].as_str(), r.json["current_step"].as_i64()),
        (Some("pending"), Some(0))
    );
    assert_eq!(r.json["snapshot"]["payment_terms"], "50% 预付，50% 验收后");
    assert!(
        waiting(&d.sup1).await.is_empty(),
        "the supervisor's task is gone"
    );
    assert_eq!(waiting(&d.legal1).await, [request], "legal looks again");
    // An approval given on what legal saw before the change is refused.
    let r = d
        .legal1
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/approvals/{request}/decision"),
            Some(json!({"decision": "approve"})),
            &[("if-match", &seen)],
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    let tasks = r_tasks(&d.rep1, request).await;
    assert!(tasks.contains(&"superseded".to_owned()), "{tasks:?}");
}

async fn r_tasks(c: &Client, request: i64) -> Vec<String> {
    let r = c.get(&format!("/api/v1/approvals/{request}")).await;
    r.json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn delegation_hands_waiting_tasks_over(app: TestApp) {
    let d = deal(&app).await;
    let (_, request) = submitted(&d).await;
    let legal2 = app.login("legal2", PASSWORD).await;
    // Both legal users hold the legal step (any one may approve); legal1 goes away.
    let legal2_id = legal2.get("/api/v1/auth/me").await.json["id"]
        .as_i64()
        .unwrap();
    let r = d
        .legal1
        .post(
            "/api/v1/approval-delegations",
            json!({"delegate_id": legal2_id, "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(waiting(&d.legal1).await.is_empty());
    assert_eq!(
        waiting(&legal2).await,
        [request, request],
        "its own task and legal1's"
    );
    let r = d
        .legal1
        .post(
            "/api/v1/approval-delegations",
            json!({"delegate_id": legal2_id, "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["ends_at_ms".to_owned()])
    );
    assert_eq!(decide(&legal2, request, "approve", None).await, 200);
    assert_eq!(waiting(&d.sup1).await, [request]);
}

async fn signing_archiving_and_amendment(app: TestApp) {
    let d = deal(&app).await;
    let (id, request) = submitted(&d).await;
    for c in [&d.legal1, &d.sup1, &d.fin1] {
        assert_eq!(decide(c, request, "approve", None).await, 200);
    }
    // Before signing, delivery (scope: own) does not see the contract.
    app.add_user("delivery1", "delivery", d.org.root, None)
        .await;
    let delivery = app.login("delivery1", PASSWORD).await;
    assert_eq!(
        delivery
            .get(&format!("/api/v1/contracts/{id}"))
            .await
            .status,
        404
    );

    let r = d
        .rep1
        .post(
            &format!("/api/v1/contracts/{id}/sign"),
            json!({"method": "fax", "signed_on": "2026-11-23"}),
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["method".to_owned()])
    );
    let r = d
        .rep1
        .post(
            &format!("/api/v1/contracts/{id}/sign"),
            json!({"method": "paper", "signed_on": "2026-11-23", "customer_signatory": "张总"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["status"], "signed");
    assert!(r.json["archive_due_at"].as_str().is_some());
    assert_eq!(r.json["archive_late"], false);
    // Signed: shared with delivery and finance.
    assert_eq!(
        delivery
            .get(&format!("/api/v1/contracts/{id}"))
            .await
            .status,
        200
    );

    // Four days later the scan is still missing: flagged once, to the owner and the drafter.
    app.advance_hours(4 * 24);
    assert_eq!(app.app.run_due_jobs().await.unwrap().late_archives, 1);
    assert_eq!(app.app.run_due_jobs().await.unwrap().late_archives, 0);
    let r = d.rep1.get(&format!("/api/v1/contracts/{id}")).await;
    assert_eq!(r.json["archive_late"], true);

    // Archiving needs a scan attached to this very contract.
    let r = d
        .rep1
        .post(
            &format!("/api/v1/contracts/{id}/archive"),
            json!({"scan_attachment_id": 999_999}),
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["scan_attachment_id".to_owned()])
    );
    let scan = upload_scan(&d.legal1, id).await;
    let r = d
        .rep1
        .post(
            &format!("/api/v1/contracts/{id}/archive"),
            json!({"scan_attachment_id": scan}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json["status"].as_str(), r.json["archive_late"].as_bool()),
        (Some("archived"), Some(true))
    );

    // An amendment is a new revision with the same number; the signed one stays.
    let r = d
        .legal1
        .post(&format!("/api/v1/contracts/{id}/amend"), json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let amended = r.json["id"].as_i64().unwrap();
    assert_eq!(
        (r.json["revision"].as_i64(), r.json["status"].as_str()),
        (Some(2), Some("draft"))
    );
    let r = d
        .legal1
        .post(&format!("/api/v1/contracts/{id}/amend"), json!({}))
        .await;
    assert_eq!(r.status, 409, "one open amendment at a time");
    let r = d
        .rep1
        .get(&format!("/api/v1/contracts/{amended}/revisions"))
        .await;
    let revisions: Vec<(i64, String)> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["revision"].as_i64().unwrap(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        revisions,
        [(2, "draft".to_owned()), (1, "archived".to_owned())]
    );
}

async fn upload_scan(c: &Client, contract: i64) -> i64 {
    let r = crate::attachments::upload(
        c,
        "contract",
        contract,
        "合同扫描件.pdf",
        b"%PDF-1.4\n%scan\n",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json["id"].as_i64().unwrap()
}

async fn approval_flows_are_configurable_and_validated(app: TestApp) {
    let d = deal(&app).await;
    let admin = app.login("admin", PASSWORD).await;
    let r = admin.get("/api/v1/approval-flows").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json.as_array().unwrap().len(), 7);
    assert_eq!(d.rep1.get("/api/v1/approval-flows").await.status, 403);

    let put = |etag: &'static str, definition: Value| {
        let admin = admin.clone();
        async move {
            admin
                .send(
                    reqwest::Method::PUT,
                    "/api/v1/approval-flows/contract",
                    Some(json!({ "definition": definition })),
                    &[("if-match", etag)],
                )
                .await
        }
    };
    let r = put(
        "\"0\"",
        json!({"steps": [{"name": "法务", "mode": "any", "approvers": [{"type": "reporting_line", "levels": 9}]}]}),
    )
    .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["steps[0].approvers[0]".to_owned()])
    );
    // A role nobody has defined and a user who does not exist are named on their own rule.
    let r = put(
        "\"0\"",
        json!({"steps": [{"name": "审核", "mode": "all", "approvers": [
            {"type": "role", "role": "chief_fun_officer"},
            {"type": "user", "user_id": 987_654},
            {"type": "role", "role": "legal"}]}]}),
    )
    .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (
            422,
            vec![
                "steps[0].approvers[0].role".to_owned(),
                "steps[0].approvers[1].user_id".to_owned()
            ]
        ),
        "{}",
        r.body
    );
    // Finance alone, only from 1,000,000 yuan; below that the flow approves at once.
    let r = put(
        "\"0\"",
        json!({"steps": [{"name": "财务", "mode": "any", "approvers": [{"type": "role", "role": "finance"}], "when": {"min_amount_fen": 100_000_000}}]}),
    )
    .await;
    assert_eq!(
        (r.status, r.json["version"].as_i64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    let finance_only = json!({"steps": [{"name": "财务", "mode": "any", "approvers": [{"type": "role", "role": "finance"}]}]});
    let r = put("\"0\"", finance_only).await;
    assert_eq!(r.status, 412, "a stale version is refused");

    let (id, _) = draft(&d).await;
    let r = d
        .rep1
        .post(&format!("/api/v1/contracts/{id}/submit"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d.rep1.get(&format!("/api/v1/contracts/{id}")).await;
    assert_eq!(
        r.json["status"], "approved",
        "no step applies to 100,000 yuan"
    );
}

async fn waiting_approvers_are_reminded_and_requesters_may_withdraw(app: TestApp) {
    let d = deal(&app).await;
    let (id, request) = submitted(&d).await;
    let reminders = |c: Client| async move {
        c.get("/api/v1/inbox").await.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "approval_reminder")
            .count()
    };
    assert_eq!(app.app.run_due_jobs().await.unwrap().approval_reminders, 0);
    app.advance_hours(25);
    // Both legal users hold the waiting step; each is reminded once a day, not on every run.
    assert_eq!(app.app.run_due_jobs().await.unwrap().approval_reminders, 2);
    assert_eq!(app.app.run_due_jobs().await.unwrap().approval_reminders, 0);
    assert_eq!(reminders(d.legal1.clone()).await, 1);

    // Only the requester may withdraw; the contract goes back to draft and nothing waits any more.
    let r = d
        .legal1
        .post(&format!("/api/v1/approvals/{request}/withdraw"), json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = d
        .rep1
        .post(&format!("/api/v1/approvals/{request}/withdraw"), json!({}))
        .await;
    assert_eq!(
        (r.status, r.json["status"].as_str()),
        (200, Some("withdrawn")),
        "{}",
        r.body
    );
    assert!(waiting(&d.legal1).await.is_empty());
    let r = d.rep1.get(&format!("/api/v1/contracts/{id}")).await;
    assert_eq!(r.json["status"], "draft");
}

const INTENT_TERMS: &str = "签约付 30%，验收后付 70%";
const INTENT_DELIVERY: &str = "合同签订后 60 天内";

/// rep1 writes the deal's letter of intent (合作意向书), then revises it: the newest counts.
async fn letter_of_intent(d: &Deal) {
    let path = format!("/api/v1/opportunities/{}/letter-of-intent", d.opportunity);
    let mut letter = json!({
        "scope": "数据中心扩容",
        "amount_fen": AMOUNT,
        "payment_terms": "全款预付",
        "delivery": "签约后 90 天",
        "valid_until": "2027-03-31",
    });
    let r = d.rep1.post(&path, letter.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    letter["payment_terms"] = json!(INTENT_TERMS);
    letter["delivery"] = json!(INTENT_DELIVERY);
    let r = d.rep1.patch(&path, "\"1\"", letter).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A draft of the deal's contract without payment terms or delivery.
fn bare_body(d: &Deal, opportunity: i64) -> Value {
    let mut body = contract_body(d, AMOUNT, split_milestones(AMOUNT));
    body["opportunity_id"] = json!(opportunity);
    let fields = body.as_object_mut().unwrap();
    fields.remove("payment_terms");
    fields.remove("delivery_period");
    body
}

async fn the_draft_takes_the_letter_of_intents_terms(app: TestApp) {
    let d = deal(&app).await;
    // Without a letter of intent nothing is filled in.
    let r = d
        .legal1
        .post("/api/v1/contracts", bare_body(&d, d.opportunity))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json["payment_terms"].is_null());

    letter_of_intent(&d).await;
    let r = d
        .legal1
        .post("/api/v1/contracts", bare_body(&d, d.opportunity))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (
            r.json["payment_terms"].as_str(),
            r.json["delivery_period"].as_str()
        ),
        (Some(INTENT_TERMS), Some(INTENT_DELIVERY))
    );
    // Blank is empty too; what the draft states itself stays.
    let mut body = bare_body(&d, d.opportunity);
    body["payment_terms"] = json!("  ");
    body["delivery_period"] = json!("签约后 30 天");
    let r = d.legal1.post("/api/v1/contracts", body).await;
    assert_eq!(
        (
            r.json["payment_terms"].as_str(),
            r.json["delivery_period"].as_str()
        ),
        (Some(INTENT_TERMS), Some("签约后 30 天"))
    );
    // The drafting form comes filled in with them.
    let page = d
        .legal1
        .get(&format!("/contracts/new?opportunity_id={}", d.opportunity))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(INTENT_TERMS), "{}", page.body);
    assert!(page.body.contains(INTENT_DELIVERY));
    assert!(page.body.contains("id=\"terms-from-intent\""));
}

async fn submission_checks_the_negotiated_price_and_terms(app: TestApp) {
    let d = deal(&app).await;
    letter_of_intent(&d).await;
    let mut body = contract_body(&d, AMOUNT, split_milestones(AMOUNT));
    body["payment_terms"] = json!("签约付 50%，验收后付 50%");
    let r = d.legal1.post("/api/v1/contracts", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    let submit_path = format!("/api/v1/contracts/{id}/submit");
    let submit = || d.rep1.post(&submit_path, json!({}));
    let r = submit().await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["payment_terms"]);
    assert_eq!(r.json["errors"][0]["code"], "not_negotiated");
    let message = r.json["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(INTENT_TERMS), "{message}");
    // The contract page names the letter's wording beside the refusal.
    let page = d.rep1.get(&format!("/contracts/{id}")).await;
    assert!(page
        .body
        .contains("id=\"intent-payment-terms\" class=\"error\""));

    // A price other than the deal's is refused the same way, both at once.
    let path = format!("/api/v1/contracts/{id}");
    let current = d.legal1.get(&path).await;
    let cheaper = AMOUNT - yuan(1_000);
    let mut body = contract_body(&d, cheaper, split_milestones(cheaper));
    body["payment_terms"] = json!("签约付 50%，验收后付 50%");
    let fields = body.as_object_mut().unwrap();
    fields.remove("customer_id");
    fields.remove("opportunity_id");
    let r = d.legal1.patch(&path, &current.etag(), body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit().await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["amount_fen", "payment_terms"]);

    // Spacing, case and full-width forms aside, the letter's terms pass.
    body["amount_fen"] = json!(AMOUNT);
    body["milestones"] = split_milestones(AMOUNT);
    body["payment_terms"] = json!("签约付３０％,验收后付　７０％");
    let current = d.legal1.get(&path).await;
    let r = d.legal1.patch(&path, &current.etag(), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["status"], "in_review");
}

/// Puts a proposal of the deal under review; returns its id and its request.
async fn proposal_in_review(rep: &Client, opportunity: i64) -> (i64, i64) {
    let r = rep
        .post(
            &format!("/api/v1/opportunities/{opportunity}/proposals"),
            json!({"title": "扩容方案", "price_fen": AMOUNT}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    let r = rep
        .post(&format!("/api/v1/proposals/{id}/submit"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (id, request_about(rep, "proposal", id).await)
}

/// The newest request rep asked for about a record.
async fn request_about(rep: &Client, record_kind: &str, record_id: i64) -> i64 {
    let r = rep.get("/api/v1/approvals/requested").await;
    r.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["record_kind"] == record_kind && i["record_id"] == record_id)
        .and_then(|i| i["id"].as_i64())
        .unwrap()
}

async fn close(c: &Client, opportunity: i64, outcome: &str) {
    let path = format!("/api/v1/opportunities/{opportunity}");
    let etag = c.get(&path).await.etag();
    let r = c
        .send(
            reqwest::Method::POST,
            &format!("{path}/close"),
            Some(json!({"outcome": outcome, "reason": "budget"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn status_of(c: &Client, request: i64) -> String {
    let r = c.get(&format!("/api/v1/approvals/{request}")).await;
    r.json["status"].as_str().unwrap().to_owned()
}

async fn closing_a_deal_withdraws_its_moot_reviews(app: TestApp) {
    let d = deal(&app).await;
    app.add_user("expert1", "expert", d.org.root, None).await;
    let expert = app.login("expert1", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    // This test is about the reviews, not the gates on the way to won.
    open_gates(&admin).await;

    // Won: the proposal review is moot, the contract review goes on.
    let (won_contract, won_contract_review) = submitted(&d).await;
    let (won_proposal, won_proposal_review) = proposal_in_review(&d.rep1, d.opportunity).await;
    assert_eq!(waiting(&expert).await, [won_proposal_review]);
    // Before closing, the API and the close form name what a close would withdraw.
    let preview = d
        .rep1
        .get(&format!(
            "/api/v1/opportunities/{}/close-preview",
            d.opportunity
        ))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let ids = |list: &serde_json::Value| -> Vec<i64> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&preview.json["either_way"]), [won_proposal_review]);
    assert_eq!(ids(&preview.json["if_lost"]), [won_contract_review]);
    assert_eq!(preview.json["hidden"], 0);
    let page = d
        .rep1
        .get(&format!("/opportunities/{}", d.opportunity))
        .await
        .body;
    let form = page
        .split("id=\"close-withdraws\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        form.contains(&format!("#{won_proposal_review} "))
            && form.contains(&format!("#{won_contract_review} ")),
        "{form}"
    );
    // A rep of another team does not learn of the deal's reviews.
    let other = app.login("rep2", PASSWORD).await;
    let r = other
        .get(&format!(
            "/api/v1/opportunities/{}/close-preview",
            d.opportunity
        ))
        .await;
    assert_eq!(r.status, 404);
    close(&d.rep1, d.opportunity, "won").await;
    assert_eq!(status_of(&d.rep1, won_proposal_review).await, "withdrawn");
    assert_eq!(status_of(&d.rep1, won_contract_review).await, "pending");
    assert!(waiting(&expert).await.is_empty());
    assert_eq!(waiting(&d.legal1).await, [won_contract_review]);
    let r = d
        .rep1
        .get(&format!("/api/v1/proposals/{won_proposal}"))
        .await;
    assert_eq!(r.json["status"], "draft");
    let r = d
        .rep1
        .get(&format!("/api/v1/contracts/{won_contract}"))
        .await;
    assert_eq!(r.json["status"], "in_review");

    // Lost, closed by the manager: the contract review goes too.
    let r = d
        .rep1
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": d.customer, "name": "华为 灾备中心", "amount_fen": AMOUNT}),
        )
        .await;
    let lost = r.json["id"].as_i64().unwrap();
    let r = d
        .legal1
        .post("/api/v1/contracts", {
            let mut body = contract_body(&d, AMOUNT, split_milestones(AMOUNT));
            body["opportunity_id"] = json!(lost);
            body
        })
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let lost_contract = r.json["id"].as_i64().unwrap();
    let r = d
        .rep1
        .post(
            &format!("/api/v1/contracts/{lost_contract}/submit"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let lost_contract_review = request_about(&d.rep1, "contract", lost_contract).await;
    let (_, lost_proposal_review) = proposal_in_review(&d.rep1, lost).await;
    close(&manager, lost, "lost").await;
    for request in [lost_contract_review, lost_proposal_review] {
        let r = d.rep1.get(&format!("/api/v1/approvals/{request}")).await;
        assert_eq!(r.json["status"], "withdrawn");
        let last = r.json["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (
                last["action"].as_str(),
                last["comment"].as_str(),
                last["actor_id"].as_i64()
            ),
            (
                Some("withdrawn"),
                Some("withdrawn because the deal was lost"),
                Some(d.org.manager)
            )
        );
    }
    assert_eq!(waiting(&d.legal1).await, [won_contract_review]);
    assert!(waiting(&expert).await.is_empty());
    let r = d
        .rep1
        .get(&format!("/api/v1/contracts/{lost_contract}"))
        .await;
    assert_eq!(r.json["status"], "draft");
    // The requester hears of it; the audit log says who withdrew and why.
    let inbox = d.rep1.get("/api/v1/inbox").await;
    let withdrawn = inbox.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "approval_withdrawn")
        .count();
    assert_eq!(withdrawn, 2);
    let audit = admin
        .get("/api/v1/audit?record_kind=approval&action=withdraw")
        .await;
    let rows: Vec<(Option<i64>, Option<i64>, Option<&str>)> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["record_id"].as_i64(),
                a["actor_id"].as_i64(),
                a["after"]["withdrawn_because"].as_str(),
            )
        })
        .collect();
    for (request, who, why) in [
        (won_proposal_review, d.org.rep1, "deal_won"),
        (lost_contract_review, d.org.manager, "deal_lost"),
        (lost_proposal_review, d.org.manager, "deal_lost"),
    ] {
        assert!(
            rows.contains(&(Some(request), Some(who), Some(why))),
            "{rows:?}"
        );
    }
}
