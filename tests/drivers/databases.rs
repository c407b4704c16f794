//! The database-server driver against the machine's MariaDB and PostgreSQL: the users
//! it makes log in with their passwords, reach their own database only, follow password
//! changes, and are gone with their databases after a drop.

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use mysql_async::prelude::Queryable as _;

use hostadmin::drivers::database_servers::DatabaseServers;
use hostadmin::drivers::{DatabaseDriver as _, DatabaseSpec, DriverError, Password};
use hostadmin_domain::databases::{DatabaseEngine, DatabaseName, DatabaseUser};

use crate::servers::{mysql_admin_url, postgres_admin_url, skip};

/// A service number of this test run's own, so parallel runs never share names.
fn service_number() -> i64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    i64::from(std::process::id() % 1000) * 1_000_000 + i64::from(nanos % 1_000_000) + 1
}

fn spec(engine: DatabaseEngine, number: i64, given: &str) -> DatabaseSpec {
    DatabaseSpec {
        engine,
        name: DatabaseName::new(number, given).unwrap().as_str().to_owned(),
        user: DatabaseUser::new(number, &format!("{given}_u")).unwrap().as_str().to_owned(),
    }
}

/// A password with every character a quoting mistake would trip on.
const PASSWORD: &str = "it's a \"quoted\" `tick` \\ back; -- slash ü";
const NEW_PASSWORD: &str = "second' OR '1'='1";

async fn mysql_login(user: &str, password: &str, database: &str) -> Result<mysql_async::Conn, mysql_async::Error> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .prefer_socket(false)
        .user(Some(user))
        .pass(Some(password))
        .db_name(Some(database));
    mysql_async::Conn::new(opts).await
}

async fn mysql_admin(url: &str) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(url).unwrap()).prefer_socket(false);
    mysql_async::Conn::new(opts).await.unwrap()
}

#[tokio::test]
async fn mysql_databases_belong_to_their_user_alone() {
    let Some(url) = mysql_admin_url() else { return };
    let driver = DatabaseServers::new(Some(&url), None).unwrap();
    driver.check(DatabaseEngine::Mysql).await.unwrap();
    let number = service_number();
    let shop = spec(DatabaseEngine::Mysql, number, "shop");
    let other = spec(DatabaseEngine::Mysql, number + 1, "blog");
    // A database the `_` of the grant would match as a wildcard if it were not escaped.
    let lookalike = format!("{number}xshop");
    let mut admin = mysql_admin(&url).await;
    admin.query_drop(format!("CREATE DATABASE `{lookalike}`")).await.unwrap();

    driver.create(&shop, &Password::new(PASSWORD)).await.unwrap();
    driver.create(&shop, &Password::new(PASSWORD)).await.unwrap(); // idempotent
    driver.create(&other, &Password::new("other password")).await.unwrap();

    let mut conn = mysql_login(&shop.user, PASSWORD, &shop.name).await.unwrap();
    conn.query_drop("CREATE TABLE orders (id INT PRIMARY KEY, total_cents BIGINT)").await.unwrap();
    conn.query_drop("INSERT INTO orders VALUES (1, 1999)").await.unwrap();
    let total: Option<i64> = conn.query_first("SELECT total_cents FROM orders").await.unwrap();
    assert_eq!(total, Some(1999));
    let visible: Vec<String> = conn.query("SHOW DATABASES").await.unwrap();
    assert!(!visible.contains(&other.name) && !visible.contains(&lookalike), "sees only its own: {visible:?}");
    for foreign in [&other.name, &lookalike] {
        let refused = conn.query_drop(format!("CREATE TABLE `{foreign}`.t (id INT)")).await;
        assert!(refused.is_err(), "{} reached {foreign}", shop.user);
    }
    conn.disconnect().await.unwrap();
    assert!(mysql_login(&shop.user, PASSWORD, &other.name).await.is_err());

    let inventory = driver.inventory(DatabaseEngine::Mysql).await.unwrap();
    assert!(inventory.databases.contains(&shop.name) && !inventory.databases.contains(&lookalike));
    assert!(inventory.users.contains(&(shop.user.clone(), vec![shop.name.clone()])), "{inventory:?}");

    driver.set_password(&shop, &Password::new(NEW_PASSWORD)).await.unwrap();
    assert!(mysql_login(&shop.user, PASSWORD, &shop.name).await.is_err(), "the old password is refused");
    mysql_login(&shop.user, NEW_PASSWORD, &shop.name).await.unwrap().disconnect().await.unwrap();

    for spec in [&shop, &other] {
        driver.drop_database(spec).await.unwrap();
        driver.drop_database(spec).await.unwrap(); // gone already is a success
    }
    assert!(mysql_login(&shop.user, NEW_PASSWORD, &shop.name).await.is_err(), "the user is gone");
    let databases: Vec<String> = admin.query("SHOW DATABASES").await.unwrap();
    assert!(!databases.contains(&shop.name), "the database is gone");
    let inventory = driver.inventory(DatabaseEngine::Mysql).await.unwrap();
    assert!(!inventory.users.iter().any(|(user, _)| *user == shop.user));
    admin.query_drop(format!("DROP DATABASE `{lookalike}`")).await.unwrap();
    admin.disconnect().await.unwrap();
}

/// The group whose members must give their password on 127.0.0.1 (.ci/run puts
/// `host all +hostadmin_password_login 127.0.0.1/32 scram-sha-256` first in pg_hba.conf;
/// the machine's own lines trust every local login).
const PASSWORD_GROUP: &str = "hostadmin_password_login";

fn pg_url(admin: &str, user: &str, password: &str, database: &str) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let host = admin.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("127.0.0.1:5432");
    format!("postgres://{}:{}@{host}/{}", encode(user), encode(password), encode(database))
}

fn pg_admin(url: &str) -> PgConnection {
    PgConnection::establish(url).unwrap()
}

fn run(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Whether a wrong password is refused here, so password checks mean something.
fn passwords_are_checked(admin_url: &str, user: &str, database: &str) -> bool {
    PgConnection::establish(&pg_url(admin_url, user, "certainly wrong", database)).is_err()
}

#[tokio::test]
async fn postgres_databases_belong_to_their_user_alone() {
    let Some(url) = postgres_admin_url() else { return };
    let driver = DatabaseServers::new(None, Some(&url)).unwrap();
    driver.check(DatabaseEngine::Postgresql).await.unwrap();
    let number = service_number();
    let shop = spec(DatabaseEngine::Postgresql, number, "shop");
    let other = spec(DatabaseEngine::Postgresql, number + 1, "blog");
    let mut admin = pg_admin(&url);
    run(
        &mut admin,
        &format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_GROUP}') \
             THEN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; END IF; END $$"
        ),
    );

    driver.create(&shop, &Password::new(PASSWORD)).await.unwrap();
    driver.create(&shop, &Password::new(PASSWORD)).await.unwrap(); // idempotent
    driver.create(&other, &Password::new("other password")).await.unwrap();
    run(&mut admin, &format!("GRANT {PASSWORD_GROUP} TO \"{}\"", shop.user));

    let mut conn = PgConnection::establish(&pg_url(&url, &shop.user, PASSWORD, &shop.name)).unwrap();
    run(&mut conn, "CREATE TABLE orders (id INT PRIMARY KEY, total_cents BIGINT)");
    run(&mut conn, "INSERT INTO orders VALUES (1, 1999)");
    drop(conn);
    let foreign = PgConnection::establish(&pg_url(&url, &shop.user, PASSWORD, &other.name));
    assert!(foreign.is_err(), "{} reached {}", shop.user, other.name);

    let inventory = driver.inventory(DatabaseEngine::Postgresql).await.unwrap();
    assert!(inventory.databases.contains(&shop.name));
    assert!(inventory.users.contains(&(shop.user.clone(), vec![shop.name.clone()])), "{inventory:?}");

    driver.set_password(&shop, &Password::new(NEW_PASSWORD)).await.unwrap();
    if passwords_are_checked(&url, &shop.user, &shop.name) {
        let old = PgConnection::establish(&pg_url(&url, &shop.user, PASSWORD, &shop.name));
        assert!(old.is_err(), "the old password is refused");
    } else {
        let _: Option<()> = skip(&format!(
            "PostgreSQL trusts every login on 127.0.0.1, so refused passwords cannot be seen; \
             .ci/run puts `host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256` first in pg_hba.conf"
        ));
    }
    PgConnection::establish(&pg_url(&url, &shop.user, NEW_PASSWORD, &shop.name)).unwrap();

    for spec in [&shop, &other] {
        driver.drop_database(spec).await.unwrap();
        driver.drop_database(spec).await.unwrap(); // gone already is a success
    }
    assert!(PgConnection::establish(&pg_url(&url, &shop.user, NEW_PASSWORD, &shop.name)).is_err());
    let inventory = driver.inventory(DatabaseEngine::Postgresql).await.unwrap();
    assert!(!inventory.databases.contains(&shop.name), "the database is gone");
    assert!(!inventory.users.iter().any(|(user, _)| *user == shop.user), "the user is gone");
}

#[tokio::test]
async fn hostile_names_never_reach_a_server_and_unconfigured_engines_refuse() {
    // No server is needed: the names are refused before any connection. The URLs point
    // at a port nothing listens on, so a statement would show as unreachable instead.
    let driver = DatabaseServers::new(Some("mysql://root@127.0.0.1:9"), None).unwrap();
    for name in ["1042_shop`; DROP DATABASE mysql; --", "1042_x' OR '1'='1", "shop", "1042_Shop"] {
        let spec = DatabaseSpec { engine: DatabaseEngine::Mysql, name: name.into(), user: "1042_u".into() };
        let error = driver.create(&spec, &Password::new("pw")).await.unwrap_err();
        assert!(matches!(error, DriverError::Refused(_)), "{name:?}: {error:?}");
        let error = driver.drop_database(&spec).await.unwrap_err();
        assert!(matches!(error, DriverError::Refused(_)), "{name:?}: {error:?}");
    }
    let fine = DatabaseSpec { engine: DatabaseEngine::Mysql, name: "1042_shop".into(), user: "1042_u".into() };
    let unreachable = driver.create(&fine, &Password::new("pw")).await.unwrap_err();
    assert!(unreachable.is_retryable(), "{unreachable:?}");
    let postgres = DatabaseSpec { engine: DatabaseEngine::Postgresql, ..fine };
    assert!(matches!(driver.create(&postgres, &Password::new("pw")).await, Err(DriverError::Refused(_))));
}
