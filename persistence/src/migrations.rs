//! Embedded migrations, one folder per backend with the same versions in both.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::connection::DbConnection;

pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

type HarnessError = Box<dyn std::error::Error + Send + Sync>;

fn migrations_for(conn: &DbConnection) -> EmbeddedMigrations {
    match conn {
        DbConnection::Sqlite(_) => SQLITE,
        DbConnection::Pg(_) => POSTGRES,
    }
}

/// Applies every pending migration; answers the versions applied now.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, HarnessError> {
    let migrations = migrations_for(conn);
    let applied = conn.run_pending_migrations(migrations)?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Whether the database has every migration this build knows (for `/readyz`).
pub fn is_up_to_date(conn: &mut DbConnection) -> Result<bool, HarnessError> {
    let migrations = migrations_for(conn);
    Ok(!conn.has_pending_migration(migrations)?)
}

/// Reverts every migration (tests and `migrate --revert-all` only).
pub fn revert_all(conn: &mut DbConnection) -> Result<Vec<String>, HarnessError> {
    let migrations = migrations_for(conn);
    let reverted = conn.revert_all_migrations(migrations)?;
    Ok(reverted.iter().map(ToString::to_string).collect())
}
