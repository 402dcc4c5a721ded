//! The documents of the sales stages on both databases: the stage gates read them (needs
//! analysis confirmed through the public link or by hand, proposal approved through the
//! approval engine, letter of intent signed), revisions need confirming again, the send
//! deadline counts working days, and every door follows the opportunity's scope.

use crate::stages::edit_stages;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{json, Value};
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    needs_analysis_gate_opens_through_the_public_link,
    a_revision_needs_confirming_again,
    send_deadline_counts_working_days,
    proposal_review_decides_the_letter_of_intent_gate,
    letter_of_intent_gate_and_field_errors,
    skipping_stages_needs_every_gate_on_the_way,
    objections_are_logged_with_field_errors,
    documents_follow_the_opportunity_scope,
);

fn tag(v: &Value) -> String {
    format!("\"{}\"", v["version"])
}

/// (field, code) of each entry of a problem's `errors`.
fn errors(r: &Reply) -> Vec<(String, String)> {
    r.json["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_owned(), code.to_owned())
}

/// A customer and an opportunity of rep1's, moved to the needs-analysis stage.
async fn deal(rep: &Client, name: &str) -> i64 {
    let r = rep.post("/api/v1/customers", json!({ "name": name })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = rep
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": r.json["id"], "name": format!("{name} 项目"), "amount_fen": 50_000_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(move_to(rep, id, "needs_analysis").await.status, 200);
    id
}

/// Moves the opportunity (reading its current version first).
async fn move_to(c: &Client, id: i64, stage: &str) -> Reply {
    let o = c.get(&format!("/api/v1/opportunities/{id}")).await;
    c.send(
        reqwest::Method::POST,
        &format!("/api/v1/opportunities/{id}/stage"),
        Some(json!({ "stage": stage })),
        &[("if-match", &tag(&o.json))],
    )
    .await
}

fn report(pain: &str) -> Value {
    json!({
        "pain_points": pain,
        "goals": "销售过程可视化，季度预测误差 < 10%",
        "budget_min_fen": 30_000_000,
        "budget_max_fen": 60_000_000,
        "decision_process": "IT 评估 → 财务审批 → 总经理拍板",
        "decision_makers": "王总（总经理），李经理（IT）",
        "timeline": "下季度上线",
        "meeting_at": "2026-11-20T10:00:00+08:00",
    })
}

async fn write_report(c: &Client, id: i64, pain: &str) -> Reply {
    c.post(
        &format!("/api/v1/opportunities/{id}/needs-analysis"),
        report(pain),
    )
    .await
}

/// Sends the report and returns the public page's path.
async fn send(c: &Client, id: i64) -> String {
    let r = c
        .post(
            &format!("/api/v1/opportunities/{id}/needs-analysis/send"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json["sent_at"].is_string());
    r.json["confirm_url"].as_str().unwrap().to_owned()
}

fn form_encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

async fn confirm_on_page(anon: &Client, path: &str, signer: &str, comment: &str) -> Reply {
    anon.raw(
        reqwest::Method::POST,
        path,
        form_encode(&[
            ("signer_name", signer),
            ("comment", comment),
            ("lang", "zh-CN"),
        ]),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
}

async fn needs_analysis_gate_opens_through_the_public_link(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let id = deal(&rep, "美的集团").await;

    // No report: the proposal stage names what is missing.
    let blocked = move_to(&rep, id, "proposal").await;
    assert_eq!(blocked.status, 422, "{}", blocked.body);
    assert_eq!(
        errors(&blocked),
        vec![pair("stage", "needs_analysis_confirmed")]
    );
    let none = rep
        .get(&format!("/api/v1/opportunities/{id}/needs-analysis"))
        .await;
    assert_eq!(none.status, 404);

    // A report that is written but not confirmed still blocks.
    let r = write_report(&rep, id, "销售数据分散在各区域的 Excel 表里").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.json["revision"].as_i64(), r.etag()),
        (Some(1), "\"1\"".to_owned())
    );
    assert!(r.json["confirmation"].is_null());
    // Revision 1 exists: a second POST is refused; revising is a PATCH.
    assert_eq!(write_report(&rep, id, "again").await.status, 409);
    assert_eq!(
        errors(&move_to(&rep, id, "proposal").await),
        vec![pair("stage", "needs_analysis_confirmed")]
    );

    // The customer opens the link without a login and sees the report in their language.
    let path = send(&rep, id).await;
    assert!(path.starts_with("/confirm/needs/"), "{path}");
    let anon = app.anonymous();
    let page = anon.get(&format!("{path}?lang=zh-CN")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("销售数据分散在各区域的 Excel 表里"));
    assert!(page.body.contains("请确认我们对贵方需求的理解"));
    let en = anon.get(&format!("{path}?lang=en")).await;
    assert!(en
        .body
        .contains("Please confirm our understanding of your needs"));
    // A guessed link is not found.
    assert_eq!(
        anon.get("/confirm/needs/not-a-real-token").await.status,
        404
    );
    assert_eq!(
        confirm_on_page(&anon, "/confirm/needs/not-a-real-token", "王总", "")
            .await
            .status,
        404
    );
    // Confirming needs a name; then it is recorded with the time and the signer.
    let nameless = confirm_on_page(&anon, &path, "  ", "").await;
    assert_eq!(nameless.status, 422);
    let done = confirm_on_page(&anon, &path, "王建国", "理解准确，同意推进").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("谢谢，您的确认已记录。"));
    let again = confirm_on_page(&anon, &path, "王建国", "").await;
    assert_eq!(again.status, 409);

    let got = rep
        .get(&format!("/api/v1/opportunities/{id}/needs-analysis"))
        .await;
    assert_eq!(got.status, 200);
    let c = &got.json["confirmation"];
    assert_eq!(
        (
            c["signer_name"].as_str(),
            c["method"].as_str(),
            c["comment"].as_str()
        ),
        (Some("王建国"), Some("link"), Some("理解准确，同意推进"))
    );
    assert!(c["confirmed_at"].is_string());

    // Now the gate holds.
    let moved = move_to(&rep, id, "proposal").await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json["stage"], "proposal");
    // The audit log has the confirmation.
    let admin = app.login("admin", PASSWORD).await;
    let audit = admin.get("/api/v1/audit?record_kind=needs_analysis").await;
    assert!(audit.body.contains("\"confirm\""), "{}", audit.body);
}

async fn a_revision_needs_confirming_again(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let id = deal(&rep, "格力电器").await;
    let path_of = format!("/api/v1/opportunities/{id}/needs-analysis");
    assert_eq!(write_report(&rep, id, "库存周转慢").await.status, 201);
    let old_link = send(&rep, id).await;
    // Revising needs the revision seen: without If-Match 428, with an old one 412.
    let no_tag = rep
        .send(reqwest::Method::PATCH, &path_of, Some(report("x")), &[])
        .await;
    assert_eq!(no_tag.status, 428);
    assert_eq!(rep.patch(&path_of, "\"7\"", report("x")).await.status, 412);
    let bad = rep
        .patch(&path_of, "\"1\"", json!({"pain_points": "", "goals": "g", "budget_min_fen": 9, "budget_max_fen": 1, "meeting_at": "yesterday"}))
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        errors(&bad),
        vec![
            pair("pain_points", "required"),
            pair("budget_max_fen", "invalid"),
            pair("meeting_at", "invalid")
        ]
    );
    let r2 = rep
        .patch(&path_of, "\"1\"", report("库存周转慢，缺货频繁"))
        .await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.json["revision"], 2);
    assert!(r2.json["confirmation"].is_null());

    // The link to revision 1 is dead, even though it was never used.
    let anon = app.anonymous();
    assert_eq!(anon.get(&old_link).await.status, 404);
    assert_eq!(
        confirm_on_page(&anon, &old_link, "周总", "").await.status,
        404
    );

    // The confirmation is recorded by hand for revision 2; revision 1 stays unconfirmed.
    let by_hand = rep
        .post(
            &format!("{path_of}/confirm"),
            json!({"signer_name": "周总", "how": "客户邮件回复确认"}),
        )
        .await;
    assert_eq!(by_hand.status, 200, "{}", by_hand.body);
    assert_eq!(by_hand.json["confirmation"]["method"], "by_hand");
    let got = rep.get(&path_of).await;
    assert_eq!(got.etag(), "\"2\"");
    let revs = got.json["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[0]["revision"], 2);
    assert_eq!(revs[0]["confirmation"]["signer_name"], "周总");
    assert_eq!(revs[1]["pain_points"], "库存周转慢");
    assert!(revs[1]["confirmation"].is_null());
    assert_eq!(move_to(&rep, id, "proposal").await.status, 200);

    // A third revision, unconfirmed, closes the gate again for the next entry.
    assert_eq!(
        rep.patch(&path_of, "\"2\"", report("再次修订"))
            .await
            .status,
        200
    );
    assert_eq!(move_to(&rep, id, "needs_analysis").await.status, 200);
    assert_eq!(
        errors(&move_to(&rep, id, "proposal").await),
        vec![pair("stage", "needs_analysis_confirmed")]
    );
    // The earlier confirmation is kept in the history.
    let got = rep.get(&path_of).await;
    assert_eq!(
        got.json["revisions"][1]["confirmation"]["signer_name"],
        "周总"
    );
}

/// The next `weekday` strictly after the day of `now` in Shanghai.
fn next(now: Timestamp, weekday: Weekday) -> Date {
    let today = now.to_zoned(TimeZone::get("Asia/Shanghai").unwrap()).date();
    let mut d = today.checked_add(1.day()).unwrap();
    while d.weekday() != weekday {
        d = d.checked_add(1.day()).unwrap();
    }
    d
}

fn shanghai(d: Date, hour: i8) -> Timestamp {
    d.at(hour, 0, 0, 0)
        .to_zoned(TimeZone::get("Asia/Shanghai").unwrap())
        .unwrap()
        .timestamp()
}

/// Moves the server clock, which stands no later than `clock`, to at least `t`.
fn advance_to(app: &TestApp, clock: &mut Timestamp, t: Timestamp) {
    let hours = (t.as_millisecond() - clock.as_millisecond()) / 3_600_000 + 1;
    app.advance_hours(hours);
    *clock = clock.checked_add((hours * 3600).seconds()).unwrap();
}

async fn send_deadline_counts_working_days(app: TestApp) {
    // The servers' frozen clock.
    let mut clock = Timestamp::from_millisecond(app.app.now_ms()).unwrap();
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let mut rep = app.login("rep1", PASSWORD).await;
    let id = deal(&rep, "海尔智家").await;
    // The meeting is on a Friday; the Monday after is a holiday, so the report is due Tuesday.
    let friday = next(clock, Weekday::Friday);
    let monday = friday.checked_add(3.days()).unwrap();
    let tuesday = friday.checked_add(4.days()).unwrap();
    let r = admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/calendar/days/{monday}"),
            Some(json!({"kind": "holiday", "name": "测试假日"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut body = report("渠道库存不透明");
    body["meeting_at"] = json!(format!("{friday}T10:00"));
    let r = rep
        .post(&format!("/api/v1/opportunities/{id}/needs-analysis"), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let due: Timestamp = r.json["send_due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, shanghai(tuesday, 10));
    assert_eq!(r.json["send_late"], false);

    let late_flag = |r: &Reply| r.json["send_late"].as_bool();
    let path = format!("/api/v1/opportunities/{id}/needs-analysis");
    // Over the weekend and the holiday it is not late, and nobody is told.
    advance_to(&app, &mut clock, shanghai(monday, 12));
    // Days pass: the sessions of the start have expired.
    rep = app.login("rep1", PASSWORD).await;
    assert_eq!(late_flag(&rep.get(&path).await), Some(false));
    assert_eq!(app.app.run_due_jobs().await.unwrap().late_needs_analyses, 0);
    // Past Tuesday 10:00 it is late: flagged in the API, and the owner's inbox hears it once.
    advance_to(&app, &mut clock, shanghai(tuesday, 11));
    rep = app.login("rep1", PASSWORD).await;
    assert_eq!(late_flag(&rep.get(&path).await), Some(true));
    assert_eq!(app.app.run_due_jobs().await.unwrap().late_needs_analyses, 1);
    assert_eq!(app.app.run_due_jobs().await.unwrap().late_needs_analyses, 0);
    let inbox = rep.get("/api/v1/inbox").await;
    let late: Vec<&Value> = inbox.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "needs_analysis_send_late")
        .collect();
    assert_eq!(late.len(), 1, "{}", inbox.body);
    assert_eq!(
        (
            late[0]["record_kind"].as_str(),
            late[0]["record_id"].as_i64()
        ),
        (Some("opportunity"), Some(id))
    );
    // Sent late stays late; the page shows the badge.
    send(&rep, id).await;
    assert_eq!(late_flag(&rep.get(&path).await), Some(true));
    let html = rep.get(&format!("/opportunities/{id}")).await;
    assert!(
        html.body.contains("id=\"needs-send-late\""),
        "{}",
        html.body
    );
}

/// Adds the proposal reviewers of the default flow: an expert, legal and finance.
async fn reviewers(app: &TestApp, org: &stride_testkit::Org) -> Vec<Client> {
    app.add_user("expert1", "expert", org.root, None).await;
    app.add_user("legal1", "legal", org.root, None).await;
    app.add_user("fin1", "finance", org.root, None).await;
    vec![
        app.login("expert1", PASSWORD).await,
        app.login("legal1", PASSWORD).await,
        app.login("fin1", PASSWORD).await,
    ]
}

async fn confirmed_by_hand(rep: &Client, id: i64) {
    assert_eq!(write_report(rep, id, "报价流程太慢").await.status, 201);
    let r = rep
        .post(
            &format!("/api/v1/opportunities/{id}/needs-analysis/confirm"),
            json!({"signer_name": "陈总", "how": "纸质签字"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn request_of(rep: &Client) -> i64 {
    let r = rep.get("/api/v1/approvals/requested").await;
    r.json["items"][0]["id"].as_i64().unwrap()
}

async fn decide(c: &Client, request: i64, decision: &str) -> u16 {
    let r = c
        .post(
            &format!("/api/v1/approvals/{request}/decision"),
            json!({"decision": decision, "comment": "评审意见"}),
        )
        .await;
    assert!(r.status == 200, "{}", r.body);
    r.status
}

async fn proposal_review_decides_the_letter_of_intent_gate(app: TestApp) {
    let org = app.seed_org().await;
    let team = reviewers(&app, &org).await;
    let rep = app.login("rep1", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let id = deal(&rep, "比亚迪股份").await;
    confirmed_by_hand(&rep, id).await;
    assert_eq!(move_to(&rep, id, "proposal").await.status, 200);
    assert_eq!(
        errors(&move_to(&rep, id, "letter_of_intent").await),
        vec![pair("stage", "proposal_approved")]
    );

    let r = rep
        .post(
            &format!("/api/v1/opportunities/{id}/proposals"),
            json!({"title": "CRM 一期方案", "summary": "销售管理 + 报表", "price_fen": 48_000_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.json["version_no"].as_i64(), r.json["status"].as_str()),
        (Some(1), Some("draft"))
    );
    let pid = r.json["id"].as_i64().unwrap();
    let bad = rep
        .post(
            &format!("/api/v1/opportunities/{id}/proposals"),
            json!({"title": " ", "price_fen": -1}),
        )
        .await;
    assert_eq!(
        errors(&bad),
        vec![pair("title", "required"), pair("price_fen", "invalid")]
    );

    let submitted = rep
        .post(&format!("/api/v1/proposals/{pid}/submit"), json!({}))
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    assert_eq!(submitted.json["status"], "in_review");
    let request = request_of(&rep).await;
    // Under review the proposal is locked for everyone but its requester.
    let seen = rep.get(&format!("/api/v1/proposals/{pid}")).await;
    let locked = manager
        .patch(
            &format!("/api/v1/proposals/{pid}"),
            &seen.etag(),
            json!({"title": "改名", "price_fen": 1}),
        )
        .await;
    assert_eq!(locked.status, 409, "{}", locked.body);
    // The requester's edit restarts the review from its first step.
    let edited = rep
        .patch(
            &format!("/api/v1/proposals/{pid}"),
            &seen.etag(),
            json!({"title": "CRM 一期方案（修订）", "summary": "销售管理 + 报表", "price_fen": 46_000_000}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.json["status"], "in_review");
    let detail = rep.get(&format!("/api/v1/approvals/{request}")).await;
    assert!(detail.body.contains("restarted"), "{}", detail.body);
    assert_eq!(detail.json["amount_fen"], 46_000_000);

    // Rejected: the gate still blocks.
    decide(&team[1], request, "reject").await;
    let got = rep.get(&format!("/api/v1/proposals/{pid}")).await;
    assert_eq!(got.json["status"], "rejected");
    assert_eq!(
        errors(&move_to(&rep, id, "letter_of_intent").await),
        vec![pair("stage", "proposal_approved")]
    );

    // Sent again and approved by every reviewer: the gate passes.
    let again = rep
        .post(&format!("/api/v1/proposals/{pid}/submit"), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let request = request_of(&rep).await;
    for reviewer in &team {
        decide(reviewer, request, "approve").await;
    }
    let got = rep.get(&format!("/api/v1/proposals/{pid}")).await;
    assert_eq!(got.json["status"], "approved");
    // Approved versions change only through a new version.
    let frozen = rep
        .patch(
            &format!("/api/v1/proposals/{pid}"),
            &got.etag(),
            json!({"title": "x", "price_fen": 1}),
        )
        .await;
    assert_eq!(frozen.status, 409);
    // The page shows the approved version without an edit form.
    let html = rep.get(&format!("/opportunities/{id}")).await;
    assert!(html
        .body
        .contains(&format!("id=\"proposal-{pid}\" data-status=\"approved\"")));
    assert!(!html.body.contains(&format!("action=\"/proposals/{pid}\"")));

    // The customer's feedback on the presentation.
    let shown = rep
        .post(
            &format!("/api/v1/proposals/{pid}/presentations"),
            json!({"presented_on": "2026-11-25", "attendees": "陈总、IT 李工", "feedback": "希望分期付款", "next_steps": "准备意向书"}),
        )
        .await;
    assert_eq!(shown.status, 201, "{}", shown.body);
    let bad = rep
        .post(
            &format!("/api/v1/proposals/{pid}/presentations"),
            json!({"presented_on": "25/11", "attendees": "", "feedback": "x"}),
        )
        .await;
    assert_eq!(
        errors(&bad),
        vec![
            pair("presented_on", "invalid"),
            pair("attendees", "required")
        ]
    );
    let list = rep
        .get(&format!("/api/v1/proposals/{pid}/presentations"))
        .await;
    assert_eq!(list.json[0]["feedback"], "希望分期付款");

    let moved = move_to(&rep, id, "letter_of_intent").await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // A new version is a draft again: the newest version decides the gate.
    let v2 = rep
        .post(
            &format!("/api/v1/opportunities/{id}/proposals"),
            json!({"title": "CRM 二期方案", "price_fen": 50_000_000}),
        )
        .await;
    assert_eq!(v2.json["version_no"], 2);
    assert_eq!(move_to(&rep, id, "proposal").await.status, 200);
    assert_eq!(
        errors(&move_to(&rep, id, "letter_of_intent").await),
        vec![pair("stage", "proposal_approved")]
    );
}

/// Leaves the contract's gate (a signed letter of intent) the only one on.
async fn only_contract_gate(admin: &Client) {
    edit_stages(admin, |s| {
        if s["code"] != "contract" {
            s["requires"] = json!([]);
        }
    })
    .await;
}

fn letter() -> Value {
    json!({
        "scope": "CRM 一期：销售管理、报表",
        "amount_fen": 46_000_000,
        "payment_terms": "30% 预付，70% 验收后",
        "delivery": "签约后 60 天",
        "valid_until": "2027-03-31",
        "next_steps": "法务起草合同",
    })
}

async fn letter_of_intent_gate_and_field_errors(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let id = deal(&rep, "宁德时代").await;
    let path = format!("/api/v1/opportunities/{id}/letter-of-intent");
    // Only the contract's gate is on here; the other gates have their own tests.
    only_contract_gate(&app.login("admin", PASSWORD).await).await;
    assert_eq!(
        errors(&move_to(&rep, id, "contract").await),
        vec![pair("stage", "letter_of_intent_signed")]
    );
    let bad = rep
        .post(
            &path,
            json!({"scope": "", "amount_fen": 0, "payment_terms": "x", "delivery": "y", "valid_until": "next year", "signed_on": "2026-11-23"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        errors(&bad),
        vec![
            pair("scope", "required"),
            pair("amount_fen", "invalid"),
            pair("valid_until", "invalid"),
            pair("customer_signatory", "required"),
        ]
    );
    assert_eq!(rep.get(&path).await.status, 404);
    // Unsigned, the gate still blocks.
    let r = rep.post(&path, letter()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.json["revision"].as_i64(), r.json["signed"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(rep.post(&path, letter()).await.status, 409);
    assert_eq!(
        errors(&move_to(&rep, id, "contract").await),
        vec![pair("stage", "letter_of_intent_signed")]
    );
    // Signing is a new revision; the first is kept.
    let mut signed = letter();
    signed["signed_on"] = json!("2026-11-23");
    signed["customer_signatory"] = json!("曾总");
    assert_eq!(rep.patch(&path, "\"5\"", signed.clone()).await.status, 412);
    let r = rep.patch(&path, "\"1\"", signed).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json["revision"].as_i64(), r.json["signed"].as_bool()),
        (Some(2), Some(true))
    );
    let got = rep.get(&path).await;
    assert_eq!(got.etag(), "\"2\"");
    assert_eq!(got.json["earlier"][0]["revision"], 1);
    assert_eq!(got.json["customer_signatory"], "曾总");
    let moved = move_to(&rep, id, "contract").await;
    assert_eq!(moved.status, 200, "{}", moved.body);
}

/// Gates add up: a deal that skips stages must hold every gate on the way, and each document
/// that arrives takes one requirement off the list, until the deal may go straight to the
/// contract and be won.
async fn skipping_stages_needs_every_gate_on_the_way(app: TestApp) {
    let org = app.seed_org().await;
    let team = reviewers(&app, &org).await;
    let rep = app.login("rep1", PASSWORD).await;
    let id = deal(&rep, "中国平安").await;
    let missing = |r: Reply| errors(&r).into_iter().map(|(_, c)| c).collect::<Vec<_>>();
    assert_eq!(
        missing(move_to(&rep, id, "contract").await),
        [
            "needs_analysis_confirmed",
            "proposal_approved",
            "letter_of_intent_signed"
        ]
    );
    confirmed_by_hand(&rep, id).await;
    assert_eq!(
        missing(move_to(&rep, id, "contract").await),
        ["proposal_approved", "letter_of_intent_signed"]
    );
    // The proposal is reviewed while the deal is still in needs analysis.
    let r = rep
        .post(
            &format!("/api/v1/opportunities/{id}/proposals"),
            json!({"title": "平安 CRM 方案", "price_fen": 50_000_000}),
        )
        .await;
    let pid = r.json["id"].as_i64().unwrap();
    let r = rep
        .post(&format!("/api/v1/proposals/{pid}/submit"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let request = request_of(&rep).await;
    for reviewer in &team {
        decide(reviewer, request, "approve").await;
    }
    assert_eq!(
        missing(move_to(&rep, id, "contract").await),
        ["letter_of_intent_signed"]
    );
    // Winning from here needs the same: the contract's gate lies on the way to won.
    let o = rep.get(&format!("/api/v1/opportunities/{id}")).await;
    let won = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/opportunities/{id}/close"),
            Some(json!({"outcome": "won", "reason": "relationship"})),
            &[("if-match", &tag(&o.json))],
        )
        .await;
    assert_eq!(missing(won), ["letter_of_intent_signed"]);
    let mut signed = letter();
    signed["signed_on"] = json!("2026-11-23");
    signed["customer_signatory"] = json!("马总");
    let r = rep
        .post(
            &format!("/api/v1/opportunities/{id}/letter-of-intent"),
            signed,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let moved = move_to(&rep, id, "contract").await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let history = rep
        .get(&format!("/api/v1/opportunities/{id}/history"))
        .await;
    let to: Vec<&str> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_stage"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["first_contact", "needs_analysis", "contract"]);
    let won = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/opportunities/{id}/close"),
            Some(json!({"outcome": "won", "reason": "relationship"})),
            &[("if-match", &tag(&moved.json))],
        )
        .await;
    assert_eq!(won.status, 200, "{}", won.body);
    assert_eq!(won.json["stage"], "won");
}

async fn objections_are_logged_with_field_errors(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let id = deal(&rep, "小米科技").await;
    let path = format!("/api/v1/opportunities/{id}/objections");
    let bad = rep
        .post(
            &path,
            json!({"kind": "mood", "customer_said": " ", "resolved": true}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        errors(&bad),
        vec![
            pair("kind", "invalid"),
            pair("customer_said", "required"),
            pair("answer", "required"),
        ]
    );
    assert_eq!(rep.get(&path).await.json, json!([]));
    let r = rep
        .post(
            &path,
            json!({"kind": "price", "customer_said": "比竞品贵 15%"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["resolved"], false);
    let oid = r.json["id"].as_i64().unwrap();
    let resolved = rep
        .patch(
            &format!("/api/v1/objections/{oid}"),
            &tag(&r.json),
            json!({"kind": "price", "customer_said": "比竞品贵 15%", "answer": "可分三期付款", "resolved": true}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    assert_eq!(resolved.json["resolved"], true);
    let stale = rep
        .patch(
            &format!("/api/v1/objections/{oid}"),
            &tag(&r.json),
            json!({"kind": "price", "customer_said": "x"}),
        )
        .await;
    assert_eq!(stale.status, 412);
    let list = rep.get(&path).await;
    assert_eq!(list.json[0]["answer"], "可分三期付款");
}

async fn documents_follow_the_opportunity_scope(app: TestApp) {
    let org = app.seed_org().await;
    reviewers(&app, &org).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let id = deal(&rep1, "腾讯科技").await;
    assert_eq!(write_report(&rep1, id, "客服工单分散").await.status, 201);
    let p = rep1
        .post(
            &format!("/api/v1/opportunities/{id}/proposals"),
            json!({"title": "方案", "price_fen": 1}),
        )
        .await;
    let pid = p.json["id"].as_i64().unwrap();
    let o = rep1
        .post(
            &format!("/api/v1/opportunities/{id}/objections"),
            json!({"kind": "quality", "customer_said": "担心稳定性"}),
        )
        .await;
    let oid = o.json["id"].as_i64().unwrap();
    assert_eq!(
        rep1.post(
            &format!("/api/v1/opportunities/{id}/letter-of-intent"),
            letter()
        )
        .await
        .status,
        201
    );

    // rep2 (another team) sees none of it, exactly as if it did not exist.
    for path in [
        format!("/api/v1/opportunities/{id}/needs-analysis"),
        format!("/api/v1/opportunities/{id}/proposals"),
        format!("/api/v1/proposals/{pid}"),
        format!("/api/v1/proposals/{pid}/presentations"),
        format!("/api/v1/opportunities/{id}/objections"),
        format!("/api/v1/opportunities/{id}/letter-of-intent"),
        format!("/api/v1/attachments?record_kind=proposal&record_id={pid}"),
    ] {
        assert_eq!(rep2.get(&path).await.status, 404, "{path}");
        assert_eq!(manager.get(&path).await.status, 200, "{path}");
    }
    assert_eq!(write_report(&rep2, id, "x").await.status, 404);
    assert_eq!(
        rep2.post(
            &format!("/api/v1/opportunities/{id}/needs-analysis/send"),
            json!({})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        rep2.post(&format!("/api/v1/proposals/{pid}/submit"), json!({}))
            .await
            .status,
        404
    );
    assert_eq!(
        rep2.patch(
            &format!("/api/v1/objections/{oid}"),
            "\"1\"",
            json!({"kind": "other", "customer_said": "x"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        rep2.post(
            &format!("/api/v1/opportunities/{id}/objections"),
            json!({"kind": "other", "customer_said": "x"})
        )
        .await
        .status,
        404
    );
}
