//! The sales documents of the demo pipeline: confirmed needs analyses, proposals (one approved
//! with presentation feedback, one waiting for review), an objections log, signed letters of
//! intent, and one needs analysis sent late — in Chinese and in English.

use anyhow::Result;
use stride_app::opportunities::{Opportunity, OpportunityFilter};
use stride_app::page::{PageRequest, MAX_LIMIT};
use stride_app::stage_documents::{
    LetterOfIntentData, NeedsAnalysisData, NeedsAnalysisInput, ObjectionInput, PresentationData,
    ProposalData, PROPOSAL_KIND,
};
use stride_app::{Actor, App};
use stride_domain::approvals::Decision;

const DAY_MS: i64 = 86_400_000;

/// The demo opportunity called `name`, as its owner sees it.
async fn opportunity(app: &App, owner: &Actor, name: &str) -> Result<Opportunity> {
    let filter = OpportunityFilter {
        q: Some(name.to_owned()),
        ..Default::default()
    };
    let page = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    app.list_opportunities(owner, &filter, page)
        .await?
        .items
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| anyhow::anyhow!("demo opportunity {name} missing"))
}

fn meeting_days_ago(app: &App, days: i64) -> Result<String> {
    Ok(jiff::Timestamp::from_millisecond(app.now_ms() - days * DAY_MS)?.to_string())
}

/// A report from a meeting `days` ago; confirmed through the public link when `signer` is given.
async fn needs_analysis(
    app: &App,
    owner: &Actor,
    o: &Opportunity,
    days: i64,
    data: NeedsAnalysisData,
    signer: Option<&str>,
) -> Result<()> {
    let input = NeedsAnalysisInput {
        data,
        meeting_at: meeting_days_ago(app, days)?,
    };
    app.write_needs_analysis(owner, o.id, None, input).await?;
    let sent = app.send_needs_analysis(owner, o.id).await?;
    if let Some(signer) = signer {
        app.confirm_needs_analysis_by_link(
            &sent.token,
            signer.into(),
            Some("确认 / confirmed".into()),
        )
        .await?;
    }
    Ok(())
}

fn needs_zh(pain: &str, goals: &str, min_yuan: i64, max_yuan: i64) -> NeedsAnalysisData {
    NeedsAnalysisData {
        pain_points: pain.into(),
        goals: goals.into(),
        budget_min_fen: Some(min_yuan * 100),
        budget_max_fen: Some(max_yuan * 100),
        decision_process: Some("业务部门评估 → IT 技术评审 → 财务审批 → 总经理签字".into()),
        decision_makers: Some("总经理、IT 负责人、财务总监".into()),
        timeline: Some("本季度完成选型，下季度上线".into()),
    }
}

/// A proposal version sent to review; approved by every reviewer of the default flow when
/// `approve` is set.
async fn proposal(
    app: &App,
    owner: &Actor,
    o: &Opportunity,
    title: &str,
    summary: &str,
    approve: bool,
) -> Result<i64> {
    let data = ProposalData {
        title: title.into(),
        summary: Some(summary.into()),
        price_fen: o.amount_fen,
    };
    let p = app.create_proposal(owner, o.id, data).await?;
    app.submit_proposal(owner, p.id).await?;
    if approve {
        for reviewer in ["expert", "legal", "finance"] {
            let reviewer = app.actor_for(reviewer).await?;
            if let Some(request) = app.approval_status(PROPOSAL_KIND, p.id).await? {
                if request.current_step.is_some() {
                    app.decide_approval(
                        &reviewer,
                        request.id,
                        Decision::Approve,
                        Some("方案可行 / looks good".into()),
                        None,
                    )
                    .await?;
                }
            }
        }
    }
    Ok(p.id)
}

fn letter(
    scope: &str,
    amount_fen: i64,
    terms: &str,
    delivery: &str,
    signatory: &str,
    today: &str,
    valid: &str,
) -> LetterOfIntentData {
    LetterOfIntentData {
        scope: scope.into(),
        amount_fen,
        payment_terms: terms.into(),
        delivery: delivery.into(),
        valid_until: valid.into(),
        next_steps: Some("法务起草正式合同 / legal drafts the contract".into()),
        signed_on: Some(today.into()),
        customer_signatory: Some(signatory.into()),
    }
}

pub async fn seed(app: &App) -> Result<()> {
    let today = jiff::Timestamp::from_millisecond(app.now_ms())?
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai")?)
        .date();
    let in_90_days = today.checked_add(jiff::Span::new().days(90))?.to_string();
    let today = today.to_string();
    let rep = app.actor_for("rep").await?;
    let rep2 = app.actor_for("rep2").await?;
    let rep3 = app.actor_for("rep3").await?;

    // 招行: confirmed needs, a proposal waiting for review.
    let cmb = opportunity(app, &rep, "招行 BI 分析平台").await?;
    needs_analysis(
        app,
        &rep,
        &cmb,
        12,
        needs_zh(
            "各分行报表口径不一，月底对账靠人工",
            "统一经营看板，日报自动生成",
            400_000,
            800_000,
        ),
        Some("刘行长"),
    )
    .await?;
    proposal(
        app,
        &rep,
        &cmb,
        "招行 BI 平台方案 v1",
        "统一数据口径 + 管理驾驶舱 + 移动端日报",
        false,
    )
    .await?;

    // 阿里: approved proposal with feedback, and the objections of the negotiation.
    let ali = opportunity(app, &rep2, "阿里 销售云 企业版").await?;
    needs_analysis(
        app,
        &rep2,
        &ali,
        30,
        needs_zh(
            "销售线索分配靠群消息，跟进无记录",
            "线索自动分配，商机全程可视",
            2_000_000,
            3_500_000,
        ),
        Some("张总监"),
    )
    .await?;
    let p = proposal(
        app,
        &rep2,
        &ali,
        "阿里 销售云实施方案",
        "500 用户企业版，分两期上线",
        true,
    )
    .await?;
    app.add_presentation(
        &rep2,
        p,
        PresentationData {
            presented_on: today.clone(),
            attendees: "张总监、IT 王工、我方售前吴工".into(),
            feedback: "功能认可，希望价格再优惠，并要求分期付款".into(),
            next_steps: Some("准备商务报价，安排第二次谈判".into()),
        },
    )
    .await?;
    for (kind, said, answer, resolved) in [
        (
            "price",
            "比友商报价高 15%",
            Some("可分三期付款，首期 30%"),
            true,
        ),
        (
            "delivery_time",
            "希望 30 天内上线",
            Some("优先排产，第一期 30 天上线核心模块"),
            true,
        ),
        ("competitor", "纷享销客给了免费试用", None, false),
    ] {
        let input = ObjectionInput {
            kind: kind.into(),
            customer_said: said.into(),
            answer: answer.map(str::to_owned),
            resolved,
        };
        app.add_objection(&rep2, ali.id, input).await?;
    }

    // Contoso (English): confirmed, approved, signed letter of intent.
    let contoso = opportunity(app, &rep2, "Contoso kiosk rollout").await?;
    needs_analysis(
        app,
        &rep2,
        &contoso,
        40,
        NeedsAnalysisData {
            pain_points: "Store check-in queues at peak hours; paper forms".into(),
            goals: "Self-service kiosks in 12 stores before the spring season".into(),
            budget_min_fen: Some(30_000_000),
            budget_max_fen: Some(45_000_000),
            decision_process: Some("Operations proposes, the CFO approves".into()),
            decision_makers: Some("Jane Miller (COO), Tom Chen (CFO)".into()),
            timeline: Some("Pilot in one store next month".into()),
        },
        Some("Jane Miller"),
    )
    .await?;
    let p = proposal(
        app,
        &rep2,
        &contoso,
        "Kiosk rollout proposal",
        "12 kiosks, installation and training",
        true,
    )
    .await?;
    app.add_presentation(
        &rep2,
        p,
        PresentationData {
            presented_on: today.clone(),
            attendees: "Jane Miller, store managers".into(),
            feedback: "Liked the pilot plan; asked for a longer warranty".into(),
            next_steps: Some("Send the letter of intent".into()),
        },
    )
    .await?;
    app.write_letter_of_intent(
        &rep2,
        contoso.id,
        None,
        letter(
            "12 kiosks with installation and training",
            contoso.amount_fen,
            "30% on signing, 70% on acceptance",
            "Within 45 days of the contract",
            "Jane Miller",
            &today,
            &in_90_days,
        ),
    )
    .await?;

    // 华为: the whole way to the contract stage.
    let huawei = opportunity(app, &rep, "华为 销售云 200 用户").await?;
    needs_analysis(
        app,
        &rep,
        &huawei,
        50,
        needs_zh(
            "海外办事处客户资料分散",
            "全球统一客户视图，审批移动化",
            1_000_000,
            2_000_000,
        ),
        Some("李部长"),
    )
    .await?;
    proposal(
        app,
        &rep,
        &huawei,
        "华为 销售云方案",
        "200 用户企业版 + 20 人天实施",
        true,
    )
    .await?;
    app.write_letter_of_intent(
        &rep,
        huawei.id,
        None,
        letter(
            "销售云企业版 200 用户及实施服务",
            huawei.amount_fen,
            "签约付 30%，验收后付 70%",
            "合同签订后 60 天内",
            "李部长",
            &today,
            &in_90_days,
        ),
    )
    .await?;

    // 比亚迪: the report went out five days after the meeting, late.
    let byd = opportunity(app, &rep3, "比亚迪 经销商 CRM").await?;
    needs_analysis(
        app,
        &rep3,
        &byd,
        5,
        needs_zh(
            "经销商库存与订单数据不同步",
            "经销商门户与厂家 CRM 打通",
            1_500_000,
            2_500_000,
        ),
        None,
    )
    .await?;
    Ok(())
}
