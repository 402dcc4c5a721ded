//! Leads from capture to conversion, grading and response clocks, follow-ups and the agenda.

use serde_json::json;
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    leads_are_graded_and_clocked,
    a_lead_becomes_a_customer_with_its_history,
    lead_actions_respect_scope_and_state,
    the_agenda_shows_due_and_overdue_follow_ups,
    the_public_form_fills_a_department_queue,
    follow_ups_feed_a_private_calendar,
    rules_route_leads_round_robin,
    the_sales_policy_tunes_clocks_and_caps,
    the_sales_policy_page_saves_and_refuses,
    the_agenda_names_its_records_in_scope_and_keeps_the_latest,
    leads_carry_a_checked_credit_code,
);

async fn leads_are_graded_and_clocked(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let a = rep
        .post("/api/v1/leads", json!({"company": "宁德时代新能源科技股份有限公司", "contact_name": "曾先生", "source": "exhibition",
            "explicit_need": true, "budget_known": true, "decision_chain_known": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        (a.json["grade"].as_str(), a.json["status"].as_str()),
        (Some("A"), Some("new"))
    );
    let assigned: jiff::Timestamp = a.json["assigned_at"].as_str().unwrap().parse().unwrap();
    let due: jiff::Timestamp = a.json["response_due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due.as_second() - assigned.as_second(), 24 * 3600);

    let b = rep.post("/api/v1/leads", json!({"company": "Globex Corporation", "email": "it@globex.example", "source": "website", "explicit_need": true})).await;
    assert_eq!(b.json["grade"], "B");
    let b_due: jiff::Timestamp = b.json["response_due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(b_due.as_second() - assigned.as_second(), 48 * 3600);

    let c = rep
        .post(
            "/api/v1/leads",
            json!({"company": "随便问问公司", "phone": "13900001111", "source": "cold_call"}),
        )
        .await;
    assert_eq!(
        (c.json["grade"].as_str(), c.json["status"].as_str()),
        (Some("C"), Some("nurturing"))
    );
    assert!(c.json["response_due_at"].is_null() && c.json["next_nurture_at"].is_string());

    // A day later the A lead is past its clock; the B lead is not yet.
    app.advance_hours(25);
    let overdue = rep.get("/api/v1/leads?overdue=true").await;
    let ids: Vec<i64> = overdue.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![a.json["id"].as_i64().unwrap()]);
    assert_eq!(
        rep.get(&format!("/api/v1/leads/{}", a.json["id"]))
            .await
            .json["overdue"],
        true
    );

    // Regrading by hand restarts the clock and is audited.
    let path = format!("/api/v1/leads/{}/grade", b.json["id"]);
    let r = rep
        .send(
            reqwest::Method::POST,
            &path,
            Some(json!({"grade": "A"})),
            &[("if-match", &format!("\"{}\"", b.json["version"]))],
        )
        .await;
    assert_eq!(
        (r.status, r.json["grade"].as_str()),
        (200, Some("A")),
        "{}",
        r.body
    );
    let bad = rep
        .send(
            reqwest::Method::POST,
            &path,
            Some(json!({"grade": "D"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["grade"]);

    let invalid = rep
        .post("/api/v1/leads", json!({"company": "", "source": "tv"}))
        .await;
    let mut fields = invalid.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["company", "contact_name", "source"]);
}

async fn a_lead_becomes_a_customer_with_its_history(app: TestApp) {
    let org = app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let lead = rep
        .post("/api/v1/leads", json!({"company": "上海蔚来汽车有限公司", "contact_name": "李斌", "title": "采购总监", "phone": "021-6888 0000",
            "source": "referral", "explicit_need": true, "budget_known": true}))
        .await;
    let id = lead.json["id"].as_i64().unwrap();
    let early = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/convert"),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        early.status, 409,
        "a new lead is contacted before it converts"
    );

    let contact = rep
        .post(
            &format!("/api/v1/leads/{id}/first-contact"),
            json!({"kind": "call", "summary": "电话沟通需求",
            "interest_points": "车队管理", "pain_points": "回款慢", "next_step": "周五上门拜访"}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.body);
    assert_eq!(contact.json["lead"]["status"], "contacted");
    assert_eq!(contact.json["activity"]["kind"], "first_contact");
    let version = contact.json["lead"]["version"].as_i64().unwrap();

    let converted = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/convert"),
            None,
            &[("if-match", &format!("\"{version}\""))],
        )
        .await;
    assert_eq!(converted.status, 200, "{}", converted.body);
    assert_eq!(converted.json["lead"]["status"], "converted");
    let customer = converted.json["customer"]["id"].as_i64().unwrap();
    assert_eq!(
        converted.json["customer"]["owner_id"].as_i64(),
        Some(org.rep1)
    );
    assert_eq!(
        converted.json["lead"]["customer_id"].as_i64(),
        Some(customer)
    );
    // The same step opens an opportunity at first contact on the new customer (LEAD-8).
    let opportunity = rep
        .get(&format!(
            "/api/v1/opportunities/{}",
            converted.json["opportunity_id"]
        ))
        .await;
    assert_eq!(
        (
            opportunity.json["stage"].as_str(),
            opportunity.json["customer_id"].as_i64(),
            opportunity.json["owner_id"].as_i64()
        ),
        (Some("first_contact"), Some(customer), Some(org.rep1))
    );
    let contacts = rep
        .get(&format!("/api/v1/contacts?customer_id={customer}"))
        .await;
    assert_eq!(contacts.json["items"][0]["name"], "李斌");
    let history = rep
        .get(&format!("/api/v1/activities?customer_id={customer}"))
        .await;
    assert_eq!(
        history.json["items"][0]["summary"], "电话沟通需求",
        "the first contact moved to the customer"
    );
    // Closed leads stay closed.
    let again = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/disqualify"),
            Some(json!({"reason": "x"})),
            &[("if-match", &format!("\"{}\"", version + 1))],
        )
        .await;
    assert_eq!(again.status, 409);
}

async fn lead_actions_respect_scope_and_state(app: TestApp) {
    let org = app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let id = rep1
        .post("/api/v1/leads", json!({"company": "小米科技有限责任公司", "contact_name": "雷先生", "source": "partner"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    assert_eq!(rep2.get(&format!("/api/v1/leads/{id}")).await.status, 404);
    assert_eq!(
        manager.get(&format!("/api/v1/leads/{id}")).await.status,
        200
    );
    let dup = rep2
        .post(
            "/api/v1/leads",
            json!({"company": "小米科技", "contact_name": "x", "source": "other"}),
        )
        .await;
    assert_eq!(dup.error_fields(), vec!["company"]);
    let found = rep1.get("/api/v1/search?q=%E5%B0%8F%E7%B1%B3").await;
    assert_eq!(
        (found.json[0]["kind"].as_str(), found.json[0]["id"].as_i64()),
        (Some("lead"), Some(id)),
        "{}",
        found.body
    );
    assert_eq!(
        rep2.get("/api/v1/search?q=%E5%B0%8F%E7%B1%B3")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let csv = rep2.get("/api/v1/leads/export?format=csv").await;
    assert!(!csv.body.contains("小米"));

    // The manager cannot hand the lead to someone outside their scope; the admin can.
    let assign = |who: i64| json!({ "owner_id": who });
    let r = manager
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/assign"),
            Some(assign(org.rep2)),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.error_fields(), vec!["owner_id"]);
    let r = admin
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/assign"),
            Some(assign(org.rep2)),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (r.status, r.json["owner_id"].as_i64()),
        (200, Some(org.rep2))
    );
    assert_eq!(rep2.get(&format!("/api/v1/leads/{id}")).await.status, 200);
    assert_eq!(rep1.get(&format!("/api/v1/leads/{id}")).await.status, 404);
    let audit = admin
        .get(&format!(
            "/api/v1/audit?record_kind=lead&record_id={id}&action=assign"
        ))
        .await;
    assert_eq!(
        audit.json["items"][0]["before"]["owner_id"].as_i64(),
        Some(org.rep1)
    );

    let r = rep2
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/disqualify"),
            Some(json!({"reason": " "})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(r.error_fields(), vec!["reason"]);
    let r = rep2
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/disqualify"),
            Some(json!({"reason": "无预算"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(
        (r.status, r.json["status"].as_str()),
        (200, Some("disqualified"))
    );
}

async fn the_agenda_shows_due_and_overdue_follow_ups(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = rep
        .post("/api/v1/customers", json!({"name": "招商银行股份有限公司"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    // The agenda holds today's follow-ups (Asia/Shanghai): start in the middle of a working day,
    // so that "in 30 minutes" is still today.
    let local_hour = |app: &TestApp| {
        jiff::Timestamp::from_millisecond(app.app.now_ms())
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
            .hour()
    };
    app.advance_hours(i64::from((24 + 10 - local_hour(&app)) % 24));
    assert_eq!(local_hour(&app), 10);
    let now = jiff::Timestamp::from_millisecond(app.app.now_ms()).unwrap();
    let soon = now
        .checked_add(jiff::SignedDuration::from_mins(30))
        .unwrap();
    let r = rep
        .post("/api/v1/activities", json!({"customer_id": customer, "kind": "visit", "summary": "拜访财务部", "next_follow_up_at": soon.to_string()}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let agenda = rep.get("/api/v1/agenda").await;
    assert_eq!(agenda.json.as_array().unwrap().len(), 1);
    assert_eq!(agenda.json[0]["overdue"], false);
    app.advance_hours(1);
    assert_eq!(rep.get("/api/v1/agenda").await.json[0]["overdue"], true);
    let export = rep.get("/api/v1/activities/export?format=csv").await;
    assert!(export.body.contains("拜访财务部"), "{}", export.body);
    let shown = rep.get(&format!("/api/v1/customers/{customer}")).await;
    assert!(shown.json["last_activity_at"].is_string());
    // Another rep neither sees it nor can log against that customer.
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(
        rep2.get("/api/v1/agenda")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = rep2
        .post(
            "/api/v1/activities",
            json!({"customer_id": customer, "kind": "call", "summary": "x"}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["customer_id"]);
    let future = jiff::Timestamp::from_millisecond(app.app.now_ms() + 86_400_000).unwrap();
    let r = rep.post("/api/v1/activities", json!({"customer_id": customer, "kind": "dance", "summary": "", "occurred_at": future.to_string()})).await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["kind", "occurred_at", "summary"]);
}

async fn the_public_form_fills_a_department_queue(app: TestApp) {
    let org = app.seed_org().await;
    let anon = app.anonymous();
    let form = |company: &str| json!({"company": company, "contact_name": "访客", "email": "visitor@example.com", "need": "想了解报价"});
    assert_eq!(
        anon.post("/api/v1/public/leads", form("Closed Form Co"))
            .await
            .status,
        404,
        "off until configured"
    );

    let admin = app.login("admin", PASSWORD).await;
    let settings = admin.get("/api/v1/settings").await;
    let r = admin
        .patch(
            "/api/v1/settings",
            &settings.etag(),
            json!({"lead_form_department_id": org.east}),
        )
        .await;
    assert_eq!(
        r.json["lead_form_department_id"].as_i64(),
        Some(org.east),
        "{}",
        r.body
    );

    assert_eq!(
        anon.post("/api/v1/public/leads", form("官网询价有限公司"))
            .await
            .status,
        202
    );
    let robot = json!({"company": "Spam Bot Ltd", "email": "bot@spam.example", "website": "http://spam.example"});
    assert_eq!(
        anon.post("/api/v1/public/leads", robot).await.status,
        202,
        "robots are not told"
    );
    let bad = anon
        .post(
            "/api/v1/public/leads",
            json!({"company": "", "email": "nope"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        anon.post(
            "/api/v1/public/leads",
            json!({"company": "x", "email": "a@b.example", "owner_id": 1})
        )
        .await
        .error_fields(),
        vec!["owner_id"]
    );
    for i in 0..3 {
        anon.post("/api/v1/public/leads", form(&format!("Filler {i}")))
            .await;
    }
    let throttled = anon
        .post("/api/v1/public/leads", form("One Too Many"))
        .await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("retry-after").is_some());

    let manager = app.login("manager", PASSWORD).await;
    let queue = manager.get("/api/v1/leads?status=new").await;
    let companies: Vec<&str> = queue.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["company"].as_str().unwrap())
        .collect();
    assert!(
        companies.contains(&"官网询价有限公司") && !companies.contains(&"Spam Bot Ltd"),
        "{companies:?}"
    );
    let lead = queue.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["company"] == "官网询价有限公司")
        .unwrap()
        .clone();
    assert!(lead["owner_id"].is_null() && lead["response_due_at"].is_null());
    assert_eq!(
        (lead["source"].as_str(), lead["grade"].as_str()),
        (Some("website"), Some("B"))
    );
    let rep = app.login("rep1", PASSWORD).await;
    assert_eq!(
        rep.get("/api/v1/leads").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "the queue is the supervisors'"
    );
    let assigned = manager
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{}/assign", lead["id"]),
            Some(json!({"owner_id": org.rep1})),
            &[("if-match", &format!("\"{}\"", lead["version"]))],
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    assert!(
        assigned.json["response_due_at"].is_string(),
        "the clock starts at assignment"
    );
    assert_eq!(
        rep.get("/api/v1/leads").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn follow_ups_feed_a_private_calendar(app: TestApp) {
    let org = app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = rep
        .post("/api/v1/customers", json!({"name": "顺丰速运有限公司"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let at = jiff::Timestamp::from_millisecond(app.app.now_ms() + 86_400_000).unwrap();
    rep.post(
        "/api/v1/activities",
        json!({"customer_id": customer, "kind": "call", "summary": "确认报价, 下周签约",
        "next_step": "发送合同草稿; 约见法务", "next_follow_up_at": at.to_string()}),
    )
    .await;
    let feed = rep.post("/api/v1/calendar-feed", json!({})).await;
    assert_eq!(feed.status, 201);
    let path = feed.json["path"].as_str().unwrap().to_owned();
    let ics = app.anonymous().get(&path).await;
    assert_eq!(
        ics.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(ics.body.starts_with("BEGIN:VCALENDAR\r\n") && ics.body.ends_with("END:VCALENDAR\r\n"));
    assert!(
        ics.body.contains("SUMMARY:发送合同草稿\\; 约见法务"),
        "{}",
        ics.body
    );
    assert!(ics
        .body
        .contains(&format!("DTSTART:{}", at.strftime("%Y%m%dT%H%M%SZ"))));
    // A new URL retires the old one; a disabled user's feed goes dark.
    let renewed = rep.post("/api/v1/calendar-feed", json!({})).await.json["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.anonymous().get(&path).await.status, 404);
    assert_eq!(app.anonymous().get(&renewed).await.status, 200);
    let admin = app.login("admin", PASSWORD).await;
    let user = format!("/api/v1/users/{}", org.rep1);
    let etag = admin.get(&user).await.etag();
    admin.patch(&user, &etag, json!({"active": false})).await;
    assert_eq!(app.anonymous().get(&renewed).await.status, 404);
}

async fn rules_route_leads_round_robin(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    // Two reps in Team 1 and a rule sending 制造 (manufacturing) leads from 江苏 there.
    let roles = admin.get("/api/v1/roles").await;
    let rep_role = roles
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "rep")
        .unwrap()["id"]
        .clone();
    let second = admin
        .post("/api/v1/users", json!({"username": "rep1b", "display_name": "Rep 1b", "department_id": org.team1, "role_ids": [rep_role], "password": PASSWORD}))
        .await;
    let second = second.json["id"].as_i64().unwrap();
    let rule = admin.post("/api/v1/assignment-rules", json!({"priority": 10, "region": "江苏", "industry": "制造", "department_id": org.team1})).await;
    assert_eq!(rule.status, 201, "{}", rule.body);
    let bad = admin
        .post(
            "/api/v1/assignment-rules",
            json!({"priority": 1, "department_id": 999999}),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["department_id"]);
    assert_eq!(
        app.login("rep1", PASSWORD)
            .await
            .post(
                "/api/v1/assignment-rules",
                json!({"priority": 1, "department_id": org.team1})
            )
            .await
            .status,
        403
    );

    let mut owners = Vec::new();
    for i in 0..4 {
        let lead = admin
            .post("/api/v1/leads", json!({"company": format!("江苏精工制造{i}厂"), "contact_name": "厂长", "source": "exhibition",
                "region": "江苏 苏州", "industry": "机械制造"}))
            .await;
        let path = format!("/api/v1/leads/{}/auto-assign", lead.json["id"]);
        let r = admin
            .send(reqwest::Method::POST, &path, None, &[("if-match", "\"1\"")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        owners.push(r.json["owner_id"].as_i64().unwrap());
        app.advance_hours(1);
    }
    assert_eq!(
        owners,
        vec![org.rep1, second, org.rep1, second],
        "round-robin within the team"
    );
    // No matching rule: the lead stays in its own department's rotation.
    let other = admin.post("/api/v1/leads", json!({"company": "Somewhere Else Ltd", "contact_name": "x", "source": "other", "region": "Berlin"})).await;
    let r = admin
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{}/auto-assign", other.json["id"]),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        r.status, 409,
        "the company department has no reps: {}",
        r.body
    );
    let id = rule.json["id"].as_i64().unwrap();
    assert_eq!(
        admin
            .delete(&format!("/api/v1/assignment-rules/{id}"), "\"1\"")
            .await
            .status,
        204
    );
    assert_eq!(
        admin
            .get("/api/v1/assignment-rules")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

async fn the_sales_policy_tunes_clocks_and_caps(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let policy = admin.get("/api/v1/settings/sales-policy").await;
    assert_eq!(
        (
            policy.json["response"]["a_hours"].as_u64(),
            policy.json["pool"]["ownership_cap"].as_u64()
        ),
        (Some(24), Some(200))
    );
    let etag = policy.etag();
    let mut tuned = policy.json.clone();
    tuned["response"]["a_hours"] = json!(4);
    tuned["pool"]["ownership_cap"] = json!(1);
    let bad = {
        let mut b = tuned.clone();
        b["response"]["a_hours"] = json!(0);
        b
    };
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/settings/sales-policy",
            Some(bad),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["response".to_owned()])
    );
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/settings/sales-policy",
            Some(json!({"surprise": 1})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["surprise".to_owned()])
    );
    let manager = app.login("manager", PASSWORD).await;
    let r = manager
        .send(
            reqwest::Method::PUT,
            "/api/v1/settings/sales-policy",
            Some(tuned.clone()),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/settings/sales-policy",
            Some(tuned),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let rep = app.login("rep1", PASSWORD).await;
    let lead = rep
        .post(
            "/api/v1/leads",
            json!({"company": "加急客户", "contact_name": "急", "source": "website",
            "explicit_need": true, "budget_known": true, "decision_chain_known": true}),
        )
        .await;
    let assigned: jiff::Timestamp = lead.json["assigned_at"].as_str().unwrap().parse().unwrap();
    let due: jiff::Timestamp = lead.json["response_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(due.as_second() - assigned.as_second(), 4 * 3600);

    rep.post("/api/v1/customers", json!({"name": "我的第一个客户"}))
        .await;
    let pooled = admin
        .post("/api/v1/customers", json!({"name": "公海客户"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    admin
        .post(&format!("/api/v1/customers/{pooled}/release"), json!({}))
        .await;
    let r = rep
        .post(&format!("/api/v1/customers/{pooled}/claim"), json!({}))
        .await;
    assert_eq!(r.status, 409, "the cap of one is reached: {}", r.body);
}

async fn the_sales_policy_page_saves_and_refuses(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let page = admin.get("/admin/sales-policy").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"policy-form\""));
    let csrf = admin.csrf.clone().unwrap();
    let form = |a_hours: &str| {
        format!(
            "_csrf={csrf}&version=1&a_requires_budget=on&a_hours={a_hours}&b_hours=48&c_nurture_days=30\
             &ownership_cap=300&weight_contribution=50&weight_potential=30&weight_payment=20&strategic=80&core=60\
             &tiers.strategic.return_days=90&tiers.strategic.warning_days=7&tiers.strategic.response_hours=4\
             &tiers.strategic.revisit_days=14&tiers.strategic.served_by=VIP\
             &tiers.core.return_days=60&tiers.core.warning_days=7&tiers.core.response_hours=24\
             &tiers.core.revisit_days=30&tiers.core.served_by=\
             &tiers.ordinary.return_days=45&tiers.ordinary.warning_days=5&tiers.ordinary.response_hours=48\
             &tiers.ordinary.revisit_days=60&tiers.ordinary.served_by="
        )
    };
    let post = |body: String| {
        let admin = admin.clone();
        async move {
            admin
                .raw(
                    reqwest::Method::POST,
                    "/admin/sales-policy",
                    body.into_bytes(),
                    &[("content-type", "application/x-www-form-urlencoded")],
                )
                .await
        }
    };
    let refused = post(form("0")).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("data-field=\"response\""),
        "{}",
        refused.body
    );
    assert_eq!(post(form("six")).await.status, 422);
    let saved = post(form("6")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let policy = admin.get("/api/v1/settings/sales-policy").await;
    assert_eq!(policy.json["response"]["a_hours"], 6);
    assert_eq!(policy.json["tiers"]["ordinary"]["return_days"], 45);
    assert_eq!(
        policy.json["grading"]["a_requires_decision_chain"], false,
        "unticked box"
    );
    assert_eq!(
        app.login("manager", PASSWORD)
            .await
            .get("/admin/sales-policy")
            .await
            .status,
        403
    );
}

/// Sets the clock to 10:00 in Asia/Shanghai, so follow-ups within hours are still today.
fn ten_in_the_morning(app: &TestApp) {
    let hour = jiff::Timestamp::from_millisecond(app.app.now_ms())
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .hour();
    app.advance_hours(i64::from((24 + 10 - hour) % 24));
}

/// An RFC 3339 time `minutes` from the server's now.
fn in_minutes(app: &TestApp, minutes: i64) -> String {
    jiff::Timestamp::from_millisecond(app.app.now_ms() + minutes * 60_000)
        .unwrap()
        .to_string()
}

/// (record name, summary, overdue) of each agenda entry, earliest first.
async fn agenda_of(c: &Client) -> Vec<(Option<String>, String, bool)> {
    let r = c.get("/api/v1/agenda").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["record_name"].as_str().map(str::to_owned),
                a["summary"].as_str().unwrap().to_owned(),
                a["overdue"].as_bool().unwrap(),
            )
        })
        .collect()
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

async fn post_form(c: &Client, path: &str, pairs: &[(&str, &str)]) -> Reply {
    let csrf = c.csrf.clone().unwrap();
    let mut pairs = pairs.to_vec();
    pairs.push(("_csrf", &csrf));
    c.raw(
        reqwest::Method::POST,
        path,
        form_encode(&pairs),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
}

async fn the_agenda_names_its_records_in_scope_and_keeps_the_latest(app: TestApp) {
    let org = app.seed_org().await;
    ten_in_the_morning(&app);
    let rep = app.login("rep1", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await;
    let new_customer = |name: &'static str| {
        let rep = rep.clone();
        async move {
            let r = rep.post("/api/v1/customers", json!({ "name": name })).await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.json["id"].as_i64().unwrap()
        }
    };
    let bank = new_customer("招商银行股份有限公司").await;
    let works = new_customer("Acme Works Ltd").await;
    let lead = rep
        .post(
            "/api/v1/leads",
            json!({"company": "Globex Corporation", "contact_name": "Hank", "source": "website"}),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let log = |record: serde_json::Value, summary: &'static str, due: Option<i64>| {
        let rep = rep.clone();
        let mut body = record;
        body["kind"] = json!("call");
        body["summary"] = json!(summary);
        body["occurred_at"] = json!(in_minutes(&app, -180));
        if let Some(m) = due {
            body["next_follow_up_at"] = json!(in_minutes(&app, m));
        }
        async move {
            let r = rep.post("/api/v1/activities", body).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
    };
    // A later follow-up of the same customer replaces the earlier one; a follow-up of a lead
    // past its time is overdue.
    log(json!({"customer_id": bank}), "first call", Some(30)).await;
    log(json!({"customer_id": bank}), "second call", Some(120)).await;
    log(json!({"customer_id": works}), "site visit", Some(60)).await;
    log(json!({"lead_id": lead}), "intro call", Some(-60)).await;
    assert_eq!(
        agenda_of(&rep).await,
        vec![
            (Some("Globex Corporation".into()), "intro call".into(), true),
            (Some("Acme Works Ltd".into()), "site visit".into(), false),
            (
                Some("招商银行股份有限公司".into()),
                "second call".into(),
                false
            ),
        ]
    );
    // The page shows the same names, from the same single read.
    let page = rep.get("/agenda").await;
    assert_eq!(page.status, 200);
    for text in [
        "Globex Corporation",
        "Acme Works Ltd",
        "招商银行股份有限公司",
        "second call",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(
        !page.body.contains("first call"),
        "superseded: {}",
        page.body
    );
    assert_eq!(page.body.matches("<tr class=\"overdue\">").count(), 1);

    // A newer activity without a follow-up takes its customer off the agenda.
    log(json!({"customer_id": works}), "order placed", None).await;
    // The works customer merged into the bank: only the bank's latest activity stays.
    let merged = admin
        .post(
            &format!("/api/v1/customers/{bank}/merge"),
            json!({ "from_id": works }),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let names: Vec<_> = agenda_of(&rep).await.into_iter().map(|a| a.1).collect();
    assert_eq!(
        names,
        vec!["intro call"],
        "the merged works' order came last"
    );

    // The lead handed to a rep of another team: the follow-up stays on rep1's agenda, but
    // without the name rep1 may no longer see.
    let r = admin
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{lead}/assign"),
            Some(json!({ "owner_id": org.rep2 })),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        agenda_of(&rep).await,
        vec![(None, "intro call".into(), true)]
    );
    let page = rep.get("/agenda").await;
    assert!(
        page.body.contains(&format!("#{lead}")) && !page.body.contains("Globex"),
        "{}",
        page.body
    );

    // A manager's own follow-up on a rep's customer names it: the team is in the manager's scope.
    let manager = app.login("manager", PASSWORD).await;
    let r = manager
        .post("/api/v1/activities", json!({"customer_id": bank, "kind": "visit", "summary": "manager visit", "next_follow_up_at": in_minutes(&app, 90)}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        agenda_of(&manager).await,
        vec![(
            Some("招商银行股份有限公司".into()),
            "manager visit".into(),
            false
        )]
    );
    // … and supersedes the rep's follow-up of that customer (none was due; still nothing new).
    assert_eq!(agenda_of(&rep).await.len(), 1);

    // A converted lead's follow-ups move to its customer: the latest one stays, named after it.
    let soon = rep
        .post("/api/v1/leads", json!({"company": "Initech Ltd.", "contact_name": "Bill", "source": "referral", "explicit_need": true}))
        .await;
    let soon_id = soon.json["id"].as_i64().unwrap();
    let r = rep
        .post(
            &format!("/api/v1/leads/{soon_id}/first-contact"),
            json!({"summary": "met Bill", "next_follow_up_at": in_minutes(&app, 20)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    log(json!({"lead_id": soon_id}), "sent the offer", Some(240)).await;
    let lead_now = rep.get(&format!("/api/v1/leads/{soon_id}")).await;
    let r = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{soon_id}/convert"),
            None,
            &[("if-match", &lead_now.etag())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let agenda = agenda_of(&rep).await;
    assert_eq!(
        agenda.iter().map(|a| a.1.as_str()).collect::<Vec<_>>(),
        vec!["intro call", "sent the offer"]
    );
    assert_eq!(agenda[1].0.as_deref(), Some("Initech Ltd."));
}

async fn leads_carry_a_checked_credit_code(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let lead = |company: &str, code: &str| json!({"company": company, "contact_name": "曾先生", "source": "exhibition", "explicit_need": true, "credit_code": code});
    // A wrong check character is a field error; nothing is saved.
    let bad = rep
        .post(
            "/api/v1/leads",
            lead("宁德时代新能源科技股份有限公司", "91350900MA2XN0001K"),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["credit_code"], "{}", bad.body);
    let made = rep
        .post(
            "/api/v1/leads",
            lead("宁德时代新能源科技股份有限公司", " 91350900ma2xn0001j "),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json["credit_code"], "91350900MA2XN0001J");
    let id = made.json["id"].as_i64().unwrap();

    // Another lead with the same code is a duplicate, whatever its name; confirmed, it is saved.
    let again = rep
        .post("/api/v1/leads", lead("CATL", "91350900MA2XN0001J"))
        .await;
    assert_eq!(again.error_fields(), vec!["credit_code"], "{}", again.body);
    let mut confirmed = lead("CATL", "91350900MA2XN0001J");
    confirmed["allow_duplicate"] = json!(true);
    assert_eq!(rep.post("/api/v1/leads", confirmed).await.status, 201);
    // … and so is a lead with the code of a customer.
    let r = rep
        .post(
            "/api/v1/customers",
            json!({"name": "苏州精密制造有限公司", "credit_code": "91320505MA1MX0003B"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let like_customer = rep
        .post(
            "/api/v1/leads",
            lead("Suzhou Precision", "91320505MA1MX0003B"),
        )
        .await;
    assert_eq!(like_customer.error_fields(), vec!["credit_code"]);

    // Edited through the API, checked the same way.
    let put = |body: serde_json::Value, version: i64| {
        let rep = rep.clone();
        async move {
            rep.send(
                reqwest::Method::PUT,
                &format!("/api/v1/leads/{id}"),
                Some(body),
                &[("if-match", &format!("\"{version}\""))],
            )
            .await
        }
    };
    let r = put(lead("宁德时代新能源科技股份有限公司", "12345"), 1).await;
    assert_eq!(r.error_fields(), vec!["credit_code"]);
    let r = put(
        lead("宁德时代新能源科技股份有限公司", "91440300MA5FT0004W"),
        1,
    )
    .await;
    assert_eq!(
        (r.status, r.json["credit_code"].as_str()),
        (200, Some("91440300MA5FT0004W")),
        "{}",
        r.body
    );

    // Shown on the lead's page and exported.
    let page = rep.get(&format!("/leads/{id}")).await;
    assert!(page.body.contains("91440300MA5FT0004W"), "{}", page.body);
    let csv = rep.get("/api/v1/leads/export?format=csv").await;
    assert!(
        csv.body.lines().next().unwrap().contains("credit_code")
            && csv.body.contains("91440300MA5FT0004W"),
        "{}",
        csv.body
    );

    // The customer a lead becomes carries its code.
    let r = rep
        .post(
            &format!("/api/v1/leads/{id}/first-contact"),
            json!({"summary": "电话沟通"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let version = r.json["lead"]["version"].as_i64().unwrap();
    let r = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{id}/convert"),
            None,
            &[("if-match", &format!("\"{version}\""))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["customer"]["credit_code"], "91440300MA5FT0004W");

    // A lead whose code a customer already has is not converted into a second one.
    let mut twin = lead("Suzhou Precision", "91320505MA1MX0003B");
    twin["allow_duplicate"] = json!(true);
    let twin = rep.post("/api/v1/leads", twin).await;
    let twin_id = twin.json["id"].as_i64().unwrap();
    let r = rep
        .post(
            &format!("/api/v1/leads/{twin_id}/first-contact"),
            json!({"summary": "电话沟通"}),
        )
        .await;
    let version = r.json["lead"]["version"].as_i64().unwrap();
    let r = rep
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{twin_id}/convert"),
            None,
            &[("if-match", &format!("\"{version}\""))],
        )
        .await;
    assert_eq!(r.error_fields(), vec!["credit_code"], "{}", r.body);
    assert_eq!(
        rep.get(&format!("/api/v1/leads/{twin_id}")).await.json["status"],
        "contacted"
    );

    // The form: a bad code is refused on its field, a good one saved and shown.
    let form = |code: &'static str| {
        [
            ("company", "深圳华强电子有限公司"),
            ("contact_name", "黄经理"),
            ("source", "social_media"),
            ("credit_code", code),
        ]
    };
    let refused = post_form(&rep, "/leads/new", &form("91440300MA5FT0004X")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("data-field=\"credit_code\""),
        "{}",
        refused.body
    );
    let saved = post_form(&rep, "/leads/new", &form("91110000MA01X00054")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shown = rep.get(saved.header("location").unwrap()).await;
    assert!(shown.body.contains("91110000MA01X00054"), "{}", shown.body);
}
