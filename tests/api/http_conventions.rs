//! HTTP as clients expect it of a careful API: unknown and malformed query parameters
//! named in the refusal, conditional GET, HEAD, compression, the authentication challenge,
//! the RateLimit header fields, what CORS lets a browser read, and a PATCH without a body.

use crate::support::*;

both_backends!(query_parameters_are_declared_and_refusals_name_them, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());

    let misspelt = server.get("/v1/services?stauts=suspended", token);
    assert_eq!(misspelt.status, 422, "{}", misspelt.body);
    assert_eq!(misspelt.code(), "unknown_parameter");
    assert_eq!(misspelt.pointers(), vec!["/query/stauts"]);

    let bad_limit = server.get("/v1/services?limit=ten", token);
    assert_eq!(bad_limit.status, 422, "{}", bad_limit.body);
    assert_eq!(bad_limit.pointers(), vec!["/query/limit"]);
    let too_many = server.get("/v1/customers?limit=101", token);
    assert_eq!(too_many.pointers(), vec!["/query/limit"]);
    let bad_status = server.get("/v1/services?status=sleeping", token);
    assert_eq!(bad_status.pointers(), vec!["/query/status"]);
    let bad_date = server.get("/v1/services?due_before=tomorrow", token);
    assert_eq!(bad_date.pointers(), vec!["/query/due_before"]);
    assert_eq!(server.get("/v1/services?status=active&limit=5", token).status, 200);
    assert_eq!(server.get("/v1/openapi.json?v=2", None).code(), "unknown_parameter");
});

both_backends!(a_get_answers_304_when_the_etag_still_matches_and_head_answers_without_a_body, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let path = format!("/v1/customers/{}", reseller.id);
    let read = server.get(&path, Some(&operator.token));
    let tag = read.header("etag").unwrap().to_owned();

    let unchanged = server.send("GET", &path, Some(&operator.token), Body::None, &[("if-none-match", &tag)]);
    assert_eq!(unchanged.status, 304, "{}", unchanged.text);
    assert_eq!(unchanged.header("etag"), Some(tag.as_str()));
    assert!(unchanged.text.is_empty());
    let weak = format!("W/{tag}");
    let weakly = server.send("GET", &path, Some(&operator.token), Body::None, &[("if-none-match", &weak)]);
    assert_eq!(weakly.status, 304);
    let other = server.send("GET", &path, Some(&operator.token), Body::None, &[("if-none-match", "\"v999\"")]);
    assert_eq!(other.status, 200);

    let changed = server.patch(&path, Some(&operator.token), json!({"name": "Renamed"}));
    assert_eq!(changed.status, 200);
    let after = server.send("GET", &path, Some(&operator.token), Body::None, &[("if-none-match", &tag)]);
    assert_eq!(after.status, 200, "a changed resource is sent again");

    let document = server.get("/v1/openapi.json", None);
    let document_tag = document.header("etag").expect("the document has an ETag").to_owned();
    let cached = server.send("GET", "/v1/openapi.json", None, Body::None, &[("if-none-match", &document_tag)]);
    assert_eq!(cached.status, 304);

    let head = server.send("HEAD", &path, Some(&operator.token), Body::None, &[]);
    assert_eq!(head.status, 200, "{}", head.text);
    assert!(head.text.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(head.header("etag").is_some());
    assert_eq!(server.send("HEAD", "/v1/services", Some(&operator.token), Body::None, &[]).status, 200);
    assert_eq!(server.send("HEAD", "/healthz", None, Body::None, &[]).status, 200);
});

both_backends!(answers_are_compressed_when_the_client_asks, |server| {
    for encoding in ["gzip", "br"] {
        let response = server.send("GET", "/v1/openapi.json", None, Body::None, &[("accept-encoding", encoding)]);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-encoding"), Some(encoding), "{:?}", response.headers);
    }
    let plain = server.get("/v1/openapi.json", None);
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.body["paths"].is_object());
});

both_backends!(a_401_says_how_to_authenticate_and_answers_say_where_the_rate_limit_stands, |server| {
    let missing = server.get("/v1/me", None);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"hostadmin\""));
    let bad = server.get("/v1/me", Some("not-a-token"));
    assert!(bad.header("www-authenticate").unwrap().starts_with("Bearer"));

    let operator = server.operator("operator");
    let first = server.get("/v1/me", Some(&operator.token));
    assert_eq!(first.header("ratelimit-policy"), Some("\"requests\";q=1200;w=60"));
    let remaining = |response: &Response| -> u32 {
        let value = response.header("ratelimit").unwrap();
        value.split(';').find_map(|part| part.strip_prefix("r=")).unwrap().parse().unwrap()
    };
    // The quota refills continuously (one request every 50 ms at 1,200 a minute), so a
    // request shows what it took, not a strict countdown.
    assert!(remaining(&first) < 1200, "{:?}", first.header("ratelimit"));
    assert_eq!(server.get("/healthz", None).header("ratelimit"), None, "only counted callers get them");
});

both_backends!(
    cors_lets_a_browser_read_the_headers_clients_need,
    env = &[("HOSTADMIN_CORS_ORIGINS", "https://panel.example")],
    |server| {
        let operator = server.operator("operator");
        let response =
            server.send("GET", "/v1/me", Some(&operator.token), Body::None, &[("origin", "https://panel.example")]);
        let exposed = response.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
        for name in ["x-request-id", "etag", "location", "idempotent-replayed", "retry-after", "ratelimit"] {
            assert!(exposed.split(',').any(|h| h.trim() == name), "{name} not in {exposed}");
        }
    }
);

both_backends!(a_patch_without_a_body_is_refused_and_allow_names_the_routes_own_methods, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let empty = server.send(
        "PATCH",
        &format!("/v1/services/{service}"),
        Some(&reseller.token),
        Body::Raw(Some("application/json"), Vec::new()),
        &[],
    );
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert_eq!(empty.pointers(), vec![""]);
    // A body is an object: an array was read as a struct (positionally), `[]` as an
    // empty patch that answered 200.
    for body in ["[]", "[\"renamed\"]", "\"text\"", "5", "null"] {
        let refused = server.send(
            "PATCH",
            &format!("/v1/services/{service}"),
            Some(&reseller.token),
            Body::Raw(Some("application/merge-patch+json"), body.as_bytes().to_vec()),
            &[],
        );
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![""], "{body}");
    }

    let options = server.send(
        "OPTIONS",
        &format!("/v1/services/{service}/certificates/csr"),
        Some(&reseller.token),
        Body::None,
        &[],
    );
    assert_eq!(options.status, 405);
    assert_eq!(options.header("allow"), Some("POST"), "the CSR route, not the certificate one");
});

both_backends!(a_literal_segment_is_not_taken_for_an_id_under_another_method, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());
    // `bulk`, `received`, `csr` and `acme` are routes of their own, not ids: a method
    // they do not have is 405 with their methods, not the `{id}` route's 404 or 422.
    let service = "0193a1b2-0000-7000-8000-000000000001";
    for (method, path, allow) in [
        ("PATCH", "/v1/services/bulk".to_owned(), "POST"),
        ("GET", "/v1/services/bulk".to_owned(), "POST"),
        ("PATCH", "/v1/authorizations/received".to_owned(), "GET, HEAD"),
        ("DELETE", "/v1/authorizations/received".to_owned(), "GET, HEAD"),
        ("GET", format!("/v1/services/{service}/certificates/csr"), "POST"),
        ("GET", format!("/v1/services/{service}/certificates/acme"), "POST"),
    ] {
        let response = server.send(method, &path, token, Body::Json(serde_json::json!({"action": "x"})), &[]);
        assert_eq!(response.status, 405, "{method} {path}: {}", response.body);
        assert_eq!(response.code(), "method_not_allowed");
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
    // The id routes still answer their own methods.
    assert_eq!(server.get(&format!("/v1/services/{service}"), token).status, 404);
    assert_eq!(server.get("/v1/authorizations/received", token).status, 200);
});

both_backends!(integers_are_json_numbers_that_fit_64_bits, |server| {
    let operator = server.operator("operator");
    let token = Some(operator.token.as_str());
    let plan = |amount: serde_json::Value, disk: serde_json::Value| {
        serde_json::json!({
            "name": "Numbers",
            "service_kind": "web_hosting",
            "quotas": {"disk_mb": disk},
            "prices": [{"cycle": "monthly", "amount_minor": amount, "currency": "EUR"}]
        })
    };
    // JSON (and JSON Schema's `integer`) has 500.0 and 5e2 for 500.
    let written_as_float = server.post("/v1/plans", token, plan(serde_json::json!(500.0), serde_json::json!(1e3)));
    assert_eq!(written_as_float.status, 201, "{}", written_as_float.body);
    assert_eq!(written_as_float.body["prices"][0]["amount_minor"], 500);
    assert_eq!(written_as_float.body["quotas"]["disk_mb"], 1000);
    let fraction = server.post("/v1/plans", token, plan(serde_json::json!(500.5), serde_json::json!(1)));
    assert_eq!(fraction.pointers(), vec!["/prices/0/amount_minor"], "{}", fraction.body);
    // `format: int64`: above 2^63 - 1 is refused, where a u64 field took it before.
    let huge =
        server.post("/v1/plans", token, plan(serde_json::json!(1), serde_json::json!(9_223_372_036_854_775_808_u64)));
    assert_eq!(huge.status, 422, "{}", huge.body);
    assert_eq!(huge.pointers(), vec!["/quotas/disk_mb"]);
});
