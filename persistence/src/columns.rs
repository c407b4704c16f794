//! How domain types are stored in the columns both backends share: a closed set of names
//! (a status, a kind) as text, a structured value (quotas, add-ons) as JSON text. Each
//! mapping exists once, here; rows carry the domain types, so no caller parses a stored
//! string again.
//!
//! A row field is read through [`Text`] or [`Json`] with diesel's `deserialize_as`:
//!
//! ```ignore
//! #[diesel(deserialize_as = Text<ServiceStatus>)]
//! pub status: ServiceStatus,
//! ```
//!
//! A set stored as a list of names (an API key's scopes, a grant's permissions, the
//! disabled actions) is read through [`Listed`]: names this version does not know are
//! skipped, so that a name added later never widens what an older server allows.
//!
//! A stored value this version cannot read (a status it does not know, JSON of another
//! shape) fails the query with an error that names the type and the value, never a panic.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::sql_types;
use serde::de::DeserializeOwned;

use hostadmin_domain::accounts::{AccountKind, AccountStatus, Profile};
use hostadmin_domain::authorizations::{GrantStatus, PermissionSet};
use hostadmin_domain::billing::document::{BuyerSnapshot, InvoiceStatus, SellerSnapshot};
use hostadmin_domain::billing::ledger::{InvoiceKind, OrderStatus, PaymentMethod, PricedItem};
use hostadmin_domain::billing::settings::BillingSettings;
use hostadmin_domain::billing::totals::InvoiceLine;
use hostadmin_domain::catalog::{Addon, BillingCycle, Price, Quotas, ServiceKind};
use hostadmin_domain::certificates::CertificateSource;
use hostadmin_domain::credentials::EmailTokenPurpose;
use hostadmin_domain::holds::HoldKind;
use hostadmin_domain::jobs::{JobKind, JobStatus};
use hostadmin_domain::login_links::Tool;
use hostadmin_domain::money::Currency;
use hostadmin_domain::restrictions::Restrictions;
use hostadmin_domain::scopes::ScopeSet;
use hostadmin_domain::services::{Cancellation, ServiceStatus};
use hostadmin_domain::status::{ComponentStatus, Impact, IncidentKind, Progress};
use hostadmin_domain::support::{AttachmentType, Direction, Priority, Side, TicketStatus};
use hostadmin_domain::webhooks::{DeliveryStatus, EventFilters};

/// A domain type stored as one of a closed set of names.
pub trait TextColumn: Sized {
    /// What the type is called in an error about a stored value.
    const WHAT: &'static str;
    fn to_text(&self) -> &str;
    fn from_text(text: &str) -> Option<Self>;
}

macro_rules! text_column {
    ($($type:ty => $what:literal),* $(,)?) => {$(
        // diesel's `deserialize_as` needs `Into<field type>`; a generic `From<Text<T>> for
        // T` is refused by the orphan rule, so each type gets its own.
        impl From<Text<$type>> for $type {
            fn from(Text(value): Text<$type>) -> Self {
                value
            }
        }

        impl TextColumn for $type {
            const WHAT: &'static str = $what;
            fn to_text(&self) -> &str {
                self.as_str()
            }
            fn from_text(text: &str) -> Option<Self> {
                <$type>::parse(text)
            }
        }
    )*};
}

text_column! {
    AccountKind => "account kind",
    AccountStatus => "account status",
    ServiceStatus => "service status",
    ServiceKind => "service kind",
    BillingCycle => "billing cycle",
    HoldKind => "hold kind",
    GrantStatus => "grant status",
    JobKind => "job kind",
    JobStatus => "job status",
    EmailTokenPurpose => "email token purpose",
    DeliveryStatus => "webhook delivery status",
    Tool => "login link tool",
    TicketStatus => "ticket status",
    Priority => "ticket priority",
    Side => "ticket side",
    Direction => "ticket direction",
    AttachmentType => "attachment type",
    ComponentStatus => "component status",
    IncidentKind => "incident kind",
    Impact => "incident impact",
    Progress => "incident progress",
    OrderStatus => "order status",
    InvoiceKind => "invoice kind",
    InvoiceStatus => "invoice status",
    PaymentMethod => "payment method",
    CertificateSource => "certificate source",
}

impl From<Text<Currency>> for Currency {
    fn from(Text(value): Text<Currency>) -> Self {
        value
    }
}

impl TextColumn for Currency {
    const WHAT: &'static str = "currency";
    fn to_text(&self) -> &str {
        self.as_str()
    }
    fn from_text(text: &str) -> Option<Self> {
        Currency::parse(text).ok()
    }
}

/// A [`TextColumn`] as read from a `Text` column.
#[derive(Debug, FromSqlRow)]
pub struct Text<T>(T);

impl<T, DB> FromSql<sql_types::Text, DB> for Text<T>
where
    T: TextColumn,
    DB: Backend,
    String: FromSql<sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        T::from_text(&text).map(Text).ok_or_else(|| Unreadable::new(T::WHAT, &text).into())
    }
}

/// A value stored as JSON in a `Text` column.
#[derive(Debug, FromSqlRow)]
pub struct Json<T>(T);

impl<T, DB> FromSql<sql_types::Text, DB> for Json<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(|error| Unreadable::new(std::any::type_name::<T>(), &format!("{text} ({error})")).into())
    }
}

/// The types stored as JSON, each readable through [`Json`] (and [`OptionalJson`]).
macro_rules! json_column {
    ($($type:ty),* $(,)?) => {$(
        impl From<Json<$type>> for $type {
            fn from(Json(value): Json<$type>) -> Self {
                value
            }
        }
    )*};
}

json_column!(
    Vec<String>,
    Quotas,
    Cancellation,
    Vec<Price>,
    Vec<Addon>,
    Profile,
    serde_json::Value,
    EventFilters,
    BillingSettings,
    SellerSnapshot,
    BuyerSnapshot,
    Vec<InvoiceLine>,
    Vec<PricedItem>,
);

/// A set stored as a list of names in a `Text` column.
pub trait ListColumn: Sized {
    /// Reads the stored list, skipping names this version does not know.
    fn from_list(text: &str) -> Self;
}

/// A [`ListColumn`] as read from a `Text` column.
#[derive(Debug, FromSqlRow)]
pub struct Listed<T>(T);

impl<T, DB> FromSql<sql_types::Text, DB> for Listed<T>
where
    T: ListColumn,
    DB: Backend,
    String: FromSql<sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Listed(T::from_list(&String::from_sql(bytes)?)))
    }
}

impl<T> Listed<T> {
    /// The set read.
    pub fn into_inner(self) -> T {
        self.0
    }
}

macro_rules! list_column {
    ($($type:ty),* $(,)?) => {$(
        impl From<Listed<$type>> for $type {
            fn from(Listed(value): Listed<$type>) -> Self {
                value
            }
        }

        impl ListColumn for $type {
            fn from_list(text: &str) -> Self {
                <$type>::from_storage(text)
            }
        }
    )*};
}

list_column!(ScopeSet, PermissionSet, Restrictions);

/// The stored JSON of a value, for inserts and updates.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String, crate::StoreError> {
    serde_json::to_string(value)
        .map_err(|error| crate::StoreError::Corrupt(format!("encoding a value as JSON: {error}")))
}

/// A stored value this version cannot read.
#[derive(Debug)]
struct Unreadable {
    what: &'static str,
    value: String,
}

impl Unreadable {
    fn new(what: &'static str, value: &str) -> Self {
        // Enough to recognise the value in a log, never a whole document.
        Self { what, value: value.chars().take(120).collect() }
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored {} cannot be read: {:?}", self.what, self.value)
    }
}

impl std::error::Error for Unreadable {}

/// A value stored as JSON in a nullable `Text` column (`NULL`: none).
#[derive(Debug)]
pub struct OptionalJson<T>(Option<T>);

impl From<OptionalJson<Cancellation>> for Option<Cancellation> {
    fn from(OptionalJson(value): OptionalJson<Cancellation>) -> Self {
        value
    }
}

impl<T, DB> diesel::Queryable<sql_types::Nullable<sql_types::Text>, DB> for OptionalJson<T>
where
    T: DeserializeOwned,
    DB: Backend,
    Option<Json<T>>: diesel::deserialize::FromStaticSqlRow<sql_types::Nullable<sql_types::Text>, DB>,
{
    type Row = Option<Json<T>>;

    fn build(row: Self::Row) -> deserialize::Result<Self> {
        Ok(Self(row.map(|Json(value)| value)))
    }
}

/// A timestamp about to be stored, refused when it is outside the years 0001-9999: text
/// timestamps (SQLite) sort as time only while every year has four digits, and the API
/// answers RFC 3339. Use cases refuse such dates first, with a pointer (422); this is
/// the last line.
pub fn timestamp(at: chrono::NaiveDateTime) -> Result<chrono::NaiveDateTime, crate::StoreError> {
    hostadmin_domain::time::checked(at)
        .map_err(|_| crate::StoreError::Corrupt(format!("timestamp {at} is out of range")))
}
