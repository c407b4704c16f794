//! What a request schema must say beyond what its Rust type gives utoipa: rules that
//! span fields (a DNS record's content by its type, a plan's quotas by its kind, bulk
//! parameters by their action, planned work's window by the incident's kind), list
//! items with a rule of their own, and one-of bodies. Each refinement names the
//! validator it states. Markers (`format: "host-name"`, ...) are turned into patterns
//! afterwards (super::text).

use serde_json::{json, Map, Value};
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::Modify;

use hostadmin_domain::catalog::{QuotaKey, ServiceKind};
use hostadmin_domain::name_patterns as names;

pub struct Refinements;

impl Modify for Refinements {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else { return };
        for (name, refine) in REFINEMENTS {
            let Some(schema) = components.schemas.get_mut(*name) else { continue };
            let Ok(mut json) = serde_json::to_value(&*schema) else { continue };
            refine(&mut json);
            open_conditions(&mut json, false);
            super::text::apply(&mut json);
            *schema = graft(schema.clone(), &json);
        }
    }
}

/// Subschemas of conditions and alternatives constrain the properties they name and no
/// others: they say so (`additionalProperties: true`, JSON Schema's default), so that
/// tools that assume `false` where nothing is said (Redocly's example check) read them
/// as meant. Schemas that say `false` themselves keep it.
fn open_conditions(value: &mut Value, inside: bool) {
    match value {
        Value::Object(object) => {
            if inside && object.contains_key("properties") && !object.contains_key("additionalProperties") {
                object.insert("additionalProperties".to_owned(), json!(true));
            }
            for (key, child) in object.iter_mut() {
                let conditional = matches!(key.as_str(), "if" | "then" | "else" | "not" | "oneOf" | "anyOf" | "allOf");
                open_conditions(child, inside || conditional);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| open_conditions(item, inside)),
        _ => {}
    }
}

/// `refined` as utoipa's model: what the model has fields for goes into them, every
/// other keyword (`allOf`, `if`, `not`, `oneOf` beside `properties`, ...) into the
/// extensions of the schema that has it, which serialise in place.
fn graft(schema: RefOr<Schema>, refined: &Value) -> RefOr<Schema> {
    let mut typed: RefOr<Schema> = serde_json::from_value(refined.clone()).unwrap_or(schema);
    let RefOr::T(inner) = &mut typed else { return typed };
    let kept = serde_json::to_value(&*inner).unwrap_or_default();
    let leftovers: Vec<(String, Value)> = refined
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| kept.get(key.as_str()).is_none())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let extensions = match inner {
        Schema::Object(object) => {
            for (name, child) in object.properties.iter_mut() {
                if let Some(refined_child) = refined["properties"].get(name) {
                    *child = graft(child.clone(), refined_child);
                }
            }
            &mut object.extensions
        }
        Schema::Array(array) => {
            if let (ArrayItems::RefOrSchema(items), Some(refined_items)) = (&mut array.items, refined.get("items")) {
                **items = graft((**items).clone(), refined_items);
            }
            &mut array.extensions
        }
        Schema::OneOf(one_of) => {
            graft_all(&mut one_of.items, &refined["oneOf"]);
            &mut one_of.extensions
        }
        Schema::AllOf(all_of) => {
            graft_all(&mut all_of.items, &refined["allOf"]);
            &mut all_of.extensions
        }
        Schema::AnyOf(any_of) => {
            graft_all(&mut any_of.items, &refined["anyOf"]);
            &mut any_of.extensions
        }
        _ => return typed,
    };
    // Extensions are a hash map, serialised in no fixed order: more than one keyword goes
    // into one `allOf`, so that the document is the same text every time.
    let leftovers = match leftovers.len() {
        0 => return typed,
        1 => leftovers,
        _ => {
            let mut parts: Vec<Value> = Vec::new();
            let mut rest = Map::new();
            for (key, value) in leftovers {
                match (key.as_str(), value) {
                    ("allOf", Value::Array(items)) => parts.extend(items),
                    (_, value) => {
                        rest.insert(key, value);
                    }
                }
            }
            parts.push(Value::Object(rest));
            vec![("allOf".to_owned(), Value::Array(parts))]
        }
    };
    extensions.get_or_insert_with(Default::default).extend(leftovers);
    typed
}

fn graft_all(items: &mut [RefOr<Schema>], refined: &Value) {
    for (index, item) in items.iter_mut().enumerate() {
        if let Some(refined_item) = refined.get(index) {
            *item = graft(item.clone(), refined_item);
        }
    }
}

type Refine = fn(&mut Value);

const REFINEMENTS: &[(&str, Refine)] = &[
    ("OrderItemRequest", order_items),
    ("SetServicePassword", service_password),
    ("LoginRequest", login),
    ("AdjustCredit", credit),
    ("CreatePlan", plan),
    ("Addon", addon),
    ("UpdatePlan", plan_patch),
    ("BulkServices", bulk_services),
    ("BulkDomains", bulk_domains),
    ("CreateIncident", incident),
    ("CreateDnsRecord", |schema| dns_record(schema, true)),
    ("UpdateDnsRecord", |schema| dns_record(schema, false)),
    ("CreateHost", host),
    ("UpdateDomain", domain),
    ("Redirect", redirect),
    ("CreateCsr", csr),
    ("OrderCertificate", acme),
    ("CreateForward", forward),
    ("UpdateForward", forward),
    ("CreateWebhook", webhook),
    ("UpdateWebhook", webhook),
    ("CreateAuthorization", authorization),
    ("UpdateAuthorization", authorization),
    ("CreatePayment", payment),
    ("UpdateMe", update_me),
    ("CreateCreditNote", credit_note),
    ("FileContent", file),
];

fn property<'a>(schema: &'a mut Value, name: &str) -> &'a mut Value {
    &mut schema["properties"][name]
}

fn all_of(schema: &mut Value, rules: Vec<Value>) {
    if let Value::Object(object) = schema {
        let list = object.entry("allOf").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.extend(rules);
        }
    }
}

/// Each item type takes only its own fields (`#[serde(deny_unknown_fields)]` on the
/// tagged enum of routes::orders).
fn order_items(schema: &mut Value) {
    if let Some(Value::Array(branches)) = schema.get_mut("oneOf") {
        for branch in branches {
            branch["additionalProperties"] = json!(false);
        }
    }
}

/// `{password}` or `{generate: true}`, not both and not neither
/// (routes::service_lifecycle::set_service_password).
fn service_password(schema: &mut Value) {
    schema["if"] = json!({"required": ["generate"], "properties": {"generate": {"const": true}}});
    schema["then"] = json!({"properties": {"password": {"type": "null"}}});
    schema["else"] = json!({"required": ["password"], "properties": {"password": {"type": "string"}}});
}

/// `totp_code` or `recovery_code`, not both (routes::auth::second_factor_of).
fn login(schema: &mut Value) {
    schema["not"] = json!({
        "required": ["totp_code", "recovery_code"],
        "properties": {"totp_code": {"type": "string"}, "recovery_code": {"type": "string"}}
    });
}

/// An adjustment adds or takes something (routes::credit).
fn credit(schema: &mut Value) {
    property(schema, "amount_minor")["not"] = json!({"const": 0});
}

/// A plan sets only the quotas (and add-ons raise only the quotas) that apply to its
/// kind (app::catalog::checked, QuotaKey::applies_to).
fn plan(schema: &mut Value) {
    let rules = ServiceKind::ALL
        .into_iter()
        .map(|kind| {
            let foreign: Vec<QuotaKey> = QuotaKey::ALL.into_iter().filter(|key| !key.applies_to(kind)).collect();
            let unset: Map<String, Value> =
                foreign.iter().map(|key| (key.as_str().to_owned(), json!({"type": "null"}))).collect();
            let zero: Map<String, Value> =
                foreign.iter().map(|key| (key.as_str().to_owned(), json!({"maximum": 0}))).collect();
            json!({
                "if": {"required": ["service_kind"], "properties": {"service_kind": {"const": kind.as_str()}}},
                "then": {"properties": {
                    "quotas": {"properties": unset},
                    "addons": {"items": {"properties": {"quota_delta": {"properties": zero}}}}
                }}
            })
        })
        .collect();
    all_of(schema, rules);
}

/// An add-on has a price (app::catalog::checked).
fn addon(schema: &mut Value) {
    property(schema, "prices")["minItems"] = json!(1);
}

/// A patch replaces prices and add-ons as a whole: 1-6 prices, at most 20 add-ons
/// (app::catalog::checked); the quotas are checked against the stored kind.
fn plan_patch(schema: &mut Value) {
    property(schema, "prices")["minItems"] = json!(1);
    property(schema, "prices")["maxItems"] = json!(6);
    property(schema, "addons")["maxItems"] = json!(20);
}

/// The parameters each action takes (app::bulk::Command::parse).
fn bulk_services(schema: &mut Value) {
    property(schema, "service_ids")["uniqueItems"] = json!(true);
    let reason = json!({"type": "string", "format": "text", "maxLength": 1000});
    let nameservers = nameservers();
    let rules = vec![
        action("renew", false, json!({"cycles": {"type": ["integer", "null"], "minimum": 1, "maximum": 10}})),
        action("suspend", true, json!({"reason": reason})),
        action(
            "unsuspend",
            false,
            json!({"reason": {"type": ["string", "null"], "format": "text", "maxLength": 1000}}),
        ),
        action("set_auto_renew", true, json!({"auto_renew": {"type": "boolean"}})),
        action("lock", false, json!({})),
        action("unlock", false, json!({})),
        action("set_nameservers", false, json!({"nameservers": nameservers})),
    ];
    all_of(schema, rules);
}

/// `if action == name then params` is an object of exactly these fields (`required`:
/// all of them but those that may be null, and `params` itself is then required).
fn action(name: &str, required: bool, fields: Value) -> Value {
    let names: Vec<String> = match &fields {
        Value::Object(fields) => fields
            .iter()
            .filter(|(_, schema)| !schema["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "null")))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Vec::new(),
    };
    let object = json!({
        "type": "object",
        "properties": fields,
        "required": names,
        "additionalProperties": false
    });
    let params = if required { object } else { json!({"oneOf": [{"type": "null"}, object]}) };
    let mut then = json!({"properties": {"params": params}});
    if required {
        then["required"] = json!(["params"]);
    }
    json!({"if": {"required": ["action"], "properties": {"action": {"const": name}}}, "then": then})
}

/// 2-13 distinct host names, or null (domains::Nameservers).
fn nameservers() -> Value {
    json!({
        "type": ["array", "null"],
        "items": {"type": "string", "format": "qualified-host-name", "maxLength": 254},
        "minItems": 2,
        "maxItems": 13,
        "uniqueItems": true
    })
}

fn bulk_domains(schema: &mut Value) {
    property(schema, "domains")["uniqueItems"] = json!(true);
    let rules = vec![
        action("lock", false, json!({})),
        action("unlock", false, json!({})),
        action("set_nameservers", false, json!({"nameservers": nameservers()})),
    ];
    all_of(schema, rules);
}

/// Planned work has its window, unplanned incidents have none (status::schedule_for).
fn incident(schema: &mut Value) {
    let planned = json!({"type": "string", "format": "date-time"});
    all_of(
        schema,
        vec![json!({
            "if": {"required": ["kind"], "properties": {"kind": {"enum": ["maintenance", "change"]}}},
            "then": {
                "required": ["scheduled_start", "scheduled_end"],
                "properties": {"scheduled_start": planned, "scheduled_end": planned}
            },
            "else": {"properties": {"scheduled_start": {"type": "null"}, "scheduled_end": {"type": "null"}}}
        })],
    );
}

/// SRV and CAA numbers: 1-5 digits (leading zeros allowed) up to `max`.
fn number_upto_65535() -> &'static str {
    "(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
}

fn number_upto_255() -> &'static str {
    "(?:0{0,4}[0-9]{1,2}|0{0,3}1[0-9]{2}|0{0,3}2[0-4][0-9]|0{0,3}25[0-5])"
}

/// A record's content and priority by its type, and the names a type may not take
/// (dns::DnsRecord::parse). For a patch the rules apply to the fields it sends with
/// `type`; the stored record fills in the rest.
fn dns_record(schema: &mut Value, create: bool) {
    property(schema, "ttl")["minimum"] = json!(60);
    property(schema, "ttl")["maximum"] = json!(604_800);
    property(schema, "priority")["minimum"] = json!(0);
    property(schema, "priority")["maximum"] = json!(65_535);
    let target = |underscore, root| {
        let whole = names::record_target(underscore, root);
        whole.trim_start_matches('^').trim_end_matches('$').to_owned()
    };
    let space = "[\\t\\n\\x0c\\r ]";
    let srv = format!("^{space}*{n}{space}+{n}{space}+{t}{space}*$", n = number_upto_65535(), t = target(false, true));
    let caa_value = r#"(?:"(?:[ !#-\[\]-~]|\\["\\])*"|[!#-\[\]-~]+)"#;
    let caa = format!("^ *{} +[A-Za-z0-9]{{1,15}} +{caa_value} *$", number_upto_255());
    let srv_name = "^_(?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])\\._(?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$";
    // One branch per type (and for a patch one without `type`): a `oneOf` on the type's
    // constant generates and validates better than a chain of if/then.
    let branch = |kind: &str, content: Value, name: Option<Value>| {
        let mut properties = json!({"type": {"const": kind}, "content": content});
        if let Some(name) = name {
            properties["name"] = name;
        }
        let mut branch = json!({"required": ["type"], "properties": properties});
        if !matches!(kind, "MX" | "SRV") {
            branch["properties"]["priority"] = json!({"type": "null"});
        } else if create {
            branch["required"] = json!(["type", "priority"]);
            branch["properties"]["priority"] = json!({"type": "integer"});
        }
        branch
    };
    let mut branches = vec![
        branch("A", json!({"format": "ipv4"}), None),
        branch("AAAA", json!({"format": "ipv6"}), None),
        branch("CNAME", json!({"pattern": format!("^{}$", target(true, false))}), Some(json!({"not": {"const": "@"}}))),
        branch(
            "NS",
            json!({"pattern": format!("^{}$", target(false, false))}),
            Some(json!({"not": {"pattern": "^(?:@|\\*.*)$"}})),
        ),
        branch("MX", json!({"pattern": format!("^{}$", target(false, true))}), None),
        branch("TXT", json!({"format": "no-controls", "maxLength": 4080}), None),
        branch("SRV", json!({"pattern": srv}), Some(json!({"pattern": srv_name}))),
        branch("CAA", json!({"pattern": caa}), None),
    ];
    if !create {
        branches.push(json!({"not": {"required": ["type"], "properties": {"type": {}}}}));
    }
    schema["oneOf"] = Value::Array(branches);
    property(schema, "content")["description"] = json!(
        "By `type`: A an IPv4 address, AAAA an IPv6 address; CNAME, NS, MX a host name (a final dot makes it \
         absolute, otherwise it is relative to the zone; `@` is the apex; MX also `.`: no mail); TXT the raw text \
         (no control characters, at most 4,080 bytes; the server splits it into 255-byte strings); SRV \
         `weight port target` (the priority is separate); CAA `flags tag value` (e.g. `0 issue \"letsencrypt.org\"`; \
         `issue`, `issuewild` and `iodef` values are checked as RFC 8659 defines them)."
    );
}

/// 1-13 distinct addresses (domains::HostAddresses).
fn host(schema: &mut Value) {
    property(schema, "ips")["minItems"] = json!(1);
    property(schema, "ips")["maxItems"] = json!(13);
    property(schema, "ips")["uniqueItems"] = json!(true);
    property(schema, "ips")["items"] = json!({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]});
}

fn domain(schema: &mut Value) {
    let description = property(schema, "nameservers")["description"].clone();
    *property(schema, "nameservers") = nameservers();
    property(schema, "nameservers")["description"] = description;
}

/// `301`, `302` or `masked` (domains::RedirectType).
fn redirect(schema: &mut Value) {
    property(schema, "type")["enum"] = json!(["301", "302", "masked"]);
}

/// Names a certificate covers (certificates::CertificateName).
fn certificate_names() -> Value {
    json!({"type": "string", "format": "certificate-name", "maxLength": 253})
}

fn csr(schema: &mut Value) {
    property(schema, "sans")["items"] = certificate_names();
}

fn acme(schema: &mut Value) {
    property(schema, "names")["items"] = certificate_names();
}

/// 1-50 addresses, each once (mailboxes::ForwardDestinations; case-insensitively,
/// which `uniqueItems` does not say).
fn forward(schema: &mut Value) {
    let destinations = property(schema, "destinations");
    destinations["items"] = json!({"type": "string", "format": "destination-address", "maxLength": 254});
    destinations["uniqueItems"] = json!(true);
}

/// 1-50 filters, each once (webhooks::EventFilters).
fn webhook(schema: &mut Value) {
    let events = property(schema, "events");
    events["items"] = json!({"type": "string", "format": "event-filter"});
    events["uniqueItems"] = json!(true);
}

/// Each permission once (authorizations).
fn authorization(schema: &mut Value) {
    property(schema, "permissions")["uniqueItems"] = json!(true);
}

/// A payment is recorded with how it reached the seller; `credit` is apply-credit's.
fn payment(schema: &mut Value) {
    let description = property(schema, "method")["description"].clone();
    *property(schema, "method") =
        json!({"type": "string", "enum": ["bank_transfer", "cash", "card", "other"], "description": description});
}

/// A new email address needs the current password (routes::me).
fn update_me(schema: &mut Value) {
    all_of(
        schema,
        vec![json!({
            "if": {"required": ["email"], "properties": {"email": {}}},
            "then": {"required": ["current_password"], "properties": {"current_password": {"type": "string"}}}
        })],
    );
}

/// A credit note is for at most 10^12 minor units (routes::invoices).
fn credit_note(schema: &mut Value) {
    property(schema, "amount_minor")["maximum"] = json!(1_000_000_000_000_i64);
}

/// An attachment is not empty (support::Attachment).
fn file(schema: &mut Value) {
    schema["minLength"] = json!(1);
}
