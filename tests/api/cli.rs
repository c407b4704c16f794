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
