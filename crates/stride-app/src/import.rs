//! Importing leads from CSV or XLSX (LEAD-1, API-3): headers in English or Chinese map themselves, others
//! through an explicit mapping; every row is checked first and the file is imported whole or not
//! at all, with a report of each refused row and why.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};
use tokio::sync::{mpsc, oneshot};

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::customers::MatchKeys;
use crate::error::{AppError, AppResult};
use crate::leads::{checked_lead, new_lead_state, Lead, LeadData, LeadState};
use crate::ports::{ImportKeys, LeadBatch, StoredKey, StoredRecord, Tx};
use crate::App;

/// Largest file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// Most rows in one import.
pub const MAX_IMPORT_ROWS: usize = 100_000;
/// Most columns in a file.
pub const MAX_IMPORT_COLUMNS: usize = 100;

/// The lead fields a column can fill.
pub const LEAD_FIELDS: [&str; 12] = [
    "company",
    "contact_name",
    "title",
    "phone",
    "email",
    "source",
    "industry",
    "region",
    "credit_code",
    "need",
    "budget",
    "notes",
];

/// Header names that map themselves, lowercased.
const HEADER_NAMES: &[(&str, &str)] = &[
    ("company", "company"),
    ("company name", "company"),
    ("公司", "company"),
    ("公司名称", "company"),
    ("客户名称", "company"),
    ("单位名称", "company"),
    ("contact", "contact_name"),
    ("contact name", "contact_name"),
    ("name", "contact_name"),
    ("联系人", "contact_name"),
    ("姓名", "contact_name"),
    ("title", "title"),
    ("job title", "title"),
    ("职位", "title"),
    ("职务", "title"),
    ("phone", "phone"),
    ("mobile", "phone"),
    ("tel", "phone"),
    ("电话", "phone"),
    ("手机", "phone"),
    ("联系电话", "phone"),
    ("email", "email"),
    ("e-mail", "email"),
    ("邮箱", "email"),
    ("电子邮件", "email"),
    ("source", "source"),
    ("来源", "source"),
    ("线索来源", "source"),
    ("industry", "industry"),
    ("行业", "industry"),
    ("region", "region"),
    ("地区", "region"),
    ("区域", "region"),
    ("省份", "region"),
    ("credit code", "credit_code"),
    ("credit_code", "credit_code"),
    ("统一社会信用代码", "credit_code"),
    ("信用代码", "credit_code"),
    ("need", "need"),
    ("needs", "need"),
    ("需求", "need"),
    ("budget", "budget"),
    ("预算", "budget"),
    ("notes", "notes"),
    ("note", "notes"),
    ("备注", "notes"),
];

/// Source values people write, in both languages.
const SOURCE_NAMES: &[(&str, &str)] = &[
    ("官网", "website"),
    ("网站", "website"),
    ("展会", "exhibition"),
    ("推荐", "referral"),
    ("转介绍", "referral"),
    ("合作伙伴", "partner"),
    ("渠道", "partner"),
    ("社交媒体", "social_media"),
    ("微信", "social_media"),
    ("陌拜", "cold_call"),
    ("电话", "cold_call"),
    ("活动", "campaign"),
    ("市场活动", "campaign"),
    ("其他", "other"),
    ("social media", "social_media"),
    ("cold call", "cold_call"),
];

/// Which file column filled which lead field.
pub type Mapping = Vec<(String, String)>;

/// One refused row (1-based, counting the header as row 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
    /// For a duplicate: the record or earlier row it looks like.
    pub duplicate_of: Option<DuplicateOf>,
}

/// What an imported row looks like a duplicate of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum DuplicateOf {
    Customer(i64),
    /// An open lead.
    Lead(i64),
    /// An earlier row of the same file.
    Row(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    /// Nothing was written: a dry run, or refused rows.
    pub dry_run: bool,
    pub problems: Vec<RowProblem>,
    /// Rows imported although they look like a stored record or an earlier row (only when
    /// duplicates are allowed; otherwise they are problems).
    pub duplicates: Vec<RowProblem>,
    /// Which file column filled which field.
    pub mapping: Mapping,
}

/// How columns map to fields: automatic, overridden by `column=field` pairs.
pub fn column_mapping(
    headers: &[String],
    overrides: &[(String, String)],
) -> AppResult<Vec<Option<&'static str>>> {
    let mut mapping: Vec<Option<&'static str>> = headers
        .iter()
        .map(|h| {
            let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
            HEADER_NAMES
                .iter()
                .find(|(name, _)| *name == h)
                .map(|(_, f)| *f)
        })
        .collect();
    for (column, field) in overrides {
        let target = LEAD_FIELDS
            .iter()
            .find(|f| *f == field)
            .copied()
            .ok_or_else(|| {
                AppError::field(
                    "map",
                    "unknown_field",
                    format!("`{field}` is not a lead field ({})", LEAD_FIELDS.join(", ")),
                )
            })?;
        let index = headers
            .iter()
            .position(|h| h.trim() == column)
            .ok_or_else(|| {
                AppError::field(
                    "map",
                    "unknown_column",
                    format!("the file has no column `{column}`"),
                )
            })?;
        mapping[index] = Some(target);
    }
    if !mapping.contains(&Some("company")) {
        return Err(AppError::field(
            "file",
            "no_company",
            "no column maps to company (公司名称); use --map COLUMN=company",
        ));
    }
    Ok(mapping)
}

/// Largest total a zipped XLSX may unpack to: a guard against zip bombs.
const MAX_XLSX_UNPACKED: u64 = 100 * 1024 * 1024;

/// An import file, checked whole and read row by row: XLSX (recognised by its zip signature)
/// or UTF-8 CSV. A malformed or oversized file is refused, with the row at fault, before any row
/// is read; the rows are then built as they are taken (on the thread validating them, while the
/// rows before are written), so a large file is never held as rows all at once.
pub struct Table {
    /// Which file column filled which field.
    pub mapping: Mapping,
    /// How many rows follow the header.
    pub len: usize,
    fields: Vec<Option<&'static str>>,
    lines: Lines,
}

enum Lines {
    Csv(csv::ByteRecordsIntoIter<std::io::Cursor<Vec<u8>>>),
    Xlsx(std::vec::IntoIter<Vec<String>>),
}

/// One row: (field, value) in column order, the values trimmed and the empty ones left out.
/// A row has a dozen fields at most, which a list finds sooner than a map would.
#[derive(Debug, Default)]
pub struct Row(Vec<(&'static str, String)>);

impl Row {
    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }

    /// The value of `field`; where two columns fill it, the later one's.
    fn take(&mut self, field: &str) -> Option<String> {
        let at = self.0.iter().rposition(|(f, _)| *f == field)?;
        Some(std::mem::take(&mut self.0[at].1))
    }
}

impl FromIterator<(&'static str, String)> for Row {
    fn from_iter<I: IntoIterator<Item = (&'static str, String)>>(values: I) -> Self {
        Self(values.into_iter().collect())
    }
}

impl Table {
    pub fn read(bytes: Vec<u8>, overrides: &[(String, String)]) -> AppResult<Self> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(AppError::field(
                "file",
                "too_large",
                format!("at most {} MiB", MAX_IMPORT_BYTES / 1024 / 1024),
            ));
        }
        let (headers, len, lines) = if bytes.starts_with(b"PK\x03\x04") {
            let mut table = xlsx_table(&bytes)?.into_iter();
            let headers = table.next();
            (headers, table.len(), Lines::Xlsx(table))
        } else {
            let bom = if bytes.starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                0
            };
            let lines = csv_lines(&bytes[bom..])?;
            let mut cursor = std::io::Cursor::new(bytes);
            cursor.set_position(bom as u64);
            let mut records = csv_reader(cursor).into_byte_records();
            // Checked by `csv_lines`: every record reads, as UTF-8.
            let headers = records.next().and_then(Result::ok).map(|r| {
                r.iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect()
            });
            (headers, lines.saturating_sub(1), Lines::Csv(records))
        };
        let headers =
            headers.ok_or_else(|| AppError::field("file", "empty", "the file is empty"))?;
        let fields = column_mapping(&headers, overrides)?;
        let mapping = headers
            .iter()
            .zip(&fields)
            .filter_map(|(h, f)| f.map(|f| (h.clone(), f.to_owned())))
            .collect();
        Ok(Self {
            mapping,
            len,
            fields,
            lines,
        })
    }

    /// A row of `values`, each turned into text by `text` only if its column maps to a field.
    fn row<V>(&self, values: impl Iterator<Item = V>, text: impl Fn(V) -> String) -> Row {
        values
            .zip(&self.fields)
            .filter_map(|(value, field)| Some((field.as_ref().copied()?, trimmed(text(value)))))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }
}

impl Iterator for Table {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        match &mut self.lines {
            // Checked whole before: every record reads, as UTF-8.
            Lines::Csv(records) => {
                let record = records.next()?.ok()?;
                Some(self.row(record.iter(), |v| String::from_utf8_lossy(v).into_owned()))
            }
            Lines::Xlsx(lines) => {
                let line = lines.next()?;
                Some(self.row(line.into_iter(), |v| v))
            }
        }
    }
}

/// `value` without surrounding white space, reusing its allocation when it has none.
fn trimmed(value: String) -> String {
    match value.trim() {
        t if t.len() == value.len() => value,
        t => t.to_owned(),
    }
}

fn too_many_columns(n: usize) -> AppError {
    AppError::field(
        "file",
        "too_many_columns",
        format!("{n} columns; at most {MAX_IMPORT_COLUMNS}"),
    )
}

fn too_many_rows() -> AppError {
    AppError::field(
        "file",
        "too_many_rows",
        format!("at most {MAX_IMPORT_ROWS} rows"),
    )
}

fn not_utf8(row: usize) -> AppError {
    AppError::field(
        "file",
        "encoding",
        format!("row {row} is not UTF-8; save the file as UTF-8"),
    )
}

fn csv_reader<R: std::io::Read>(from: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(from)
}

/// Reads every record of a CSV file without keeping any, and counts them (the header too):
/// a malformed file is refused whole, with its row, before any row is used.
fn csv_lines(bytes: &[u8]) -> AppResult<usize> {
    let mut reader = csv_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut lines = 0;
    loop {
        let row = lines + 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(lines),
            Ok(true) => {}
            Err(e) => return Err(csv_error(row, &e)),
        }
        if record.len() > MAX_IMPORT_COLUMNS {
            return Err(too_many_columns(record.len()));
        }
        if lines > MAX_IMPORT_ROWS {
            return Err(too_many_rows());
        }
        if record.iter().any(|v| std::str::from_utf8(v).is_err()) {
            return Err(not_utf8(row));
        }
        lines += 1;
    }
}

/// The first sheet of a workbook. The zip directory is checked before anything is unpacked, so
/// a small file that would unpack to gigabytes is refused; external XML entities are never read.
fn xlsx_table(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    use calamine::Reader;
    let broken = |why: String| {
        AppError::field(
            "file",
            "malformed",
            format!("not a readable XLSX file: {why}"),
        )
    };
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| broken(e.to_string()))?;
    let mut unpacked: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| broken(e.to_string()))?;
        unpacked = unpacked.saturating_add(entry.size());
    }
    if zip.len() > 1000 || unpacked > MAX_XLSX_UNPACKED {
        return Err(AppError::field(
            "file",
            "too_large",
            format!(
                "the workbook unpacks to more than {} MiB",
                MAX_XLSX_UNPACKED / 1024 / 1024
            ),
        ));
    }
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| broken(e.to_string()))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| broken("it has no sheet".into()))?
        .map_err(|e| broken(e.to_string()))?;
    if sheet.width() > MAX_IMPORT_COLUMNS {
        return Err(too_many_columns(sheet.width()));
    }
    if sheet.height() > MAX_IMPORT_ROWS + 1 {
        return Err(too_many_rows());
    }
    Ok(sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect())
}

fn csv_error(row: usize, e: &csv::Error) -> AppError {
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!(
                "row {row} has {len} fields but the header has {expected_len} (an unclosed quote?)"
            )
        }
        csv::ErrorKind::Utf8 { .. } => format!("row {row} is not UTF-8; save the file as UTF-8"),
        _ => format!("row {row} cannot be read: {e}"),
    };
    AppError::field("file", "malformed", what)
}

fn lead_from(mut values: Row) -> LeadData {
    let explicit_need = values.has("need");
    let budget_known = values.has("budget");
    let mut get = |f: &str| values.take(f);
    let source = get("source").unwrap_or_else(|| "other".into());
    let source = SOURCE_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(source.trim()))
        .map(|(_, code)| (*code).to_owned())
        .unwrap_or_else(|| source.to_lowercase());
    LeadData {
        company: get("company").unwrap_or_default(),
        contact_name: get("contact_name"),
        title: get("title"),
        phone: get("phone"),
        email: get("email"),
        source,
        industry: get("industry"),
        region: get("region"),
        credit_code: get("credit_code"),
        need: get("need"),
        budget: get("budget"),
        explicit_need,
        budget_known,
        notes: get("notes"),
        ..Default::default()
    }
}

/// Leads written per round of statements: bounds the memory the stored copies and their audit
/// rows take, and moves the progress bar.
const WRITE_BATCH: usize = 2_000;

/// Leads about to be written together: states given, stored copies made for the audit rows.
fn prepared_batch(
    ids: &[i64],
    leads: impl Iterator<Item = LeadData>,
    state_of: impl Fn(&LeadData) -> LeadState,
    actor: &Actor,
    now: i64,
) -> LeadBatch {
    let leads: Vec<_> = leads
        .map(|data| {
            let state = state_of(&data);
            (data, state)
        })
        .collect();
    let audit = ids
        .iter()
        .zip(&leads)
        .map(|(&id, (data, state))| {
            let stored = Lead::inserted(id, data.clone(), state.clone(), now);
            NewAuditEntry::created(actor, RecordKind::Lead, id, &stored, now)
        })
        .collect();
    LeadBatch {
        ids: ids.to_vec(),
        leads,
        audit,
    }
}

/// A row that passed its own checks, with the keys duplicate detection compares.
struct CheckedRow {
    row: usize,
    data: LeadData,
    keys: MatchKeys,
}

impl CheckedRow {
    /// (name|phone|email|credit_code, key) for each key the row has.
    fn keys(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("name", Some(self.keys.name.as_str())),
            ("phone", self.keys.phone.as_deref()),
            ("email", self.keys.email.as_deref()),
            ("credit_code", self.keys.credit_code.as_deref()),
        ]
        .into_iter()
        .filter_map(|(on, key)| Some((on, key?)))
    }
}

/// The first stored customer and the first stored lead holding a key.
type FirstHolders = (Option<i64>, Option<i64>);

/// The field a key comes from, as the report names it.
fn field_of(matched_on: &str) -> &str {
    if matched_on == "name" {
        "company"
    } else {
        matched_on
    }
}

/// Rows checked together: their keys are looked up in one round of queries, and their leads go
/// to be written while the next rows are checked.
const CHECK_CHUNK: usize = 2 * WRITE_BATCH;

/// Validates a chunk of rows, the first of them being file row `first_row` (the header is row 1).
fn checked_rows(rows: Vec<Row>, first_row: usize) -> AppResult<(Vec<CheckedRow>, Vec<RowProblem>)> {
    let mut checked = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (i, values) in rows.into_iter().enumerate() {
        let row = first_row + i;
        match checked_lead(lead_from(values)) {
            Ok(data) => {
                let keys = data.as_customer().keys();
                checked.push(CheckedRow { row, data, keys });
            }
            Err(AppError::Validation(errors)) => {
                problems.extend(errors.into_iter().map(|e| RowProblem {
                    row,
                    field: e.field,
                    code: e.code,
                    message: e.message,
                    duplicate_of: None,
                }))
            }
            Err(e) => return Err(e),
        }
    }
    Ok((checked, problems))
}

/// Every key of the rows, once, by kind.
fn wanted_keys(checked: &[CheckedRow]) -> ImportKeys {
    let mut wanted: [Vec<&str>; 4] = Default::default();
    for row in checked {
        for (matched_on, key) in row.keys() {
            let list = match matched_on {
                "name" => &mut wanted[0],
                "phone" => &mut wanted[1],
                "email" => &mut wanted[2],
                _ => &mut wanted[3],
            };
            list.push(key);
        }
    }
    let [names, phones, emails, credit_codes] = wanted.map(|mut list| {
        list.sort_unstable();
        list.dedup();
        list.into_iter().map(str::to_owned).collect()
    });
    ImportKeys {
        names,
        phones,
        emails,
        credit_codes,
    }
}

/// Kinds of key a row may hold: name, phone, e-mail, credit code.
const KEY_KINDS: usize = 4;

/// The row that first held each key, over the chunks of one file.
type FirstRows = HashMap<(&'static str, String), usize>;

/// Compares the rows' keys with the stored records found for them and with earlier rows. Rows
/// that look like duplicates are refused, or with `allow` kept and listed; returns the rows to
/// import.
fn sort_out_duplicates(
    checked: Vec<CheckedRow>,
    found: &[StoredKey],
    first_row: &mut FirstRows,
    allow: bool,
    report: &mut ImportReport,
) -> Vec<LeadData> {
    // The first customer and the first lead holding each key.
    let mut stored: HashMap<(&str, &str), FirstHolders> = HashMap::new();
    for hit in found {
        let slot = stored
            .entry((hit.matched_on, hit.key.as_str()))
            .or_default();
        match hit.record {
            StoredRecord::Customer(id) => {
                slot.0.get_or_insert(id);
            }
            StoredRecord::Lead(id) => {
                slot.1.get_or_insert(id);
            }
        }
    }
    let mut leads = Vec::with_capacity(checked.len());
    for row in checked {
        let mut duplicates = Vec::new();
        for (matched_on, key) in row.keys() {
            let field = field_of(matched_on);
            let (customer, lead) = stored.get(&(matched_on, key)).copied().unwrap_or_default();
            if let Some(id) = customer {
                duplicates.push((
                    field,
                    format!("a customer has the same {matched_on}"),
                    DuplicateOf::Customer(id),
                ));
            }
            if let Some(id) = lead {
                duplicates.push((
                    field,
                    format!("lead #{id} has the same {field}"),
                    DuplicateOf::Lead(id),
                ));
            }
            match first_row.entry((matched_on, key.to_owned())) {
                Entry::Occupied(first) => duplicates.push((
                    field,
                    format!("the same {field} as row {}", first.get()),
                    DuplicateOf::Row(*first.get()),
                )),
                Entry::Vacant(slot) => {
                    slot.insert(row.row);
                }
            }
        }
        let problems = duplicates
            .into_iter()
            .map(|(field, message, of)| RowProblem {
                row: row.row,
                field: field.to_owned(),
                code: "duplicate".into(),
                message,
                duplicate_of: Some(of),
            });
        if allow {
            report.duplicates.extend(problems);
            leads.push(row.data);
        } else {
            let before = report.problems.len();
            report.problems.extend(problems);
            if report.problems.len() == before {
                leads.push(row.data);
            }
        }
    }
    leads
}

/// Where a clean chunk's leads go: the transaction, sent to the writer when the first chunk is
/// clean, and the chunks with their reserved ids, sent to be prepared.
struct ImportSink {
    transaction: Option<oneshot::Sender<Box<dyn Tx>>>,
    ids: Vec<i64>,
    chunks: mpsc::Sender<(Vec<i64>, Vec<LeadData>)>,
}

impl App {
    /// Imports leads owned by the actor. Every row is validated and checked for duplicates
    /// (against stored records and earlier rows); any problem, or `dry_run`, writes nothing. With
    /// `allow_duplicates`, rows that look like duplicates are imported and listed in the report.
    ///
    /// The file goes through in chunks, three at work at once: one checked, the one before it
    /// prepared (states, stored copies and audit rows) on a thread of its own, and the one before
    /// that written, all in one transaction begun with the first clean chunk. The import takes the
    /// time of its slowest stage, not of all three. The first problem stops the writing and rolls
    /// back what was written; the rest of the file is still checked for the report.
    pub async fn import_leads(
        &self,
        actor: &Actor,
        file: &[u8],
        overrides: &[(String, String)],
        dry_run: bool,
        allow_duplicates: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> AppResult<ImportReport> {
        actor.require(RecordKind::Lead, Action::Create)?;
        // Checking a large file takes a while: on a blocking thread, beside reading the rules.
        let reading = tokio::task::spawn_blocking({
            let (file, overrides) = (file.to_vec(), overrides.to_vec());
            move || Table::read(file, &overrides)
        });
        let (table, (rules, policy)) = tokio::try_join!(
            async {
                reading
                    .await
                    .map_err(|e| AppError::Internal(format!("reading the file: {e}")))?
            },
            self.grading()
        )?;
        let total = table.len;
        let mut report = ImportReport {
            rows: total,
            dry_run,
            mapping: table.mapping.clone(),
            ..Default::default()
        };
        // Rows checked plus leads written, of twice the rows.
        let done = AtomicUsize::new(0);
        let advance = |n: usize| progress(done.fetch_add(n, Ordering::Relaxed) + n, total * 2);
        let now = self.now_ms();

        let (to_prepare, mut chunks) = mpsc::channel::<(Vec<i64>, Vec<LeadData>)>(1);
        let (to_write, batches) = mpsc::channel::<LeadBatch>(2);
        let preparing = tokio::task::spawn_blocking({
            let actor = actor.clone();
            move || {
                while let Some((ids, leads)) = chunks.blocking_recv() {
                    let mut leads = leads.into_iter();
                    for ids in ids.chunks(WRITE_BATCH) {
                        let batch = prepared_batch(
                            ids,
                            leads.by_ref().take(ids.len()),
                            |data| new_lead_state(&rules, &policy, &actor, data, now),
                            &actor,
                            now,
                        );
                        if to_write.blocking_send(batch).is_err() {
                            return; // the writes stopped
                        }
                    }
                }
            }
        });
        let (transaction, begun) = oneshot::channel();
        let mut sink = (!dry_run).then_some(ImportSink {
            transaction: Some(transaction),
            ids: Vec::new(),
            chunks: to_prepare,
        });
        let refused = AtomicBool::new(false);

        let check = async {
            // Sized for every key of the file: grown as it fills, it would hash every key
            // again at each doubling.
            let mut first_rows = FirstRows::with_capacity(total * KEY_KINDS);
            // Reads and validates the next chunk on a blocking thread, from now on; the table
            // goes with it and comes back.
            let validate_next = |mut table: Table, first: usize| {
                tokio::task::spawn_blocking(move || {
                    let chunk: Vec<Row> = table.by_ref().take(CHECK_CHUNK).collect();
                    let n = chunk.len();
                    (table, n, checked_rows(chunk, first))
                })
            };
            let mut next_row = 2;
            let mut validating = validate_next(table, next_row);
            loop {
                let (table, n, checked) = validating
                    .await
                    .map_err(|e| AppError::Internal(format!("checking the import: {e}")))?;
                if n == 0 {
                    // Every row counted when the file was checked must have been read since.
                    if next_row - 2 != total {
                        return Err(AppError::Internal(format!(
                            "the file read {} rows of {total}",
                            next_row - 2
                        )));
                    }
                    break;
                }
                let (checked, problems) = checked?;
                // The following chunk is read and validated while this one's keys are looked up.
                next_row += n;
                validating = validate_next(table, next_row);
                report.problems.extend(problems);
                let found = self.store.stored_keys(&wanted_keys(&checked)).await?;
                let leads = sort_out_duplicates(
                    checked,
                    &found,
                    &mut first_rows,
                    allow_duplicates,
                    &mut report,
                );
                advance(n);
                if !report.problems.is_empty() {
                    if let Some(closing) = sink.take() {
                        // Before the channels close, so the writer knows to roll back.
                        refused.store(true, Ordering::SeqCst);
                        drop(closing);
                    }
                    continue;
                }
                let Some(sink) = sink.as_mut() else { continue };
                if let Some(transaction) = sink.transaction.take() {
                    let mut tx = self.store.begin_bulk().await?;
                    sink.ids = tx.reserve_lead_ids(total).await?;
                    // The writer is gone only when it failed; its error is the answer.
                    let _ = transaction.send(tx);
                }
                let ids = sink.ids.drain(..leads.len()).collect();
                if sink.chunks.send((ids, leads)).await.is_err() {
                    break; // the writer failed
                }
            }
            drop(sink);
            report.problems.sort_by_key(|p| p.row);
            Ok::<_, AppError>(())
        };
        let write = async {
            let Ok(mut tx) = begun.await else {
                return Ok(None); // nothing to write
            };
            let written = tx
                .insert_lead_batches(batches, Some(actor.user_id), now, &advance)
                .await?;
            if refused.load(Ordering::SeqCst) {
                return Ok(None); // rolled back as `tx` goes
            }
            Ok::<_, AppError>(Some((tx, written)))
        };
        let ((), written) = tokio::try_join!(check, write)?;
        preparing
            .await
            .map_err(|e| AppError::Internal(format!("preparing the import: {e}")))?;
        let Some((mut tx, written)) = written.filter(|_| report.problems.is_empty()) else {
            // Refused, a dry run, or a file of no rows: nothing was written.
            report.dry_run = dry_run || !report.problems.is_empty();
            return Ok(report);
        };
        let entry = NewAuditEntry::new(actor, "import", RecordKind::Lead, None, now).with_after(
            &serde_json::json!({ "rows": written, "duplicates": report.duplicates.len() }),
        );
        tx.audit(&entry).await?;
        tx.commit().await?;
        report.imported = written;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of a CSV file as the import reads them.
    fn rows_of(csv: &str) -> Vec<Row> {
        Table::read(csv.as_bytes().to_vec(), &[]).unwrap().collect()
    }

    #[test]
    fn a_field_two_columns_fill_takes_the_later_value() {
        let rows = rows_of("company,phone,电话\nAcme,010-1,\nBeta,010-2,021-3\n");
        let leads: Vec<LeadData> = rows.into_iter().map(lead_from).collect();
        // An empty cell fills nothing, so the first row keeps its one phone.
        assert_eq!(leads[0].phone.as_deref(), Some("010-1"));
        assert_eq!(leads[1].phone.as_deref(), Some("021-3"));
        assert_eq!(leads[1].company, "Beta");
    }

    #[test]
    fn need_and_budget_count_as_known_only_when_given() {
        let rows = rows_of("company,need,budget\nAcme,CRM,\n");
        let lead = lead_from(rows.into_iter().next().unwrap());
        assert!(lead.explicit_need);
        assert!(!lead.budget_known);
    }
}
