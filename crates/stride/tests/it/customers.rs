//! Customers, contacts, duplicates, the public pool and search, on both databases.

use serde_json::json;
use stride_app::org::UserData;
use stride_testkit::{backend_tests, Client, TestApp, PASSWORD};

backend_tests!(
    customers_respect_scope_through_every_door,
    duplicates_are_found_by_normalised_keys,
    pool_claims_have_exactly_one_winner,
    claims_stop_at_the_ownership_cap,
    hand_over_moves_every_customer,
    contacts_follow_their_customer,
    duplicates_merge_keeping_their_history,
);

async fn new_customer(c: &Client, body: serde_json::Value) -> i64 {
    let r = c.post("/api/v1/customers", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json["id"].as_i64().unwrap()
}

async fn customers_respect_scope_through_every_door(app: TestApp) {
    let org = app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let huawei = new_customer(
        &rep1,
        json!({"name": "华为技术有限公司", "phone": "+86 138-0013-8000", "industry": "通信"}),
    )
    .await;
    let acme = new_customer(
        &rep2,
        json!({"name": "=HYPERLINK(\"http://x\")", "email": "buyer@acme.example"}),
    )
    .await;

    let r = rep1.get(&format!("/api/v1/customers/{huawei}")).await;
    assert_eq!(
        (r.status, r.json["owner_id"].as_i64()),
        (200, Some(org.rep1))
    );
    assert_eq!(
        rep2.get(&format!("/api/v1/customers/{huawei}"))
            .await
            .status,
        404
    );
    assert_eq!(
        manager
            .get(&format!("/api/v1/customers/{huawei}"))
            .await
            .status,
        200
    );
    assert_eq!(
        manager
            .get(&format!("/api/v1/customers/{acme}"))
            .await
            .status,
        404,
        "South is not the manager's"
    );

    // The search box: two Chinese characters find the company, only for those who may see it.
    let hits = rep1.get("/api/v1/search?q=%E5%8D%8E%E4%B8%BA").await;
    assert_eq!(hits.json[0]["title"], "华为技术有限公司", "{}", hits.body);
    assert_eq!(
        rep2.get("/api/v1/search?q=%E5%8D%8E%E4%B8%BA")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let by_phone = rep1.get("/api/v1/search?q=13800138000").await;
    assert_eq!(
        by_phone.json.as_array().unwrap().len(),
        1,
        "{}",
        by_phone.body
    );
    assert_eq!(
        rep1.get("/api/v1/search?q=x").await.error_fields(),
        vec!["q"]
    );

    // Lists and exports.
    let list = rep2.get("/api/v1/customers").await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
    let csv = rep2.get("/api/v1/customers/export?format=csv").await;
    assert!(
        csv.body.contains("'=HYPERLINK"),
        "formula neutralised: {}",
        csv.body
    );
    assert!(!csv.body.contains("华为"));
    let xlsx = rep2.get("/api/v1/customers/export?format=xlsx").await;
    assert_eq!(
        xlsx.header("content-type"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let cells = xlsx_cells(&xlsx.bytes);
    assert_eq!(cells[0][1], "name");
    assert_eq!(cells.len(), 2, "header and rep2's one customer: {cells:?}");
    assert!(cells[1][1].starts_with("'=HYPERLINK"), "{cells:?}");
    assert_eq!(
        rep2.get("/api/v1/customers/export?format=pdf")
            .await
            .error_fields(),
        vec!["format"]
    );

    // Edits need the current version and stay in scope.
    let etag = rep1
        .get(&format!("/api/v1/customers/{huawei}"))
        .await
        .etag();
    let body = json!({"name": "华为技术有限公司", "credit_rating": "C", "credit_limit": 1_000_000});
    let updated = rep1
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/customers/{huawei}"),
            Some(body.clone()),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.json["poor_credit"], true, "a poor rating warns");
    let stale = rep1
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/customers/{huawei}"),
            Some(body.clone()),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(stale.status, 412);
    let other = rep2
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/customers/{huawei}"),
            Some(body),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(other.status, 404);
    let bad = rep1
        .post("/api/v1/customers", json!({"name": " ", "email": "nope", "credit_code": "91350100M000100Y44", "credit_rating": "Z", "owner_id": 1}))
        .await;
    assert_eq!(
        bad.error_fields(),
        vec!["owner_id"],
        "owner is not writable"
    );
    let bad = rep1.post("/api/v1/customers", json!({"name": " ", "email": "nope", "credit_code": "91350100M000100Y44", "credit_rating": "Z"})).await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["credit_code", "credit_rating", "email", "name"]
    );
}

async fn duplicates_are_found_by_normalised_keys(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    new_customer(&rep1, json!({"name": "ＨＵＡＷＥＩ Technologies Co., Ltd.", "credit_code": "91350100M000100Y43", "email": "Sales@Huawei.example"})).await;
    let dup = rep2
        .post(
            "/api/v1/customers",
            json!({"name": "Huawei Technologies Inc."}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.error_fields()),
        (422, vec!["name".to_owned()])
    );
    assert!(
        !dup.body.contains("ＨＵＡＷＥＩ"),
        "another rep's customer stays confidential: {}",
        dup.body
    );
    let dup = rep1
        .post(
            "/api/v1/customers",
            json!({"name": "Another name", "email": "sales@huawei.example"}),
        )
        .await;
    assert_eq!(dup.error_fields(), vec!["email"]);
    assert!(
        dup.body.contains("ＨＵＡＷＥＩ"),
        "the owner sees which customer it is"
    );
    // Confirmed duplicates may be saved; a credit code never twice.
    new_customer(
        &rep2,
        json!({"name": "Huawei Technologies Inc.", "allow_duplicate": true}),
    )
    .await;
    let same_code = rep2
        .post(
            "/api/v1/customers",
            json!({"name": "Other", "credit_code": "91350100m000100y43", "allow_duplicate": true}),
        )
        .await;
    assert_eq!(same_code.error_fields(), vec!["credit_code"]);
}

/// Adds `n` reps with API tokens quickly (one shared password hash), returning their clients.
async fn many_reps(app: &TestApp, department_id: i64, n: usize) -> Vec<Client> {
    let roles = app.app.store().roles().await.unwrap();
    let rep_role = roles.iter().find(|r| r.code == "rep").unwrap().id;
    let hash = stride_app::auth::hash_password(PASSWORD).unwrap();
    let mut tx = app.app.store().begin().await.unwrap();
    for i in 0..n {
        let data = UserData {
            username: format!("claimer{i}"),
            display_name: format!("Claimer {i}"),
            email: None,
            department_id,
            manager_id: None,
            role_ids: vec![rep_role],
            active: true,
            locale: "auto".into(),
            time_zone: "Asia/Shanghai".into(),
        };
        tx.insert_user(&data, &hash, 0).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut clients = Vec::new();
    for i in 0..n {
        let actor = app.app.actor_for(&format!("claimer{i}")).await.unwrap();
        let (_, secret) = app.app.create_token(&actor, "claims", false).await.unwrap();
        clients.push(app.anonymous().with_bearer(&secret));
    }
    clients
}

async fn pool_claims_have_exactly_one_winner(app: TestApp) {
    let org = app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let id = new_customer(&rep1, json!({"name": "阿里巴巴(中国)有限公司"})).await;
    let released = rep1
        .post(&format!("/api/v1/customers/{id}/release"), json!({}))
        .await;
    assert_eq!(
        (released.status, released.json["in_pool"].as_bool()),
        (200, Some(true))
    );
    let pool = app
        .login("rep2", PASSWORD)
        .await
        .get("/api/v1/customers?pool=true")
        .await;
    assert_eq!(
        pool.json["items"][0]["id"].as_i64(),
        Some(id),
        "the pool is open to every rep"
    );

    let reps = many_reps(&app, org.south, 20).await;
    let mut claims = Vec::new();
    for i in 0..100 {
        let c = reps[i % reps.len()].clone();
        claims.push(tokio::spawn(async move {
            c.post(&format!("/api/v1/customers/{id}/claim"), json!({}))
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for c in claims {
        statuses.push(c.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // A loser that read the customer in the pool hears 409; one that came after the winner
    // no longer sees it at all (404). How many of each depends on the machine's timing.
    assert!(
        statuses.iter().all(|s| [200, 404, 409].contains(s)),
        "{statuses:?}"
    );
    let admin = app.login("admin", PASSWORD).await;
    let owner = admin.get(&format!("/api/v1/customers/{id}")).await.json["owner_id"]
        .as_i64()
        .unwrap();
    assert_ne!(owner, org.rep1);
    // Once claimed, the customer has left the pool for everyone who can still see it.
    let late = admin
        .post(&format!("/api/v1/customers/{id}/claim"), json!({}))
        .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body.contains("has an owner"), "{}", late.body);
    let claims = admin
        .get(&format!(
            "/api/v1/audit?record_kind=customer&record_id={id}&action=claim"
        ))
        .await;
    assert_eq!(claims.json["items"].as_array().unwrap().len(), 1);
}

async fn claims_stop_at_the_ownership_cap(app: TestApp) {
    let org = app.seed_org().await;
    let cap = stride_app::customers::DEFAULT_OWNERSHIP_CAP;
    let mut tx = app.app.store().begin().await.unwrap();
    let data = |i: i64| stride_app::customers::CustomerData {
        name: format!("Owned {i}"),
        ..Default::default()
    };
    for i in 0..cap {
        tx.insert_customer(&data(i), Some((org.rep1, org.team1)), 0)
            .await
            .unwrap();
    }
    let pooled = tx.insert_customer(&data(-1), None, 0).await.unwrap().id;
    tx.commit().await.unwrap();
    let rep1 = app.login("rep1", PASSWORD).await;
    let r = rep1
        .post(&format!("/api/v1/customers/{pooled}/claim"), json!({}))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains(&cap.to_string()));
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(
        rep2.post(&format!("/api/v1/customers/{pooled}/claim"), json!({}))
            .await
            .status,
        200
    );
}

async fn hand_over_moves_every_customer(app: TestApp) {
    let org = app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    for name in ["腾讯科技", "百度在线", "Acme Ltd"] {
        new_customer(&rep1, json!({ "name": name })).await;
    }
    let admin = app.login("admin", PASSWORD).await;
    let r = admin
        .post(
            "/api/v1/customers/hand-over",
            json!({"from_user_id": org.rep1, "to_user_id": org.rep2}),
        )
        .await;
    assert_eq!(
        (r.status, r.json["customers_moved"].as_u64()),
        (200, Some(3)),
        "{}",
        r.body
    );
    assert_eq!(
        rep1.get("/api/v1/customers").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let rep2 = app.login("rep2", PASSWORD).await;
    assert_eq!(
        rep2.get("/api/v1/customers").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let same = admin
        .post(
            "/api/v1/customers/hand-over",
            json!({"from_user_id": org.rep2, "to_user_id": org.rep2}),
        )
        .await;
    assert_eq!(same.error_fields(), vec!["to_user_id"]);
    let audit = admin
        .get("/api/v1/audit?record_kind=customer&action=hand_over")
        .await;
    assert_eq!(audit.json["items"][0]["after"]["customers"], 3);
    let manager = app.login("manager", PASSWORD).await;
    let r = manager
        .post(
            "/api/v1/customers/hand-over",
            json!({"from_user_id": org.rep2, "to_user_id": org.rep1}),
        )
        .await;
    assert_eq!(
        r.error_fields(),
        vec!["from_user_id"],
        "rep2 is outside the manager's scope"
    );
}

async fn contacts_follow_their_customer(app: TestApp) {
    app.seed_org().await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let customer = new_customer(&rep1, json!({"name": "比亚迪股份有限公司"})).await;
    let r = rep1
        .post("/api/v1/contacts", json!({"customer_id": customer, "name": "王传福", "title": "董事长", "phone": "0755-8988 8888", "decision_role": "decision_maker"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let contact = r.json["id"].as_i64().unwrap();
    assert_eq!(
        rep2.get(&format!("/api/v1/contacts/{contact}"))
            .await
            .status,
        404
    );
    let sneaky = rep2
        .post(
            "/api/v1/contacts",
            json!({"customer_id": customer, "name": "x"}),
        )
        .await;
    assert_eq!(sneaky.error_fields(), vec!["customer_id"]);
    let bad = rep1
        .post(
            "/api/v1/contacts",
            json!({"customer_id": customer, "name": "y", "decision_role": "boss"}),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["decision_role"]);
    let hits = rep1.get("/api/v1/search?q=89888888").await;
    assert_eq!(hits.json[0]["kind"], "contact", "{}", hits.body);
    let listed = rep1
        .get(&format!("/api/v1/contacts?customer_id={customer}"))
        .await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);
    let etag = rep1
        .get(&format!("/api/v1/contacts/{contact}"))
        .await
        .etag();
    let moved = rep1
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact}"),
            Some(json!({"customer_id": 1, "name": "王传福"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(moved.error_fields(), vec!["customer_id"]);
    let csv = rep2.get("/api/v1/contacts/export?format=csv").await;
    assert!(!csv.body.contains("王传福"));
}

/// The cells of an XLSX file's first sheet, as text.
pub fn xlsx_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

async fn duplicates_merge_keeping_their_history(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let kept = new_customer(&rep, json!({"name": "腾讯科技(深圳)有限公司"})).await;
    let twin = new_customer(
        &rep,
        json!({"name": "Tencent Shenzhen", "allow_duplicate": true}),
    )
    .await;
    rep.post(
        "/api/v1/contacts",
        json!({"customer_id": twin, "name": "Pony"}),
    )
    .await;
    rep.post(
        "/api/v1/activities",
        json!({"customer_id": twin, "kind": "meeting", "summary": "年度框架协议"}),
    )
    .await;
    assert_eq!(
        rep.post(
            &format!("/api/v1/customers/{kept}/merge"),
            json!({"from_id": twin})
        )
        .await
        .status,
        403,
        "reps may not delete"
    );

    let manager = app.login("manager", PASSWORD).await;
    let merged = manager
        .post(
            &format!("/api/v1/customers/{kept}/merge"),
            json!({"from_id": twin}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(
        rep.get(&format!("/api/v1/customers/{twin}")).await.status,
        404
    );
    let contacts = rep
        .get(&format!("/api/v1/contacts?customer_id={kept}"))
        .await;
    assert_eq!(contacts.json["items"][0]["name"], "Pony");
    let history = rep
        .get(&format!("/api/v1/activities?customer_id={kept}"))
        .await;
    assert_eq!(history.json["items"][0]["summary"], "年度框架协议");
    let same = manager
        .post(
            &format!("/api/v1/customers/{kept}/merge"),
            json!({"from_id": kept}),
        )
        .await;
    assert_eq!(same.error_fields(), vec!["from_id"]);
    let admin = app.login("admin", PASSWORD).await;
    let audit = admin
        .get(&format!(
            "/api/v1/audit?record_kind=customer&record_id={twin}&action=merge"
        ))
        .await;
    assert_eq!(audit.json["items"][0]["before"]["name"], "Tencent Shenzhen");
}
