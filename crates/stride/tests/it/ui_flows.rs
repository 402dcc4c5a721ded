//! The approval-flow editor in a real headless Chromium: an administrator adds a step to the
//! contract flow, moves it to the front and saves; the next contract goes to the new approver.
//! Bad values come back next to their field with nothing saved, and a flow saved meanwhile by
//! someone else is not overwritten unseen.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, Client, TestApp, PASSWORD};

use crate::contracts::{deal, submitted, waiting};
use crate::pages::{click, select, sign_in, type_into, wait_present, wait_text};

backend_tests!(an_admin_edits_a_flow_in_the_form_and_requests_follow_it);

/// A field of the contract flow's form, by its name.
fn field(name: &str) -> String {
    format!("#flow-contract [name='{name}']")
}

/// Waits until the field shows `want` — after a post, once the new page is there.
async fn wait_value(b: &Browser, css: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = match b.find(css).await {
            Ok(el) => el.attr("value").await.ok().flatten(),
            Err(_) => None,
        };
        if seen.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{css}` holds {seen:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chosen option of a select.
async fn chosen(b: &Browser, css: &str) -> String {
    let el = b.find(css).await.unwrap();
    b.execute("return arguments[0].value;", vec![el.as_arg()])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn contract_flow(admin: &Client) -> Value {
    let r = admin.get("/api/v1/approval-flows").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "contract")
        .unwrap()
        .clone()
}

async fn an_admin_edits_a_flow_in_the_form_and_requests_follow_it(app: TestApp) {
    let d = deal(&app).await;
    let admin = app.login("admin", PASSWORD).await;
    let Some(b) = Browser::launch_if_available("en").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "admin").await;
    b.goto(&app.url("/admin/approval-flows")).await.unwrap();
    // The contract flow ships as legal → sales → finance.
    wait_value(&b, &field("steps[0].name"), "法务 legal").await;
    assert_eq!(
        b.find_all("#flow-contract tr.flow-step")
            .await
            .unwrap()
            .len(),
        3
    );

    // A fourth step: finance alone for contracts from 50,000 yuan.
    click(&b, "#add-step-contract").await;
    wait_present(&b, &field("steps[3].name")).await;
    wait_text(&b, "#flow-contract .unsaved", "Not saved yet").await;
    type_into(&b, &field("steps[3].name"), "Large deals").await;
    select(&b, &field("steps[3].approvers[0].role"), "finance").await;
    type_into(&b, &field("steps[3].when.min_amount_yuan"), "50000").await;
    // Moved to the front, what was typed travels with it.
    for from in [3, 2, 1] {
        click(&b, &format!("#flow-contract button[value='up:{from}']")).await;
        wait_value(
            &b,
            &field(&format!("steps[{}].name", from - 1)),
            "Large deals",
        )
        .await;
    }
    click(&b, "#save-flow-contract").await;
    wait_text(&b, "p.notice[role=status]", "Saved").await;

    b.goto(&app.url("/admin/approval-flows")).await.unwrap();
    wait_value(&b, &field("steps[0].name"), "Large deals").await;
    assert_eq!(
        chosen(&b, &field("steps[0].approvers[0].type")).await,
        "role"
    );
    assert_eq!(
        chosen(&b, &field("steps[0].approvers[0].role")).await,
        "finance"
    );
    wait_value(&b, &field("steps[0].when.min_amount_yuan"), "50000").await;
    wait_value(&b, &field("steps[1].name"), "法务 legal").await;
    assert_eq!(
        b.find_all("#flow-contract tr.flow-step")
            .await
            .unwrap()
            .len(),
        4
    );
    let flow = contract_flow(&admin).await;
    assert_eq!(flow["version"], 1);
    assert_eq!(
        flow["definition"]["steps"][0],
        json!({"name": "Large deals", "mode": "any",
               "approvers": [{"type": "role", "role": "finance"}],
               "when": {"min_amount_fen": 5_000_000}})
    );

    // A 100,000 yuan contract now reaches finance first, not legal.
    let (_, request) = submitted(&d).await;
    assert_eq!(waiting(&d.fin1).await, [request]);
    assert!(waiting(&d.legal1).await.is_empty());

    // A negative amount and a missing role are refused next to their fields; nothing changes.
    type_into(&b, &field("steps[1].when.min_amount_yuan"), "-5").await;
    select(&b, &field("steps[1].approvers[0].role"), "").await;
    click(&b, "#save-flow-contract").await;
    let amount = wait_text(&b, ".field-error[data-field='steps[1].when']", "negative").await;
    assert!(amount.contains("cannot be negative"), "{amount}");
    wait_text(
        &b,
        "#flow-contract-step-1 .field-error[data-field='steps[1].approvers[0]']",
        "Choose a role.",
    )
    .await;
    wait_value(&b, &field("steps[1].when.min_amount_yuan"), "-5").await;
    wait_value(&b, &field("steps[0].name"), "Large deals").await;
    assert_eq!(contract_flow(&admin).await, flow, "nothing was saved");

    // Someone saves the flow meanwhile: the form says so and keeps what was typed.
    let r = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/approval-flows/contract",
            Some(
                json!({"definition": {"steps": [{"name": "财务", "mode": "any",
                "approvers": [{"type": "role", "role": "finance"}]}]}}),
            ),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    b.find(&field("steps[1].when.min_amount_yuan"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    select(&b, &field("steps[1].approvers[0].role"), "legal").await;
    click(&b, "#save-flow-contract").await;
    wait_text(
        &b,
        "#flow-contract .field-error[data-field=version]",
        "Someone else saved this flow",
    )
    .await;
    wait_value(&b, &field("steps[0].name"), "Large deals").await;
    assert_eq!(contract_flow(&admin).await["version"], 2);
    // Saving again, knowingly, replaces it.
    click(&b, "#save-flow-contract").await;
    wait_text(&b, "p.notice[role=status]", "Saved").await;
    let flow = contract_flow(&admin).await;
    assert_eq!(flow["version"], 3);
    assert_eq!(flow["definition"]["steps"].as_array().unwrap().len(), 4);
    assert_eq!(
        flow["definition"]["steps"][1]["approvers"][0]["role"],
        "legal"
    );
    b.quit().await.unwrap();
}
