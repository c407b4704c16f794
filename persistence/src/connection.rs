//! Connections: the backend is chosen from the URL scheme, each pooled connection is
//! prepared for it, and writing transactions take their locks up front.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::Pool;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type ConnectionPool = Pool<Manager>;

/// Evaluates `$body` once per backend, with `$conn` rebound to that backend's own
/// connection (`PgConnection` or `SqliteConnection`).
///
/// For the statements every request runs. diesel's `MultiConnection` renders a
/// statement's whole SQL text again on each pass over it (collecting the binds, the
/// prepared-statement cache check), two or three times per execution: on `GET /v1/me`
/// that was a tenth of the server's CPU. On the backend's own connection a statement
/// with a static query id is found in the cache by its type and never rendered again.
/// The body is compiled twice, so the query must be written for any backend (no
/// `MultiBackend` boxes); the inner connection shares the transaction state, so this
/// works inside a transaction too.
///
/// `natively!(conn, DB => ...)` also names the backend type in the body (for a boxed
/// condition made for it).
macro_rules! natively {
    ($conn:ident => $body:expr) => {
        match $conn {
            $crate::connection::DbConnection::Pg($conn) => $body,
            $crate::connection::DbConnection::Sqlite($conn) => $body,
        }
    };
    ($conn:ident, $db:ident => $body:expr) => {
        match $conn {
            $crate::connection::DbConnection::Pg($conn) => {
                type $db = diesel::pg::Pg;
                $body
            }
            $crate::connection::DbConnection::Sqlite($conn) => {
                type $db = diesel::sqlite::Sqlite;
                $body
            }
        }
    };
}
pub(crate) use natively;

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

/// How long the database may take. Every wait on it is bounded, so that a database that
/// is down or frozen (a network partition) makes requests fail fast, not hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (PostgreSQL: libpq's `connect_timeout`, at least 2 s).
    pub connect: Duration,
    /// One statement (PostgreSQL's `statement_timeout` and `lock_timeout`) or the wait for
    /// SQLite's write lock (`busy_timeout`).
    pub statement: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(2), statement: Duration::from_secs(5) }
    }
}

/// Opens one connection of the right concrete type. (`MultiConnection::establish` tries
/// each backend in turn and reports only that none worked, losing the real error.)
pub fn connect(backend: &Backend) -> Result<DbConnection, diesel::ConnectionError> {
    connect_with(backend, Timeouts::default())
}

/// [`connect`] with these timeouts.
pub fn connect_with(backend: &Backend, timeouts: Timeouts) -> Result<DbConnection, diesel::ConnectionError> {
    match backend {
        Backend::Postgres { url } => {
            let mut conn = PgConnection::establish(&with_client_timeouts(url, timeouts))?;
            conn.batch_execute(&postgres_settings(timeouts))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Pg(conn))
        }
        Backend::Sqlite { path } => {
            let mut conn = SqliteConnection::establish(path)?;
            conn.batch_execute(&sqlite_pragmas(timeouts))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// libpq's own timeouts, unless the URL sets them: `connect_timeout` bounds establishing
/// a connection, TCP keepalives and `tcp_user_timeout` notice a peer that went away
/// (a stopped server, a cut network). A frozen server whose kernel still acknowledges
/// is noticed by no socket option: the `Db` layer bounds every operation as well.
fn with_client_timeouts(url: &str, timeouts: Timeouts) -> String {
    let connect_seconds = timeouts.connect.as_secs().max(2);
    let parameters = [
        ("connect_timeout", connect_seconds.to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", "10".to_owned()),
        ("keepalives_interval", "5".to_owned()),
        ("keepalives_count", "3".to_owned()),
        ("tcp_user_timeout", (timeouts.statement.as_millis() * 2).to_string()),
    ];
    let mut url = url.to_owned();
    for (name, value) in parameters {
        if url.contains(&format!("{name}=")) {
            continue;
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("{name}={value}"));
    }
    url
}

/// Applied to every PostgreSQL connection: a statement or a lock wait longer than the
/// timeout is cancelled by the server. (Which statements are planned for their values:
/// crate::planning.)
fn postgres_settings(timeouts: Timeouts) -> String {
    let ms = timeouts.statement.as_millis();
    format!("SET statement_timeout = {ms}; SET lock_timeout = {ms}")
}

/// Applied to every SQLite connection: WAL lets readers run beside the writer, the busy
/// timeout lets a writer wait for the lock (that long) instead of failing at once.
fn sqlite_pragmas(timeouts: Timeouts) -> String {
    format!(
        "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL;",
        timeouts.statement.as_millis()
    )
}

/// Opens connections for the pool, each prepared for its backend.
#[derive(Debug)]
pub struct Manager(Backend, Timeouts);

/// A connection given back to the pool this recently is not tested before its next
/// use. Under load every connection comes back within milliseconds, and testing it
/// (`SELECT 1`) was a second round trip for every request on PostgreSQL; one that sat
/// idle longer (a quiet hour, a database restart meanwhile) is tested as before.
const TESTED_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A pooled connection and when it last came back to the pool. It is used as the
/// `DbConnection` it holds.
pub struct PooledConnection {
    conn: DbConnection,
    returned: Instant,
}

impl Deref for PooledConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = PooledConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PooledConnection, Self::Error> {
        let conn = connect_with(&self.0, self.1).map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(PooledConnection { conn, returned: Instant::now() })
    }

    fn is_valid(&self, pooled: &mut PooledConnection) -> Result<(), Self::Error> {
        if pooled.returned.elapsed() < TESTED_AFTER_IDLE {
            return Ok(());
        }
        pooled.conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut PooledConnection) -> bool {
        pooled.returned = Instant::now();
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(&mut pooled.conn)
    }
}

/// A pool of `size` connections; a request waits at most `wait` for one. The pool is
/// built without waiting for the database: with the database down the server still
/// starts, answers `/readyz` 503 and recovers by itself when it returns.
pub fn pool(backend: &Backend, size: u32, wait: Duration, timeouts: Timeouts) -> ConnectionPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(wait)
        .build_unchecked(Manager(backend.clone(), timeouts))
}

/// After a statement failed: when the connection no longer answers (the server went
/// away while it was in use), marks it broken so that the pool closes it instead of
/// handing it to the next request.
pub fn discard_if_lost(conn: &mut DbConnection) {
    if conn.batch_execute("SELECT 1").is_err() {
        type Manager = <DbConnection as Connection>::TransactionManager;
        Manager::transaction_manager_status_mut(conn).set_in_error();
    }
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
    fn postgres_urls_get_client_timeouts_unless_they_set_them() {
        let timeouts = Timeouts { connect: Duration::from_millis(500), statement: Duration::from_secs(5) };
        let url = with_client_timeouts("postgres://u@h/db", timeouts);
        assert!(url.starts_with("postgres://u@h/db?connect_timeout=2&keepalives=1&"), "{url}");
        assert!(url.contains("tcp_user_timeout=10000"), "{url}");
        let own = with_client_timeouts("postgres://u@h/db?sslmode=require&connect_timeout=7", timeouts);
        assert!(own.contains("connect_timeout=7") && !own.contains("connect_timeout=2"), "{own}");
        assert!(own.starts_with("postgres://u@h/db?sslmode=require&connect_timeout=7&keepalives=1"), "{own}");
    }

    #[test]
    fn passwords_are_hidden_in_redacted_urls() {
        let backend = Backend::from_url("postgres://app:s3cret@db:5432/hostadmin").unwrap();
        assert_eq!(backend.redacted(), "postgres://app:***@db:5432/hostadmin");
        assert!(!backend.redacted().contains("s3cret"));
        assert!(!format!("{backend:?}").contains("s3cret"));
    }
}
