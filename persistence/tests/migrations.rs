//! The two migration folders stay in step, and every migration goes up, down and up
//! again on both backends.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use hostadmin_persistence::migrations;
use hostadmin_persistence::testing::{TestBackend, TestDatabase};

fn versions(dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(dir);
    std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_folders_hold_the_same_versions() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres differ");
    for version in &sqlite {
        for dir in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let path =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(dir).join(version).join(file);
                assert!(path.exists(), "{} is missing", path.display());
            }
        }
    }
}

fn up_down_up(backend: TestBackend) {
    let Some(db) = TestDatabase::unmigrated(backend) else { return };
    let mut conn = db.connect();
    let applied = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(applied.len(), versions("sqlite").len(), "{backend}: every migration applies");
    assert!(migrations::is_up_to_date(&mut conn).unwrap());
    let reverted = migrations::revert_all(&mut conn).unwrap();
    assert_eq!(reverted.len(), applied.len(), "{backend}: every migration reverts");
    assert!(!migrations::is_up_to_date(&mut conn).unwrap());
    let again = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(again, applied, "{backend}: and applies again");
}

#[test]
fn migrations_go_up_down_and_up_again_on_sqlite() {
    up_down_up(TestBackend::Sqlite);
}

#[test]
fn migrations_go_up_down_and_up_again_on_postgres() {
    up_down_up(TestBackend::Postgres);
}
