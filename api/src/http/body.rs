//! Request bodies: JSON only, at most 64 KiB, unknown fields refused, every refusal
//! pointing at its field.
//!
//! The body is read by the extractor but parsed only when the handler asks, after
//! authentication, authorization and the lookup: the contract orders 401, 403 and 404
//! before 422.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;

use hostadmin_domain::validation::Invalid;

use crate::http::problem::{ApiError, FieldError};

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The raw body of a request and its content type.
#[derive(Debug, Clone)]
pub struct JsonBody {
    bytes: actix_web::web::Bytes,
    content_type: Option<String>,
    /// A PATCH or PUT must carry its document: an empty one would change nothing and
    /// answer 200 as if it had.
    required: bool,
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared: Option<usize> =
            request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let required = matches!(*request.method(), actix_web::http::Method::PATCH | actix_web::http::Method::PUT);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut bytes = actix_web::web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::bad_request("malformed_body", format!("reading the body failed: {e}")))?;
                if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(Self { bytes: bytes.freeze(), content_type, required })
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body may be at most {MAX_BODY_BYTES} bytes"),
    )
}

/// `application/json`, `application/merge-patch+json` and other `+json` types.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl JsonBody {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn is_empty(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// Parses the body as `T`. An empty body reads as `{}`, so that actions whose
    /// fields are all optional can be posted without one; a PATCH or PUT without a body
    /// is refused (`422`, pointer ``).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.required && self.is_empty() {
            return Err(ApiError::field(
                "",
                Invalid::new("required", "send the changes as a JSON document (a merge patch)"),
            ));
        }
        let text: &[u8] = if self.is_empty() {
            b"{}"
        } else {
            match &self.content_type {
                Some(content_type) if is_json(content_type) => &self.bytes,
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "send the body as application/json",
                    ))
                }
            }
        };
        // Syntax first, shape second: a truncated document is 400 even when its first
        // values already have the wrong type.
        let mut document: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
        integers_as_written_by_anyone(&mut document);
        // Every body is a JSON object; serde would read a struct from an array too
        // (positionally), and `[]` was an empty patch.
        if !document.is_object() {
            return Err(ApiError::field("", Invalid::new("invalid_type", "the body is a JSON object")));
        }
        if let Some(pointer) = beyond_int64(&document, String::new()) {
            return Err(ApiError::field(
                pointer,
                Invalid::new("out_of_range", "integers are 64-bit signed (at most 9223372036854775807)"),
            ));
        }
        if let Some(pointer) = nul_in(&document, String::new()) {
            return Err(ApiError::field(
                pointer,
                Invalid::new("invalid_characters", "must not contain a NUL character"),
            ));
        }
        serde_path_to_error::deserialize(document).map_err(refusal)
    }

    /// The body as a generic JSON value (for fingerprints), if it is JSON.
    pub fn canonical(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.bytes)
            .map(|value| value.to_string())
            .unwrap_or_else(|_| String::from_utf8_lossy(&self.bytes).into_owned())
    }
}

/// JSON has one number type: `7.0` is the integer 7 to JSON Schema (and to JavaScript),
/// so a whole number written with a fraction or an exponent is read as the integer it
/// is. Other numbers stay as they are (and an integer field refuses them).
fn integers_as_written_by_anyone(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            let whole = number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15);
            // Below 2^53 a float holds its integer exactly.
            if let Some(whole) = whole {
                *value = serde_json::Value::from(whole as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integers_as_written_by_anyone),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integers_as_written_by_anyone),
        _ => {}
    }
}

/// The pointer of the first integer above `i64::MAX`: the document gives every integer
/// `format: int64` (or narrower), whatever Rust type reads it.
fn beyond_int64(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::Number(number) => (number.is_u64() && !number.is_i64()).then_some(at),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(index, item)| beyond_int64(item, format!("{at}/{index}")))
        }
        serde_json::Value::Object(fields) => {
            fields.iter().find_map(|(key, item)| beyond_int64(item, format!("{at}/{}", escape_token(key))))
        }
        _ => None,
    }
}

/// The pointer of the first string (or key) holding U+0000. No field may hold one:
/// PostgreSQL refuses it in text, and nothing a person types contains it.
fn nul_in(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(at),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(index, item)| nul_in(item, format!("{at}/{index}")))
        }
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", escape_token(key));
            if key.contains('\0') {
                Some(here)
            } else {
                nul_in(item, here)
            }
        }),
        _ => None,
    }
}

/// Turns a deserialisation error into the contract's answer: broken JSON is 400, JSON
/// of the wrong shape is 422 with the pointer of the field.
fn refusal(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    let pointer = pointer_of(error.path());
    let inner = error.inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {inner}"))
        }
        Category::Data => {
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or_default().to_owned();
            if let Some(field) = quoted_after(&message, "unknown field `") {
                let pointer = child_pointer(&pointer, &field);
                return ApiError::Validation {
                    code: "unknown_field",
                    errors: vec![FieldError::new(
                        pointer,
                        Invalid::new("unknown_field", format!("{field} is not a field here")),
                    )],
                };
            }
            if let Some(field) = quoted_after(&message, "missing field `") {
                let pointer = child_pointer(&pointer, &field);
                return ApiError::field(pointer, Invalid::new("required", format!("{field} is required")));
            }
            ApiError::field(pointer, Invalid::new("invalid_value", message))
        }
    }
}

fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split_once(prefix)?.1;
    Some(rest.split('`').next()?.to_owned())
}

fn child_pointer(parent: &str, field: &str) -> String {
    let escaped = escape_token(field);
    if parent.ends_with(&format!("/{escaped}")) {
        parent.to_owned()
    } else {
        format!("{}/{}", parent.trim_end_matches('/'), escaped)
    }
}

/// RFC 6901: `~` is `~0` and `/` is `~1` inside a token.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => pointer.push_str(&format!("/{}", escape_token(key))),
            Segment::Enum { variant } => pointer.push_str(&format!("/{}", escape_token(variant))),
            Segment::Unknown => {}
        }
    }
    pointer
}

/// Deserialises a JSON value already read from the body, with the same refusals as
/// [`JsonBody::parse`]: pointers are relative to `value`.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        country: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        profile: Option<Inner>,
        tags: Option<Vec<u8>>,
    }

    fn body(text: &str) -> JsonBody {
        JsonBody {
            bytes: actix_web::web::Bytes::from(text.to_owned()),
            content_type: Some("application/json".into()),
            required: false,
        }
    }

    fn pointer_and_code(text: &str) -> (u16, String, String) {
        match body(text).parse::<Outer>() {
            Err(ApiError::Validation { code, errors }) => (422, code.to_owned(), errors[0].pointer.clone()),
            Err(other) => {
                (actix_web::ResponseError::status_code(&other).as_u16(), other.code().to_owned(), String::new())
            }
            Ok(_) => (200, String::new(), String::new()),
        }
    }

    #[test]
    fn unknown_fields_point_at_themselves() {
        assert_eq!(pointer_and_code(r#"{"name":"a","kind":"x"}"#), (422, "unknown_field".into(), "/kind".into()));
        assert_eq!(
            pointer_and_code(r#"{"name":"a","profile":{"balance":1}}"#),
            (422, "unknown_field".into(), "/profile/balance".into())
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_point_at_the_field() {
        assert_eq!(pointer_and_code(r#"{"name":1}"#), (422, "validation_failed".into(), "/name".into()));
        assert_eq!(
            pointer_and_code(r#"{"name":"a","tags":[1,"x"]}"#),
            (422, "validation_failed".into(), "/tags/1".into())
        );
        assert_eq!(pointer_and_code(r#"{}"#), (422, "validation_failed".into(), "/name".into()));
    }

    #[test]
    fn broken_json_is_400() {
        assert_eq!(pointer_and_code(r#"{"name": "#).0, 400);
        assert_eq!(pointer_and_code("[1,2"), (400, "malformed_json".into(), String::new()));
    }

    #[test]
    fn nul_characters_are_refused_where_they_stand() {
        assert_eq!(pointer_and_code("{\"name\":\"a\\u0000b\"}"), (422, "validation_failed".into(), "/name".into()));
        assert_eq!(
            pointer_and_code("{\"name\":\"a\",\"profile\":{\"country\":\"\\u0000\"}}"),
            (422, "validation_failed".into(), "/profile/country".into())
        );
        assert_eq!(pointer_and_code("{\"name\":\"a\",\"tags\":[1],\"x\\u0000\":1}").2, "/x\u{0}");
    }

    #[test]
    fn only_json_is_accepted() {
        let mut form = body("name=a");
        form.content_type = Some("application/x-www-form-urlencoded".into());
        assert_eq!(form.parse::<Outer>().err().map(|e| e.code()), Some("unsupported_media_type"));
        assert!(is_json("application/merge-patch+json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(!is_json("text/json"));
    }
}
