//! Races between the changes of one domain and of what hangs on it: a deletion or a move
//! against creations under the domain, and concurrent changes without `If-Match`. Every
//! change of a domain and every creation under it locks the domain's service first and
//! reads the domain again under that lock, so the requests take turns: no 5xx, no 412
//! that nobody asked for, and no row left on a domain that is gone or has moved.

use std::sync::Barrier;

use crate::support::*;

/// Rounds per race: each round starts its requests together at a barrier.
const ROUNDS: usize = 6;
/// Enough pooled connections that a request is not queued behind the others for one:
/// they meet at the database, as they do on a server with more cores.
const WIDE_POOL: &[(&str, &str)] = &[("HOSTADMIN_DATABASE_POOL_SIZE", "16")];
/// Rounds of creations racing a deletion.
const DELETION_ROUNDS: usize = 16;
/// Creations per round that race one deletion.
const CREATIONS: usize = 6;

/// A customer with two web hosting services that hold plenty of everything.
struct Fixture {
    customer: Account,
    service: String,
    other_service: String,
}

impl Fixture {
    fn build(server: &Server) -> Self {
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller", "reseller");
        let customer = server.create(&reseller, "customer", "customer");
        let plan = server.post(
            "/v1/plans",
            Some(&reseller.token),
            json!({"name": "Roomy", "service_kind": "web_hosting", "public": true,
                   "quotas": {"disk_mb": 100000, "mailboxes": 500, "mailbox_default_mb": 10, "forwards": 500,
                              "dns_records": 500},
                   "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
        );
        assert_eq!(plan.status, 201, "{}", plan.body);
        let plan = plan.str("id");
        let service = server.sell(&reseller, &customer, &plan);
        let other_service = server.sell(&reseller, &customer, &plan);
        Self { customer, service, other_service }
    }

    fn add_domain(&self, server: &Server, name: &str) {
        let response =
            server.post("/v1/domains", Some(&self.customer.token), json!({"name": name, "service_id": self.service}));
        assert_eq!(response.status, 201, "{}", response.body);
    }
}

/// What a request answered: its status and, for a problem, its code (for a 422, the
/// code of its first refused field).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    code: String,
}

impl Answer {
    fn of(response: &Response) -> Self {
        let code = match response.status {
            422 => response.body["errors"][0]["code"].as_str().unwrap_or_default().to_owned(),
            400.. => response.code().to_owned(),
            _ => String::new(),
        };
        Self { status: response.status, code }
    }

    fn is(&self, status: u16, code: &str) -> bool {
        self.status == status && self.code == code
    }
}

/// Runs `requests` at the same moment, each on its own thread, and answers what each got.
fn together(requests: Vec<Box<dyn Fn() -> Response + Send + Sync + '_>>) -> Vec<Answer> {
    let barrier = Barrier::new(requests.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = requests
            .iter()
            .map(|request| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    Answer::of(&request())
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    })
}

/// Rows whose domain no longer exists.
fn orphans(server: &Server, table: &str) -> i64 {
    server.count(&format!("SELECT COUNT(*) AS n FROM {table} WHERE domain_id NOT IN (SELECT id FROM domains)"))
}

/// The answers that broke a rule, over every round, for one assertion at the end: the
/// message says how many of how many.
#[derive(Default)]
struct Verdict {
    seen: usize,
    broken: Vec<String>,
}

impl Verdict {
    fn check(&mut self, holds: bool, what: impl FnOnce() -> String) {
        self.seen += 1;
        if !holds {
            self.broken.push(what());
        }
    }

    fn assert(self, rule: &str) {
        assert!(
            self.broken.is_empty(),
            "{} of {} broke \"{rule}\":\n{}",
            self.broken.len(),
            self.seen,
            self.broken.join("\n")
        );
    }
}

/// [`CREATIONS`] requests that each add something under a new domain, racing the domain's
/// deletion, [`DELETION_ROUNDS`] times; the deletion starts up to 3.5 ms later from round
/// to round, so that it lands before, among and after the first creations (the ones that
/// meet it in the database). Answers the deletions and creations.
fn creations_racing_a_deletion(
    server: &Server,
    f: &Fixture,
    prefix: &str,
    create: &(dyn Fn(&str, usize) -> Response + Sync),
) -> Vec<(Answer, Vec<Answer>)> {
    (0..DELETION_ROUNDS)
        .map(|round| {
            let domain = format!("{prefix}{round}.test");
            f.add_domain(server, &domain);
            let path = format!("/v1/domains/{domain}");
            let delay = std::time::Duration::from_micros(500 * (round % 8) as u64);
            let mut requests: Vec<Box<dyn Fn() -> Response + Send + Sync + '_>> = vec![Box::new(move || {
                std::thread::sleep(delay);
                server.delete(&path, Some(&f.customer.token))
            })];
            for i in 0..CREATIONS {
                let domain = domain.clone();
                requests.push(Box::new(move || create(&domain, i)));
            }
            let mut answers = together(requests);
            let deletion = answers.remove(0);
            (deletion, answers)
        })
        .collect()
}

/// Creations under a domain that goes with its children: the deletion always succeeds,
/// each creation is done before it (201) or finds the domain gone (404).
fn children_go_with_their_domain(rounds: &[(Answer, Vec<Answer>)]) {
    let mut deletions = Verdict::default();
    let mut creations = Verdict::default();
    for (deletion, created) in rounds {
        deletions.check(deletion.is(204, ""), || format!("{deletion:?}"));
        for answer in created {
            creations.check(answer.is(201, "") || answer.is(404, "not_found"), || format!("{answer:?}"));
        }
    }
    deletions.assert("the domain is deleted with its children");
    creations.assert("a creation is done before the deletion or finds the domain gone");
}

both_backends!(forwards_created_while_their_domain_is_deleted_never_fail_or_outlive_it, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let rounds = creations_racing_a_deletion(&server, &f, "forwards", &|domain, i| {
        server.post(
            &format!("/v1/services/{}/forwards", f.service),
            Some(&f.customer.token),
            json!({"source": format!("f{i}@{domain}"), "destinations": ["someone@example.org"]}),
        )
    });
    let mut verdict = Verdict::default();
    for (deletion, creations) in &rounds {
        for answer in creations {
            verdict.check(answer.is(201, "") || answer.is(422, "domain_not_on_service"), || format!("{answer:?}"));
        }
        let created = creations.iter().any(|a| a.status == 201);
        let expected = if created { deletion.is(409, "domain_in_use") } else { deletion.is(204, "") };
        verdict.check(expected, || format!("deletion {deletion:?} beside {creations:?}"));
    }
    verdict.assert("a forward is made before the deletion, which then refuses, or finds its domain gone");
    assert_eq!(orphans(&server, "forwards"), 0);
    let unclaimed = "SELECT COUNT(*) AS n FROM mail_addresses WHERE kind = 'forward' AND resource_id NOT IN (SELECT id FROM forwards)";
    assert_eq!(server.count(unclaimed), 0, "no address kept for a forward that was not made");
});

both_backends!(dns_records_created_while_their_domain_is_deleted_never_fail_or_outlive_it, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let rounds = creations_racing_a_deletion(&server, &f, "records", &|domain, i| {
        server.post(
            &format!("/v1/domains/{domain}/dns/records"),
            Some(&f.customer.token),
            json!({"type": "A", "name": format!("host{i}"), "content": "192.0.2.1"}),
        )
    });
    children_go_with_their_domain(&rounds);
    assert_eq!(orphans(&server, "dns_records"), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM dns_records"), 0);
});

both_backends!(child_hosts_created_while_their_domain_is_deleted_never_fail_or_outlive_it, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let rounds = creations_racing_a_deletion(&server, &f, "hosts", &|domain, i| {
        server.post(
            &format!("/v1/domains/{domain}/hosts"),
            Some(&f.customer.token),
            json!({"hostname": format!("ns{i}.{domain}"), "ips": ["192.0.2.53"]}),
        )
    });
    children_go_with_their_domain(&rounds);
    assert_eq!(orphans(&server, "domain_hosts"), 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM domain_hosts"), 0);
});

both_backends!(a_move_and_mail_on_the_domain_never_both_succeed, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let mut verdict = Verdict::default();
    for round in 0..ROUNDS * 2 {
        let domain = format!("moving{round}.test");
        f.add_domain(&server, &domain);
        let path = format!("/v1/domains/{domain}");
        let token = Some(f.customer.token.as_str());
        let requests: Vec<Box<dyn Fn() -> Response + Send + Sync + '_>> = vec![
            Box::new(|| server.patch(&path, token, json!({"hosting_service_id": f.other_service}))),
            Box::new(|| {
                server.post(
                    &format!("/v1/services/{}/mailboxes", f.service),
                    token,
                    json!({"address": format!("box@{domain}"), "password": "a long mailbox passphrase"}),
                )
            }),
            Box::new(|| {
                server.post(
                    &format!("/v1/services/{}/forwards", f.service),
                    token,
                    json!({"source": format!("fwd@{domain}"), "destinations": ["someone@example.org"]}),
                )
            }),
        ];
        let answers = together(requests);
        let (moved, mail) = (&answers[0], &answers[1..]);
        let mail_created = mail.iter().any(|a| a.status == 201);
        let one_after_the_other = if mail_created {
            moved.is(409, "domain_in_use")
        } else {
            moved.is(200, "") && mail.iter().all(|a| a.is(422, "domain_not_on_service"))
        };
        verdict.check(one_after_the_other, || format!("{answers:?}"));
    }
    verdict.assert("the mail is made first and the move refused, or the move is made and the mail refused");
    for table in ["mailboxes", "forwards"] {
        let astray = server.count(&format!(
            "SELECT COUNT(*) AS n FROM {table} m JOIN domains d ON d.id = m.domain_id \
             WHERE d.hosting_service_id IS NULL OR d.hosting_service_id <> m.service_id"
        ));
        assert_eq!(astray, 0, "{table} on a domain their service no longer holds");
    }
});

/// Twenty requests on one new domain at once, none with `If-Match`: each applies to the
/// version current when its turn comes.
fn changes_without_if_match(server: &Server, f: &Fixture, domain: &str, change: &(dyn Fn(usize) -> Response + Sync)) {
    f.add_domain(server, domain);
    let requests: Vec<Box<dyn Fn() -> Response + Send + Sync + '_>> =
        (0..20).map(|i| Box::new(move || change(i)) as Box<dyn Fn() -> Response + Send + Sync + '_>).collect();
    let mut verdict = Verdict::default();
    for answer in together(requests) {
        verdict.check(answer.is(200, ""), || format!("{answer:?}"));
    }
    verdict.assert("a change without If-Match applies");
    let read = server.get(&format!("/v1/domains/{domain}"), Some(&f.customer.token));
    assert_eq!(read.header("etag"), Some("\"v21\""), "twenty changes, one after the other");
}

both_backends!(twenty_parallel_patches_of_a_domain_without_if_match_all_apply, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let path = "/v1/domains/patched.test";
    changes_without_if_match(&server, &f, "patched.test", &|i| {
        server.patch(path, Some(&f.customer.token), json!({"auto_renew": i % 2 == 0}))
    });
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'domain.update'"), 20);
});

both_backends!(twenty_parallel_redirects_of_a_domain_without_if_match_all_apply, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let path = "/v1/domains/redirected.test/redirect";
    changes_without_if_match(&server, &f, "redirected.test", &|i| {
        server.put(path, Some(&f.customer.token), json!({"type": "301", "target": format!("https://example.org/{i}")}))
    });
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'domain.redirect'"), 20);
});

both_backends!(a_deletion_racing_a_lock_never_answers_412, env = WIDE_POOL, |server| {
    let f = Fixture::build(&server);
    let mut verdict = Verdict::default();
    for round in 0..ROUNDS * 3 {
        let domain = format!("locking{round}.test");
        f.add_domain(&server, &domain);
        let path = format!("/v1/domains/{domain}");
        let token = Some(f.customer.token.as_str());
        let requests: Vec<Box<dyn Fn() -> Response + Send + Sync + '_>> = vec![
            Box::new(|| server.delete(&path, token)),
            Box::new(|| server.patch(&path, token, json!({"locked": true}))),
        ];
        let answers = together(requests);
        let (deleted, locked) = (&answers[0], &answers[1]);
        let deleted_first = deleted.is(204, "") && locked.is(404, "not_found");
        let locked_first = locked.is(200, "") && deleted.is(409, "domain_locked");
        verdict.check(deleted_first || locked_first, || format!("{answers:?}"));
    }
    verdict.assert("the deletion and the lock take turns, neither answers 412");
});
