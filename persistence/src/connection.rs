//! Connections: the backend is chosen from the URL scheme, each pooled connection is
//! prepared for it, and writing transactions take their locks up front.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::Pool;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use crate::error::StoreError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type ConnectionPool = Pool<Manager>;
pub type Pooled = diesel::r2d2::PooledConnection<Manager>;

/// The database behind a URL. Its `Debug` form hides a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    Postgres {
        url: String,
    },
    /// A file path (SQLite is always a file here: `:memory:` would give every pooled
    /// connection its own empty database).
    Sqlite {
        path: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("unsupported database URL scheme {0:?}: use sqlite://PATH, a file path, or postgres://")]
    UnknownScheme(String),
    #[error("the SQLite database must be a file, not {0:?}")]
    NotAFile(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, UrlError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres { url: url.to_owned() });
        }
        let path = match url.split_once("://") {
            Some(("sqlite", path)) => path,
            Some((scheme, _)) => return Err(UrlError::UnknownScheme(scheme.to_owned())),
            None => url.strip_prefix("sqlite:").unwrap_or(url),
        };
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
            return Err(UrlError::NotAFile(path.to_owned()));
        }
        Ok(Self::Sqlite { path: path.to_owned() })
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }

    /// A URL for logs and errors: the password of a PostgreSQL URL is hidden.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite://{path}"),
            Self::Postgres { url } => redact_password(url),
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

/// Opens one connection of the right concrete type. (`MultiConnection::establish` tries
/// each backend in turn and reports only that none worked, losing the real error.)
pub fn connect(backend: &Backend) -> Result<DbConnection, diesel::ConnectionError> {
    match backend {
        Backend::Postgres { url } => {
            let mut conn = PgConnection::establish(url)?;
            conn.batch_execute(POSTGRES_SETTINGS).map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Pg(conn))
        }
        Backend::Sqlite { path } => {
            let mut conn = SqliteConnection::establish(path)?;
            conn.batch_execute(SQLITE_PRAGMAS).map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// Applied to every PostgreSQL connection. diesel keeps statements prepared, and after
/// five executions PostgreSQL may switch to a generic plan that cannot see whose subtree
/// a list is for: measured at 5 s a page over 1,000,000 services instead of 1.4 ms.
/// Planning each execution costs well under a millisecond.
const POSTGRES_SETTINGS: &str = "SET plan_cache_mode = force_custom_plan";

/// Applied to every SQLite connection: WAL lets readers run beside the writer, the busy
/// timeout lets a writer wait for the lock instead of failing at once.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
     PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

/// Opens connections for the pool, each prepared for its backend.
#[derive(Debug)]
pub struct Manager(Backend);

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        connect(&self.0).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// A pool of `size` connections; a request waits at most `wait` for one.
pub fn pool(backend: &Backend, size: u32, wait: Duration) -> Result<ConnectionPool, StoreError> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(wait)
        .build(Manager(backend.clone()))
        .map_err(|error| StoreError::Pool(error.to_string()))
}

/// Runs `work` in one writing transaction: all of it or none of it.
///
/// On SQLite the transaction begins `IMMEDIATE`, taking the write lock before the first
/// read: a deferred transaction that reads and then writes fails at once with
/// SQLITE_BUSY when another writer got in between, whatever the busy timeout. On
/// PostgreSQL, quota checks lock the row that owns the quota (`FOR UPDATE`).
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    type Manager = <DbConnection as Connection>::TransactionManager;
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one worth reporting; a failed rollback leaves the
            // connection marked broken and the pool discards it.
            let _ = Manager::rollback_transaction(conn);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_follows_the_scheme() {
        assert_eq!(
            Backend::from_url("postgres://u:p@h/db").unwrap(),
            Backend::Postgres { url: "postgres://u:p@h/db".into() }
        );
        assert!(Backend::from_url("postgresql://h/db").is_ok());
        assert_eq!(Backend::from_url("sqlite://data/x.db").unwrap(), Backend::Sqlite { path: "data/x.db".into() });
        assert_eq!(
            Backend::from_url("sqlite:///var/lib/x.db").unwrap(),
            Backend::Sqlite { path: "/var/lib/x.db".into() }
        );
        assert_eq!(Backend::from_url("/var/lib/x.db").unwrap(), Backend::Sqlite { path: "/var/lib/x.db".into() });
        assert!(matches!(Backend::from_url("mysql://h/db"), Err(UrlError::UnknownScheme(s)) if s == "mysql"));
        assert!(Backend::from_url("sqlite://:memory:").is_err());
    }

    #[test]
    fn passwords_are_hidden_in_redacted_urls() {
        let backend = Backend::from_url("postgres://app:s3cret@db:5432/hostadmin").unwrap();
        assert_eq!(backend.redacted(), "postgres://app:***@db:5432/hostadmin");
        assert!(!backend.redacted().contains("s3cret"));
        assert!(!format!("{backend:?}").contains("s3cret"));
    }
}
