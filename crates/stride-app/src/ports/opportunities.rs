//! Persistence of products, opportunities, stages and their documents.

use async_trait::async_trait;
use stride_domain::opportunities::{GateFacts, StageConfig};

use crate::actor::Reach;
use crate::opportunities::{
    BoardCard, NewOpportunity, Opportunity, OpportunityData, OpportunityFilter, StageChange,
    StageMove, StageSettings, StageTotals,
};
use crate::page::PageRequest;
use crate::ports::StoreResult;
use crate::products::{Product, ProductData, ProductFilter};

/// Reads of products, opportunities, stages and their documents, outside a transaction.
#[async_trait]
pub trait OpportunityReads: Send + Sync {
    /// The catalogue, by id, up to `limit + 1` rows after the cursor.
    async fn products(
        &self,
        filter: &ProductFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Product>>;
    async fn product(&self, id: i64) -> StoreResult<Option<Product>>;

    /// Every stage in pipeline order, and the configuration's version.
    async fn opportunity_stages(&self) -> StoreResult<StageSettings>;

    /// Opportunities in reach (without their lines), by id, up to `limit + 1` after the cursor.
    async fn opportunities(
        &self,
        reach: &Reach,
        filter: &OpportunityFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Opportunity>>;
    /// One opportunity in reach, with its lines.
    async fn opportunity(&self, reach: &Reach, id: i64) -> StoreResult<Option<Opportunity>>;
    /// An opportunity's stage changes, oldest first.
    async fn stage_history(&self, opportunity_id: i64) -> StoreResult<Vec<StageChange>>;
    /// Count, total and weighted total per stage of the opportunities in reach, summed by the
    /// database (stages without opportunities are absent).
    async fn stage_totals(
        &self,
        reach: &Reach,
        filter: &OpportunityFilter,
    ) -> StoreResult<Vec<StageTotals>>;
    /// The cards of the newest `per_stage` opportunities of each stage in reach.
    async fn board_cards(
        &self,
        reach: &Reach,
        filter: &OpportunityFilter,
        per_stage: u32,
    ) -> StoreResult<Vec<BoardCard>>;
    /// What the stage gates know about an opportunity's documents (needs analysis confirmed,
    /// proposal approved, letter of intent signed).
    async fn gate_facts(&self, opportunity_id: i64) -> StoreResult<GateFacts>;
}

/// Writes of products, opportunities, stages and their documents, inside a [`crate::Tx`].
#[async_trait]
pub trait OpportunityWrites: Send {
    async fn insert_product(&mut self, data: &ProductData, now_ms: i64) -> StoreResult<Product>;
    async fn update_product(
        &mut self,
        id: i64,
        version: i64,
        data: &ProductData,
        now_ms: i64,
    ) -> StoreResult<Product>;
    /// Whether any opportunity line sells the product.
    async fn product_in_use(&mut self, id: i64) -> StoreResult<bool>;
    async fn delete_product(&mut self, id: i64, version: i64) -> StoreResult<()>;

    /// Rewrites every stage (in the order given) when `version` is current.
    async fn replace_opportunity_stages(
        &mut self,
        version: i64,
        stages: &[StageConfig],
        now_ms: i64,
    ) -> StoreResult<StageSettings>;

    /// Inserts an opportunity with its lines and the first row of its stage history.
    async fn insert_opportunity(
        &mut self,
        new: &NewOpportunity<'_>,
        now_ms: i64,
    ) -> StoreResult<Opportunity>;
    /// Rewrites what a user writes about an opportunity, its lines replaced.
    async fn update_opportunity(
        &mut self,
        id: i64,
        version: i64,
        data: &OpportunityData,
        now_ms: i64,
    ) -> StoreResult<Opportunity>;
    /// Moves an opportunity to another stage (clearing a hand-set probability, recording the
    /// close on won or lost) and writes the stage history row.
    async fn set_opportunity_stage(
        &mut self,
        id: i64,
        version: i64,
        change: &StageMove,
        now_ms: i64,
    ) -> StoreResult<Opportunity>;
    /// Gives every open opportunity of `from_user` to `to_user` (a rep leaving); how many moved.
    async fn transfer_open_opportunities(
        &mut self,
        from_user: i64,
        to_user: i64,
        to_department: i64,
        now_ms: i64,
    ) -> StoreResult<u64>;
}
