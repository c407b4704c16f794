//! Test databases: every test gets its own, on SQLite and on PostgreSQL.
//!
//! PostgreSQL databases are copied from a template migrated once per set of migrations
//! (`CREATE DATABASE ... TEMPLATE`), which is much faster than migrating each one.
//! The PostgreSQL half is required: it fails when the server is unreachable, unless
//! `HOSTADMIN_TEST_SKIP_POSTGRES=1` is set (CI unsets it).

#![allow(clippy::expect_used, clippy::panic)]

use std::fmt;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use crate::connection::{connect, Backend, DbConnection};
use crate::migrations;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The two databases every test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl fmt::Display for TestBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A database that exists for one test and is dropped after it.
pub struct TestDatabase {
    pub url: String,
    pub backend: TestBackend,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// Whether the PostgreSQL half may be skipped on this machine.
pub fn postgres_skipped() -> bool {
    std::env::var("HOSTADMIN_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

fn admin_url() -> String {
    std::env::var("HOSTADMIN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// The URL of another database on the admin URL's server.
fn database_url(name: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (admin.clone(), String::new()),
    };
    let server = base.rsplit_once('/').map(|(server, _)| server.to_owned()).unwrap_or(base);
    format!("{server}/{name}{query}")
}

impl TestDatabase {
    /// A new, migrated, empty database. `None` only when PostgreSQL is skipped.
    pub fn new(backend: TestBackend) -> Option<Self> {
        match backend {
            TestBackend::Sqlite => Some(Self::sqlite(true)),
            TestBackend::Postgres => Self::postgres(true),
        }
    }

    /// A new database without any migration (to test the migrations themselves).
    pub fn unmigrated(backend: TestBackend) -> Option<Self> {
        match backend {
            TestBackend::Sqlite => Some(Self::sqlite(false)),
            TestBackend::Postgres => Self::postgres(false),
        }
    }

    fn sqlite(migrated: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("hostadmin.db");
        let url = format!("sqlite://{}", path.display());
        let db = Self { url, backend: TestBackend::Sqlite, _dir: Some(dir), pg_name: None };
        if migrated {
            migrations::run_pending(&mut db.connect()).expect("SQLite migrations");
        }
        db
    }

    fn postgres(migrated: bool) -> Option<Self> {
        if postgres_skipped() {
            eprintln!("HOSTADMIN_TEST_SKIP_POSTGRES=1: skipping the PostgreSQL half");
            return None;
        }
        let mut admin = PgConnection::establish(&admin_url()).unwrap_or_else(|error| {
            panic!(
                "PostgreSQL is required for the tests ({error}); start it, point \
                 HOSTADMIN_TEST_POSTGRES_URL at one, or set HOSTADMIN_TEST_SKIP_POSTGRES=1 locally"
            )
        });
        let name = format!("hostadmin_test_{}", hostadmin_domain::ids::new_id().replace('-', ""));
        // One creator at a time: CREATE DATABASE ... TEMPLATE fails while anyone else is
        // connected to the template, including whoever is still migrating it.
        diesel::sql_query("SELECT pg_advisory_lock(727274)").execute(&mut admin).expect("advisory lock");
        let created = if migrated {
            let template = ensure_template(&mut admin);
            diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin)
        } else {
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)
        };
        diesel::sql_query("SELECT pg_advisory_unlock(727274)").execute(&mut admin).expect("advisory unlock");
        created.expect("CREATE DATABASE");
        Some(Self { url: database_url(&name), backend: TestBackend::Postgres, _dir: None, pg_name: Some(name) })
    }

    pub fn connect(&self) -> DbConnection {
        let backend = Backend::from_url(&self.url).expect("a test database URL");
        connect(&backend).expect("a connection to the test database")
    }
}

/// The migrated template for this build's migrations, created on first use.
fn ensure_template(admin: &mut PgConnection) -> String {
    let template = format!("hostadmin_template_{}", env!("HOSTADMIN_MIGRATIONS_FINGERPRINT"));
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let exists: Exists =
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM pg_database WHERE datname = '{template}'"))
            .get_result(admin)
            .expect("pg_database");
    if exists.n == 0 {
        let building = format!("{template}_building");
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}")).execute(admin);
        diesel::sql_query(format!("CREATE DATABASE {building}")).execute(admin).expect("CREATE DATABASE");
        {
            let backend = Backend::from_url(&database_url(&building)).expect("template URL");
            let mut conn = connect(&backend).expect("a connection to the template");
            migrations::run_pending(&mut conn).expect("PostgreSQL migrations");
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
            .execute(admin)
            .expect("rename the template");
    }
    template
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// Runs one test body on both backends: `both_backends!(name, |db| { ... })`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                if let Some(db) = $crate::testing::TestDatabase::new($crate::testing::TestBackend::Sqlite) {
                    ($body)(db);
                }
            }

            #[test]
            fn postgres() {
                if let Some(db) = $crate::testing::TestDatabase::new($crate::testing::TestBackend::Postgres) {
                    ($body)(db);
                }
            }
        }
    };
}
