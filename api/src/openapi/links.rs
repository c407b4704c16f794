//! Links from each creating operation to the operations on what it created (OpenAPI
//! 3.1 "links"), so that clients and schemathesis' stateful phase follow an id from one
//! answer into the next request: `POST /v1/services` -> `GET /v1/services/{id}`, its
//! renewal, its mailboxes; `POST /v1/services/{id}/mailboxes` -> the mailbox's routes,
//! with the service's id taken from the creating request's path.
//!
//! The rule: a `POST P` answering 201 or 202 links to every operation on `P/{new}...`
//! (or, for a creation on a literal sub-path such as `.../certificates/csr`, on its
//! parent's `.../{new}...`), `{new}` taken from the answer's `name` when the parameter is
//! a name, else its `id`, and every parameter `P` has from the request's path.

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

pub struct Links;

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// The `{parameters}` of a path template.
fn parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

/// The parameter a path adds right under `base` (`P/{new}` or `P/{new}/...`).
fn added_under<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?.strip_prefix("/{")?;
    rest.split_once('}').map(|(name, _)| name)
}

/// The operations that act on what `POST base` creates: (operation id, its parameters'
/// sources).
fn links_for(paths: &Map<String, Value>, created_under: &str, creating_path: &str) -> Map<String, Value> {
    let known = parameters(creating_path);
    let mut links = Map::new();
    for (path, item) in paths {
        let Some(new) = added_under(path, created_under) else { continue };
        let mut sources = Map::new();
        for parameter in parameters(path) {
            let source = if parameter == new {
                let field = if new == "name" { "name" } else { "id" };
                format!("$response.body#/{field}")
            } else if known.contains(&parameter) {
                format!("$request.path.{parameter}")
            } else {
                // A parameter neither the request nor the answer has: no link.
                sources.clear();
                break;
            };
            sources.insert(parameter.to_owned(), Value::from(source));
        }
        if sources.is_empty() {
            continue;
        }
        for method in METHODS {
            let Some(operation_id) = item.pointer(&format!("/{method}/operationId")).and_then(Value::as_str) else {
                continue;
            };
            links.insert(operation_id.to_owned(), json!({ "operationId": operation_id, "parameters": sources }));
        }
    }
    links
}

impl Modify for Links {
    fn modify(&self, openapi: &mut OpenApi) {
        // utoipa's schema types are deep enums; the document's JSON is plain to walk.
        let Ok(mut json) = serde_json::to_value(&*openapi) else { return };
        let Some(Value::Object(paths)) = json.get("paths").cloned() else { return };
        for (path, item) in &paths {
            let Some(responses) = item.pointer("/post/responses").and_then(Value::as_object) else { continue };
            let Some(code) = ["201", "202"].into_iter().find(|code| responses.contains_key(*code)) else { continue };
            let mut links = links_for(&paths, path, path);
            if links.is_empty() && !path.ends_with('}') {
                if let Some((parent, _)) = path.rsplit_once('/') {
                    links = links_for(&paths, parent, path);
                }
            }
            if links.is_empty() {
                continue;
            }
            let pointer = format!("/paths/{}/post/responses/{code}", path.replace('~', "~0").replace('/', "~1"));
            if let Some(Value::Object(response)) = json.pointer_mut(&pointer) {
                response.insert("links".into(), Value::Object(links));
            }
        }
        if let Ok(linked) = serde_json::from_value(json) {
            *openapi = linked;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(document: &Value, path: &str, code: &str, operation: &str) -> Value {
        let pointer = format!("/paths/{}/post/responses/{code}/links/{operation}", path.replace('/', "~1"));
        document.pointer(&pointer).cloned().unwrap_or_else(|| panic!("no link {path} -> {operation}"))
    }

    #[test]
    fn ids_flow_from_each_creation_into_the_operations_on_what_it_made() {
        let document = serde_json::to_value(crate::openapi::document()).unwrap();
        assert_eq!(
            link(&document, "/v1/services", "201", "renew_service")["parameters"],
            json!({"id": "$response.body#/id"})
        );
        assert_eq!(
            link(&document, "/v1/services/{id}/mailboxes", "201", "get_mailbox")["parameters"],
            json!({"id": "$request.path.id", "mailbox_id": "$response.body#/id"})
        );
        assert_eq!(
            link(&document, "/v1/domains", "201", "get_domain")["parameters"],
            json!({"name": "$response.body#/name"})
        );
        assert_eq!(
            link(&document, "/v1/services/{id}/certificates/acme", "202", "get_certificate")["parameters"],
            json!({"id": "$request.path.id", "certificate_id": "$response.body#/id"})
        );
        let count = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|item| item.pointer("/post/responses"))
            .flat_map(|responses| responses.as_object().unwrap().values())
            .filter_map(|response| response.get("links").and_then(Value::as_object))
            .map(Map::len)
            .sum::<usize>();
        assert!(count > 60, "{count} links");
    }
}
