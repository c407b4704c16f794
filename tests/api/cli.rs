//! The command line on its own: what an operator types before any server runs.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use crate::support::*;

fn hostadmin(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hostadmin"));
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.env_remove("HOSTADMIN_CONFIG").env("HOSTADMIN_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn a_fresh_sqlite_install_migrates_and_gets_its_first_operator() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("not/yet/there");
    let env = [("HOSTADMIN_DATA_DIR", data.to_str().unwrap())];
    let first = hostadmin(&["migrate"], &env, "");
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("applied"));
    let again = hostadmin(&["migrate"], &env, "");
    assert!(text(&again).contains("up to date"), "{}", text(&again));

    let weak = hostadmin(
        &["operator", "create", "--login", "ops", "--email", "ops@example.test", "--password-stdin"],
        &env,
        "password\n",
    );
    assert!(!weak.status.success());
    assert!(text(&weak).contains("common"), "{}", text(&weak));
    let created = hostadmin(
        &["operator", "create", "--login", "ops", "--email", "ops@example.test", "--password-stdin"],
        &env,
        &format!("{PASSWORD}\n"),
    );
    assert!(created.status.success(), "{}", text(&created));
    let twice = hostadmin(
        &["operator", "create", "--login", "OPS", "--email", "other@example.test", "--password-stdin"],
        &env,
        &format!("{PASSWORD}\n"),
    );
    assert!(!twice.status.success(), "logins are unique whatever their case");
    assert!(data.join("hostadmin.db").exists(), "the database lives in the data directory");
}

#[test]
fn postgres_needs_shared_secrets_and_unknown_schemes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let no_secret = hostadmin(
        &["serve"],
        &[("HOSTADMIN_DATA_DIR", data), ("HOSTADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")],
        "",
    );
    assert!(!no_secret.status.success());
    assert!(text(&no_secret).contains("HOSTADMIN_JWT_SECRET"), "{}", text(&no_secret));
    let mysql = hostadmin(
        &["migrate"],
        &[("HOSTADMIN_DATA_DIR", data), ("HOSTADMIN_DATABASE_URL", "mysql://db/hostadmin")],
        "",
    );
    assert!(!mysql.status.success());
    assert!(text(&mysql).contains("unsupported database URL scheme"), "{}", text(&mysql));
}

#[test]
fn the_openapi_command_prints_the_checked_in_document() {
    let output = hostadmin(&["openapi"], &[], "");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), include_str!("../../openapi/v1.json"));
}

/// A second `hostadmin serve` on `server`'s database, with `env` on top; killed when
/// dropped.
struct Beside {
    child: std::process::Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Drop for Beside {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts it: the running server, or what the binary said when it refused to start.
fn serve_beside(server: &Server, env: &[(&str, &str)]) -> Result<Beside, String> {
    use std::io::{BufRead as _, BufReader, Read as _};

    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hostadmin"));
    command.arg("serve").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.env_remove("HOSTADMIN_CONFIG");
    for (key, value) in [
        ("HOSTADMIN_DATA_DIR", data.path().to_str().unwrap()),
        ("HOSTADMIN_DATABASE_URL", server.database.url.as_str()),
        ("HOSTADMIN_JWT_SECRET", JWT_SECRET),
        ("HOSTADMIN_ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("HOSTADMIN_LISTEN", "127.0.0.1:0"),
        ("HOSTADMIN_DATABASE_POOL_SIZE", "2"),
        ("HOSTADMIN_LOG", "warn"),
    ]
    .iter()
    .chain(env)
    {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("listening on ") {
                let _ = sender.send(address.to_owned());
            }
        }
    });
    match receiver.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(base) => Ok(Beside { child, base, _data: data }),
        // Its stdout closed without an address: it stopped.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let status = child.wait().unwrap();
            assert!(!status.success(), "serve ended without an error");
            Err(said.join().unwrap())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            panic!("hostadmin serve neither listened nor stopped within 60 s");
        }
    }
}

both_backends!(serve_refuses_a_registration_parent_that_cannot_take_registrations, |server| {
    let tree = Tree::build(&server);
    let open =
        |parent: &'static str| [("HOSTADMIN_REGISTRATION_ENABLED", "true"), ("HOSTADMIN_REGISTRATION_PARENT", parent)];

    for (parent, says) in
        [("nobody", "no account has the login \"nobody\""), ("customer-a1", "\"customer-a1\" is a customer")]
    {
        match serve_beside(&server, &open(parent)) {
            Ok(_) => panic!("serve started with registration_parent {parent}"),
            Err(said) => assert!(said.contains("registration_parent") && said.contains(says), "{said}"),
        }
    }
    // Closed registration reads no parent; an operator's login is the provider itself.
    assert!(serve_beside(&server, &[("HOSTADMIN_REGISTRATION_PARENT", "nobody")]).is_ok());
    assert!(serve_beside(&server, &open("operator")).is_ok());

    // A reseller's login: registrations are placed below it.
    let beside = serve_beside(&server, &open("reseller-a")).unwrap();
    let answer = ureq::post(format!("{}/v1/auth/register", beside.base))
        .send_json(json!({"login": "joined", "email": "joined@example.test", "password": PASSWORD, "name": "Joined"}))
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    let below =
        format!("SELECT COUNT(*) AS n FROM accounts WHERE login = 'joined' AND parent_id = '{}'", tree.reseller_a.id);
    assert_eq!(server.count(&below), 1);
});
