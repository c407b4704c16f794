//! Every `code` a problem answer may carry: the one list the OpenAPI document's
//! `Problem.code` enum and docs/errors.md are made from, and that a test holds the
//! source to (a code used anywhere in the server and missing here fails it).

/// One problem code: the statuses it comes with, what it means, what a client does.
pub struct ProblemCode {
    pub code: &'static str,
    pub status: &'static str,
    pub meaning: &'static str,
    pub what_to_do: &'static str,
}

const fn code(
    code: &'static str,
    status: &'static str,
    meaning: &'static str,
    what_to_do: &'static str,
) -> ProblemCode {
    ProblemCode { code, status, meaning, what_to_do }
}

/// In the order docs/errors.md lists them: by status, then by name.
pub const ALL: &[ProblemCode] = &[
    code("malformed_body", "400", "The body could not be read.", "Send the request again."),
    code("malformed_json", "400", "The body is not JSON.", "Fix the body; nothing was changed."),
    code("idempotency_not_supported", "400", "This route's answer holds a secret and is never stored, so it takes no `Idempotency-Key`.", "Send it without the header."),
    code("unauthenticated", "401", "No credential, or one that is not valid (expired, revoked, malformed).", "Log in again or refresh the access token; see `WWW-Authenticate`."),
    code("invalid_credentials", "401, 422", "The login or the password is wrong (422 on routes that check the current password).", "Ask the user again; repeated failures are limited (429)."),
    code("totp_required", "401", "The account logs in with a second factor.", "Send `totp_code` or `recovery_code` with the login."),
    code("invalid_totp", "401, 422", "The second factor is wrong or was already used.", "Ask for a fresh code."),
    code("token_expired", "401, 422", "The access token, or the reset or verification token, has expired.", "Refresh the access token, or ask for a new mail."),
    code("refresh_token_reused", "401", "A spent refresh token was presented again: the session was ended, since one of the two presenters had stolen it.", "Log in again."),
    code("forbidden", "403", "This kind of account or credential may not do this, or only an account above the object's owner may.", "Do not retry; the action is not the caller's."),
    code("insufficient_scope", "403", "The API key lacks the scope the operation needs (the operation's security requirement names it).", "Use a key with that scope."),
    code("insufficient_grant", "403", "The grant the object was reached through does not allow this.", "Ask the owner for the permission the detail names."),
    code("impersonation_forbidden", "403", "Not possible while logged in as another account.", "End the impersonation and act as yourself."),
    code("account_suspended", "403", "The acting account, or the owner a grantee acts for, is suspended: it reads but changes nothing.", "Contact the seller."),
    code("action_restricted", "403", "A seller disabled this action for the account (or for the owner a grantee acts for).", "Contact the seller."),
    code("ordering_blocked", "403", "The account (or an account above it) is marked as fraud and cannot order.", "Contact the seller."),
    code("account_blocked", "403, 409", "The account is blocked (403 at login); an action for a blocked account (409).", "Contact the seller."),
    code("not_found", "404", "No such object, or not one the caller may see (the two are never told apart).", "Check the id and the credential."),
    code("method_not_allowed", "405", "The path exists, the method does not; `Allow` lists the methods.", "Use one of `Allow`."),
    code("not_acceptable", "406", "None of the media types in `Accept` is one the route answers with.", "Ask for one the operation lists (an invoice: JSON, HTML, PDF or XML)."),
    code("already_verified", "409", "The email address is already verified.", "Nothing to do."),
    code("invalid_transition", "409", "The object's state does not allow this move (a cancelled service renewed, a hold lifted that is not there).", "Read the object and decide again."),
    code("service_not_active", "409", "The service must be active for this.", "Unsuspend or renew the service first."),
    code("wrong_service_kind", "409", "This kind of service holds no such resource.", "Use a service of the right kind."),
    code("quota_exceeded", "409", "The service's quota, or a reseller package above its owner, is used up.", "Remove something or move to a larger plan."),
    code("login_taken", "409", "Another account has this login.", "Choose another."),
    code("email_taken", "409", "Another account has this email address.", "Choose another."),
    code("domain_taken", "409", "The domain (or one above or below it) belongs to another account.", "Choose another name."),
    code("domain_locked", "409", "The domain is locked against deletion and moves.", "Unlock it first."),
    code("domain_in_use", "409", "Mailboxes or forwards use the domain.", "Remove them first."),
    code("dns_not_managed", "409", "The domain uses other name servers, so its records are not served here.", "Set `nameservers` to null to use the provider's."),
    code("hostname_taken", "409", "The child host name exists already.", "Choose another."),
    code("address_taken", "409", "A mailbox or forward has this address already.", "Choose another."),
    code("username_taken", "409", "An FTP user has this username already.", "Choose another."),
    code("database_taken", "409", "A database or database user has this name already.", "Choose another."),
    code("attachment_in_use", "409", "The attachment is already on a message.", "Upload the file again to send it twice."),
    code("webhook_disabled", "409", "The webhook endpoint is disabled.", "Enable it first."),
    code("not_failed", "409", "Only a resource whose provisioning failed can be retried.", "Read its `provisioning` state; a pending one is being carried out."),
    code("acme_not_configured", "409", "This installation orders no certificates automatically: no ACME CA is configured.", "Upload a certificate, or make a CSR and upload its signed certificate; the operator sets `HOSTADMIN_ACME_DIRECTORY_URL` (docs/drivers.md)."),
    code("billing_not_configured", "409", "The seller has not set its billing settings, so it cannot issue invoices yet.", "The seller sets them with `PUT /v1/billing/settings`."),
    code("invoice_not_payable", "409", "The invoice takes no payments: it is void, or it is a credit note (settled by crediting).", "Pay the invoice that replaced it, or let the seller record a credit."),
    code("insufficient_credit", "409", "The account's credit in that currency is less than the amount (or none).", "Pay the invoice another way, or take less."),
    code("idempotency_in_progress", "409", "A request with this `Idempotency-Key` is still running.", "Wait and send it again: the first answer is replayed."),
    code("link_expired", "410", "The login link was used already, has expired, or never existed.", "Make a new link."),
    code("precondition_failed", "412", "`If-Match` was sent and the object changed since.", "Read the object again (its new `ETag`) and decide again."),
    code("payload_too_large", "413", "The body is over the limit (64 KiB for JSON, 5 MiB for an attachment).", "Send less."),
    code("unsupported_media_type", "415", "The body's `Content-Type` is not one the route takes.", "Send `application/json` (or what the route lists)."),
    code("validation_failed", "422", "Fields were refused; `errors` names each with a JSON pointer and a code.", "Fix those fields."),
    code("unknown_parameter", "422", "The query has a parameter the operation does not take (often a typo); `errors` points at `/query/<name>`.", "Remove or correct it."),
    code("unknown_field", "422", "The body has a field the route does not know (often a typo).", "Remove or correct it."),
    code("invalid_cursor", "422", "The `cursor` is not one this list gave out.", "Start the list again without a cursor."),
    code("invalid_token", "422", "The reset or verification token is not valid.", "Ask for a new mail."),
    code("idempotency_key_reused", "422", "This `Idempotency-Key` was used with another body.", "Use a new key for a new request."),
    code("grantee_not_found", "422", "No account has this login or email.", "Check the name."),
    code("exceeds_reseller_package", "422", "The plan allows more than the reseller's own package.", "Lower the plan's quotas."),
    code("certificate_mismatch", "422", "The certificate does not match the private key or the chain.", "Send the matching key and chain."),
    code("certificate_expired", "422", "The certificate has expired.", "Upload a current one."),
    code("private_key_required", "422", "The certificate's key was not made by a pending CSR of this service.", "Send the private key with it."),
    code("tool_not_offered", "422", "The service does not offer this tool.", "Use a tool the service lists."),
    code("webhook_url_refused", "422", "The webhook URL is not a public address (or not allowed by the provider).", "Use a public https URL."),
    code("rate_limited", "429", "Too many requests, or too many failed logins.", "Wait `Retry-After` seconds."),
    code("internal", "500", "A failure of the server; the cause is in its log under `request_id`.", "Try again later; report the `request_id`."),
    code("unavailable", "503", "The database (or another dependency) did not answer in time.", "Wait `Retry-After` seconds and try again."),
    code("driver_unreachable", "503", "`/readyz`: a configured driver's server (PowerDNS, a database server, the ACME CA) does not answer; the detail names it.", "Check that server; changes wait as `pending` meanwhile."),
];

/// The codes alone, in [`ALL`]'s order.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|entry| entry.code)
}

/// docs/errors.md's table, as the file holds it.
pub fn markdown_table() -> String {
    let mut table = String::from("| code | status | meaning | what to do |\n|---|---|---|---|\n");
    for entry in ALL {
        table
            .push_str(&format!("| `{}` | {} | {} | {} |\n", entry.code, entry.status, entry.meaning, entry.what_to_do));
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Every string literal that follows one of the places a problem code is given.
    fn codes_in(source: &str) -> Vec<String> {
        const PLACES: &[&str] = &[
            "ApiError::new(",
            "Self::new(",
            "conflict(",
            "bad_request(",
            "ApiError::invalid(",
            "Validation { code: ",
            "code: \"",
        ];
        let mut found = Vec::new();
        // A code chosen first (`let code = if ... { "a" } else { "b" };`): every
        // code-like literal up to the end of the statement.
        for (at, _) in source.match_indices("let code =") {
            let statement = source[at..].split(';').next().unwrap_or_default();
            let literals = statement.split('"').skip(1).step_by(2);
            found.extend(
                literals
                    .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                    .map(str::to_owned),
            );
        }
        for place in PLACES {
            for (at, _) in source.match_indices(place) {
                let after = &source[at + place.len()..];
                let window = &after[..after.len().min(160)];
                // `ApiError::new(StatusCode::X, "code", ...)`: the literal after the status.
                let Some(open) = window.find('"') else { continue };
                let before = &window[..open];
                let plausible =
                    before.trim().is_empty() || before.trim_end().ends_with(',') && before.contains("StatusCode::");
                if !plausible {
                    continue;
                }
                let literal: String = window[open + 1..].chars().take_while(|c| *c != '"').collect();
                if !literal.is_empty() && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    found.push(literal);
                }
            }
        }
        found
    }

    fn sources(dir: &Path, into: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn every_code_the_server_gives_is_listed_once() {
        let listed: BTreeSet<&str> = names().collect();
        assert_eq!(listed.len(), ALL.len(), "a code is listed twice");
        let mut files = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let (mut given, mut unlisted) = (BTreeSet::new(), BTreeSet::new());
        for (path, source) in files.iter().filter(|(path, _)| !path.ends_with("problem_codes.rs")) {
            // Field codes (`Invalid::new`) are per field, not problem codes.
            for code in codes_in(source) {
                if !listed.contains(code.as_str()) {
                    unlisted.insert(format!("{code} ({path})"));
                }
                given.insert(code);
            }
        }
        assert!(unlisted.is_empty(), "codes given but not in problem_codes::ALL: {unlisted:?}");
        assert!(given.len() >= 40, "the scan finds the codes ({} found)", given.len());
    }

    #[test]
    fn the_policys_refusals_are_listed() {
        use hostadmin_domain::policy::GrantRefusal;
        let policy = include_str!("../../../domain/src/policy/mod.rs");
        let start = policy.find("impl Denied {").unwrap();
        let end = start + policy[start..].find("pub fn detail").unwrap();
        let mut refusals: Vec<&str> = policy[start..end].split('"').skip(1).step_by(2).collect();
        refusals.push(GrantRefusal::CODE);
        for code in refusals {
            assert!(names().any(|listed| listed == code), "{code} is not in problem_codes::ALL");
        }
    }

    #[test]
    fn docs_errors_md_holds_the_table() {
        let doc = include_str!("../../../docs/errors.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/errors.md's table is stale: paste problem_codes::markdown_table()"
        );
    }
}
