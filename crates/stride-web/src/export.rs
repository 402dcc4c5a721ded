//! Exports as CSV or XLSX. Cells that a spreadsheet would run as a formula are neutralised, in
//! both formats, so the same text comes out whichever the user picks.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Prefixes a quote to text that starts like a formula (`= + - @`, tab, carriage return).
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// The file formats of exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// An export download in `format`.
pub fn export_response(
    format: Format,
    file_stem: &str,
    header_row: &[&str],
    rows: Vec<Vec<String>>,
) -> Response {
    match format {
        Format::Csv => csv_response(file_stem, header_row, rows),
        Format::Xlsx => xlsx_response(file_stem, header_row, rows),
    }
}

/// An XLSX download: one sheet, a bold header row, every cell written as text.
fn xlsx_response(file_stem: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = CellFormat::new().set_bold();
    let mut ok = true;
    for (c, h) in header_row.iter().enumerate() {
        ok &= sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .is_ok();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ok &= sheet
                .write_string((r + 1) as u32, c as u16, neutralise(cell))
                .is_ok();
        }
    }
    match (ok, book.save_to_buffer()) {
        (true, Ok(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file_stem}.xlsx\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A CSV download: a header row, then rows, all cells neutralised; UTF-8 with BOM so Excel reads Chinese.
fn csv_response(file_stem: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let mut ok = w.write_record(header_row).is_ok();
    for row in rows {
        ok &= w.write_record(row.iter().map(|c| neutralise(c))).is_ok();
    }
    match (ok, w.into_inner()) {
        (true, Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file_stem}.csv\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formulas_never_run() {
        for bad in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("华为"), "华为");
    }
}
