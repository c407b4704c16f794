//! The harness: servers on both backends, an HTTP client that never treats a status as
//! an error, and a fixture account tree.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use hostadmin_persistence::testing::{TestBackend, TestDatabase};
pub use serde_json::{json, Value};

pub const JWT_SECRET: &str = "test-jwt-secret-that-is-at-least-32-bytes-long";
pub const ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const PASSWORD: &str = "correct horse battery staple";

/// Runs one test body on both backends, with `env` (if given) on top of the test
/// defaults, on a server inside the test process unless `start` names another way to
/// start it (`Server::start_process` for the tests that signal the real binary). One
/// arm: with and without `start` and `env` the test functions are written once.
macro_rules! both_backends {
    ($name:ident, $(start = $start:path,)? $(env = $env:expr,)? |$server:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run(backend: crate::support::TestBackend) {
                #[allow(unused_variables)]
                let env: &[(&str, &str)] = &[];
                $(let env: &[(&str, &str)] = $env;)?
                #[allow(unused_variables)]
                let start: fn(crate::support::TestBackend, &[(&str, &str)]) -> Option<crate::support::Server> =
                    crate::support::Server::start;
                $(let start: fn(crate::support::TestBackend, &[(&str, &str)]) -> Option<crate::support::Server> = $start;)?
                if let Some($server) = start(backend, env) {
                    $body
                }
            }

            #[test]
            fn sqlite() {
                run(crate::support::TestBackend::Sqlite);
            }

            #[test]
            fn postgres() {
                run(crate::support::TestBackend::Postgres);
            }
        }
    };
}
pub(crate) use both_backends;

/// A running server on its own database and data directory.
pub struct Server {
    running: Running,
    pub base: String,
    pub backend: TestBackend,
    pub database: TestDatabase,
    env: Vec<(String, String)>,
    _data_dir: tempfile::TempDir,
    agent: ureq::Agent,
}

/// Where the server runs: inside the test process (most tests), or as the real binary
/// (the tests that signal it and read its exit status).
enum Running {
    /// `hostadmin serve`'s work on a thread of its own, with its own actix system.
    InProcess(InProcess),
    Process(Child),
}

struct InProcess {
    handle: actix_web::dev::ServerHandle,
    /// Ends when the server has stopped and its runtime with every task, blocking thread
    /// and database connection of it is gone.
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long a dropped server may take to stop (its worker finishing the step it is on)
/// before the test goes on without waiting for it.
const STOP_WAIT: Duration = Duration::from_secs(30);

impl Drop for InProcess {
    fn drop(&mut self) {
        // Not graceful: as the binary was killed, requests still open are dropped. The
        // worker then stops after its step and gives its leases back.
        drop(self.handle.stop(false));
        let Some(thread) = self.thread.take() else { return };
        let deadline = std::time::Instant::now() + STOP_WAIT;
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_hostadmin")
}

/// The server's logs, once per test process: at the level the configuration asks for,
/// through the test harness's capture, so that a failing test shows its server's
/// warnings and a passing one stays quiet.
fn capture_logs(level: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_new(level)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}

/// The OpenAPI document every in-process server serves, built once per test process (it
/// depends on the code alone, and building it takes a while in a debug build).
fn served_document() -> hostadmin::server::ServedDocument {
    static DOCUMENT: std::sync::OnceLock<hostadmin::server::ServedDocument> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| hostadmin::server::ServedDocument::build().expect("the OpenAPI document")).clone()
}

/// A new database and data directory, and the configuration of a server on them: the
/// test defaults with `env` on top.
struct Setup {
    database: TestDatabase,
    data_dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Setup {
    fn new(backend: TestBackend, env: &[(&str, &str)]) -> Option<Self> {
        let database = TestDatabase::new(backend)?;
        let data_dir = tempfile::tempdir().expect("data dir");
        let mut vars: Vec<(String, String)> = vec![
            ("HOSTADMIN_DATA_DIR".into(), data_dir.path().display().to_string()),
            ("HOSTADMIN_DATABASE_URL".into(), database.url.clone()),
            ("HOSTADMIN_JWT_SECRET".into(), JWT_SECRET.into()),
            ("HOSTADMIN_ENCRYPTION_KEY".into(), ENCRYPTION_KEY.into()),
            ("HOSTADMIN_LISTEN".into(), "127.0.0.1:0".into()),
            ("HOSTADMIN_DATABASE_POOL_SIZE".into(), "4".into()),
            ("HOSTADMIN_LOG".into(), "warn".into()),
        ];
        for (key, value) in env {
            vars.retain(|(k, _)| k != key);
            vars.push(((*key).into(), (*value).into()));
        }
        Some(Self { database, data_dir, vars })
    }

    fn server(self, running: Running, base: String) -> Server {
        let Self { database, data_dir, vars } = self;
        Server { running, base, backend: database.backend, database, env: vars, _data_dir: data_dir, agent: agent() }
    }
}

/// The configuration `vars` make, read as the binary reads its environment (and nothing
/// else: the test process's own environment is neither read nor changed).
fn config(vars: &[(String, String)]) -> hostadmin::config::Config {
    let variables: HashMap<String, String> = vars.iter().cloned().collect();
    hostadmin::config::Config::from_sources(None, &variables).expect("the test configuration")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl Server {
    /// Starts what `hostadmin serve` runs (migrations, state, worker, HTTP server on a
    /// free port of 127.0.0.1) inside the test process, configured from the test
    /// defaults with `env` on top and nothing else (the process environment is neither
    /// read nor changed); `None` only when the PostgreSQL half is skipped on this machine.
    pub fn start(backend: TestBackend, env: &[(&str, &str)]) -> Option<Self> {
        let setup = Setup::new(backend, env)?;
        let config = config(&setup.vars);
        capture_logs(setup.vars.iter().rev().find(|(k, _)| k == "HOSTADMIN_LOG").map_or("warn", |(_, v)| v.as_str()));
        let (started, receiver) = mpsc::channel();
        let document = served_document();
        let thread = std::thread::Builder::new()
            .name("hostadmin serve".into())
            .spawn(move || {
                let system = actix_web::rt::System::new();
                system.block_on(async move {
                    match hostadmin::server::start(config, hostadmin::server::Signals::Ignored, document).await {
                        Ok(running) => {
                            let address = running.addresses().first().copied();
                            let _ = started.send(address.map(|a| (a, running.handle())).ok_or("no address".into()));
                            if let Err(error) = running.finish().await {
                                eprintln!("hostadmin serve (in the test process): {error:#}");
                            }
                        }
                        Err(error) => {
                            let _ = started.send(Err(format!("{error:#}")));
                        }
                    }
                });
                drop(system);
            })
            .expect("a thread for the server");
        let (address, handle) = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(started)) => started,
            Ok(Err(error)) => panic!("hostadmin serve did not start: {error}"),
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("hostadmin serve did not start within 60 s"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("hostadmin serve's thread ended before it listened"),
        };
        let running = Running::InProcess(InProcess { handle, thread: Some(thread) });
        let base = format!("http://{address}");
        Some(setup.server(running, base))
    }

    /// Starts the real binary (`hostadmin serve`) with `env` on top of the test defaults,
    /// for the tests that signal it and read its exit status; `None` only when the
    /// PostgreSQL half is skipped on this machine.
    pub fn start_process(backend: TestBackend, env: &[(&str, &str)]) -> Option<Self> {
        let setup = Setup::new(backend, env)?;
        let mut command = Command::new(binary());
        command.arg("serve").stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (key, value) in &setup.vars {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start hostadmin serve");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = sender.send(address.to_owned());
                }
            }
        });
        let base = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("hostadmin serve did not print its address within 60 s");
            }
        };
        let running = Running::Process(child);
        Some(setup.server(running, base))
    }

    /// Runs another subcommand of the binary against the same configuration.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut command = Command::new(binary());
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start hostadmin");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("hostadmin output")
    }

    /// Starts `hostadmin worker` against the same configuration, with `env` on top; the
    /// process is killed when the answer is dropped.
    pub fn spawn_worker(&self, env: &[(&str, &str)]) -> Worker {
        let mut command = Command::new(binary());
        command.arg("worker").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        Worker(command.spawn().expect("start hostadmin worker"))
    }

    /// Creates an operator as `hostadmin operator create` does (the command's own code,
    /// run in the test process; tests/api/cli.rs runs the command itself) and logs it in.
    pub fn operator(&self, login: &str) -> Account {
        let config = config(&self.env);
        let email = format!("{login}@operators.test");
        if let Err(error) = hostadmin::cli::new_operator(&config, login, &email, None, PASSWORD) {
            panic!("operator create: {error:#}");
        }
        self.login(login, PASSWORD)
    }

    pub fn login(&self, login: &str, password: &str) -> Account {
        let response = self.post("/v1/auth/login", None, json!({"login": login, "password": password}));
        assert_eq!(response.status, 200, "login {login}: {}", response.body);
        let access = response.str("access_token");
        let me = self.get("/v1/me", Some(&access));
        assert_eq!(me.status, 200, "{}", me.body);
        Account { id: me.str("id"), login: login.to_owned(), token: access, refresh: response.str("refresh_token") }
    }

    /// Creates an account below `parent` and logs it in.
    /// A public web hosting plan of `seller`: 1 GiB of disk, 5 EUR a month.
    pub fn web_plan(&self, seller: &Account, name: &str) -> String {
        let response = self.post(
            "/v1/plans",
            Some(&seller.token),
            json!({"name": name, "service_kind": "web_hosting", "quotas": {"disk_mb": 1024},
                   "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}], "public": true}),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        response.str("id")
    }

    /// Sells `owner` a monthly service of `plan_id`; answers its id.
    pub fn sell(&self, seller: &Account, owner: &Account, plan_id: &str) -> String {
        let response = self.post(
            "/v1/services",
            Some(&seller.token),
            json!({"owner_id": owner.id, "plan_id": plan_id, "cycle": "monthly", "name": format!("{} site", owner.login)}),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        response.str("id")
    }

    pub fn create(&self, parent: &Account, login: &str, kind: &str) -> Account {
        let response = self.post(
            "/v1/customers",
            Some(&parent.token),
            json!({"login": login, "password": PASSWORD, "name": format!("Name of {login}"), "email": format!("{login}@example.test"), "kind": kind}),
        );
        assert_eq!(response.status, 201, "create {login}: {}", response.body);
        self.login(login, PASSWORD)
    }

    /// The number a `SELECT COUNT(*) AS n ...` answers, read straight from the database.
    pub fn count(&self, sql: &str) -> i64 {
        use diesel::RunQueryDsl as _;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut self.database.connect()).expect("a count");
        rows.first().map_or(0, |row| row.n)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send("GET", path, token, Body::None, &[])
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send("POST", path, token, Body::Json(body), &[])
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send("PATCH", path, token, Body::Json(body), &[])
    }

    pub fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send("PUT", path, token, Body::Json(body), &[])
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send("DELETE", path, token, Body::None, &[])
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = ureq::http::Request::builder().method(method).uri(self.url(path));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let result = match body {
            Body::None => self.agent.run(request.body(()).expect("request")),
            Body::Json(value) => {
                let has_type = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
                if !has_type {
                    request = request.header("content-type", "application/json");
                }
                self.agent.run(request.body(value.to_string()).expect("request"))
            }
            Body::Raw(content_type, bytes) => {
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                self.agent.run(request.body(bytes).expect("request"))
            }
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        Response { status, headers, body, text }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // An in-process server stops in `InProcess`'s own drop.
        if let Running::Process(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// Sends the server SIGTERM, as a service manager stops it.
    pub fn sigterm(&self) {
        match &self.running {
            Running::Process(child) => sigterm(child.id()),
            Running::InProcess(_) => panic!("SIGTERM needs the binary: start the server with Server::start_process"),
        }
    }

    /// Waits for the server to exit (after [`Server::sigterm`]).
    pub fn exit_status(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        match &mut self.running {
            Running::Process(child) => exit_status(child, within),
            Running::InProcess(_) => {
                panic!("an exit status needs the binary: start the server with Server::start_process")
            }
        }
    }
}

/// A `hostadmin worker` process, killed on drop.
pub struct Worker(Child);

impl Worker {
    /// Sends the worker SIGTERM and waits for it to exit.
    pub fn terminate(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        sigterm(self.0.id());
        exit_status(&mut self.0, within)
    }

    /// Kills the worker at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self) {
        self.0.kill().expect("kill the worker");
        self.0.wait().expect("reap the worker");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(pid: u32) {
    let sent = Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("run kill");
    assert!(sent.success(), "kill -TERM {pid}");
}

fn exit_status(child: &mut Child, within: std::time::Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the process") {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "the process did not exit within {within:?} of SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub enum Body {
    None,
    Json(Value),
    Raw(Option<&'static str>, Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("{field} in {}", self.body)).to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The problem's code, checking the problem+json shape on the way.
    pub fn code(&self) -> &str {
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text);
        for field in ["type", "title", "detail", "code", "request_id"] {
            assert!(self.body[field].is_string(), "problem without {field}: {}", self.body);
        }
        assert_eq!(self.body["status"], self.status, "{}", self.body);
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The pointers of a 422's refused fields.
    pub fn pointers(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().map(|e| e["pointer"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn ids(&self) -> Vec<String> {
        self.body["data"]
            .as_array()
            .map(|items| items.iter().map(|i| i["id"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    }
}

/// A logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub login: String,
    pub token: String,
    pub refresh: String,
}

/// The tenancy fixture: an operator; resellers A and B with two customers each; a
/// sub-reseller of A with its own customer.
pub struct Tree {
    pub operator: Account,
    pub reseller_a: Account,
    pub reseller_b: Account,
    pub customer_a1: Account,
    pub customer_a2: Account,
    pub customer_b1: Account,
    pub customer_b2: Account,
    pub sub_reseller: Account,
    pub sub_customer: Account,
}

impl Tree {
    pub fn build(server: &Server) -> Self {
        let operator = server.operator("operator");
        let reseller_a = server.create(&operator, "reseller-a", "reseller");
        let reseller_b = server.create(&operator, "reseller-b", "reseller");
        let customer_a1 = server.create(&reseller_a, "customer-a1", "customer");
        let customer_a2 = server.create(&reseller_a, "customer-a2", "customer");
        let customer_b1 = server.create(&reseller_b, "customer-b1", "customer");
        let customer_b2 = server.create(&reseller_b, "customer-b2", "customer");
        let sub_reseller = server.create(&reseller_a, "sub-reseller", "reseller");
        let sub_customer = server.create(&sub_reseller, "sub-customer", "customer");
        Self {
            operator,
            reseller_a,
            reseller_b,
            customer_a1,
            customer_a2,
            customer_b1,
            customer_b2,
            sub_reseller,
            sub_customer,
        }
    }

    /// Every account with its role name.
    pub fn all(&self) -> Vec<(&'static str, &Account)> {
        vec![
            ("operator", &self.operator),
            ("reseller_a", &self.reseller_a),
            ("reseller_b", &self.reseller_b),
            ("customer_a1", &self.customer_a1),
            ("customer_a2", &self.customer_a2),
            ("customer_b1", &self.customer_b1),
            ("customer_b2", &self.customer_b2),
            ("sub_reseller", &self.sub_reseller),
            ("sub_customer", &self.sub_customer),
        ]
    }

    /// The role names strictly below `role` in the tree.
    pub fn below(&self, role: &str) -> Vec<&'static str> {
        match role {
            "operator" => vec![
                "reseller_a",
                "reseller_b",
                "customer_a1",
                "customer_a2",
                "customer_b1",
                "customer_b2",
                "sub_reseller",
                "sub_customer",
            ],
            "reseller_a" => vec!["customer_a1", "customer_a2", "sub_reseller", "sub_customer"],
            "reseller_b" => vec!["customer_b1", "customer_b2"],
            "sub_reseller" => vec!["sub_customer"],
            _ => vec![],
        }
    }

    pub fn is_customer(role: &str) -> bool {
        role.starts_with("customer") || role == "sub_customer"
    }
}

/// Waits until `done` holds, for at most `seconds` (for what the worker does in the
/// background).
pub fn eventually(seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(seconds), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A mail the server wrote into its mail directory (no `smtp_url` in tests).
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The token of the link in the mail, checked to be in both parts.
    pub fn token(&self) -> String {
        let start = self.text.find("?token=").unwrap_or_else(|| panic!("no link in {}", self.text)) + "?token=".len();
        let token: String =
            self.text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        assert!(self.html.contains(&token), "the HTML part carries the same link: {}", self.html);
        token
    }
}

impl Server {
    /// Where the server writes its `.eml` files.
    pub fn mail_dir(&self) -> std::path::PathBuf {
        self._data_dir.path().join("mail")
    }

    /// Every mail written so far to `address` (case-insensitive), oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.mail_dir()) else { return Vec::new() };
        let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| (std::fs::metadata(&p).and_then(|m| m.modified()).expect("mtime"), p))
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| {
                let bytes = std::fs::read(&path).expect("read .eml");
                let message = mail_parser::MessageParser::default().parse(&bytes).expect("a parsable .eml");
                let to = message.to()?.first()?.address()?.to_owned();
                to.eq_ignore_ascii_case(address).then(|| Mail {
                    to,
                    subject: message.subject().unwrap_or_default().to_owned(),
                    text: message.body_text(0).unwrap_or_default().into_owned(),
                    html: message.body_html(0).unwrap_or_default().into_owned(),
                })
            })
            .collect()
    }

    /// Waits until `address` has received `count` mails, and answers them.
    pub fn wait_for_mails(&self, address: &str, count: usize) -> Vec<Mail> {
        let mut mails = Vec::new();
        eventually(20, &format!("{count} mail(s) to {address}"), || {
            mails = self.mails_to(address);
            mails.len() >= count
        });
        mails
    }
}
