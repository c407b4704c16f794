//! Orders: what a buyer asked its seller for, priced, with the invoice that bills it.
//! Reached by the buyer, the accounts above it, and grantees with `billing` on the
//! order's service.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::billing::ledger::{OrderStatus, PricedItem};
use hostadmin_domain::money::Currency;
use hostadmin_domain::policy::{Reach, Relation};

use crate::authorizations::{self, GrantedServices};
use crate::columns::{Json, Text};
use crate::connection::DbConnection;
use crate::counters;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
use crate::reach::reached;
use crate::schema::orders;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OrderRow {
    pub id: String,
    pub number: i64,
    /// `None`: the provider.
    pub seller_id: Option<String>,
    pub buyer_id: String,
    pub service_id: Option<String>,
    #[diesel(deserialize_as = Text<Currency>)]
    pub currency: Currency,
    #[diesel(deserialize_as = Json<Vec<PricedItem>>)]
    pub items: Vec<PricedItem>,
    pub total_minor: i64,
    #[diesel(deserialize_as = Text<OrderStatus>)]
    pub status: OrderStatus,
    pub failure: Option<String>,
    pub note: Option<String>,
    pub invoice_id: Option<String>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub id: &'a str,
    pub seller_id: Option<&'a str>,
    pub buyer_id: &'a str,
    pub service_id: Option<&'a str>,
    pub currency: &'a Currency,
    pub items: &'a [PricedItem],
    pub total_minor: i64,
    pub note: Option<&'a str>,
    pub created_by: &'a str,
    pub now: NaiveDateTime,
}

/// Inserts a pending order with the seller's next order number; answers the number.
pub fn insert(conn: &mut DbConnection, new: &NewOrder) -> Result<i64, StoreError> {
    let number = counters::next(conn, &counters::per_seller("order_number", new.seller_id))?;
    let items = serde_json::to_string(new.items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(new.id),
            orders::number.eq(number),
            orders::seller_id.eq(new.seller_id),
            orders::buyer_id.eq(new.buyer_id),
            orders::service_id.eq(new.service_id),
            orders::currency.eq(new.currency.as_str()),
            orders::items.eq(items),
            orders::total_minor.eq(new.total_minor),
            orders::status.eq(OrderStatus::Pending.as_str()),
            orders::note.eq(new.note),
            orders::created_by.eq(new.created_by),
            orders::version.eq(1_i64),
            orders::created_at.eq(new.now),
            orders::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(number)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<OrderRow>, StoreError> {
    Ok(orders::table.filter(orders::id.eq(id)).select(OrderRow::as_select()).first(conn).optional()?)
}

/// The order, read after locking its row until the transaction ends (a no-op update,
/// as for accounts): its payment, cancellation and fulfilment take turns.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> Result<Option<OrderRow>, StoreError> {
    diesel::update(orders::table.filter(orders::id.eq(id))).set(orders::version.eq(orders::version)).execute(conn)?;
    find(conn, id)
}

/// What a change of an order sets.
#[derive(Debug, Clone, Default)]
pub struct OrderChanges<'a> {
    pub status: Option<OrderStatus>,
    pub failure: Option<&'a str>,
    pub invoice_id: Option<&'a str>,
    pub service_id: Option<&'a str>,
}

/// Applies the changes if the order is still at `version`; answers whether it did.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &OrderChanges,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let target = orders::table.filter(orders::id.eq(id)).filter(orders::version.eq(version));
    let updated =
        diesel::update(target).set((orders::version.eq(version + 1), orders::updated_at.eq(now))).execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    let target = orders::table.filter(orders::id.eq(id));
    if let Some(status) = changes.status {
        diesel::update(target).set(orders::status.eq(status.as_str())).execute(conn)?;
    }
    if let Some(failure) = changes.failure {
        diesel::update(target).set(orders::failure.eq(failure)).execute(conn)?;
    }
    if let Some(invoice_id) = changes.invoice_id {
        diesel::update(target).set(orders::invoice_id.eq(invoice_id)).execute(conn)?;
    }
    if let Some(service_id) = changes.service_id {
        diesel::update(target).set(orders::service_id.eq(service_id)).execute(conn)?;
    }
    Ok(true)
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub buyer_id: Option<String>,
    pub status: Option<OrderStatus>,
    pub before_id: Option<String>,
}

/// The order with the actor's relation to its buyer, if the actor reaches it.
pub fn find_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    id: &str,
) -> Result<Option<(OrderRow, Relation)>, StoreError> {
    let Some(row) = find(conn, id)? else { return Ok(None) };
    let relation = authorizations::relation_to(conn, reach, &row.buyer_id, row.service_id.as_deref())?;
    Ok(relation.map(|relation| (row, relation)))
}

/// One page of the orders the actor reaches, newest first.
pub fn list_in_reach(
    conn: &mut DbConnection,
    reach: &Reach,
    granted: &GrantedServices,
    filter: &OrderFilter,
    limit: i64,
) -> Result<Vec<OrderRow>, StoreError> {
    let mut query = orders::table.filter(reached!(orders, buyer_id, service_id, reach, granted)).into_boxed();
    if let Some(buyer) = &filter.buyer_id {
        query = query.filter(orders::buyer_id.eq(buyer));
    }
    if let Some(status) = filter.status {
        query = query.filter(orders::status.eq(status.as_str()));
    }
    if let Some(before) = &filter.before_id {
        query = query.filter(orders::id.lt(before));
    }
    Ok(query.order(orders::id.desc()).limit(limit).select(OrderRow::as_select()).planned_each_time().load(conn)?)
}
