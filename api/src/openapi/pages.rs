//! A page's items as a reference to the item's schema. utoipa composes `Page<T>` by
//! copying `T`'s schema into each `Page_T` (juhaku/utoipa#1586), so a generated client
//! gets two types for one thing (an `AuditEventView` alone and another inside its page)
//! and Redocly finds the named one unused. Where the copy is the component word for
//! word, it becomes a `$ref`; the page's example is a page of the item's example.

use serde_json::Value;
use utoipa::openapi::OpenApi;
use utoipa::Modify;

pub struct PageItemRefs;

impl Modify for PageItemRefs {
    fn modify(&self, openapi: &mut OpenApi) {
        // utoipa's schema types are deep enums; the document's JSON is plain to walk.
        let Ok(mut json) = serde_json::to_value(&*openapi) else { return };
        let Some(Value::Object(schemas)) = json.pointer_mut("/components/schemas") else { return };
        let named: Vec<(String, Value)> = schemas.iter().map(|(name, schema)| (name.clone(), schema.clone())).collect();
        for (name, schema) in schemas.iter_mut() {
            let Some(item) = name.strip_prefix("Page_") else { continue };
            let Some((_, component)) = named.iter().find(|(named, _)| named == item) else { continue };
            if let Some(items) = schema.pointer_mut("/properties/data/items") {
                if items == component {
                    *items = serde_json::json!({ "$ref": format!("#/components/schemas/{item}") });
                }
            }
            if let Some(example) = component.get("example") {
                schema["example"] = serde_json::json!({ "data": [example], "next_cursor": null });
            }
        }
        if let Ok(referenced) = serde_json::from_value(json) {
            *openapi = referenced;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_refers_to_its_item() {
        let document = serde_json::to_value(crate::openapi::document()).unwrap();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let pages: Vec<&String> = schemas.keys().filter(|name| name.starts_with("Page_")).collect();
        assert!(pages.len() > 20, "{pages:?}");
        for page in pages {
            let items = &schemas[page]["properties"]["data"]["items"];
            let item = page.trim_start_matches("Page_");
            assert_eq!(items["$ref"], format!("#/components/schemas/{item}"), "{page}: {items}");
            if let Some(example) = schemas[item].get("example") {
                assert_eq!(schemas[page]["example"]["data"][0], *example, "{page}");
            }
        }
    }
}
