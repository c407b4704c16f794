//! Free text that people type follows a few rules (hostadmin_domain::text): stored
//! trimmed, not blank where required, no control characters (but line breaks and tabs in
//! multi-line text). A request field says which rule it follows with a marker format
//! (`#[schema(format = "line")]`); this pass replaces the marker with the rule's
//! `pattern`, so that the document states exactly what the server accepts.

use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::Modify;

use hostadmin_domain::name_patterns as names;
use hostadmin_domain::text;

/// (marker, pattern, the `format` left in its place, what a field without a description
/// of its own is described with)
type Rule = (&'static str, fn() -> String, Option<&'static str>, &'static str);

const RULES: &[Rule] = &[
    ("line", || text::LINE.to_owned(), None, "One line, trimmed at both ends; not blank, no control characters."),
    (
        "text",
        || text::TEXT.to_owned(),
        None,
        "Trimmed at both ends; not blank; line breaks and tabs allowed, no other control characters.",
    ),
    (
        "optional-text",
        || text::OPTIONAL_TEXT.to_owned(),
        None,
        "Trimmed at both ends; line breaks and tabs allowed, no other control characters.",
    ),
    ("no-controls", || text::NO_CONTROLS.to_owned(), None, "No control characters."),
    ("not-blank-no-controls", || text::NOT_BLANK_NO_CONTROLS.to_owned(), None, "Not blank, no control characters."),
    (
        "file-name",
        || text::FILE_NAME.to_owned(),
        None,
        "A file name, trimmed at both ends: no control characters, no `/` or `\\`, not `.` or `..`.",
    ),
    (
        "service-password",
        || text::NO_CONTROLS.to_owned(),
        Some("password"),
        "8-128 characters, not a common password, no control characters.",
    ),
    (
        "domain-name",
        names::domain_name,
        None,
        "A domain name, any case, with or without the final dot. Unicode names are accepted too (stored in punycode); the pattern states the ASCII form.",
    ),
    (
        "host-name",
        names::host_name,
        None,
        "A host name, any case, with or without the final dot; the last label is not all digits. Unicode names are accepted too (stored in punycode).",
    ),
    (
        "qualified-host-name",
        names::qualified_host_name,
        None,
        "A fully qualified host name (two or more labels), any case, with or without the final dot; the last label is not all digits. Unicode names are accepted too (stored in punycode).",
    ),
    (
        "certificate-name",
        names::certificate_name,
        None,
        "A host name of two or more labels, or `*.` and one; punycode for Unicode names.",
    ),
    ("record-name", names::record_name, None, "Relative to the zone: `@` (the apex), `www`, `_sip._tcp`, `*.dev`."),
    ("webhook-url", || names::http_url(false), None, "An absolute http(s) URL without credentials or fragment."),
    ("redirect-url", || names::http_url(true), None, "An absolute http or https URL without credentials."),
    (
        "hosted-address",
        names::hosted_address,
        None,
        "On one of the service's domains; the part before `@` is 1-64 of `a-z 0-9 . _ -` (a dot-atom). Stored in lowercase.",
    ),
    ("destination-address", names::destination_address, Some("email"), "Any valid address."),
    ("totp-code", names::totp_code, None, "Six digits (spaces between them are ignored)."),
    ("event-filter", names::event_filter, None, "An event type (`service.suspend`), an area (`invoice.*`) or `*`."),
    (
        "ftp-username",
        names::ftp_username,
        None,
        "3-32 of `a-z 0-9 . _ -`, starting with a letter, ending with a letter or digit, without two of `. _ -` in a row.",
    ),
    (
        "relative-directory",
        names::relative_directory,
        None,
        "Relative to the service's root: no leading `/`, no `..`, no backslashes or control characters; at most 1,024 bytes, 255 per directory name.",
    ),
];

pub struct TextRules;

impl Modify for TextRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let Ok(mut json) = serde_json::to_value(&*openapi) else { return };
        apply(&mut json);
        no_nul_in_requests(&mut json);
        if let Ok(done) = serde_json::from_value(json) {
            *openapi = done;
        }
    }
}

pub fn apply(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let rule = object
                .get("format")
                .and_then(Value::as_str)
                .and_then(|marker| RULES.iter().find(|(name, ..)| *name == marker));
            if let Some((_, pattern, format, description)) = rule {
                object.insert("pattern".to_owned(), Value::from(pattern()));
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

/// No string of a request may hold U+0000 (crate::http::body, crate::http::query_guard):
/// the strings of request bodies and query parameters that no other rule constrains say
/// so with [`text::NO_NUL`].
fn no_nul_in_requests(document: &mut Value) {
    let mut names = std::collections::BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    if let Some(Value::Object(paths)) = document.get("paths") {
        for operation in paths.values().filter_map(Value::as_object).flat_map(|item| item.values()) {
            collect_refs(&operation["requestBody"], &mut pending);
        }
    }
    while let Some(name) = pending.pop() {
        if names.insert(name.clone()) {
            collect_refs(&document["components"]["schemas"][&name], &mut pending);
        }
    }
    for name in names {
        if let Some(schema) = document.pointer_mut(&format!("/components/schemas/{name}")) {
            mark_plain_strings(schema);
        }
    }
    if let Some(Value::Object(paths)) = document.get_mut("paths") {
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
            if let Some(Value::Object(body)) = operation.pointer_mut("/requestBody/content") {
                for media in body.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        mark_plain_strings(schema);
                    }
                }
            }
            let Some(Value::Array(parameters)) = operation.get_mut("parameters") else { continue };
            for parameter in parameters.iter_mut().filter(|p| p["in"] == "query") {
                if let Some(schema) = parameter.get_mut("schema") {
                    mark_plain_strings(schema);
                }
            }
        }
    }
}

fn collect_refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    found.push(name.to_owned());
                }
            }
            object.values().for_each(|v| collect_refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

/// Plain strings below `value`: typed string, no pattern, enum, const or format but
/// `password`. Binary content (`format: binary`) is not text.
fn mark_plain_strings(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let is_string = match object.get("type") {
                Some(Value::String(kind)) => kind == "string",
                Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "string"),
                _ => false,
            };
            let constrained = ["pattern", "enum", "const", "$ref"].iter().any(|key| object.contains_key(*key))
                || object.get("format").is_some_and(|format| format != "password");
            if is_string && !constrained {
                object.insert("pattern".to_owned(), Value::from(text::NO_NUL));
            }
            // Conditions and negations select or refuse; only what is accepted is marked.
            object.iter_mut().filter(|(key, _)| !matches!(key.as_str(), "not" | "if")).for_each(|(_, v)| {
                mark_plain_strings(v);
            });
        }
        Value::Array(items) => items.iter_mut().for_each(mark_plain_strings),
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
        assert_eq!(schema["properties"]["name"]["pattern"], Value::from(text::LINE));
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
