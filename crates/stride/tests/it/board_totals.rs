//! The kanban board's column totals are kept per (department, owner, stage) by the database;
//! whatever happens to the deals — created, moved, re-priced, re-weighted by hand or by the
//! administrator, won or lost, handed over to another team — every viewer's board adds up to
//! what that viewer may list, on both databases. A scope of departments reads the per-department
//! roll-up of those sums, an owner the per-owner rows.

use std::collections::BTreeMap;

use crate::stages::edit_stages;
use serde_json::{json, Value};
use stride_testkit::{backend_tests, Client, TestApp, PASSWORD};

backend_tests!(
    board_totals_follow_every_change_of_a_deal,
    a_team_moving_deals_both_ways_at_once_loses_no_move
);

type Sums = BTreeMap<String, (i64, i64, i64)>;

/// Count, amount and weighted amount per stage of every deal the client may list with `filter`.
pub async fn listed(c: &Client, filter: &str) -> Sums {
    let list = c
        .get(&format!("/api/v1/opportunities?limit=200{filter}"))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let mut sums = Sums::new();
    for o in list.json["items"].as_array().unwrap() {
        let e = sums
            .entry(o["stage"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += 1;
        e.1 += o["amount_fen"].as_i64().unwrap();
        e.2 += o["weighted_amount_fen"].as_i64().unwrap();
    }
    sums
}

/// The same figures as the board's columns show them.
pub async fn on_board(c: &Client, filter: &str) -> Sums {
    let board = c
        .get(&format!("/api/v1/opportunities/board?cards=0{filter}"))
        .await;
    assert_eq!(board.status, 200, "{}", board.body);
    board.json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["count"].as_i64().unwrap() > 0)
        .map(|c| {
            (
                c["stage"].as_str().unwrap().to_owned(),
                (
                    c["count"].as_i64().unwrap(),
                    c["total_fen"].as_i64().unwrap(),
                    c["weighted_fen"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Every viewer's board, unfiltered and filtered, equals what they may list.
async fn boards_add_up(step: &str, viewers: &[(&str, &Client)], filters: &[String]) {
    for (who, c) in viewers {
        for filter in filters {
            assert_eq!(
                on_board(c, filter).await,
                listed(c, filter).await,
                "{who}, filter {filter:?}, after {step}"
            );
        }
    }
}

fn tag(v: &Value) -> String {
    format!("\"{}\"", v["version"])
}

async fn send(c: &Client, method: reqwest::Method, path: &str, etag: &str, body: Value) -> Value {
    let r = c
        .send(method, path, Some(body), &[("if-match", etag)])
        .await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json
}

async fn move_to(c: &Client, o: &Value, stage: &str) -> Value {
    let path = format!("/api/v1/opportunities/{}/stage", o["id"]);
    send(
        c,
        reqwest::Method::POST,
        &path,
        &tag(o),
        json!({ "stage": stage }),
    )
    .await
}

async fn patch(c: &Client, o: &Value, body: Value) -> Value {
    let path = format!("/api/v1/opportunities/{}", o["id"]);
    send(c, reqwest::Method::PATCH, &path, &tag(o), body).await
}

/// Sets the stages' probabilities by code and switches every gate off.
async fn configure_stages(admin: &Client, probability: &[(&str, i64)]) {
    edit_stages(admin, |s| {
        s["requires"] = json!([]);
        if let Some((_, p)) = probability.iter().find(|(code, _)| s["code"] == *code) {
            s["probability"] = json!(p);
        }
    })
    .await;
}

async fn board_totals_follow_every_change_of_a_deal(app: TestApp) {
    let org = app.seed_org().await;
    let admin = app.login("admin", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep2 = app.login("rep2", PASSWORD).await;
    configure_stages(&admin, &[]).await;
    let viewers = [
        ("rep1", &rep1),
        ("rep2", &rep2),
        ("manager", &manager),
        ("admin", &admin),
    ];
    let mut filters = vec![
        String::new(),
        format!("&owner_id={}", org.rep1),
        format!("&owner_id={}", org.rep2),
    ];

    let mut deals = Vec::new();
    for (rep, customer, amounts) in [
        (&rep1, "华为技术有限公司", [123_455_i64, 1_000_001, 999]),
        (&rep2, "Tencent Holdings Ltd.", [77_777, 5, 250_050]),
    ] {
        let c = rep
            .post("/api/v1/customers", json!({ "name": customer }))
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        for (i, amount) in amounts.into_iter().enumerate() {
            let mut body = json!({
                "customer_id": c.json["id"],
                "name": format!("{customer} 项目 {i}"),
                "amount_fen": amount,
            });
            if i == 1 {
                body["probability"] = json!(33);
            }
            let o = rep.post("/api/v1/opportunities", body).await;
            assert_eq!(o.status, 201, "{}", o.body);
            deals.push(o.json);
        }
    }
    // A customer filter sums the deals themselves; it must agree too.
    filters.push(format!("&customer_id={}", deals[0]["customer_id"]));
    boards_add_up("creating", &viewers, &filters).await;

    deals[0] = move_to(&rep1, &deals[0], "needs_analysis").await;
    deals[1] = move_to(&rep1, &deals[1], "proposal").await;
    deals[3] = move_to(&rep2, &deals[3], "needs_analysis").await;
    boards_add_up("moving", &viewers, &filters).await;

    deals[0] = patch(&rep1, &deals[0], json!({"amount_fen": 8_888_889})).await;
    deals[3] = patch(&rep2, &deals[3], json!({"probability": 67})).await;
    deals[1] = patch(&rep1, &deals[1], json!({"probability": null})).await;
    boards_add_up("re-pricing and re-weighting by hand", &viewers, &filters).await;

    let close = |o: Value, who: Client, outcome: &'static str| async move {
        let path = format!("/api/v1/opportunities/{}/close", o["id"]);
        let mut body = json!({"outcome": outcome, "reason": "price"});
        if outcome == "lost" {
            body["winning_competitor"] = json!("Oracle");
        }
        send(&who, reqwest::Method::POST, &path, &tag(&o), body).await
    };
    deals[4] = close(deals[4].clone(), rep2.clone(), "lost").await;
    deals[5] = close(deals[5].clone(), rep2.clone(), "won").await;
    boards_add_up("winning and losing", &viewers, &filters).await;

    // The administrator re-weights stages: deals without their own probability follow.
    configure_stages(&admin, &[("needs_analysis", 45), ("first_contact", 3)]).await;
    let board = rep1.get("/api/v1/opportunities/board?cards=0").await;
    let needs = board.json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stage"] == "needs_analysis")
        .unwrap()
        .clone();
    // 45 % of 88 888.89 yuan = 40 000.0005 → 40 000.00.
    assert_eq!(needs["weighted_fen"], 4_000_000, "{needs}");
    boards_add_up("re-weighting the stages", &viewers, &filters).await;

    // Handing rep2's book (another department) to rep1 moves the open deals across teams.
    let r = admin
        .post(
            "/api/v1/customers/hand-over",
            json!({"from_user_id": org.rep2, "to_user_id": org.rep1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["opportunities_moved"], 1, "{}", r.body);
    boards_add_up("handing over", &viewers, &filters).await;
}

/// Two reps of one team drag deals between the same two columns in opposite directions at the
/// same moment: every move lands (no deadlock on the team's column totals), and every board
/// still adds up.
async fn a_team_moving_deals_both_ways_at_once_loses_no_move(app: TestApp) {
    let org = app.seed_org().await;
    app.add_user("rep1b", "rep", org.team1, None).await;
    let admin = app.login("admin", PASSWORD).await;
    let manager = app.login("manager", PASSWORD).await;
    let rep1 = app.login("rep1", PASSWORD).await;
    let rep1b = app.login("rep1b", PASSWORD).await;
    configure_stages(&admin, &[]).await;
    let mut forward = Vec::new();
    let mut backward = Vec::new();
    for (rep, deals, customer) in [
        (&rep1, &mut forward, "宁德时代新能源"),
        (&rep1b, &mut backward, "BYD Company Ltd."),
    ] {
        let c = rep
            .post("/api/v1/customers", json!({ "name": customer }))
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        for i in 0..12 {
            let o = rep
                .post(
                    "/api/v1/opportunities",
                    json!({"customer_id": c.json["id"], "name": format!("{customer} {i}"),
                           "amount_fen": 100_000 + i}),
                )
                .await;
            assert_eq!(o.status, 201, "{}", o.body);
            deals.push(o.json);
        }
    }
    for o in backward.iter_mut() {
        *o = move_to(&rep1b, o, "needs_analysis").await;
    }
    let moves: Vec<_> = forward
        .into_iter()
        .map(|o| (rep1.clone(), o, "needs_analysis"))
        .chain(
            backward
                .into_iter()
                .map(|o| (rep1b.clone(), o, "first_contact")),
        )
        .map(|(rep, o, stage)| tokio::spawn(async move { move_to(&rep, &o, stage).await }))
        .collect();
    for m in moves {
        m.await.expect("every move answers 200");
    }
    let viewers = [
        ("rep1", &rep1),
        ("rep1b", &rep1b),
        ("manager", &manager),
        ("admin", &admin),
    ];
    boards_add_up("moving both ways at once", &viewers, &[String::new()]).await;
    let board = on_board(&manager, "").await;
    assert_eq!(board["first_contact"].0, 12, "{board:?}");
    assert_eq!(board["needs_analysis"].0, 12, "{board:?}");
}
