//! Keyset pagination: a page is `limit` records after an opaque cursor (the last id seen).

use base64::Engine;

use crate::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub limit: u32,
    /// Id of the last record of the previous page.
    pub after: Option<i64>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl PageRequest {
    /// Parses the `limit` and `cursor` query parameters, refusing what they cannot mean.
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> AppResult<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::field(
                "limit",
                "out_of_range",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                AppError::field("cursor", "invalid", "cursor is not one this server issued")
            })?),
        };
        Ok(Self { limit, after })
    }
}

/// One page of records and the cursor of the next page, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched by the store: the extra row proves a next page.
    pub fn from_rows(mut rows: Vec<T>, req: PageRequest, id_of: impl Fn(&T) -> i64) -> Self {
        let more = rows.len() > req.limit as usize;
        rows.truncate(req.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(id_of(r)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

fn encode_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

fn decode_cursor(c: &str) -> Option<i64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("id:")?
        .parse()
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let page = Page::from_rows(
            vec![1, 2, 3],
            PageRequest {
                limit: 2,
                after: None,
            },
            |x| *x,
        );
        assert_eq!(page.items, vec![1, 2]);
        let next = PageRequest::parse(Some(2), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after, Some(2));
        assert!(PageRequest::parse(None, Some("not-a-cursor")).is_err());
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(201), None).is_err());
    }
}
