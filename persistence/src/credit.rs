//! Buyers' credit with their sellers: a balance per account and currency, never below
//! zero, and the log of every change.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::money::Currency;

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{credit_balances, credit_transactions};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credit_balances, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct BalanceRow {
    #[diesel(deserialize_as = Text<Currency>)]
    pub currency: Currency,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credit_transactions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TransactionRow {
    pub id: String,
    #[diesel(deserialize_as = Text<Currency>)]
    pub currency: Currency,
    pub amount_minor: i64,
    pub balance_minor: i64,
    pub reason: String,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

/// One change of a balance.
#[derive(Debug, Clone)]
pub struct CreditChange<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub currency: &'a Currency,
    /// Positive adds, negative takes.
    pub amount_minor: i64,
    pub reason: &'a str,
    pub invoice_id: Option<&'a str>,
    pub payment_id: Option<&'a str>,
    pub created_by: Option<&'a str>,
    pub now: NaiveDateTime,
}

/// Every balance of an account, by currency.
pub fn balances(conn: &mut DbConnection, account_id: &str) -> Result<Vec<BalanceRow>, StoreError> {
    Ok(credit_balances::table
        .filter(credit_balances::account_id.eq(account_id))
        .order(credit_balances::currency.asc())
        .select(BalanceRow::as_select())
        .load(conn)?)
}

/// The balance of one currency (0 when there is none).
pub fn balance(conn: &mut DbConnection, account_id: &str, currency: &Currency) -> Result<i64, StoreError> {
    Ok(credit_balances::table
        .filter(credit_balances::account_id.eq(account_id))
        .filter(credit_balances::currency.eq(currency.as_str()))
        .select(credit_balances::amount_minor)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Applies the change in one conditional statement, so that concurrent takers cannot
/// together overdraw the balance, and logs it. Answers the new balance, or `None` (and
/// changes nothing) when it would go below zero.
pub fn change(conn: &mut DbConnection, change: &CreditChange) -> Result<Option<i64>, StoreError> {
    let delta = change.amount_minor;
    let target = credit_balances::table
        .filter(credit_balances::account_id.eq(change.account_id))
        .filter(credit_balances::currency.eq(change.currency.as_str()))
        .filter((credit_balances::amount_minor + delta).ge(0_i64));
    let updated: Option<i64> = diesel::update(target)
        .set((
            credit_balances::amount_minor.eq(credit_balances::amount_minor + delta),
            credit_balances::updated_at.eq(change.now),
        ))
        .returning(credit_balances::amount_minor)
        .get_result(conn)
        .optional()?;
    let balance = match updated {
        Some(balance) => balance,
        None if delta < 0 => return Ok(None),
        // Nothing to update and nothing taken: the account has no balance in this
        // currency yet (an existing one always takes an addition).
        None => match diesel::insert_into(credit_balances::table)
            .values((
                credit_balances::account_id.eq(change.account_id),
                credit_balances::currency.eq(change.currency.as_str()),
                credit_balances::amount_minor.eq(delta),
                credit_balances::updated_at.eq(change.now),
            ))
            .execute(conn)
        {
            Ok(_) => delta,
            Err(error) => match StoreError::from(error) {
                StoreError::Unique(_) => {
                    return Err(StoreError::Busy("the credit balance was created meanwhile".into()))
                }
                other => return Err(other),
            },
        },
    };
    diesel::insert_into(credit_transactions::table)
        .values((
            credit_transactions::id.eq(change.id),
            credit_transactions::account_id.eq(change.account_id),
            credit_transactions::currency.eq(change.currency.as_str()),
            credit_transactions::amount_minor.eq(delta),
            credit_transactions::balance_minor.eq(balance),
            credit_transactions::reason.eq(change.reason),
            credit_transactions::invoice_id.eq(change.invoice_id),
            credit_transactions::payment_id.eq(change.payment_id),
            credit_transactions::created_by.eq(change.created_by),
            credit_transactions::created_at.eq(change.now),
        ))
        .execute(conn)?;
    Ok(Some(balance))
}

/// One page of an account's credit changes, newest first.
pub fn transactions(
    conn: &mut DbConnection,
    account_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<TransactionRow>, StoreError> {
    let mut query = credit_transactions::table.filter(credit_transactions::account_id.eq(account_id)).into_boxed();
    if let Some(before) = before_id {
        query = query.filter(credit_transactions::id.lt(before));
    }
    Ok(query.order(credit_transactions::id.desc()).limit(limit).select(TransactionRow::as_select()).load(conn)?)
}
