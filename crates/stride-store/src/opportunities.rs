//! Opportunity persistence (opportunities).

use async_trait::async_trait;
use stride_app::ports::{OpportunityReads, OpportunityWrites};

use crate::store::SqlTx;
use crate::SqlStore;

#[async_trait]
impl OpportunityReads for SqlStore {}

#[async_trait]
impl OpportunityWrites for SqlTx {}
