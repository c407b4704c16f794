//! `hostadmin worker --once`: for a provider that runs the worker from cron, every kind
//! of due work is done in one run, and the process exits.

use diesel::RunQueryDsl as _;

use crate::support::*;

/// The server's own worker takes its first round at start and then sleeps, so that
/// what is due afterwards waits for `worker --once`.
const IDLE_WORKER: &[(&str, &str)] = &[("HOSTADMIN_WORKER_INTERVAL_MS", "3600000")];

both_backends!(worker_once_does_every_kind_of_due_work_and_exits, env = IDLE_WORKER, |server| {
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.web_plan(&reseller, "Web");

    // Due work of three kinds: a period that ended, a mail, a bulk job.
    let overdue = server.sell(&reseller, &customer, &plan);
    let ten_days_ago = (chrono::Utc::now() - chrono::Duration::days(10)).format("%Y-%m-%d %H:%M:%S").to_string();
    diesel::sql_query(format!("UPDATE services SET next_due_at = '{ten_days_ago}' WHERE id = '{overdue}'"))
        .execute(&mut server.database.connect())
        .unwrap();
    let reset = server.post("/v1/auth/password-reset", None, json!({"email": "customer@example.test"}));
    assert_eq!(reset.status, 202, "{}", reset.body);
    eventually(20, "the reset mail to be queued", || server.count("SELECT COUNT(*) AS n FROM outbox") == 1);
    let suspended = server.sell(&reseller, &customer, &plan);
    let mut ids = vec![suspended.clone()];
    ids.extend((0..100).map(|i| format!("00000000-0000-7000-8000-{i:012}")));
    let accepted = server.post(
        "/v1/services/bulk",
        Some(&reseller.token),
        json!({"action": "suspend", "service_ids": ids, "params": {"reason": "abuse"}}),
    );
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let job = accepted.str("id");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(server.get(&format!("/v1/services/{overdue}"), Some(&reseller.token)).body["status"], "active");
    assert!(server.mails_to("customer@example.test").is_empty(), "nothing is sent before the run");

    let run = server.cli(&["worker", "--once"], "");
    assert!(run.status.success(), "exit {:?}: {}", run.status, String::from_utf8_lossy(&run.stderr));

    assert_eq!(server.get(&format!("/v1/services/{overdue}"), Some(&reseller.token)).body["status"], "expired");
    assert_eq!(server.mails_to("customer@example.test").len(), 1);
    let read = server.get(&format!("/v1/jobs/{job}"), Some(&reseller.token));
    assert_eq!(read.body["status"], "done", "{}", read.body);
    assert_eq!(server.get(&format!("/v1/services/{suspended}"), Some(&reseller.token)).body["status"], "suspended");

    // Nothing left: a second run has nothing to do and exits 0 as well.
    let again = server.cli(&["worker", "--once"], "");
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(server.mails_to("customer@example.test").len(), 1, "each mail once");
});
