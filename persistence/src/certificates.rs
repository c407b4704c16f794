//! TLS certificates of a service. A row is either a pending CSR (the key made here,
//! `certificate_pem` null) or a certificate (uploaded with its key, or the signed
//! certificate of a pending CSR, which then becomes that row). The private key is
//! always stored sealed. An ACME order is a row without a certificate and without a key
//! until the worker stores both; a failed order keeps the CA's reason in `failure`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use hostadmin_domain::certificates::{CertificateSource, CertificateStatus};

use crate::columns::Text;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::planning::PlanEachTime;
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
    #[diesel(deserialize_as = Text<CertificateSource>)]
    pub source: CertificateSource,
    /// Why the last ACME order failed for good (the CA's reason).
    pub failure: Option<String>,
    /// When an ACME certificate is ordered again; none while an order runs.
    pub renew_at: Option<NaiveDateTime>,
}

impl CertificateRow {
    pub fn status(&self) -> CertificateStatus {
        CertificateStatus::of(self.certificate_pem.is_some(), self.failure.is_some())
    }
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
    certificates::source,
    certificates::failure,
    certificates::renew_at,
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
    certificates::source,
    certificates::failure,
    certificates::renew_at,
);

/// What a certificate (as opposed to a pending CSR) adds; written as one changeset by
/// every update that stores a certificate (a CSR completed, an ACME order).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = certificates, treat_none_as_null = true, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
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

/// A new row: a pending CSR (`issued` none, `csr_pem` some), an uploaded certificate,
/// or an ACME order (neither, and no key yet).
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub id: String,
    pub source: CertificateSource,
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
            certificates::source.eq(new.source.as_str()),
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
        .filter(certificates::source.eq(CertificateSource::Csr.as_str()))
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
    .set((issued, certificates::version.eq(version + 1), certificates::updated_at.eq(now)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// What an ACME order brings: the certificate, its new key sealed, and when it is ordered
/// again.
#[derive(Debug, Clone)]
pub struct Ordered {
    pub issued: Issued,
    pub public_key_sha256: String,
    pub private_key_sealed: String,
    pub renew_at: NaiveDateTime,
}

/// Stores what an ACME order brought on the row, if it is still at `version` (a first
/// order, or a renewal replacing the certificate and key it had); answers whether it did.
pub fn store_ordered(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    ordered: &Ordered,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        certificates::table
            .filter(certificates::id.eq(id))
            .filter(certificates::version.eq(version))
            .filter(certificates::source.eq(CertificateSource::Acme.as_str())),
    )
    .set((
        &ordered.issued,
        certificates::public_key_sha256.eq(&ordered.public_key_sha256),
        certificates::private_key_sealed.eq(&ordered.private_key_sealed),
        certificates::failure.eq(None::<String>),
        certificates::renew_at.eq(Some(ordered.renew_at)),
        certificates::version.eq(version + 1),
        certificates::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records that an ACME order for the row failed for good with `reason`, if the row is
/// still at `version`; `retry_at`: when an issued certificate's renewal is tried again.
pub fn store_failure(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    reason: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated =
        diesel::update(certificates::table.filter(certificates::id.eq(id)).filter(certificates::version.eq(version)))
            .set((
                certificates::failure.eq(reason),
                certificates::renew_at.eq(retry_at),
                certificates::version.eq(version + 1),
                certificates::updated_at.eq(now),
            ))
            .execute(conn)?;
    Ok(updated == 1)
}

/// ACME certificates whose renewal is due at `now`, the earliest first: `(id, service_id,
/// renew_at)`. The query is the partial index `certificates_renew_idx`, walked from its
/// start.
pub fn due_for_renewal(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(String, String, NaiveDateTime)>, StoreError> {
    let due: Vec<(String, String, Option<NaiveDateTime>)> = certificates::table
        .filter(certificates::renew_at.is_not_null())
        .filter(certificates::renew_at.le(now))
        .order(certificates::renew_at.asc())
        .limit(limit)
        .select((certificates::id, certificates::service_id, certificates::renew_at))
        .planned_each_time()
        .load(conn)?;
    Ok(due.into_iter().filter_map(|(id, service, at)| Some((id, service, at?))).collect())
}

/// Takes the renewal of the row due at `due` for this transaction (its `renew_at` cleared
/// while the order runs); false when another worker took it first.
pub fn take_renewal(conn: &mut DbConnection, id: &str, due: NaiveDateTime) -> Result<bool, StoreError> {
    let taken =
        diesel::update(certificates::table.filter(certificates::id.eq(id)).filter(certificates::renew_at.eq(due)))
            .set(certificates::renew_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    Ok(taken == 1)
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
