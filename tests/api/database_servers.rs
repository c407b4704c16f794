//! Databases on the real servers (issue 16): the server binary with
//! `HOSTADMIN_DATABASE_DRIVER=servers` against the machine's MariaDB and PostgreSQL. A
//! database made through the API is one its user logs in to with the given password and
//! creates a table in; a password change is followed (the old one refused); a deleted
//! database's user can no longer log in.

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use mysql_async::prelude::Queryable as _;

use crate::support::*;

use crate::servers::{mysql_admin_url, postgres_admin_url, unique};

const FIRST: &str = "it's a \"quoted\" `tick` \\ back; slash";
const SECOND: &str = "second' OR '1'='1 long enough";

fn start(backend: TestBackend, mysql: &str, postgres: &str) -> Option<Server> {
    let env = [
        ("HOSTADMIN_DATABASE_DRIVER", "servers"),
        ("HOSTADMIN_MYSQL_ADMIN_URL", mysql),
        ("HOSTADMIN_HOSTING_POSTGRES_ADMIN_URL", postgres),
        ("HOSTADMIN_WORKER_INTERVAL_MS", "100"),
    ];
    Server::start(backend, &env)
}

/// Logs in as `user` and creates a table: whether both worked.
fn mysql_works(user: &str, password: &str, database: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(3306)
            .prefer_socket(false)
            .user(Some(user))
            .pass(Some(password))
            .db_name(Some(database));
        let Ok(mut conn) = mysql_async::Conn::new(opts).await else { return false };
        let made = conn.query_drop("CREATE TABLE IF NOT EXISTS t (id INT)").await.is_ok();
        let _ = conn.disconnect().await;
        made
    })
}

fn pg_url(admin: &str, user: &str, password: &str, database: &str) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    let host = admin.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("127.0.0.1:5432");
    format!("postgres://{}:{}@{host}/{}", encode(user), encode(password), encode(database))
}

fn postgres_works(admin: &str, user: &str, password: &str, database: &str) -> bool {
    let Ok(mut conn) = PgConnection::establish(&pg_url(admin, user, password, database)) else { return false };
    diesel::sql_query("CREATE TABLE IF NOT EXISTS t (id INT)").execute(&mut conn).is_ok()
}

fn status(server: &Server, account: &Account, path: &str) -> String {
    let response = server.get(path, Some(&account.token));
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["provisioning"]["status"].as_str().unwrap_or_default().to_owned()
}

fn databases_live_on_their_servers(backend: TestBackend) {
    let (Some(mysql), Some(postgres)) = (mysql_admin_url(), postgres_admin_url()) else { return };
    let Some(server) = start(backend, &mysql, &postgres) else { return };
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.post(
        "/v1/plans",
        Some(&reseller.token),
        json!({"name": "Web DB", "service_kind": "web_hosting", "quotas": {"databases": 2}, "public": true,
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
    );
    assert_eq!(plan.status, 201, "{}", plan.body);
    let service = server.sell(&reseller, &customer, &plan.str("id"));

    for engine in ["mysql", "postgresql"] {
        let works = |user: &str, password: &str, database: &str| match engine {
            "mysql" => mysql_works(user, password, database),
            _ => postgres_works(&postgres, user, password, database),
        };
        let given = unique("d");
        let created = server.post(
            &format!("/v1/services/{service}/databases"),
            Some(&customer.token),
            json!({"name": given, "engine": engine, "user": given, "password": FIRST}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["provisioning"]["status"], "pending", "{}", created.body);
        let path = format!("/v1/services/{service}/databases/{}", created.str("id"));
        let (name, user) = (created.str("name"), created.str("user"));
        eventually(30, "the database to be ready", || status(&server, &customer, &path) == "ready");
        assert!(works(&user, FIRST, &name), "{engine}: the user logs in with the given password");
        let checked = !works(&user, "certainly wrong", &name);

        let changed = server.patch(&path, Some(&customer.token), json!({"password": SECOND}));
        assert_eq!(changed.status, 200, "{}", changed.body);
        eventually(30, "the password change to be ready", || {
            status(&server, &customer, &path) == "ready" && works(&user, SECOND, &name)
        });
        if checked {
            assert!(!works(&user, FIRST, &name), "{engine}: the old password is refused");
        }
        if engine == "postgresql" {
            dropped_behind_hostadmins_back_is_made_again(&server, &postgres, &created.str("id"), &name, &user);
        }

        let removed = server.delete(&path, Some(&customer.token));
        assert_eq!(removed.status, 204, "{}", removed.body);
        eventually(30, "the database and its user to be dropped", || !works(&user, SECOND, &name));
    }
}

/// `hostadmin reconcile` makes a database dropped behind hostadmin's back again, with its
/// current password; while a job holds it, reconcile leaves it to the job.
fn dropped_behind_hostadmins_back_is_made_again(server: &Server, admin: &str, id: &str, name: &str, user: &str) {
    let drop = || {
        let mut conn = PgConnection::establish(admin).unwrap();
        diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(&mut conn).unwrap();
        assert!(!postgres_works(admin, user, SECOND, name), "the database is gone");
    };
    let reconcile = || {
        let output = server.cli(&["reconcile"], "");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    drop();
    let now = hostadmin_domain::time::now();
    let mut conn = server.database.connect();
    let until = now + chrono::Duration::minutes(2);
    let held = hostadmin_persistence::provisioning_states::hold(&mut conn, "database", id, "a-running-job", now, until);
    assert!(matches!(held.unwrap(), hostadmin_persistence::provisioning_states::Hold::Taken(_)));
    let printed = reconcile();
    assert!(printed.contains(&format!("database {name} (postgresql): a job applies it now; left to it")), "{printed}");
    assert!(!postgres_works(admin, user, SECOND, name), "reconcile left the held database alone");

    hostadmin_persistence::provisioning_states::release(&mut conn, "database", id, "a-running-job").unwrap();
    let printed = reconcile();
    assert!(
        printed.contains(&format!("database {name} (postgresql): made again (the database was missing)")),
        "{printed}"
    );
    assert!(postgres_works(admin, user, SECOND, name), "made again with the current password");
}

/// A database of an engine without a server is refused by the driver at once: `failed`
/// with the reason. A retry is accepted (202, `pending`, audited) and fails again; a
/// database that did not fail cannot be retried.
fn a_failed_database_can_be_retried(backend: TestBackend) {
    let Some(postgres) = postgres_admin_url() else { return };
    let env = [
        ("HOSTADMIN_DATABASE_DRIVER", "servers"),
        ("HOSTADMIN_HOSTING_POSTGRES_ADMIN_URL", postgres.as_str()),
        ("HOSTADMIN_WORKER_INTERVAL_MS", "100"),
    ];
    let Some(server) = Server::start(backend, &env) else { return };
    let operator = server.operator("operator");
    let reseller = server.create(&operator, "reseller", "reseller");
    let customer = server.create(&reseller, "customer", "customer");
    let plan = server.post(
        "/v1/plans",
        Some(&reseller.token),
        json!({"name": "Web DB", "service_kind": "web_hosting", "quotas": {"databases": 2}, "public": true,
               "prices": [{"cycle": "monthly", "amount_minor": 500, "currency": "EUR"}]}),
    );
    assert_eq!(plan.status, 201, "{}", plan.body);
    let service = server.sell(&reseller, &customer, &plan.str("id"));
    let created = server.post(
        &format!("/v1/services/{service}/databases"),
        Some(&customer.token),
        json!({"name": "shop", "engine": "mysql", "user": "shop", "password": FIRST}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/v1/services/{service}/databases/{}", created.str("id"));
    eventually(30, "the database to fail", || status(&server, &customer, &path) == "failed");
    let failed = server.get(&path, Some(&customer.token));
    assert!(failed.body["provisioning"]["error"].as_str().is_some_and(|e| e.contains("MySQL")), "{}", failed.body);

    let retried = server.post(&format!("{path}/retry-provisioning"), Some(&customer.token), json!({}));
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(retried.body["provisioning"]["status"], "pending", "{}", retried.body);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'database.retry_provisioning'"), 1);
    eventually(30, "the retry to fail again", || status(&server, &customer, &path) == "failed");

    let other = server.post(
        &format!("/v1/services/{service}/databases"),
        Some(&customer.token),
        json!({"name": unique("b"), "engine": "postgresql", "user": unique("u"), "password": FIRST}),
    );
    assert_eq!(other.status, 201, "{}", other.body);
    let other_path = format!("/v1/services/{service}/databases/{}", other.str("id"));
    eventually(30, "the PostgreSQL database to be ready", || status(&server, &customer, &other_path) == "ready");
    let refused = server.post(&format!("{other_path}/retry-provisioning"), Some(&customer.token), json!({}));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.code(), "not_failed", "{}", refused.body);
    let removed = server.delete(&other_path, Some(&customer.token));
    assert_eq!(removed.status, 204, "{}", removed.body);
}

#[test]
fn a_failed_database_can_be_retried_on_sqlite() {
    a_failed_database_can_be_retried(TestBackend::Sqlite);
}

#[test]
fn a_failed_database_can_be_retried_on_postgres() {
    a_failed_database_can_be_retried(TestBackend::Postgres);
}

#[test]
fn databases_live_on_their_servers_on_sqlite() {
    databases_live_on_their_servers(TestBackend::Sqlite);
}

#[test]
fn databases_live_on_their_servers_on_postgres() {
    databases_live_on_their_servers(TestBackend::Postgres);
}
