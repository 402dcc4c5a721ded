//! Opportunities on both databases: the product catalogue, exact line money, scope through every
//! door (read, move, export, board totals), stage gates, won and lost, the stage configuration,
//! and the opportunity a converted lead brings.

use crate::board_totals::{listed as listed_sums, on_board};
use crate::stages::open_gates;
use serde_json::{json, Value};
use stride_testkit::{backend_tests, Client, Reply, TestApp, PASSWORD};

backend_tests!(
    products_are_kept_by_managers_and_read_by_reps,
    line_money_adds_up_exactly,
    opportunities_refuse_bad_input,
    scope_holds_for_reads_moves_exports_and_the_board,
    gates_block_moves_until_switched_off,
    closing_wins_or_loses_with_a_reason,
    stage_configuration_shapes_the_board,
    a_converted_lead_brings_an_opportunity,
    merged_customers_keep_their_opportunities,
    board_cards_are_each_columns_newest_deals_as_they_stand,
);

async fn created(r: Reply) -> Value {
    assert_eq!(r.status, 201, "{}", r.body);
    r.json
}

async fn new_customer(c: &Client, name: &str) -> i64 {
    created(c.post("/api/v1/customers", json!({ "name": name })).await).await["id"]
        .as_i64()
        .unwrap()
}

async fn new_product(c: &Client, code: &str, name: &str, list: i64, cost: i64) -> i64 {
    let body =
        json!({"code": code, "name": name, "unit": "套", "list_price_fen": list, "cost_fen": cost});
    created(c.post("/api/v1/products", body).await).await["id"]
        .as_i64()
        .unwrap()
}

async fn new_opportunity(c: &Client, body: Value) -> Value {
    created(c.post("/api/v1/opportunities", body).await).await
}

fn tag(v: &Value) -> String {
    format!("\"{}\"", v["version"])
}

async fn post_if(c: &Client, path: &str, etag: &str, body: Value) -> Reply {
    c.send(
        reqwest::Method::POST,
        path,
        Some(body),
        &[("if-match", etag)],
    )
    .await
}

async fn move_to(c: &Client, o: &Value, stage: &str) -> Reply {
    post_if(
        c,
        &format!("/api/v1/opportunities/{}/stage", o["id"]),
        &tag(o),
        json!({ "stage": stage }),
    )
    .await
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

async fn products_are_kept_by_managers_and_read_by_reps(app: TestApp) {
    app.seed_org().await;
    let manager = app.login("manager", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    let crm = new_product(
        &manager,
        "CRM-STD",
        "销售管理系统 标准版",
        1_000_000,
        400_000,
    )
    .await;
    let erp = new_product(
        &manager,
        "ERP-PRO",
        "ERP Professional",
        5_000_000,
        2_000_000,
    )
    .await;
    new_product(
        &manager,
        "SVC-DAY",
        "实施服务(人天) Implementation day",
        300_000,
        150_000,
    )
    .await;

    // Reps read the catalogue but do not keep it.
    let denied = rep
        .post(
            "/api/v1/products",
            json!({"code": "X", "name": "x", "unit": "个", "list_price_fen": 1}),
        )
        .await;
    assert_eq!(denied.status, 403);
    let all = rep.get("/api/v1/products").await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 3);
    let erp_only = rep.get("/api/v1/products?q=erp").await;
    assert_eq!(erp_only.json["items"][0]["id"].as_i64(), Some(erp));
    assert_eq!(erp_only.json["items"].as_array().unwrap().len(), 1);
    let chinese = rep.get("/api/v1/products?q=%E9%94%80%E5%94%AE").await;
    assert_eq!(chinese.json["items"][0]["code"], "CRM-STD");
    let first = rep.get("/api/v1/products?limit=2").await;
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    let second = rep
        .get(&format!("/api/v1/products?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second.json["items"][0]["code"], "SVC-DAY");
    assert!(second.json["next_cursor"].is_null());

    // Field by field, and the unique code.
    let bad = manager
        .post(
            "/api/v1/products",
            json!({"code": "has space", "name": "", "unit": "", "list_price_fen": -1, "cost_fen": -5}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["code", "cost_fen", "list_price_fen", "name", "unit"]
    );
    let taken = manager
        .post(
            "/api/v1/products",
            json!({"code": "CRM-STD", "name": "again", "unit": "套", "list_price_fen": 1}),
        )
        .await;
    assert_eq!(errors(&taken), vec![pair("code", "taken")]);
    let unknown = manager
        .post(
            "/api/v1/products",
            json!({"code": "Y", "name": "y", "unit": "个", "list_price_fen": 1, "margin": 3}),
        )
        .await;
    assert_eq!(errors(&unknown), vec![pair("margin", "unknown_field")]);

    // PATCH needs the version read.
    let path = format!("/api/v1/products/{crm}");
    let read = rep.get(&path).await;
    let etag = read.etag();
    assert_eq!(etag, "\"1\"");
    let missing = manager
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"name": "x"})),
            &[],
        )
        .await;
    assert_eq!(missing.status, 428);
    let renamed = manager
        .patch(&path, &etag, json!({"list_price_fen": 1_200_000}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.json["list_price_fen"], 1_200_000);
    assert_eq!(renamed.json["name"], "销售管理系统 标准版");
    let stale = manager.patch(&path, &etag, json!({"name": "x"})).await;
    assert_eq!(stale.status, 412);
    let rep_patch = rep
        .patch(&path, &renamed.etag(), json!({"name": "x"}))
        .await;
    assert_eq!(rep_patch.status, 403);

    // Deleting: an unused product goes; a sold one is deactivated instead.
    let customer = new_customer(&rep, "华为技术有限公司").await;
    new_opportunity(
        &rep,
        json!({"customer_id": customer, "name": "华为 CRM", "lines": [{"product_id": crm, "quantity": 1}]}),
    )
    .await;
    let erp_path = format!("/api/v1/products/{erp}");
    let gone = manager.delete(&erp_path, "\"1\"").await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(rep.get(&erp_path).await.status, 404);
    let kept = manager.delete(&path, &renamed.etag()).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json["active"], false);
    let active = rep.get("/api/v1/products?active=true").await;
    assert_eq!(active.json["items"].as_array().unwrap().len(), 1);
    // An inactive product cannot go on a new line.
    let refused = rep
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": customer, "name": "again", "lines": [{"product_id": crm, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        errors(&refused),
        vec![pair("lines[0].product_id", "not_found")]
    );
    let audit = app
        .login("admin", PASSWORD)
        .await
        .get(&format!(
            "/api/v1/audit?record_kind=product&record_id={crm}&action=deactivate"
        ))
        .await;
    assert_eq!(
        audit.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        audit.body
    );
}

async fn line_money_adds_up_exactly(app: TestApp) {
    app.seed_org().await;
    let manager = app.login("manager", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    // 33.33 yuan a unit on the list, costing 20.00.
    let kit = new_product(&manager, "KIT", "Starter kit 入门套件", 3333, 2000).await;
    let svc = new_product(&manager, "SVC", "服务年费", 1_000_000, 600_000).await;
    let customer = new_customer(&rep, "宁德时代新能源科技股份有限公司").await;
    let o = new_opportunity(
        &rep,
        json!({
            "customer_id": customer, "name": "CATL 试点", "expected_close_date": "2026-12-31",
            "competitors": ["纷享销客", " 销售易 ", "纷享销客", ""],
            "lines": [
                {"product_id": kit, "quantity": 3, "discount_bp": 1000},
                {"product_id": svc, "quantity": 1, "unit_price_fen": 900_000}
            ]
        }),
    )
    .await;
    let lines = o["lines"].as_array().unwrap();
    // 3 × 33.33 = 99.99; 10 % off is 89.991, rounded once to 89.99.
    assert_eq!(lines[0]["line_total_fen"], 8999);
    assert_eq!(
        lines[0]["unit_price_fen"], 3333,
        "defaults to the list price"
    );
    assert_eq!(lines[1]["line_total_fen"], 900_000);
    assert_eq!(
        o["amount_fen"],
        8999 + 900_000,
        "the amount is the sum of the lines"
    );
    assert_eq!(o["list_total_fen"], 9999 + 1_000_000);
    assert_eq!(o["cost_fen"], 6000 + 600_000);
    assert_eq!(o["gross_profit_fen"], 908_999 - 606_000);
    // 1 − 908 999 / 1 009 999 = 0.10000… → 1000 bp.
    assert_eq!(o["deal_discount_bp"], 1000);
    assert_eq!(o["probability"], 10);
    assert_eq!(o["probability_is_default"], true);
    // 10 % of 9 089.99 yuan is 908.999 → 909.00.
    assert_eq!(o["weighted_amount_fen"], 90_900);
    assert_eq!(o["competitors"], json!(["纷享销客", "销售易"]));
    assert_eq!(o["stage"], "first_contact");
    assert_eq!(o["status"], "open");
    assert_eq!(o["expected_close_date"], "2026-12-31");

    // A stated amount must agree with the lines.
    let disagree = rep
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": customer, "name": "x", "amount_fen": 1,
                "lines": [{"product_id": kit, "quantity": 1}]}),
        )
        .await;
    assert_eq!(errors(&disagree), vec![pair("amount_fen", "computed")]);

    // Changing the lines recomputes everything; the stored sum always equals the lines.
    let path = format!("/api/v1/opportunities/{}", o["id"]);
    let patched = rep
        .patch(
            &path,
            &tag(&o),
            json!({"lines": [{"product_id": kit, "quantity": 7, "unit_price_fen": 1999, "discount_bp": 333}], "probability": 35}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    // 7 × 19.99 = 139.93; 3.33 % off: 135.270331 → 135.27.
    assert_eq!(patched.json["amount_fen"], 13_527);
    let sum: i64 = patched.json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line_total_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(patched.json["amount_fen"].as_i64(), Some(sum));
    assert_eq!(patched.json["probability"], 35);
    assert_eq!(patched.json["probability_is_default"], false);
    // 35 % of 135.27 = 47.3445 → 47.34.
    assert_eq!(patched.json["weighted_amount_fen"], 4734);
    // List 7 × 33.33 = 233.31; 1 − 135.27 / 233.31 = 0.42021… → 4202 bp.
    assert_eq!(patched.json["deal_discount_bp"], 4202);
    assert_eq!(patched.json["gross_profit_fen"], 13_527 - 14_000);

    // Without lines the amount is entered; gross profit and discount are unknown.
    let plain = rep
        .patch(
            &path,
            &patched.etag(),
            json!({"lines": [], "amount_fen": 5_000_000, "probability": null}),
        )
        .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.json["amount_fen"], 5_000_000);
    assert!(plain.json["gross_profit_fen"].is_null());
    assert!(plain.json["deal_discount_bp"].is_null());
    assert_eq!(plain.json["probability"], 10);
    assert_eq!(plain.json["lines"], json!([]));
    let read = rep.get(&path).await;
    assert_eq!(read.json["amount_fen"], 5_000_000);
    assert_eq!(read.etag(), format!("\"{}\"", plain.json["version"]));
}

async fn opportunities_refuse_bad_input(app: TestApp) {
    app.seed_org().await;
    let manager = app.login("manager", PASSWORD).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let kit = new_product(&manager, "KIT", "Kit", 100, 50).await;
    let mine = new_customer(&rep1, "比亚迪股份有限公司").await;
    let theirs = new_customer(&rep2, "Contoso Manufacturing Inc.").await;

    let bad = rep1
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": theirs, "name": " ", "expected_close_date": "31/12/2026",
                "probability": 120, "stage": "warp", "amount_fen": -1,
                "lines": []}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "amount_fen",
            "customer_id",
            "expected_close_date",
            "name",
            "probability",
            "stage"
        ],
        "{}",
        bad.body
    );
    let bad_lines = rep1
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": mine, "name": "x", "lines": [
                {"product_id": kit, "quantity": 0},
                {"product_id": kit, "quantity": 1, "discount_bp": 10_001},
                {"product_id": 999_999, "quantity": 1},
                {"product_id": kit, "quantity": 1, "unit_price_fen": -3}
            ]}),
        )
        .await;
    assert_eq!(
        errors(&bad_lines),
        vec![
            pair("lines[0].quantity", "out_of_range"),
            pair("lines[1].discount_bp", "out_of_range"),
            pair("lines[2].product_id", "not_found"),
            pair("lines[3].unit_price_fen", "out_of_range"),
        ]
    );
    let won = rep1
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": mine, "name": "x", "stage": "won"}),
        )
        .await;
    assert_eq!(errors(&won), vec![pair("stage", "terminal")]);
    let unknown = rep1
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": mine, "name": "x", "status": "won"}),
        )
        .await;
    assert_eq!(errors(&unknown), vec![pair("status", "unknown_field")]);

    let o = new_opportunity(
        &rep1,
        json!({"customer_id": mine, "name": "BYD 车队", "amount_fen": 100}),
    )
    .await;
    let path = format!("/api/v1/opportunities/{}", o["id"]);
    // Stage, owner and customer change only through their own doors.
    for field in ["stage", "owner_id", "customer_id", "department_id"] {
        let r = rep1.patch(&path, &tag(&o), json!({ field: 1 })).await;
        assert_eq!(errors(&r), vec![pair(field, "unknown_field")], "{field}");
    }
    let no_etag = rep1
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"name": "y"})),
            &[],
        )
        .await;
    assert_eq!(no_etag.status, 428);
    let ok = rep1
        .patch(&path, &tag(&o), json!({"name": "BYD 车队管理"}))
        .await;
    assert_eq!(ok.status, 200);
    let stale = rep1.patch(&path, &tag(&o), json!({"name": "late"})).await;
    assert_eq!(stale.status, 412);
    let stale_move = move_to(&rep1, &o, "needs_analysis").await;
    assert_eq!(stale_move.status, 412);
    let blank = rep1
        .patch(
            &path,
            &ok.etag(),
            json!({"name": "", "expected_close_date": "2026-02-30"}),
        )
        .await;
    let mut fields = blank.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["expected_close_date", "name"]);
    let unchanged = rep1.get(&path).await;
    assert_eq!(unchanged.json["name"], "BYD 车队管理");
    assert_eq!(unchanged.json["version"], 2);
    // Filters are checked too.
    let r = rep1.get("/api/v1/opportunities?status=maybe").await;
    assert_eq!(r.error_fields(), vec!["status"]);
    let r = rep1.get("/api/v1/opportunities?stage=warp").await;
    assert_eq!(r.error_fields(), vec!["stage"]);
}

async fn scope_holds_for_reads_moves_exports_and_the_board(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    let c1 = new_customer(&rep1, "华为技术有限公司").await;
    let c2 = new_customer(&rep2, "招商银行股份有限公司").await;
    let a = new_opportunity(
        &rep1,
        json!({"customer_id": c1, "name": "华为 CRM 一期", "amount_fen": 123_455}),
    )
    .await;
    let b = new_opportunity(
        &rep1,
        json!({"customer_id": c1, "name": "华为 ERP", "amount_fen": 1_000_001, "probability": 33}),
    )
    .await;
    let c = new_opportunity(
        &rep2,
        json!({"customer_id": c2, "name": "招行 分行推广", "amount_fen": 77_777}),
    )
    .await;
    assert_eq!(a["owner_id"].as_i64(), Some(org.rep1));
    assert_eq!(a["department_id"].as_i64(), Some(org.team1));
    let b = move_to(&rep1, &b, "needs_analysis").await;
    assert_eq!(b.status, 200, "{}", b.body);

    // rep2 cannot see, change, move, close or export rep1's opportunity.
    let path = format!("/api/v1/opportunities/{}", a["id"]);
    assert_eq!(rep2.get(&path).await.status, 404);
    assert_eq!(rep2.get(&format!("{path}/history")).await.status, 404);
    assert_eq!(
        rep2.patch(&path, &tag(&a), json!({"name": "x"}))
            .await
            .status,
        404
    );
    assert_eq!(move_to(&rep2, &a, "needs_analysis").await.status, 404);
    let close = post_if(
        &rep2,
        &format!("{path}/close"),
        &tag(&a),
        json!({"outcome": "lost", "reason": "price"}),
    )
    .await;
    assert_eq!(close.status, 404);
    // Nor open one on rep1's customer.
    let r = rep2
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": c1, "name": "steal"}),
        )
        .await;
    assert_eq!(errors(&r), vec![pair("customer_id", "not_found")]);
    // Nor give one to someone outside their reach.
    let r = rep2
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": c2, "name": "x", "owner_id": org.rep1}),
        )
        .await;
    assert_eq!(errors(&r), vec![pair("owner_id", "not_found")]);
    let csv = rep2.get("/api/v1/opportunities/export").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.contains("招行 分行推广") && !csv.body.contains("华为"),
        "{}",
        csv.body
    );
    let csv = rep1
        .get("/api/v1/opportunities/export?format=csv&status=open")
        .await;
    assert!(csv.body.contains("华为 CRM 一期") && !csv.body.contains("招行"));
    assert!(
        csv.body.contains("1234.55"),
        "amounts in yuan: {}",
        csv.body
    );
    let xlsx = manager
        .get("/api/v1/opportunities/export?format=xlsx")
        .await;
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.bytes.starts_with(b"PK"));
    let audit = admin
        .get("/api/v1/audit?record_kind=opportunity&action=export")
        .await;
    assert_eq!(
        audit.json["items"].as_array().unwrap().len(),
        3,
        "{}",
        audit.body
    );

    // The manager of East sees Team 1's opportunities, not South's; a manager may move them.
    assert_eq!(manager.get(&path).await.status, 200);
    assert_eq!(
        manager
            .get(&format!("/api/v1/opportunities/{}", c["id"]))
            .await
            .status,
        404
    );
    let listed = manager.get("/api/v1/opportunities").await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 2);
    let by_owner = admin
        .get(&format!("/api/v1/opportunities?owner_id={}", org.rep2))
        .await;
    assert_eq!(by_owner.json["items"].as_array().unwrap().len(), 1);
    let by_customer = admin
        .get(&format!(
            "/api/v1/opportunities?customer_id={c1}&stage=first_contact"
        ))
        .await;
    assert_eq!(by_customer.json["items"].as_array().unwrap().len(), 1);
    assert!(
        by_customer.json["items"][0].get("lines").is_none(),
        "lists leave lines out"
    );

    // Board totals are the viewer's: summed by the database, equal to what each one may list.
    let mut seen = Vec::new();
    for (who, client) in [
        ("rep1", &rep1),
        ("rep2", &rep2),
        ("manager", &manager),
        ("admin", &admin),
    ] {
        let board = client.get("/api/v1/opportunities/board?cards=1").await;
        assert_eq!(board.status, 200, "{}", board.body);
        assert_eq!(
            on_board(client, "").await,
            listed_sums(client, "").await,
            "{who}"
        );
        seen.push(board.json["open_total_fen"].as_i64().unwrap());
    }
    assert_eq!(
        seen,
        vec![
            123_455 + 1_000_001,
            77_777,
            123_455 + 1_000_001,
            123_455 + 1_000_001 + 77_777
        ]
    );
    let board = rep1.get("/api/v1/opportunities/board").await;
    let column = |code: &str| {
        board.json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["stage"] == code)
            .unwrap()
            .clone()
    };
    let na = column("needs_analysis");
    // The move set the stage's 20 % over the hand-set 33 %: 2 000.0002 yuan → 2 000.00.
    assert_eq!(
        (na["count"].as_i64(), na["weighted_fen"].as_i64()),
        (Some(1), Some(200_000))
    );
    assert_eq!(na["cards"][0]["name"], "华为 ERP");
    assert_eq!(na["cards"][0]["owner_name"], "rep1 用户");
    assert_eq!(na["cards"][0]["customer_name"], "华为技术有限公司");
    let fc = column("first_contact");
    // 10 % of 1 234.55 = 123.455 → 123.46 (half away from zero).
    assert_eq!(fc["weighted_fen"], 12_346);
    let cardless = rep1.get("/api/v1/opportunities/board?cards=0").await;
    assert_eq!(cardless.json["columns"][0]["cards"], json!([]));
    assert_eq!(cardless.json["columns"][0]["count"], 1);
    assert_eq!(
        rep1.get("/api/v1/opportunities/board?cards=101")
            .await
            .error_fields(),
        vec!["cards"]
    );
}

async fn gates_block_moves_until_switched_off(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = new_customer(&rep, "阿里巴巴(中国)有限公司").await;
    let o = new_opportunity(
        &rep,
        json!({"customer_id": customer, "name": "阿里 CRM", "amount_fen": 1_000_000}),
    )
    .await;

    // Needs analysis has no gate; proposal needs a customer-confirmed needs analysis.
    let na = move_to(&rep, &o, "needs_analysis").await;
    assert_eq!(
        (na.status, na.json["probability"].as_i64()),
        (200, Some(20))
    );
    let blocked = move_to(&rep, &na.json, "proposal").await;
    assert_eq!(blocked.status, 422, "{}", blocked.body);
    assert_eq!(
        blocked.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        errors(&blocked),
        vec![pair("stage", "needs_analysis_confirmed")]
    );
    assert!(blocked.json["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("needs analysis"));
    // Gates add up: skipping stages asks for every gate on the way, each named once.
    let loi = move_to(&rep, &na.json, "letter_of_intent").await;
    assert_eq!(
        errors(&loi),
        vec![
            pair("stage", "needs_analysis_confirmed"),
            pair("stage", "proposal_approved")
        ]
    );
    let all_three = vec![
        pair("stage", "needs_analysis_confirmed"),
        pair("stage", "proposal_approved"),
        pair("stage", "letter_of_intent_signed"),
    ];
    let contract = move_to(&rep, &na.json, "contract").await;
    assert_eq!(errors(&contract), all_three);
    let messages: Vec<&str> = contract.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "entering Proposal needs a needs analysis report confirmed by the customer",
            "entering Letter of intent needs a proposal approved in internal review",
            "entering Contract needs a signed letter of intent",
        ]
    );
    // Creating straight into a gated stage is refused the same way.
    let r = rep
        .post(
            "/api/v1/opportunities",
            json!({"customer_id": customer, "name": "x", "stage": "contract"}),
        )
        .await;
    assert_eq!(errors(&r), all_three);
    // Winning straight away passes every gate still ahead too.
    let r = post_if(
        &rep,
        &format!("/api/v1/opportunities/{}/close", o["id"]),
        &tag(&na.json),
        json!({"outcome": "won", "reason": "relationship"}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(errors(&r), all_three);
    // Won and lost are reached by closing; nowhere is also nowhere.
    let won = move_to(&rep, &na.json, "won").await;
    assert_eq!(errors(&won), vec![pair("stage", "use_close")]);
    let same = move_to(&rep, &na.json, "needs_analysis").await;
    assert_eq!(errors(&same), vec![pair("stage", "same_stage")]);
    let still = rep.get(&format!("/api/v1/opportunities/{}", o["id"])).await;
    assert_eq!(still.json["stage"], "needs_analysis");

    // Only settings editors change gates; switching proposal's off lets the move through.
    let stages = admin.get("/api/v1/opportunity-stages").await;
    assert_eq!(stages.etag(), format!("\"{}\"", stages.json["version"]));
    let mut config = stages.json["stages"].clone();
    for s in config.as_array_mut().unwrap() {
        if s["code"] == "proposal" {
            assert_eq!(s["requires"], json!(["needs_analysis_confirmed"]));
            s["requires"] = json!([]);
        }
    }
    let denied = rep
        .send(
            reqwest::Method::PUT,
            "/api/v1/opportunity-stages",
            Some(json!({ "stages": config })),
            &[("if-match", &stages.etag())],
        )
        .await;
    assert_eq!(denied.status, 403);
    let saved = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/opportunity-stages",
            Some(json!({ "stages": config })),
            &[("if-match", &stages.etag())],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let proposal = move_to(&rep, &still.json, "proposal").await;
    assert_eq!(proposal.status, 200, "{}", proposal.body);
    assert_eq!(
        (
            proposal.json["stage"].as_str(),
            proposal.json["probability"].as_i64()
        ),
        (Some("proposal"), Some(40))
    );
    // Letter of intent still asks for its approved proposal; from needs analysis only that,
    // the proposal gate being off.
    let loi = move_to(&rep, &proposal.json, "letter_of_intent").await;
    assert_eq!(errors(&loi), vec![pair("stage", "proposal_approved")]);
    // Backwards is allowed, and a hand-set probability gives way to the new stage's.
    let patched = rep
        .patch(
            &format!("/api/v1/opportunities/{}", o["id"]),
            &tag(&proposal.json),
            json!({"probability": 55}),
        )
        .await;
    let back = move_to(&rep, &patched.json, "negotiation").await;
    assert_eq!(back.json["probability"], 60);
    assert_eq!(back.json["probability_is_default"], true);

    let history = rep
        .get(&format!("/api/v1/opportunities/{}/history", o["id"]))
        .await;
    let moves: Vec<(Value, Value)> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["from_stage"].clone(), h["to_stage"].clone()))
        .collect();
    assert_eq!(
        moves,
        vec![
            (Value::Null, json!("first_contact")),
            (json!("first_contact"), json!("needs_analysis")),
            (json!("needs_analysis"), json!("proposal")),
            (json!("proposal"), json!("negotiation")),
        ]
    );
    assert_eq!(history.json[1]["actor_name"], "rep1 用户");
    let audit = admin
        .get(&format!(
            "/api/v1/audit?record_kind=opportunity&record_id={}&action=stage",
            o["id"]
        ))
        .await;
    assert_eq!(audit.json["items"].as_array().unwrap().len(), 3);
    let audit = admin
        .get("/api/v1/audit?record_kind=settings&action=update_opportunity_stages")
        .await;
    assert_eq!(audit.json["items"].as_array().unwrap().len(), 1);
}

async fn closing_wins_or_loses_with_a_reason(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = new_customer(&rep, "小米科技有限责任公司").await;
    let lost = new_opportunity(&rep, json!({"customer_id": customer, "name": "小米 商城", "amount_fen": 500_000, "competitors": ["销售易"]})).await;
    let close = |o: Value, body: Value| {
        let rep = rep.clone();
        async move {
            post_if(
                &rep,
                &format!("/api/v1/opportunities/{}/close", o["id"]),
                &tag(&o),
                body,
            )
            .await
        }
    };
    let r = close(
        lost.clone(),
        json!({"outcome": "lost", "reason": "competitor"}),
    )
    .await;
    assert_eq!(errors(&r), vec![pair("winning_competitor", "required")]);
    let r = close(
        lost.clone(),
        json!({"outcome": "draw", "reason": "cheaper"}),
    )
    .await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["outcome", "reason"]);
    let r = close(lost.clone(), json!({"outcome": "lost"})).await;
    assert_eq!(
        (r.status, r.error_fields()),
        (422, vec!["reason".to_owned()])
    );
    let r = close(
        lost.clone(),
        json!({"outcome": "won", "reason": "competitor", "winning_competitor": "x"}),
    )
    .await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["reason", "winning_competitor"]);
    let r = close(
        lost.clone(),
        json!({"outcome": "lost", "reason": "competitor", "winning_competitor": "销售易", "note": "对方报价低 20%"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json["stage"].as_str(),
            r.json["status"].as_str(),
            r.json["probability"].as_i64()
        ),
        (Some("lost"), Some("lost"), Some(0))
    );
    assert_eq!(r.json["close_reason"], "competitor");
    assert_eq!(r.json["winning_competitor"], "销售易");
    assert_eq!(r.json["close_note"], "对方报价低 20%");
    assert!(r.json["closed_at"].is_string());
    assert_eq!(r.json["weighted_amount_fen"], 0);
    // Terminal: no second close, no move, no edit.
    let again = close(r.json.clone(), json!({"outcome": "won", "reason": "price"})).await;
    assert_eq!(again.status, 409);
    assert_eq!(move_to(&rep, &r.json, "negotiation").await.status, 409);
    let edit = rep
        .patch(
            &format!("/api/v1/opportunities/{}", lost["id"]),
            &tag(&r.json),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(edit.status, 409);

    let won = new_opportunity(
        &rep,
        json!({"customer_id": customer, "name": "小米 续约", "amount_fen": 800_000}),
    )
    .await;
    // Won lies beyond every gate: from first contact, each of them must hold.
    let w = close(
        won.clone(),
        json!({"outcome": "won", "reason": "relationship"}),
    )
    .await;
    assert_eq!(w.status, 422, "{}", w.body);
    assert_eq!(
        errors(&w),
        vec![
            pair("stage", "needs_analysis_confirmed"),
            pair("stage", "proposal_approved"),
            pair("stage", "letter_of_intent_signed"),
        ]
    );
    // With the gates switched off, this deal is won by its reason alone.
    let admin = app.login("admin", PASSWORD).await;
    open_gates(&admin).await;
    let w = close(won, json!({"outcome": "won", "reason": "relationship"})).await;
    assert_eq!(w.status, 200, "{}", w.body);
    assert_eq!(
        (
            w.json["status"].as_str(),
            w.json["probability"].as_i64(),
            w.json["weighted_amount_fen"].as_i64()
        ),
        (Some("won"), Some(100), Some(800_000))
    );
    let won_list = rep.get("/api/v1/opportunities?status=won").await;
    assert_eq!(won_list.json["items"].as_array().unwrap().len(), 1);
    let closed = rep.get("/api/v1/opportunities?status=closed").await;
    assert_eq!(closed.json["items"].as_array().unwrap().len(), 2);
    let open = rep.get("/api/v1/opportunities?status=open").await;
    assert_eq!(open.json["items"].as_array().unwrap().len(), 0);
    let board = rep.get("/api/v1/opportunities/board").await;
    let terminal: Vec<(Value, Value)> = board.json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["terminal"] == true)
        .map(|c| (c["stage"].clone(), c["total_fen"].clone()))
        .collect();
    assert_eq!(
        terminal,
        vec![
            (json!("won"), json!(800_000)),
            (json!("lost"), json!(500_000))
        ]
    );
    let audit = admin
        .get("/api/v1/audit?record_kind=opportunity&action=close")
        .await;
    assert_eq!(audit.json["items"].as_array().unwrap().len(), 2);
}

async fn stage_configuration_shapes_the_board(app: TestApp) {
    app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = new_customer(&rep, "招商银行股份有限公司").await;
    let o = new_opportunity(
        &rep,
        json!({"customer_id": customer, "name": "招行 试点", "amount_fen": 1_000_000}),
    )
    .await;
    move_to(&rep, &o, "needs_analysis").await;

    let stages = admin.get("/api/v1/opportunity-stages").await;
    let codes: Vec<&str> = stages.json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "first_contact",
            "needs_analysis",
            "proposal",
            "negotiation",
            "letter_of_intent",
            "contract",
            "won",
            "lost"
        ]
    );
    assert_eq!(stages.json["stages"][0]["name_zh"], "初步接触");
    // Rename needs analysis, put negotiation before proposal, re-weight needs analysis.
    let mut list = stages.json["stages"].as_array().unwrap().clone();
    list[1]["name_zh"] = json!("需求调研");
    list[1]["name_en"] = json!("Discovery");
    list[1]["probability"] = json!(25);
    list.swap(2, 3);
    let put = |body: Value, etag: String| {
        let admin = admin.clone();
        async move {
            admin
                .send(
                    reqwest::Method::PUT,
                    "/api/v1/opportunity-stages",
                    Some(body),
                    &[("if-match", &etag)],
                )
                .await
        }
    };
    let saved = put(json!({ "stages": list }), stages.etag()).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_ne!(saved.etag(), stages.etag());
    let stale = put(json!({ "stages": list }), stages.etag()).await;
    assert_eq!(stale.status, 412);
    let missing = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/opportunity-stages",
            Some(json!({ "stages": list })),
            &[],
        )
        .await;
    assert_eq!(missing.status, 428);

    let board = rep.get("/api/v1/opportunities/board").await;
    let columns: Vec<(&str, &str)> = board.json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["stage"].as_str().unwrap(), c["name_en"].as_str().unwrap()))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("first_contact", "First contact"),
            ("needs_analysis", "Discovery"),
            ("negotiation", "Negotiation"),
            ("proposal", "Proposal"),
            ("letter_of_intent", "Letter of intent"),
            ("contract", "Contract"),
            ("won", "Won"),
            ("lost", "Lost"),
        ]
    );
    assert_eq!(board.json["columns"][1]["name_zh"], "需求调研");
    // The new weight applies at once to opportunities already in the stage.
    assert_eq!(board.json["columns"][1]["weighted_fen"], 250_000);
    let read = rep.get(&format!("/api/v1/opportunities/{}", o["id"])).await;
    assert_eq!(read.json["probability"], 25);

    // Refused configurations, field by field.
    let mut bad = list.clone();
    bad.swap(5, 6);
    bad[0]["requires"] = json!(["proposal_approved"]);
    bad[2]["probability"] = json!(150);
    bad[3]["name_en"] = json!("");
    bad[7]["probability"] = json!(5);
    let r = put(json!({ "stages": bad }), saved.etag()).await;
    assert_eq!(
        errors(&r),
        vec![
            pair("stages", "terminal_last"),
            pair("stages[0].requires", "not_gated"),
            pair("stages[2].probability", "out_of_range"),
            pair("stages[3].name_en", "required"),
            pair("stages[7].probability", "fixed"),
        ],
        "{}",
        r.body
    );
    let mut dup = list.clone();
    dup[0]["code"] = json!("proposal");
    dup[1]["requires"] = json!(["magic"]);
    let r = put(json!({ "stages": dup }), saved.etag()).await;
    assert_eq!(errors(&r), vec![pair("stages[1].requires", "invalid")]);
    dup[1]["requires"] = json!([]);
    let r = put(json!({ "stages": dup }), saved.etag()).await;
    assert!(
        errors(&r).contains(&pair("stages", "invalid")),
        "{}",
        r.body
    );
    let r = put(json!({ "stages": list, "extra": 1 }), saved.etag()).await;
    assert_eq!(errors(&r), vec![pair("extra", "unknown_field")]);
}

async fn a_converted_lead_brings_an_opportunity(app: TestApp) {
    let org = app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let lead = rep
        .post("/api/v1/leads", json!({"company": "深圳华强电子有限公司", "contact_name": "黄经理", "source": "exhibition", "explicit_need": true}))
        .await;
    let id = lead.json["id"].as_i64().unwrap();
    let contact = rep
        .post(
            &format!("/api/v1/leads/{id}/first-contact"),
            json!({"kind": "call", "summary": "电话沟通"}),
        )
        .await;
    let version = contact.json["lead"]["version"].as_i64().unwrap();
    let converted = post_if(
        &rep,
        &format!("/api/v1/leads/{id}/convert"),
        &format!("\"{version}\""),
        json!({}),
    )
    .await;
    assert_eq!(converted.status, 200, "{}", converted.body);
    let opportunity = converted.json["opportunity_id"].as_i64().unwrap();
    let customer = converted.json["customer"]["id"].as_i64().unwrap();
    let o = rep
        .get(&format!("/api/v1/opportunities/{opportunity}"))
        .await;
    assert_eq!(o.status, 200);
    assert_eq!(o.json["name"], "深圳华强电子有限公司");
    assert_eq!(o.json["stage"], "first_contact");
    assert_eq!(o.json["customer_id"].as_i64(), Some(customer));
    assert_eq!(o.json["lead_id"].as_i64(), Some(id));
    assert_eq!(o.json["owner_id"].as_i64(), Some(org.rep1));
    let history = rep
        .get(&format!("/api/v1/opportunities/{opportunity}/history"))
        .await;
    assert_eq!(history.json.as_array().unwrap().len(), 1);
    let board = rep.get("/api/v1/opportunities/board").await;
    assert_eq!(board.json["columns"][0]["count"], 1);
    let admin = app.login("admin", PASSWORD).await;
    let audit = admin
        .get(&format!(
            "/api/v1/audit?record_kind=opportunity&record_id={opportunity}&action=create"
        ))
        .await;
    assert_eq!(audit.json["items"].as_array().unwrap().len(), 1);
    // The OpenAPI document describes the new doors.
    let doc = app.anonymous().get("/api/v1/openapi.json").await;
    let paths = doc.json["paths"].as_object().unwrap();
    for p in [
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/opportunities",
        "/api/v1/opportunities/{id}",
        "/api/v1/opportunities/{id}/stage",
        "/api/v1/opportunities/{id}/close",
        "/api/v1/opportunities/{id}/history",
        "/api/v1/opportunities/board",
        "/api/v1/opportunities/export",
        "/api/v1/opportunity-stages",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

async fn merged_customers_keep_their_opportunities(app: TestApp) {
    app.seed_org().await;
    let manager = app.login("manager", PASSWORD).await;
    let rep = app.login("rep1", PASSWORD).await;
    let kept = new_customer(&rep, "腾讯科技(深圳)有限公司").await;
    let twin = created(
        rep.post(
            "/api/v1/customers",
            json!({"name": "Tencent Shenzhen", "allow_duplicate": true}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let o = new_opportunity(
        &rep,
        json!({"customer_id": twin, "name": "腾讯 CRM", "amount_fen": 1}),
    )
    .await;
    let merged = manager
        .post(
            &format!("/api/v1/customers/{kept}/merge"),
            json!({ "from_id": twin }),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let moved = rep.get(&format!("/api/v1/opportunities/{}", o["id"])).await;
    assert_eq!(moved.json["customer_id"].as_i64(), Some(kept));
    assert_eq!(moved.json["customer_name"], "腾讯科技(深圳)有限公司");
}

async fn board_cards_are_each_columns_newest_deals_as_they_stand(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let huawei = new_customer(&rep, "华为技术有限公司").await;
    let acme = new_customer(&rep, "Acme \"Quoted\" Trading Co.").await;
    let mut first_contact = Vec::new();
    for (i, customer) in [huawei, acme, huawei, acme].into_iter().enumerate() {
        let mut body = json!({"customer_id": customer, "name": format!("商机 {i} “引号” \\ deal"),
            "amount_fen": 1_000_000_007_i64 * (i as i64 + 1)});
        if i == 1 {
            body["expected_close_date"] = json!("2027-03-31");
            body["probability"] = json!(45);
        }
        first_contact.push(new_opportunity(&rep, body).await["id"].as_i64().unwrap());
    }
    let moved = new_opportunity(&rep, json!({"customer_id": huawei, "name": "需求 deal"})).await;
    assert_eq!(move_to(&rep, &moved, "needs_analysis").await.status, 200);

    let board = rep.get("/api/v1/opportunities/board?cards=3").await;
    assert_eq!(board.status, 200, "{}", board.body);
    let cards = |stage: &str| -> Vec<Value> {
        board.json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["stage"] == stage)
            .unwrap()["cards"]
            .as_array()
            .unwrap()
            .clone()
    };
    // The three newest of the column's four, newest first.
    let newest: Vec<i64> = first_contact.iter().rev().take(3).copied().collect();
    let shown = cards("first_contact");
    assert_eq!(
        shown
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        newest
    );
    assert_eq!(
        cards("needs_analysis")
            .iter()
            .map(|c| c["id"].clone())
            .collect::<Vec<_>>(),
        [moved["id"].clone()]
    );
    // Each card says what the deal itself says, in its stage's column.
    let placed = shown.iter().map(|c| ("first_contact", c.clone())).chain(
        cards("needs_analysis")
            .into_iter()
            .map(|c| ("needs_analysis", c)),
    );
    for (stage, card) in placed {
        let deal = rep
            .get(&format!("/api/v1/opportunities/{}", card["id"]))
            .await
            .json;
        assert_eq!(deal["stage"], stage);
        for field in [
            "name",
            "customer_id",
            "customer_name",
            "amount_fen",
            "expected_close_date",
            "owner_id",
            "owner_name",
            "version",
            "probability",
            "weighted_amount_fen",
        ] {
            assert_eq!(card[field], deal[field], "{field} of {}", card["id"]);
        }
    }
    assert_eq!(shown[2]["probability"], 45);
    assert_eq!(shown[2]["expected_close_date"], "2027-03-31");
}
