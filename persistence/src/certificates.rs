//! TLS certificates of a service. A row is either a pending CSR (the key made here,
//! `certificate_pem` null) or a certificate (uploaded with its key, or the signed
//! certificate of a pending CSR, which then becomes that row). The private key is
//! always stored sealed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::certificates;

#[derive(Debug, Clone, Queryable)]
pub struct CertificateRow {
    pub id: String,
    pub service_id: String,
    pub common_name: String,
    /// Space-separated names.
    pub sans: String,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_before: Option<NaiveDateTime>,
    pub not_after: Option<NaiveDateTime>,
    pub certificate_pem: Option<String>,
    pub chain_pem: Option<String>,
    pub csr_pem: Option<String>,
    pub public_key_sha256: String,
    pub private_key_sealed: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Columns = (
    certificates::id,
    certificates::service_id,
    certificates::common_name,
    certificates::sans,
    certificates::subject,
    certificates::issuer,
    certificates::not_before,
    certificates::not_after,
    certificates::certificate_pem,
    certificates::chain_pem,
    certificates::csr_pem,
    certificates::public_key_sha256,
    certificates::private_key_sealed,
    certificates::version,
    certificates::created_at,
    certificates::updated_at,
);
const COLUMNS: Columns = (
    certificates::id,
    certificates::service_id,
    certificates::common_name,
    certificates::sans,
    certificates::subject,
    certificates::issuer,
    certificates::not_before,
    certificates::not_after,
    certificates::certificate_pem,
    certificates::chain_pem,
    certificates::csr_pem,
    certificates::public_key_sha256,
    certificates::private_key_sealed,
    certificates::version,
    certificates::created_at,
    certificates::updated_at,
);

/// What a certificate (as opposed to a pending CSR) adds.
#[derive(Debug, Clone)]
pub struct Issued {
    pub common_name: String,
    pub sans: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: NaiveDateTime,
    pub not_after: NaiveDateTime,
    pub certificate_pem: String,
    pub chain_pem: Option<String>,
}

/// A new row: a pending CSR (`issued` none, `csr_pem` some) or an uploaded certificate.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub id: String,
    pub service_id: String,
    /// For a CSR: the names it asks for.
    pub common_name: String,
    pub sans: String,
    pub issued: Option<Issued>,
    pub csr_pem: Option<String>,
    pub public_key_sha256: String,
    pub private_key_sealed: String,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewCertificate) -> Result<(), StoreError> {
    let issued = new.issued.as_ref();
    diesel::insert_into(certificates::table)
        .values((
            certificates::id.eq(&new.id),
            certificates::service_id.eq(&new.service_id),
            certificates::common_name.eq(issued.map_or(&new.common_name, |i| &i.common_name)),
            certificates::sans.eq(issued.map_or(&new.sans, |i| &i.sans)),
            certificates::subject.eq(issued.map(|i| &i.subject)),
            certificates::issuer.eq(issued.map(|i| &i.issuer)),
            certificates::not_before.eq(issued.map(|i| i.not_before)),
            certificates::not_after.eq(issued.map(|i| i.not_after)),
            certificates::certificate_pem.eq(issued.map(|i| &i.certificate_pem)),
            certificates::chain_pem.eq(issued.and_then(|i| i.chain_pem.as_ref())),
            certificates::csr_pem.eq(&new.csr_pem),
            certificates::public_key_sha256.eq(&new.public_key_sha256),
            certificates::private_key_sealed.eq(&new.private_key_sealed),
            certificates::version.eq(1_i64),
            certificates::created_at.eq(new.now),
            certificates::updated_at.eq(new.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// One row of the service.
pub fn find(conn: &mut DbConnection, service_id: &str, id: &str) -> Result<Option<CertificateRow>, StoreError> {
    Ok(certificates::table
        .filter(certificates::service_id.eq(service_id))
        .filter(certificates::id.eq(id))
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

/// The service's pending CSR whose key has this public key, if any (the oldest).
pub fn find_pending_by_key(
    conn: &mut DbConnection,
    service_id: &str,
    public_key_sha256: &str,
) -> Result<Option<CertificateRow>, StoreError> {
    Ok(certificates::table
        .filter(certificates::service_id.eq(service_id))
        .filter(certificates::public_key_sha256.eq(public_key_sha256))
        .filter(certificates::certificate_pem.is_null())
        .order(certificates::id.asc())
        .select(COLUMNS)
        .first(conn)
        .optional()?)
}

/// Turns a pending CSR into its certificate, if it is still pending at `version`;
/// answers whether it did.
pub fn complete(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    issued: &Issued,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        certificates::table
            .filter(certificates::id.eq(id))
            .filter(certificates::version.eq(version))
            .filter(certificates::certificate_pem.is_null()),
    )
    .set((
        certificates::common_name.eq(&issued.common_name),
        certificates::sans.eq(&issued.sans),
        certificates::subject.eq(&issued.subject),
        certificates::issuer.eq(&issued.issuer),
        certificates::not_before.eq(issued.not_before),
        certificates::not_after.eq(issued.not_after),
        certificates::certificate_pem.eq(&issued.certificate_pem),
        certificates::chain_pem.eq(&issued.chain_pem),
        certificates::version.eq(version + 1),
        certificates::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The service's rows, newest first, after the cursor.
pub fn list(
    conn: &mut DbConnection,
    service_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<CertificateRow>, StoreError> {
    let mut query = certificates::table.filter(certificates::service_id.eq(service_id)).into_boxed();
    if let Some(before) = before_id {
        query = query.filter(certificates::id.lt(before));
    }
    Ok(query.order(certificates::id.desc()).limit(limit).select(COLUMNS).load(conn)?)
}

/// Deletes the row if it is still at `version`; answers whether it did.
pub fn delete(conn: &mut DbConnection, id: &str, version: i64) -> Result<bool, StoreError> {
    let deleted =
        diesel::delete(certificates::table.filter(certificates::id.eq(id)).filter(certificates::version.eq(version)))
            .execute(conn)?;
    Ok(deleted == 1)
}
