//! The installation-wide register of hosted mail addresses: one row per mailbox address
//! or forward source. Its primary key is what keeps a mailbox and a forward (or two of
//! either) from taking one address, also when they are created at the same moment: the
//! second insert waits for the first transaction and then fails on the key.

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::mail_addresses;

/// What holds an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Mailbox,
    Forward,
}

impl AddressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mailbox => "mailbox",
            Self::Forward => "forward",
        }
    }
}

/// The address is already held by a mailbox or a forward.
#[derive(Debug)]
pub struct Taken;

/// Registers `address` for a resource, inside the creating transaction. `Ok(Err(Taken))`
/// when the address is in use; the caller must then end the transaction (on PostgreSQL a
/// failed insert leaves it unusable), which answering 409 does.
pub fn claim(
    conn: &mut DbConnection,
    address: &str,
    kind: AddressKind,
    resource_id: &str,
) -> Result<Result<(), Taken>, StoreError> {
    // A plain look first spares the common case a failing statement; the insert below
    // settles a race.
    if is_taken(conn, address)? {
        return Ok(Err(Taken));
    }
    let inserted = diesel::insert_into(mail_addresses::table)
        .values((
            mail_addresses::address.eq(address),
            mail_addresses::kind.eq(kind.as_str()),
            mail_addresses::resource_id.eq(resource_id),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(Ok(())),
        Err(StoreError::Unique(_)) => Ok(Err(Taken)),
        Err(other) => Err(other),
    }
}

pub fn is_taken(conn: &mut DbConnection, address: &str) -> Result<bool, StoreError> {
    let count: i64 = mail_addresses::table.filter(mail_addresses::address.eq(address)).count().get_result(conn)?;
    Ok(count > 0)
}

/// Frees the address of a removed resource (only if that resource holds it).
pub fn release(conn: &mut DbConnection, address: &str, resource_id: &str) -> Result<(), StoreError> {
    diesel::delete(
        mail_addresses::table
            .filter(mail_addresses::address.eq(address))
            .filter(mail_addresses::resource_id.eq(resource_id)),
    )
    .execute(conn)?;
    Ok(())
}
