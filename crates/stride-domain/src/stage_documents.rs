//! The documents of the sales stages (OPP-3…OPP-6): needs analysis report, proposals,
//! objections and the letter of intent. Pure rules: when a report is sent late, what an edit
//! of a proposal means in each status, and the closed lists these documents use.

/// Working days after the needs-analysis meeting within which the report goes to the customer.
pub const NEEDS_ANALYSIS_SEND_WORKING_DAYS: u32 = 1;

crate::text_enum!(
    /// What the customer objected to during negotiation.
    ObjectionKind {
        Price => "price",
        DeliveryTime => "delivery_time",
        PaymentTerms => "payment_terms",
        Quality => "quality",
        Competitor => "competitor",
        Other => "other",
    }
);

crate::text_enum!(
    /// Where one proposal version stands in its internal review.
    ProposalStatus {
        Draft => "draft",
        InReview => "in_review",
        Approved => "approved",
        Rejected => "rejected",
    }
);

/// What an edit of a proposal version does, by its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalEdit {
    /// Not under review: the version changes in place.
    InPlace,
    /// Under review: only the requester may edit, and the review starts again.
    RestartsReview,
    /// Approved: what was approved stays; changes go into a new version.
    NewVersionOnly,
}

impl ProposalStatus {
    pub fn edit(self) -> ProposalEdit {
        match self {
            Self::Draft | Self::Rejected => ProposalEdit::InPlace,
            Self::InReview => ProposalEdit::RestartsReview,
            Self::Approved => ProposalEdit::NewVersionOnly,
        }
    }
}

/// A report is late when it went out after its deadline, or has not gone out and the deadline
/// has passed.
pub fn send_late(due_ms: i64, sent_ms: Option<i64>, now_ms: i64) -> bool {
    match sent_ms {
        Some(sent) => sent > due_ms,
        None => now_ms > due_ms,
    }
}

/// A budget range is sound when each bound is non-negative and the minimum is not above the
/// maximum.
pub fn budget_range_ok(min_fen: Option<i64>, max_fen: Option<i64>) -> bool {
    min_fen.is_none_or(|m| m >= 0)
        && max_fen.is_none_or(|m| m >= 0)
        && match (min_fen, max_fen) {
            (Some(lo), Some(hi)) => lo <= hi,
            _ => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_counts_from_the_deadline() {
        assert!(!send_late(100, Some(100), 500));
        assert!(send_late(100, Some(101), 101));
        assert!(!send_late(100, None, 100));
        assert!(send_late(100, None, 101));
    }

    #[test]
    fn proposal_edits_follow_the_status() {
        assert_eq!(ProposalStatus::Draft.edit(), ProposalEdit::InPlace);
        assert_eq!(ProposalStatus::Rejected.edit(), ProposalEdit::InPlace);
        assert_eq!(
            ProposalStatus::InReview.edit(),
            ProposalEdit::RestartsReview
        );
        assert_eq!(
            ProposalStatus::Approved.edit(),
            ProposalEdit::NewVersionOnly
        );
    }

    #[test]
    fn budget_ranges() {
        assert!(budget_range_ok(None, None));
        assert!(budget_range_ok(Some(1), Some(1)));
        assert!(!budget_range_ok(Some(2), Some(1)));
        assert!(!budget_range_ok(Some(-1), None));
    }
}
