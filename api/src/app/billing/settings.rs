//! A seller's billing settings: a reseller's own, the provider's for operators.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::billing::settings::BillingSettings;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::billing_settings::{self as store, SettingsRow};

use super::own_seller_id;
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The actor's settings as a seller; 404 until they are set.
pub async fn read(state: &AppState, actor: &Actor, authorized: Authorized) -> Result<SettingsRow, ApiError> {
    if authorized.action() != Action::ReadBillingSettings {
        return Err(ApiError::internal("reading billing settings with another proof"));
    }
    let seller = own_seller_id(actor);
    state.db.run(move |conn| store::find(conn, seller.as_deref())?.ok_or_else(ApiError::not_found)).await
}

/// Replaces the actor's settings (creating them the first time): checked as a whole,
/// every refused field with its pointer.
pub async fn put(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    settings: BillingSettings,
    if_match: IfMatch,
) -> Result<SettingsRow, ApiError> {
    if authorized.action() != Action::UpdateBillingSettings {
        return Err(ApiError::internal("changing billing settings with another proof"));
    }
    let problems = settings.problems();
    if !problems.is_empty() {
        return Err(ApiError::fields(
            problems.into_iter().map(|(pointer, invalid)| FieldError::new(pointer, invalid)).collect(),
        ));
    }
    let seller = own_seller_id(actor);
    let context = AuditContext::of(actor);
    let account_id = actor.account_id.clone();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let current = store::find(conn, seller.as_deref())?;
            if let Some(row) = &current {
                if_match.check(row.version)?;
            }
            if !store::put(conn, seller.as_deref(), &settings, current.as_ref().map(|row| row.version), now)? {
                return Err(ApiError::Busy("the billing settings changed during the request".into()));
            }
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::BILLING_SETTINGS_UPDATE,
                    target_type: target::BILLING_SETTINGS,
                    target_id: seller.as_deref().unwrap_or("provider"),
                    account_id: Some(&account_id),
                    details: serde_json::json!({
                        "invoice_prefix": settings.invoice_prefix.as_str(),
                        "country": settings.address.country,
                        "reverse_charge": settings.reverse_charge,
                    }),
                },
                now,
            )?;
            store::find(conn, seller.as_deref())?.ok_or_else(|| ApiError::internal("the settings vanished"))
        })
        .await
}
