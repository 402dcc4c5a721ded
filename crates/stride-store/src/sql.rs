//! A small query builder that numbers placeholders `$1, $2…`, which both SQLite and PostgreSQL read.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Arguments, Encode, Type};
use stride_app::ports::StoreResult;
use stride_app::{Reach, StoreError};

use crate::{backend, Dialect};

pub(crate) struct Sql {
    text: String,
    args: AnyArguments<'static>,
    n: usize,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: AnyArguments::default(),
            n: 0,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any>,
    {
        self.n += 1;
        push_numbered(&mut self.text, self.n);
        // Adding to AnyArguments only fails for types Any cannot carry, which `T` rules out.
        let _ = self.args.add(value);
        self
    }

    /// `col IN ($a, $b…)`; an empty list matches nothing.
    pub fn in_list(&mut self, column: &str, ids: &[i64]) -> &mut Self {
        if ids.is_empty() {
            return self.push("1 = 0");
        }
        self.push(column).push(" IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(*id);
        }
        self.push(")")
    }

    /// The data-scope condition: `owner_column` holds the owning user, `department_column` the department.
    pub fn reach(
        &mut self,
        reach: &Reach,
        owner_column: &str,
        department_column: &str,
    ) -> &mut Self {
        match reach {
            Reach::All => self.push("1 = 1"),
            Reach::Departments(ids) => self.in_list(department_column, ids),
            Reach::Owner {
                user_id,
                department_id,
            } => {
                if owner_column.is_empty() {
                    self.push(department_column)
                        .push(" = ")
                        .bind(*department_id)
                } else {
                    self.push(owner_column).push(" = ").bind(*user_id)
                }
            }
        }
    }

    pub async fn fetch_all(self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, StoreError> {
        sqlx::query_with(&self.text, self.args)
            .fetch_all(conn)
            .await
            .map_err(backend)
    }

    /// The `name` column of every row, e.g. the ids a query picked.
    pub async fn fetch_ids(
        self,
        conn: &mut AnyConnection,
        name: &str,
    ) -> Result<Vec<i64>, StoreError> {
        self.fetch_all(conn)
            .await?
            .iter()
            .map(|r| col(r, name))
            .collect()
    }

    pub async fn fetch_optional(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Option<AnyRow>, StoreError> {
        sqlx::query_with(&self.text, self.args)
            .fetch_optional(conn)
            .await
            .map_err(backend)
    }

    pub async fn fetch_one(self, conn: &mut AnyConnection) -> Result<AnyRow, StoreError> {
        sqlx::query_with(&self.text, self.args)
            .fetch_one(conn)
            .await
            .map_err(backend)
    }

    /// Runs the statement and returns how many rows it touched.
    pub async fn execute(self, conn: &mut AnyConnection) -> Result<u64, StoreError> {
        sqlx::query_with(&self.text, self.args)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(backend)
    }
}

/// Writes a transaction answers nobody about — an audit row, a notification, a request's new
/// state the caller already knows — held back and sent as one statement just before the
/// transaction's next statement or its commit. On SQLite every statement is a round trip to the
/// connection's worker thread made while holding the write turn; on PostgreSQL, one to the
/// server. SQLite runs the held statements one after the other in one query. PostgreSQL takes
/// them as the parts of one `WITH`, which see the same snapshot and not each other's work and
/// must not change one row twice, so there an update of a table sends the writes held for it.
pub(crate) struct Deferred {
    dialect: Dialect,
    held: Option<Sql>,
    /// The table each held statement writes, in order: as many as are held.
    tables: Vec<&'static str>,
}

/// At most this many statements are held: a use case writing an audit row per record of a long
/// list must not build one statement of thousands of placeholders (SQLite looks each numbered
/// one up by walking a list; PostgreSQL takes at most 65,535).
const MAX_HELD: usize = 16;

/// What a held statement does, to which table.
pub(crate) enum Held {
    Insert(&'static str),
    Update(&'static str),
}

impl Deferred {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            held: None,
            tables: Vec::new(),
        }
    }

    /// Holds back the statement `write` builds, a write nobody reads the outcome of. Returns
    /// the statements to send before it is held: the full batch, and on PostgreSQL, for an
    /// update, those held for its table.
    pub fn hold(&mut self, what: Held, write: impl FnOnce(&mut Sql)) -> Option<Sql> {
        let (table, clash) = match what {
            // An insert needs nothing held before it to be visible.
            Held::Insert(table) => (table, false),
            Held::Update(table) => (
                table,
                self.dialect == Dialect::Postgres && self.tables.contains(&table),
            ),
        };
        let first = if clash || self.tables.len() == MAX_HELD {
            self.take()
        } else {
            None
        };
        let q = self.held.get_or_insert_with(|| Sql::new(""));
        let n = self.tables.len();
        match self.dialect {
            Dialect::Sqlite if n > 0 => {
                q.push("; ");
            }
            Dialect::Sqlite => {}
            Dialect::Postgres => {
                q.push(if n == 0 { "WITH " } else { ", " })
                    .push(&format!("held_{n} AS ("));
            }
        }
        write(q);
        if self.dialect == Dialect::Postgres {
            q.push(")");
        }
        self.tables.push(table);
        first
    }

    /// The held statements as one, to be sent now; None when nothing is held.
    pub fn take(&mut self) -> Option<Sql> {
        let mut q = self.held.take()?;
        if self.dialect == Dialect::Postgres {
            // The parts of a `WITH` run whether or not the query reads them.
            q.push(" SELECT 1");
        }
        self.tables.clear();
        Some(q)
    }
}

/// `n` fresh ids for rows about to be inserted into `table` with explicit ids, so a multi-row
/// insert need not return its rows to tell which id each got. PostgreSQL draws them from the
/// table's identity sequence; SQLite (its `AUTOINCREMENT` tables never reuse an id) continues
/// after the highest id it ever gave, which holds because the caller is inside a write
/// transaction, so no other writer can take the same ids.
pub(crate) async fn reserve_ids(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &str,
    n: usize,
) -> StoreResult<Vec<i64>> {
    let n = i64::try_from(n).map_err(|e| StoreError::Backend(e.to_string()))?;
    match dialect {
        Dialect::Postgres => {
            // The sequence is looked up once, by a subquery PostgreSQL runs before the rest:
            // as a plain argument of `nextval` it was looked up again for every id (0.59 s
            // against 0.20 s for 100,000). The ids come back as one text, not one row each.
            let mut q = Sql::new(&format!(
                "SELECT string_agg(nextval((SELECT pg_get_serial_sequence('{table}', 'id'))\
                 ::regclass)::text, ',') AS ids FROM generate_series(1, "
            ));
            q.bind(n).push(")");
            let ids: Option<String> = col(&q.fetch_one(conn).await?, "ids")?;
            ids.iter()
                .flat_map(|ids| ids.split(','))
                .map(|id| {
                    id.parse()
                        .map_err(|e| StoreError::Backend(format!("a reserved id {id:?}: {e}")))
                })
                .collect()
        }
        Dialect::Sqlite => {
            let last: i64 = col(
                &Sql::new(&format!(
                    "SELECT MAX(COALESCE((SELECT MAX(id) FROM {table}), 0), \
                     COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)) AS id"
                ))
                .fetch_one(conn)
                .await?,
                "id",
            )?;
            Ok((last + 1..=last + n).collect())
        }
    }
}

/// Runs statements in order, building each next one while the one before runs: the database
/// (SQLite's worker thread, or the PostgreSQL server) works while this thread binds.
pub(crate) async fn execute_all(
    conn: &mut AnyConnection,
    mut statements: impl Iterator<Item = Batch>,
) -> StoreResult<()> {
    let mut next = statements.next();
    while let Some(statement) = next {
        // Biased: the statement is sent before the next one is built.
        let (ran, following) = tokio::join!(biased; statement.execute(&mut *conn), async {
            statements.next()
        });
        ran?;
        next = following;
    }
    Ok(())
}

/// Reads a column, turning a decoding failure into a store error that names the column.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Any> + Type<Any>,
{
    use sqlx::Row;
    row.try_get(name)
        .map_err(|e| StoreError::Backend(format!("column {name}: {e}")))
}

/// Booleans are stored as 0/1 integers on both databases.
pub(crate) fn flag(row: &AnyRow, name: &str) -> Result<bool, StoreError> {
    Ok(col::<i64>(row, name)? != 0)
}

/// An aggregate expression that turns the rows it sees into one JSON array text, an object per
/// row; `fields` lists the object's members as `'name', expression, …`. For a record's few
/// children read with it in one round trip, and for SQLite reads of many rows: sqlx's `Any`
/// driver builds every row's column list anew (a quarter of a SQLite board request went to
/// `malloc` for 400 rows), while one text parsed by serde costs little. On PostgreSQL, building
/// 400 objects costs the server more than the rows cost here (docs/benchmarks.md). An aggregate
/// keeps no order: sort what [`json`] reads, or use [`json_rows_in_order`].
pub(crate) fn json_rows_of(dialect: Dialect, fields: &str) -> String {
    json_rows(dialect, fields, "")
}

/// [`json_rows_of`] with the rows in the order of `order_by`.
pub(crate) fn json_rows_in_order(dialect: Dialect, fields: &str, order_by: &str) -> String {
    json_rows(dialect, fields, &format!(" ORDER BY {order_by}"))
}

fn json_rows(dialect: Dialect, fields: &str, order: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_group_array(json_object({fields}){order})"),
        Dialect::Postgres => {
            format!("COALESCE(json_agg(json_build_object({fields}){order}), '[]')::text")
        }
    }
}

/// Reads a column of JSON text: a stored document, or rows aggregated by [`json_rows_of`].
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    name: &str,
) -> Result<T, StoreError> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Backend(format!("column {name}: {e}")))
}

/// What builds a statement: [`Sql`] for one record, [`Batch`] for many.
pub(crate) trait Binds {
    fn push(&mut self, text: &str) -> &mut Self;
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any> + CopyText;
}

/// A value as a field of PostgreSQL's `COPY … FROM STDIN` text format: `\N` for NULL, and
/// backslash, tab, newline and carriage return escaped.
pub(crate) trait CopyText {
    fn copy_text(&self, out: &mut Vec<u8>);
}

impl CopyText for i64 {
    fn copy_text(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{self}");
    }
}

impl CopyText for str {
    fn copy_text(&self, out: &mut Vec<u8>) {
        for b in self.bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
    }
}

impl CopyText for String {
    fn copy_text(&self, out: &mut Vec<u8>) {
        self.as_str().copy_text(out)
    }
}

impl CopyText for &str {
    fn copy_text(&self, out: &mut Vec<u8>) {
        (**self).copy_text(out)
    }
}

impl<T: CopyText> CopyText for Option<T> {
    fn copy_text(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.copy_text(out),
            None => out.extend_from_slice(b"\\N"),
        }
    }
}

/// One `COPY … FROM STDIN` for [`crate::write::CopyTx::copy`]: the statement, its rows (see
/// [`CopyRows`]), and the rows of other tables they refer to by foreign key.
pub(crate) struct CopyIn {
    pub statement: String,
    pub rows: Vec<u8>,
    pub refers_to: References,
}

impl CopyIn {
    /// `COPY <into> FROM STDIN` (`into` names the table and its columns) with `rows`, each
    /// written by `write`, referring to nothing: see [`CopyIn::referring_to`].
    pub fn of<T>(
        into: &str,
        rows: impl IntoIterator<Item = T>,
        write: impl FnMut(&mut CopyRows, T),
    ) -> Self {
        Self {
            statement: format!("COPY {into} FROM STDIN"),
            rows: CopyRows::of(rows, write),
            refers_to: References::default(),
        }
    }

    /// These rows, referring to `references`.
    pub fn referring_to(self, references: References) -> Self {
        Self {
            refers_to: references,
            ..self
        }
    }
}

/// Rows of other tables that rows about to be written refer to by foreign key: each table with
/// the ids referred to, each once.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct References(pub Vec<(&'static str, Vec<i64>)>);

impl References {
    /// These references, and `ids` of `table`.
    pub fn to(mut self, table: &'static str, ids: impl IntoIterator<Item = i64>) -> Self {
        let mut ids: Vec<i64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            self.0.push((table, ids));
        }
        self
    }
}

/// Rows for PostgreSQL's `COPY … FROM STDIN`, written by the same functions that bind them
/// into an `INSERT`, so each table's column order lives in one place: values become
/// tab-separated fields, and the statement's own text (`push`) has no place in the data.
#[derive(Default)]
pub(crate) struct CopyRows {
    data: Vec<u8>,
    fields: usize,
}

impl CopyRows {
    /// `COPY`'s data for `rows`, each written by `write`.
    pub fn of<T>(
        rows: impl IntoIterator<Item = T>,
        mut write: impl FnMut(&mut Self, T),
    ) -> Vec<u8> {
        let mut copy = Self::default();
        for row in rows {
            write(&mut copy, row);
            copy.data.push(b'\n');
            copy.fields = 0;
        }
        copy.data
    }
}

impl Binds for CopyRows {
    fn push(&mut self, _text: &str) -> &mut Self {
        self
    }
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any> + CopyText,
    {
        if self.fields > 0 {
            self.data.push(b'\t');
        }
        value.copy_text(&mut self.data);
        self.fields += 1;
        self
    }
}

impl Binds for Sql {
    fn push(&mut self, text: &str) -> &mut Self {
        Sql::push(self, text)
    }
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any> + CopyText,
    {
        Sql::bind(self, value)
    }
}

/// A statement with thousands of values. SQLite finds a numbered placeholder's name by walking
/// a list, so binding thousands of `$N` takes quadratic time (a 500-lead insert took most of a
/// second); there the placeholders are plain `?`, bound in order. PostgreSQL reads `$N`.
pub(crate) struct Batch {
    text: String,
    args: AnyArguments<'static>,
    n: usize,
    dialect: Dialect,
    kept: bool,
}

impl Batch {
    /// Multi-row inserts of `rows`, `per_statement` to a statement, built one by one as they
    /// are asked for: `insert_into` (up to `VALUES `), then each row as `values` writes it,
    /// parenthesised. A full statement's text, the same every time, is kept prepared.
    pub fn inserts<T>(
        dialect: Dialect,
        insert_into: &'static str,
        rows: impl IntoIterator<Item = T>,
        per_statement: usize,
        mut values: impl FnMut(&mut Batch, T),
    ) -> impl Iterator<Item = Batch> {
        let mut rows = rows.into_iter().peekable();
        std::iter::from_fn(move || {
            rows.peek()?;
            let mut q = Batch::new(dialect, insert_into);
            let mut n = 0;
            for row in rows.by_ref().take(per_statement) {
                if n > 0 {
                    q.push(", ");
                }
                values(&mut q, row);
                n += 1;
            }
            Some(q.kept_if(n == per_statement))
        })
    }

    pub fn new(dialect: Dialect, text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: AnyArguments::default(),
            n: 0,
            dialect,
            kept: false,
        }
    }

    /// Keeps the prepared statement in the connection's cache when `repeated`: for a text run
    /// many times over in a row (a full chunk of an import), parsing and planning it once.
    /// Otherwise each text is big and seldom the same twice.
    pub fn kept_if(mut self, repeated: bool) -> Self {
        self.kept = repeated;
        self
    }

    pub async fn execute(self, conn: &mut AnyConnection) -> StoreResult<u64> {
        sqlx::query_with(&self.text, self.args)
            .persistent(self.kept)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(backend)
    }
}

/// Appends PostgreSQL's placeholder `$n`, without a string of its own: a statement of an
/// import has sixteen thousand.
fn push_numbered(text: &mut String, n: usize) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(text, "${n}");
}

impl Binds for Batch {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any> + CopyText,
    {
        self.n += 1;
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => push_numbered(&mut self.text, self.n),
        }
        // Adding to AnyArguments only fails for types Any cannot carry, which `T` rules out.
        let _ = self.args.add(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Batch, Binds, CopyIn, CopyRows, Deferred, Dialect, Held, References, Sql, MAX_HELD,
    };

    #[test]
    fn multi_row_inserts_fill_each_statement_and_keep_only_full_ones_prepared() {
        let sent: Vec<(String, bool)> = Batch::inserts(
            Dialect::Postgres,
            "INSERT INTO t (a) VALUES ",
            [1_i64, 2, 3, 4, 5],
            2,
            |q, a| {
                q.push("(").bind(a).push(")");
            },
        )
        .map(|q| (q.text, q.kept))
        .collect();
        assert_eq!(
            sent,
            [
                ("INSERT INTO t (a) VALUES ($1), ($2)".to_owned(), true),
                ("INSERT INTO t (a) VALUES ($1), ($2)".to_owned(), true),
                ("INSERT INTO t (a) VALUES ($1)".to_owned(), false),
            ]
        );
    }

    #[test]
    fn a_copy_names_each_row_it_refers_to_once_and_no_table_it_does_not() {
        let copy = CopyIn::of("t (a)", [1_i64, 2], |copy, a| {
            copy.bind(a);
        })
        .referring_to(
            References::default()
                .to("users", [3, 1, 3])
                .to("customers", [])
                .to("departments", [9]),
        );
        assert_eq!(copy.statement, "COPY t (a) FROM STDIN");
        assert_eq!(copy.rows, b"1\n2\n");
        assert_eq!(
            copy.refers_to,
            References(vec![("users", vec![1, 3]), ("departments", vec![9])])
        );
    }

    #[test]
    fn copy_rows_escape_what_the_text_format_reads_as_markup() {
        let rows = CopyRows::of([0, 1], |copy, row| {
            if row == 0 {
                copy.push("(")
                    .bind(7_i64)
                    .push(", ")
                    .bind("a\tb\nc\rd\\e \\N".to_owned())
                    .bind(None::<String>)
                    .bind(Some(-3_i64));
            } else {
                copy.bind("二");
            }
        });
        assert_eq!(
            String::from_utf8(rows).unwrap(),
            "7\ta\\tb\\nc\\rd\\\\e \\\\N\t\\N\t-3\n二\n"
        );
    }

    fn update(q: &mut Sql, value: i64) {
        q.push("UPDATE t SET a = ").bind(value);
    }

    fn insert(q: &mut Sql) {
        q.push("INSERT INTO u (b) VALUES (").bind(1_i64).push(")");
    }

    #[test]
    fn sqlite_sends_held_writes_in_turn_as_one_query() {
        let mut held = Deferred::new(Dialect::Sqlite);
        assert!(held.take().is_none(), "nothing held, nothing to send");
        assert!(held.hold(Held::Update("t"), |q| update(q, 1)).is_none());
        assert!(held.hold(Held::Insert("u"), insert).is_none());
        assert!(held.hold(Held::Update("t"), |q| update(q, 2)).is_none());
        let sent = held.take().map(|q| q.text);
        assert_eq!(
            sent.as_deref(),
            Some("UPDATE t SET a = $1; INSERT INTO u (b) VALUES ($2); UPDATE t SET a = $3")
        );
        assert!(held.take().is_none(), "sent once");
    }

    #[test]
    fn a_long_run_of_held_writes_goes_in_statements_of_at_most_max_held() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut held = Deferred::new(dialect);
            let sent: Vec<Sql> = (0..40)
                .filter_map(|_| held.hold(Held::Insert("u"), insert))
                .collect();
            assert_eq!(sent.len(), 2, "{dialect:?}: 16 + 16 sent, 8 still held");
            for q in &sent {
                assert_eq!(q.n, MAX_HELD, "{dialect:?}: one placeholder per insert");
            }
            assert_eq!(held.take().map(|q| q.n), Some(8));
        }
    }

    #[test]
    fn postgres_sends_held_writes_as_one_with_and_updates_a_table_only_after_its_held_writes() {
        let mut held = Deferred::new(Dialect::Postgres);
        assert!(held.hold(Held::Update("t"), |q| update(q, 1)).is_none());
        assert!(held.hold(Held::Insert("u"), insert).is_none());
        assert!(held.hold(Held::Insert("u"), insert).is_none());
        let first = held
            .hold(Held::Update("t"), |q| update(q, 2))
            .map(|q| q.text);
        assert_eq!(
            first.as_deref(),
            Some(
                "WITH held_0 AS (UPDATE t SET a = $1), held_1 AS (INSERT INTO u (b) VALUES ($2)), \
                 held_2 AS (INSERT INTO u (b) VALUES ($3)) SELECT 1"
            )
        );
        // An update after an insert into its table would not see the inserted row in one WITH.
        assert!(held.hold(Held::Insert("u"), insert).is_none());
        let then = held
            .hold(Held::Update("u"), |q| {
                q.push("UPDATE u SET b = 2");
            })
            .map(|q| q.text);
        assert_eq!(
            then.as_deref(),
            Some(
                "WITH held_0 AS (UPDATE t SET a = $1), held_1 AS (INSERT INTO u (b) VALUES ($2)) \
                 SELECT 1"
            )
        );
        let last = held.take().map(|q| q.text);
        assert_eq!(
            last.as_deref(),
            Some("WITH held_0 AS (UPDATE u SET b = 2) SELECT 1")
        );
    }
}
