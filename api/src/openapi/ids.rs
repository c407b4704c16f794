//! Ids are UUIDs (v7, hyphenated, lowercase): say so with `format: uuid` on every id in
//! the document, so that generated clients and fuzzers know it, without an attribute on
//! each of the hundred fields and parameters that carry one.

use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::Modify;

/// Names ending like ids that are not hostadmin's ids: a VAT number, a request id (a
/// client may send its own), an event's id as receivers see it, and the audit log's
/// target and actor filters (kept as free text: they are matched, not parsed).
const NOT_UUIDS: &[&str] = &["vat_id", "request_id", "target_id", "actor_id"];

fn names_an_id(name: &str) -> bool {
    (name == "id" || name.ends_with("_id") || name.ends_with("_ids")) && !NOT_UUIDS.contains(&name)
}

pub struct UuidIds;

impl Modify for UuidIds {
    fn modify(&self, openapi: &mut OpenApi) {
        // utoipa's schema types are deep enums; the document's JSON is plain to walk.
        let Ok(mut json) = serde_json::to_value(&*openapi) else { return };
        if let Some(schemas) = json.pointer_mut("/components/schemas") {
            mark_properties(schemas);
        }
        if let Some(Value::Object(paths)) = json.get_mut("paths") {
            for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
                let Some(Value::Array(parameters)) = operation.get_mut("parameters") else { continue };
                for parameter in parameters {
                    let in_path_or_query = matches!(parameter["in"].as_str(), Some("path" | "query"));
                    if in_path_or_query && parameter["name"].as_str().is_some_and(names_an_id) {
                        if let Some(schema) = parameter.get_mut("schema") {
                            mark_uuid(schema);
                        }
                    }
                }
            }
        }
        if let Ok(marked) = serde_json::from_value(json) {
            *openapi = marked;
        }
    }
}

/// Every `properties` object below `value`: its id-named string properties get the format.
fn mark_properties(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get_mut("properties") {
                for (name, schema) in properties.iter_mut() {
                    if names_an_id(name) {
                        mark_uuid(schema);
                    }
                }
            }
            object.values_mut().for_each(mark_properties);
        }
        Value::Array(items) => items.iter_mut().for_each(mark_properties),
        _ => {}
    }
}

/// A string schema (or an array of strings) becomes `format: uuid`; references and
/// other types are left alone.
fn mark_uuid(schema: &mut Value) {
    let is = |schema: &Value, kind: &str| match &schema["type"] {
        Value::String(one) => one == kind,
        Value::Array(kinds) => kinds.iter().any(|k| k == kind),
        _ => false,
    };
    if is(schema, "string") && schema.get("format").is_none() {
        schema["format"] = Value::from("uuid");
    } else if is(schema, "array") {
        if let Some(items) = schema.get_mut("items") {
            mark_uuid(items);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_named_so() {
        for name in ["id", "service_id", "owner_id", "service_ids", "attachment_ids"] {
            assert!(names_an_id(name), "{name}");
        }
        for name in ["vat_id", "request_id", "target_id", "actor_id", "name", "idempotency_key"] {
            assert!(!names_an_id(name), "{name}");
        }
    }

    #[test]
    fn strings_and_lists_of_strings_get_the_format() {
        let mut one = serde_json::json!({"type": ["string", "null"]});
        mark_uuid(&mut one);
        assert_eq!(one["format"], "uuid");
        let mut list = serde_json::json!({"type": "array", "items": {"type": "string"}});
        mark_uuid(&mut list);
        assert_eq!(list["items"]["format"], "uuid");
        let mut reference = serde_json::json!({"$ref": "#/components/schemas/Thing"});
        mark_uuid(&mut reference);
        assert!(reference.get("format").is_none());
    }

    #[test]
    fn the_document_marks_ids_in_bodies_and_paths() {
        let json = serde_json::to_value(crate::openapi::document()).unwrap();
        assert_eq!(json.pointer("/components/schemas/ServiceView/properties/id/format"), Some(&Value::from("uuid")));
        let parameters = json.pointer("/paths/~1v1~1services~1{id}/get/parameters").unwrap().as_array().unwrap();
        let id = parameters.iter().find(|p| p["name"] == "id").unwrap();
        assert_eq!(id["schema"]["format"], "uuid");
        let vat_id = json.pointer("/components/schemas/Profile/properties/vat_id").unwrap();
        assert!(vat_id.get("format").is_none(), "{vat_id}");
    }
}
