//! Services: what an account bought. Sellers (resellers, operators) sell them to the
//! accounts below them; everyone lists, reads and renames what it reaches.

use hostadmin_domain::accounts::{AccountKind, AccountStatus, DisplayName};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::{BillingCycle, QuotaKey};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::policy::{Action, Actor, Authorized, Relation};
use hostadmin_domain::provisioning::{Operation, Outcome, Provisioner, ServiceSpec};
use hostadmin_domain::services::ServiceStatus;
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::holds;
use hostadmin_persistence::plans::{self as plan_store, PlanOwnership};
use hostadmin_persistence::services::{self as service_store, NewService, ServiceChanges, ServiceFilter, ServiceRow};
use hostadmin_persistence::DbConnection;

use hostadmin_domain::credentials::random_bytes;
use hostadmin_domain::passwords::NewPassword;

use crate::app::access::Reached;
use crate::app::lifecycle::{changed_meanwhile, current, record, require_active};
use crate::app::plan_changes::in_use;
use crate::app::{holds as account_holds, provisioning, resellers};
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// A sale, as asked for.
#[derive(Debug, Clone)]
pub struct NewSale {
    /// The account that will own the service: one below the seller (or, for an operator,
    /// the operator itself).
    pub owner_id: String,
    /// A plan the seller sells: a reseller's own, for operators any.
    pub plan_id: String,
    pub cycle: BillingCycle,
    pub name: DisplayName,
    pub addons: Vec<String>,
}

/// Sell a service to an account below the seller.
///
/// The provisioner's built-in driver completes at once (the service is `active`); a
/// deferring one leaves it `pending` until the worker has set it up. An owner whose
/// account is suspended gets it `suspended` with `held: true`, as the suspension would
/// have left it; a blocked owner can no longer order (`409 account_blocked`).
pub async fn sell(state: &AppState, actor: &Actor, _: Authorized, sale: NewSale) -> Result<ServiceRow, ApiError> {
    let owner_id = parse_id(&sale.owner_id).ok_or_else(ApiError::not_found)?;
    let plan_id = parse_id(&sale.plan_id).ok_or_else(ApiError::not_found)?;
    let reach = actor.reach();
    let plans = match actor.kind {
        AccountKind::Operator => PlanOwnership::Any,
        _ => PlanOwnership::OwnedBy(actor.account_id.clone()),
    };
    let may_own_itself = actor.kind == AccountKind::Operator && owner_id == actor.account_id;
    let (owner, plan) = state
        .db
        .run(move |conn| {
            let owner = if may_own_itself {
                account_store::find(conn, &owner_id)?
            } else {
                account_store::find_in_reach(conn, &reach, &owner_id)?
            };
            let plan = plan_store::find_owned(conn, &plans, &plan_id)?;
            Ok((owner.ok_or_else(ApiError::not_found)?, plan.ok_or_else(ApiError::not_found)?))
        })
        .await?;
    let sold = plan.offer().sale(sale.cycle, &sale.addons).map_err(refused_fields)?;
    let now = time::now();
    let next_due_at = sale
        .cycle
        .advance(now, 1)
        .ok_or_else(|| ApiError::field("/cycle", Invalid::new("out_of_range", "the due date is out of range")))?;
    let new = NewService {
        id: new_id(),
        number: 0,
        owner_id: owner.id,
        plan_id: plan.id.clone(),
        name: sale.name.as_str().to_owned(),
        kind: plan.service_kind,
        status: ServiceStatus::Pending,
        cycle: sale.cycle,
        addons: sale.addons,
        quotas: sold.quotas,
        next_due_at,
        price: sold.price,
        now,
    };
    let context = AuditContext::of(actor);
    let provisioner = state.provisioner.clone();
    let requested_by = actor.account_id.clone();
    state.db.write(move |conn| create_in(conn, provisioner.as_ref(), &context, &requested_by, new.clone())).await
}

/// Creates the service in the caller's transaction: the owner's standing first (no sale
/// slips past a hold placed at the same time; a blocked owner can no longer order), the
/// next service number, the packages above, the provisioner, the row and its audit
/// event. Used by a seller's sale and by a paid order.
pub fn create_in(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    requested_by: &str,
    mut new: NewService,
) -> Result<ServiceRow, ApiError> {
    let owner_status = holds::status_for_update(conn, &new.owner_id)?.ok_or_else(ApiError::not_found)?;
    if owner_status == AccountStatus::Blocked {
        let login = account_store::find(conn, &new.owner_id)?.map(|owner| owner.login).unwrap_or_default();
        return Err(ApiError::conflict(
            "account_blocked",
            format!("the account {login} ({}) is blocked and can no longer order", new.owner_id),
        ));
    }
    new.number = service_store::next_number(conn)?;
    resellers::enforce(conn, &new.owner_id, false, QuotaKey::Services)?;
    let operation = Operation::Create {
        service: ServiceSpec {
            service_id: new.id.clone(),
            number: new.number,
            kind: new.kind,
            owner_id: new.owner_id.clone(),
            plan_id: new.plan_id.clone(),
            quotas: new.quotas.clone(),
        },
    };
    // Queued (when deferred) before the service exists: the job row does not refer to
    // it, and both commit or neither.
    new.status = match provisioning::request(conn, provisioner, operation, requested_by, new.now)? {
        Outcome::Done => ServiceStatus::Active,
        Outcome::Deferred => ServiceStatus::Pending,
    };
    service_store::insert(conn, &new)?;
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::SERVICE_CREATE,
            target_type: target::SERVICE,
            target_id: &new.id,
            account_id: Some(&new.owner_id),
            details: serde_json::json!({
                "number": new.number, "plan_id": new.plan_id, "kind": new.kind, "status": new.status,
            }),
        },
        new.now,
    )?;
    let row = service_store::find(conn, &new.id)?.ok_or_else(|| ApiError::internal("the new service vanished"))?;
    account_holds::hold_with_owner(conn, provisioner, context, row, owner_status, new.now)
}

/// A sale's refusals as the request's field errors.
pub fn refused_fields(refused: Vec<(String, Invalid)>) -> ApiError {
    ApiError::fields(refused.into_iter().map(|(pointer, invalid)| FieldError::new(pointer, invalid)).collect())
}

/// One page of the services the actor reaches: its own, its subtree's, and those granted
/// to it; newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    _: Authorized,
    filter: ServiceFilter,
    limit: i64,
) -> Result<Vec<ServiceRow>, ApiError> {
    let reach = actor.reach();
    state.db.run(move |conn| Ok(service_store::list_in_reach(conn, &reach, &filter, limit)?)).await
}

/// Rename a service, switch its auto-renewal, (operators) allow overselling a reseller
/// package, or (its seller, reached for `CorrectServiceDueDate`) correct its due date.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    changes: ServiceChanges,
    if_match: IfMatch,
) -> Result<ServiceRow, ApiError> {
    let expected = if changes.next_due_at.is_some() { Action::CorrectServiceDueDate } else { Action::UpdateService };
    service.expect(expected)?;
    let granted = matches!(service.relation, Relation::Grantee(_));
    if changes.allow_overselling.is_some() && (actor.kind != AccountKind::Operator || granted) {
        return Err(ApiError::forbidden("only operators allow overselling"));
    }
    let context = AuditContext::of(actor);
    let id = service.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = current(conn, &id, &if_match)?;
            if !write_update(conn, &context, &row, &changes, now)? {
                return Err(changed_meanwhile());
            }
            service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// Applies `changes` if the service is still at its version and records `service.update`
/// in the same transaction; answers whether it did. PATCH and the bulk `set_auto_renew`
/// share it.
pub fn write_update(
    conn: &mut DbConnection,
    context: &AuditContext,
    row: &ServiceRow,
    changes: &ServiceChanges,
    now: chrono::NaiveDateTime,
) -> Result<bool, ApiError> {
    if !service_store::update(conn, &row.id, row.version, changes, now)? {
        return Ok(false);
    }
    audit::record(
        conn,
        context,
        NewEvent {
            action: actions::SERVICE_UPDATE,
            target_type: target::SERVICE,
            target_id: &row.id,
            account_id: Some(&row.owner_id),
            details: serde_json::json!({
                "name": changes.name, "auto_renew": changes.auto_renew, "allow_overselling": changes.allow_overselling,
                "next_due_at": changes.next_due_at.map(|to| serde_json::json!({
                    "from": time::to_utc(row.next_due_at), "to": time::to_utc(to),
                })),
            }),
        },
        now,
    )?;
    Ok(true)
}

/// A generated password: 20 symbols of 56, about 116 bits.
const GENERATED_PASSWORD_LENGTH: usize = 20;
/// Letters and digits without the look-alikes `0 O o 1 l I`: 56 symbols, safe to read
/// out on the phone or copy from a screenshot.
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// The password a service gets: one the caller chose (already checked against the
/// password policy), or one to generate.
pub enum ServicePassword {
    Chosen(NewPassword),
    Generated,
}

/// Set the service's password (FTP, control panel), or have one generated; answers the
/// password now in force, to be shown once. Only an argon2id hash is stored, and the
/// audit event says whether it was generated, never the password.
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    password: ServicePassword,
    if_match: IfMatch,
) -> Result<String, ApiError> {
    service.expect(Action::SetServicePassword)?;
    let generated = matches!(password, ServicePassword::Generated);
    let password = match password {
        ServicePassword::Chosen(password) => password,
        ServicePassword::Generated => NewPassword::parse(&generate_password()?).map_err(ApiError::internal)?,
    };
    // Checked now as well as in the transaction: hashing is slow, and a request that
    // cannot succeed should not wait for a slot.
    if_match.check(service.row.version)?;
    require_active(&service.row, "setting a password")?;
    let clear = password.as_str().to_owned();
    let hash = state.hasher.hash(password).await?;
    let context = AuditContext::of(actor);
    let id = service.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let row = current(conn, &id, &if_match)?;
            require_active(&row, "setting a password")?;
            if !service_store::set_password_hash(conn, &row.id, row.version, &hash, now)? {
                return Err(changed_meanwhile());
            }
            record(conn, &context, &row, actions::SERVICE_PASSWORD, serde_json::json!({ "generated": generated }), now)
        })
        .await?;
    Ok(clear)
}

/// A password of [`GENERATED_PASSWORD_LENGTH`] symbols of [`PASSWORD_ALPHABET`] from
/// the operating system's CSPRNG. Bytes at or above the largest multiple of the
/// alphabet's size are dropped (rejection sampling), so every symbol is equally likely.
fn generate_password() -> Result<String, ApiError> {
    let size = PASSWORD_ALPHABET.len();
    let accepted_below = 256 - 256 % size;
    let mut password = String::with_capacity(GENERATED_PASSWORD_LENGTH);
    while password.len() < GENERATED_PASSWORD_LENGTH {
        let bytes = random_bytes::<32>().map_err(ApiError::internal)?;
        let symbols = bytes
            .iter()
            .map(|byte| usize::from(*byte))
            .filter(|byte| *byte < accepted_below)
            .filter_map(|byte| PASSWORD_ALPHABET.get(byte % size))
            .map(|symbol| char::from(*symbol));
        password.extend(symbols.take(GENERATED_PASSWORD_LENGTH - password.len()));
    }
    Ok(password)
}

/// What a service uses of each quota that applies to its kind, and the limit (`None`:
/// unlimited), counted as the quota checks count.
pub async fn usage(
    state: &AppState,
    service: Reached<ServiceRow>,
) -> Result<Vec<(QuotaKey, u64, Option<u64>)>, ApiError> {
    service.expect(Action::ReadServiceUsage)?;
    let row = service.row;
    state
        .db
        .run(move |conn| {
            let used = in_use(conn, &row, row.kind)?;
            Ok(used.into_iter().map(|(key, used)| (key, used, row.quotas.get(key))).collect())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_unambiguous_and_different() {
        let first = generate_password().unwrap_or_default();
        assert_eq!(first.chars().count(), GENERATED_PASSWORD_LENGTH);
        assert!(first.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)), "{first}");
        assert!(NewPassword::parse(&first).is_ok(), "meets the password policy");
        assert_ne!(first, generate_password().unwrap_or_default());
        for ambiguous in "0Oo1lI".chars() {
            assert!(!PASSWORD_ALPHABET.contains(&(ambiguous as u8)), "{ambiguous}");
        }
        assert_eq!(PASSWORD_ALPHABET.len(), 56);
    }
}
