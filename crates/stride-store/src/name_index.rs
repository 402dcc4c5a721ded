//! The search box's index of names (CUST-6, migration `0021_name_bigrams`): every searchable
//! name is also kept as the set of its two-character pieces (bigrams) that hold a character
//! beyond ASCII, lower-cased as the search compares them. A name containing the words contains
//! every bigram of the words, so the records holding one of them are a superset of the matches.
//!
//! The store writes a name's bigrams beside every write of the name, in the same transaction,
//! with [`bigrams`], the rule the search splits its words by, so the index and the search
//! cannot disagree. Migration 0025 dropped the triggers that kept them before: they wrote the rule
//! again in each dialect's SQL, and a lead import spent more on them than on writing the same
//! bigrams from here (docs/benchmarks.md, 2026-12-07).

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use stride_app::ports::StoreResult;

use crate::org::versioned;
use crate::sql::{col, execute_all, Batch, Binds, CopyIn, Held, Sql};
use crate::store::SqlTx;
use crate::Dialect;

/// One kind of record whose name the search box finds.
pub(crate) struct NameIndex {
    /// The records' table and its name column.
    pub table: &'static str,
    pub column: &'static str,
    /// The bigram table: `(gram, record_id)`, keyed in that order.
    pub bigrams: &'static str,
}

pub(crate) const CUSTOMER_NAMES: NameIndex = NameIndex {
    table: "customers",
    column: "name",
    bigrams: "customer_name_bigrams",
};

pub(crate) const CONTACT_NAMES: NameIndex = NameIndex {
    table: "contacts",
    column: "name",
    bigrams: "contact_name_bigrams",
};

pub(crate) const LEAD_NAMES: NameIndex = NameIndex {
    table: "leads",
    column: "company",
    bigrams: "lead_name_bigrams",
};

/// Rows per statement.
const BIGRAMS_PER_INSERT: usize = 10_000;

/// Bigrams of the legal forms most company names end with (有限公司, 股份有限公司), which the
/// index does not keep: they were a quarter of a lead import's postings (migration
/// `0027_name_bigrams_without_legal_forms`), and as the rarest bigram of a search they would
/// pick nearly every company. A search whose words hold no other bigram reads the scope.
const UNKEPT: [&str; 5] = ["有限", "限公", "公司", "股份", "份有"];

/// The distinct bigrams of `text` that the index keeps (those with a character beyond ASCII,
/// except the legal forms' [`UNKEPT`]), lower-cased, sorted. ASCII words are searched by
/// scanning, as they may match e-mail and phone keys too. A word holding any bigram the index
/// keeps can be found through it: every name containing the word holds it too.
pub(crate) fn bigrams(text: &str) -> Vec<String> {
    if text.is_ascii() {
        return Vec::new();
    }
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let grams: BTreeSet<String> = chars
        .windows(2)
        .map(|w| w.iter().collect::<String>())
        .filter(|g| !g.is_ascii() && !UNKEPT.contains(&g.as_str()))
        .collect();
    grams.into_iter().collect()
}

/// The (bigram, record) postings of records' names.
fn postings<'a>(records: impl IntoIterator<Item = (i64, &'a str)>) -> Vec<(String, i64)> {
    records
        .into_iter()
        .flat_map(|(id, name)| bigrams(name).into_iter().map(move |g| (g, id)))
        .collect()
}

impl NameIndex {
    /// The registry of indexed tables, for writers that know only a table's name (bulk loads).
    pub fn of_table(table: &str) -> Option<&'static NameIndex> {
        [&CUSTOMER_NAMES, &CONTACT_NAMES, &LEAD_NAMES]
            .into_iter()
            .find(|i| i.table == table)
    }

    /// Statements adding the bigrams of new records' names, built when first asked for: in a
    /// chain of statements run by `sql::execute_all` (a bulk load), while the one before runs.
    pub fn inserts<'a, I>(
        &'a self,
        dialect: Dialect,
        records: I,
    ) -> impl Iterator<Item = Batch> + 'a
    where
        I: IntoIterator<Item = (i64, &'a str)> + 'a,
    {
        std::iter::once_with(move || self.row_inserts(dialect, postings(records))).flatten()
    }

    /// The bigrams of many new records, for PostgreSQL's `COPY`, in the index's own order.
    /// Postings refer to no row by foreign key: a search reads records through them.
    pub fn copy<'a, I>(&self, records: I) -> CopyIn
    where
        I: IntoIterator<Item = (i64, &'a str)>,
    {
        let mut rows = postings(records);
        rows.sort_unstable();
        CopyIn::of(
            &format!("{} (gram, record_id)", self.bigrams),
            rows,
            |copy, (gram, id)| {
                copy.bind(gram).bind(id);
            },
        )
    }

    /// Statements inserting `rows`, in the index's own order, (gram, record), so that the ones
    /// landing on one page of the index follow each other.
    fn row_inserts(&self, dialect: Dialect, mut rows: Vec<(String, i64)>) -> Vec<Batch> {
        rows.sort_unstable();
        rows.chunks(BIGRAMS_PER_INSERT)
            .map(|chunk| {
                let mut q = Batch::new(dialect, "");
                self.push_insert(&mut q, dialect, chunk);
                q.kept_if(true)
            })
            .collect()
    }

    /// Writes into `q` the statement inserting `rows`, as one JSON array of strings, each a
    /// bigram followed by its record's id ("华为42"): one value to bind instead of two per row,
    /// which cost the database more than the rows, and flat strings, which it reads once (a
    /// pair as a nested array was parsed again for each of its two halves). A bigram is always
    /// two characters, so the id starts at the third.
    fn push_insert(&self, q: &mut impl Binds, dialect: Dialect, rows: &[(String, i64)]) {
        q.push(&format!("INSERT INTO {} (gram, record_id) ", self.bigrams));
        let postings: Vec<String> = rows.iter().map(|(g, id)| format!("{g}{id}")).collect();
        // Strings only: serializing them cannot fail.
        let json = serde_json::to_string(&postings).unwrap_or_default();
        match dialect {
            Dialect::Sqlite => q
                .push("SELECT substr(value, 1, 2), CAST(substr(value, 3) AS INTEGER) FROM json_each(")
                .bind(json)
                .push(")"),
            Dialect::Postgres => q
                .push("SELECT left(p, 2), CAST(substr(p, 3) AS BIGINT) FROM json_array_elements_text(CAST(")
                .bind(json)
                .push(" AS JSON)) AS p"),
        };
    }

    /// Holds back, in `tx`, the insert of a new record's bigrams: nobody reads them within the
    /// transaction, so they go with its next statement or its commit (see [`SqlTx::hold`]).
    pub async fn hold_new(&self, tx: &mut SqlTx, id: i64, name: &str) -> StoreResult<()> {
        let rows: Vec<(String, i64)> = bigrams(name).into_iter().map(|g| (g, id)).collect();
        if rows.is_empty() {
            return Ok(());
        }
        let dialect = tx.dialect;
        tx.hold(Held::Insert(self.bigrams), |q| {
            self.push_insert(q, dialect, &rows)
        })
        .await
    }

    /// Indexes the names of records just inserted.
    pub async fn add<'a, I>(
        &'a self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        records: I,
    ) -> StoreResult<()>
    where
        I: IntoIterator<Item = (i64, &'a str)> + Send + 'a,
    {
        execute_all(conn, self.inserts(dialect, records)).await
    }

    /// Runs `update`, a write of record `id` at `version` that sets its name to `name` (and
    /// bumps the version), and moves the record's bigrams with the name. A record no longer at
    /// that version answers stale; a missing one, not found.
    pub async fn versioned_update(
        &self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        (id, version): (i64, i64),
        name: &str,
        update: Sql,
    ) -> StoreResult<()> {
        let old = self.name_at(&mut *conn, id, version).await?;
        let touched = update.execute(&mut *conn).await?;
        versioned(&mut *conn, touched, self.table, id).await?;
        match old {
            Some(old) => self.rename(conn, dialect, id, &old, name).await,
            None => Ok(()),
        }
    }

    /// The stored name of record `id` at `version`, read before a write that may rename it;
    /// `None` when the record is not at that version (the write then says why).
    async fn name_at(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        version: i64,
    ) -> StoreResult<Option<String>> {
        let mut q = Sql::new(&format!(
            "SELECT {} AS name FROM {} WHERE id = ",
            self.column, self.table
        ));
        q.bind(id).push(" AND version = ").bind(version);
        q.fetch_optional(conn)
            .await?
            .map(|row| col(&row, "name"))
            .transpose()
    }

    /// Moves record `id`'s bigrams from its `old` name to its `new` one: only the pieces that
    /// differ are deleted and inserted.
    async fn rename(
        &self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        id: i64,
        old: &str,
        new: &str,
    ) -> StoreResult<()> {
        if old == new {
            return Ok(());
        }
        let (before, after) = (bigrams(old), bigrams(new));
        let gone = before.iter().filter(|g| !after.contains(g));
        self.delete(&mut *conn, id, gone.cloned().collect()).await?;
        let added: Vec<(String, i64)> = after
            .into_iter()
            .filter(|g| !before.contains(g))
            .map(|g| (g, id))
            .collect();
        execute_all(conn, self.row_inserts(dialect, added).into_iter()).await
    }

    /// Removes the bigrams of record `id`, deleted under `name`.
    pub async fn remove(&self, conn: &mut AnyConnection, id: i64, name: &str) -> StoreResult<()> {
        self.delete(conn, id, bigrams(name)).await
    }

    async fn delete(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        grams: Vec<String>,
    ) -> StoreResult<()> {
        if grams.is_empty() {
            return Ok(());
        }
        let mut q = Sql::new(&format!("DELETE FROM {} WHERE record_id = ", self.bigrams));
        q.bind(id).push(" AND gram IN (");
        for (i, g) in grams.into_iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(g);
        }
        q.push(")");
        q.execute(conn).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::bigrams;

    #[test]
    fn bigrams_keep_pieces_beyond_ascii_lower_cased_once_each() {
        assert_eq!(bigrams("华为华为"), vec!["为华", "华为"]);
        assert_eq!(bigrams("ACME 上海 Ltd."), vec![" 上", "上海", "海 "]);
        assert_eq!(bigrams("BYTEDANCE字节"), vec!["e字", "字节"]);
        assert!(bigrams("Baidu Netcom").is_empty());
        assert!(bigrams("华").is_empty());
        assert_eq!(
            bigrams("华为技术有限公司"),
            vec!["为技", "华为", "技术", "术有"]
        );
        assert_eq!(
            bigrams("万科企业股份有限公司"),
            vec!["万科", "业股", "企业", "科企"]
        );
        assert!(bigrams("有限公司").is_empty());
    }
}
