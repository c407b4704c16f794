//! The database goes away: stopped, or frozen as in a network partition. hostadmin must
//! answer fast (`/readyz` 503 within 2 s, requests 503 with `Retry-After` within the
//! configured bound), recover by itself when the database is back, and lose no write it
//! acknowledged. Each test runs its own throwaway PostgreSQL cluster on a port of its own,
//! so that stopping it disturbs nobody.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::{Connection as _, RunQueryDsl as _};

use crate::support::*;

/// The bound the tests configure: requests answer 503 within it (plus scheduling slack).
const DATABASE_TIMEOUT_MS: &str = "1500";
const SLACK: Duration = Duration::from_millis(1500);

/// A PostgreSQL cluster of the test's own, run as the `postgres` user (initdb refuses
/// root), removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_bin(name: &str) -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    let mut found: Vec<PathBuf> =
        versions.filter_map(Result::ok).map(|v| v.path().join("bin").join(name)).filter(|p| p.exists()).collect();
    found.sort();
    found.pop()
}

fn as_postgres(program: &PathBuf, args: &[&str]) -> std::process::Output {
    Command::new("runuser").arg("-u").arg("postgres").arg("--").arg(program).args(args).output().expect("runuser")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Cluster {
    /// `None` (with the reason printed) where PostgreSQL's binaries are not installed,
    /// unless CI is set: there the test must run.
    fn start() -> Option<Self> {
        let (Some(initdb), Some(_)) = (pg_bin("initdb"), pg_bin("pg_ctl")) else {
            assert!(std::env::var("CI").is_err(), "CI needs PostgreSQL's server binaries for the outage tests");
            eprintln!("skipping: PostgreSQL's server binaries (initdb, pg_ctl) are not installed");
            return None;
        };
        if hostadmin_persistence::testing::postgres_skipped() {
            eprintln!("HOSTADMIN_TEST_SKIP_POSTGRES=1: skipping the outage test");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let chown = Command::new("chown").arg("-R").arg("postgres").arg(dir.path()).status().unwrap();
        assert!(chown.success());
        let data = dir.path().join("data");
        let output =
            as_postgres(&initdb, &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        assert!(output.status.success(), "initdb: {}", String::from_utf8_lossy(&output.stderr));
        let cluster = Self { dir, port: free_port() };
        cluster.pg_ctl_start();
        let mut admin = diesel::pg::PgConnection::establish(&cluster.url("postgres")).unwrap();
        diesel::sql_query("CREATE DATABASE hostadmin").execute(&mut admin).unwrap();
        let backend = hostadmin_persistence::Backend::from_url(&cluster.url("hostadmin")).unwrap();
        let mut conn = hostadmin_persistence::connection::connect(&backend).unwrap();
        hostadmin_persistence::migrations::run_pending(&mut conn).unwrap();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = pg_bin("pg_ctl").unwrap();
        let data = self.data();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        let output = as_postgres(&pg_ctl, &all);
        assert!(output.status.success(), "pg_ctl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn pg_ctl_start(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("log").display().to_string();
        self.pg_ctl(&["-o", &options, "-l", &log, "-w", "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }

    /// Every process of the cluster: the postmaster and its children.
    fn processes(&self) -> Vec<String> {
        let pid_file = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).unwrap();
        let postmaster = pid_file.lines().next().unwrap().trim().to_owned();
        let children = Command::new("pgrep").arg("-P").arg(&postmaster).output().unwrap();
        let mut all = vec![postmaster];
        all.extend(String::from_utf8_lossy(&children.stdout).split_whitespace().map(str::to_owned));
        all
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the whole cluster: its sockets stay open and
    /// its kernel keeps acknowledging, as with a network partition.
    fn signal(&self, signal: &str) {
        for pid in self.processes() {
            let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid).status();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.signal("CONT");
        if let Some(pg_ctl) = pg_bin("pg_ctl") {
            let _ = as_postgres(&pg_ctl, &["-D", &self.data(), "-m", "immediate", "stop"]);
        }
    }
}

fn timed(what: &str, request: impl FnOnce() -> Response) -> (Response, Duration) {
    let start = Instant::now();
    let response = request();
    let took = start.elapsed();
    eprintln!("{what}: {} in {} ms", response.status, took.as_millis());
    (response, took)
}

/// `/readyz` and a read are 503 fast, with `Retry-After`, while the database is away.
fn answers_fast_while_away(server: &Server, token: &str, how: &str) {
    let (ready, took) = timed(&format!("{how}: /readyz"), || server.get("/readyz", None));
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(took < Duration::from_secs(2), "/readyz took {took:?} ({how})");
    let bound = Duration::from_millis(DATABASE_TIMEOUT_MS.parse().unwrap()) + SLACK;
    let (listed, took) = timed(&format!("{how}: GET /v1/services"), || server.get("/v1/services", Some(token)));
    // The token is checked against the database too: with it away, 503 (never 401).
    assert_eq!(listed.status, 503, "{}", listed.body);
    assert_eq!(listed.code(), "unavailable");
    assert!(listed.header("retry-after").is_some(), "Retry-After on 503");
    assert!(took < bound, "GET took {took:?} ({how}); bound {bound:?}");
}

fn comes_back(server: &Server, token: &str, how: &str) {
    eventually(30, &format!("/readyz to answer 200 again after {how}"), || server.get("/readyz", None).status == 200);
    assert_eq!(server.get("/v1/services", Some(token)).status, 200, "requests work again after {how}");
}

/// A cluster of the test's own and a server on it with the tests' bounds.
fn cluster_and_server() -> Option<(Cluster, Server)> {
    let cluster = Cluster::start()?;
    let url = cluster.url("hostadmin");
    let env = [
        ("HOSTADMIN_DATABASE_URL", url.as_str()),
        ("HOSTADMIN_DATABASE_TIMEOUT_MS", DATABASE_TIMEOUT_MS),
        ("HOSTADMIN_DATABASE_CONNECT_TIMEOUT_MS", "1000"),
    ];
    let server = Server::start(TestBackend::Postgres, &env)?;
    Some((cluster, server))
}

#[test]
fn a_stopped_or_frozen_database_makes_requests_fail_fast_and_the_server_recovers_alone() {
    let Some((cluster, server)) = cluster_and_server() else { return };
    let operator = server.operator("operator");
    let mut acknowledged = Vec::new();
    let mut create = |login: String| {
        let response = server.post(
            "/v1/customers",
            Some(&operator.token),
            json!({"login": login, "password": PASSWORD, "name": "N", "email": format!("{login}@example.test")}),
        );
        if response.status == 201 {
            acknowledged.push(response.str("id"));
        }
        response.status
    };
    for i in 0..5 {
        assert_eq!(create(format!("before-{i}")), 201);
    }

    cluster.stop();
    answers_fast_while_away(&server, &operator.token, "stopped");
    assert_eq!(create("while-stopped".into()), 503, "a write while the database is down is refused, not lost");
    cluster.pg_ctl_start();
    comes_back(&server, &operator.token, "a restart");
    for i in 0..5 {
        assert_eq!(create(format!("after-restart-{i}")), 201);
    }

    cluster.signal("STOP");
    answers_fast_while_away(&server, &operator.token, "frozen");
    let frozen_write = create("while-frozen".into());
    assert_eq!(frozen_write, 503);
    cluster.signal("CONT");
    comes_back(&server, &operator.token, "a thaw");
    for i in 0..5 {
        assert_eq!(create(format!("after-thaw-{i}")), 201);
    }

    // Every write that was acknowledged is there.
    let listed = acknowledged
        .iter()
        .filter(|id| server.get(&format!("/v1/customers/{id}"), Some(&operator.token)).status == 200)
        .count();
    assert_eq!(listed, acknowledged.len(), "no acknowledged write lost");
    assert_eq!(acknowledged.len(), 15);
}

/// A restart of the database costs at most the requests that held a connection it
/// closed. While idle: the next request is answered (a connection idle for a while is
/// tested before use). While requests keep coming (no connection is idle long enough
/// to be tested): a closed connection fails the request that held it, `503` with
/// `Retry-After`, and is replaced, never handed out again.
#[test]
fn a_database_restart_costs_at_most_the_requests_that_held_a_closed_connection() {
    let Some((cluster, server)) = cluster_and_server() else { return };
    let operator = server.operator("operator");
    let list = || server.get("/v1/services", Some(&operator.token));
    assert_eq!(list().status, 200);

    cluster.stop();
    cluster.pg_ctl_start();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(list().status, 200, "the first request after a restart while idle");

    let stop = std::sync::atomic::AtomicBool::new(false);
    let answers = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let response = list();
                if response.status != 200 {
                    assert_eq!(response.code(), "unavailable", "{}", response.body);
                    assert!(response.header("retry-after").is_some(), "Retry-After on 503");
                }
                answers.push((Instant::now(), response.status));
                std::thread::sleep(Duration::from_millis(20));
            }
            answers
        });
        std::thread::sleep(Duration::from_millis(300));
        cluster.stop();
        cluster.pg_ctl_start();
        let back = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (back, client.join().unwrap())
    });
    let (back, answers) = answers;
    let refused_after: Vec<u16> =
        answers.iter().filter(|(at, status)| *at > back && *status != 200).map(|a| a.1).collect();
    let settled: Vec<u16> =
        answers.iter().filter(|(at, _)| *at > back + Duration::from_secs(2)).map(|(_, status)| *status).collect();
    eprintln!("after the restart: {} refused; {} answers in the last second", refused_after.len(), settled.len());
    assert!(!settled.is_empty(), "requests kept coming");
    assert!(settled.iter().all(|status| *status == 200), "requests succeed again: {settled:?}");
}
