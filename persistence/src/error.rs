//! Storage errors, sorted by what the caller can do about them.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the row; the name says which (e.g. `accounts_login_key`).
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// Lock contention or a serialization failure: the whole transaction may be retried.
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("database error: {0}")]
    Database(DieselError),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Busy(_))
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // PostgreSQL names the index; SQLite only says "UNIQUE constraint failed:
                // accounts.login", so fall back to the message.
                let name = info.constraint_name().unwrap_or(info.message()).to_owned();
                Self::Unique(name)
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                Self::Busy(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info) if is_sqlite_busy(info.message()) => {
                Self::Busy(info.message().to_owned())
            }
            // The server went away (a restart, a cut network): `503` with `Retry-After`,
            // like a pool that has no connection to give, not a `500`.
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Pool(format!("the connection to the database was lost: {}", info.message())),
            _ => Self::Database(error),
        }
    }
}

fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}
