//! Importing leads from CSV or XLSX (LEAD-1, API-3): headers in English or Chinese map themselves, others
//! through an explicit mapping; every row is checked first and the file is imported whole or not
//! at all, with a report of each refused row and why.

use std::collections::HashMap;

use serde::Serialize;
use stride_domain::access::{Action, RecordKind};

use crate::actor::Actor;
use crate::audit::NewAuditEntry;
use crate::error::{AppError, AppResult};
use crate::leads::LeadData;
use crate::App;

/// Largest file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// Most rows in one import.
pub const MAX_IMPORT_ROWS: usize = 100_000;
/// Most columns in a file.
pub const MAX_IMPORT_COLUMNS: usize = 100;

/// The lead fields a column can fill.
pub const LEAD_FIELDS: [&str; 11] = [
    "company",
    "contact_name",
    "title",
    "phone",
    "email",
    "source",
    "industry",
    "region",
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

/// Rows of a file: lead field → value.
pub type Rows = Vec<HashMap<&'static str, String>>;
/// Which file column filled which lead field.
pub type Mapping = Vec<(String, String)>;

/// One refused row (1-based, counting the header as row 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    /// Nothing was written: a dry run, or refused rows.
    pub dry_run: bool,
    pub problems: Vec<RowProblem>,
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

/// Reads an import file — XLSX (recognised by its zip signature) or UTF-8 CSV — into rows of
/// field → value, refusing malformed or oversized files with the row at fault.
pub fn read_table(bytes: &[u8], overrides: &[(String, String)]) -> AppResult<(Mapping, Rows)> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(AppError::field(
            "file",
            "too_large",
            format!("at most {} MiB", MAX_IMPORT_BYTES / 1024 / 1024),
        ));
    }
    let table = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_table(bytes)?
    } else {
        csv_table(bytes)?
    };
    let mut lines = table.into_iter();
    let headers = lines
        .next()
        .ok_or_else(|| AppError::field("file", "empty", "the file is empty"))?;
    let mapping = column_mapping(&headers, overrides)?;
    let rows = lines
        .map(|line| {
            line.into_iter()
                .zip(&mapping)
                .filter_map(|(value, field)| {
                    Some((field.as_ref().copied()?, value.trim().to_owned()))
                })
                .filter(|(_, v)| !v.is_empty())
                .collect()
        })
        .collect();
    let used = headers
        .iter()
        .zip(&mapping)
        .filter_map(|(h, f)| f.map(|f| (h.clone(), f.to_owned())))
        .collect();
    Ok((used, rows))
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

fn csv_table(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(bytes);
    let mut table = Vec::new();
    for (i, record) in reader.byte_records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| csv_error(row, &e))?;
        if record.len() > MAX_IMPORT_COLUMNS {
            return Err(too_many_columns(record.len()));
        }
        if table.len() > MAX_IMPORT_ROWS {
            return Err(too_many_rows());
        }
        let line = record
            .iter()
            .map(|v| String::from_utf8(v.to_vec()).map_err(|_| not_utf8(row)))
            .collect::<AppResult<Vec<_>>>()?;
        table.push(line);
    }
    Ok(table)
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

fn lead_from(values: &HashMap<&'static str, String>) -> LeadData {
    let get = |f: &str| values.get(f).cloned();
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
        need: get("need"),
        budget: get("budget"),
        explicit_need: values.contains_key("need"),
        budget_known: values.contains_key("budget"),
        notes: get("notes"),
        ..Default::default()
    }
}

impl App {
    /// Imports leads owned by the actor. Every row is validated and checked for duplicates (against
    /// stored records and earlier rows) first; any problem, or `dry_run`, writes nothing.
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
        let (mapping, rows) = read_table(file, overrides)?;
        let mut report = ImportReport {
            rows: rows.len(),
            dry_run,
            mapping,
            ..Default::default()
        };
        let mut leads = Vec::with_capacity(rows.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, values) in rows.iter().enumerate() {
            let row = i + 2;
            let data = lead_from(values);
            match self.checked_new_lead(actor, data, allow_duplicates).await {
                Ok(data) => {
                    let key = crate::customers::CustomerData {
                        name: data.company.clone(),
                        ..Default::default()
                    }
                    .keys()
                    .name;
                    match seen.get(&key) {
                        Some(first) if !allow_duplicates => report.problems.push(RowProblem {
                            row,
                            field: "company".into(),
                            code: "duplicate".into(),
                            message: format!("the same company as row {first}"),
                        }),
                        _ => {
                            seen.insert(key, row);
                            leads.push(data);
                        }
                    }
                }
                Err(AppError::Validation(errors)) => {
                    report
                        .problems
                        .extend(errors.into_iter().map(|e| RowProblem {
                            row,
                            field: e.field,
                            code: e.code,
                            message: e.message,
                        }))
                }
                Err(e) => return Err(e),
            }
            progress(i + 1, rows.len() * 2);
        }
        if dry_run || !report.problems.is_empty() {
            report.dry_run = true;
            return Ok(report);
        }
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        for (i, data) in leads.iter().enumerate() {
            self.insert_new_lead(&mut *tx, actor, data, now).await?;
            progress(rows.len() + i + 1, rows.len() * 2);
        }
        let entry = NewAuditEntry::new(actor, "import", RecordKind::Lead, None, now)
            .with_after(&serde_json::json!({ "rows": leads.len() }));
        tx.audit(&entry).await?;
        tx.commit().await?;
        report.imported = leads.len();
        Ok(report)
    }
}
