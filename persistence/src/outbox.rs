//! The mail outbox. A mail is queued in the transaction of the change that sends it and
//! delivered later by the worker, which claims it with a conditional update on
//! `claimed_by`/`lease_until` (as jobs are claimed): two workers never send one mail, and
//! a crashed worker's mail comes back when its lease runs out. A mail whose body carried
//! a token is blanked once it has been delivered or given up.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::outbox;

/// What a blanked body reads.
const REMOVED: &str = "";

/// A mail to queue, already rendered.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub id: &'a str,
    pub template: &'a str,
    pub recipient: &'a str,
    /// The requesting client's address, for the per-address limit.
    pub client_ip: Option<&'a str>,
    /// Whether the mail counts against the reset and verification limits.
    pub rate_limited: bool,
    pub account_id: Option<&'a str>,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    /// The body holds a token: it is removed after delivery.
    pub carries_secret: bool,
    /// An invoice to attach as a PDF when the mail is delivered.
    pub invoice_id: Option<&'a str>,
    pub now: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, mail: &NewMail<'_>) -> Result<(), StoreError> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(mail.id),
            outbox::template.eq(mail.template),
            outbox::recipient.eq(mail.recipient),
            outbox::recipient_normalized.eq(mail.recipient.trim().to_lowercase()),
            outbox::client_ip.eq(mail.client_ip),
            outbox::rate_limited.eq(mail.rate_limited),
            outbox::account_id.eq(mail.account_id),
            outbox::subject.eq(mail.subject),
            outbox::text_body.eq(mail.text_body),
            outbox::html_body.eq(mail.html_body),
            outbox::carries_secret.eq(mail.carries_secret),
            outbox::invoice_id.eq(mail.invoice_id),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(mail.now),
            outbox::created_at.eq(mail.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Serializes the transactions that count and queue limited mails (the counter row's
/// lock, held to the end of the transaction), so that on PostgreSQL two requests cannot
/// both see the last free slot. SQLite's writers are serialized already.
pub fn lock_limits(conn: &mut DbConnection) -> Result<(), StoreError> {
    use crate::schema::counters;
    diesel::update(counters::table.filter(counters::name.eq("mail_limits")))
        .set(counters::value.eq(counters::value + 1))
        .execute(conn)?;
    Ok(())
}

/// How many limited mails went to a recipient since `since`, and when the oldest of
/// them was queued (the limit frees a slot when it leaves the window).
pub fn count_to_recipient(
    conn: &mut DbConnection,
    recipient: &str,
    since: NaiveDateTime,
) -> Result<(i64, Option<NaiveDateTime>), StoreError> {
    let normalized = recipient.trim().to_lowercase();
    let base = outbox::table
        .filter(outbox::recipient_normalized.eq(normalized))
        .filter(outbox::rate_limited.eq(true))
        .filter(outbox::created_at.ge(since));
    let count = base.clone().count().get_result(conn)?;
    let oldest = base.select(diesel::dsl::min(outbox::created_at)).first(conn)?;
    Ok((count, oldest))
}

/// How many limited mails one client address asked for since `since`, and the oldest.
pub fn count_from_address(
    conn: &mut DbConnection,
    client_ip: &str,
    since: NaiveDateTime,
) -> Result<(i64, Option<NaiveDateTime>), StoreError> {
    let base = outbox::table
        .filter(outbox::client_ip.eq(client_ip))
        .filter(outbox::rate_limited.eq(true))
        .filter(outbox::created_at.ge(since));
    let count = base.count().get_result(conn)?;
    let oldest = base.select(diesel::dsl::min(outbox::created_at)).first(conn)?;
    Ok((count, oldest))
}

/// A mail as the worker delivers it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OutgoingMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
    /// The invoice to attach as a PDF.
    pub invoice_id: Option<String>,
}

fn open() -> outbox::BoxedQuery<'static, <DbConnection as diesel::Connection>::Backend> {
    outbox::table.filter(outbox::sent_at.is_null()).filter(outbox::failed_at.is_null()).into_boxed()
}

/// Claims the oldest due mail nobody holds (or whose holder's lease ran out) for
/// `worker` until `lease_until`. A worker that loses the race for one tries the next.
pub fn claim_next(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Option<OutgoingMail>, StoreError> {
    let candidates: Vec<String> = open()
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::claimed_by.is_null().or(outbox::lease_until.lt(now)))
        .order(outbox::next_attempt_at.asc())
        .limit(10)
        .select(outbox::id)
        .load(conn)?;
    for id in candidates {
        let claimed = diesel::update(
            outbox::table
                .filter(outbox::id.eq(&id))
                .filter(outbox::sent_at.is_null())
                .filter(outbox::failed_at.is_null())
                .filter(outbox::claimed_by.is_null().or(outbox::lease_until.lt(now))),
        )
        .set((
            outbox::claimed_by.eq(worker),
            outbox::lease_until.eq(lease_until),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .execute(conn)?;
        if claimed == 1 {
            return Ok(Some(outbox::table.filter(outbox::id.eq(&id)).select(OutgoingMail::as_select()).first(conn)?));
        }
    }
    Ok(None)
}

/// Marks a mail `worker` holds as sent, blanking a body that carried a token.
pub fn mark_sent(conn: &mut DbConnection, id: &str, worker: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    let held = outbox::table.filter(outbox::id.eq(id)).filter(outbox::claimed_by.eq(worker));
    let updated = diesel::update(held)
        .set((
            outbox::sent_at.eq(Some(now)),
            outbox::claimed_by.eq(None::<String>),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    blank_secret_bodies(conn, id)?;
    Ok(updated == 1)
}

/// Records a failed attempt: tried again at `retry_at`, or given up (`None`).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    worker: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let held = outbox::table.filter(outbox::id.eq(id)).filter(outbox::claimed_by.eq(worker));
    let updated = match retry_at {
        Some(retry_at) => diesel::update(held)
            .set((
                outbox::next_attempt_at.eq(retry_at),
                outbox::last_error.eq(error),
                outbox::claimed_by.eq(None::<String>),
                outbox::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
        None => {
            let updated = diesel::update(held)
                .set((
                    outbox::failed_at.eq(Some(now)),
                    outbox::last_error.eq(error),
                    outbox::claimed_by.eq(None::<String>),
                    outbox::lease_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
            blank_secret_bodies(conn, id)?;
            updated
        }
    };
    Ok(updated == 1)
}

fn blank_secret_bodies(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(outbox::table.filter(outbox::id.eq(id)).filter(outbox::carries_secret.eq(true)))
        .set((outbox::text_body.eq(REMOVED), outbox::html_body.eq(REMOVED)))
        .execute(conn)?;
    Ok(())
}

/// Deletes delivered or given-up mails finished before `before` (set-based: safe from
/// any number of workers). The limits look back one hour, so older rows serve nothing.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    let sent = diesel::delete(outbox::table.filter(outbox::sent_at.lt(before))).execute(conn)?;
    let failed = diesel::delete(outbox::table.filter(outbox::failed_at.lt(before))).execute(conn)?;
    Ok(sent + failed)
}
