//! The API key scope each operation needs, in its security requirement: taken from the
//! rule table (`Action::rule`) through the actions each handler takes, which build.rs
//! reads from the route files. An operation whose actions no API key may take is
//! secured by the bearer token alone.

use std::collections::BTreeSet;

use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::OpenApi;
use utoipa::Modify;

use hostadmin_domain::policy::Action;

include!(concat!(env!("OUT_DIR"), "/operation_actions.rs"));

/// The actions a handler takes, by its operation id; `None` for an unknown operation.
fn actions_of(operation_id: &str) -> Option<Vec<Action>> {
    let (_, names) = OPERATION_ACTIONS.iter().find(|(id, _)| *id == operation_id)?;
    Some(names.iter().filter_map(|name| serde_json::from_value(serde_json::Value::from(*name)).ok()).collect())
}

/// The scopes an API key may take the operation with: one of them suffices (an operation
/// whose action depends on its input, such as a quote or a change of plan).
fn scopes_of(actions: &[Action]) -> BTreeSet<&'static str> {
    actions.iter().filter_map(|action| action.rule().scope).map(|scope| scope.as_str()).collect()
}

pub struct Scopes;

impl Modify for Scopes {
    fn modify(&self, openapi: &mut OpenApi) {
        let conventional = [
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("api_key", Vec::<String>::new()),
        ];
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                // Only the operations secured by the convention: public ones and the
                // tool-key route say what they take themselves.
                if operation.security.as_deref() != Some(&conventional[..]) {
                    continue;
                }
                let Some(actions) = operation.operation_id.as_deref().and_then(actions_of) else { continue };
                if actions.is_empty() {
                    continue;
                }
                let mut security = vec![conventional[0].clone()];
                security
                    .extend(scopes_of(&actions).into_iter().map(|scope| SecurityRequirement::new("api_key", [scope])));
                operation.security = Some(security);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_a_handler_names_is_one_of_the_policy() {
        for (operation, names) in OPERATION_ACTIONS {
            for name in *names {
                let parsed: Result<Action, _> = serde_json::from_value(serde_json::Value::from(*name));
                assert!(parsed.is_ok(), "{operation} names Action::{name}, which the policy does not know");
            }
        }
    }

    #[test]
    fn every_secured_operation_says_what_it_takes() {
        let json = serde_json::to_value(crate::openapi::document()).unwrap();
        let mut unexplained = Vec::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(security) = operation["security"].as_array() else { continue };
                let id = operation["operationId"].as_str().unwrap_or_default();
                let bare_api_key =
                    security.iter().any(|r| r.get("api_key").is_some_and(|s| s == &serde_json::json!([])));
                if bare_api_key {
                    unexplained.push(format!("{method} {path} ({id})"));
                }
            }
        }
        assert!(unexplained.is_empty(), "operations an API key may call without a named scope: {unexplained:?}");
    }

    #[test]
    fn renewing_needs_services_write_and_reading_audit_needs_account_read() {
        let json = serde_json::to_value(crate::openapi::document()).unwrap();
        let renew = &json["paths"]["/v1/services/{id}/renew"]["post"]["security"];
        assert_eq!(renew, &serde_json::json!([{"bearer": []}, {"api_key": ["services:write"]}]));
        let audit = &json["paths"]["/v1/audit-events"]["get"]["security"];
        assert!(audit.to_string().contains("account:read") || audit.to_string().contains("audit:read"), "{audit}");
    }
}
