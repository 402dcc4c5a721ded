//! Bulk inserts for the hidden `stride bench-data` command only: hundreds of thousands of
//! synthetic rows in seconds. No product use case may call this: it checks nothing, writes no
//! audit row and leaves every rule to the caller.

use async_trait::async_trait;

use crate::ports::StoreResult;

/// One value of a bulk-inserted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Int(i64),
    MaybeInt(Option<i64>),
    Text(String),
    MaybeText(Option<String>),
}

/// Bulk writes, inside a [`crate::Tx`].
#[async_trait]
pub trait BulkWrites: Send {
    /// Inserts `rows` (each in `columns` order) into `table` with multi-row statements. When
    /// the rows carry explicit ids, the table's id generator is moved past them.
    async fn bulk_insert(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
        rows: &[Vec<Cell>],
    ) -> StoreResult<()>;
}
