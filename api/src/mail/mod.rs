//! Mail: what the API sends (password reset, verification, the welcome mail, notices),
//! rendered from templates into a plain-text and an HTML part and queued in the outbox
//! inside the transaction of the change that sends it. The worker delivers the outbox
//! (`delivery`).
//!
//! Links in mails are `{public_url}/<page>?token=<token>`; the pages (`reset-password`,
//! `set-password`, `verify-email`) belong to the front end, which posts the token to
//! the matching `/v1/auth/...` route.

pub mod delivery;

use std::sync::LazyLock;

use chrono::{Duration, NaiveDateTime};
use minijinja::Environment;
use serde_json::{json, Value};

use hostadmin_domain::credentials;
use hostadmin_domain::ids::new_id;
use hostadmin_persistence::email_tokens::{self, NewEmailToken, Purpose};
use hostadmin_persistence::{outbox, DbConnection};

use crate::config::Config;
use crate::http::problem::ApiError;

/// Reset and verification mails per recipient and per client address per hour.
pub const LIMITED_MAILS_PER_HOUR: i64 = 20;

/// The mails the API sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    PasswordReset,
    VerifyEmail,
    /// Told to the old address when a change to a new one is asked for.
    EmailChangeNotice,
    /// A new account's first mail, with a link to set its password.
    Welcome,
    /// A registration named an address that already has an account.
    RegistrationExists,
    /// A registration named a login that is taken.
    RegistrationLoginTaken,
    /// A webhook endpoint failed every delivery for 5 days and was disabled.
    WebhookDisabled,
    /// To a seller: a customer opened a ticket.
    TicketOpened,
    /// To one side of a ticket: the other side answered.
    TicketReply,
    /// To a customer: its seller opened a ticket to it.
    TicketFromSeller,
    /// To a buyer: an invoice was issued (the PDF attached).
    InvoiceIssued,
    /// To a buyer: its invoice is paid in full (the PDF attached).
    PaymentReceived,
    /// To a buyer: a renewal invoice is due in 3 days.
    InvoiceReminder,
    /// To a buyer: a renewal invoice was due yesterday.
    InvoiceOverdue,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::VerifyEmail => "verify_email",
            Self::EmailChangeNotice => "email_change_notice",
            Self::Welcome => "welcome",
            Self::RegistrationExists => "registration_exists",
            Self::RegistrationLoginTaken => "registration_login_taken",
            Self::WebhookDisabled => "webhook_disabled",
            Self::TicketOpened => "ticket_opened",
            Self::TicketReply => "ticket_reply",
            Self::TicketFromSeller => "ticket_from_seller",
            Self::InvoiceIssued => "invoice_issued",
            Self::PaymentReceived => "payment_received",
            Self::InvoiceReminder => "invoice_reminder",
            Self::InvoiceOverdue => "invoice_overdue",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Self::PasswordReset => "Reset your password",
            Self::VerifyEmail => "Confirm your email address",
            Self::EmailChangeNotice => "Your email address is being changed",
            Self::Welcome => "Welcome: choose your password",
            Self::RegistrationExists => "You already have an account",
            Self::RegistrationLoginTaken => "That login is taken",
            Self::WebhookDisabled => "A webhook endpoint was disabled",
            Self::TicketOpened => "A new support ticket",
            Self::TicketReply => "An answer on your support ticket",
            Self::TicketFromSeller => "A message from your provider",
            Self::InvoiceIssued => "Your invoice",
            Self::PaymentReceived => "Payment received: thank you",
            Self::InvoiceReminder => "Your invoice is due in 3 days",
            Self::InvoiceOverdue => "Your invoice is overdue",
        }
    }

    /// Mails anyone can make the server send to an address count against the limits.
    fn rate_limited(self) -> bool {
        matches!(
            self,
            Self::PasswordReset | Self::VerifyEmail | Self::RegistrationExists | Self::RegistrationLoginTaken
        )
    }

    /// Whose body holds a token, to be removed once delivered.
    fn carries_secret(self) -> bool {
        matches!(self, Self::PasswordReset | Self::VerifyEmail | Self::Welcome)
    }
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let sources: [(&str, &str); 29] = [
        ("layout.html", include_str!("templates/layout.html")),
        ("password_reset.txt", include_str!("templates/password_reset.txt")),
        ("password_reset.html", include_str!("templates/password_reset.html")),
        ("verify_email.txt", include_str!("templates/verify_email.txt")),
        ("verify_email.html", include_str!("templates/verify_email.html")),
        ("email_change_notice.txt", include_str!("templates/email_change_notice.txt")),
        ("email_change_notice.html", include_str!("templates/email_change_notice.html")),
        ("welcome.txt", include_str!("templates/welcome.txt")),
        ("welcome.html", include_str!("templates/welcome.html")),
        ("registration_exists.txt", include_str!("templates/registration_exists.txt")),
        ("registration_exists.html", include_str!("templates/registration_exists.html")),
        ("registration_login_taken.txt", include_str!("templates/registration_login_taken.txt")),
        ("registration_login_taken.html", include_str!("templates/registration_login_taken.html")),
        ("webhook_disabled.txt", include_str!("templates/webhook_disabled.txt")),
        ("webhook_disabled.html", include_str!("templates/webhook_disabled.html")),
        ("ticket_opened.txt", include_str!("templates/ticket_opened.txt")),
        ("ticket_opened.html", include_str!("templates/ticket_opened.html")),
        ("ticket_reply.txt", include_str!("templates/ticket_reply.txt")),
        ("ticket_reply.html", include_str!("templates/ticket_reply.html")),
        ("ticket_from_seller.txt", include_str!("templates/ticket_from_seller.txt")),
        ("ticket_from_seller.html", include_str!("templates/ticket_from_seller.html")),
        ("invoice_issued.txt", include_str!("templates/invoice_issued.txt")),
        ("invoice_issued.html", include_str!("templates/invoice_issued.html")),
        ("payment_received.txt", include_str!("templates/payment_received.txt")),
        ("payment_received.html", include_str!("templates/payment_received.html")),
        ("invoice_reminder.txt", include_str!("templates/invoice_reminder.txt")),
        ("invoice_reminder.html", include_str!("templates/invoice_reminder.html")),
        ("invoice_overdue.txt", include_str!("templates/invoice_overdue.txt")),
        ("invoice_overdue.html", include_str!("templates/invoice_overdue.html")),
    ];
    for (name, source) in sources {
        // The templates are compiled in; a broken one fails the unit test below.
        if let Err(error) = env.add_template(name, source) {
            tracing::error!(template = name, error = %error, "mail template does not parse");
        }
    }
    env
});

/// A rendered mail.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: &'static str,
    pub text: String,
    pub html: String,
}

/// Renders both parts; the HTML part is escaped by the engine.
pub fn render(template: Template, context: &Value) -> Result<Rendered, ApiError> {
    let part = |extension: &str| -> Result<String, ApiError> {
        let name = format!("{}.{extension}", template.name());
        TEMPLATES
            .get_template(&name)
            .and_then(|t| t.render(context))
            .map_err(|e| ApiError::internal(format!("rendering mail {name}: {e}")))
    };
    Ok(Rendered { subject: template.subject(), text: part("txt")?, html: part("html")? })
}

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub template: Template,
    pub recipient: &'a str,
    pub account_id: Option<&'a str>,
    /// The client that caused it, for the per-address limit.
    pub client_ip: Option<&'a str>,
    /// The template's values; `site` is added.
    pub context: Value,
    /// An invoice to attach as a PDF.
    pub invoice_id: Option<&'a str>,
}

/// Renders the mail and queues it in the caller's transaction.
pub fn queue(conn: &mut DbConnection, config: &Config, mail: Outgoing<'_>, now: NaiveDateTime) -> Result<(), ApiError> {
    let mut context = mail.context;
    if let Value::Object(map) = &mut context {
        map.insert("site".into(), json!(config.public_url));
    }
    let rendered = render(mail.template, &context)?;
    outbox::insert(
        conn,
        &outbox::NewMail {
            id: &new_id(),
            template: mail.template.name(),
            recipient: mail.recipient,
            client_ip: mail.client_ip,
            rate_limited: mail.template.rate_limited(),
            account_id: mail.account_id,
            subject: rendered.subject,
            text_body: &rendered.text,
            html_body: &rendered.html,
            carries_secret: mail.template.carries_secret(),
            invoice_id: mail.invoice_id,
            now,
        },
    )?;
    Ok(())
}

/// How long a token of this purpose stays valid.
pub fn token_lifetime(purpose: Purpose) -> Duration {
    match purpose {
        Purpose::PasswordReset => Duration::hours(1),
        Purpose::VerifyEmail => Duration::hours(48),
        Purpose::SetPassword => Duration::days(7),
    }
}

/// Where a token's link leads in the front end.
fn page(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::PasswordReset => "reset-password",
        Purpose::VerifyEmail => "verify-email",
        Purpose::SetPassword => "set-password",
    }
}

/// A lifetime as a mail states it: "1 hour", "48 hours", "7 days".
fn describe(lifetime: Duration) -> String {
    let (count, unit) = match lifetime.num_hours() {
        hours if hours > 48 && hours % 24 == 0 => (hours / 24, "day"),
        hours => (hours, "hour"),
    };
    format!("{count} {unit}{}", if count == 1 { "" } else { "s" })
}

/// A new one-time token, stored as its digest in the caller's transaction; answers the
/// link that carries it and how long it stays valid, in words.
pub fn issue_link(
    conn: &mut DbConnection,
    config: &Config,
    purpose: Purpose,
    account_id: &str,
    email: &str,
    now: NaiveDateTime,
) -> Result<(String, String), ApiError> {
    let bytes = credentials::random_bytes::<32>().map_err(ApiError::internal)?;
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let lifetime = token_lifetime(purpose);
    email_tokens::insert(
        conn,
        &NewEmailToken {
            token_hash: &credentials::digest(&token),
            purpose,
            account_id,
            email,
            now,
            expires_at: now + lifetime,
        },
    )?;
    Ok((format!("{}/{}?token={token}", config.public_url, page(purpose)), describe(lifetime)))
}

/// `Some(seconds to wait)` when the recipient or the client address has had its
/// limit of reset and verification mails within the last hour.
pub fn limit_reached(
    conn: &mut DbConnection,
    recipient: &str,
    client_ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<u64>, ApiError> {
    outbox::lock_limits(conn)?;
    let window = Duration::hours(1);
    let since = now - window;
    let mut counts = vec![outbox::count_to_recipient(conn, recipient, since)?];
    if let Some(ip) = client_ip {
        counts.push(outbox::count_from_address(conn, ip, since)?);
    }
    let wait = counts
        .into_iter()
        .filter(|(count, _)| *count >= LIMITED_MAILS_PER_HOUR)
        .map(|(_, oldest)| (oldest.unwrap_or(now) + window - now).num_seconds().max(1))
        .max();
    Ok(wait.map(|seconds| u64::try_from(seconds).unwrap_or(1)))
}

/// Queues a verification mail for `email` (the account's address or its pending one).
pub fn queue_verification(
    conn: &mut DbConnection,
    config: &Config,
    account: &hostadmin_persistence::accounts::AccountRow,
    email: &str,
    client_ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let (link, valid_for) = issue_link(conn, config, Purpose::VerifyEmail, &account.id, email, now)?;
    queue(
        conn,
        config,
        Outgoing {
            template: Template::VerifyEmail,
            recipient: email,
            account_id: Some(&account.id),
            client_ip,
            context: json!({
                "name": account.name, "login": account.login, "email": email,
                "link": link, "valid_for": valid_for,
            }),
            invoice_id: None,
        },
        now,
    )
}

/// Queues the welcome mail of an account a seller created: its login and a link to set
/// its password (never the password).
pub fn queue_welcome(
    conn: &mut DbConnection,
    config: &Config,
    account: &hostadmin_persistence::accounts::AccountRow,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let (link, valid_for) = issue_link(conn, config, Purpose::SetPassword, &account.id, &account.email, now)?;
    queue(
        conn,
        config,
        Outgoing {
            template: Template::Welcome,
            recipient: &account.email,
            account_id: Some(&account.id),
            client_ip: None,
            context: json!({ "name": account.name, "login": account.login, "link": link, "valid_for": valid_for }),
            invoice_id: None,
        },
        now,
    )
}

/// Queues what an email change sends: the verification link to the new address and a
/// notice to the old one. Refused with 429 beyond the new address's limit.
pub fn queue_email_change(
    conn: &mut DbConnection,
    config: &Config,
    account: &hostadmin_persistence::accounts::AccountRow,
    new_email: &str,
    client_ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    if let Some(wait) = limit_reached(conn, new_email, client_ip, now)? {
        return Err(ApiError::rate_limited(wait));
    }
    queue_verification(conn, config, account, new_email, client_ip, now)?;
    queue(
        conn,
        config,
        Outgoing {
            template: Template::EmailChangeNotice,
            recipient: &account.email,
            account_id: Some(&account.id),
            client_ip,
            context: json!({ "name": account.name, "login": account.login, "new_email": new_email }),
            invoice_id: None,
        },
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[::core::prelude::v1::test]
    fn every_template_renders_both_parts_and_escapes_html() {
        let context = json!({
            "site": "https://panel.test", "name": "<b>Ann</b>", "login": "ann", "email": "a@x.test",
            "new_email": "b@x.test", "link": "https://panel.test/x?token=abc", "valid_for": "1 hour",
            "url": "https://hooks.example.com/in", "since": "2026-12-01 10:00 UTC",
            "number": 7, "subject": "<i>Mail</i>", "body": "<script>x</script>", "customer": "ann",
        });
        for template in [
            Template::PasswordReset,
            Template::VerifyEmail,
            Template::EmailChangeNotice,
            Template::Welcome,
            Template::RegistrationExists,
            Template::RegistrationLoginTaken,
            Template::WebhookDisabled,
            Template::TicketOpened,
            Template::TicketReply,
            Template::TicketFromSeller,
        ] {
            let rendered = render(template, &context).unwrap();
            assert!(rendered.text.contains("https://panel.test"), "{}", template.name());
            assert!(!rendered.html.contains("<b>Ann</b>"), "{} escapes", template.name());
            assert!(!rendered.html.contains("<script>"), "{} escapes", template.name());
        }
    }
}
