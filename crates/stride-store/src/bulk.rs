//! Multi-row inserts behind [`BulkWrites`], for `stride bench-data` only.

use async_trait::async_trait;
use stride_app::ports::{BulkWrites, Cell};
use stride_app::StoreError;

use crate::name_index::NameIndex;
use crate::sql::{Batch, Binds, Sql};
use crate::store::SqlTx;
use crate::{backend, Dialect};

/// Placeholders per statement: below SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;
/// SQLite page cache of the loading connection, in KiB (negative: a size, not a page count):
/// a million rows' worth of index pages stay in memory instead of spilling to the WAL
/// in the middle of every transaction.
const SQLITE_LOAD_CACHE_KIB: i64 = 1_048_576;

type Result<T> = std::result::Result<T, StoreError>;

#[async_trait]
impl BulkWrites for SqlTx {
    async fn bulk_insert(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
        rows: &[Vec<Cell>],
    ) -> Result<()> {
        if self.dialect == Dialect::Sqlite {
            sqlx::query(&format!("PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}"))
                .execute(self.conn().await?)
                .await
                .map_err(backend)?;
        }
        let per_statement = (MAX_BINDS / columns.len().max(1)).max(1);
        for chunk in rows.chunks(per_statement) {
            insert_statement(self.dialect, table, columns, chunk)
                .execute(self.conn().await?)
                .await?;
        }
        if let Some(names) = NameIndex::of_table(table) {
            let dialect = self.dialect;
            let named = named_rows(names, columns, rows)?;
            names.add(self.conn().await?, dialect, named).await?;
        }
        // PostgreSQL identity columns do not see explicit ids; move the generator past them so
        // rows the product inserts later get fresh ones. (SQLite takes max(id) + 1 by itself.)
        if self.dialect == Dialect::Postgres && columns.first() == Some(&"id") {
            Sql::new(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .fetch_one(self.conn().await?)
            .await?;
        }
        Ok(())
    }
}

/// Each row's id and name, for the search box's index of names: the rows must carry both.
fn named_rows<'a>(
    names: &NameIndex,
    columns: &[&str],
    rows: &'a [Vec<Cell>],
) -> Result<Vec<(i64, &'a str)>> {
    let at = |column: &str| {
        columns.iter().position(|c| *c == column).ok_or_else(|| {
            StoreError::Backend(format!("rows of {} need the column {column}", names.table))
        })
    };
    let (id, name) = (at("id")?, at(names.column)?);
    rows.iter()
        .map(|row| match (&row[id], &row[name]) {
            (Cell::Int(id), Cell::Text(name)) => Ok((*id, name.as_str())),
            _ => Err(StoreError::Backend(format!(
                "rows of {} need an id and a name",
                names.table
            ))),
        })
        .collect()
}

/// `INSERT INTO table (columns) VALUES (…), (…)` with every cell bound (see [`Batch`] for
/// why SQLite gets `?` placeholders).
fn insert_statement(dialect: Dialect, table: &str, columns: &[&str], rows: &[Vec<Cell>]) -> Batch {
    let mut q = Batch::new(
        dialect,
        &format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")),
    );
    for (r, row) in rows.iter().enumerate() {
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
    q
}
