//! Multi-row inserts behind [`BulkWrites`], for `stride bench-data` only.

use async_trait::async_trait;
use stride_app::ports::{BulkWrites, Cell};
use stride_app::StoreError;

use crate::sql::Sql;
use crate::store::SqlTx;
use crate::Dialect;

/// Placeholders per statement: below SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;

type Result<T> = std::result::Result<T, StoreError>;

#[async_trait]
impl BulkWrites for SqlTx {
    async fn bulk_insert(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
        rows: &[Vec<Cell>],
    ) -> Result<()> {
        let per_statement = (MAX_BINDS / columns.len().max(1)).max(1);
        for chunk in rows.chunks(per_statement) {
            let mut q = Sql::new(&format!(
                "INSERT INTO {table} ({}) VALUES ",
                columns.join(", ")
            ));
            for (r, row) in chunk.iter().enumerate() {
                debug_assert_eq!(row.len(), columns.len());
                q.push(if r == 0 { "(" } else { ", (" });
                for (c, cell) in row.iter().enumerate() {
                    if c > 0 {
                        q.push(", ");
                    }
                    match cell.clone() {
                        Cell::Int(v) => q.bind(v),
                        Cell::MaybeInt(v) => q.bind(v),
                        Cell::Text(v) => q.bind(v),
                        Cell::MaybeText(v) => q.bind(v),
                    };
                }
                q.push(")");
            }
            q.execute(&mut self.0).await?;
        }
        // PostgreSQL identity columns do not see explicit ids; move the generator past them so
        // rows the product inserts later get fresh ones. (SQLite takes max(id) + 1 by itself.)
        if self.1 == Dialect::Postgres && columns.first() == Some(&"id") {
            Sql::new(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .fetch_one(&mut self.0)
            .await?;
        }
        Ok(())
    }
}
