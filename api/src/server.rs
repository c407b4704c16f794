//! Starting the API: the database, the shared state, the routes and the background work.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Compress, Condition};
use actix_web::{web, App, HttpServer};
use anyhow::{bail, Context, Result};
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use hostadmin_persistence::connection::{self, connect_with};
use hostadmin_persistence::{migrations, Backend, ConnectionPool, DbConnection};

use crate::app::registration;
use crate::auth::tokens::TokenService;
use crate::config::Config;
use crate::db::Db;
use crate::hashing::Hasher;
use crate::http::fallback;
use crate::http::metrics::Metrics;
use crate::http::problem::{ApiError, FieldError};
use crate::http::rate_limit::RequestLimiter;
use crate::http::route_table::RouteTable;
use crate::http::{conditional, query_guard, rate_limit, request_id};
use crate::routes;
use crate::routes::system::OpenApiJson;
use crate::state::AppState;
use crate::{openapi, worker};

/// One connection to the configured database. A SQLite file's directory is created
/// first, so that every command works on a fresh install.
pub fn connect_once(config: &Config) -> Result<DbConnection> {
    if let Backend::Sqlite { path } = &config.database {
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    connect_with(&config.database, config.database_timeouts)
        .with_context(|| format!("connecting to {}", config.database.redacted()))
}

/// Opens the database: [`prepare_database`], then a pool of connections to it.
pub fn open_database(config: &Config) -> Result<ConnectionPool> {
    prepare_database(config)?;
    Ok(connection::pool(
        &config.database,
        config.database_pool_size,
        config.database_timeouts.statement,
        config.database_timeouts,
    ))
}

/// SQLite is migrated on the spot (zero set-up); PostgreSQL must have been migrated with
/// `hostadmin migrate` before instances start. A short command needs only this and one
/// connection: a pool fills itself from background threads, and a process that exits
/// while one of them is still inside libpq can crash on the way out (seen as a
/// SIGSEGV of `operator create` in CI).
pub fn prepare_database(config: &Config) -> Result<()> {
    let mut conn = connect_once(config)?;
    if config.database.is_sqlite() {
        let applied = migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrating: {e}"))?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "migrated the SQLite database");
        }
    } else if !migrations::is_up_to_date(&mut conn).map_err(|e| anyhow::anyhow!("reading migrations: {e}"))? {
        bail!("the database has pending migrations: run `hostadmin migrate` first");
    }
    Ok(())
}

pub fn state(config: Config) -> Result<(web::Data<AppState>, Db)> {
    let secrets = config.load_secrets()?;
    let pool = open_database(&config)?;
    let sealer = hostadmin_domain::sealing::Sealer::new(&secrets.encryption_key);
    let acme_account = config.drivers.acme.as_ref().and_then(|acme| {
        let mut conn = pool.get().map_err(|error| tracing::warn!(error = %error, "reading the ACME account")).ok()?;
        crate::app::acme_orders::stored_account(&mut conn, &sealer, &acme.directory_url)
    });
    let db = Db::new(pool, config.database_pool_size, config.database_timeouts.statement);
    let drivers = crate::drivers::Configured::new(&config.drivers, acme_account)?;
    let provisioner = crate::app::driven::Driven::wrap(crate::app::provisioning::driver(config.provisioner), &drivers);
    let state = AppState {
        tokens: TokenService::new(&secrets.jwt, config.access_token_ttl_seconds),
        hasher: Hasher::new(config.password_hash_concurrency, crate::hashing::WAIT_FOR_SLOT),
        limiter: RequestLimiter::per_minute(config.limits.requests_per_minute),
        db: db.clone(),
        provisioner,
        drivers,
        sealer,
        status_page: Default::default(),
        config: Arc::new(config),
    };
    Ok((web::Data::new(state), db))
}

/// Query strings that do not parse are a 422 pointing at the query parameter.
fn query_error(error: actix_web::error::QueryPayloadError, request: &actix_web::HttpRequest) -> actix_web::Error {
    // The document knows each parameter's schema: name the one that is wrong.
    if let Some(refused) = query_guard::refusal(request, None) {
        return refused.into();
    }
    let detail = error.to_string();
    let named = detail.split('`').nth(1).unwrap_or_default();
    // The parser names a parameter (`unknown field`, `missing field`, a custom error) or
    // a refused value (`unknown variant`): a value is mapped back to its parameter.
    let pairs = web::Query::<Vec<(String, String)>>::from_query(request.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let parameter = if pairs.iter().any(|(key, _)| key == named) {
        named
    } else {
        pairs.iter().find(|(_, value)| value == named).map_or(named, |(key, _)| key.as_str())
    };
    let parameter = Some(parameter)
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_default()
        .to_owned();
    let pointer = if parameter.is_empty() { "/query".to_owned() } else { format!("/query/{parameter}") };
    ApiError::fields(vec![FieldError::new(
        pointer,
        hostadmin_domain::validation::Invalid::new("invalid_value", detail),
    )])
    .into()
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            request_id::HEADER,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            request_id::HEADER,
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderName::from_static("ratelimit"),
            header::HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// A `registration_parent` that cannot take registrations stops the start (only while
/// registration is open: otherwise nothing reads it).
async fn check_registration_parent(state: &AppState) -> Result<()> {
    if !state.config.registration_enabled {
        return Ok(());
    }
    let config = state.config.clone();
    state
        .db
        .run(move |conn| Ok(registration::registration_parent(conn, &config)?))
        .await
        .map_err(|error| anyhow::anyhow!("reading registration_parent: {error}"))??;
    Ok(())
}

/// Whether a started server stops by itself on SIGTERM and SIGINT: the binary's does; one
/// started inside another program (the tests) is stopped through its handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signals {
    Handled,
    Ignored,
}

/// The API and its worker, bound and accepting; [`Running::finish`] runs them until the
/// server is stopped (by a signal or through [`Running::handle`]), then stops the worker.
pub struct Running {
    addresses: Vec<std::net::SocketAddr>,
    server: actix_web::dev::Server,
    worker: worker::Running,
    db: Db,
    shutdown_timeout: std::time::Duration,
}

impl Running {
    /// The addresses the server listens on (the port chosen when `listen` asked for 0).
    pub fn addresses(&self) -> &[std::net::SocketAddr] {
        &self.addresses
    }

    /// Stops the server from elsewhere: `stop(true)` lets requests in flight finish.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops, then stops the worker and gives back its leases.
    pub async fn finish(self) -> Result<()> {
        let served = self.server.await.context("serving");
        self.worker.stop(&self.db, self.shutdown_timeout).await;
        served
    }
}

/// The OpenAPI document as a server uses it: the route table that the query guard and the
/// `405` answers read, and the JSON that `/v1/openapi.json` serves. It depends on the code
/// alone, so a program that starts many servers (the tests) builds it once.
#[derive(Clone)]
pub struct ServedDocument {
    routes: web::Data<Arc<RouteTable>>,
    json: web::Data<OpenApiJson>,
}

impl ServedDocument {
    pub fn build() -> Result<Self> {
        let document = openapi::document();
        let routes = web::Data::new(Arc::new(RouteTable::from_openapi(&document)));
        let json = web::Data::new(OpenApiJson::new(document.to_json().context("serialising the OpenAPI document")?));
        Ok(Self { routes, json })
    }
}

/// Everything `hostadmin serve` runs, started on the current actix system: the state, the
/// worker, and the HTTP server bound to `listen`, serving `document`.
pub async fn start(config: Config, signals: Signals, document: ServedDocument) -> Result<Running> {
    let listen = config.listen;
    let cors_origins = config.cors_origins.clone();
    let (state, db) = state(config)?;
    check_registration_parent(&state).await?;
    let metrics = web::Data::new(Metrics::default());
    let ServedDocument { routes: routes_table, json: document_json } = document;
    let shutdown_timeout = state.config.shutdown_timeout;
    let http_workers = state.config.http_workers as usize;
    let shared = state.clone().into_inner();

    let mut server = HttpServer::new(move || {
        let (app, _) = App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(routes_table.clone())
            .app_data(document_json.clone())
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .wrap(from_fn(rate_limit::headers))
            .wrap(from_fn(conditional::middleware))
            .wrap(Compress::default())
            .wrap(Condition::new(!cors_origins.is_empty(), cors(&cors_origins)))
            .wrap(from_fn(query_guard::middleware))
            .wrap(from_fn(request_id::middleware))
            .into_utoipa_app()
            .configure(routes::configure_system)
            .service(scope::scope("/v1").configure(routes::configure_v1))
            .split_for_parts();
        // The docs page reads the document the API serves itself; its assets are
        // compiled in (vendored), so it works without internet.
        app.service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/v1/openapi.json")))
            .service(web::redirect("/docs", "/docs/"))
            .default_service(web::to(fallback::not_matched))
    })
    // On SIGTERM or SIGINT actix stops accepting and lets the requests in flight finish
    // within the timeout; then the worker stops and gives back its leases.
    .workers(http_workers)
    .shutdown_timeout(shutdown_timeout.as_secs())
    .bind(listen)
    .with_context(|| format!("listening on {listen}"))?;
    if signals == Signals::Ignored {
        server = server.disable_signals();
    }
    // The worker starts once the address is taken, so that a failed start leaves nothing
    // running behind it.
    let worker = worker::start(shared.clone(), true, worker::Settings::from_config(&shared.config));
    // A configured driver whose server does not answer is logged at start, not fatal.
    tokio::spawn(async move {
        crate::app::driven::unreachable(&shared.drivers, std::time::Duration::from_secs(5)).await;
    });
    let addresses = server.addrs();
    Ok(Running { addresses, server: server.run(), worker, db, shutdown_timeout })
}

pub async fn serve(config: Config) -> Result<()> {
    let running = start(config, Signals::Handled, ServedDocument::build()?).await?;
    for address in running.addresses() {
        println!("listening on http://{address}");
        println!("API docs at http://{address}/docs/ and http://{address}/v1/openapi.json");
    }
    println!("create the first operator with: hostadmin operator create --login LOGIN --email EMAIL --password-stdin");
    running.finish().await
}

/// Waits for SIGTERM (how service managers and container runtimes stop a process) or
/// SIGINT (Ctrl-C).
pub async fn stop_requested() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            _ = terminate.recv() => {}
            interrupted = tokio::signal::ctrl_c() => interrupted.context("listening for SIGINT")?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("listening for Ctrl-C")?;
    tracing::info!("stopping");
    Ok(())
}
