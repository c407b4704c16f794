//! Dates stay within the years 0001-9999: RFC 3339 has four-digit years, and stored
//! timestamps sort as time only while they do. A renewal beyond is refused with its
//! pointer, and the worker's due scan is not thrown off by services due at the very end.

use diesel::RunQueryDsl as _;

use crate::support::*;

const FAST_WORKER: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "100")];

fn set_due_at(server: &Server, ids: &[String], at: &str) {
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    diesel::sql_query(format!("UPDATE services SET next_due_at = '{at}' WHERE id IN ({list})"))
        .execute(&mut server.database.connect())
        .unwrap();
}

both_backends!(a_renewal_past_the_year_9999_is_refused_with_its_pointer, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let service = server.sell(&reseller, &customer, &plan);
    set_due_at(&server, std::slice::from_ref(&service), "9999-12-15 00:00:00");

    let renewed = server.post(&format!("/v1/services/{service}/renew"), Some(&reseller.token), json!({"cycles": 1}));
    assert_eq!(renewed.status, 422, "{}", renewed.body);
    assert_eq!(renewed.pointers(), vec!["/cycles"]);
    assert_eq!(renewed.body["errors"][0]["code"], "out_of_range");
    let read = server.get(&format!("/v1/services/{service}"), Some(&reseller.token));
    assert_eq!(read.body["next_due_at"], "9999-12-15T00:00:00Z", "unchanged, and still RFC 3339");

    let bulk = server.post(
        "/v1/services/bulk",
        Some(&reseller.token),
        json!({"action": "renew", "service_ids": [service], "params": {"cycles": 1}}),
    );
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.body["results"][0]["ok"], false, "{}", bulk.body);

    let filtered = server.get("/v1/services?due_before=%2B10000-01-01T00:00:00Z", Some(&reseller.token));
    assert_eq!(filtered.status, 422, "{}", filtered.body);
    assert_eq!(filtered.pointers(), vec!["/query/due_before"]);
});

both_backends!(a_service_overdue_beside_services_due_at_the_very_end_still_expires, env = FAST_WORKER, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let far: Vec<String> = (0..100).map(|_| server.sell(&reseller, &customer, &plan)).collect();
    let overdue = server.sell(&reseller, &customer, &plan);
    set_due_at(&server, &far, "9999-12-31 23:59:59");
    let ten_days_ago = (chrono::Utc::now() - chrono::Duration::days(10)).format("%Y-%m-%d %H:%M:%S").to_string();
    set_due_at(&server, std::slice::from_ref(&overdue), &ten_days_ago);

    eventually(30, "the overdue service to expire", || {
        server.get(&format!("/v1/services/{overdue}"), Some(&reseller.token)).body["status"] == "expired"
    });
    let list = far.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    assert_eq!(
        server.count(&format!("SELECT COUNT(*) AS n FROM services WHERE status = 'active' AND id IN ({list})")),
        100
    );
});
