//! Services (API.md "Services", "Catalog"): what a sale is made of, who may sell what to
//! whom, service numbers, lists with their filters and pages, merge-patch changes, and
//! reseller packages, also when many creations arrive at once (QUALITY.md 12-13, 22).

use std::collections::BTreeSet;
use std::sync::Barrier;

use chrono::{DateTime, Months, SecondsFormat, Utc};

use crate::support::*;

/// A well-formed id that names nothing.
const NO_SUCH_ID: &str = "01900000-0000-7000-8000-000000000000";

/// A web plan sold monthly and annually, with three add-ons (backups monthly only).
fn web_plan(name: &str) -> Value {
    json!({
        "name": name, "service_kind": "web_hosting", "public": true,
        "quotas": {"disk_mb": 10240, "mailboxes": 10, "mailbox_default_mb": 1024},
        "prices": [{"cycle": "monthly", "amount_minor": 499, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 4990, "currency": "EUR"}],
        "addons": [
            {"code": "extra-disk", "name": "10 GB more", "quota_delta": {"disk_mb": 10240},
             "prices": [{"cycle": "monthly", "amount_minor": 200, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 2000, "currency": "EUR"}]},
            {"code": "more-mail", "name": "10 more mailboxes", "quota_delta": {"mailboxes": 10},
             "prices": [{"cycle": "monthly", "amount_minor": 150, "currency": "EUR"}, {"cycle": "annual", "amount_minor": 1500, "currency": "EUR"}]},
            {"code": "backups", "name": "Daily backups", "prices": [{"cycle": "monthly", "amount_minor": 300, "currency": "EUR"}]}
        ]
    })
}

fn mail_plan(name: &str) -> Value {
    json!({
        "name": name, "service_kind": "mail_hosting", "public": true, "quotas": {"mailboxes": 25},
        "prices": [{"cycle": "monthly", "amount_minor": 199, "currency": "EUR"}]
    })
}

/// A reseller package: how many customers and services may exist below the reseller.
fn package_plan(customers: u64, services: u64) -> Value {
    json!({
        "name": "Reseller package", "service_kind": "reseller_hosting",
        "quotas": {"customers": customers, "services": services},
        "prices": [{"cycle": "monthly", "amount_minor": 2900, "currency": "EUR"}]
    })
}

/// Creates a plan as `seller`; its id.
fn plan(server: &Server, seller: &Account, body: Value) -> String {
    let response = server.post("/v1/plans", Some(&seller.token), body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.str("id")
}

/// `seller` sells `plan_id` to `owner_id`, monthly, without add-ons.
fn sell(server: &Server, seller: &Account, owner_id: &str, plan_id: &str, name: &str) -> Response {
    server.post(
        "/v1/services",
        Some(&seller.token),
        json!({"owner_id": owner_id, "plan_id": plan_id, "cycle": "monthly", "name": name}),
    )
}

/// A sale that must succeed; the new service.
fn sold(server: &Server, seller: &Account, owner_id: &str, plan_id: &str, name: &str) -> Value {
    let response = sell(server, seller, owner_id, plan_id, name);
    assert_eq!(response.status, 201, "{name}: {}", response.body);
    response.body
}

/// The body of a new account below the caller.
fn new_account(login: &str, kind: &str) -> Value {
    json!({"login": login, "password": PASSWORD, "name": format!("Name of {login}"), "email": format!("{login}@example.test"), "kind": kind})
}

/// Creates an account below `parent` without logging it in; its id.
fn add_account(server: &Server, parent: &Account, login: &str, kind: &str) -> String {
    let response = server.post("/v1/customers", Some(&parent.token), new_account(login, kind));
    assert_eq!(response.status, 201, "{login}: {}", response.body);
    response.str("id")
}

fn at(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time: {value}"))).unwrap().to_utc()
}

fn number(service: &Value) -> i64 {
    service["number"].as_i64().unwrap_or_else(|| panic!("a number in {service}"))
}

/// The status and problem code of a refusal.
fn refusal(response: &Response) -> (u16, String) {
    (response.status, response.code().to_owned())
}

/// The names of the services the caller lists with `query`, in the order answered.
fn names(server: &Server, account: &Account, query: &str) -> Vec<String> {
    let response = server.get(&format!("/v1/services{query}"), Some(&account.token));
    assert_eq!(response.status, 200, "{query}: {}", response.body);
    response.body["data"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
}

both_backends!(a_reseller_sells_its_own_plans_to_the_accounts_below_it, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let other = server.create(&operator, "other", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let sub = server.create(&reseller, "sub", "reseller");
    let deep = add_account(&server, &sub, "deep", "customer");
    let foreign = add_account(&server, &other, "foreign", "customer");
    let provider_plan = plan(&server, &operator, web_plan("Provider web"));
    let own_plan = plan(&server, &reseller, web_plan("Reseller web"));
    let others_plan = plan(&server, &other, web_plan("Other web"));

    let created = server.post(
        "/v1/services",
        Some(&reseller.token),
        json!({"owner_id": customer.id, "plan_id": own_plan, "cycle": "annual", "name": "Shop", "addons": ["extra-disk", "more-mail"]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.str("id");
    assert_eq!(created.header("location"), Some(format!("/v1/services/{id}").as_str()));
    assert!(created.header("etag").is_some());
    let service = &created.body;
    assert_eq!(service["status"], "active", "the built-in provisioner answers at once");
    assert!(service["number"].is_i64(), "{service}");
    assert_eq!(
        (&service["owner_id"], &service["plan_id"], &service["kind"], &service["cycle"]),
        (&json!(customer.id), &json!(own_plan), &json!("web_hosting"), &json!("annual"))
    );
    assert_eq!(service["addons"], json!(["extra-disk", "more-mail"]));
    assert_eq!(
        at(&service["next_due_at"]),
        at(&service["registered_at"]).checked_add_months(Months::new(12)).unwrap(),
        "due one cycle ahead"
    );
    assert_eq!(service["recurring_amount_minor"], 4990 + 2000 + 1500, "plan and add-ons, in the chosen cycle");
    assert_eq!(service["currency"], "EUR");
    assert_eq!(service["quotas"]["disk_mb"], 10240 + 10240);
    assert_eq!(service["quotas"]["mailboxes"], 10 + 10);
    assert_eq!(service["quotas"]["mailbox_default_mb"], 1024, "no add-on touches it");
    assert_eq!(service["quotas"]["databases"], Value::Null, "unlimited stays unlimited");
    assert_eq!(service["auto_renew"], true);
    assert_eq!((&service["cancellation"], &service["suspension_reason"]), (&Value::Null, &Value::Null));
    assert_eq!(service["allow_overselling"], false);
    let read = server.get(&format!("/v1/services/{id}"), Some(&customer.token));
    assert_eq!(read.status, 200, "the owner reads it");
    assert_eq!(read.body, created.body);
    assert_eq!(read.header("etag"), created.header("etag"));

    let monthly = sold(&server, &reseller, &deep, &own_plan, "Deep blog");
    assert_eq!(monthly["owner_id"], deep.as_str(), "the whole subtree is the reseller's market");
    assert_eq!((&monthly["addons"], &monthly["recurring_amount_minor"]), (&json!([]), &json!(499)));
    assert_eq!(monthly["quotas"]["disk_mb"], 10240, "the plan's quotas alone");
    assert_eq!(at(&monthly["next_due_at"]), at(&monthly["registered_at"]).checked_add_months(Months::new(1)).unwrap());
    assert_eq!(sold(&server, &reseller, &sub.id, &own_plan, "Sub's site")["owner_id"], sub.id.as_str());

    for (plan_id, whose) in [
        (&provider_plan, "the provider's plan"),
        (&others_plan, "another reseller's plan"),
        (&NO_SUCH_ID.to_owned(), "no plan"),
        (&"not-an-id".to_owned(), "a malformed id"),
    ] {
        let refused = sell(&server, &reseller, &customer.id, plan_id, "Shop");
        assert_eq!(refusal(&refused), (404, "not_found".to_owned()), "plan_id: {whose}");
    }
    let parents_plan = sell(&server, &sub, &deep, &own_plan, "Deep shop");
    assert_eq!(refusal(&parents_plan), (404, "not_found".to_owned()), "a public plan of the parent is not the sub's");
    for (owner_id, who) in [
        (&foreign, "another reseller's customer"),
        (&other.id, "a sibling reseller"),
        (&reseller.id, "the reseller itself"),
        (&operator.id, "its operator"),
        (&NO_SUCH_ID.to_owned(), "nobody"),
        (&"not-an-id".to_owned(), "a malformed id"),
    ] {
        let refused = sell(&server, &reseller, owner_id, &own_plan, "Shop");
        assert_eq!(refusal(&refused), (404, "not_found".to_owned()), "owner_id: {who}");
    }

    let for_itself = sold(&server, &operator, &operator.id, &provider_plan, "Operator's site");
    assert_eq!(for_itself["owner_id"], operator.id.as_str(), "an operator may own a service");
    let second_operator = server.operator("operator-2");
    let to_operator = sell(&server, &operator, &second_operator.id, &provider_plan, "Colleague's site");
    assert_eq!(refusal(&to_operator), (404, "not_found".to_owned()), "another operator is not below");
    assert_eq!(sold(&server, &operator, &foreign, &provider_plan, "Direct")["owner_id"], foreign.as_str());

    for body in [json!({"owner_id": customer.id, "plan_id": own_plan, "cycle": "monthly", "name": "Mine"}), json!({})] {
        let by_customer = server.post("/v1/services", Some(&customer.token), body);
        assert_eq!(refusal(&by_customer), (403, "forbidden".to_owned()), "customers never sell");
    }
    assert_eq!(
        names(&server, &operator, "?limit=100"),
        vec!["Direct", "Operator's site", "Sub's site", "Deep blog", "Shop"],
        "the refusals created nothing"
    );
});

both_backends!(a_sale_needs_an_open_plan_an_offered_cycle_known_addons_and_a_name, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = add_account(&server, &reseller, "customer", "customer");
    let open = plan(&server, &reseller, web_plan("Web"));
    let closing = plan(&server, &reseller, web_plan("Old web"));
    let kept = sold(&server, &reseller, &customer, &closing, "Before the archive");
    assert_eq!(server.delete(&format!("/v1/plans/{closing}"), Some(&reseller.token)).status, 204);

    let refused = |changes: Value| -> (String, Vec<String>) {
        let mut body = json!({"owner_id": customer, "plan_id": open, "cycle": "monthly", "name": "Shop"});
        for (field, value) in changes.as_object().unwrap() {
            body[field] = value.clone();
        }
        let response = server.post("/v1/services", Some(&reseller.token), body);
        assert_eq!(response.status, 422, "{changes}: {}", response.body);
        (response.code().to_owned(), response.pointers())
    };
    let invalid =
        |pointers: &[&str]| ("validation_failed".to_owned(), pointers.iter().map(|p| (*p).to_owned()).collect());
    assert_eq!(refused(json!({"plan_id": closing})), invalid(&["/plan_id"]), "an archived plan is no longer sold");
    assert_eq!(refused(json!({"cycle": "quarterly"})), invalid(&["/cycle"]), "a cycle the plan has no price for");
    assert_eq!(refused(json!({"cycle": "weekly"})).1, vec!["/cycle"], "no such cycle");
    assert_eq!(refused(json!({"addons": ["extra-disk", "no-such"]})), invalid(&["/addons/1"]), "an unknown add-on");
    assert_eq!(refused(json!({"addons": ["more-mail", "more-mail"]})), invalid(&["/addons/1"]), "each add-on once");
    assert_eq!(
        refused(json!({"cycle": "annual", "addons": ["backups"]})),
        invalid(&["/addons/0"]),
        "an add-on without a price in the cycle"
    );
    assert_eq!(refused(json!({"name": ""})), invalid(&["/name"]));
    assert_eq!(refused(json!({"name": "x".repeat(201)})), invalid(&["/name"]), "names are 1-200 characters");
    assert_eq!(refused(json!({"name": null})).1, vec!["/name"]);
    assert_eq!(
        refused(json!({"status": "suspended"})),
        ("unknown_field".to_owned(), vec!["/status".to_owned()]),
        "the server decides the status"
    );
    assert_eq!(
        refused(json!({"plan_id": closing, "cycle": "quarterly", "addons": ["no-such"]})),
        invalid(&["/plan_id", "/cycle", "/addons/0"]),
        "every refusal of the sale at once"
    );

    assert_eq!(names(&server, &reseller, ""), vec!["Before the archive"], "nothing was sold");
    let still = server.get(&format!("/v1/services/{}", kept["id"].as_str().unwrap()), Some(&reseller.token));
    assert_eq!(
        (still.body["plan_id"].as_str(), &still.body["status"]),
        (Some(closing.as_str()), &json!("active")),
        "services keep an archived plan"
    );
});

both_backends!(service_numbers_follow_each_other_without_gaps_even_across_refusals, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = add_account(&server, &reseller, "customer", "customer");
    let direct = add_account(&server, &operator, "direct", "customer");
    let package = plan(&server, &operator, package_plan(10, 2));
    let provider_web = plan(&server, &operator, web_plan("Provider web"));
    let web = plan(&server, &reseller, web_plan("Web"));

    let first = number(&sold(&server, &operator, &reseller.id, &package, "Package"));
    let second = number(&sold(&server, &reseller, &customer, &web, "One"));
    let third = number(&sold(&server, &reseller, &customer, &web, "Two"));
    assert_eq!((second, third), (first + 1, first + 2));

    let full = sell(&server, &reseller, &customer, &web, "Three");
    assert_eq!(refusal(&full), (409, "quota_exceeded".to_owned()), "the package allows two services");
    assert_eq!(sell(&server, &reseller, &customer, &web, "").status, 422);
    assert_eq!(sell(&server, &reseller, &direct, &web, "Elsewhere").status, 404);
    let fourth = number(&sold(&server, &operator, &direct, &provider_web, "Direct"));
    assert_eq!(fourth, third + 1, "refused sales use no number");

    let listed = server.get("/v1/services?limit=100", Some(&operator.token));
    let numbers: Vec<i64> = listed.body["data"].as_array().unwrap().iter().map(number).collect();
    assert_eq!(numbers, vec![fourth, third, second, first], "newest first, one number each");
});

both_backends!(lists_hold_own_and_subtree_services_with_filters_and_pages, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let other = server.create(&operator, "other", "reseller");
    let anna = server.create(&reseller, "anna", "customer");
    let bert = add_account(&server, &reseller, "bert", "customer");
    let sub = server.create(&reseller, "sub", "reseller");
    let deep = server.create(&sub, "deep", "customer");
    let foreign = add_account(&server, &other, "foreign", "customer");
    let provider_web = plan(&server, &operator, web_plan("Provider web"));
    let web = plan(&server, &reseller, web_plan("Web"));
    let mail = plan(&server, &reseller, mail_plan("Mail"));
    let sub_web = plan(&server, &sub, web_plan("Sub web"));
    let other_web = plan(&server, &other, web_plan("Other web"));

    sold(&server, &operator, &reseller.id, &provider_web, "Reseller Site");
    sold(&server, &reseller, &anna.id, &web, "Shop");
    sold(&server, &reseller, &anna.id, &mail, "Shop Mail");
    let blog = server.post(
        "/v1/services",
        Some(&reseller.token),
        json!({"owner_id": bert, "plan_id": web, "cycle": "annual", "name": "Blog"}),
    );
    assert_eq!(blog.status, 201, "{}", blog.body);
    sold(&server, &reseller, &bert, &web, "2024 Campaign");
    sold(&server, &sub, &deep.id, &sub_web, "Deep Web");
    sold(&server, &other, &foreign, &other_web, "Foreign");

    let everything = vec!["Deep Web", "2024 Campaign", "Blog", "Shop Mail", "Shop", "Reseller Site"];
    assert_eq!(names(&server, &reseller, ""), everything, "its own and its subtree's, newest first");
    assert_eq!(names(&server, &anna, ""), vec!["Shop Mail", "Shop"], "a customer: its own");
    assert_eq!(names(&server, &deep, ""), vec!["Deep Web"]);
    assert_eq!(names(&server, &sub, ""), vec!["Deep Web"], "nothing of its parent's");
    assert_eq!(names(&server, &other, ""), vec!["Foreign"], "nothing of another reseller's");
    assert_eq!(names(&server, &operator, "").len(), 7);

    assert_eq!(names(&server, &reseller, "?kind=mail_hosting"), vec!["Shop Mail"]);
    assert_eq!(names(&server, &anna, "?kind=web_hosting"), vec!["Shop"]);
    assert_eq!(names(&server, &reseller, "?kind=domain"), Vec::<String>::new());
    assert_eq!(names(&server, &reseller, "?status=active"), everything);
    assert_eq!(names(&server, &reseller, "?status=suspended"), Vec::<String>::new());
    assert_eq!(names(&server, &reseller, &format!("?owner_id={bert}")), vec!["2024 Campaign", "Blog"]);
    assert_eq!(
        names(&server, &reseller, &format!("?owner_id={foreign}")),
        Vec::<String>::new(),
        "a filter never widens the reach"
    );

    assert_eq!(names(&server, &reseller, "?q=SHOP"), vec!["Shop Mail", "Shop"], "a case-insensitive prefix");
    assert_eq!(names(&server, &reseller, "?q=shop%20m"), vec!["Shop Mail"]);
    assert_eq!(names(&server, &reseller, "?q=hop"), Vec::<String>::new(), "a prefix, not a substring");
    assert_eq!(names(&server, &reseller, "?q=%25"), Vec::<String>::new(), "wildcards match themselves");
    let blog_number = number(&blog.body);
    assert_eq!(names(&server, &reseller, &format!("?q={blog_number}")), vec!["Blog"], "digits: the number");
    assert_eq!(names(&server, &anna, &format!("?q={blog_number}")), Vec::<String>::new(), "within the reach");
    let prefix = blog_number / 10;
    assert_eq!(
        names(&server, &operator, &format!("?q={prefix}")),
        Vec::<String>::new(),
        "a number matches exactly, never as a prefix"
    );
    assert_eq!(names(&server, &reseller, "?q=2024"), vec!["2024 Campaign"], "digits also match names by prefix");

    let in_two_months = (Utc::now() + chrono::Duration::days(62)).to_rfc3339_opts(SecondsFormat::Secs, true);
    assert_eq!(
        names(&server, &reseller, &format!("?due_before={in_two_months}")),
        vec!["Deep Web", "2024 Campaign", "Shop Mail", "Shop", "Reseller Site"],
        "the annual blog is due later"
    );
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    assert_eq!(names(&server, &reseller, &format!("?due_before={now}")), Vec::<String>::new());
    for query in ["?status=gone", "?kind=vps", "?due_before=tomorrow", "?limit=0", "?limit=101", "?q="] {
        let refused = server.get(&format!("/v1/services{query}"), Some(&reseller.token));
        assert_eq!(refused.status, 422, "{query}: {}", refused.body);
    }

    let mut seen = Vec::new();
    let mut path = "/v1/services?limit=4".to_owned();
    loop {
        let page = server.get(&path, Some(&reseller.token));
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(page.body["data"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/services?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, everything, "the pages add up to the list");
    let first = server.get("/v1/services?limit=1&kind=web_hosting", Some(&reseller.token));
    let cursor = first.str("next_cursor");
    let mismatched = server.get(&format!("/v1/services?limit=1&cursor={cursor}"), Some(&reseller.token));
    assert_eq!(refusal(&mismatched), (422, "invalid_cursor".to_owned()), "a cursor is bound to its filters");
});

both_backends!(owners_rename_their_services_and_only_operators_allow_overselling, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let web = plan(&server, &reseller, web_plan("Web"));
    let created = sold(&server, &reseller, &customer.id, &web, "Shop");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/services/{id}");

    let read = server.get(&path, Some(&customer.token));
    let etag = read.header("etag").unwrap().to_owned();
    let changed = server.send(
        "PATCH",
        &path,
        Some(&customer.token),
        Body::Json(json!({"name": "Shop NL", "auto_renew": false})),
        &[("content-type", "application/merge-patch+json"), ("if-match", &etag)],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!((&changed.body["name"], &changed.body["auto_renew"]), (&json!("Shop NL"), &json!(false)));
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    for field in ["number", "owner_id", "plan_id", "next_due_at", "recurring_amount_minor", "quotas", "status"] {
        assert_eq!(changed.body[field], created[field], "{field} stays");
    }
    let stale = server.send(
        "PATCH",
        &path,
        Some(&customer.token),
        Body::Json(json!({"name": "Too late"})),
        &[("if-match", &etag)],
    );
    assert_eq!(refusal(&stale), (412, "precondition_failed".to_owned()));
    assert_eq!(server.get(&path, Some(&customer.token)).body["name"], "Shop NL", "nothing changed");

    for (body, pointer) in [
        (json!({"name": null}), "/name"),
        (json!({"name": ""}), "/name"),
        (json!({"auto_renew": null}), "/auto_renew"),
        (json!({"auto_renew": "no"}), "/auto_renew"),
    ] {
        let refused = server.patch(&path, Some(&customer.token), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer], "{body}");
    }
    for field in ["number", "status", "owner_id", "recurring_amount_minor"] {
        let refused = server.patch(&path, Some(&reseller.token), json!({ field: 1 }));
        assert_eq!(refused.code(), "unknown_field", "{field}");
        assert_eq!(refused.pointers(), vec![format!("/{field}")]);
    }
    let by_reseller = server.patch(&path, Some(&reseller.token), json!({"name": "Shop Nederland"}));
    assert_eq!(by_reseller.status, 200, "the seller above may rename too: {}", by_reseller.body);

    for (who, account) in [("the owner", &customer), ("its reseller", &reseller)] {
        let refused = server.patch(&path, Some(&account.token), json!({"allow_overselling": true}));
        assert_eq!(refusal(&refused), (403, "forbidden".to_owned()), "{who} may not allow overselling");
    }
    let by_operator = server.patch(&path, Some(&operator.token), json!({"allow_overselling": true}));
    assert_eq!(by_operator.status, 200, "{}", by_operator.body);
    assert_eq!(by_operator.body["allow_overselling"], true);
    assert_eq!(server.get(&path, Some(&customer.token)).body["allow_overselling"], true);

    let events = server.get(&format!("/v1/audit-events?target_id={id}"), Some(&reseller.token));
    assert_eq!(events.status, 200, "{}", events.body);
    let events = events.body["data"].as_array().unwrap().clone();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec!["service.update", "service.update", "service.update", "service.create"],
        "one event per change, none for a refusal"
    );
    let actors: Vec<&str> = events.iter().map(|e| e["actor_id"].as_str().unwrap()).collect();
    assert_eq!(actors, vec![operator.id.as_str(), reseller.id.as_str(), customer.id.as_str(), reseller.id.as_str()]);
    assert!(events.iter().all(|e| e["target_type"] == "service"), "{events:?}");
});

both_backends!(a_reseller_package_counts_what_is_created_below_the_reseller, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let package_plan = plan(&server, &operator, package_plan(5, 5));
    let provider_web = plan(&server, &operator, web_plan("Provider web"));
    let package = sold(&server, &operator, &reseller.id, &package_plan, "Reseller package");
    assert_eq!(package["kind"], "reseller_hosting");
    assert_eq!((&package["quotas"]["customers"], &package["quotas"]["services"]), (&json!(5), &json!(5)));
    let web = plan(&server, &reseller, web_plan("Web"));

    // Five accounts below the reseller: two customers, a sub-reseller and the
    // sub-reseller's two customers.
    let anna = add_account(&server, &reseller, "anna", "customer");
    let bert = add_account(&server, &reseller, "bert", "customer");
    let sub = server.create(&reseller, "sub", "reseller");
    let sub_web = plan(&server, &sub, web_plan("Sub web"));
    let deep1 = add_account(&server, &sub, "deep1", "customer");
    let deep2 = add_account(&server, &sub, "deep2", "customer");
    for (creator, login, kind) in
        [(&reseller, "carl", "customer"), (&reseller, "sub2", "reseller"), (&sub, "deep3", "customer")]
    {
        let refused = server.post("/v1/customers", Some(&creator.token), new_account(login, kind));
        assert_eq!(refusal(&refused), (409, "quota_exceeded".to_owned()), "{login}: the package allows 5 customers");
    }
    let customers = server.get("/v1/customers?limit=100", Some(&reseller.token));
    assert_eq!(customers.ids().len(), 5, "the refusals created nobody: {}", customers.body);

    // Five services below the reseller, whoever sold them; the package, owned by the
    // reseller itself, is not below it.
    sold(&server, &reseller, &anna, &web, "Anna's");
    sold(&server, &reseller, &bert, &web, "Bert's");
    sold(&server, &reseller, &sub.id, &web, "Sub's own");
    sold(&server, &sub, &deep1, &sub_web, "Deep one");
    sold(&server, &sub, &deep2, &sub_web, "Deep two");
    for (seller, owner, plan_id, who) in [
        (&reseller, &anna, &web, "the reseller"),
        (&sub, &deep1, &sub_web, "the sub-reseller"),
        (&operator, &bert, &provider_web, "the operator"),
    ] {
        let refused = sell(&server, seller, owner, plan_id, "One too many");
        assert_eq!(refusal(&refused), (409, "quota_exceeded".to_owned()), "sold by {who}");
    }
    assert_eq!(names(&server, &reseller, "?kind=web_hosting").len(), 5);
    let own = sold(&server, &operator, &reseller.id, &provider_web, "The reseller's own site");
    assert_eq!(own["owner_id"], reseller.id.as_str(), "what the reseller owns itself is not below it");
});

both_backends!(overselling_lifts_a_package_and_without_a_package_nothing_is_limited, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let package_plan = plan(&server, &operator, package_plan(1, 1));
    let package = sold(&server, &operator, &reseller.id, &package_plan, "Small package");
    let package_path = format!("/v1/services/{}", package["id"].as_str().unwrap());
    let web = plan(&server, &reseller, web_plan("Web"));
    let anna = add_account(&server, &reseller, "anna", "customer");
    sold(&server, &reseller, &anna, &web, "Anna's");
    let full_customers = server.post("/v1/customers", Some(&reseller.token), new_account("bert", "customer"));
    assert_eq!(refusal(&full_customers), (409, "quota_exceeded".to_owned()));
    let full_services = sell(&server, &reseller, &anna, &web, "Second");
    assert_eq!(refusal(&full_services), (409, "quota_exceeded".to_owned()));

    let by_reseller = server.patch(&package_path, Some(&reseller.token), json!({"allow_overselling": true}));
    assert_eq!(refusal(&by_reseller), (403, "forbidden".to_owned()), "a reseller cannot lift its own package");
    let lifted = server.patch(&package_path, Some(&operator.token), json!({"allow_overselling": true}));
    assert_eq!((lifted.status, &lifted.body["allow_overselling"]), (200, &json!(true)), "{}", lifted.body);
    let bert = add_account(&server, &reseller, "bert", "customer");
    sold(&server, &reseller, &bert, &web, "Bert's");
    sold(&server, &reseller, &anna, &web, "Anna's second");

    let restored = server.patch(&package_path, Some(&operator.token), json!({"allow_overselling": false}));
    assert_eq!(restored.status, 200, "{}", restored.body);
    let again = server.post("/v1/customers", Some(&reseller.token), new_account("carl", "customer"));
    assert_eq!(refusal(&again), (409, "quota_exceeded".to_owned()), "the limit holds again");
    assert_eq!(refusal(&sell(&server, &reseller, &bert, &web, "Third")), (409, "quota_exceeded".to_owned()));

    let free = server.create(&operator, "free", "reseller");
    let free_web = plan(&server, &free, web_plan("Free web"));
    for i in 0..6 {
        let customer = add_account(&server, &free, &format!("free-{i}"), "customer");
        sold(&server, &free, &customer, &free_web, &format!("Free {i}"));
    }
    assert_eq!(names(&server, &free, "").len(), 6, "a reseller without a package has no limits");
});

/// Sends every body to `path` as `account` at once; each answer's status, problem code
/// (empty for a success) and body.
fn race(server: &Server, account: &Account, path: &str, bodies: Vec<Value>) -> Vec<(u16, String, Value)> {
    let start = Barrier::new(bodies.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    let response = server.post(path, Some(&account.token), body);
                    let code = if response.status < 300 { String::new() } else { response.code().to_owned() };
                    (response.status, code, response.body)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    })
}

/// Exactly `created` successes and quota refusals for the rest, never anything else.
fn tally(answers: &[(u16, String, Value)], created: usize, what: &str) -> Vec<Value> {
    let statuses: Vec<(u16, &str)> = answers.iter().map(|(status, code, _)| (*status, code.as_str())).collect();
    assert!(statuses.iter().all(|(status, _)| *status < 500), "{what}: a 5xx among {statuses:?}");
    assert_eq!(statuses.iter().filter(|(status, _)| *status == 201).count(), created, "{what}: {statuses:?}");
    assert!(
        statuses.iter().all(|answer| answer.0 == 201 || *answer == (409, "quota_exceeded")),
        "{what}: {statuses:?}"
    );
    answers.iter().filter(|(status, _, _)| *status == 201).map(|(_, _, body)| body.clone()).collect()
}

// Password hashing has its own small limit (one per core), which would line the customer
// creations up one after the other; lifting it lets all twenty reach the database at
// once, as they would on a bigger machine.
both_backends!(
    parallel_creations_below_a_package_create_exactly_its_quota,
    env = &[("HOSTADMIN_PASSWORD_HASH_CONCURRENCY", "20"), ("HOSTADMIN_DATABASE_POOL_SIZE", "10")],
    |server| {
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller", "reseller");
        let package = plan(&server, &operator, package_plan(5, 5));
        sold(&server, &operator, &reseller.id, &package, "Package");
        let web = plan(&server, &reseller, web_plan("Web"));

        let bodies = (0..20).map(|i| new_account(&format!("racer-{i}"), "customer")).collect();
        let customers = tally(&race(&server, &reseller, "/v1/customers", bodies), 5, "20 customers against 5");
        let customer_ids: BTreeSet<String> = customers.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
        let listed = server.get("/v1/customers?limit=100", Some(&reseller.token));
        assert_eq!(listed.ids().into_iter().collect::<BTreeSet<_>>(), customer_ids, "exactly the five exist");
        assert_eq!(listed.ids().len(), 5);

        let owners: Vec<&String> = customer_ids.iter().collect();
        let bodies = (0..20)
            .map(
                |i| json!({"owner_id": owners[i % 5], "plan_id": web, "cycle": "monthly", "name": format!("Site {i}")}),
            )
            .collect();
        let services = tally(&race(&server, &reseller, "/v1/services", bodies), 5, "20 services against 5");
        let service_ids: BTreeSet<String> = services.iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
        let listed = server.get("/v1/services?limit=100&kind=web_hosting", Some(&reseller.token));
        assert_eq!(listed.ids().into_iter().collect::<BTreeSet<_>>(), service_ids, "exactly the five exist");
        assert_eq!(listed.ids().len(), 5);
        assert_eq!(server.get("/v1/services?limit=100", Some(&operator.token)).ids().len(), 6, "and the package");

        let mut numbers: Vec<i64> = services.iter().map(number).collect();
        numbers.sort_unstable();
        assert!(numbers.windows(2).all(|pair| pair[1] == pair[0] + 1), "consecutive numbers: {numbers:?}");
    }
);

both_backends!(only_the_seller_corrects_a_due_date_and_it_is_audited, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let other = server.create(&operator, "other-reseller", "reseller");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let path = format!("/v1/services/{service}");
    let before = server.get(&path, Some(&reseller.token)).body["next_due_at"].clone();

    let by_owner = server.patch(&path, Some(&customer.token), json!({"next_due_at": "2031-01-15T00:00:00Z"}));
    assert_eq!((by_owner.status, by_owner.code()), (403, "forbidden"), "{}", by_owner.body);
    let by_stranger = server.patch(&path, Some(&other.token), json!({"next_due_at": "2031-01-15T00:00:00Z"}));
    assert_eq!(by_stranger.status, 404, "{}", by_stranger.body);
    // The owner still renames its service: only the due date is the seller's.
    assert_eq!(server.patch(&path, Some(&customer.token), json!({"name": "Shop"})).status, 200);

    for (body, pointer) in [
        (json!({"next_due_at": null}), "/next_due_at"),
        (json!({"next_due_at": "next tuesday"}), "/next_due_at"),
        (json!({"next_due_at": "+10000-01-01T00:00:00Z"}), "/next_due_at"),
    ] {
        let refused = server.patch(&path, Some(&reseller.token), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer], "{body}");
    }
    assert_eq!(server.get(&path, Some(&reseller.token)).body["next_due_at"], before, "nothing changed");

    let corrected = server.patch(&path, Some(&reseller.token), json!({"next_due_at": "2031-01-15T08:30:00+02:00"}));
    assert_eq!(corrected.status, 200, "{}", corrected.body);
    assert_eq!(corrected.body["next_due_at"], "2031-01-15T06:30:00Z");
    assert_eq!(corrected.body["name"], "Shop");
    let audited = server.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'service.update' AND target_id = '{service}' \
         AND actor_id = '{}' AND details LIKE '%2031-01-15T06:30:00Z%'",
        reseller.id
    ));
    assert_eq!(audited, 1, "the correction is audited with the new date");

    let own = server.sell(&operator, &operator, &server.web_plan(&operator, "Own"));
    let by_operator = server.patch(
        &format!("/v1/services/{own}"),
        Some(&operator.token),
        json!({"next_due_at": "2030-06-01T00:00:00Z"}),
    );
    assert_eq!(by_operator.status, 200, "an operator is its own seller: {}", by_operator.body);
});

// `GET /v1/services/{id}` authenticates in the same database hop as its lookup
// (`auth::Caller`): it refuses as every authenticated route does, in the same order.
both_backends!(reading_a_service_refuses_as_every_route_does, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let stranger = server.create(&operator, "stranger", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    let path = format!("/v1/services/{service}");

    let read = server.get(&path, Some(&customer.token));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.str("id"), service);
    assert!(read.header("ratelimit").is_some(), "the rate limit's standing is on the answer");

    assert_eq!(server.get(&path, None).status, 401);
    assert_eq!(server.get(&path, Some("not-a-token")).status, 401);
    // The token is refused before the query is looked at; a known caller's unknown
    // parameter before the lookup.
    assert_eq!(server.get(&format!("{path}?x=1"), Some("not-a-token")).status, 401);
    let unknown = server.get(&format!("{path}?x=1"), Some(&stranger.token));
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.code(), "unknown_parameter");

    assert_eq!(server.get(&path, Some(&stranger.token)).status, 404, "another tenant's service");
    assert_eq!(server.get("/v1/services/not-an-id", Some(&customer.token)).status, 404);

    let key = |scopes: &[&str]| {
        let made = server.post("/v1/me/api-keys", Some(&customer.token), json!({"name": "k", "scopes": scopes}));
        assert_eq!(made.status, 201, "{}", made.body);
        made.str("key")
    };
    let unscoped = server.get(&path, Some(&key(&["billing:read"])));
    assert_eq!(unscoped.status, 403, "{}", unscoped.body);
    assert_eq!(server.get(&path, Some(&key(&["services:read"]))).status, 200);

    let out = server.post("/v1/auth/logout", Some(&customer.token), json!({}));
    assert!(out.status < 300, "{}", out.body);
    assert_eq!(server.get(&path, Some(&customer.token)).status, 401, "a logged out session reads nothing");
});

both_backends!(
    reading_a_service_counts_against_the_rate_limit,
    env = &[("HOSTADMIN_REQUESTS_PER_MINUTE", "5")],
    |server| {
        // `operator()` spent one request (GET /v1/me): four reads fit in the minute.
        let operator = server.operator("operator");
        let path = format!("/v1/services/{NO_SUCH_ID}");
        for n in 2..=5 {
            assert_eq!(server.get(&path, Some(&operator.token)).status, 404, "request {n}");
        }
        let limited = server.get(&path, Some(&operator.token));
        assert_eq!(limited.status, 429, "{}", limited.body);
        assert_eq!(limited.code(), "rate_limited");
    }
);
