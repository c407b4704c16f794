//! The catalog: plans with their quotas, prices per billing cycle and add-ons. The
//! provider's plans are made by operators; each reseller sells plans of its own, never
//! allowing more than its own package. Plans are archived, never deleted.

use std::collections::HashSet;

use chrono::NaiveDateTime;

use hostadmin_domain::accounts::{AccountKind, DisplayName};
use hostadmin_domain::audit::{self as actions, target};
use hostadmin_domain::catalog::{Addon, BillingCycle, Price, QuotaKey, Quotas, ServiceKind};
use hostadmin_domain::ids::{new_id, parse_id};
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::{Action, Actor, Authorized};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts::AccountRow;
use hostadmin_persistence::audit::{self, AuditContext, NewEvent};
use hostadmin_persistence::plans::{self as store, PlanFilter, PlanOwnership, PlanRow, PlanValues, PlanVisibility};
use hostadmin_persistence::services as service_store;
use hostadmin_persistence::DbConnection;

use crate::http::etag::IfMatch;
use crate::http::merge_patch::Patch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// The most an amount may be: ten billion in major units.
const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
const MAX_ADDONS: usize = 20;

/// A plan as asked for, before its checks.
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub name: String,
    pub service_kind: ServiceKind,
    pub quotas: Quotas,
    pub prices: Vec<Price>,
    pub addons: Vec<Addon>,
    pub public: bool,
}

/// Who sees which plans: operators all of them; a reseller its own and the public plans
/// of the account above it (the provider's when none); a customer the public plans of
/// the account above it. `own` is the actor's account.
fn visibility(actor: &Actor, own: &AccountRow) -> PlanVisibility {
    let seller = own.parent_id.clone();
    match actor.kind {
        AccountKind::Operator => PlanVisibility::All,
        AccountKind::Reseller => PlanVisibility::OwnAndPublicOf { owner: Some(Some(actor.account_id.clone())), seller },
        AccountKind::Customer => PlanVisibility::OwnAndPublicOf { owner: None, seller },
    }
}

/// Whose plans the actor may change: operators any (the provider's and, as the
/// provider's staff, every reseller's), a reseller only its own.
fn ownership(actor: &Actor) -> PlanOwnership {
    match actor.kind {
        AccountKind::Operator => PlanOwnership::Any,
        _ => PlanOwnership::OwnedBy(actor.account_id.clone()),
    }
}

/// Create a plan: the provider's (operators) or the actor's own (resellers).
pub async fn create(state: &AppState, actor: &Actor, _: Authorized, new: NewPlan) -> Result<PlanRow, ApiError> {
    let values = checked(new)?;
    let owner = (actor.kind != AccountKind::Operator).then(|| actor.account_id.clone());
    let context = AuditContext::of(actor);
    let id = new_id();
    state
        .db
        .write(move |conn| {
            let now = time::now();
            check_package(conn, owner.as_deref(), &values)?;
            store::insert(conn, &id, owner.as_deref(), &values, now)?;
            let details = serde_json::json!({ "name": values.name, "service_kind": values.service_kind });
            record(conn, &context, actions::PLAN_CREATE, &id, owner.as_deref(), details, now)?;
            store::find_owned(conn, &PlanOwnership::Any, &id)?
                .ok_or_else(|| ApiError::internal("the new plan vanished"))
        })
        .await
}

/// One page of the plans the actor may see, newest first.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    own: &AccountRow,
    _: Authorized,
    filter: PlanFilter,
    limit: i64,
) -> Result<Vec<PlanRow>, ApiError> {
    let visibility = visibility(actor, own);
    state.db.run(move |conn| Ok(store::list_visible(conn, &visibility, &filter, limit)?)).await
}

/// One plan the actor may see; any other is 404.
pub async fn read(
    state: &AppState,
    actor: &Actor,
    own: &AccountRow,
    _: Authorized,
    id: &str,
) -> Result<PlanRow, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let visibility = visibility(actor, own);
    state.db.run(move |conn| store::find_visible(conn, &visibility, &id)?.ok_or_else(ApiError::not_found)).await
}

/// A plan the actor may change, for the authorized action; any other is 404.
#[derive(Debug, Clone)]
pub struct OwnedPlan {
    pub row: PlanRow,
    authorized: Authorized,
}

/// The plan `id` if the actor may change it (archived ones included).
pub async fn find_owned(
    state: &AppState,
    actor: &Actor,
    authorized: Authorized,
    id: &str,
) -> Result<OwnedPlan, ApiError> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let ownership = ownership(actor);
    let row =
        state.db.run(move |conn| store::find_owned(conn, &ownership, &id)?.ok_or_else(ApiError::not_found)).await?;
    Ok(OwnedPlan { row, authorized })
}

impl OwnedPlan {
    fn expect(&self, action: Action) -> Result<(), ApiError> {
        if self.authorized.action() == action {
            Ok(())
        } else {
            Err(ApiError::internal(format!("{action:?} was handed a plan found for {:?}", self.authorized.action())))
        }
    }
}

/// A change of a plan, as a merge patch asks for it. The kind cannot change.
#[derive(Debug, Clone, Default)]
pub struct PlanChange {
    pub name: Patch<String>,
    /// `null` clears them (unlimited).
    pub quotas: Patch<Quotas>,
    pub prices: Patch<Vec<Price>>,
    /// `null` removes them all.
    pub addons: Patch<Vec<Addon>>,
    pub public: Patch<bool>,
}

/// Change a plan: checked against the plan as read (422 before anything is locked), then
/// applied to the plan as it is once locked. Services on it keep what they were sold.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    plan: OwnedPlan,
    change: PlanChange,
    if_match: IfMatch,
) -> Result<PlanRow, ApiError> {
    plan.expect(Action::UpdatePlan)?;
    checked(changed(&plan.row, &change)?)?;
    let context = AuditContext::of(actor);
    let id = plan.row.id;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            let current = store::find_for_update(conn, &id)?.ok_or_else(ApiError::not_found)?;
            if_match.check(current.version)?;
            let values = checked(changed(&current, &change)?)?;
            check_package(conn, current.owner_id.as_deref(), &values)?;
            if !store::update(conn, &id, current.version, &values, now)? {
                return Err(ApiError::Busy("the plan changed during the request".into()));
            }
            let details = serde_json::json!({ "name": values.name });
            record(conn, &context, actions::PLAN_UPDATE, &id, current.owner_id.as_deref(), details, now)?;
            store::find_owned(conn, &PlanOwnership::Any, &id)?.ok_or_else(ApiError::not_found)
        })
        .await
}

/// Archive a plan: it is no longer sold; services on it keep it. Archiving an archived
/// plan changes nothing.
pub async fn archive(state: &AppState, actor: &Actor, plan: OwnedPlan) -> Result<(), ApiError> {
    plan.expect(Action::ArchivePlan)?;
    let context = AuditContext::of(actor);
    let row = plan.row;
    state
        .db
        .write(move |conn| {
            let now = time::now();
            if store::archive(conn, &row.id, now)? {
                record(
                    conn,
                    &context,
                    actions::PLAN_ARCHIVE,
                    &row.id,
                    row.owner_id.as_deref(),
                    serde_json::json!({}),
                    now,
                )?;
            }
            Ok(())
        })
        .await
}

fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    action: &'static str,
    plan_id: &str,
    owner_id: Option<&str>,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let event = NewEvent { action, target_type: target::PLAN, target_id: plan_id, account_id: owner_id, details };
    Ok(audit::record(conn, context, event, now)?)
}

/// What `change` makes of the plan `row`.
fn changed(row: &PlanRow, change: &PlanChange) -> Result<NewPlan, ApiError> {
    Ok(NewPlan {
        name: required(&change.name, &row.name, "/name")?,
        service_kind: row.service_kind,
        quotas: match &change.quotas {
            Patch::Absent => row.quotas.clone(),
            Patch::Null => Quotas::default(),
            Patch::Value(quotas) => quotas.clone(),
        },
        prices: required(&change.prices, &row.prices, "/prices")?,
        addons: match &change.addons {
            Patch::Absent => row.addons.clone(),
            Patch::Null => Vec::new(),
            Patch::Value(addons) => addons.clone(),
        },
        public: required(&change.public, &row.public, "/public")?,
    })
}

/// Takes a patch field that may not be cleared: `null` is refused with its pointer.
fn required<T: Clone>(patch: &Patch<T>, current: &T, pointer: &str) -> Result<T, ApiError> {
    match patch {
        Patch::Absent => Ok(current.clone()),
        Patch::Value(value) => Ok(value.clone()),
        Patch::Null => Err(ApiError::field(pointer, Invalid::new("required", "cannot be cleared"))),
    }
}

/// The plan checked as a whole (every rule that refuses it, with its pointer), as stored.
fn checked(plan: NewPlan) -> Result<PlanValues, ApiError> {
    let mut errors = Vec::new();
    let kind = plan.service_kind;
    let name = match DisplayName::parse(&plan.name) {
        Ok(name) => name.as_str().to_owned(),
        Err(invalid) => {
            errors.push(FieldError::new("/name", invalid));
            String::new()
        }
    };
    for key in plan.quotas.set_but_not_applying_to(kind) {
        errors.push(FieldError::new(
            format!("/quotas/{key}"),
            Invalid::new("not_applicable", format!("{key} does not apply to {} plans", kind.as_str())),
        ));
    }
    if plan.prices.is_empty() || plan.prices.len() > BillingCycle::ALL.len() {
        errors.push(FieldError::new(
            "/prices",
            Invalid::new("invalid_length", "give one price per billing cycle offered"),
        ));
    }
    let currency = plan.prices.first().map(|p| p.currency.clone());
    check_prices("/prices", &plan.prices, currency.as_ref(), None, &mut errors);
    let cycles: HashSet<BillingCycle> = plan.prices.iter().map(|p| p.cycle).collect();
    if plan.addons.len() > MAX_ADDONS {
        errors
            .push(FieldError::new("/addons", Invalid::new("invalid_length", format!("at most {MAX_ADDONS} add-ons"))));
    }
    let mut codes = HashSet::new();
    for (index, addon) in plan.addons.iter().enumerate() {
        let at = format!("/addons/{index}");
        if !valid_code(&addon.code) {
            errors.push(FieldError::new(format!("{at}/code"), Invalid::new("invalid_code", "1-40 of a-z 0-9 _ -")));
        } else if !codes.insert(addon.code.as_str()) {
            errors.push(FieldError::new(format!("{at}/code"), Invalid::new("duplicate", "each add-on code once")));
        }
        if let Err(invalid) = DisplayName::parse(&addon.name) {
            errors.push(FieldError::new(format!("{at}/name"), invalid));
        }
        for key in QuotaKey::ALL {
            if addon.quota_delta.get(key) > 0 && !key.applies_to(kind) {
                errors.push(FieldError::new(
                    format!("{at}/quota_delta/{}", key.as_str()),
                    Invalid::new(
                        "not_applicable",
                        format!("{} does not apply to {} plans", key.as_str(), kind.as_str()),
                    ),
                ));
            }
        }
        if addon.prices.is_empty() {
            errors
                .push(FieldError::new(format!("{at}/prices"), Invalid::new("invalid_length", "an add-on has a price")));
        }
        // Without plan prices there is nothing to compare with: that refusal is enough.
        let offered = (!cycles.is_empty()).then_some(&cycles);
        check_prices(&format!("{at}/prices"), &addon.prices, currency.as_ref(), offered, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    Ok(PlanValues {
        name,
        service_kind: kind,
        quotas: plan.quotas,
        prices: plan.prices,
        addons: plan.addons,
        public: plan.public,
    })
}

/// A reseller's plan never allows more than the reseller's own package, add-ons
/// included: `422 exceeds_reseller_package`, pointing at each quota that does. The
/// provider's plans and resellers without a package have no ceiling. Locks the package.
fn check_package(conn: &mut DbConnection, owner: Option<&str>, plan: &PlanValues) -> Result<(), ApiError> {
    let Some(owner) = owner else { return Ok(()) };
    let most = plan.quotas.with_addons(plan.addons.iter().map(|addon| &addon.quota_delta));
    for package in service_store::lock_packages(conn, &[owner.to_owned()])? {
        let ceiling = package.quotas.clone();
        let errors: Vec<FieldError> = most
            .exceeding(&ceiling, plan.service_kind)
            .into_iter()
            .map(|key| {
                let limit = QuotaKey::parse(key).and_then(|k| ceiling.get(k));
                FieldError::new(
                    format!("/quotas/{key}"),
                    Invalid::new(
                        "exceeds_reseller_package",
                        format!(
                            "the reseller package allows {} {key}; this plan (with its add-ons) allows more",
                            limit.unwrap_or(0)
                        ),
                    ),
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::Validation { code: "exceeds_reseller_package", errors });
        }
    }
    Ok(())
}

fn valid_code(code: &str) -> bool {
    let mut chars = code.chars();
    (1..=40).contains(&code.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Each price: a bounded amount, the plan's one currency, each cycle once, and (for
/// add-ons) only cycles the plan is sold in.
fn check_prices(
    at: &str,
    prices: &[Price],
    currency: Option<&Currency>,
    plan_cycles: Option<&HashSet<BillingCycle>>,
    errors: &mut Vec<FieldError>,
) {
    let mut seen = HashSet::new();
    for (index, price) in prices.iter().enumerate() {
        let here = format!("{at}/{index}");
        if !(0..=MAX_AMOUNT_MINOR).contains(&price.amount_minor) {
            errors.push(FieldError::new(
                format!("{here}/amount_minor"),
                Invalid::new("out_of_range", format!("0 to {MAX_AMOUNT_MINOR}")),
            ));
        }
        if currency.is_some_and(|c| *c != price.currency) {
            errors.push(FieldError::new(
                format!("{here}/currency"),
                Invalid::new("currency_mismatch", "a plan is priced in one currency"),
            ));
        }
        if !seen.insert(price.cycle) {
            errors.push(FieldError::new(format!("{here}/cycle"), Invalid::new("duplicate", "one price per cycle")));
        }
        if plan_cycles.is_some_and(|cycles| !cycles.contains(&price.cycle)) {
            errors.push(FieldError::new(
                format!("{here}/cycle"),
                Invalid::new("not_offered", "the plan is not sold in this cycle"),
            ));
        }
    }
}
