//! Billing (API.md "Billing"): seller settings, orders, invoices, payments, credit. The
//! money loop end to end, the EU tax rule, gapless numbers, failed fulfilment, cancel
//! and void, credit that never goes below zero, and who reaches what.

use std::sync::{Arc, Barrier};

use crate::support::*;

/// A seller's settings in `country`, with the EU's rates for NL and DE.
fn settings(country: &str, vat_id: Option<&str>) -> Value {
    json!({
        "legal_name": format!("Seller in {country} B.V."),
        "address": {"street": "Keizersgracht 1", "postal_code": "1015 CJ", "city": "Amsterdam", "country": country},
        "vat_id": vat_id,
        "iban": "NL91ABNA0417164300",
        "tax_rates": {"NL": "21", "DE": "19"},
        "default_tax_rate": "0",
    })
}

/// The provider and reseller `name` with billing settings, a plan of the reseller's at
/// `price` cents a month, and a customer below it in `country`.
struct Shop {
    operator: Account,
    reseller: Account,
    customer: Account,
    plan: String,
}

fn shop(server: &Server, price: i64, country: &str, vat_id: Option<&str>) -> Shop {
    let operator = server.operator("operator");
    assert_eq!(server.put("/v1/billing/settings", Some(&operator.token), settings("NL", None)).status, 200);
    let reseller = server.create(&operator, "reseller", "reseller");
    let put = server.put("/v1/billing/settings", Some(&reseller.token), settings("NL", Some("NL004495445B01")));
    assert_eq!(put.status, 200, "{}", put.body);
    let customer = server.create(&reseller, "customer", "customer");
    let profile = json!({"profile": {"country": country, "vat_id": vat_id, "company": "Dvořák s.r.o."}});
    assert_eq!(server.patch("/v1/me", Some(&customer.token), profile).status, 200);
    let plan = server.post(
        "/v1/plans",
        Some(&reseller.token),
        json!({"name": "Web S", "service_kind": "web_hosting", "quotas": {"disk_mb": 1024},
               "prices": [{"cycle": "monthly", "amount_minor": price, "currency": "EUR"}], "public": true}),
    );
    assert_eq!(plan.status, 201, "{}", plan.body);
    Shop { operator, reseller, customer, plan: plan.str("id") }
}

fn new_service(plan: &str) -> Value {
    json!({"type": "new_service", "plan_id": plan, "cycle": "monthly", "name": "Shop"})
}

fn order(server: &Server, account: &Account, items: Value) -> Response {
    server.post("/v1/orders", Some(&account.token), json!({"currency": "EUR", "items": items}))
}

fn invoice_of(server: &Server, account: &Account, order: &Response) -> Value {
    let id = order.body["invoice_id"].as_str().unwrap_or_else(|| panic!("an invoice in {}", order.body));
    let invoice = server.get(&format!("/v1/invoices/{id}"), Some(&account.token));
    assert_eq!(invoice.status, 200, "{}", invoice.body);
    invoice.body
}

fn pay(server: &Server, seller: &Account, invoice_id: &str, amount: i64, key: &str) -> Response {
    server.send(
        "POST",
        &format!("/v1/invoices/{invoice_id}/payments"),
        Some(&seller.token),
        Body::Json(json!({"amount_minor": amount, "method": "bank_transfer", "reference": "transfer"})),
        &[("idempotency-key", key)],
    )
}

fn credit(server: &Server, account: &Account) -> i64 {
    let own = server.get("/v1/me/credit", Some(&account.token));
    assert_eq!(own.status, 200, "{}", own.body);
    own.body["balances"]
        .as_array()
        .and_then(|balances| balances.iter().find(|b| b["currency"] == "EUR"))
        .map_or(0, |balance| balance["amount_minor"].as_i64().unwrap_or_default())
}

/// The bytes of a document in `accept`'s format.
fn download(server: &Server, account: &Account, invoice_id: &str, accept: &str) -> (u16, String, Vec<u8>) {
    let mut response = ureq::get(server.url(&format!("/v1/invoices/{invoice_id}")))
        .header("authorization", format!("Bearer {}", account.token))
        .header("accept", accept)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("a document");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let status = response.status().as_u16();
    (status, content_type, response.body_mut().read_to_vec().expect("the body"))
}

both_backends!(an_order_is_invoiced_paid_in_parts_and_fulfilled, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let placed = order(&server, &shop.customer, json!([new_service(&shop.plan)]));
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["status"], "pending");
    assert_eq!(placed.body["total_minor"], 1000);
    assert_eq!(placed.body["seller_id"], shop.reseller.id.as_str());
    assert_eq!(placed.body["items"][0]["amount_minor"], 1000);
    let invoice = invoice_of(&server, &shop.customer, &placed);
    assert_eq!(
        (&invoice["number"], &invoice["status"], &invoice["total_minor"], &invoice["tax_minor"]),
        (&json!("INV-000001"), &json!("unpaid"), &json!(1210), &json!(210)),
        "a Dutch consumer pays 21 %: {invoice}"
    );
    assert_eq!(invoice["tax_breakdown"], json!([{"rate": "21", "taxable_minor": 1000, "tax_minor": 210}]));
    assert_eq!(invoice["buyer"]["legal_name"], "Dvořák s.r.o.");
    let id = invoice["id"].as_str().unwrap().to_owned();

    let first = pay(&server, &shop.reseller, &id, 500, "part-1");
    assert_eq!(first.status, 201, "{}", first.body);
    let after_first = server.get(&format!("/v1/invoices/{id}"), Some(&shop.customer.token)).body;
    assert_eq!((&after_first["status"], &after_first["amount_due_minor"]), (&json!("unpaid"), &json!(710)));
    let pending = server.get(&format!("/v1/orders/{}", placed.str("id")), Some(&shop.customer.token));
    assert_eq!(pending.body["status"], "pending", "a partly paid order waits");

    let rest = pay(&server, &shop.reseller, &id, 710, "part-2");
    assert_eq!(rest.status, 201, "{}", rest.body);
    let paid = server.get(&format!("/v1/invoices/{id}"), Some(&shop.customer.token)).body;
    assert_eq!((&paid["status"], &paid["amount_due_minor"]), (&json!("paid"), &json!(0)));
    assert!(paid["paid_at"].is_string());
    let fulfilled = server.get(&format!("/v1/orders/{}", placed.str("id")), Some(&shop.customer.token));
    assert_eq!(fulfilled.body["status"], "fulfilled", "{}", fulfilled.body);
    let service_id = fulfilled.str("service_id");
    let service = server.get(&format!("/v1/services/{service_id}"), Some(&shop.customer.token));
    assert_eq!((service.status, &service.body["status"]), (200, &json!("active")), "{}", service.body);
    let payments = server.get(&format!("/v1/invoices/{id}/payments"), Some(&shop.customer.token));
    assert_eq!(payments.body.as_array().map(Vec::len), Some(2));

    // The same invoice as a page, a PDF and a UBL e-invoice.
    let (status, content_type, html) = download(&server, &shop.customer, &id, "text/html");
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("INV-000001") && html.contains("Dvořák s.r.o."), "{html}");
    let (status, content_type, pdf) = download(&server, &shop.customer, &id, "application/pdf");
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let (status, _, xml) = download(&server, &shop.customer, &id, "application/xml");
    assert_eq!(status, 200);
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("urn:cen.eu:en16931:2017") && xml.contains(">12.10<"), "{xml}");
    let (status, _, _) = download(&server, &shop.customer, &id, "image/png");
    assert_eq!(status, 406);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'invoice.payment'"), 2);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'order.fulfil'"), 1);
    // The buyer was mailed the invoice and the receipt, each with the PDF attached.
    let mails = server.wait_for_mails("customer@example.test", 2);
    let subjects: Vec<&str> = mails.iter().map(|mail| mail.subject.as_str()).collect();
    assert!(subjects.contains(&"Your invoice") && subjects.contains(&"Payment received: thank you"), "{subjects:?}");
    assert!(mails.iter().any(|mail| mail.text.contains("INV-000001") && mail.text.contains("12.10 EUR")));
    let attached = std::fs::read_dir(server.mail_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default().contains("INV-000001.pdf"))
        .count();
    assert_eq!(attached, 2, "both mails carry INV-000001.pdf");
    let _ = shop.operator;
});

both_backends!(tax_follows_the_buyer_and_the_eu_rule, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let cases = [
        (json!({"country": "DE", "vat_id": null}), 190, false),
        (json!({"country": "DE", "vat_id": "DE136695976"}), 0, true),
        (json!({"country": "DE", "vat_id": "DE123"}), 190, false),
        (json!({"country": "US", "vat_id": null}), 0, false),
        (json!({"country": "NL", "vat_id": "NL004495445B01"}), 210, false),
    ];
    for (profile, tax, reverse_charge) in cases {
        let patched = server.patch("/v1/me", Some(&shop.customer.token), json!({"profile": profile}));
        assert_eq!(patched.status, 200, "{}", patched.body);
        let placed = order(&server, &shop.customer, json!([new_service(&shop.plan)]));
        assert_eq!(placed.status, 201, "{}", placed.body);
        let invoice = invoice_of(&server, &shop.customer, &placed);
        assert_eq!(
            (&invoice["tax_minor"], &invoice["reverse_charge"]),
            (&json!(tax), &json!(reverse_charge)),
            "{profile}"
        );
    }
});

both_backends!(tax_is_rounded_once_per_rate, |server| {
    // Two lines of 0.12 at 21 %: 0.0252 each; rounded per line 0.03 + 0.03, per rate 0.05.
    let shop = shop(&server, 12, "NL", None);
    let placed = order(&server, &shop.customer, json!([new_service(&shop.plan), new_service(&shop.plan)]));
    assert_eq!(placed.status, 201, "{}", placed.body);
    let invoice = invoice_of(&server, &shop.customer, &placed);
    assert_eq!((&invoice["tax_minor"], &invoice["total_minor"]), (&json!(5), &json!(29)), "{invoice}");
});

both_backends!(invoice_numbers_are_gapless_under_parallel_orders, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let refused = order(
        &server,
        &shop.customer,
        json!([{"type": "new_service", "plan_id": shop.plan, "cycle": "annual", "name": "x"}]),
    );
    assert_eq!((refused.status, refused.pointers()), (422, vec!["/items/0/cycle".to_owned()]));
    assert_eq!(refused.body["errors"][0]["code"], "cycle_not_offered");
    let barrier = Arc::new(Barrier::new(20));
    let numbers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let barrier = barrier.clone();
                let (server, shop) = (&server, &shop);
                scope.spawn(move || {
                    barrier.wait();
                    let placed = order(server, &shop.customer, json!([new_service(&shop.plan)]));
                    assert_eq!(placed.status, 201, "{}", placed.body);
                    invoice_of(server, &shop.customer, &placed)["number"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut numbers = numbers;
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected, "1..20, no gap and no repeat (the refused order took no number)");
});

both_backends!(a_paid_order_that_cannot_be_fulfilled_fails_and_credits_the_payment, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let service = server.sell(&shop.reseller, &shop.customer, &shop.plan);
    let placed = order(&server, &shop.customer, json!([{"type": "renewal", "service_id": service, "cycles": 2}]));
    assert_eq!(placed.status, 201, "{}", placed.body);
    assert_eq!(placed.body["total_minor"], 2000);
    let invoice = invoice_of(&server, &shop.customer, &placed);
    assert!(invoice["lines"][0]["period_start"].is_string(), "a renewal bills its period: {invoice}");
    let terminated = server.post(
        &format!("/v1/services/{service}/terminate"),
        Some(&shop.reseller.token),
        json!({"reason": "abuse"}),
    );
    assert_eq!(terminated.status, 200, "{}", terminated.body);
    let paid = pay(&server, &shop.reseller, invoice["id"].as_str().unwrap(), 2420, "pay");
    assert_eq!(paid.status, 201, "{}", paid.body);
    let failed = server.get(&format!("/v1/orders/{}", placed.str("id")), Some(&shop.customer.token));
    assert_eq!(failed.body["status"], "failed", "{}", failed.body);
    assert!(failed.body["failure"].as_str().unwrap_or_default().contains("invalid_transition"), "{}", failed.body);
    assert_eq!(credit(&server, &shop.customer), 2420, "what was paid is the buyer's credit");
});

both_backends!(a_renewal_order_extends_the_service_and_overpayment_is_credit, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let service = server.sell(&shop.reseller, &shop.customer, &shop.plan);
    let before = server.get(&format!("/v1/services/{service}"), Some(&shop.customer.token)).body["next_due_at"].clone();
    let placed = order(&server, &shop.customer, json!([{"type": "renewal", "service_id": service}]));
    assert_eq!(placed.status, 201, "{}", placed.body);
    let invoice = invoice_of(&server, &shop.customer, &placed);
    assert_eq!(pay(&server, &shop.reseller, invoice["id"].as_str().unwrap(), 1500, "over").status, 201);
    assert_eq!(credit(&server, &shop.customer), 290, "1500 paid for 1210");
    let after = server.get(&format!("/v1/services/{service}"), Some(&shop.customer.token)).body["next_due_at"].clone();
    assert_ne!(before, after, "renewed by a month");
    assert_eq!(
        server.get(&format!("/v1/orders/{}", placed.str("id")), Some(&shop.customer.token)).body["status"],
        "fulfilled"
    );
});

both_backends!(cancel_voids_and_void_cancels, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let first = order(&server, &shop.customer, json!([new_service(&shop.plan)]));
    let cancelled =
        server.post(&format!("/v1/orders/{}/cancel", first.str("id")), Some(&shop.customer.token), json!({}));
    assert_eq!((cancelled.status, &cancelled.body["status"]), (200, &json!("cancelled")), "{}", cancelled.body);
    assert_eq!(invoice_of(&server, &shop.customer, &first)["status"], "void");
    let again = server.post(&format!("/v1/orders/{}/cancel", first.str("id")), Some(&shop.customer.token), json!({}));
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));

    let second = order(&server, &shop.customer, json!([new_service(&shop.plan)]));
    let invoice_id = second.str("invoice_id");
    let by_customer = server.post(&format!("/v1/invoices/{invoice_id}/void"), Some(&shop.customer.token), json!({}));
    assert_eq!((by_customer.status, by_customer.code()), (403, "forbidden"));
    let voided = server.post(&format!("/v1/invoices/{invoice_id}/void"), Some(&shop.reseller.token), json!({}));
    assert_eq!((voided.status, &voided.body["status"]), (200, &json!("void")), "{}", voided.body);
    assert_eq!(
        server.get(&format!("/v1/orders/{}", second.str("id")), Some(&shop.customer.token)).body["status"],
        "cancelled"
    );
    let late = pay(&server, &shop.reseller, &invoice_id, 100, "late");
    assert_eq!((late.status, late.code()), (409, "invoice_not_payable"));
});

both_backends!(a_credit_note_corrects_a_paid_invoice_from_the_same_sequence, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let placed = order(&server, &shop.customer, json!([new_service(&shop.plan)]));
    let invoice_id = placed.str("invoice_id");
    let unpaid = server.post(
        &format!("/v1/invoices/{invoice_id}/credit-note"),
        Some(&shop.reseller.token),
        json!({"reason": "x"}),
    );
    assert_eq!((unpaid.status, unpaid.code()), (409, "invalid_transition"));
    assert_eq!(pay(&server, &shop.reseller, &invoice_id, 1210, "pay").status, 201);
    let bad = server.post(
        &format!("/v1/invoices/{invoice_id}/credit-note"),
        Some(&shop.reseller.token),
        json!({"reason": ""}),
    );
    assert_eq!((bad.status, bad.pointers()), (422, vec!["/reason".to_owned()]));
    let note = server.post(
        &format!("/v1/invoices/{invoice_id}/credit-note"),
        Some(&shop.reseller.token),
        json!({"reason": "Goodwill", "amount_minor": 100}),
    );
    assert_eq!(note.status, 201, "{}", note.body);
    assert_eq!(
        (&note.body["kind"], &note.body["number"], &note.body["total_minor"], &note.body["credit_note_for"]),
        (&json!("credit_note"), &json!("INV-000002"), &json!(-121), &json!(invoice_id))
    );
    assert_eq!(credit(&server, &shop.customer), 121);
    // The list shows a credit note as its own page does, with the invoice it corrects.
    let note_id = note.body["id"].as_str().unwrap();
    let listed = server.get("/v1/invoices", Some(&shop.reseller.token));
    let in_list = listed.body["data"].as_array().unwrap().iter().find(|item| item["id"] == note_id).unwrap().clone();
    assert_eq!(in_list, server.get(&format!("/v1/invoices/{note_id}"), Some(&shop.reseller.token)).body);
    let rest = server.post(
        &format!("/v1/invoices/{invoice_id}/credit-note"),
        Some(&shop.reseller.token),
        json!({"reason": "All", "amount_minor": 1000}),
    );
    assert_eq!((rest.status, rest.pointers()), (422, vec!["/amount_minor".to_owned()]), "only 1089 is left to credit");
    assert_eq!(rest.body["errors"][0]["code"], "exceeds_creditable", "{}", rest.body);
    // An amount whose tax would not fit 64 bits was a 500.
    let huge = server.post(
        &format!("/v1/invoices/{invoice_id}/credit-note"),
        Some(&shop.reseller.token),
        json!({"reason": "All", "amount_minor": 9_223_372_036_854_775_806_i64}),
    );
    assert_eq!((huge.status, huge.pointers()), (422, vec!["/amount_minor".to_owned()]), "{}", huge.body);
    // A reason may have its 1000 characters, although the line adds the invoice number.
    let long = server.post(
        &format!("/v1/invoices/{invoice_id}/credit-note"),
        Some(&shop.reseller.token),
        json!({"reason": "r".repeat(1000), "amount_minor": 1}),
    );
    assert_eq!(long.status, 201, "{}", long.body);
    let line = long.body["lines"][0]["description"].as_str().unwrap_or_default().to_owned();
    assert_eq!(line.chars().count(), 1000, "{line}");
    assert!(line.ends_with('…'));
    let (status, _, xml) = download(&server, &shop.customer, note.str("id").as_str(), "application/xml");
    assert_eq!(status, 200);
    assert!(String::from_utf8(xml).unwrap().contains("CreditNote"));
});

both_backends!(credit_never_goes_below_zero_under_parallel_apply_credit, |server| {
    let shop = shop(&server, 250, "US", None);
    let added = server.post(
        &format!("/v1/customers/{}/credit", shop.customer.id),
        Some(&shop.reseller.token),
        json!({"amount_minor": 1000, "currency": "EUR", "reason": "prepaid"}),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let invoices: Vec<String> =
        (0..6).map(|_| order(&server, &shop.customer, json!([new_service(&shop.plan)])).str("invoice_id")).collect();
    let barrier = Arc::new(Barrier::new(invoices.len()));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = invoices
            .iter()
            .map(|id| {
                let barrier = barrier.clone();
                let (server, shop) = (&server, &shop);
                scope.spawn(move || {
                    barrier.wait();
                    server
                        .post(&format!("/v1/invoices/{id}/apply-credit"), Some(&shop.customer.token), json!({}))
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "{statuses:?}: 1000 pays four invoices of 250");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert_eq!(credit(&server, &shop.customer), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM credit_balances WHERE amount_minor < 0"), 0);
    let taken = server.post(
        &format!("/v1/customers/{}/credit", shop.customer.id),
        Some(&shop.reseller.token),
        json!({"amount_minor": -1, "currency": "EUR", "reason": "correction"}),
    );
    assert_eq!((taken.status, taken.code()), (409, "insufficient_credit"));
    let log =
        server.get(&format!("/v1/customers/{}/credit/transactions", shop.customer.id), Some(&shop.reseller.token));
    assert_eq!(log.body["data"].as_array().map(Vec::len), Some(5), "{}", log.body);
});

both_backends!(a_replayed_payment_is_counted_once, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let invoice_id = order(&server, &shop.customer, json!([new_service(&shop.plan)])).str("invoice_id");
    let first = pay(&server, &shop.reseller, &invoice_id, 300, "same-key");
    let second = pay(&server, &shop.reseller, &invoice_id, 300, "same-key");
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body, second.body);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    let invoice = server.get(&format!("/v1/invoices/{invoice_id}"), Some(&shop.customer.token)).body;
    assert_eq!(invoice["amount_paid_minor"], 300);
});

both_backends!(billing_is_reached_by_the_buyer_and_above_only, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let other = server.create(&shop.operator, "other-reseller", "reseller");
    let stranger = server.create(&other, "stranger", "customer");
    let placed = order(&server, &shop.customer, json!([new_service(&shop.plan)]));
    let (order_id, invoice_id) = (placed.str("id"), placed.str("invoice_id"));
    for account in [&other, &stranger] {
        for path in [
            format!("/v1/orders/{order_id}"),
            format!("/v1/invoices/{invoice_id}"),
            format!("/v1/invoices/{invoice_id}/payments"),
        ] {
            let response = server.get(&path, Some(&account.token));
            assert_eq!((response.status, response.code()), (404, "not_found"), "{} {path}", account.login);
        }
        let cancel = server.post(&format!("/v1/orders/{order_id}/cancel"), Some(&account.token), json!({}));
        assert_eq!(cancel.status, 404);
        // The invoice's changes: another tenant's invoice is 404 to a seller, and a
        // customer is refused before any lookup.
        let refused = if account.login == "stranger" { (403, "forbidden") } else { (404, "not_found") };
        for (path, body) in [
            ("payments", json!({"amount_minor": 100, "method": "cash"})),
            ("void", json!({})),
            ("credit-note", json!({"reason": "x"})),
        ] {
            let response = server.post(&format!("/v1/invoices/{invoice_id}/{path}"), Some(&account.token), body);
            assert_eq!((response.status, response.code()), refused, "{} {path}", account.login);
        }
        let applied = server.post(&format!("/v1/invoices/{invoice_id}/apply-credit"), Some(&account.token), json!({}));
        assert_eq!((applied.status, applied.code()), (404, "not_found"), "{}", account.login);
        let adjusted = server.post(
            &format!("/v1/customers/{}/credit", shop.customer.id),
            Some(&account.token),
            json!({"amount_minor": 100, "currency": "EUR", "reason": "x"}),
        );
        assert_eq!(adjusted.status, refused.0, "{}", account.login);
        let log = server.get(&format!("/v1/customers/{}/credit/transactions", shop.customer.id), Some(&account.token));
        assert_eq!(log.status, refused.0, "{}", account.login);
        assert_eq!(
            server.get(&format!("/v1/customers/{}/credit", shop.customer.id), Some(&account.token)).status,
            if account.login == "stranger" { 403 } else { 404 }
        );
    }
    for account in [&shop.operator, &shop.reseller, &shop.customer] {
        assert_eq!(
            server.get(&format!("/v1/invoices/{invoice_id}"), Some(&account.token)).status,
            200,
            "{}",
            account.login
        );
        assert_eq!(
            server.get("/v1/invoices", Some(&account.token)).ids(),
            vec![invoice_id.clone()],
            "{}",
            account.login
        );
        assert_eq!(server.get("/v1/orders", Some(&account.token)).ids(), vec![order_id.clone()], "{}", account.login);
    }
    assert!(server.get("/v1/invoices", Some(&other.token)).ids().is_empty());
    // Credit is kept by the seller directly above: the operator further up is refused.
    let above = server.get(&format!("/v1/customers/{}/credit", shop.customer.id), Some(&shop.operator.token));
    assert_eq!((above.status, above.code()), (403, "forbidden"));
    // Only the issuing seller records payments; customers keep no settings.
    let by_operator = pay(&server, &shop.operator, &invoice_id, 100, "op");
    assert_eq!((by_operator.status, by_operator.code()), (403, "forbidden"));
    let by_customer = pay(&server, &shop.customer, &invoice_id, 100, "cu");
    assert_eq!((by_customer.status, by_customer.code()), (403, "forbidden"));
    let settings_read = server.get("/v1/billing/settings", Some(&shop.customer.token));
    assert_eq!((settings_read.status, settings_read.code()), (403, "forbidden"));
    // A seller orders for an account directly below it, not further down.
    let sub = server.create(&shop.reseller, "sub", "reseller");
    let below_sub = server.create(&sub, "below-sub", "customer");
    let too_far = server.post(
        "/v1/orders",
        Some(&shop.reseller.token),
        json!({"customer_id": below_sub.id, "currency": "EUR", "items": [new_service(&shop.plan)]}),
    );
    assert_eq!((too_far.status, too_far.pointers()), (422, vec!["/customer_id".to_owned()]));
    let for_customer = server.post(
        "/v1/orders",
        Some(&shop.reseller.token),
        json!({"customer_id": shop.customer.id, "currency": "EUR", "items": [new_service(&shop.plan)]}),
    );
    assert_eq!(
        (for_customer.status, &for_customer.body["buyer_id"]),
        (201, &json!(shop.customer.id)),
        "{}",
        for_customer.body
    );
});

both_backends!(orders_refuse_bad_input_with_pointers, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let cases = [
        (json!({"currency": "eur", "items": [new_service(&shop.plan)]}), "/currency"),
        (json!({"currency": "USD", "items": [new_service(&shop.plan)]}), "/currency"),
        (json!({"currency": "EUR", "items": []}), "/items"),
        (
            json!({"currency": "EUR", "items": [{"type": "renewal", "service_id": shop.plan, "cycles": 11}]}),
            "/items/0/cycles",
        ),
        (
            json!({"currency": "EUR", "items": [{"type": "new_service", "plan_id": shop.plan, "cycle": "monthly", "name": ""}]}),
            "/items/0/name",
        ),
        (
            json!({"currency": "EUR", "items": [{"type": "new_service", "plan_id": shop.plan, "cycle": "monthly", "name": "x", "addons": ["nope"]}]}),
            "/items/0/addons/0",
        ),
    ];
    for (body, pointer) in cases {
        let refused = server.post("/v1/orders", Some(&shop.customer.token), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.pointers(), vec![pointer.to_owned()], "{body}");
    }
    let bad_settings = server.put(
        "/v1/billing/settings",
        Some(&shop.reseller.token),
        json!({
        "legal_name": "X", "address": {"street": "s", "postal_code": "1", "city": "c", "country": "NL"},
        "iban": "NL91ABNA0417164301"}),
    );
    assert_eq!(
        (bad_settings.status, bad_settings.pointers()),
        (422, vec!["/iban".to_owned()]),
        "{}",
        bad_settings.body
    );
});

both_backends!(fraud_and_missing_settings_stop_ordering, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");
    let unconfigured = order(&server, &customer, json!([new_service(&plan)]));
    assert_eq!((unconfigured.status, unconfigured.code()), (409, "billing_not_configured"));
    assert_eq!(server.put("/v1/billing/settings", Some(&reseller.token), settings("NL", None)).status, 200);
    assert_eq!(order(&server, &customer, json!([new_service(&plan)])).status, 201);
    let by_itself =
        server.patch(&format!("/v1/customers/{}", reseller.id), Some(&reseller.token), json!({"fraud": true}));
    assert_eq!(by_itself.status, 404, "an account is not below itself");
    let marked = server.patch(&format!("/v1/customers/{}", reseller.id), Some(&operator.token), json!({"fraud": true}));
    assert_eq!((marked.status, &marked.body["fraud"]), (200, &json!(true)), "{}", marked.body);
    let blocked = order(&server, &customer, json!([new_service(&plan)]));
    assert_eq!((blocked.status, blocked.code()), (403, "ordering_blocked"), "below an account marked as fraud");
    let unmarked =
        server.patch(&format!("/v1/customers/{}", reseller.id), Some(&operator.token), json!({"fraud": false}));
    assert_eq!(unmarked.status, 200);
    assert_eq!(order(&server, &customer, json!([new_service(&plan)])).status, 201);
    let bad = server.patch(&format!("/v1/customers/{}", customer.id), Some(&reseller.token), json!({"fraud": null}));
    assert_eq!((bad.status, bad.pointers()), (422, vec!["/fraud".to_owned()]));
});

both_backends!(a_grant_with_billing_reaches_the_services_orders_and_invoices, |server| {
    let shop = shop(&server, 1000, "NL", None);
    let service = server.sell(&shop.reseller, &shop.customer, &shop.plan);
    let bookkeeper = server.create(&shop.operator, "bookkeeper", "customer");
    let give = |permissions: Value| {
        let given = server.post(
            "/v1/authorizations",
            Some(&shop.customer.token),
            json!({"grantee": "bookkeeper", "permissions": permissions, "service_ids": [service]}),
        );
        assert_eq!(given.status, 201, "{}", given.body);
        let id = given.str("id");
        let accepted = server.post(&format!("/v1/authorizations/{id}/accept"), Some(&bookkeeper.token), json!({}));
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        id
    };
    let placed = order(&server, &shop.customer, json!([{"type": "renewal", "service_id": service}]));
    assert_eq!(placed.status, 201, "{}", placed.body);
    let invoice_id = placed.str("invoice_id");
    assert_eq!(server.get(&format!("/v1/invoices/{invoice_id}"), Some(&bookkeeper.token)).status, 404, "no grant yet");

    let view_only = give(json!(["view"]));
    let refused = server.get(&format!("/v1/invoices/{invoice_id}"), Some(&bookkeeper.token));
    assert_eq!((refused.status, refused.code()), (403, "insufficient_grant"));
    assert!(server.get("/v1/invoices", Some(&bookkeeper.token)).ids().is_empty(), "lists hold billing grants only");
    assert_eq!(server.delete(&format!("/v1/authorizations/{view_only}"), Some(&shop.customer.token)).status, 204);

    give(json!(["billing"]));
    assert_eq!(server.get(&format!("/v1/invoices/{invoice_id}"), Some(&bookkeeper.token)).status, 200);
    assert_eq!(server.get("/v1/invoices", Some(&bookkeeper.token)).ids(), vec![invoice_id.clone()]);
    assert_eq!(server.get("/v1/orders", Some(&bookkeeper.token)).ids(), vec![placed.str("id")]);
    let for_owner = order(&server, &bookkeeper, json!([{"type": "renewal", "service_id": service}]));
    assert_eq!((for_owner.status, &for_owner.body["buyer_id"]), (201, &json!(shop.customer.id)), "{}", for_owner.body);
    let new_one =
        order(&server, &bookkeeper, json!([{"type": "renewal", "service_id": service}, new_service(&shop.plan)]));
    assert_eq!((new_one.status, new_one.pointers()), (422, vec!["/items/1".to_owned()]));
});
