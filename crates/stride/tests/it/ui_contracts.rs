//! Contracts and approvals in a real headless Chromium: legal drafts a contract from a deal
//! (the letter of intent's terms filled in; refused while the milestones do not add up), sending
//! it to review with other payment terms than the letter's is refused naming them, the rep sends
//! it to review, legal approves it from "my approvals", and the contract page follows.

use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, TestApp};

use crate::contracts::deal;
use crate::pages::{click, sign_in, text, type_into, wait_text};

backend_tests!(browser_drafts_reviews_and_approves_a_contract);

/// Fills the n-th blank milestone row of the drafting form.
async fn milestone(b: &Browser, row: usize, name: &str, due: &str, amount: &str) {
    let cell = |field: &str| {
        format!(
            "#milestone-rows tbody tr:nth-child({}) input[name={field}]",
            row + 1
        )
    };
    type_into(b, &cell("milestone_name"), name).await;
    // Date inputs take the keys of the browser's locale; set the value directly.
    let input = b.find(&cell("milestone_due")).await.unwrap();
    b.execute(
        "arguments[0].value = arguments[1];",
        vec![input.as_arg(), due.into()],
    )
    .await
    .unwrap();
    type_into(b, &cell("milestone_amount"), amount).await;
}

async fn browser_drafts_reviews_and_approves_a_contract(app: TestApp) {
    let d = deal(&app).await;
    let terms = "30% up front, 70% on acceptance";
    let r = d
        .rep1
        .post(
            &format!("/api/v1/opportunities/{}/letter-of-intent", d.opportunity),
            serde_json::json!({"scope": "Data centre", "amount_fen": 10_000_000,
                "payment_terms": terms, "delivery": "Within 60 days of signing",
                "valid_until": "2027-03-31"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let Some(b) = Browser::launch_if_available("en").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "legal1").await;
    b.goto(&app.url(&format!("/contracts/new?opportunity_id={}", d.opportunity)))
        .await
        .unwrap();
    wait_text(&b, "#contract-form", "Drafted from the deal").await;
    // The letter of intent's terms come filled in; legal writes other ones anyway.
    assert!(text(&b, "#terms-from-intent")
        .await
        .contains("taken from the letter of intent (revision 1)"));
    let field = b.find("#payment_terms").await.unwrap();
    assert_eq!(field.prop("value").await.unwrap().as_deref(), Some(terms));
    let delivery = b.find("#delivery_period").await.unwrap();
    assert_eq!(
        delivery.prop("value").await.unwrap().as_deref(),
        Some("Within 60 days of signing")
    );
    field.clear().await.unwrap();
    type_into(&b, "#payment_terms", "50% up front, 50% on acceptance").await;
    milestone(&b, 0, "Down payment", "2026-12-15", "30000.00").await;
    milestone(&b, 1, "Acceptance", "2027-03-31", "60000.00").await;
    click(&b, "#save-contract").await;
    let refusal = wait_text(&b, ".field-error[data-field=milestones]", "milestones").await;
    assert!(
        refusal.contains("9000000") || refusal.contains("add up"),
        "{refusal}"
    );

    // The form keeps what was typed; fix the second milestone.
    let second = "#milestone-rows tbody tr:nth-child(2) input[name=milestone_amount]";
    b.find(second).await.unwrap().clear().await.unwrap();
    type_into(&b, second, "70000.00").await;
    click(&b, "#save-contract").await;
    let number = wait_text(&b, "#contract-number", "HT-").await;
    assert_eq!(text(&b, "#contract-status").await, "Draft");
    let milestones = text(&b, "#contract-milestones").await;
    assert!(
        milestones.contains("Down payment") && milestones.contains("Acceptance"),
        "{milestones}"
    );

    // Sending it to review is refused: the payment terms are not the negotiated ones.
    click(&b, "#submit-contract").await;
    let refusal = wait_text(&b, ".field-error[data-field=payment_terms]", terms).await;
    assert!(refusal.contains("letter of intent"), "{refusal}");
    assert!(text(&b, "#intent-payment-terms").await.contains("differ"));
    assert_eq!(text(&b, "#contract-status").await, "Draft");
    // Case, spacing and full-width forms aside, the letter's wording passes.
    click(&b, "#edit-contract").await;
    b.wait_for("#contract-form").await.unwrap();
    b.find("#payment_terms")
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&b, "#payment_terms", "30％ UP FRONT,  70% on acceptance").await;
    click(&b, "#save-contract").await;
    wait_text(&b, "#contract-status", "Draft").await;

    // The rep sends it to review (through the API here); legal decides in the browser.
    let list = d.rep1.get("/api/v1/contracts").await;
    let id = list.json["items"][0]["id"].as_i64().unwrap();
    let r = d
        .rep1
        .post(
            &format!("/api/v1/contracts/{id}/submit"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    click(&b, "#nav-approvals").await;
    let waiting = wait_text(&b, "#approvals", &number).await;
    assert!(
        waiting.contains("Contract review") && waiting.contains("legal"),
        "{waiting}"
    );
    b.find("#approvals tbody tr a")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&b, "#decision-form", "Your decision").await;
    // Rejecting without a reason is refused on the page.
    click(&b, "#reject").await;
    wait_text(&b, ".field-error[data-field=comment]", "").await;
    type_into(&b, "#comment", "Clauses checked").await;
    click(&b, "#approve").await;
    let history = wait_text(&b, "#approval-history", "approved").await;
    assert!(history.contains("Clauses checked"), "{history}");
    assert_eq!(
        text(&b, "#approval-status").await,
        "Pending",
        "sales and finance are next"
    );

    b.goto(&app.url(&format!("/contracts/{id}"))).await.unwrap();
    wait_text(&b, "#contract-status", "In review").await;
    b.quit().await.unwrap();
}
