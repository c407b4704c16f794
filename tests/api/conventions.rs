//! The conventions every route shares (API.md "Conventions" and "System"; QUALITY 17-18,
//! 23, 27-28, 30): refusals as problem+json, pagination, request ids, idempotency, rate
//! limits, login throttling, health, metrics, docs and CORS.

use crate::support::*;

/// A customer body for `POST /v1/customers`.
fn customer(login: &str) -> Value {
    json!({"login": login, "password": PASSWORD, "name": format!("Name of {login}"), "email": format!("{login}@example.test")})
}

/// `POST /v1/customers` with an `Idempotency-Key`.
fn create_with_key(server: &Server, token: &str, key: &str, body: Value) -> Response {
    server.send("POST", "/v1/customers", Some(token), Body::Json(body), &[("idempotency-key", key)])
}

/// The problem's code, and that its `request_id` is the answer's `X-Request-Id`.
fn problem(response: &Response) -> String {
    let code = response.code().to_owned();
    let header = response.header("x-request-id").unwrap_or_default();
    assert!(!header.is_empty(), "no x-request-id: {}", response.body);
    assert_eq!(response.body["request_id"], header, "{}", response.body);
    assert!(!response.text.contains("panicked") && !response.text.contains("SELECT"), "{}", response.text);
    code
}

fn retry_after(response: &Response) -> u64 {
    let value = response.header("retry-after").unwrap_or_default();
    let seconds = value.parse::<u64>();
    assert!(seconds.is_ok(), "retry-after {value:?} is not delay-seconds: {:?}", response.headers);
    seconds.unwrap_or_default()
}

fn login_attempt(server: &Server, login: &str, password: &str) -> Response {
    server.post("/v1/auth/login", None, json!({"login": login, "password": password}))
}

both_backends!(refused_requests_are_problems, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());

    let truncated = server.send(
        "POST",
        "/v1/customers",
        token,
        Body::Raw(Some("application/json"), br#"{"login": "abc", "pass"#.to_vec()),
        &[],
    );
    assert_eq!(truncated.status, 400, "{}", truncated.body);
    assert_eq!(problem(&truncated), "malformed_json");

    let mut big = customer("big");
    big["name"] = json!("x".repeat(70 * 1024));
    let too_large = server.post("/v1/customers", token, big);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(problem(&too_large), "payload_too_large");

    let text = server.send(
        "POST",
        "/v1/customers",
        token,
        Body::Raw(Some("text/plain"), customer("plain").to_string().into_bytes()),
        &[],
    );
    assert_eq!(text.status, 415, "{}", text.body);
    assert_eq!(problem(&text), "unsupported_media_type");

    // None of them created anything.
    let list = server.get("/v1/customers", token);
    assert_eq!(list.status, 200);
    assert_eq!(list.ids(), Vec::<String>::new());

    for (method, path, allowed) in [("PUT", "/v1/customers", ["GET", "POST"]), ("DELETE", "/v1/me", ["GET", "PATCH"])] {
        let response = server.send(method, path, token, Body::None, &[]);
        assert_eq!(response.status, 405, "{method} {path}: {}", response.body);
        assert_eq!(problem(&response), "method_not_allowed");
        let allow = response.header("allow").unwrap_or_else(|| panic!("{method} {path}: no allow header"));
        let listed: Vec<&str> = allow.split(',').map(str::trim).collect();
        for method in allowed {
            assert!(listed.contains(&method), "allow {allow:?} lacks {method}");
        }
    }

    for path in ["/v1/no-such-route", "/nothing-here"] {
        let response = server.get(path, token);
        assert_eq!(response.status, 404, "{path}: {}", response.body);
        assert_eq!(problem(&response), "not_found");
    }

    let anonymous = server.get("/v1/customers", None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(problem(&anonymous), "unauthenticated");
});

both_backends!(list_parameters_are_checked, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());
    for limit in ["0", "101", "abc", "-1"] {
        let response = server.get(&format!("/v1/customers?limit={limit}"), token);
        assert_eq!(response.status, 422, "limit={limit}: {}", response.body);
        problem(&response);
        assert_eq!(response.pointers(), vec!["/query/limit"], "limit={limit}: {}", response.body);
    }
    // A filter value that is not one of its values points at its parameter too.
    let status = server.get("/v1/customers?status=bogus", token);
    assert_eq!(status.status, 422, "{}", status.body);
    problem(&status);
    assert_eq!(status.pointers(), vec!["/query/status"], "{}", status.body);
    for limit in ["1", "100"] {
        assert_eq!(server.get(&format!("/v1/customers?limit={limit}"), token).status, 200, "limit={limit}");
    }

    for login in ["cust-one", "cust-two", "other"] {
        server.create(&operator, login, "customer");
    }
    let first = server.get("/v1/customers?q=cust&limit=1", token);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.ids().len(), 1);
    let cursor =
        first.body["next_cursor"].as_str().unwrap_or_else(|| panic!("no next_cursor: {}", first.body)).to_owned();
    assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{cursor}");

    // With the same filters the cursor leads to the second (and last) page.
    let second = server.get(&format!("/v1/customers?q=cust&limit=1&cursor={cursor}"), token);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.ids().len(), 1);
    assert_ne!(second.ids(), first.ids());

    for (name, path) in [
        ("without q", format!("/v1/customers?limit=1&cursor={cursor}")),
        ("another q", format!("/v1/customers?q=oth&limit=1&cursor={cursor}")),
        ("garbage", "/v1/customers?cursor=not-a-cursor".to_owned()),
        ("forged", "/v1/customers?cursor=eyJhZnRlciI6IngifQ".to_owned()),
    ] {
        let response = server.get(&path, token);
        assert_eq!(response.status, 422, "{name}: {}", response.body);
        assert_eq!(problem(&response), "invalid_cursor", "{name}");
    }
});

both_backends!(every_answer_has_a_request_id, |server| {
    let operator = server.operator("operator");
    let kept = "lb-7f3a.request:42_x";
    let echoed = server.send("GET", "/healthz", None, Body::None, &[("x-request-id", kept)]);
    assert_eq!(echoed.status, 200);
    assert_eq!(echoed.header("x-request-id"), Some(kept));

    let long = "a".repeat(300);
    let mut fresh = Vec::new();
    for incoming in ["has a space", long.as_str(), ""] {
        let response = server.send("GET", "/healthz", None, Body::None, &[("x-request-id", incoming)]);
        assert_eq!(response.status, 200);
        let id =
            response.header("x-request-id").unwrap_or_else(|| panic!("no x-request-id for {incoming:?}")).to_owned();
        assert_ne!(id, incoming);
        assert!(!id.is_empty() && id.len() <= 200 && !id.contains(' '), "{id:?}");
        fresh.push(id);
    }
    assert_ne!(fresh[0], fresh[1], "each request gets its own id");

    // Successes, refusals and unmatched routes alike; a problem repeats the header's id.
    let me = server.get("/v1/me", Some(&operator.token));
    assert_eq!(me.status, 200);
    assert!(me.header("x-request-id").is_some_and(|id| !id.is_empty()));
    let refused = server.send("GET", "/v1/me", None, Body::None, &[("x-request-id", kept)]);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("x-request-id"), Some(kept));
    assert_eq!(refused.body["request_id"], kept);
    for response in [
        server.get("/v1/nowhere", None),
        server.send("PUT", "/v1/customers", Some(&operator.token), Body::None, &[]),
        server.send("GET", "/v1/customers?limit=0", Some(&operator.token), Body::None, &[("x-request-id", "x y")]),
    ] {
        problem(&response);
    }
});

both_backends!(idempotency_keys_replay_the_first_answer, |server| {
    let operator = server.operator("operator");
    let first = create_with_key(&server, &operator.token, "k", customer("first"));
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let location = first.header("location").unwrap_or_else(|| panic!("201 without location")).to_owned();
    assert_eq!(location, format!("/v1/customers/{}", first.str("id")));

    let retry = create_with_key(&server, &operator.token, "k", customer("first"));
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.str("id"), first.str("id"));
    assert_eq!(retry.header("location"), Some(location.as_str()));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, first.body);

    let reused = create_with_key(&server, &operator.token, "k", customer("second"));
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(problem(&reused), "idempotency_key_reused");

    let list = server.get("/v1/customers", Some(&operator.token));
    assert_eq!(list.ids(), vec![first.str("id")], "one account: {}", list.body);

    // The key is the principal's own: another operator's "k" is another request.
    let other = server.operator("other-operator");
    let theirs = create_with_key(&server, &other.token, "k", customer("theirs"));
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(theirs.str("id"), first.str("id"));
    assert_eq!(theirs.str("login"), "theirs");
    assert_eq!(server.get("/v1/customers", Some(&operator.token)).ids().len(), 2);
});

both_backends!(parallel_retries_create_one_account, |server| {
    let operator = server.operator("operator");
    let answers: Vec<Response> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| create_with_key(&server, &operator.token, "parallel", customer("racer"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| panic!("request thread panicked"))).collect()
    });
    let mut ids = Vec::new();
    for answer in &answers {
        match answer.status {
            201 => ids.push(answer.str("id")),
            409 => assert_eq!(problem(answer), "idempotency_in_progress"),
            other => panic!("parallel retry answered {other}: {}", answer.body),
        }
    }
    assert!(!ids.is_empty(), "no request was created: {answers:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every 201 is the same account: {ids:?}");

    let list = server.get("/v1/customers", Some(&operator.token));
    assert_eq!(list.ids(), ids, "{}", list.body);
    let later = create_with_key(&server, &operator.token, "parallel", customer("racer"));
    assert_eq!(later.status, 201, "{}", later.body);
    assert_eq!(later.str("id"), ids[0]);
    assert_eq!(later.header("idempotent-replayed"), Some("true"));
});

both_backends!(requests_are_rate_limited_per_account, env = &[("HOSTADMIN_REQUESTS_PER_MINUTE", "5")], |server| {
    let other = server.operator("other");
    // `operator()` spent one request (GET /v1/me): four more fit in the minute.
    let operator = server.operator("operator");
    for n in 2..=5 {
        let response = server.get("/v1/customers", Some(&operator.token));
        assert_eq!(response.status, 200, "request {n}: {}", response.body);
    }
    let limited = server.get("/v1/customers", Some(&operator.token));
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(problem(&limited), "rate_limited");
    assert!(retry_after(&limited) >= 1);

    let unaffected = server.get("/v1/customers", Some(&other.token));
    assert_eq!(unaffected.status, 200, "{}", unaffected.body);
    // Unauthenticated requests are not the account's.
    assert_eq!(server.get("/healthz", None).status, 200);
});

both_backends!(failed_logins_are_limited_per_login, env = &[("HOSTADMIN_LOGIN_FAILURES_PER_LOGIN", "3")], |server| {
    server.operator("victim");
    server.operator("bystander");
    for _ in 0..3 {
        let wrong = login_attempt(&server, "victim", "not the password at all");
        assert_eq!(wrong.status, 401, "{}", wrong.body);
        assert_eq!(problem(&wrong), "invalid_credentials");
    }
    let locked = login_attempt(&server, "victim", PASSWORD);
    assert_eq!(locked.status, 429, "even the right password: {}", locked.body);
    assert_eq!(problem(&locked), "rate_limited");
    assert!(retry_after(&locked) >= 1);
    // The submitted login is what counts, whatever its case.
    assert_eq!(login_attempt(&server, "VICTIM", PASSWORD).status, 429);

    let other = login_attempt(&server, "bystander", PASSWORD);
    assert_eq!(other.status, 200, "{}", other.body);

    // A login nobody has is counted alike.
    for _ in 0..3 {
        let wrong = login_attempt(&server, "nobody-has-this", "not the password at all");
        assert_eq!(wrong.status, 401, "{}", wrong.body);
        assert_eq!(problem(&wrong), "invalid_credentials");
    }
    let ghost = login_attempt(&server, "nobody-has-this", PASSWORD);
    assert_eq!(ghost.status, 429, "{}", ghost.body);
    assert_eq!(problem(&ghost), "rate_limited");
    assert!(retry_after(&ghost) >= 1);
    assert_eq!(ghost.body["detail"], locked.body["detail"]);
});

// The account is what a guesser attacks, by whichever of its names: ten failures by its
// login name lock its email address too (the default limit of ten).
both_backends!(
    an_accounts_login_name_and_email_share_one_limit,
    env = &[("HOSTADMIN_LOGIN_FAILURES_PER_ADDRESS", "1000")],
    |server| {
        server.operator("victim");
        for _ in 0..10 {
            let wrong = login_attempt(&server, "victim", "not the password at all");
            assert_eq!(wrong.status, 401, "{}", wrong.body);
        }
        let by_email = login_attempt(&server, "victim@operators.test", "not the password at all");
        assert_eq!(by_email.status, 429, "{}", by_email.body);
        assert_eq!(problem(&by_email), "rate_limited");
        assert!(retry_after(&by_email) >= 1);
        let right_by_email = login_attempt(&server, "victim@operators.test", PASSWORD);
        assert_eq!(right_by_email.status, 429, "even the right password: {}", right_by_email.body);
    }
);

both_backends!(
    failed_logins_are_limited_per_address,
    env = &[("HOSTADMIN_LOGIN_FAILURES_PER_ADDRESS", "4"), ("HOSTADMIN_LOGIN_FAILURES_PER_LOGIN", "100")],
    |server| {
        server.operator("operator");
        for login in ["first-guess", "second-guess", "third-guess", "operator"] {
            let wrong = login_attempt(&server, login, "not the password at all");
            assert_eq!(wrong.status, 401, "{login}: {}", wrong.body);
            assert_eq!(problem(&wrong), "invalid_credentials");
        }
        let fifth = login_attempt(&server, "fifth-guess", "not the password at all");
        assert_eq!(fifth.status, 429, "{}", fifth.body);
        assert_eq!(problem(&fifth), "rate_limited");
        assert!(retry_after(&fifth) >= 1);
        // The address is locked, whatever login and password it tries.
        let right = login_attempt(&server, "operator", PASSWORD);
        assert_eq!(right.status, 429, "{}", right.body);
    }
);

both_backends!(system_routes_answer, |server| {
    let health = server.get("/healthz", None);
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 200, "{}", ready.body);

    let metrics = server.get("/metrics", None);
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(metrics.header("content-type").is_some_and(|t| t.starts_with("text/plain")), "{:?}", metrics.headers);
    assert!(metrics.text.contains("hostadmin_http_requests"), "{}", metrics.text);
    // Series are labelled by route pattern, never by raw path.
    server.get("/v1/customers/0192f7a8-abcd-7def-8123-456789abcdef", None);
    let metrics = server.get("/metrics", None);
    assert!(!metrics.text.contains("0192f7a8-abcd"), "{}", metrics.text);

    let docs = server.get("/docs/", None);
    assert_eq!(docs.status, 200, "{}", docs.text);
    assert!(docs.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{:?}", docs.headers);
    for cdn in ["unpkg.com", "jsdelivr", "cdnjs"] {
        assert!(!docs.text.contains(cdn), "the docs page needs no internet: {}", docs.text);
    }

    let served = server.get("/v1/openapi.json", None);
    assert_eq!(served.status, 200);
    assert!(served.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{:?}", served.headers);
    let checked_in: Value =
        serde_json::from_str(include_str!("../../openapi/v1.json")).unwrap_or_else(|e| panic!("openapi/v1.json: {e}"));
    assert!(served.body.is_object());
    assert!(
        served.body == checked_in,
        "the served document differs from openapi/v1.json: regenerate it with `hostadmin openapi`"
    );
});

both_backends!(
    metrics_and_cors_follow_the_configuration,
    env = &[("HOSTADMIN_METRICS_ALLOW", "10.9.9.9"), ("HOSTADMIN_CORS_ORIGINS", "https://panel.example.test")],
    |server| {
        let metrics = server.get("/metrics", None);
        assert_eq!(metrics.status, 403, "{}", metrics.text);
        assert_eq!(problem(&metrics), "forbidden");
        assert!(!metrics.text.contains("hostadmin_http_requests"));

        let origin = "https://panel.example.test";
        let simple = server.send("GET", "/healthz", None, Body::None, &[("origin", origin)]);
        assert_eq!(simple.status, 200);
        assert_eq!(simple.header("access-control-allow-origin"), Some(origin));

        let preflight = server.send(
            "OPTIONS",
            "/v1/customers",
            None,
            Body::None,
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization, content-type, idempotency-key"),
            ],
        );
        assert!((200..300).contains(&preflight.status), "{} {}", preflight.status, preflight.text);
        assert_eq!(preflight.header("access-control-allow-origin"), Some(origin));
        let methods = preflight.header("access-control-allow-methods").unwrap_or_default().to_ascii_uppercase();
        assert!(methods.contains("POST"), "{methods:?}");

        let stranger = server.send("GET", "/healthz", None, Body::None, &[("origin", "https://evil.example.test")]);
        assert_eq!(stranger.header("access-control-allow-origin"), None);
    }
);

both_backends!(nul_characters_are_refused_before_they_reach_the_database, |server| {
    let operator = server.operator("operator");
    let login = server.post("/v1/auth/login", None, json!({"login": "oper\u{0}ator", "password": "x"}));
    assert_eq!((login.status, login.pointers()), (422, vec!["/login".to_owned()]), "{}", login.text);
    let create = server.post(
        "/v1/customers",
        Some(&operator.token),
        json!({"login": "nul", "password": PASSWORD, "name": "N", "email": "nul@example.test", "profile": {"city": "a\u{0}b"}}),
    );
    assert_eq!(create.pointers(), vec!["/profile/city"], "{}", create.text);
    for path in ["/v1/customers?q=a%00b", "/v1/audit-events?action=a%00b", "/v1/services?q=x%00"] {
        let response = server.get(path, Some(&operator.token));
        assert_eq!(
            (response.status, response.pointers()),
            (422, vec!["/query".to_owned()]),
            "{path}: {}",
            response.text
        );
    }
});

/// A new customer's body with this name.
fn named(login: &str, name: &str) -> Value {
    let mut body = customer(login);
    body["name"] = json!(name);
    body
}

both_backends!(text_is_stored_trimmed_and_its_limit_counts_what_is_sent, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());

    let padded = server.post("/v1/customers", token, named("padded", "  Padded  "));
    assert_eq!(padded.status, 201, "{}", padded.body);
    assert_eq!(padded.str("name"), "Padded");

    // 200 characters once trimmed, 202 as sent: the limit counts what was sent, as the
    // document's `maxLength` says.
    let refused = server.post("/v1/customers", token, named("long", &format!(" {} ", "x".repeat(200))));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.pointers(), vec!["/name"]);
    let exact = server.post("/v1/customers", token, named("exact", &"x".repeat(200)));
    assert_eq!(exact.status, 201, "{}", exact.body);

    for blank in ["", "   ", "\t\n"] {
        let response = server.post("/v1/customers", token, named("blank", blank));
        assert_eq!(response.pointers(), vec!["/name"], "{blank:?}: {}", response.body);
    }
});
