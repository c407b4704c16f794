//! Moving a service to another plan: the prorated quote anyone who reaches the service
//! may ask for, and the change itself (sellers, until billing charges for it).
//!
//! The quote is the contract's proration: (days left in the cycle / days in the cycle) ×
//! (new recurring price − current one), rounded half up to the minor unit, where the cycle
//! is the one ending at `next_due_at` (domain::proration).

use chrono::{NaiveDate, NaiveDateTime};

use hostadmin_domain::accounts::AccountKind;
use hostadmin_domain::audit as actions;
use hostadmin_domain::catalog::{BillingCycle, QuotaKey, Quotas, Sale, ServiceKind};
use hostadmin_domain::ids::parse_id;
use hostadmin_domain::policy::{Action, Actor, Relation};
use hostadmin_domain::proration::{self, Quote};
use hostadmin_domain::provisioning::{Operation, Provisioner};
use hostadmin_domain::time;
use hostadmin_domain::validation::Invalid;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::audit::AuditContext;
use hostadmin_persistence::plans::{self as plan_store, PlanOwnership, PlanRow, PlanVisibility};
use hostadmin_persistence::services::{self as service_store, PlanChange, ServiceRow};
use hostadmin_persistence::{usage, DbConnection};

use crate::app::access::Reached;
use crate::app::lifecycle::{changed_meanwhile, current};
use crate::app::lifecycle::{record, requester, require_active};
use crate::app::provisioning;
use crate::http::etag::IfMatch;
use crate::http::problem::{ApiError, FieldError};
use crate::state::AppState;

/// A plan change, as asked for.
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub plan_id: String,
    /// `None` keeps the service's current add-ons (the new plan must sell them too).
    pub addons: Option<Vec<String>>,
}

/// A quote, and the service when the change was applied.
#[derive(Debug, Clone)]
pub struct PlanChangeOutcome {
    pub quote: Quote,
    pub service: Option<ServiceRow>,
}

/// What the change would cost today, changing nothing (`Action::QuoteServicePlan`).
pub async fn quote(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    plan: NewPlan,
) -> Result<PlanChangeOutcome, ApiError> {
    service.expect(Action::QuoteServicePlan)?;
    let (_, sale, _) = priced(state, actor, &service, plan).await?;
    let quote = price_quote(&service.row, &sale, time::now().date())?;
    Ok(PlanChangeOutcome { quote, service: None })
}

/// Move the service to the plan (`Action::ChangeServicePlan`): replaces the plan, add-ons,
/// quotas and recurring price of an active service; refused (`409 quota_exceeded`) when
/// the new limits are below what is in use.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    service: Reached<ServiceRow>,
    plan: NewPlan,
    if_match: IfMatch,
) -> Result<PlanChangeOutcome, ApiError> {
    service.expect(Action::ChangeServicePlan)?;
    let (plan_row, sale, addons) = priced(state, actor, &service, plan).await?;
    // Also the last input check (a plan priced in another currency cannot be prorated);
    // the transaction quotes again with its own clock.
    price_quote(&service.row, &sale, time::now().date())?;
    let change =
        PlanChange { plan_id: plan_row.id.clone(), addons, quotas: sale.quotas.clone(), price: sale.price.clone() };
    let context = AuditContext::of(actor);
    let provisioner = state.provisioner.clone();
    let id = service.row.id.clone();
    let (row, quote) = state
        .db
        .write(move |conn| change_in(conn, provisioner.as_ref(), &context, &id, &if_match, &change, &sale, time::now()))
        .await?;
    Ok(PlanChangeOutcome { quote, service: Some(row) })
}

/// The change in the caller's transaction (a paid order's plan change): an active
/// service, limits not below what is in use, the provisioner told.
#[allow(clippy::too_many_arguments)]
pub fn change_in(
    conn: &mut DbConnection,
    provisioner: &dyn Provisioner,
    context: &AuditContext,
    id: &str,
    if_match: &IfMatch,
    change: &PlanChange,
    sale: &Sale,
    now: NaiveDateTime,
) -> Result<(ServiceRow, Quote), ApiError> {
    let row = current(conn, id, if_match)?;
    require_active(&row, "a plan change")?;
    let quote = price_quote(&row, sale, now.date())?;
    refuse_overuse(conn, &row, row.kind, &sale.quotas)?;
    if !service_store::set_plan(conn, &row.id, row.version, change, now)? {
        return Err(changed_meanwhile());
    }
    let details = serde_json::json!({
        "from_plan_id": row.plan_id,
        "plan_id": change.plan_id,
        "from_addons": row.addons,
        "addons": change.addons,
        "from_recurring_amount_minor": row.recurring_amount_minor,
        "recurring_amount_minor": change.price.amount_minor,
        "amount_minor": quote.amount_minor,
        "currency": quote.currency,
        "effective_at": quote.effective_at,
    });
    record(conn, context, &row, actions::SERVICE_CHANGE_PLAN, details, now)?;
    let changed = service_store::find(conn, &row.id)?.ok_or_else(ApiError::not_found)?;
    let operation =
        Operation::ChangePlan { service: provisioning::spec_of(&changed), from_plan_id: row.plan_id.clone() };
    provisioning::request(conn, provisioner, operation, requester(context, &row), now)?;
    Ok((changed, quote))
}

/// What moving the service to `plan` would cost its owner now, from the plans offered
/// to the owner (the public plans of its seller): the plan, the sale, the add-ons and
/// the prorated quote. Refusals point into the plan change (`/plan_id`, `/addons`).
pub fn offered_to_owner(
    conn: &mut DbConnection,
    row: &ServiceRow,
    plan: &NewPlan,
    now: NaiveDateTime,
) -> Result<(PlanRow, Sale, Vec<String>, Quote), ApiError> {
    let plan_id = parse_id(&plan.plan_id).ok_or_else(ApiError::not_found)?;
    let owner = account_store::find(conn, &row.owner_id)?.ok_or_else(ApiError::not_found)?;
    let visibility = PlanVisibility::OwnAndPublicOf { owner: None, seller: owner.parent_id };
    let plan_row = plan_store::find_visible(conn, &visibility, &plan_id)?.ok_or_else(ApiError::not_found)?;
    let (sale, addons) = sale_of(row, &plan_row, plan.addons.clone())?;
    let quote = price_quote(row, &sale, now.date())?;
    Ok((plan_row, sale, addons, quote))
}

/// The plan the actor may move the service to, and the sale it amounts to.
async fn priced(
    state: &AppState,
    actor: &Actor,
    service: &Reached<ServiceRow>,
    plan: NewPlan,
) -> Result<(PlanRow, Sale, Vec<String>), ApiError> {
    let plan_id = parse_id(&plan.plan_id).ok_or_else(ApiError::not_found)?;
    let choice = choice(actor, service);
    let plan_row = state
        .db
        .run(move |conn| {
            let plan = match &choice {
                Choice::Sells(ownership) => plan_store::find_owned(conn, ownership, &plan_id)?,
                Choice::OfferedToOwner(owner_id) => {
                    let owner = account_store::find(conn, owner_id)?.ok_or_else(ApiError::not_found)?;
                    let visibility = PlanVisibility::OwnAndPublicOf { owner: None, seller: owner.parent_id };
                    plan_store::find_visible(conn, &visibility, &plan_id)?
                }
            };
            plan.ok_or_else(ApiError::not_found)
        })
        .await?;
    let (sale, addons) = sale_of(&service.row, &plan_row, plan.addons)?;
    Ok((plan_row, sale, addons))
}

/// The sale moving the service to `plan_row` amounts to: a plan of the service's kind,
/// sold in its cycle, with the add-ons asked for (`None`: the service's own).
fn sale_of(row: &ServiceRow, plan_row: &PlanRow, addons: Option<Vec<String>>) -> Result<(Sale, Vec<String>), ApiError> {
    let kind = row.kind;
    if plan_row.service_kind != kind {
        return Err(ApiError::field(
            "/plan_id",
            Invalid::new(
                "kind_mismatch",
                format!("the plan sells {}, the service is {}", plan_row.service_kind.as_str(), kind.as_str()),
            ),
        ));
    }
    let addons_sent = addons.is_some();
    let addons = addons.unwrap_or_else(|| row.addons.clone());
    let sale = plan_row
        .offer()
        .sale(row.cycle, &addons)
        .map_err(|refused| refused_in_this_request(refused, row.cycle, &addons, addons_sent))?;
    Ok((sale, addons))
}

/// The plans the actor may move this service to.
enum Choice {
    /// A seller: the plans it sells, as when it creates a service.
    Sells(PlanOwnership),
    /// The owner or a grantee, for a quote: what the owner is offered (the public plans
    /// of the account above it).
    OfferedToOwner(String),
}

fn choice(actor: &Actor, service: &Reached<ServiceRow>) -> Choice {
    match (actor.kind, &service.relation) {
        (AccountKind::Operator, Relation::Owner | Relation::Above) => Choice::Sells(PlanOwnership::Any),
        (_, Relation::Above) => Choice::Sells(PlanOwnership::OwnedBy(actor.account_id.clone())),
        _ => Choice::OfferedToOwner(service.row.owner_id.clone()),
    }
}

/// A sale's refusals with pointers into this request: the service's cycle is not a field
/// here, so "not sold in this cycle" points at the plan, and add-ons the service keeps
/// (none sent) at `/addons`.
fn refused_in_this_request(
    refused: Vec<(String, Invalid)>,
    cycle: BillingCycle,
    addons: &[String],
    addons_sent: bool,
) -> ApiError {
    ApiError::fields(
        refused
            .into_iter()
            .map(|(pointer, mut invalid)| {
                if pointer == "/cycle" {
                    invalid.detail = format!("the plan is not sold in the service's cycle ({})", cycle.as_str());
                    return FieldError::new("/plan_id", invalid);
                }
                if !addons_sent && pointer.starts_with("/addons/") {
                    let code = pointer
                        .trim_start_matches("/addons/")
                        .parse::<usize>()
                        .ok()
                        .and_then(|index| addons.get(index))
                        .map_or("", String::as_str);
                    invalid.detail =
                        format!("the service's add-on {code} cannot be kept ({}); send addons", invalid.detail);
                    return FieldError::new("/addons", invalid);
                }
                FieldError::new(pointer, invalid)
            })
            .collect(),
    )
}

/// The prorated difference between the service's price and the sale's, on `today`.
fn price_quote(row: &ServiceRow, sale: &Sale, today: NaiveDate) -> Result<Quote, ApiError> {
    proration::quote_for_service(
        &row.recurring_price(),
        &sale.price,
        row.cycle,
        row.registered_at,
        row.next_due_at,
        today,
    )
    .map_err(|refused| ApiError::field("/plan_id", Invalid::new(refused.code(), refused.to_string())))
}

/// Refuses a plan whose limits are below what the service already uses.
fn refuse_overuse(
    conn: &mut DbConnection,
    row: &ServiceRow,
    kind: ServiceKind,
    quotas: &Quotas,
) -> Result<(), ApiError> {
    for (key, used) in in_use(conn, row, kind)? {
        if let Some(limit) = quotas.get(key).filter(|limit| used > *limit) {
            return Err(ApiError::conflict(
                "quota_exceeded",
                format!("the new plan allows {limit} {}, but {used} are in use", key.as_str()),
            ));
        }
    }
    Ok(())
}

/// How much of each resource limiting a service of `kind` is in use, in the contract's
/// order, counted as the quota checks count it: a reseller package counts what every
/// account below its owner holds, any other service its own resources. Sizes (disk,
/// bandwidth) are the servers' to measure; until a provisioner reports them they read 0.
pub fn in_use(conn: &mut DbConnection, row: &ServiceRow, kind: ServiceKind) -> Result<Vec<(QuotaKey, u64)>, ApiError> {
    QuotaKey::applying_to(kind)
        .map(|key| {
            let used = match (kind, key) {
                (ServiceKind::ResellerHosting, QuotaKey::Customers) => {
                    service_store::count_accounts_below(conn, &row.owner_id)?
                }
                (ServiceKind::ResellerHosting, QuotaKey::Services) => service_store::count_below(conn, &row.owner_id)?,
                (ServiceKind::ResellerHosting, resource) => {
                    usage::count_below(conn, &row.owner_id, resource)?.unwrap_or(0)
                }
                (_, resource) => usage::count_in_service(conn, &row.id, resource)?.unwrap_or(0),
            };
            Ok((key, u64::try_from(used).unwrap_or(0)))
        })
        .collect()
}
