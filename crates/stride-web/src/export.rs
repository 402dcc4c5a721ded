//! CSV exports. Cells that a spreadsheet would run as a formula are neutralised.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Prefixes a quote to text that starts like a formula (`= + - @`, tab, carriage return).
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// A CSV download: a header row, then rows, all cells neutralised; UTF-8 with BOM so Excel reads Chinese.
pub fn csv_response(file_stem: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
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
