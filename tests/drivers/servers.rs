//! The real servers the driver tests talk to: PowerDNS and pebble started per test on
//! free loopback ports from the configurations in tests/servers/, and stopped when the
//! test ends (also when it fails); MariaDB and PostgreSQL as the machine runs them.
//!
//! A server that is not installed skips its tests with a printed reason, unless `CI` is
//! set: there it fails them, so CI cannot pass without running them.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, SqliteConnection};

/// The repository's tests/servers folder.
pub fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/servers")
}

/// `None` with the reason printed, or a panic under CI.
pub fn skip<T>(reason: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{reason}; CI is set, so the test fails instead of skipping (.ci/run installs it)");
    }
    eprintln!("skipped: {reason}");
    None
}

pub fn installed(binary: &str, candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|path| path.is_file()).or_else(|| {
        std::env::var_os("PATH")
            .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(binary)).find(|path| path.is_file()))
    })
}

/// A loopback port free for TCP and UDP alike (DNS serves both on one port).
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A unique lowercase suffix for names of one test run (zones, databases, users).
pub fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}{}{:x}", std::process::id() % 10_000, nanos % 0xfffff)
}

/// A child process killed when dropped.
pub struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_for(what: &str, process: &mut Process, log: &Path, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("{what} exited ({status}):\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not come up within 20 s:\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

pub fn spawn(command: &mut Command, log: &Path) -> Process {
    let file = std::fs::File::create(log).expect("log file");
    let err = file.try_clone().expect("log file");
    Process(command.stdout(Stdio::from(file)).stderr(Stdio::from(err)).stdin(Stdio::null()).spawn().expect("spawn"))
}

/// PowerDNS Authoritative with the SQLite backend and its HTTP API.
pub struct PowerDnsServer {
    process: Option<Process>,
    command_line: Vec<String>,
    pub dns: SocketAddr,
    pub api_url: String,
    pub api_key: String,
    dir: tempfile::TempDir,
}

const PDNS_SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

impl PowerDnsServer {
    pub fn start() -> Option<Self> {
        let Some(binary) = installed("pdns_server", &["/usr/sbin/pdns_server"]) else {
            return skip("pdns_server is not installed (Debian: pdns-server pdns-backend-sqlite3)");
        };
        let Ok(schema) = std::fs::read_to_string(PDNS_SCHEMA) else {
            return skip("the PowerDNS SQLite schema is missing (Debian: pdns-backend-sqlite3)");
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("pdns.sqlite3");
        let mut connection = SqliteConnection::establish(&database.to_string_lossy()).expect("pdns database");
        connection.batch_execute(&schema).expect("pdns schema");
        drop(connection);
        let (dns_port, api_port) = (free_port(), free_port());
        let api_key = format!("test-key-{}", unique(""));
        let command_line = vec![
            binary.to_string_lossy().into_owned(),
            format!("--config-dir={}", configs().join("pdns").display()),
            format!("--socket-dir={}", dir.path().display()),
            format!("--gsqlite3-database={}", database.display()),
            format!("--local-port={dns_port}"),
            format!("--webserver-port={api_port}"),
            format!("--api-key={api_key}"),
        ];
        let mut server = Self {
            process: None,
            command_line,
            dns: SocketAddr::from(([127, 0, 0, 1], dns_port)),
            api_url: format!("http://127.0.0.1:{api_port}"),
            api_key,
            dir,
        };
        server.resume();
        Some(server)
    }

    /// Stops the server (its zones stay in its database).
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Starts it again on the same ports and database.
    pub fn resume(&mut self) {
        let log = self.dir.path().join("pdns.log");
        let mut process = spawn(Command::new(&self.command_line[0]).args(&self.command_line[1..]), &log);
        let api = self.api_url.trim_start_matches("http://").to_owned();
        wait_for("pdns_server", &mut process, &log, || TcpStream::connect(&api).is_ok());
        self.process = Some(process);
    }

    pub fn driver(&self) -> hostadmin::drivers::powerdns::PowerDns {
        hostadmin::drivers::powerdns::PowerDns::new(&self.api_url, &self.api_key, "localhost").expect("driver")
    }
}

/// The machine's MariaDB on 127.0.0.1:3306 (root, no password), or another given by
/// `HOSTADMIN_TEST_MYSQL_ADMIN_URL`.
pub fn mysql_admin_url() -> Option<String> {
    if let Ok(url) = std::env::var("HOSTADMIN_TEST_MYSQL_ADMIN_URL") {
        return Some(url);
    }
    let address: SocketAddr = "127.0.0.1:3306".parse().expect("address");
    if TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err() {
        return skip("MariaDB is not answering on 127.0.0.1:3306 (Debian: mariadb-server)");
    }
    Some("mysql://root@127.0.0.1:3306".to_owned())
}

/// The machine's PostgreSQL (`HOSTADMIN_TEST_POSTGRES_URL`, as the API tests use it).
pub fn postgres_admin_url() -> Option<String> {
    if std::env::var_os("HOSTADMIN_TEST_SKIP_POSTGRES").is_some() {
        return skip("HOSTADMIN_TEST_SKIP_POSTGRES is set");
    }
    Some(
        std::env::var("HOSTADMIN_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    )
}
