//! Persistence of the sales stages' documents: needs analyses, proposals and their
//! presentations, objections and letters of intent.

use async_trait::async_trait;

use crate::ports::StoreResult;
use crate::stage_documents::{
    Confirmation, LateReport, LetterOfIntent, LetterOfIntentData, NeedsAnalysis, NewNeedsAnalysis,
    Objection, ObjectionData, Presentation, PresentationData, Proposal, ProposalData,
};
use stride_domain::stage_documents::ProposalStatus;

/// Reads of stage documents, outside a transaction. Callers have checked the opportunity's
/// scope already.
#[async_trait]
pub trait StageDocumentReads: Send + Sync {
    /// Every revision of an opportunity's needs analysis, newest first.
    async fn needs_analyses(&self, opportunity_id: i64) -> StoreResult<Vec<NeedsAnalysis>>;
    /// The revision a confirmation link was issued for.
    async fn needs_analysis_by_token(&self, token_hash: &str)
        -> StoreResult<Option<NeedsAnalysis>>;
    /// Every proposal version of an opportunity, newest first.
    async fn proposals(&self, opportunity_id: i64) -> StoreResult<Vec<Proposal>>;
    async fn proposal(&self, id: i64) -> StoreResult<Option<Proposal>>;
    /// Presentations of a proposal, oldest first.
    async fn presentations(&self, proposal_id: i64) -> StoreResult<Vec<Presentation>>;
    /// The objections log of an opportunity, oldest first.
    async fn objections(&self, opportunity_id: i64) -> StoreResult<Vec<Objection>>;
    async fn objection(&self, id: i64) -> StoreResult<Option<Objection>>;
    /// Every revision of an opportunity's letter of intent, newest first.
    async fn letters_of_intent(&self, opportunity_id: i64) -> StoreResult<Vec<LetterOfIntent>>;
}

/// Writes of stage documents, inside a [`crate::Tx`].
#[async_trait]
pub trait StageDocumentWrites: Send {
    /// A new revision; `Duplicate` when that revision number exists (someone was faster).
    async fn insert_needs_analysis(
        &mut self,
        new: &NewNeedsAnalysis,
        now_ms: i64,
    ) -> StoreResult<NeedsAnalysis>;
    /// Marks a revision sent with the hash of its link's secret (replacing an earlier link).
    async fn set_needs_analysis_sent(
        &mut self,
        id: i64,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Records the confirmation of a revision not yet confirmed; false when it already was.
    async fn confirm_needs_analysis(
        &mut self,
        id: i64,
        confirmation: &Confirmation,
    ) -> StoreResult<bool>;
    /// Newest revisions past their send deadline and still unsent, each returned once.
    async fn claim_late_needs_analyses(&mut self, now_ms: i64) -> StoreResult<Vec<LateReport>>;

    async fn insert_proposal(
        &mut self,
        opportunity_id: i64,
        version_no: i64,
        data: &ProposalData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Proposal>;
    /// Locks the proposal row (PostgreSQL) for a status decision.
    async fn proposal_for_update(&mut self, id: i64) -> StoreResult<Option<Proposal>>;
    async fn update_proposal(
        &mut self,
        id: i64,
        version: i64,
        data: &ProposalData,
        now_ms: i64,
    ) -> StoreResult<Proposal>;
    async fn set_proposal_status(
        &mut self,
        id: i64,
        status: ProposalStatus,
        now_ms: i64,
    ) -> StoreResult<Proposal>;
    async fn insert_presentation(
        &mut self,
        proposal_id: i64,
        data: &PresentationData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Presentation>;

    async fn insert_objection(
        &mut self,
        opportunity_id: i64,
        data: &ObjectionData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Objection>;
    async fn update_objection(
        &mut self,
        id: i64,
        version: i64,
        data: &ObjectionData,
        now_ms: i64,
    ) -> StoreResult<Objection>;

    /// A new revision; `Duplicate` when that revision number exists.
    async fn insert_letter_of_intent(
        &mut self,
        opportunity_id: i64,
        revision: i64,
        data: &LetterOfIntentData,
        created_by: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<LetterOfIntent>;
}
