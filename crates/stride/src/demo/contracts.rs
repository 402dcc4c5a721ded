//! The demo's approvals and contracts: a discount waiting for the East manager, a contract in
//! review at the sales step, one signed and archived with its scan, one signed and waiting for
//! its scan.

use anyhow::{Context, Result};
use stride_app::approvals::InboxFilter;
use stride_app::attachments::Upload;
use stride_app::contracts::{ContractData, ContractDraft, SigningInput};
use stride_app::opportunities::{
    LineInput, NewOpportunityInput, Opportunity, OpportunityFilter, StatusFilter,
};
use stride_app::page::PageRequest;
use stride_app::{Actor, App};
use stride_domain::approvals::Decision;
use stride_domain::contracts::Milestone;

use super::tiny_pdf;

pub async fn seed(app: &App) -> Result<()> {
    let rep = app.actor_for("rep").await?;
    let legal = app.actor_for("legal").await?;
    demo_discount(app, &rep).await?;

    let deals = open_deals(app, &rep).await?;
    let mut deals = deals.into_iter().filter(|o| o.amount_fen > 0);
    let (Some(in_review), Some(archived), Some(awaiting_scan)) =
        (deals.next(), deals.next(), deals.next())
    else {
        return Ok(());
    };

    // In review: legal has approved, the East region's supervisor and manager are next.
    let id = draft(app, &legal, &in_review).await?;
    let request = submit(app, &rep, id).await?;
    decide_as(app, "legal", request).await?;

    // Reviewed all the way, signed on paper and archived with its scan.
    let id = draft(app, &legal, &archived).await?;
    let request = submit(app, &rep, id).await?;
    for approver in ["legal", "supervisor", "finance"] {
        decide_as(app, approver, request).await?;
    }
    sign(app, &rep, id).await?;
    let scan = app
        .upload_attachment(
            &legal,
            Upload {
                record_kind: "contract".into(),
                record_id: id,
                file_name: "合同扫描件 Signed contract.pdf".into(),
                bytes: tiny_pdf("Signed contract scan / 合同签署扫描件"),
            },
        )
        .await?;
    app.archive_contract(&rep, id, scan.id).await?;

    // Signed electronically today; the scan is due on the next working day.
    let id = draft(app, &legal, &awaiting_scan).await?;
    let request = submit(app, &rep, id).await?;
    for approver in ["legal", "manager", "finance"] {
        decide_as(app, approver, request).await?;
    }
    sign(app, &rep, id).await?;
    Ok(())
}

/// A 12 % discount on a new deal in needs analysis (the stages after it are gated by documents
/// this deal does not have yet): above the rep's 5 %, so it waits for the rep's manager.
async fn demo_discount(app: &App, rep: &Actor) -> Result<()> {
    let products = app
        .list_products(
            rep,
            &stride_app::products::ProductFilter::default(),
            PageRequest::parse(Some(50), None)?,
        )
        .await?;
    let product = products
        .items
        .iter()
        .find(|p| p.data.code == "CRM-ENT")
        .context("the demo catalogue has CRM-ENT")?;
    let customers = app
        .list_customers(
            rep,
            &stride_app::customers::CustomerFilter::default(),
            PageRequest::parse(Some(1), None)?,
        )
        .await?;
    let customer = customers.items.first().context("the rep has customers")?;
    let deal = app
        .create_opportunity(
            rep,
            NewOpportunityInput {
                customer_id: customer.id,
                name: "年度续约 200 用户 / renewal for 200 users".into(),
                amount_fen: None,
                expected_close_date: None,
                stage: Some("needs_analysis".into()),
                probability: None,
                owner_id: None,
                competitors: vec!["Salesforce".into()],
                lines: vec![LineInput {
                    product_id: product.id,
                    quantity: 200,
                    unit_price_fen: None,
                    discount_bp: Some(1_200),
                }],
            },
        )
        .await?;
    app.request_discount_approval(rep, deal.id).await?;
    Ok(())
}

/// Has a deal's discount approved by whoever the discount flow asks (the rep's manager, and
/// leadership for deep ones), so the deal may move on; returns the deal as it is now.
pub async fn clear_discount(app: &App, rep: &Actor, deal: Opportunity) -> Result<Opportunity> {
    if app.discount_cleared(&deal).await? {
        return Ok(deal);
    }
    let request = app.request_discount_approval(rep, deal.id).await?;
    for approver in ["manager", "ceo"] {
        decide_as(app, approver, request.id).await?;
    }
    Ok(app.get_opportunity(rep, deal.id).await?)
}

async fn open_deals(app: &App, rep: &Actor) -> Result<Vec<Opportunity>> {
    let filter = OpportunityFilter {
        owner_id: Some(rep.user_id),
        status: Some(StatusFilter::Open),
        ..OpportunityFilter::default()
    };
    Ok(app
        .list_opportunities(rep, &filter, PageRequest::parse(Some(50), None)?)
        .await?
        .items)
}

/// Legal drafts the contract of a deal: its amount, paid 30 % up front, 60 % on delivery and
/// 10 % after a year of warranty. A deal with a letter of intent gives its own payment terms
/// and delivery, which the draft takes when it leaves them out.
async fn draft(app: &App, legal: &Actor, deal: &Opportunity) -> Result<i64> {
    let agreed = app
        .deal_for_contract(legal, deal.id)
        .await?
        .intent
        .is_some();
    let unless_agreed = |text: &str| (!agreed).then(|| text.to_owned());
    let amount = deal.amount_fen;
    let first = amount * 3 / 10;
    let second = amount * 6 / 10;
    let milestone = |name: &str, due: &str, amount_fen| -> Result<Milestone> {
        Ok(Milestone {
            name: name.into(),
            due_on: due.parse()?,
            amount_fen,
        })
    };
    let data = ContractData {
        title: deal.name.clone(),
        our_party: "星河科技 Galaxy Tech".into(),
        customer_party: deal.customer_name.clone(),
        amount_fen: amount,
        milestones: vec![
            milestone("预付款 Down payment 30%", "2026-12-15", first)?,
            milestone("到货款 On delivery 60%", "2027-02-28", second)?,
            milestone("质保金 Warranty 10%", "2027-12-31", amount - first - second)?,
        ],
        payment_terms: unless_agreed("30/60/10,银行转账 / bank transfer"),
        delivery_period: unless_agreed("签约后 45 天 / 45 days after signing"),
        acceptance_criteria: Some("上线验收报告签字 / signed go-live acceptance report".into()),
        liability: Some("逾期每日 0.05% / 0.05 % per day of delay".into()),
        confidentiality: Some("双方保密三年 / three years, both parties".into()),
        ip_clause: Some("软件著作权归星河科技 / software IP stays with Galaxy Tech".into()),
        ..ContractData::default()
    };
    let draft = ContractDraft {
        customer_id: Some(deal.customer_id),
        opportunity_id: Some(deal.id),
        data,
    };
    Ok(app.create_contract(legal, draft).await?.id)
}

/// The rep sends a draft to review; returns the approval request.
async fn submit(app: &App, rep: &Actor, contract: i64) -> Result<i64> {
    app.submit_contract(rep, contract).await?;
    let request = app
        .approval_status(stride_app::contracts::RECORD_KIND, contract)
        .await?
        .context("a contract in review has a request")?;
    Ok(request.id)
}

async fn decide_as(app: &App, login: &str, request: i64) -> Result<()> {
    let approver = app.actor_for(login).await?;
    let waiting = app
        .approval_inbox(&approver, InboxFilter::Waiting, PageRequest::default())
        .await?;
    if waiting.items.iter().any(|i| i.request.id == request) {
        app.decide_approval(&approver, request, Decision::Approve, None, None)
            .await?;
    }
    Ok(())
}

async fn sign(app: &App, rep: &Actor, contract: i64) -> Result<()> {
    let today = jiff::Timestamp::from_millisecond(app.now_ms())?
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai")?)
        .date();
    let input = SigningInput {
        method: "paper".into(),
        signed_on: today.to_string(),
        customer_signatory: Some("采购总监 Procurement director".into()),
    };
    app.sign_contract(rep, contract, input).await?;
    Ok(())
}
