//! Multi-row inserts behind [`BulkWrites`], for `stride bench-data` only.

use async_trait::async_trait;
use sqlx::any::AnyArguments;
use sqlx::Arguments;
use stride_app::ports::{BulkWrites, Cell};
use stride_app::StoreError;

use crate::sql::Sql;
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
        if self.1 == Dialect::Sqlite {
            sqlx::query(&format!("PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}"))
                .execute(&mut *self.0)
                .await
                .map_err(backend)?;
        }
        let per_statement = (MAX_BINDS / columns.len().max(1)).max(1);
        for chunk in rows.chunks(per_statement) {
            let (text, args) = insert_statement(self.1, table, columns, chunk);
            // Not kept in the statement cache: each text is used once or twice, and big.
            sqlx::query_with(&text, args)
                .persistent(false)
                .execute(&mut *self.0)
                .await
                .map_err(backend)?;
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

/// `INSERT INTO table (columns) VALUES (…), (…)` with every cell bound.
///
/// SQLite gets anonymous `?` placeholders: it files `$1…$N` as named parameters and looks each
/// one up in a list of the names so far, both when parsing and when binding, which makes a
/// statement with thirty thousand of them cost seconds. PostgreSQL only reads `$N`.
fn insert_statement(
    dialect: Dialect,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
) -> (String, AnyArguments<'static>) {
    let mut text = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut args = AnyArguments::default();
    let mut n = 0usize;
    for (r, row) in rows.iter().enumerate() {
        debug_assert_eq!(row.len(), columns.len());
        text.push_str(if r == 0 { "(" } else { ", (" });
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                text.push_str(", ");
            }
            n += 1;
            match dialect {
                Dialect::Sqlite => text.push('?'),
                Dialect::Postgres => {
                    text.push('$');
                    text.push_str(&n.to_string());
                }
            }
            // Adding to AnyArguments only fails for types Any cannot carry; these are all ints
            // and strings.
            let _ = match cell.clone() {
                Cell::Int(v) => args.add(v),
                Cell::MaybeInt(v) => args.add(v),
                Cell::Text(v) => args.add(v),
                Cell::MaybeText(v) => args.add(v),
            };
        }
        text.push(')');
    }
    (text, args)
}
