//! Persistence of contracts, their revisions, payment milestones and number series.

use async_trait::async_trait;

use crate::actor::Reach;
use crate::contracts::{
    Contract, ContractData, ContractFilter, ContractState, ContractVisibility, NegotiatedDeal,
    NewContract,
};
use crate::page::PageRequest;
use crate::ports::StoreResult;

/// Reads of contracts, outside a transaction.
#[async_trait]
pub trait ContractReads: Send + Sync {
    async fn contracts(
        &self,
        seen: &ContractVisibility,
        filter: &ContractFilter,
        page: PageRequest,
    ) -> StoreResult<Vec<Contract>>;
    async fn contract(&self, seen: &ContractVisibility, id: i64) -> StoreResult<Option<Contract>>;
    /// Every revision of the contract `root_id` started, newest first.
    async fn contract_revisions(&self, root_id: i64) -> StoreResult<Vec<Contract>>;
    /// The number pattern and its settings version.
    async fn contract_number_pattern(&self) -> StoreResult<(String, i64)>;
    /// An opportunity as negotiated, if it is in `reach`.
    async fn negotiated_deal(
        &self,
        reach: &Reach,
        opportunity_id: i64,
    ) -> StoreResult<Option<NegotiatedDeal>>;
}

/// Writes of contracts, inside a [`crate::Tx`].
#[async_trait]
pub trait ContractWrites: Send {
    /// The next sequence number of a series, unique however many drafts start at once.
    async fn next_contract_seq(&mut self, series: &str) -> StoreResult<i64>;
    async fn insert_contract(&mut self, c: &NewContract, now_ms: i64) -> StoreResult<Contract>;
    /// Gives a contract inserted in this transaction its number.
    async fn set_contract_number(&mut self, id: i64, number: &str) -> StoreResult<()>;
    async fn contract_for_update(&mut self, id: i64) -> StoreResult<Option<Contract>>;
    async fn update_contract(
        &mut self,
        id: i64,
        version: i64,
        data: &ContractData,
        now_ms: i64,
    ) -> StoreResult<Contract>;
    /// Moves a contract through its life (review, signing, archiving) and bumps its version.
    async fn set_contract_state(
        &mut self,
        id: i64,
        state: &ContractState,
        now_ms: i64,
    ) -> StoreResult<Contract>;
    async fn set_contract_number_pattern(
        &mut self,
        pattern: &str,
        version: i64,
        now_ms: i64,
    ) -> StoreResult<i64>;
    /// Whether an attachment hangs on this contract.
    async fn attachment_on(&mut self, attachment_id: i64, contract_id: i64) -> StoreResult<bool>;
    /// Signed contracts past their archiving deadline, not flagged before; marks them flagged:
    /// (contract, owner, drafter, number).
    async fn claim_late_archives(
        &mut self,
        now_ms: i64,
    ) -> StoreResult<Vec<(i64, i64, Option<i64>, String)>>;
}
