//! The command line: `serve`, `worker`, `migrate`, `operator create`, `openapi`,
//! `reconcile`.

use std::io::BufRead as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use hostadmin_domain::accounts::{AccountKind, DisplayName, EmailAddress, Login, Profile};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::passwords::{self, NewPassword};
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, NewAccount};
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::{migrations, write_transaction, StoreError};

use crate::config::Config;
use crate::{openapi, server, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "hostadmin",
    version,
    about = "The customer administration and reseller control panel API of a web hosting provider"
)]
pub struct Cli {
    /// A TOML configuration file (also HOSTADMIN_CONFIG); HOSTADMIN_* variables override it.
    #[arg(long, global = true, env = "HOSTADMIN_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the API and its background worker.
    Serve,
    /// Run the background worker alone.
    Worker {
        /// Do every kind of due work once and exit (for cron): 0 when all of it ran, 1
        /// when a kind of it failed (logged; the next run tries again).
        #[arg(long)]
        once: bool,
    },
    /// Apply the migrations to the configured database.
    Migrate,
    /// Manage operator accounts.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Compare each configured driver's servers (DNS zones, databases) with hostadmin's
    /// rows, repair the drift and print every repair.
    Reconcile,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator account; the password is one line on standard input.
    Create(CreateOperator),
}

#[derive(Debug, Args)]
pub struct CreateOperator {
    #[arg(long)]
    pub login: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Read the password from standard input (required: passwords never go in arguments).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

pub fn run(cli: Cli) -> Result<()> {
    if let Command::Openapi = cli.command {
        print!("{}", openapi::document_json());
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve => runtime()?.block_on(server::serve(config)),
        Command::Worker { once: false } => runtime()?.block_on(async {
            let settings = crate::worker::Settings::from_config(&config);
            let timeout = config.shutdown_timeout;
            let (state, db) = server::state(config)?;
            let running = crate::worker::start(state.into_inner(), false, settings);
            println!("worker running");
            server::stop_requested().await?;
            running.stop(&db, timeout).await;
            Ok(())
        }),
        Command::Worker { once: true } => runtime()?.block_on(async {
            let settings = crate::worker::Settings::from_config(&config);
            let (state, _) = server::state(config)?;
            let failed = crate::worker::run_once(state.into_inner(), settings).await;
            if failed.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("the worker's round failed for: {}", failed.join(", "))
            }
        }),
        Command::Migrate => migrate(&config),
        Command::Reconcile => runtime()?.block_on(async {
            let (state, _) = server::state(config)?;
            let report = crate::app::reconcile::reconcile(&state).await?;
            if report.is_empty() {
                println!("no drift");
            }
            for line in report {
                println!("{line}");
            }
            Ok(())
        }),
        Command::Operator { command: OperatorCommand::Create(args) } => create_operator(&config, args),
        Command::Openapi => Ok(()),
    }
}

fn runtime() -> Result<actix_web::rt::Runtime> {
    actix_web::rt::Runtime::new().context("starting the runtime")
}

fn migrate(config: &Config) -> Result<()> {
    let mut conn = server::connect_once(config)?;
    let applied = migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrating: {e}"))?;
    if applied.is_empty() {
        println!("the database is up to date");
    } else {
        for version in applied {
            println!("applied {version}");
        }
    }
    Ok(())
}

fn create_operator(config: &Config, args: CreateOperator) -> Result<()> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password_text = line.strip_suffix('\n').unwrap_or(&line);
    let password_text = password_text.strip_suffix('\r').unwrap_or(password_text);
    let (login, id) = new_operator(config, &args.login, &args.email, args.name.as_deref(), password_text)?;
    println!("created operator {login} ({id})");
    Ok(())
}

/// What `operator create` does once it has the password: checks the fields, migrates a
/// SQLite database if needed and inserts the operator with its audit event. Answers the
/// login as stored and the new account's id.
pub fn new_operator(
    config: &Config,
    login: &str,
    email: &str,
    name: Option<&str>,
    password_text: &str,
) -> Result<(String, String)> {
    let login = Login::parse(login).map_err(|e| anyhow::anyhow!("--login: {e}"))?;
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let name = DisplayName::parse(name.unwrap_or(login.as_str())).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let password = NewPassword::parse(password_text).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let hash = passwords::hash(&password)?;

    server::prepare_database(config)?;
    let mut conn = server::connect_once(config)?;
    let id = new_id();
    let result = write_transaction(&mut conn, |conn| -> Result<(), StoreError> {
        if let Some(taken) = account_store::taken(conn, login.as_str(), email.normalized())? {
            return Err(StoreError::Unique(format!("{taken:?}")));
        }
        let now = time::now();
        account_store::insert(
            conn,
            &NewAccount {
                id: id.clone(),
                kind: AccountKind::Operator,
                parent_id: None,
                login: login.as_str().to_owned(),
                email: email.as_str().to_owned(),
                email_normalized: email.normalized().to_owned(),
                name: name.as_str().to_owned(),
                profile: Profile::default(),
                password_hash: Some(hash.clone()),
                now,
            },
        )?;
        audit::record(
            conn,
            &AuditContext::default(),
            NewEvent {
                action: actions::ACCOUNT_CREATE_OPERATOR,
                target_type: target::ACCOUNT,
                target_id: &id,
                account_id: Some(&id),
                details: serde_json::json!({ "login": login.as_str(), "via": "cli" }),
            },
            now,
        )
    });
    match result {
        Ok(()) => Ok((login.as_str().to_owned(), id)),
        Err(StoreError::Unique(which)) => bail!("an account with this {} exists already", which.to_lowercase()),
        Err(other) => Err(other.into()),
    }
}
