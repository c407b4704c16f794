//! Concurrent changes of one resource: without `If-Match` they are applied one after the
//! other and every one succeeds (a client that did not ask for a precondition is never
//! told `412`); with a stale `If-Match` the change is refused and nothing changes.

use crate::support::*;

const PARALLEL: usize = 20;

/// Sends `PARALLEL` merge patches at once, the `i`th with `body(i)`; answers each status
/// with its body.
fn parallel_patches(
    server: &Server,
    path: &str,
    token: &str,
    body: impl Fn(usize) -> Value + Sync,
) -> Vec<(u16, Value)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..PARALLEL)
            .map(|i| {
                let body = &body;
                scope.spawn(move || {
                    let response = server.send(
                        "PATCH",
                        path,
                        Some(token),
                        Body::Json(body(i)),
                        &[("content-type", "application/merge-patch+json")],
                    );
                    (response.status, response.body)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    })
}

/// Every parallel change was applied: all 200, and the version moved on once per change.
fn all_applied(server: &Server, path: &str, token: &str, before: &Response, answers: &[(u16, Value)]) -> Response {
    let refused: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status != 200)
        .map(|(status, body)| format!("{status} {}", body["code"].as_str().unwrap_or_default()))
        .collect();
    assert!(refused.is_empty(), "{} of {PARALLEL} refused: {refused:?}", refused.len());
    let after = server.get(path, Some(token));
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(version(&after), version(before) + PARALLEL as i64, "each change made one version");
    after
}

fn version(response: &Response) -> i64 {
    let etag = response.header("etag").expect("an ETag");
    etag.trim_matches('"').trim_start_matches('v').parse().expect("a version ETag")
}

/// A change with the ETag of `stale` (read before the parallel changes): 412, nothing
/// changes.
fn stale_is_refused(server: &Server, path: &str, token: &str, stale: &Response, body: Value) {
    let etag = stale.header("etag").unwrap().to_owned();
    let before = server.get(path, Some(token));
    let refused = server.send(
        "PATCH",
        path,
        Some(token),
        Body::Json(body),
        &[("content-type", "application/merge-patch+json"), ("if-match", &etag)],
    );
    assert_eq!(refused.status, 412, "{}", refused.body);
    assert_eq!(refused.code(), "precondition_failed");
    let after = server.get(path, Some(token));
    assert_eq!(after.body, before.body, "a refused change changes nothing");
    assert_eq!(after.header("etag"), before.header("etag"));
}

both_backends!(parallel_customer_changes_without_if_match_all_apply, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let path = format!("/v1/customers/{}", customer.id);
    let before = server.get(&path, Some(&reseller.token));

    let answers = parallel_patches(
        &server,
        &path,
        &reseller.token,
        |i| json!({"name": format!("Name {i}"), "profile": {"city": format!("City {i}")}}),
    );
    let after = all_applied(&server, &path, &reseller.token, &before, &answers);
    let last = answers.iter().find(|(_, body)| body["name"] == after.body["name"]).expect("the last change's answer");
    assert_eq!(last.1["profile"], after.body["profile"], "name and profile of one change stay together");

    stale_is_refused(&server, &path, &reseller.token, &before, json!({"name": "Too late"}));
});

both_backends!(parallel_changes_of_the_own_account_without_if_match_all_apply, |server| {
    let operator = server.operator("operator");
    let customer = server.create(&operator, "customer", "customer");
    let before = server.get("/v1/me", Some(&customer.token));

    let answers =
        parallel_patches(&server, "/v1/me", &customer.token, |i| json!({"profile": {"city": format!("City {i}")}}));
    all_applied(&server, "/v1/me", &customer.token, &before, &answers);

    stale_is_refused(&server, "/v1/me", &customer.token, &before, json!({"name": "Too late"}));
});

both_backends!(parallel_plan_changes_without_if_match_all_apply, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let plan = server.web_plan(&reseller, "Web S");
    let path = format!("/v1/plans/{plan}");
    let before = server.get(&path, Some(&reseller.token));

    let answers = parallel_patches(&server, &path, &reseller.token, |i| json!({"name": format!("Web {i}")}));
    all_applied(&server, &path, &reseller.token, &before, &answers);

    stale_is_refused(&server, &path, &reseller.token, &before, json!({"name": "Too late"}));
});

both_backends!(parallel_grant_changes_without_if_match_all_apply, |server| {
    let operator = server.operator("operator");
    let owner = server.create(&operator, "owner", "customer");
    server.create(&operator, "helper", "customer");
    let given =
        server.post("/v1/authorizations", Some(&owner.token), json!({"grantee": "helper", "permissions": ["view"]}));
    assert_eq!(given.status, 201, "{}", given.body);
    let path = format!("/v1/authorizations/{}", given.str("id"));
    let before = server.get(&path, Some(&owner.token));

    let choices = [json!(["view"]), json!(["manage"]), json!(["billing", "support"])];
    let answers =
        parallel_patches(&server, &path, &owner.token, |i| json!({"permissions": choices[i % choices.len()]}));
    all_applied(&server, &path, &owner.token, &before, &answers);

    stale_is_refused(&server, &path, &owner.token, &before, json!({"permissions": ["manage"]}));
});
