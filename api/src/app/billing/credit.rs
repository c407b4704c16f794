//! Buyers' credit with their sellers: balances per currency, never below zero, changed
//! by payments, failed orders, credit notes and the seller's own adjustments.

use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::ids::new_id;
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::{Action, Actor};
use hostadmin_domain::time;
use hostadmin_domain::validation::Reason;
use hostadmin_persistence::accounts::AccountRow;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::credit::{self as store, BalanceRow, CreditChange, TransactionRow};

use super::{acts_as_seller, seller_of};
use crate::app::access::Reached;
use crate::http::problem::ApiError;
use crate::state::AppState;

/// The actor's own balances.
pub async fn own(state: &AppState, actor: &Actor) -> Result<Vec<BalanceRow>, ApiError> {
    let me = actor.account_id.clone();
    state.db.run(move |conn| Ok(store::balances(conn, &me)?)).await
}

/// `403 forbidden` unless the actor sells to the account: the account directly above it,
/// or an operator for a top-level account.
fn require_seller_of(actor: &Actor, account: &AccountRow) -> Result<(), ApiError> {
    if acts_as_seller(actor, seller_of(account).as_deref()) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only the account's seller (the account directly above it) keeps its credit"))
    }
}

/// The balances of an account the actor sells to.
pub async fn of_customer(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
) -> Result<Vec<BalanceRow>, ApiError> {
    account.expect(Action::ReadCredit)?;
    require_seller_of(actor, &account.row)?;
    let id = account.row.id;
    state.db.run(move |conn| Ok(store::balances(conn, &id)?)).await
}

/// One page of the account's credit changes, newest first.
pub async fn transactions(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
    before_id: Option<String>,
    limit: i64,
) -> Result<Vec<TransactionRow>, ApiError> {
    account.expect(Action::ReadCredit)?;
    require_seller_of(actor, &account.row)?;
    let id = account.row.id;
    state.db.run(move |conn| Ok(store::transactions(conn, &id, before_id.as_deref(), limit)?)).await
}

/// Adds to (positive) or takes from (negative) the account's credit in `currency`; `409
/// insufficient_credit` when it would go below zero. Answers the new balances.
pub async fn adjust(
    state: &AppState,
    actor: &Actor,
    account: Reached<AccountRow>,
    amount_minor: i64,
    currency: Currency,
    reason: Reason,
) -> Result<Vec<BalanceRow>, ApiError> {
    account.expect(Action::AdjustCredit)?;
    require_seller_of(actor, &account.row)?;
    let context = AuditContext::of(actor);
    let me = actor.account_id.clone();
    let id = account.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let change = CreditChange {
                id: &new_id(),
                account_id: &id,
                currency: &currency,
                amount_minor,
                reason: reason.as_str(),
                invoice_id: None,
                payment_id: None,
                created_by: Some(&me),
                now,
            };
            let balance = store::change(conn, &change)?.ok_or_else(|| {
                ApiError::conflict(
                    "insufficient_credit",
                    format!("the account's credit in {} is less than {}", currency.as_str(), -amount_minor),
                )
            })?;
            audit::record(
                conn,
                &context,
                NewEvent {
                    action: actions::CREDIT_ADJUST,
                    target_type: target::CREDIT,
                    target_id: &id,
                    account_id: Some(&id),
                    details: serde_json::json!({
                        "amount_minor": amount_minor, "currency": currency, "balance_minor": balance,
                        "reason": reason.as_str(),
                    }),
                },
                now,
            )?;
            Ok(store::balances(conn, &id)?)
        })
        .await
}
