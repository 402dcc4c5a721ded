//! The opportunity pages in a real headless Chromium: the kanban board with its totals in the
//! viewer's language, cards moved by the "move to" list and by drag and drop, a gated move
//! refused with what is missing; products, pipeline settings, the opportunity form with exact
//! line money, and closing a lost deal.

use serde_json::json;
use stride_testkit::browser::Browser;
use stride_testkit::{backend_tests, TestApp, PASSWORD};

use crate::pages::{click, select, sign_in, text, type_into, wait_present, wait_text};

backend_tests!(
    browser_board_moves_cards_and_names_what_a_gate_misses,
    browser_admin_tunes_products_and_stages_then_sells,
);

async fn browser_board_moves_cards_and_names_what_a_gate_misses(app: TestApp) {
    app.seed_org().await;
    let rep = app.login("rep1", PASSWORD).await;
    let customer = rep
        .post("/api/v1/customers", json!({"name": "华为技术有限公司"}))
        .await
        .json["id"]
        .clone();
    let mut ids = Vec::new();
    for (name, amount) in [("华为 CRM 一期", 1_234_550), ("华为 ERP 升级", 800_000)] {
        let o = rep
            .post(
                "/api/v1/opportunities",
                json!({"customer_id": customer, "name": name, "amount_fen": amount}),
            )
            .await;
        assert_eq!(o.status, 201, "{}", o.body);
        ids.push(o.json["id"].as_i64().unwrap());
    }
    let (crm, erp) = (ids[0], ids[1]);

    let Some(b) = Browser::launch_if_available("zh-CN").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "rep1").await;
    click(&b, "#nav-opportunities").await;
    b.wait_for("#board").await.unwrap();
    // Columns in Chinese, with count, total and weighted total.
    let first = text(&b, "#column-first_contact header").await;
    assert!(first.contains("初步接触") && first.contains("2"), "{first}");
    assert!(
        first.contains("¥20,345.50") && first.contains("¥2,034.55"),
        "{first}"
    );
    assert!(text(&b, "#column-needs_analysis h2")
        .await
        .contains("需求分析"));
    assert!(text(&b, "#column-won h2").await.contains("赢单"));
    assert_eq!(text(&b, "#open-total").await, "¥20,345.50");
    let summary = text(&b, "#board-summary").await;
    assert!(summary.contains("加权金额"), "{summary}");
    let card = text(&b, &format!("#card-{crm}")).await;
    assert!(
        card.contains("华为技术有限公司")
            && card.contains("¥12,345.50")
            && card.contains("rep1 用户"),
        "{card}"
    );

    // The keyboard way: pick a stage in the card's list and move it.
    select(&b, &format!("#move-to-{crm}"), "needs_analysis").await;
    click(&b, &format!("#move-{crm}")).await;
    wait_present(&b, &format!("#column-needs_analysis #card-{crm}")).await;
    wait_text(&b, "#column-needs_analysis .column-total", "¥12,345.50").await;
    // 20 % of 12 345.50 = 2 469.10.
    assert_eq!(
        text(&b, "#column-needs_analysis .column-weighted").await,
        "¥2,469.10"
    );
    assert!(text(&b, "#column-first_contact .column-count")
        .await
        .contains('1'));

    // Proposal is gated: the move is refused naming the missing document; the card stays.
    select(&b, &format!("#move-to-{crm}"), "proposal").await;
    click(&b, &format!("#move-{crm}")).await;
    let message = wait_text(&b, "#board-message", "经客户确认的需求分析报告").await;
    assert!(message.contains("暂不能进入该阶段"), "{message}");
    assert_eq!(
        b.find_all(&format!("#column-needs_analysis #card-{crm}"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(b
        .find_all(&format!("#column-proposal #card-{crm}"))
        .await
        .unwrap()
        .is_empty());

    // Drag and drop: the card goes to needs analysis (no gate on the way).
    let card = b.find(&format!("#card-{erp}")).await.unwrap();
    let column = b.find("#column-needs_analysis").await.unwrap();
    b.execute(
        "const [card, column] = arguments; const dt = new DataTransfer();\
         card.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));\
         column.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));\
         column.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));\
         card.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: dt}));",
        vec![card.as_arg(), column.as_arg()],
    )
    .await
    .unwrap();
    wait_present(&b, &format!("#column-needs_analysis #card-{erp}")).await;
    // 20 % of 12 345.50 + 8 000.00 = 4 069.10.
    wait_text(&b, "#column-needs_analysis .column-weighted", "¥4,069.10").await;
    let stored = rep.get(&format!("/api/v1/opportunities/{erp}")).await;
    assert_eq!(stored.json["stage"], "needs_analysis");
    // Skipping stages asks for every gate on the way, not only the target's.
    select(&b, &format!("#move-to-{erp}"), "negotiation").await;
    click(&b, &format!("#move-{erp}")).await;
    wait_text(&b, "#board-message", "经客户确认的需求分析报告").await;

    // In English the same board speaks English.
    click(&b, "#user-menu summary").await;
    click(&b, "#switch-lang").await;
    wait_text(&b, "#column-first_contact h2", "First contact").await;
    let needs = text(&b, "#column-needs_analysis header").await;
    assert!(
        needs.contains("Needs analysis")
            && needs.contains("Total")
            && needs.contains("Weighted")
            && needs.contains("¥20,345.50"),
        "{needs}"
    );
    select(&b, &format!("#move-to-{crm}"), "contract").await;
    click(&b, &format!("#move-{crm}")).await;
    let message = wait_text(&b, "#board-message", "a signed letter of intent").await;
    assert!(
        message.contains("a needs analysis report confirmed by the customer")
            && message.contains("a proposal approved in internal review"),
        "{message}"
    );

    // The detail page shows the stage history.
    click(&b, &format!("#card-{erp} .card-name")).await;
    let history = wait_text(&b, "#stage-history", "Needs analysis").await;
    assert!(history.contains("First contact"), "{history}");
    b.quit().await.unwrap();
}

async fn browser_admin_tunes_products_and_stages_then_sells(app: TestApp) {
    app.seed_org().await;
    let admin_api = app.login("admin", PASSWORD).await;
    let customer = admin_api
        .post(
            "/api/v1/customers",
            json!({"name": "宁德时代新能源科技股份有限公司"}),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();

    let Some(b) = Browser::launch_if_available("en").await.unwrap() else {
        eprintln!("skipping browser test: no Chromium");
        return;
    };
    sign_in(&b, &app, "admin").await;

    // A product, with a refused price first.
    click(&b, "#nav-products").await;
    b.wait_for("#product-form").await.unwrap();
    type_into(&b, "#code", "KIT-1").await;
    type_into(&b, "#name", "Starter kit 入门套件").await;
    type_into(&b, "#unit", "set").await;
    type_into(&b, "#list_price", "33.333").await;
    type_into(&b, "#cost", "20").await;
    click(&b, "#save-product").await;
    wait_text(&b, ".field-error[data-field=list_price]", "Not valid").await;
    b.find("#list_price").await.unwrap().clear().await.unwrap();
    type_into(&b, "#list_price", "33.33").await;
    click(&b, "#save-product").await;
    wait_text(&b, ".notice", "Created").await;
    let products = text(&b, "#products").await;
    assert!(
        products.contains("KIT-1") && products.contains("¥33.33"),
        "{products}"
    );

    // The pipeline: proposal's gate off, needs analysis renamed.
    click(&b, "#nav-pipeline").await;
    b.wait_for("#pipeline-form").await.unwrap();
    let gate = b
        .find("#proposal_requires_needs_analysis_confirmed")
        .await
        .unwrap();
    assert_eq!(gate.prop("checked").await.unwrap().as_deref(), Some("true"));
    gate.click().await.unwrap();
    let name = b.find("#needs_analysis_name_en").await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("Discovery").await.unwrap();
    click(&b, "#save-pipeline").await;
    wait_text(&b, ".notice", "Saved").await;
    let stages = admin_api.get("/api/v1/opportunity-stages").await;
    assert_eq!(stages.json["stages"][1]["name_en"], "Discovery");
    assert_eq!(stages.json["stages"][2]["requires"], json!([]));

    // An opportunity through the form: 3 × 33.33 at 10 % off is 89.99.
    b.goto(&app.url("/opportunities/new")).await.unwrap();
    b.wait_for("#opportunity-form").await.unwrap();
    select(&b, "#customer_id", &customer.to_string()).await;
    type_into(&b, "#name", "CATL pilot").await;
    type_into(&b, "#competitors", "Salesforce\n纷享销客").await;
    let product = admin_api.get("/api/v1/products?q=KIT-1").await.json["items"][0]["id"]
        .as_i64()
        .unwrap();
    select(&b, "#line0_product", &product.to_string()).await;
    type_into(&b, "#line0_quantity", "3").await;
    type_into(&b, "#line0_discount", "10").await;
    click(&b, "#save-opportunity").await;
    wait_text(&b, ".notice", "Created").await;
    assert_eq!(text(&b, "#lines-total").await, "¥89.99");
    let facts = text(&b, "#opportunity-facts").await;
    assert!(
        facts.contains("¥99.99") && facts.contains("10 %") && facts.contains("Salesforce"),
        "{facts}"
    );

    // Straight to proposal now that its gate is off; then lost to a named competitor.
    select(&b, "#move-stage", "proposal").await;
    click(&b, "#move").await;
    wait_text(&b, ".notice", "Moved").await;
    assert_eq!(text(&b, "#opportunity-stage").await, "Proposal");
    // Winning from here passes the gates still ahead: the close form names what they lack,
    // and says what closing does to the deal's pending reviews.
    assert_eq!(
        text(&b, "#close-withdraws").await,
        "No pending review is withdrawn by closing."
    );
    select(&b, "#close-outcome", "won").await;
    select(&b, "#close-reason", "relationship").await;
    click(&b, "#close-submit").await;
    let blocked = wait_text(&b, "#close-blocked", "a signed letter of intent").await;
    assert!(
        blocked.contains("a proposal approved in internal review")
            && !blocked.contains("needs analysis report"),
        "{blocked}"
    );
    select(&b, "#close-outcome", "lost").await;
    select(&b, "#close-reason", "competitor").await;
    click(&b, "#close-submit").await;
    wait_text(
        &b,
        ".field-error[data-field=winning_competitor]",
        "Required",
    )
    .await;
    type_into(&b, "#winning-competitor", "Salesforce").await;
    click(&b, "#close-submit").await;
    wait_text(&b, ".notice", "Closed").await;
    assert_eq!(text(&b, "#opportunity-status").await, "Lost");
    let outcome = text(&b, "#opportunity-outcome").await;
    assert!(
        outcome.contains("Competitor") && outcome.contains("Salesforce"),
        "{outcome}"
    );
    let history = text(&b, "#stage-history").await;
    assert!(
        history.contains("Proposal") && history.contains("Lost"),
        "{history}"
    );
    b.quit().await.unwrap();
}
