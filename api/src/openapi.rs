//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes
//! through the same route list the server serves.

use actix_web::App;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi as _, ToSchema};
use utoipa_actix_web::{scope, AppExt};

use crate::http::problem::{FieldError, Problem};
use crate::routes;
use links::Links;

mod ids;
mod links;
mod pages;
mod refinements;
mod scopes;
mod text;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "hostadmin",
        description = "The customer administration and reseller control panel API of a web hosting provider.\n\n\
Errors are `application/problem+json` (RFC 9457) with a stable `code`. Lists are cursor-paginated \
(`limit` 1-100, `cursor`). Authenticate with `Authorization: Bearer <access token>` from `/v1/auth/login`, \
or `Authorization: Bearer hk_...` with an API key.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    components(schemas(Problem, FieldError)),
    servers((url = "/", description = "The server this document is served by")),
    modifiers(&SecuritySchemes, &SharedErrors, &Links),
    tags(
        (name = "Authentication", description = "Log in, refresh, log out"),
        (name = "Current account", description = "The account the caller is logged in as"),
        (name = "API keys", description = "Keys for integrations and scripts"),
        (name = "Customers", description = "Accounts below the caller"),
        (name = "Authorized users", description = "Grants: sharing one's services with other accounts, with permissions"),
        (name = "Audit log", description = "Who changed what, when"),
        (name = "Catalog", description = "Plans: quotas, prices per billing cycle, add-ons"),
        (name = "Services", description = "What accounts bought, and their lifecycle"),
        (name = "Domains", description = "Domain names on hosting services: name servers, lock, redirects, child hosts"),
        (name = "DNS", description = "Records of a domain's zone, and the zone as RFC 1035 text"),
        (name = "Mail", description = "Mailboxes and forwards of a hosting service"),
        (name = "Certificates", description = "TLS certificates of a hosting service: uploads and CSRs; private keys stay on the server"),
        (name = "FTP users", description = "FTP logins of a hosting service, confined to the service's root"),
        (name = "Databases", description = "MySQL and PostgreSQL databases of a hosting service, with their users"),
        (name = "Billing", description = "Seller settings, orders, invoices (JSON, HTML, PDF, UBL), payments and credit"),
        (name = "Support", description = "Tickets between an account and its seller: messages, internal notes, attachments"),
        (name = "Status page", description = "Components, incidents and planned work; public summary, history and Atom feed"),
        (name = "Jobs", description = "Background jobs: large bulk actions and their progress"),
        (name = "Webhooks", description = "Signed event deliveries (Standard Webhooks) to the caller's endpoints, with their delivery logs"),
        (name = "Login links", description = "One-click, single-use login links to a service's tools (panel, webmail, database, files)"),
        (name = "System", description = "Health, readiness, metrics, this document"),
    )
)]
struct Base;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some("An access token from `/v1/auth/login` or `/v1/auth/refresh`.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let mut api_key = Http::new(HttpAuthScheme::Bearer);
        api_key.bearer_format = Some("hk_...".into());
        api_key.description = Some(
            "An API key (`hk_...`) with the scopes the route needs. Never accepted in a URL or another header.".into(),
        );
        components.add_security_scheme("api_key", SecurityScheme::Http(api_key));
        let mut tool_key = Http::new(HttpAuthScheme::Bearer);
        tool_key.description = Some(
            "A tool key from `HOSTADMIN_TOOL_KEYS`: the control panel, webmail, database tool or file manager redeeming a login link.".into(),
        );
        components.add_security_scheme("tool_key", SecurityScheme::Http(tool_key));
    }
}

/// Documents what follows from the conventions, so that a handler declares only what is
/// its own: every `/v1` operation is secured by a bearer token or an API key unless it says
/// `security(())`; an operation with a path parameter can answer `404`; one that takes
/// `If-Match` can answer `412`; one that takes `Idempotency-Key` can answer `409
/// idempotency_in_progress`; and every operation the shared errors.
struct SharedErrors;

fn takes_header(operation: &utoipa::openapi::path::Operation, name: &str) -> bool {
    operation.parameters.as_ref().is_some_and(|parameters| {
        parameters.iter().any(|p| match p {
            RefOr::T(p) => p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name),
            RefOr::Ref(_) => false,
        })
    })
}

fn has_path_parameter(path: &str) -> bool {
    path.contains('{')
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name(Problem::name()))).build(),
            )
            .build(),
    )
}

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let is_api = path.starts_with("/v1/") && path != "/v1/openapi.json";
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                if is_api && operation.security.is_none() {
                    operation.security = Some(vec![
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("api_key", Vec::<String>::new()),
                    ]);
                }
                let secured = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| requirements.iter().any(|r| r != &Default::default()));
                let mut shared = vec![("500", "`internal`: an error on our side; the request id identifies it")];
                if is_api {
                    shared.extend([
                        ("400", "`malformed_json`, `idempotency_not_supported`"),
                        ("413", "`payload_too_large`: more than 64 KiB"),
                        ("415", "`unsupported_media_type`: the body is not JSON"),
                        ("422", "`validation_failed`, `unknown_field`, `invalid_cursor`, `invalid_credentials`: see `errors`"),
                        ("429", "`rate_limited`: see `Retry-After`"),
                        ("503", "`unavailable`: busy; see `Retry-After`"),
                    ]);
                }
                if secured {
                    shared.extend([
                        ("401", "`unauthenticated` or `token_expired`"),
                        ("403", "`forbidden`, `insufficient_scope`, `impersonation_forbidden`, `account_suspended`"),
                    ]);
                }
                if is_api && has_path_parameter(path) {
                    shared.push(("404", "`not_found`: no such object, or not one the caller may see"));
                }
                if takes_header(operation, "If-Match") {
                    shared.push(("412", "`precondition_failed`: the `If-Match` sent is stale; nothing changed"));
                }
                if takes_header(operation, "Idempotency-Key") {
                    shared.push(("409", "`idempotency_in_progress`: the first request with this key still runs"));
                }
                for (status, description) in shared {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
                }
            }
        }
    }
}

/// Documents the headers the conventions put on answers: `X-Request-Id` on every
/// answer, the RateLimit fields on every answer to a secured operation, `Retry-After` on
/// 429 and 503, `WWW-Authenticate` on 401, `Idempotent-Replayed` on the successes of an
/// operation that takes `Idempotency-Key`.
struct ResponseHeaders;

fn header(description: &str) -> RefOr<utoipa::openapi::header::Header> {
    RefOr::T(
        utoipa::openapi::header::HeaderBuilder::new()
            .schema(Some(utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::String)))
            .description(Some(description))
            .build(),
    )
}

impl Modify for ResponseHeaders {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let is_api = path.starts_with("/v1/");
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                let secured = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| requirements.iter().any(|r| r != &Default::default()));
                let idempotent = takes_header(operation, "Idempotency-Key");
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    let mut add = |name: &str, description: &str| {
                        response.headers.entry(name.to_owned()).or_insert_with(|| header(description));
                    };
                    add("X-Request-Id", "The request's id (the one sent, when valid); logs and problems carry it.");
                    if is_api && secured {
                        add(
                            "RateLimit-Policy",
                            "The caller's quota: `\"requests\";q=1200;w=60` (IETF RateLimit header fields).",
                        );
                        add(
                            "RateLimit",
                            "What is left of it: `\"requests\";r=<remaining>;t=<seconds until it is whole again>`.",
                        );
                    }
                    match status.as_str() {
                        "429" | "503" => add("Retry-After", "Seconds to wait before trying again."),
                        "401" => add("WWW-Authenticate", "`Bearer realm=\"hostadmin\"` (RFC 6750)."),
                        success if idempotent && success.starts_with('2') => add(
                            "Idempotent-Replayed",
                            "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.",
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Every `GET` is also answered to `HEAD`, without its body (crate::http::conditional).
struct HeadOperations;

impl Modify for HeadOperations {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let Some(get) = &item.get else { continue };
            let mut head = get.clone();
            head.operation_id = get.operation_id.as_ref().map(|id| format!("{id}_head"));
            head.summary = Some("The same answer as GET, without its body".to_owned());
            let heading = "Answers as `GET` does, with the same status and headers, but no body.";
            head.description = Some(match &get.description {
                Some(description) => format!("{heading}\n\n{description}"),
                None => heading.to_owned(),
            });
            for response in head.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response.content.clear();
                    response.links.clear();
                }
            }
            item.head = Some(head);
        }
    }
}

/// The document, as served at `/v1/openapi.json` and checked in at `openapi/v1.json`.
pub fn document() -> OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(Base::openapi())
        .configure(routes::configure_system)
        .service(scope::scope("/v1").configure(routes::configure_v1))
        .split_for_parts();
    // The routes were collected after `Base`'s modifiers ran: run them again.
    SharedErrors.modify(&mut document);
    scopes::Scopes.modify(&mut document);
    ResponseHeaders.modify(&mut document);
    Links.modify(&mut document);
    HeadOperations.modify(&mut document);
    ids::UuidIds.modify(&mut document);
    text::TextRules.modify(&mut document);
    pages::PageItemRefs.modify(&mut document);
    // Last of the passes that go through JSON: it puts keywords utoipa has no fields for
    // into extensions, which a JSON round trip would drop.
    refinements::Refinements.modify(&mut document);
    ProblemCodes.modify(&mut document);
    AuditNames.modify(&mut document);
    document
}

/// `Problem.code` as the enum of every code the server gives
/// (`http::problem_codes::ALL`), so that a client's typo in a code does not compile.
struct ProblemCodes;

impl Modify for ProblemCodes {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::schema::Schema;
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") else { return };
        if let Some(RefOr::T(Schema::Object(code))) = problem.properties.get_mut("code") {
            code.enum_values = Some(crate::http::problem_codes::names().map(serde_json::Value::from).collect());
            code.description =
                Some("Stable and machine-readable; docs/errors.md says what each means and what to do.".into());
        }
    }
}

/// The audit log's `action` and `target_type` as the enums of every name the server
/// writes (`domain::audit::ALL`, `target::ALL`), and its `details` as an object of any
/// fields (`additionalProperties: true`: a generated client reads them, where a bare
/// `object` would type them as nothing).
struct AuditNames;

impl Modify for AuditNames {
    fn modify(&self, openapi: &mut OpenApi) {
        use hostadmin_domain::audit;
        use utoipa::openapi::schema::Schema;
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(RefOr::T(Schema::Object(event))) = components.schemas.get_mut("AuditEventView") else { return };
        for (property, names) in [("action", &audit::ALL[..]), ("target_type", &audit::target::ALL[..])] {
            if let Some(RefOr::T(Schema::Object(field))) = event.properties.get_mut(property) {
                field.enum_values = Some(names.iter().map(|name| serde_json::Value::from(*name)).collect());
            }
        }
        if let Some(RefOr::T(Schema::Object(details))) = event.properties.get_mut("details") {
            details.additional_properties =
                Some(Box::new(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)));
        }
    }
}

/// The document as checked in: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_document_matches_the_code() {
        let checked_in = include_str!("../../openapi/v1.json");
        assert!(
            checked_in == document_json(),
            "openapi/v1.json is stale: run `cargo run -q -- openapi > openapi/v1.json`"
        );
    }

    #[test]
    fn the_document_is_the_same_text_every_time() {
        let first = document_json();
        for _ in 0..3 {
            assert!(document_json() == first, "the document's text changes from one run to the next");
        }
    }

    /// Every operation but HEAD (which repeats its GET's), with its method and path.
    fn operations(document: &OpenApi) -> Vec<(String, &utoipa::openapi::path::Operation)> {
        let mut all = Vec::new();
        for (path, item) in &document.paths.paths {
            let methods = [("get", &item.get), ("post", &item.post), ("put", &item.put), ("patch", &item.patch)];
            for (method, operation) in methods.into_iter().chain([("delete", &item.delete)]) {
                if let Some(operation) = operation {
                    all.push((format!("{method} {path}"), operation));
                }
            }
        }
        all
    }

    #[test]
    fn every_operation_has_a_description() {
        let document = document();
        let mut missing = Vec::new();
        for (name, operation) in operations(&document) {
            let id = operation.operation_id.as_deref().unwrap_or_default();
            let described = operation.description.as_deref().is_some_and(|text| !text.trim().is_empty());
            if !described {
                missing.push(format!("{name} ({id})"));
            }
        }
        assert!(
            missing.is_empty(),
            "operations without a description (a doc comment's paragraphs after the first line): {missing:?}"
        );
        for item in document.paths.paths.values() {
            if let Some(head) = &item.head {
                assert!(head.description.is_some(), "{:?}", head.operation_id);
            }
        }
    }

    /// A description says what an API key needs: each scope of the operation's security
    /// requirement, or, where no key is accepted, that API keys are not.
    #[test]
    fn every_description_names_the_api_key_scopes_it_needs() {
        let document = document();
        let mut unsaid = Vec::new();
        for (name, operation) in operations(&document) {
            let id = operation.operation_id.as_deref().unwrap_or_default();
            let Some(description) = operation.description.as_deref() else { continue };
            // Doc comments wrap anywhere: compare words, not lines.
            let description = description.split_whitespace().collect::<Vec<_>>().join(" ");
            let json = serde_json::to_value(operation.security.as_deref().unwrap_or_default()).unwrap_or_default();
            let requirements = json.as_array().cloned().unwrap_or_default();
            let scopes: Vec<String> = requirements
                .iter()
                .filter_map(|requirement| requirement.get("api_key")?.as_array().cloned())
                .flatten()
                .filter_map(|scope| scope.as_str().map(str::to_owned))
                .collect();
            for scope in &scopes {
                if !description.contains(&format!("`{scope}`")) {
                    unsaid.push(format!("{name} ({id}): `{scope}`"));
                }
            }
            let bearer_only = requirements.iter().any(|r| r.get("bearer").is_some())
                && !requirements.iter().any(|r| r.get("api_key").is_some());
            if bearer_only && !description.contains("API key") {
                unsaid.push(format!("{name} ({id}): that API keys are refused"));
            }
        }
        assert!(unsaid.is_empty(), "descriptions that do not say what an API key needs: {unsaid:?}");
    }

    /// A request body or a JSON success answer has an example of its own or its schema's,
    /// so that the rendered reference and a client's mock show a real one.
    #[test]
    fn every_json_body_and_success_answer_has_an_example() {
        let document = serde_json::to_value(document()).unwrap();
        let schemas = &document["components"]["schemas"];
        let exemplified = |media: &serde_json::Value| {
            let schema = &media["schema"];
            let named = schema["$ref"].as_str().and_then(|name| name.rsplit('/').next());
            media.get("example").is_some()
                || schema.get("example").is_some()
                || named.is_some_and(|name| schemas[name].get("example").is_some())
        };
        let mut missing = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            // The document itself is its own example.
            if path == "/v1/openapi.json" {
                continue;
            }
            for (method, operation) in item.as_object().unwrap() {
                let bodies = operation["requestBody"]["content"].as_object().into_iter().flatten();
                let answers = operation["responses"].as_object().into_iter().flatten();
                let successes = answers
                    .filter(|(status, _)| status.starts_with('2'))
                    .filter_map(|(status, answer)| Some((status, answer["content"].as_object()?)));
                for (content_type, media) in bodies {
                    let json = content_type == "application/json" || content_type.ends_with("+json");
                    if json && !exemplified(media) {
                        missing.push(format!("{method} {path}: request body"));
                    }
                }
                for (status, contents) in successes {
                    if contents.get("application/json").is_some_and(|media| !exemplified(media)) {
                        missing.push(format!("{method} {path}: {status}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{} without an example: {missing:#?}", missing.len());
    }

    #[test]
    fn an_api_key_may_hold_every_scope() {
        let document = serde_json::to_value(document()).unwrap();
        let scopes = &document["components"]["schemas"]["CreateApiKey"]["properties"]["scopes"];
        assert_eq!(scopes["maxItems"], hostadmin_domain::scopes::Scope::ALL.len(), "{scopes}");
    }

    #[test]
    fn every_operation_documents_its_errors_and_is_secured_or_public_on_purpose() {
        let document = document();
        assert!(document.paths.paths.len() >= 14);
        let created = &document.paths.paths["/v1/customers"].post.as_ref().unwrap().responses.responses["201"];
        let RefOr::T(created) = created else { panic!("inline response") };
        assert!(created.links.contains_key("get_customer"), "links name real operations");
        for (path, item) in &document.paths.paths {
            for operation in [&item.get, &item.post, &item.put, &item.patch, &item.delete].into_iter().flatten() {
                assert!(operation.responses.responses.contains_key("500"), "{path}");
                assert!(operation.security.is_some(), "{path}: say who may call it");
                if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                    for status in ["422", "429"] {
                        assert!(operation.responses.responses.contains_key(status), "{path} {status}");
                    }
                }
            }
        }
    }
}
