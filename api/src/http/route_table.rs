//! The routes as the OpenAPI document declares them: path templates, their methods and
//! each operation's query parameters. Built once from the document the server serves, so
//! that what the server accepts and what it documents cannot disagree: the fallback
//! answers 405 with the methods a path has, and the query guard refuses a parameter an
//! operation does not declare, or a value its schema does not allow, naming it.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde_json::Value;

use hostadmin_domain::validation::Invalid;

/// What a query parameter takes, as far as the guard checks it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    Text {
        min_length: Option<u64>,
        max_length: Option<u64>,
    },
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
    Boolean,
    DateTime,
    /// `format: uuid`: hyphenated hexadecimal, 8-4-4-4-12.
    Uuid,
    OneOf(Vec<String>),
}

impl ParamKind {
    /// Refuses `value` when the parameter's schema does not allow it.
    pub fn check(&self, value: &str) -> Result<(), Invalid> {
        match self {
            Self::Text { min_length, max_length } => {
                let length = value.chars().count() as u64;
                if min_length.is_some_and(|min| length < min) || max_length.is_some_and(|max| length > max) {
                    let (min, max) = (min_length.unwrap_or(0), max_length.map_or("any".to_owned(), |m| m.to_string()));
                    return Err(Invalid::new("invalid_length", format!("must be {min} to {max} characters long")));
                }
                Ok(())
            }
            Self::Integer { minimum, maximum } => {
                let number: i64 = value.parse().map_err(|_| Invalid::new("invalid_value", "must be a whole number"))?;
                if minimum.is_some_and(|min| number < min) || maximum.is_some_and(|max| number > max) {
                    return Err(Invalid::new(
                        "out_of_range",
                        format!(
                            "must be from {} to {}",
                            minimum.map_or("any".to_owned(), |m| m.to_string()),
                            maximum.map_or("any".to_owned(), |m| m.to_string())
                        ),
                    ));
                }
                Ok(())
            }
            Self::Boolean => match value {
                "true" | "false" => Ok(()),
                _ => Err(Invalid::new("invalid_value", "must be true or false")),
            },
            Self::DateTime => DateTime::parse_from_rfc3339(value).map(|_| ()).map_err(|_| {
                Invalid::new("invalid_value", "must be an RFC 3339 date and time, e.g. 2026-12-05T10:00:00Z")
            }),
            Self::Uuid => {
                let groups: Vec<&str> = value.split('-').collect();
                let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
                    && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
                if shaped {
                    Ok(())
                } else {
                    Err(Invalid::new("invalid_value", "must be an id (a UUID)"))
                }
            }
            Self::OneOf(values) => {
                if values.iter().any(|allowed| allowed == value) {
                    Ok(())
                } else {
                    Err(Invalid::new("invalid_value", format!("must be one of: {}", values.join(", "))))
                }
            }
        }
    }
}

/// One operation: its method and its query parameters by name.
#[derive(Debug, Clone)]
struct Operation {
    method: String,
    query: BTreeMap<String, ParamKind>,
    /// Whether it needs a credential: then its query is checked after authentication.
    secured: bool,
}

/// One path template (`/v1/customers/{id}`) and its operations.
#[derive(Debug, Clone)]
struct Route {
    segments: Vec<String>,
    operations: Vec<Operation>,
}

impl Route {
    fn is_placeholder(segment: &str) -> bool {
        segment.starts_with('{') && segment.ends_with('}')
    }

    fn matches(&self, path: &[&str]) -> bool {
        self.segments.len() == path.len()
            && self.segments.iter().zip(path).all(|(t, p)| (Self::is_placeholder(t) && !p.is_empty()) || t == p)
    }

    /// Its methods in order, if it has any.
    fn methods(&self) -> Option<Vec<String>> {
        let mut methods: Vec<String> = self.operations.iter().map(|o| o.method.clone()).collect();
        methods.sort();
        (!methods.is_empty()).then_some(methods)
    }

    /// How specific the template is: a literal segment beats a placeholder
    /// (`/certificates/csr` before `/certificates/{certificate_id}`).
    fn literals(&self) -> usize {
        self.segments.iter().filter(|s| !Self::is_placeholder(s)).count()
    }
}

/// Every route of the document.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<Route>);

const METHODS: [&str; 6] = ["get", "head", "post", "put", "patch", "delete"];

impl RouteTable {
    pub fn from_openapi(document: &utoipa::openapi::OpenApi) -> Self {
        let Ok(document) = serde_json::to_value(document) else { return Self::default() };
        let schemas = &document["components"]["schemas"];
        let routes = document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| Route {
                segments: path.split('/').map(str::to_owned).collect(),
                operations: METHODS
                    .iter()
                    .filter_map(|method| {
                        let operation = item.get(*method)?;
                        let secured = operation["security"].as_array().is_some_and(|requirements| {
                            requirements.iter().any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
                        });
                        Some(Operation {
                            method: method.to_ascii_uppercase(),
                            query: query_of(operation, schemas),
                            secured,
                        })
                    })
                    .collect(),
            })
            .collect();
        Self(routes)
    }

    /// The route a request path is served by: the most specific matching template.
    fn route(&self, path: &str) -> Option<&Route> {
        let wanted: Vec<&str> = path.split('/').collect();
        self.0.iter().filter(|route| route.matches(&wanted)).max_by_key(|route| route.literals())
    }

    /// The methods allowed on `path`, if a template matches it.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        self.route(path)?.methods()
    }

    /// The methods allowed on `path`, when a template matches it and `method` is not
    /// among them (what a `405` lists); `None` otherwise. Every request asks, so the
    /// list is only made for a refusal.
    pub fn refused_method(&self, path: &str, method: &str) -> Option<Vec<String>> {
        let route = self.route(path)?;
        if route.operations.iter().any(|o| o.method == method) {
            return None;
        }
        route.methods()
    }

    /// The query parameters the operation `method path` declares, and whether it needs a
    /// credential; `None` when the document has no such operation (the fallback answers it).
    pub fn query_of(&self, method: &str, path: &str) -> Option<(&BTreeMap<String, ParamKind>, bool)> {
        let method = if method == "HEAD" { "GET" } else { method };
        self.route(path)?.operations.iter().find(|o| o.method == method).map(|o| (&o.query, o.secured))
    }
}

fn query_of(operation: &Value, schemas: &Value) -> BTreeMap<String, ParamKind> {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|parameter| parameter["in"] == "query")
        .filter_map(|parameter| {
            let name = parameter["name"].as_str()?.to_owned();
            Some((name, kind_of(&parameter["schema"], schemas)))
        })
        .collect()
}

/// The kind of a parameter's schema, following `$ref`s into the components and the
/// non-null branch of an optional.
fn kind_of(schema: &Value, schemas: &Value) -> ParamKind {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return kind_of(&schemas[name], schemas);
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(branch) =
            schema[combinator].as_array().and_then(|branches| branches.iter().find(|b| b["type"] != "null"))
        {
            return kind_of(branch, schemas);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return ParamKind::OneOf(values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").and_then(Value::as_str).unwrap_or("string"),
        other => other.as_str().unwrap_or("string"),
    };
    match (kind, schema["format"].as_str()) {
        ("integer", _) => {
            ParamKind::Integer { minimum: schema["minimum"].as_i64(), maximum: schema["maximum"].as_i64() }
        }
        ("boolean", _) => ParamKind::Boolean,
        ("string", Some("date-time")) => ParamKind::DateTime,
        ("string", Some("uuid")) => ParamKind::Uuid,
        _ => ParamKind::Text { min_length: schema["minLength"].as_u64(), max_length: schema["maxLength"].as_u64() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_kinds_check_values_as_their_schemas_say() {
        let limit = ParamKind::Integer { minimum: Some(1), maximum: Some(100) };
        assert!(limit.check("20").is_ok());
        assert_eq!(limit.check("0").map_err(|e| e.code), Err("out_of_range"));
        assert_eq!(limit.check("ten").map_err(|e| e.code), Err("invalid_value"));
        assert!(ParamKind::DateTime.check("2026-12-05T10:00:00Z").is_ok());
        assert!(ParamKind::DateTime.check("tomorrow").is_err());
        let status = ParamKind::OneOf(vec!["active".into(), "suspended".into()]);
        assert!(status.check("active").is_ok());
        assert!(status.check("stauts").is_err());
        assert!(ParamKind::Boolean.check("yes").is_err());
        assert!(ParamKind::Uuid.check("0193a1b2-0000-7000-8000-0000000000b1").is_ok());
        for not_an_id in ["", "0193a1b200007000800000000000000b1", "0193a1b2-0000-7000-8000-0000000000bz", "x"] {
            assert!(ParamKind::Uuid.check(not_an_id).is_err(), "{not_an_id:?}");
        }
        let q = ParamKind::Text { min_length: Some(1), max_length: Some(3) };
        assert!(q.check("abcd").is_err());
        assert!(q.check("").is_err());
    }

    #[test]
    fn the_table_is_the_documents() {
        let table = RouteTable::from_openapi(&crate::openapi::document());
        let (services, secured) = table.query_of("GET", "/v1/services").unwrap();
        assert!(secured);
        assert!(!table.query_of("GET", "/v1/openapi.json").unwrap().1);
        assert!(services.contains_key("status") && services.contains_key("limit") && !services.contains_key("stauts"));
        assert!(matches!(services["status"], ParamKind::OneOf(_)), "enums are followed through $ref");
        assert!(table.query_of("GET", "/v1/no-such-route").is_none());
        let csr = table.allowed("/v1/services/0190a000-0000-7000-8000-000000000001/certificates/csr").unwrap();
        assert_eq!(csr, vec!["POST".to_owned()], "a literal segment is more specific than a placeholder");
        let path = "/v1/services/0190a000-0000-7000-8000-000000000001/certificates/csr";
        assert_eq!(table.refused_method(path, "GET"), Some(vec!["POST".to_owned()]));
        assert_eq!(table.refused_method(path, "POST"), None);
        assert_eq!(table.refused_method("/v1/no-such-route", "GET"), None);
    }
}
