//! What an account wants to be mailed about: today one switch, `ticket_replies` (a mail
//! when the other side of a ticket answers; on by default).

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::notification_settings::{self as settings_store, NotificationSettings};

use crate::http::etag::IfMatch;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The actor's own settings.
pub async fn read(state: &AppState, actor: &Actor, authorized: Authorized) -> Result<NotificationSettings, ApiError> {
    expect(&authorized, Action::ReadNotifications)?;
    let id = actor.account_id.clone();
    state.db.run(move |conn| Ok(settings_store::of(conn, &id)?)).await
}

/// Change the actor's own settings; `None` leaves a switch as it is.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    ticket_replies: Option<bool>,
    if_match: IfMatch,
) -> Result<NotificationSettings, ApiError> {
    expect(&authorized, Action::UpdateNotifications)?;
    let context = AuditContext::of(actor);
    let id = actor.account_id.clone();
    state
        .db
        .write(move |conn| {
            let current = settings_store::of(conn, &id)?;
            if_match.check(current.version)?;
            let Some(wanted) = ticket_replies.filter(|wanted| *wanted != current.ticket_replies) else {
                return Ok(current);
            };
            let now = time::now();
            if !settings_store::set(conn, &id, current.version, wanted, now)? {
                return Err(ApiError::Busy("the settings changed during the request".into()));
            }
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::ACCOUNT_NOTIFICATIONS_UPDATE,
                    target_type: target::ACCOUNT,
                    target_id: &id,
                    account_id: Some(&id),
                    details: serde_json::json!({ "ticket_replies": wanted }),
                },
                now,
            )?;
            Ok(settings_store::of(conn, &id)?)
        })
        .await
}

fn expect(authorized: &Authorized, action: Action) -> Result<(), ApiError> {
    if authorized.action() == action {
        Ok(())
    } else {
        Err(ApiError::internal(format!("{action:?} was handed a proof for {:?}", authorized.action())))
    }
}
