//! Free text that people type follows a few rules (hostadmin_domain::text): stored
//! trimmed, not blank where required, no control characters (but line breaks and tabs in
//! multi-line text). A request field says which rule it follows with a marker format
//! (`#[schema(format = "line")]`); this pass replaces the marker with the rule's
//! `pattern`, so that the document states exactly what the server accepts.

use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::Modify;

use hostadmin_domain::text;

/// (marker, pattern, the `format` left in its place, what a field without a description
/// of its own is described with)
type Rule = (&'static str, &'static str, Option<&'static str>, &'static str);

const RULES: &[Rule] = &[
    ("line", text::LINE, None, "One line, trimmed at both ends; not blank, no control characters."),
    (
        "text",
        text::TEXT,
        None,
        "Trimmed at both ends; not blank; line breaks and tabs allowed, no other control characters.",
    ),
    (
        "optional-text",
        text::OPTIONAL_TEXT,
        None,
        "Trimmed at both ends; line breaks and tabs allowed, no other control characters.",
    ),
    ("no-controls", text::NO_CONTROLS, None, "No control characters."),
    ("not-blank-no-controls", text::NOT_BLANK_NO_CONTROLS, None, "Not blank, no control characters."),
    (
        "file-name",
        text::FILE_NAME,
        None,
        "A file name, trimmed at both ends: no control characters, no `/` or `\\`, not `.` or `..`.",
    ),
    (
        "service-password",
        text::NO_CONTROLS,
        Some("password"),
        "8-128 characters, not a common password, no control characters.",
    ),
];

pub struct TextRules;

impl Modify for TextRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let Ok(mut json) = serde_json::to_value(&*openapi) else { return };
        apply(&mut json);
        if let Ok(done) = serde_json::from_value(json) {
            *openapi = done;
        }
    }
}

fn apply(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let rule = object
                .get("format")
                .and_then(Value::as_str)
                .and_then(|marker| RULES.iter().find(|(name, ..)| *name == marker));
            if let Some((_, pattern, format, description)) = rule {
                object.insert("pattern".to_owned(), Value::from(*pattern));
                match format {
                    Some(format) => object.insert("format".to_owned(), Value::from(*format)),
                    None => object.remove("format"),
                };
                object.entry("description").or_insert_with(|| Value::from(*description));
            }
            object.values_mut().for_each(apply);
        }
        Value::Array(items) => items.iter_mut().for_each(apply),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_patterns() {
        let mut schema = serde_json::json!({
            "properties": {
                "name": {"type": "string", "format": "line", "maxLength": 200},
                "password": {"type": "string", "format": "service-password"},
                "at": {"type": "string", "format": "date-time"}
            }
        });
        apply(&mut schema);
        assert_eq!(schema["properties"]["name"]["pattern"], text::LINE);
        assert!(schema["properties"]["name"].get("format").is_none());
        assert_eq!(schema["properties"]["password"]["format"], "password");
        assert_eq!(schema["properties"]["at"]["format"], "date-time");
    }

    /// Every format the document names is one of JSON Schema's or OpenAPI's: a marker
    /// with a typo would otherwise stay in the document unnoticed.
    #[test]
    fn the_document_has_no_marker_left() {
        fn formats(value: &Value, found: &mut std::collections::BTreeSet<String>) {
            match value {
                Value::Object(object) => {
                    if let Some(format) = object.get("format").and_then(Value::as_str) {
                        found.insert(format.to_owned());
                    }
                    object.values().for_each(|v| formats(v, found));
                }
                Value::Array(items) => items.iter().for_each(|v| formats(v, found)),
                _ => {}
            }
        }
        let known = [
            "binary",
            "date",
            "date-time",
            "email",
            "hostname",
            "int32",
            "int64",
            "ipv4",
            "ipv6",
            "password",
            "uri",
            "uuid",
        ];
        let mut found = Default::default();
        formats(&serde_json::to_value(crate::openapi::document()).unwrap_or_default(), &mut found);
        let unknown: Vec<_> = found.iter().filter(|f| !known.contains(&f.as_str())).collect();
        assert!(unknown.is_empty(), "formats that are no standard ones: {unknown:?}");
    }
}
