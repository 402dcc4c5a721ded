//! Discounts above a rep's authority (OPP-5). Judged on the cumulative discount of the whole
//! deal — 1 − amount / list total over every line — not line by line, so many small discounts
//! cannot add up unseen. The authority ladder is the discount flow itself: a discount for which
//! no step of the flow applies is within the rep's authority; above it, the flow's steps decide.
//! A deal may not reach the letter of intent, the contract or "won" with a discount nobody
//! approved.

use stride_domain::access::{Action, RecordKind};
use stride_domain::approvals::{Facts, FlowKind, RequestStatus};
use stride_domain::opportunities::Stage;

use crate::actor::Actor;
use crate::approvals::{ApprovalRequest, ApprovalSubject};
use crate::error::{AppError, AppResult};
use crate::opportunities::Opportunity;
use crate::ports::Tx;
use crate::App;

/// The record kind opportunities go by in approvals.
pub const RECORD_KIND: &str = "opportunity";

/// What a discount is judged on.
fn discount_facts(o: &Opportunity) -> Facts {
    Facts {
        amount_fen: o.amount_fen,
        discount_bp: o.deal_discount_bp().unwrap_or(0).max(0),
    }
}

/// What the discount flow's approvers look at: the deal as it stands now.
fn discount_subject(o: &Opportunity) -> ApprovalSubject {
    let facts = discount_facts(o);
    ApprovalSubject {
        kind: FlowKind::Discount,
        record_kind: RECORD_KIND,
        record_id: o.id,
        record_version: o.version,
        title: format!("{} · {}", o.customer_name, o.name),
        facts,
        snapshot: serde_json::json!({
            "opportunity": o.name,
            "customer": o.customer_name,
            "amount_fen": o.amount_fen,
            "list_total_fen": o.list_total_fen,
            "deal_discount_bp": facts.discount_bp,
            "gross_profit_fen": o.gross_profit_fen(),
            "lines": o.lines.iter().map(|l| format!(
                "{} × {} @ {} fen − {} bp = {} fen",
                l.product_name, l.quantity, l.unit_price_fen, l.discount_bp, l.line_total_fen
            )).collect::<Vec<_>>(),
        }),
        department_id: o.department_id,
    }
}

/// The stages a deal enters only with its discount cleared.
pub fn needs_cleared_discount(stage: Stage) -> bool {
    matches!(stage, Stage::LetterOfIntent | Stage::Contract | Stage::Won)
}

impl App {
    /// Asks for approval of the deal's discount. Within the rep's authority the request is
    /// approved at once (no step of the flow applies).
    pub async fn request_discount_approval(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<ApprovalRequest> {
        actor.require(RecordKind::Opportunity, Action::Edit)?;
        let o = self.get_opportunity(actor, id).await?;
        if o.is_closed() {
            return Err(AppError::Conflict(
                "closed opportunities do not change".into(),
            ));
        }
        if discount_facts(&o).discount_bp == 0 {
            return Err(AppError::field(
                "lines",
                "no_discount",
                "the deal has no discount to approve",
            ));
        }
        let mut tx = self.store.begin().await?;
        let request = self
            .open_approval(&mut *tx, actor, discount_subject(&o))
            .await?;
        tx.commit().await?;
        Ok(request)
    }

    /// Whether the deal's discount is within authority, or approved at least as deep as it is.
    pub async fn discount_cleared(&self, o: &Opportunity) -> AppResult<bool> {
        let facts = discount_facts(o);
        let flow = self.approval_flow(FlowKind::Discount).await?;
        if flow.definition.next_applicable(0, &facts).is_none() {
            return Ok(true);
        }
        Ok(self
            .store
            .latest_approval(RECORD_KIND, o.id)
            .await?
            .is_some_and(|r| {
                r.kind == FlowKind::Discount
                    && r.status == RequestStatus::Approved
                    && r.discount_bp >= facts.discount_bp
            }))
    }

    /// Refuses to take a deal into `stage` with a discount nobody approved.
    pub(crate) async fn ensure_discount_cleared(
        &self,
        o: &Opportunity,
        stage: Stage,
    ) -> AppResult<()> {
        if !needs_cleared_discount(stage) || self.discount_cleared(o).await? {
            return Ok(());
        }
        let bp = discount_facts(o).discount_bp;
        Err(AppError::field(
            "stage",
            "discount_approval",
            format!(
                "the deal's discount of {}.{:02} % is above your authority and not approved",
                bp / 100,
                bp % 100
            ),
        ))
    }

    /// A deal changed while its discount is under approval: only the requester may change it,
    /// and a change of amount or discount sends the approval back to its first step.
    pub(crate) async fn discount_deal_changed(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        before: &Opportunity,
        after: &Opportunity,
    ) -> AppResult<()> {
        self.ensure_not_locked(tx, actor, RECORD_KIND, after.id)
            .await?;
        if discount_facts(before) != discount_facts(after) {
            self.restart_approval(tx, actor, discount_subject(after))
                .await?;
        }
        Ok(())
    }
}
