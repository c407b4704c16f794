//! Stopping gracefully (docs/operations.md): on SIGTERM the server stops accepting,
//! finishes the requests in flight and exits 0; a worker stops after its step, gives
//! its leases back so that another worker takes its work over at once, and exits 0.

use std::time::{Duration, Instant};

use crate::receiver::{Receiver, Reply};
use crate::support::*;

/// One password hash at a time, so that parallel logins queue and are still in flight
/// when the signal comes.
const ONE_HASH_AT_A_TIME: &[(&str, &str)] = &[("HOSTADMIN_PASSWORD_HASH_CONCURRENCY", "1")];

both_backends!(
    sigterm_lets_requests_in_flight_finish_and_exits_0,
    start = Server::start_process,
    env = ONE_HASH_AT_A_TIME,
    |server| {
        let mut server = server;
        server.operator("operator");
        let (signalled, answers) = std::thread::scope(|scope| {
            let logins: Vec<_> = (0..12)
                .map(|_| {
                    scope.spawn(|| {
                        let answer =
                            server.post("/v1/auth/login", None, json!({"login": "operator", "password": PASSWORD}));
                        (answer, Instant::now())
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(100));
            server.sigterm();
            let signalled = Instant::now();
            (signalled, logins.into_iter().map(|login| login.join().unwrap()).collect::<Vec<_>>())
        });
        for (answer, _) in &answers {
            assert_eq!(answer.status, 200, "accepted before the signal: {}", answer.body);
        }
        assert!(answers.iter().any(|(_, at)| *at > signalled), "some were still in flight when the signal came");
        let status = server.exit_status(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "{status:?}");
    }
);

both_backends!(
    a_stopped_worker_gives_its_leases_back_and_exits_0,
    env = &[("HOSTADMIN_WORKER_INTERVAL_MS", "3600000"), ("HOSTADMIN_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")],
    |server| {
        // A receiver that keeps the delivery waiting, so the worker holds its endpoint.
        let receiver = Receiver::answering(|_, _| Reply::Slow(Duration::from_secs(30)));
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller", "reseller");
        let created =
            server.post("/v1/webhooks", Some(&reseller.token), json!({"url": receiver.url("/hook"), "events": ["*"]}));
        assert_eq!(created.status, 201, "{}", created.body);
        let webhook = created.str("id");
        let queued = server.post(&format!("/v1/webhooks/{webhook}/test"), Some(&reseller.token), json!({}));
        assert_eq!(queued.status, 202, "{}", queued.body);

        let mut worker = server
            .spawn_worker(&[("HOSTADMIN_WORKER_INTERVAL_MS", "100"), ("HOSTADMIN_SHUTDOWN_TIMEOUT_SECONDS", "1")]);
        let held = format!("SELECT COUNT(*) AS n FROM webhooks WHERE id = '{webhook}' AND claimed_by IS NOT NULL");
        eventually(20, "the worker to take the endpoint", || server.count(&held) == 1);
        receiver.wait_for_count("/hook", 1, 20);

        let status = worker.terminate(Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "{status:?}");
        assert_eq!(server.count(&held), 0, "the endpoint is free for the next worker at once");
    }
);
