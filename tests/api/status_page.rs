//! The status page: the public summary (no authentication, cacheable, 304), components
//! lowered by the incidents that last, planned work within its window, the history
//! and its Atom feed; only operators change it.

use chrono::{Duration, SecondsFormat, Utc};

use crate::support::*;

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn summary(server: &Server) -> Response {
    let response = server.get("/v1/status", None);
    assert_eq!(response.status, 200, "{}", response.body);
    response
}

fn component(server: &Server, operator: &Account, name: &str) -> String {
    let created = server.post(
        "/v1/status/components",
        Some(&operator.token),
        json!({"name": name, "group": "Hosting", "status": "operational"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.str("id")
}

fn incident(server: &Server, operator: &Account, body: Value) -> Response {
    server.post("/v1/status/incidents", Some(&operator.token), body)
}

both_backends!(the_public_summary_follows_components_and_incidents, |server| {
    let operator = server.operator("operator");
    let empty = summary(&server);
    assert_eq!(empty.body, json!({"indicator": "operational", "components": [], "incidents": [], "scheduled": []}));
    assert_eq!(empty.header("cache-control"), Some("public, max-age=30"));
    let etag = empty.header("etag").unwrap().to_owned();
    let cached = server.send("GET", "/v1/status", None, Body::None, &[("if-none-match", &etag)]);
    assert_eq!((cached.status, cached.text.as_str()), (304, ""));
    assert_eq!(cached.header("etag"), Some(etag.as_str()));

    let web = component(&server, &operator, "Web hosting");
    let mail = component(&server, &operator, "Mail");
    let page = summary(&server);
    assert_ne!(page.header("etag"), Some(etag.as_str()), "a change shows at once on this server");
    assert_eq!(
        page.body["components"][0],
        json!({"id": web, "name": "Web hosting", "group": "Hosting", "status": "operational"})
    );

    // An outage lowers its components until it is resolved.
    let outage = incident(
        &server,
        &operator,
        json!({"kind": "outage", "title": "Web servers down", "body": "Investigating.", "component_ids": [web], "impact": "major_outage"}),
    );
    assert_eq!((outage.status, outage.body["status"].clone()), (201, json!("investigating")), "{}", outage.body);
    let outage_id = outage.str("id");
    let page = summary(&server);
    assert_eq!(page.body["indicator"], "major_outage");
    assert_eq!(page.body["components"][0]["status"], "major_outage");
    assert_eq!(page.body["components"][1]["status"], "operational");
    assert_eq!(page.body["incidents"][0]["id"], outage_id.as_str());
    // The stored status of the component is its own.
    let stored = server.get(&format!("/v1/status/components/{web}"), Some(&operator.token));
    assert_eq!(stored.body["status"], "operational");

    // Planned work: listed while not completed, lowering only within its window.
    let later = incident(
        &server,
        &operator,
        json!({"kind": "maintenance", "title": "Mail upgrade", "body": "", "component_ids": [mail], "impact": "maintenance",
               "scheduled_start": at(Duration::days(1)), "scheduled_end": at(Duration::days(1) + Duration::hours(1))}),
    );
    assert_eq!((later.status, later.body["status"].clone()), (201, json!("scheduled")), "{}", later.body);
    assert_eq!(summary(&server).body["components"][1]["status"], "operational");
    assert_eq!(summary(&server).body["scheduled"][0]["id"], later.str("id").as_str());
    let now = server.patch(
        &format!("/v1/status/incidents/{}", later.str("id")),
        Some(&operator.token),
        json!({"scheduled_start": at(-Duration::minutes(5))}),
    );
    assert_eq!(now.status, 200, "{}", now.body);
    assert_eq!(summary(&server).body["components"][1]["status"], "maintenance");

    // Resolving the outage leaves the maintenance as the worst.
    let update = server.post(
        &format!("/v1/status/incidents/{outage_id}/updates"),
        Some(&operator.token),
        json!({"status": "resolved", "body": "A failed switch was replaced."}),
    );
    assert_eq!((update.status, update.body["status"].clone()), (201, json!("resolved")), "{}", update.body);
    let page = summary(&server);
    assert_eq!(page.body["indicator"], "maintenance");
    assert_eq!(page.body["incidents"], json!([]));
    let resolved = server.get(&format!("/v1/status/incidents/{outage_id}"), None);
    assert_eq!(resolved.body["status"], "resolved");
    assert!(resolved.body["resolved_at"].is_string());
    assert_eq!(resolved.body["updates"][0]["body"], "A failed switch was replaced.");

    // The history, newest first, by kind; and the feed.
    let history = server.get("/v1/status/incidents", None);
    assert_eq!(history.ids(), vec![later.str("id"), outage_id.clone()]);
    assert_eq!(server.get("/v1/status/incidents?kind=outage", None).ids(), vec![outage_id.clone()]);
    let feed = server.get("/v1/status/feed.atom", None);
    assert_eq!(feed.status, 200);
    assert!(feed.header("content-type").is_some_and(|t| t.starts_with("application/atom+xml")), "{:?}", feed.headers);
    let parsed = atom_syndication::Feed::read_from(feed.text.as_bytes()).expect("an Atom feed");
    assert_eq!(parsed.entries().len(), 2);
    assert_eq!(parsed.entries()[1].id(), format!("urn:uuid:{outage_id}"));
    assert_eq!(parsed.entries()[1].title().as_str(), "[outage] Web servers down");
    let content = parsed.entries()[1].content().and_then(|c| c.value()).unwrap_or_default();
    assert!(content.contains("resolved: A failed switch was replaced."), "{content}");
    let same = server.send(
        "GET",
        "/v1/status/feed.atom",
        None,
        Body::None,
        &[("if-none-match", feed.header("etag").unwrap())],
    );
    assert_eq!(same.status, 304);

    // Deleting a component takes it out of the incidents that named it.
    assert_eq!(server.delete(&format!("/v1/status/components/{mail}"), Some(&operator.token)).status, 204);
    let page = summary(&server);
    assert_eq!(page.body["indicator"], "operational");
    assert_eq!(page.body["scheduled"][0]["component_ids"], json!([]));
});

both_backends!(only_operators_change_the_page_and_bad_input_is_refused, |server| {
    let tree = Tree::build(&server);
    let operator = &tree.operator;
    let web = component(&server, operator, "Web");
    for who in [&tree.reseller_a, &tree.customer_a1] {
        for (method, path, body) in [
            ("GET", "/v1/status/components".to_owned(), None),
            ("POST", "/v1/status/components".to_owned(), Some(json!({"name": "x", "status": "operational"}))),
            ("PATCH", format!("/v1/status/components/{web}"), Some(json!({"status": "degraded"}))),
            ("DELETE", format!("/v1/status/components/{web}"), None),
            ("POST", "/v1/status/incidents".to_owned(), Some(json!({}))),
        ] {
            let body = body.map_or(Body::None, Body::Json);
            let response = server.send(method, &path, Some(&who.token), body, &[]);
            assert_eq!((response.status, response.code()), (403, "forbidden"), "{method} {path} as {}", who.login);
        }
    }
    let unauthenticated = server.post("/v1/status/components", None, json!({"name": "x", "status": "operational"}));
    assert_eq!(unauthenticated.status, 401);

    let refused = |body: Value| incident(&server, operator, body);
    let base =
        json!({"kind": "maintenance", "title": "Upgrade", "body": "", "component_ids": [web], "impact": "maintenance"});
    let no_window = refused(base.clone());
    assert_eq!((no_window.status, no_window.pointers()), (422, vec!["/scheduled_start".to_owned()]));
    let mut reversed = base.clone();
    reversed["scheduled_start"] = json!(at(Duration::hours(2)));
    reversed["scheduled_end"] = json!(at(Duration::hours(1)));
    assert_eq!(refused(reversed).pointers(), vec!["/scheduled_end"]);
    let scheduled_outage = refused(
        json!({"kind": "outage", "title": "x", "body": "", "component_ids": [], "impact": "degraded", "scheduled_start": at(Duration::hours(1))}),
    );
    assert_eq!(scheduled_outage.pointers(), vec!["/scheduled_start"]);
    let unknown = refused(
        json!({"kind": "fault", "title": "x", "body": "", "component_ids": [tree.customer_a1.id], "impact": "degraded"}),
    );
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    let bad_kind =
        refused(json!({"kind": "meteor", "title": "x", "body": "", "component_ids": [], "impact": "degraded"}));
    assert_eq!(bad_kind.pointers(), vec!["/kind"]);
    let fault =
        refused(json!({"kind": "fault", "title": "Slow", "body": "", "component_ids": [web], "impact": "degraded"}));
    assert_eq!(fault.status, 201, "{}", fault.body);
    let wrong_stage = server.post(
        &format!("/v1/status/incidents/{}/updates", fault.str("id")),
        Some(&operator.token),
        json!({"status": "completed", "body": "done"}),
    );
    assert_eq!((wrong_stage.status, wrong_stage.pointers()), (422, vec!["/status".to_owned()]));
    assert_eq!(server.get("/v1/status/incidents/not-an-id", None).status, 404);
    let no_name =
        server.post("/v1/status/components", Some(&operator.token), json!({"name": " ", "status": "operational"}));
    assert_eq!(no_name.pointers(), vec!["/name"]);

    // Operators' API keys need the support scopes.
    let key = server.post(
        "/v1/me/api-keys",
        Some(&operator.token),
        json!({"name": "monitoring", "scopes": ["support:write"]}),
    );
    let monitoring = key.str("key");
    let lowered = server.patch(
        &format!("/v1/status/components/{web}"),
        Some(monitoring.as_str()),
        json!({"status": "partial_outage"}),
    );
    assert_eq!(lowered.status, 200, "{}", lowered.body);
    assert_eq!(summary(&server).body["indicator"], "partial_outage");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE 'status.%'"), 3);
});

both_backends!(a_change_within_its_window_lowers_the_indicator_until_completed, |server| {
    let operator = server.operator("operator");
    let dns = component(&server, &operator, "DNS");
    let change = incident(
        &server,
        &operator,
        json!({"kind": "change", "title": "New name servers", "body": "Moving to new name servers.",
               "component_ids": [dns], "impact": "partial_outage",
               "scheduled_start": at(-Duration::minutes(10)), "scheduled_end": at(Duration::hours(1))}),
    );
    assert_eq!((change.status, change.body["status"].clone()), (201, json!("scheduled")), "{}", change.body);
    let id = change.str("id");
    // Planned, yet under way: its impact counts, not `maintenance`.
    let page = summary(&server);
    assert_eq!(page.body["indicator"], "partial_outage", "{}", page.body);
    assert_eq!(page.body["components"][0]["status"], "partial_outage");

    let update = |status: &str| {
        let posted = server.post(
            &format!("/v1/status/incidents/{id}/updates"),
            Some(&operator.token),
            json!({"status": status, "body": format!("{status}.")}),
        );
        assert_eq!((posted.status, posted.body["status"].clone()), (201, json!(status)), "{}", posted.body);
    };
    update("in_progress");
    assert_eq!(summary(&server).body["indicator"], "partial_outage");
    update("completed");
    let page = summary(&server);
    assert_eq!(page.body["indicator"], "operational", "completed before its window ends: {}", page.body);
    assert_eq!(page.body["components"][0]["status"], "operational");
    assert_eq!(server.get(&format!("/v1/status/incidents/{id}"), None).body["status"], "completed");
});
