//! Customers' databases on real servers: MariaDB/MySQL through `mysql_async`, PostgreSQL
//! through diesel's libpq connection (run on a blocking thread), each with an admin URL.
//!
//! Names reach statements only after two guards: they must be stored names
//! (`<number>_<name>`, `hostadmin_domain::databases`: `a-z 0-9 _`), and they are quoted
//! all the same (backticks doubled for MySQL, `"` doubled for PostgreSQL). Passwords go
//! as literals quoted by the client library (MySQL; `CREATE USER` takes no parameters)
//! or as a SCRAM-SHA-256 verifier made here (PostgreSQL), so the clear password never
//! reaches PostgreSQL's statement log. The admin URLs' passwords are redacted from every
//! error.
//!
//! A database's user is `'<user>'@'%'` on MySQL (reachable from any host the server
//! lets in: its `bind-address` and firewall decide) and a `LOGIN` role on PostgreSQL,
//! owner of its database; `CONNECT` on the database is revoked from `PUBLIC`, so other
//! customers' users cannot reach it.

use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection as _, PgConnection, QueryableByName, RunQueryDsl as _};
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use mysql_async::prelude::Queryable as _;

use hostadmin_domain::databases::{DatabaseEngine, DatabaseName, DatabaseUser};

use super::http_client::ClientError;
use super::{DatabaseDriver, DatabaseInventory, DatabaseSpec, DriverError, Password};

/// How long connecting to a database server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one operation (a few statements) may take.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The database servers of customers' databases, one admin connection URL per engine.
pub struct DatabaseServers {
    mysql: Option<MysqlAdmin>,
    postgres: Option<PostgresAdmin>,
}

impl std::fmt::Debug for DatabaseServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseServers")
            .field("mysql", &self.mysql.is_some())
            .field("postgres", &self.postgres.is_some())
            .finish()
    }
}

impl DatabaseServers {
    /// `mysql://user:password@host:port` and `postgres://user:password@host:port/db`
    /// (libpq's URL, so `?sslmode=require` and the like work).
    pub fn new(mysql_admin_url: Option<&str>, postgres_admin_url: Option<&str>) -> Result<Self, ClientError> {
        Ok(Self {
            mysql: mysql_admin_url.map(MysqlAdmin::new).transpose()?,
            postgres: postgres_admin_url.map(PostgresAdmin::new).transpose()?,
        })
    }

    fn mysql(&self) -> Result<&MysqlAdmin, DriverError> {
        self.mysql
            .as_ref()
            .ok_or_else(|| DriverError::Refused("no MySQL server is configured (mysql_admin_url)".into()))
    }

    fn postgres(&self) -> Result<&PostgresAdmin, DriverError> {
        self.postgres.as_ref().ok_or_else(|| {
            DriverError::Refused("no PostgreSQL server is configured (hosting_postgres_admin_url)".into())
        })
    }

    async fn create_database(&self, spec: &DatabaseSpec, password: &Password) -> Result<(), DriverError> {
        let (name, user) = checked(spec)?;
        check_password(password)?;
        match spec.engine {
            DatabaseEngine::Mysql => self.mysql()?.create(&name, &user, password).await,
            DatabaseEngine::Postgresql => self.postgres()?.create(name, user, password).await,
        }
    }

    async fn change_password(&self, spec: &DatabaseSpec, password: &Password) -> Result<(), DriverError> {
        let (_, user) = checked(spec)?;
        check_password(password)?;
        match spec.engine {
            DatabaseEngine::Mysql => self.mysql()?.set_password(&user, password).await,
            DatabaseEngine::Postgresql => self.postgres()?.set_password(user, password).await,
        }
    }

    async fn drop_both(&self, spec: &DatabaseSpec) -> Result<(), DriverError> {
        let (name, user) = checked(spec)?;
        match spec.engine {
            DatabaseEngine::Mysql => self.mysql()?.drop_both(&name, &user).await,
            DatabaseEngine::Postgresql => self.postgres()?.drop_both(name, user).await,
        }
    }

    async fn list(&self, engine: DatabaseEngine) -> Result<DatabaseInventory, DriverError> {
        let mut inventory = match engine {
            DatabaseEngine::Mysql => self.mysql()?.inventory().await?,
            DatabaseEngine::Postgresql => self.postgres()?.inventory().await?,
        };
        inventory.databases.sort();
        inventory.users.sort();
        for (_, grants) in &mut inventory.users {
            grants.sort();
        }
        Ok(inventory)
    }

    async fn ping(&self, engine: DatabaseEngine) -> Result<(), DriverError> {
        match engine {
            DatabaseEngine::Mysql => self.mysql()?.ping().await,
            DatabaseEngine::Postgresql => self.postgres()?.ping().await,
        }
    }
}

impl DatabaseDriver for DatabaseServers {
    fn name(&self) -> &'static str {
        "servers"
    }

    fn engines(&self) -> Vec<DatabaseEngine> {
        let mysql = self.mysql.is_some().then_some(DatabaseEngine::Mysql);
        let postgres = self.postgres.is_some().then_some(DatabaseEngine::Postgresql);
        mysql.into_iter().chain(postgres).collect()
    }

    fn check(&self, engine: DatabaseEngine) -> BoxFuture<'_, Result<(), DriverError>> {
        self.ping(engine).boxed()
    }

    fn create<'a>(&'a self, spec: &'a DatabaseSpec, password: &'a Password) -> BoxFuture<'a, Result<(), DriverError>> {
        self.create_database(spec, password).boxed()
    }

    fn set_password<'a>(
        &'a self,
        spec: &'a DatabaseSpec,
        password: &'a Password,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        self.change_password(spec, password).boxed()
    }

    fn drop_database<'a>(&'a self, spec: &'a DatabaseSpec) -> BoxFuture<'a, Result<(), DriverError>> {
        self.drop_both(spec).boxed()
    }

    fn inventory(&self, engine: DatabaseEngine) -> BoxFuture<'_, Result<DatabaseInventory, DriverError>> {
        self.list(engine).boxed()
    }
}

/// Whether `text` is a stored name (`<number>_<given>`, as `make` builds them).
fn is_stored<T>(text: &str, make: impl Fn(i64, &str) -> Result<T, hostadmin_domain::validation::Invalid>) -> bool {
    let Some((number, given)) = text.split_once('_') else { return false };
    let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0');
    digits && number.parse::<i64>().is_ok_and(|number| make(number, given).is_ok())
}

pub fn is_stored_database(text: &str) -> bool {
    is_stored(text, DatabaseName::new)
}

pub fn is_stored_user(text: &str) -> bool {
    is_stored(text, DatabaseUser::new)
}

/// The spec's names, refused unless both are stored names.
fn checked(spec: &DatabaseSpec) -> Result<(String, String), DriverError> {
    if !is_stored_database(&spec.name) {
        return Err(DriverError::Refused(format!("{:?} is not a stored database name", spec.name)));
    }
    if !is_stored_user(&spec.user) {
        return Err(DriverError::Refused(format!("{:?} is not a stored database user name", spec.user)));
    }
    Ok((spec.name.clone(), spec.user.clone()))
}

fn check_password(password: &Password) -> Result<(), DriverError> {
    let clear = password.expose();
    if clear.is_empty() || clear.chars().any(char::is_control) {
        return Err(DriverError::Refused("a database password is non-empty text without control characters".into()));
    }
    Ok(())
}

/// A MySQL identifier in backticks, backticks inside doubled.
pub fn mysql_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A database name in a `GRANT ... ON <db>.*`, where `_` and `%` are wildcards unless
/// escaped: `1042_shop` must not also grant `1042xshop`.
pub fn mysql_grant_database(name: &str) -> String {
    mysql_identifier(&name.replace('\\', "\\\\").replace('_', "\\_").replace('%', "\\%"))
}

/// A MySQL string literal, quoted by the client library for the session's
/// `NO_BACKSLASH_ESCAPES` mode.
pub fn mysql_string(text: &str, no_backslash_escapes: bool) -> String {
    mysql_async::Value::from(text).as_sql(no_backslash_escapes)
}

/// A PostgreSQL identifier in double quotes, double quotes inside doubled.
pub fn pg_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL string literal (`standard_conforming_strings`, on since 9.1): quotes
/// doubled, and an `E''` literal when a backslash must stay one.
pub fn pg_string(text: &str) -> String {
    if text.contains('\\') {
        format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

/// The admin connection to MariaDB/MySQL.
struct MysqlAdmin {
    opts: mysql_async::Opts,
    secret: String,
}

impl MysqlAdmin {
    fn new(url: &str) -> Result<Self, ClientError> {
        let opts =
            mysql_async::Opts::from_url(url).map_err(|_| ClientError::new("mysql_admin_url is not a MySQL URL"))?;
        let secret = opts.pass().unwrap_or_default().to_owned();
        // Stay on TCP as given: the driver would otherwise move to the server's socket,
        // where the same user may authenticate differently.
        let opts = mysql_async::OptsBuilder::from_opts(opts).prefer_socket(false).into();
        Ok(Self { opts, secret })
    }

    fn error(&self, error: mysql_async::Error) -> DriverError {
        let detail = super::http_client::with_causes(&error);
        let detail = if self.secret.is_empty() { detail } else { detail.replace(&self.secret, "***") };
        match &error {
            mysql_async::Error::Server(server) => match server.code {
                // Too many connections, lock wait timeout, deadlock, server shutting down.
                1040 | 1205 | 1213 | 1053 => DriverError::Unavailable(format!("MySQL: {detail}")),
                _ => DriverError::Refused(format!("MySQL: {detail}")),
            },
            mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => {
                DriverError::Unreachable(format!("MySQL: {detail}"))
            }
            _ => DriverError::Unavailable(format!("MySQL: {detail}")),
        }
    }

    async fn connect(&self) -> Result<mysql_async::Conn, DriverError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(self.opts.clone())).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(error)) => Err(self.error(error)),
            Err(_) => Err(DriverError::Timeout("MySQL: connecting took too long".into())),
        }
    }

    /// Runs `work` on a fresh admin connection, within [`OPERATION_TIMEOUT`].
    async fn with_conn<T>(
        &self,
        work: impl for<'c> FnOnce(&'c mut mysql_async::Conn) -> BoxFuture<'c, Result<T, mysql_async::Error>>,
    ) -> Result<T, DriverError> {
        let mut conn = self.connect().await?;
        let outcome = tokio::time::timeout(OPERATION_TIMEOUT, work(&mut conn)).await;
        let _ = conn.disconnect().await;
        match outcome {
            Ok(result) => result.map_err(|error| self.error(error)),
            Err(_) => Err(DriverError::Timeout("MySQL: the operation took too long".into())),
        }
    }

    async fn ping(&self) -> Result<(), DriverError> {
        self.with_conn(|conn| conn.ping().boxed()).await
    }

    async fn create(&self, name: &str, user: &str, password: &Password) -> Result<(), DriverError> {
        let (name, user, password) = (name.to_owned(), user.to_owned(), password.clone());
        self.with_conn(move |conn| {
            async move {
                let literal = |text: &str, mode: bool| mysql_string(text, mode);
                let mode = no_backslash_escapes(conn).await?;
                let account = format!("{}@'%'", literal(&user, mode));
                let secret = literal(password.expose(), mode);
                conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", mysql_identifier(&name))).await?;
                conn.query_drop(format!("CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {secret}")).await?;
                conn.query_drop(format!("ALTER USER {account} IDENTIFIED BY {secret}")).await?;
                conn.query_drop(format!("GRANT ALL PRIVILEGES ON {}.* TO {account}", mysql_grant_database(&name))).await
            }
            .boxed()
        })
        .await
    }

    async fn set_password(&self, user: &str, password: &Password) -> Result<(), DriverError> {
        let (user, password) = (user.to_owned(), password.clone());
        self.with_conn(move |conn| {
            async move {
                let mode = no_backslash_escapes(conn).await?;
                let account = format!("{}@'%'", mysql_string(&user, mode));
                conn.query_drop(format!("ALTER USER {account} IDENTIFIED BY {}", mysql_string(password.expose(), mode)))
                    .await
            }
            .boxed()
        })
        .await
    }

    async fn drop_both(&self, name: &str, user: &str) -> Result<(), DriverError> {
        let (name, user) = (name.to_owned(), user.to_owned());
        self.with_conn(move |conn| {
            async move {
                let mode = no_backslash_escapes(conn).await?;
                conn.query_drop(format!("DROP DATABASE IF EXISTS {}", mysql_identifier(&name))).await?;
                conn.query_drop(format!("DROP USER IF EXISTS {}@'%'", mysql_string(&user, mode))).await
            }
            .boxed()
        })
        .await
    }

    async fn inventory(&self) -> Result<DatabaseInventory, DriverError> {
        let (databases, users, grants) = self
            .with_conn(|conn| {
                async move {
                    let databases: Vec<String> =
                        conn.query("SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA").await?;
                    let users: Vec<String> =
                        conn.query("SELECT CAST(User AS CHAR) FROM mysql.user WHERE Host = '%'").await?;
                    let grants: Vec<(String, String)> = conn
                        .query("SELECT CAST(Db AS CHAR), CAST(User AS CHAR) FROM mysql.db WHERE Host = '%'")
                        .await?;
                    Ok((databases, users, grants))
                }
                .boxed()
            })
            .await?;
        let grants: Vec<(String, String)> = grants
            .into_iter()
            .map(|(database, user)| (database.replace("\\_", "_").replace("\\%", "%"), user))
            .collect();
        Ok(DatabaseInventory {
            databases: databases.into_iter().filter(|name| is_stored_database(name)).collect(),
            users: users
                .into_iter()
                .filter(|user| is_stored_user(user))
                .map(|user| {
                    let granted =
                        grants.iter().filter(|(_, u)| *u == user).map(|(database, _)| database.clone()).collect();
                    (user, granted)
                })
                .collect(),
        })
    }
}

/// Whether the session reads backslashes in literals as plain characters.
async fn no_backslash_escapes(conn: &mut mysql_async::Conn) -> Result<bool, mysql_async::Error> {
    let mode: Option<String> = conn.query_first("SELECT CAST(@@SESSION.sql_mode AS CHAR)").await?;
    Ok(mode.is_some_and(|mode| mode.split(',').any(|flag| flag.eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))))
}

/// The admin connection to PostgreSQL: libpq through diesel, on a blocking thread.
struct PostgresAdmin {
    url: Password,
    secret: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Grant {
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    database: String,
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

impl PostgresAdmin {
    fn new(url: &str) -> Result<Self, ClientError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|_| ClientError::new("hosting_postgres_admin_url is not a URL"))?;
        let secret = parsed.password().unwrap_or_default().to_owned();
        // libpq waits for ever by default.
        let url = if url.contains("connect_timeout=") {
            url.to_owned()
        } else {
            let separator = if parsed.query().is_some() { '&' } else { '?' };
            format!("{url}{separator}connect_timeout={}", CONNECT_TIMEOUT.as_secs())
        };
        Ok(Self { url: Password::new(url), secret })
    }

    fn redact(&self, text: &str) -> String {
        if self.secret.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.secret, "***")
        }
    }

    /// Runs `work` on a fresh admin connection on a blocking thread.
    async fn with_conn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> Result<T, diesel::result::Error> + Send + 'static,
    ) -> Result<T, DriverError> {
        let url = self.url.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(url.expose()).map_err(Err)?;
            work(&mut conn).map_err(Ok)
        });
        match tokio::time::timeout(OPERATION_TIMEOUT, task).await {
            Err(_) => Err(DriverError::Timeout("PostgreSQL: the operation took too long".into())),
            Ok(Err(join)) => Err(DriverError::Unavailable(format!("PostgreSQL: the task failed: {join}"))),
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(Err(connection)))) => {
                Err(DriverError::Unreachable(format!("PostgreSQL: {}", self.redact(&connection.to_string()))))
            }
            Ok(Ok(Err(Ok(error)))) => Err(self.statement_error(&error)),
        }
    }

    fn statement_error(&self, error: &diesel::result::Error) -> DriverError {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let detail = format!("PostgreSQL: {}", self.redact(&error.to_string()));
        match error {
            Error::DatabaseError(
                Kind::SerializationFailure | Kind::ClosedConnection | Kind::ReadOnlyTransaction,
                _,
            ) => DriverError::Unavailable(detail),
            Error::DatabaseError(..) => DriverError::Refused(detail),
            _ => DriverError::Unavailable(detail),
        }
    }

    async fn ping(&self) -> Result<(), DriverError> {
        self.with_conn(|conn| diesel::sql_query("SELECT 1").execute(conn).map(drop)).await
    }

    async fn create(&self, name: String, user: String, password: &Password) -> Result<(), DriverError> {
        let verifier = pg_string(&postgres_protocol::password::scram_sha_256(password.expose().as_bytes()));
        self.with_conn(move |conn| {
            let role = pg_identifier(&user);
            let database = pg_identifier(&name);
            if exists(conn, "SELECT count(*) AS n FROM pg_roles WHERE rolname = $1", &user)? {
                diesel::sql_query(format!("ALTER ROLE {role} LOGIN PASSWORD {verifier}")).execute(conn)?;
            } else {
                diesel::sql_query(format!("CREATE ROLE {role} LOGIN PASSWORD {verifier}")).execute(conn)?;
            }
            if exists(conn, "SELECT count(*) AS n FROM pg_database WHERE datname = $1", &name)? {
                diesel::sql_query(format!("ALTER DATABASE {database} OWNER TO {role}")).execute(conn)?;
            } else {
                diesel::sql_query(format!("CREATE DATABASE {database} OWNER {role}")).execute(conn)?;
            }
            diesel::sql_query(format!("REVOKE ALL ON DATABASE {database} FROM PUBLIC")).execute(conn)?;
            diesel::sql_query(format!("GRANT ALL ON DATABASE {database} TO {role}")).execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn set_password(&self, user: String, password: &Password) -> Result<(), DriverError> {
        let verifier = pg_string(&postgres_protocol::password::scram_sha_256(password.expose().as_bytes()));
        self.with_conn(move |conn| {
            diesel::sql_query(format!("ALTER ROLE {} PASSWORD {verifier}", pg_identifier(&user))).execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn drop_both(&self, name: String, user: String) -> Result<(), DriverError> {
        self.with_conn(move |conn| {
            // FORCE ends the customer's open sessions (PostgreSQL 13+).
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg_identifier(&name)))
                .execute(conn)?;
            diesel::sql_query(format!("DROP ROLE IF EXISTS {}", pg_identifier(&user))).execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn inventory(&self) -> Result<DatabaseInventory, DriverError> {
        let (databases, roles, grants) = self
            .with_conn(|conn| {
                let databases: Vec<NameRow> =
                    diesel::sql_query("SELECT datname::text AS name FROM pg_database WHERE NOT datistemplate")
                        .load(conn)?;
                let roles: Vec<NameRow> =
                    diesel::sql_query("SELECT rolname::text AS name FROM pg_roles WHERE rolcanlogin").load(conn)?;
                let grants: Vec<Grant> = diesel::sql_query(
                    "SELECT r.rolname::text AS role, d.datname::text AS database \
                     FROM pg_roles r CROSS JOIN pg_database d \
                     WHERE r.rolcanlogin AND NOT r.rolsuper AND NOT d.datistemplate \
                       AND d.datname ~ '^[1-9][0-9]*_' AND has_database_privilege(r.oid, d.oid, 'CONNECT')",
                )
                .load(conn)?;
                Ok((databases, roles, grants))
            })
            .await?;
        Ok(DatabaseInventory {
            databases: databases.into_iter().map(|row| row.name).filter(|name| is_stored_database(name)).collect(),
            users: roles
                .into_iter()
                .map(|row| row.name)
                .filter(|user| is_stored_user(user))
                .map(|user| {
                    let granted = grants
                        .iter()
                        .filter(|grant| grant.role == user && is_stored_database(&grant.database))
                        .map(|grant| grant.database.clone())
                        .collect();
                    (user, granted)
                })
                .collect(),
        })
    }
}

fn exists(conn: &mut PgConnection, query: &str, value: &str) -> Result<bool, diesel::result::Error> {
    let count: Count = diesel::sql_query(query).bind::<Text, _>(value).get_result(conn)?;
    Ok(count.n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stored_names_pass() {
        for good in ["1042_shop", "7_a", "1_shop_2"] {
            assert!(is_stored_database(good), "{good}");
            assert!(is_stored_user(good), "{good}");
        }
        let hostile = [
            "",
            "shop",
            "_shop",
            "1042",
            "1042_",
            "01042_shop",
            "1042_Shop",
            "1042_shop`; DROP DATABASE x; --",
            "1042_sh\"op",
            "1042_sh'op",
            "1042_sh\\op",
            "1042_sh%op",
            "1042_shöp",
            "1042_shop\0",
            "-1_shop",
            "1042_a_very_long_name_beyond_32_chars",
        ];
        for bad in hostile {
            assert!(!is_stored_database(bad), "{bad:?}");
            let spec = DatabaseSpec { engine: DatabaseEngine::Mysql, name: bad.into(), user: "1042_u".into() };
            assert!(matches!(checked(&spec), Err(DriverError::Refused(_))), "{bad:?}");
            let spec = DatabaseSpec { engine: DatabaseEngine::Postgresql, name: "1042_d".into(), user: bad.into() };
            assert!(matches!(checked(&spec), Err(DriverError::Refused(_))), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_and_literals_are_quoted_whatever_they_hold() {
        assert_eq!(mysql_identifier("1042_shop"), "`1042_shop`");
        assert_eq!(mysql_identifier("a`b"), "`a``b`");
        assert_eq!(mysql_grant_database("1042_shop"), "`1042\\_shop`");
        assert_eq!(mysql_grant_database("a%b`c"), "`a\\%b``c`");
        assert_eq!(mysql_string("pa'ss\\word", false), "'pa\\'ss\\\\word'");
        assert_eq!(mysql_string("pa'ss\\word", true), "'pa''ss\\word'");
        assert_eq!(pg_identifier("1042_shop"), "\"1042_shop\"");
        assert_eq!(pg_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(pg_string("it's"), "'it''s'");
        assert_eq!(pg_string("a\\'b"), "E'a\\\\''b'");
    }

    #[test]
    fn passwords_are_text_without_controls() {
        assert!(check_password(&Password::new("Correct horse 'battery' `staple` \\ \" ü")).is_ok());
        for bad in ["", "a\0b", "line\nbreak"] {
            assert!(check_password(&Password::new(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn admin_passwords_never_reach_errors() {
        let servers = DatabaseServers::new(
            Some("mysql://root:sekr1t@127.0.0.1:3306"),
            Some("postgres://postgres:pgsekr1t@127.0.0.1:5432/postgres"),
        )
        .unwrap();
        assert!(!format!("{servers:?}").contains("sekr1t"));
        let postgres = servers.postgres().unwrap();
        assert!(postgres.url.expose().ends_with("/postgres?connect_timeout=10"));
        assert_eq!(postgres.redact("failed for postgres:pgsekr1t@h"), "failed for postgres:***@h");
        let mysql = servers.mysql().unwrap();
        let error = mysql.error(mysql_async::Error::Server(mysql_async::ServerError {
            code: 1045,
            message: "Access denied (sekr1t)".into(),
            state: "28000".into(),
        }));
        assert!(matches!(&error, DriverError::Refused(detail) if !detail.contains("sekr1t")), "{error:?}");
        let busy = mysql.error(mysql_async::Error::Server(mysql_async::ServerError {
            code: 1040,
            message: "Too many connections".into(),
            state: "08004".into(),
        }));
        assert!(busy.is_retryable());
        assert!(DatabaseServers::new(Some("postgres://x"), None).is_err());
    }
}
