//! Contract persistence (contracts).

use async_trait::async_trait;
use stride_app::ports::{ContractReads, ContractWrites};

use crate::store::SqlTx;
use crate::SqlStore;

#[async_trait]
impl ContractReads for SqlStore {}

#[async_trait]
impl ContractWrites for SqlTx {}
