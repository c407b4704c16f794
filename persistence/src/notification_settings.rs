//! What an account wants to be mailed about. An account without a row has the defaults
//! (every mail on, version 0); the first change creates the row.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::notification_settings;

/// An account's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationSettings {
    /// A mail when the other side of a ticket answers.
    pub ticket_replies: bool,
    /// 0 while the account has the defaults.
    pub version: i64,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self { ticket_replies: true, version: 0 }
    }
}

/// The account's settings, the defaults when it never changed them.
pub fn of(conn: &mut DbConnection, account_id: &str) -> Result<NotificationSettings, StoreError> {
    let stored: Option<(bool, i64)> = notification_settings::table
        .filter(notification_settings::account_id.eq(account_id))
        .select((notification_settings::ticket_replies, notification_settings::version))
        .first(conn)
        .optional()?;
    Ok(stored.map_or_else(NotificationSettings::default, |(ticket_replies, version)| NotificationSettings {
        ticket_replies,
        version,
    }))
}

/// Stores the settings if they are still at `version` (0: the defaults, no row yet);
/// answers whether it did. Two first changes at once collide on the key: the loser's
/// transaction is tried again (`Busy`) and then finds the row.
pub fn set(
    conn: &mut DbConnection,
    account_id: &str,
    version: i64,
    ticket_replies: bool,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    if version == 0 {
        let inserted = diesel::insert_into(notification_settings::table)
            .values((
                notification_settings::account_id.eq(account_id),
                notification_settings::ticket_replies.eq(ticket_replies),
                notification_settings::version.eq(1_i64),
                notification_settings::updated_at.eq(now),
            ))
            .execute(conn);
        return match inserted.map_err(StoreError::from) {
            Ok(_) => Ok(true),
            Err(StoreError::Unique(_)) => Err(StoreError::Busy("notification settings created meanwhile".into())),
            Err(other) => Err(other),
        };
    }
    let updated = diesel::update(
        notification_settings::table
            .filter(notification_settings::account_id.eq(account_id))
            .filter(notification_settings::version.eq(version)),
    )
    .set((
        notification_settings::ticket_replies.eq(ticket_replies),
        notification_settings::version.eq(version + 1),
        notification_settings::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
