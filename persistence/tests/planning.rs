//! Which statements PostgreSQL plans for their values (`hostadmin_persistence::planning`):
//! a lookup by key stays prepared and is given a generic plan after PostgreSQL's five
//! custom ones (planning it on every request cost more than half of PostgreSQL's CPU);
//! a list within a caller's reach is never kept prepared, so it is planned for whose
//! subtree it is every time (a generic plan took 5 s a page over 1,000,000 services).
//! SQLite keeps the plan a statement was prepared with: without its query planner
//! stability guarantee it prepared every statement with a bound LIMIT again on every
//! execution.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use hostadmin_domain::policy::{Below, Reach};
use hostadmin_persistence::services::{self, ServiceFilter};
use hostadmin_persistence::testing::{TestBackend, TestDatabase};
use hostadmin_persistence::DbConnection;

#[derive(QueryableByName, Debug)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
}

fn prepared(conn: &mut DbConnection) -> Vec<Prepared> {
    let DbConnection::Pg(pg) = conn else { panic!("a PostgreSQL connection") };
    diesel::sql_query("SELECT statement, generic_plans FROM pg_prepared_statements").load(pg).unwrap()
}

#[test]
fn postgres_keeps_lookups_prepared_and_plans_lists_for_their_values() {
    let Some(db) = TestDatabase::new(TestBackend::Postgres) else { return };
    let mut conn = db.connect();
    let reseller =
        Reach { account_id: "0190a000-0000-7000-8000-000000000001".into(), below: Below::Subtree, grants: false };
    for _ in 0..8 {
        services::find_in_reach(&mut conn, &reseller, "0190a000-0000-7000-8000-0000000000aa").unwrap();
        services::list_in_reach(&mut conn, &reseller, &ServiceFilter::default(), 100).unwrap();
    }
    let statements = prepared(&mut conn);
    let lookup = statements
        .iter()
        .find(|s| s.statement.contains("FROM \"services\"") && !s.statement.contains("ORDER BY"))
        .unwrap_or_else(|| panic!("the lookup is kept prepared: {statements:?}"));
    assert!(lookup.generic_plans > 0, "the lookup runs on a generic plan: {lookup:?}");
    assert!(
        !statements.iter().any(|s| s.statement.contains("FROM \"services\"") && s.statement.contains("ORDER BY")),
        "the list is not kept prepared: {statements:?}"
    );
}

/// Every list within a reach (a function that takes a `Reach` and orders what it reads)
/// is planned for its values: a new one without it would pass every functional test and
/// take seconds a page at scale.
#[test]
fn every_list_within_a_reach_is_planned_each_time() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut lists = Vec::new();
    let mut unplanned = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for function in source.split("\npub fn ").skip(1) {
            let body = function.split("\n}\n").next().unwrap_or_default();
            let (signature, _) = body.split_once('{').unwrap_or((body, ""));
            if signature.contains(": &Reach") && body.contains(".order(") {
                let name =
                    format!("{}::{}", path.file_stem().unwrap().to_string_lossy(), body.split('(').next().unwrap());
                if !body.contains("planned_each_time()") {
                    unplanned.push(name.clone());
                }
                lists.push(name);
            }
        }
    }
    assert!(lists.len() >= 7, "the check finds the lists: {lists:?}");
    assert!(unplanned.is_empty(), "lists within a reach kept prepared: {unplanned:?}");
}

#[derive(QueryableByName, Debug)]
struct CompileOption {
    #[diesel(sql_type = Text)]
    compile_options: String,
}

/// SQLite 3.53 plans with the value bound to a LIMIT and so marks the statement to be
/// prepared again whenever that parameter is bound, which diesel does on every execution
/// (`.first()` is `LIMIT ?`): 29 % of the server's CPU on `GET /v1/services/{id}`. The
/// bundled SQLite is built with the guarantee on (`LIBSQLITE3_FLAGS` in
/// .cargo/config.toml).
#[test]
fn sqlite_keeps_the_plan_a_statement_was_prepared_with() {
    let Some(db) = TestDatabase::new(TestBackend::Sqlite) else { return };
    let mut conn = db.connect();
    let DbConnection::Sqlite(sqlite) = &mut conn else { panic!("a SQLite connection") };
    let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options").load(sqlite).unwrap();
    assert!(
        options.iter().any(|option| option.compile_options == "ENABLE_QPSG"),
        "SQLite is built with SQLITE_ENABLE_QPSG: {options:?}"
    );
}

/// With that guarantee a statement sent unprepared gets the same plan as a cached one, so
/// on SQLite the lists stay in the statement cache: preparing them again would only cost.
#[test]
fn sqlite_keeps_lists_within_a_reach_prepared() {
    let Some(db) = TestDatabase::new(TestBackend::Sqlite) else { return };
    let mut conn = db.connect();
    let cached = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = cached.clone();
    conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
        if let diesel::connection::InstrumentationEvent::CacheQuery { sql, .. } = event {
            seen.lock().unwrap().push(sql.to_owned());
        }
    });
    let reseller =
        Reach { account_id: "0190a000-0000-7000-8000-000000000001".into(), below: Below::Subtree, grants: false };
    for _ in 0..3 {
        services::list_in_reach(&mut conn, &reseller, &ServiceFilter::default(), 100).unwrap();
    }
    let cached = cached.lock().unwrap();
    let lists = cached.iter().filter(|sql| sql.contains("FROM `services`") && sql.contains("ORDER BY")).count();
    assert_eq!(lists, 1, "the list is prepared once and kept: {cached:?}");
}
