//! Delivering the outbox: SMTP when `smtp_url` is set, otherwise one `.eml` file per
//! mail in `mail_dir`, so that a fresh install works and tests can read what was sent.
//! Sending blocks (lettre's synchronous transports), so it runs on the blocking pool.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Duration;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{FileTransport, Message, SmtpTransport, Transport as _};

use hostadmin_domain::billing::document::InvoiceDocument;
use hostadmin_domain::time;
use hostadmin_persistence::invoices as invoice_store;
use hostadmin_persistence::outbox::{self, OutgoingMail};

use crate::app::billing::invoices;
use crate::config::Config;
use crate::db::Db;
use crate::documents::invoice_pdf;
use crate::http::problem::ApiError;

/// A claimed mail is someone else's again after this long.
const LEASE: Duration = Duration::minutes(2);
/// Mails sent per round at most, so that one round ends.
const PER_ROUND: usize = 100;
/// After this many failed attempts a mail is given up.
const MAX_ATTEMPTS: i32 = 8;

/// Where mails go.
enum Transport {
    Files(PathBuf),
    Smtp(Box<SmtpTransport>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    // The SMTP URL may hold a password: only the kind of transport is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.transport {
            Transport::Files(dir) => write!(f, "Mailer(files in {})", dir.display()),
            Transport::Smtp(_) => f.write_str("Mailer(smtp)"),
        }
    }
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(Box::new(
                SmtpTransport::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("smtp_url is not a valid SMTP URL"))?
                    .build(),
            )),
            None => Transport::Files(config.mail_dir.clone()),
        };
        Ok(Self { transport, from: config.mail_from.clone() })
    }

    fn message(&self, mail: &OutgoingMail, attachment: Option<PdfAttachment>) -> Result<Message, String> {
        let to: Mailbox = mail.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
        let text = MultiPart::alternative_plain_html(mail.text_body.clone(), mail.html_body.clone());
        let body = match attachment {
            None => text,
            Some(pdf) => {
                let content_type = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
                MultiPart::mixed()
                    .multipart(text)
                    .singlepart(Attachment::new(pdf.filename).body(pdf.bytes, content_type))
            }
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(body)
            .map_err(|e| format!("building the message: {e}"))
    }

    /// Sends one message; the error text names no secret (lettre's errors carry no
    /// credentials or bodies).
    fn send(&self, message: &Message) -> Result<(), String> {
        match &self.transport {
            Transport::Files(dir) => write_eml(dir, message),
            Transport::Smtp(smtp) => smtp.send(message).map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

/// Writes the message as `<id>.eml` in `dir`, whole or not at all: lettre writes it in
/// a staging directory beside, and a rename (atomic within one file system) moves it in,
/// so that whoever reads the directory (a pickup script, the tests) never sees half a
/// mail.
fn write_eml(dir: &std::path::Path, message: &Message) -> Result<(), String> {
    let staging = dir.join(".staging");
    std::fs::create_dir_all(&staging).map_err(|e| format!("creating {}: {e}", staging.display()))?;
    let id = FileTransport::new(&staging).send(message).map_err(|e| e.to_string())?;
    let name = format!("{id}.eml");
    std::fs::rename(staging.join(&name), dir.join(&name)).map_err(|e| format!("moving {name} into place: {e}"))
}

/// When a mail that failed `attempts` times is tried again: 30 s, 1 min, 2 min, ... up
/// to an hour; `None` once it is given up.
fn retry_delay(attempts: i32) -> Option<Duration> {
    (attempts < MAX_ATTEMPTS).then(|| Duration::seconds((30_i64 << attempts.clamp(1, 7).saturating_sub(1)).min(3600)))
}

/// Delivers the due mails of the outbox; answers how many went out.
pub async fn deliver_due(db: &Db, mailer: &Arc<Mailer>, worker: &str) -> Result<usize, ApiError> {
    let mut sent = 0;
    for _ in 0..PER_ROUND {
        let holder = worker.to_owned();
        let claimed = db
            .write(move |conn| {
                let now = time::now();
                Ok(outbox::claim_next(conn, &holder, now, now + LEASE)?)
            })
            .await?;
        let Some(mail) = claimed else { break };
        let invoice = match &mail.invoice_id {
            Some(id) => invoice_document(db, id.clone()).await,
            None => Ok(None),
        };
        let sender = mailer.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let result = invoice
                .and_then(|document| document.map(pdf_of).transpose())
                .and_then(|attachment| sender.message(&mail, attachment))
                .and_then(|message| sender.send(&message));
            (mail, result)
        })
        .await
        .map_err(|e| ApiError::internal(format!("mail task failed: {e}")))?;
        let (mail, result) = outcome;
        if result.is_ok() {
            sent += 1;
        }
        record_outcome(db, worker, mail, result).await?;
    }
    Ok(sent)
}

/// A PDF to attach.
struct PdfAttachment {
    filename: String,
    bytes: Vec<u8>,
}

/// The invoice a mail attaches, as its document (rendered on the blocking pool).
async fn invoice_document(db: &Db, id: String) -> Result<Option<InvoiceDocument>, String> {
    let rows = db
        .run(move |conn| {
            let Some(row) = invoice_store::find(conn, &id)? else { return Ok(None) };
            let credited = match &row.credit_note_for {
                Some(credited) => invoice_store::find(conn, credited)?,
                None => None,
            };
            Ok(Some((row, credited)))
        })
        .await
        .map_err(|e| format!("reading the invoice to attach: {e}"))?;
    let Some((row, credited)) = rows else { return Ok(None) };
    invoices::document(&row, credited.as_ref()).map(Some).map_err(|e| format!("the invoice to attach: {e}"))
}

fn pdf_of(document: InvoiceDocument) -> Result<PdfAttachment, String> {
    let bytes = invoice_pdf::render(&document).map_err(|e| e.to_string())?;
    Ok(PdfAttachment { filename: format!("{}.pdf", document.number().as_str().replace('/', "-")), bytes })
}

async fn record_outcome(db: &Db, worker: &str, mail: OutgoingMail, result: Result<(), String>) -> Result<(), ApiError> {
    let holder = worker.to_owned();
    if let Err(error) = &result {
        tracing::warn!(mail = %mail.id, attempts = mail.attempts, error = %error, "sending a mail failed");
    }
    db.write(move |conn| {
        let now = time::now();
        match &result {
            Ok(()) => outbox::mark_sent(conn, &mail.id, &holder, now)?,
            Err(error) => {
                let retry_at = retry_delay(mail.attempts).map(|delay| now + delay);
                outbox::mark_failed(conn, &mail.id, &holder, error, retry_at, now)?
            }
        };
        Ok(())
    })
    .await
}

/// Deletes mails finished a week ago and tokens that expired a day ago.
pub async fn prune(db: &Db) -> Result<usize, ApiError> {
    db.write(|conn| {
        let now = time::now();
        let mails = outbox::prune(conn, now - Duration::days(7))?;
        let tokens = hostadmin_persistence::email_tokens::prune(conn, now - Duration::days(1))?;
        Ok(mails + tokens)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[::core::prelude::v1::test]
    fn retries_back_off_and_end() {
        assert_eq!(retry_delay(1), Some(Duration::seconds(30)));
        assert_eq!(retry_delay(2), Some(Duration::seconds(60)));
        assert_eq!(retry_delay(7), Some(Duration::seconds(1920)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }
}
