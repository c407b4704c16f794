//! Recurring billing (API.md "Recurring billing"), driven without sleeping: sellers move
//! `next_due_at` with PATCH, the invoice's due date is moved in the database to stand
//! for the days that pass, and `hostadmin worker --once` runs a round.

use diesel::RunQueryDsl as _;

use crate::support::*;

/// The server's own worker takes its first round at start, then sleeps.
const IDLE_WORKER: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "3600000")];

struct Shop {
    reseller: Account,
    customer: Account,
    plan: String,
}

fn shop(server: &Server) -> Shop {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let settings = json!({
        "legal_name": "Reseller B.V.",
        "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": "NL"},
        "tax_rates": {"NL": "21"},
    });
    assert_eq!(server.put("/v1/billing/settings", Some(&reseller.token), settings).status, 200);
    let customer = server.create(&reseller, "customer", "customer");
    assert_eq!(server.patch("/v1/me", Some(&customer.token), json!({"profile": {"country": "NL"}})).status, 200);
    let plan = server.web_plan(&reseller, "Web");
    Shop { reseller, customer, plan }
}

/// A service of the customer's due in `days` (negative: past).
fn service_due_in(server: &Server, shop: &Shop, days: i64) -> String {
    let id = server.sell(&shop.reseller, &shop.customer, &shop.plan);
    set_due(server, shop, &id, days);
    id
}

fn set_due(server: &Server, shop: &Shop, id: &str, days: i64) {
    let at = (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let patched = server.patch(&format!("/v1/services/{id}"), Some(&shop.reseller.token), json!({"next_due_at": at}));
    assert_eq!(patched.status, 200, "{}", patched.body);
}

fn run_worker(server: &Server) {
    let run = server.cli(&["worker", "--once"], "");
    assert!(run.status.success(), "worker --once: {}", String::from_utf8_lossy(&run.stderr));
}

fn renewal_invoices(server: &Server, shop: &Shop, service: &str) -> Vec<Value> {
    let listed = server.get("/v1/invoices?limit=100", Some(&shop.reseller.token));
    listed.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("invoices in {}", listed.body))
        .iter()
        .filter(|invoice| invoice["service_id"] == service && invoice["order_id"].is_null())
        .cloned()
        .collect()
}

/// The days that pass: the invoice fell due `days` ago (it was issued 14 days before).
fn invoice_due_days_ago(server: &Server, invoice: &str, days: i64) {
    let due = chrono::Utc::now() - chrono::Duration::days(days);
    let issued = due - chrono::Duration::days(14);
    let format = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S").to_string();
    diesel::sql_query(format!(
        "UPDATE invoices SET due_at = '{}', issued_at = '{}' WHERE id = '{invoice}'",
        format(due),
        format(issued)
    ))
    .execute(&mut server.database.connect())
    .unwrap();
}

fn service(server: &Server, shop: &Shop, id: &str) -> Value {
    server.get(&format!("/v1/services/{id}"), Some(&shop.customer.token)).body
}

fn pay(server: &Server, shop: &Shop, invoice: &Value) {
    let id = invoice["id"].as_str().unwrap();
    let amount = invoice["amount_due_minor"].as_i64().unwrap();
    let paid = server.post(
        &format!("/v1/invoices/{id}/payments"),
        Some(&shop.reseller.token),
        json!({"amount_minor": amount, "method": "bank_transfer"}),
    );
    assert_eq!(paid.status, 201, "{}", paid.body);
}

fn mails(server: &Server, subject: &str) -> usize {
    server.mails_to("customer@example.test").iter().filter(|mail| mail.subject == subject).count()
}

both_backends!(a_renewal_invoice_is_issued_once_within_the_window_and_payment_renews, env = IDLE_WORKER, |server| {
    let shop = shop(&server);
    let soon = service_due_in(&server, &shop, 10);
    // A top-level customer's service, sold by the provider, which keeps no settings.
    let operator = server.login("operator", PASSWORD);
    let direct = server.create(&operator, "direct", "customer");
    let provider_plan = server.web_plan(&operator, "Provider web");
    let unbilled = server.sell(&operator, &direct, &provider_plan);
    let at = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        server.patch(&format!("/v1/services/{unbilled}"), Some(&operator.token), json!({"next_due_at": at})).status,
        200
    );
    let later = service_due_in(&server, &shop, 20);
    let due_before = service(&server, &shop, &soon)["next_due_at"].clone();
    run_worker(&server);
    run_worker(&server);
    let invoices = renewal_invoices(&server, &shop, &soon);
    assert_eq!(invoices.len(), 1, "one invoice for the period, however many rounds: {invoices:?}");
    let invoice = &invoices[0];
    assert_eq!((&invoice["status"], &invoice["total_minor"]), (&json!("unpaid"), &json!(605)), "{invoice}");
    assert_eq!(invoice["lines"][0]["period_start"], due_before);
    assert_eq!(invoice["due_at"], due_before, "due when the period starts");
    assert!(renewal_invoices(&server, &shop, &later).is_empty(), "20 days ahead is outside the 14-day window");
    assert_eq!(
        server.count("SELECT COUNT(*) AS n FROM invoices WHERE renewal_period_start IS NOT NULL"),
        1,
        "the operator's own top-level customers are not invoiced: the provider has no billing settings"
    );
    assert_eq!(mails(&server, "Your invoice"), 1);

    pay(&server, &shop, invoice);
    let renewed = service(&server, &shop, &soon);
    assert_ne!(renewed["next_due_at"], due_before, "one month more: {renewed}");
    assert_eq!(renewed["status"], "active");
    run_worker(&server);
    assert_eq!(renewal_invoices(&server, &shop, &soon).len(), 1, "the next period is outside the window");
    assert_eq!(mails(&server, "Payment received: thank you"), 1);
});

both_backends!(an_unpaid_renewal_suspends_then_expires_and_payment_restores_exactly, env = IDLE_WORKER, |server| {
    let shop = shop(&server);
    let overdue = service_due_in(&server, &shop, 5);
    let by_hand = service_due_in(&server, &shop, 5);
    let expiring = service_due_in(&server, &shop, 5);
    let suspended = server.post(
        &format!("/v1/services/{by_hand}/suspend"),
        Some(&shop.reseller.token),
        json!({"reason": "abuse report"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    run_worker(&server);
    let invoice_of =
        |id: &str| renewal_invoices(&server, &shop, id).pop().unwrap_or_else(|| panic!("an invoice for {id}"));
    assert_eq!(mails(&server, "Your invoice"), 3);

    // Three days before due: a reminder, once.
    for id in [&overdue, &by_hand, &expiring] {
        invoice_due_days_ago(&server, invoice_of(id)["id"].as_str().unwrap(), -2);
    }
    run_worker(&server);
    run_worker(&server);
    assert_eq!(mails(&server, "Your invoice is due in 3 days"), 3);

    // Eight days after due: suspended (reason overdue) unless suspended already; 31: expired.
    for (id, days) in [(&overdue, 8), (&by_hand, 8), (&expiring, 31)] {
        invoice_due_days_ago(&server, invoice_of(id)["id"].as_str().unwrap(), days);
    }
    run_worker(&server);
    run_worker(&server);
    assert_eq!(mails(&server, "Your invoice is overdue"), 3, "the notice goes once");
    let read = service(&server, &shop, &overdue);
    assert_eq!((&read["status"], &read["suspension_reason"]), (&json!("suspended"), &json!("overdue")), "{read}");
    let read = service(&server, &shop, &by_hand);
    assert_eq!((&read["status"], &read["suspension_reason"]), (&json!("suspended"), &json!("abuse report")));
    assert_eq!(service(&server, &shop, &expiring)["status"], "expired");

    for id in [&overdue, &by_hand, &expiring] {
        pay(&server, &shop, &invoice_of(id));
    }
    assert_eq!(service(&server, &shop, &overdue)["status"], "active", "the overdue suspension is lifted");
    let read = service(&server, &shop, &by_hand);
    assert_eq!(
        (&read["status"], &read["suspension_reason"]),
        (&json!("suspended"), &json!("abuse report")),
        "the manual one stays"
    );
    assert_eq!(service(&server, &shop, &expiring)["status"], "active", "an expired service is active again");
});

both_backends!(credit_pays_a_renewal_at_once, env = IDLE_WORKER, |server| {
    let shop = shop(&server);
    let added = server.post(
        &format!("/v1/customers/{}/credit", shop.customer.id),
        Some(&shop.reseller.token),
        json!({"amount_minor": 1000, "currency": "EUR", "reason": "prepaid"}),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let id = service_due_in(&server, &shop, 7);
    let before = service(&server, &shop, &id)["next_due_at"].clone();
    run_worker(&server);
    let invoice = renewal_invoices(&server, &shop, &id).pop().expect("an invoice");
    assert_eq!(invoice["status"], "paid", "{invoice}");
    assert_ne!(service(&server, &shop, &id)["next_due_at"], before);
    let credit = server.get("/v1/me/credit", Some(&shop.customer.token));
    assert_eq!(credit.body["balances"][0]["amount_minor"], 395, "1000 - 605");
    assert_eq!(mails(&server, "Payment received: thank you"), 1);
    assert_eq!(mails(&server, "Your invoice"), 0, "a renewal paid at once needs only the receipt");
});

both_backends!(cancelled_services_get_no_renewal_and_their_unpaid_one_is_voided, env = IDLE_WORKER, |server| {
    let shop = shop(&server);
    let cancelling = service_due_in(&server, &shop, 5);
    let cancelled = server.post(
        &format!("/v1/services/{cancelling}/cancel"),
        Some(&shop.customer.token),
        json!({"type": "end_of_period", "reason": "moving away"}),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let meanwhile = service_due_in(&server, &shop, 5);
    let no_auto = service_due_in(&server, &shop, 5);
    let off =
        server.patch(&format!("/v1/services/{no_auto}"), Some(&shop.customer.token), json!({"auto_renew": false}));
    assert_eq!(off.status, 200, "{}", off.body);
    run_worker(&server);
    assert!(
        renewal_invoices(&server, &shop, &cancelling).is_empty(),
        "a cancellation at the end of the period stops renewals"
    );
    assert!(renewal_invoices(&server, &shop, &no_auto).is_empty(), "without auto_renew nothing is invoiced");
    assert_eq!(renewal_invoices(&server, &shop, &meanwhile).len(), 1);
    let now_cancel = server.post(
        &format!("/v1/services/{meanwhile}/cancel"),
        Some(&shop.customer.token),
        json!({"type": "immediate", "reason": "changed my mind"}),
    );
    assert_eq!(now_cancel.status, 200, "{}", now_cancel.body);
    run_worker(&server);
    assert_eq!(
        renewal_invoices(&server, &shop, &meanwhile)[0]["status"],
        "void",
        "the unpaid renewal of a cancelled service"
    );
});

both_backends!(workers_started_together_issue_one_invoice_per_period, env = IDLE_WORKER, |server| {
    let shop = shop(&server);
    let ids: Vec<String> = (0..15).map(|_| service_due_in(&server, &shop, 3)).collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..3).map(|_| scope.spawn(|| server.cli(&["worker", "--once"], ""))).collect();
        for run in runs {
            let output = run.join().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
    });
    for id in &ids {
        assert_eq!(renewal_invoices(&server, &shop, id).len(), 1, "service {id}");
    }
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM invoices WHERE renewal_period_start IS NOT NULL"), 15);
    assert_eq!(mails(&server, "Your invoice"), 15, "each mail once");
});
