//! Cursor pagination: `limit` 1-100 (default 20) and an opaque `cursor` bound to the
//! filters it was issued with, newest first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::problem::ApiError;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `limit` and `cursor`, the query parameters every list takes beside its filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-100, default 20.
    #[param(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "limit_param")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page asked for, for a list with these (canonical) filters.
    pub fn request(&self, filters: String) -> Result<PageRequest, ApiError> {
        PageRequest::new(self.limit, self.cursor.as_deref(), filters)
    }
}

/// The `q` parameter of a searchable list: 1-200 characters, matched case-insensitively
/// as a prefix, so it is lowercased here once.
pub fn search_prefix(q: Option<&str>) -> Result<Option<String>, ApiError> {
    match q {
        Some(q) if q.is_empty() || q.chars().count() > 200 => Err(ApiError::field(
            "/query/q",
            hostadmin_domain::validation::Invalid::new("invalid_length", "q must be 1 to 200 characters"),
        )),
        q => Ok(q.map(str::to_lowercase)),
    }
}

/// What a cursor carries: the last id seen and a fingerprint of the filters.
#[derive(Debug, Serialize, Deserialize)]
struct CursorState {
    after: String,
    filters: String,
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    /// Only items with an id below this one.
    pub before_id: Option<String>,
    filters: String,
}

impl PageRequest {
    /// `filters` is a canonical text of the list's filters: a cursor issued for other
    /// filters is refused instead of silently paging through another list.
    pub fn new(limit: Option<i64>, cursor: Option<&str>, filters: String) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field(
                "/query/limit",
                hostadmin_domain::validation::Invalid::new("out_of_range", format!("limit must be 1 to {MAX_LIMIT}")),
            ));
        }
        let before_id = match cursor {
            None => None,
            Some(text) => {
                let state = decode(text).filter(|state| state.filters == fingerprint(&filters));
                match state {
                    Some(state) => Some(state.after),
                    None => {
                        return Err(ApiError::invalid(
                            "invalid_cursor",
                            "/query/cursor",
                            "the cursor is malformed or was issued for other filters",
                        ))
                    }
                }
            }
        };
        Ok(Self { limit, before_id, filters })
    }

    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and makes the cursor of the next one.
    pub fn page<R, T>(&self, mut rows: Vec<R>, id_of: impl Fn(&R) -> &str, present: impl Fn(R) -> T) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last()
                .map(|last| encode(&CursorState { after: id_of(last).to_owned(), filters: fingerprint(&self.filters) }))
        } else {
            None
        };
        Page { data: rows.into_iter().map(present).collect(), next_cursor }
    }
}

/// `deserialize_with` for the `limit` query parameter: a value that is not a whole
/// number is refused naming the parameter, so that the 422 points at `/query/limit`
/// (the query string parser alone does not say which parameter failed).
pub fn limit_param<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!("`limit` must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"))
    })
}

fn fingerprint(filters: &str) -> String {
    hostadmin_domain::credentials::digest(filters)[..16].to_owned()
}

fn encode(state: &CursorState) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(state).unwrap_or_default())
}

fn decode(text: &str) -> Option<CursorState> {
    if text.is_empty() || text.len() > 512 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        assert!(PageRequest::new(Some(0), None, String::new()).is_err());
        assert!(PageRequest::new(Some(101), None, String::new()).is_err());
        assert_eq!(PageRequest::new(None, None, String::new()).unwrap().limit, 20);
    }

    #[test]
    fn cursors_are_opaque_urlsafe_and_bound_to_their_filters() {
        let request = PageRequest::new(Some(2), None, "status=active".into()).unwrap();
        let page = request.page(vec!["c", "b", "a"], |s| s, |s| s.to_owned());
        assert_eq!(page.data, vec!["c", "b"]);
        let cursor = page.next_cursor.unwrap();
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let next = PageRequest::new(Some(2), Some(&cursor), "status=active".into()).unwrap();
        assert_eq!(next.before_id.as_deref(), Some("b"));
        let other = PageRequest::new(Some(2), Some(&cursor), "status=blocked".into());
        assert_eq!(other.err().map(|e| e.code()), Some("invalid_cursor"));
        assert_eq!(PageRequest::new(None, Some("!!"), String::new()).err().map(|e| e.code()), Some("invalid_cursor"));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let request = PageRequest::new(Some(5), None, String::new()).unwrap();
        assert_eq!(request.page(vec!["a"], |s| s, |s| s).next_cursor, None);
    }
}
