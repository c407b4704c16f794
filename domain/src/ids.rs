//! Identifiers: UUIDv7, time-ordered so that keyset pagination and indexes stay cheap.

use uuid::Uuid;

/// A new identifier in its canonical text form (lowercase, hyphenated).
pub fn new_id() -> String {
    Uuid::now_v7().hyphenated().to_string()
}

/// The canonical form of an id taken from a request, or `None` when it is not one.
///
/// Only the lowercase hyphenated form is an id: anything else cannot name an object,
/// so callers answer it like an unknown id (404).
pub fn parse_id(text: &str) -> Option<String> {
    let uuid = Uuid::try_parse(text).ok()?;
    let canonical = uuid.hyphenated().to_string();
    (canonical == text).then_some(canonical)
}

/// A UUID in its hyphenated form, in either case: what JSON Schema's `uuid` format
/// admits (`parse_id` also wants it canonical).
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36 && Uuid::try_parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_canonical_and_increasing() {
        let a = new_id();
        let b = new_id();
        assert_eq!(parse_id(&a), Some(a.clone()));
        assert!(a < b, "UUIDv7 ids sort by creation time");
    }

    #[test]
    fn only_the_canonical_form_is_an_id() {
        let id = new_id();
        assert_eq!(parse_id(&id.to_uppercase()), None);
        assert_eq!(parse_id(&id.replace('-', "")), None);
        assert_eq!(parse_id("not-an-id"), None);
        assert_eq!(parse_id(""), None);
    }
}
