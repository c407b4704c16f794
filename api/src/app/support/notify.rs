//! The mails of tickets, queued in the transaction of the change that sends them: a new
//! ticket to its seller's inbox, an outgoing ticket to its customer, an answer to the
//! other side unless it switched `ticket_replies` off. Internal notes never send one.

use serde_json::json;

use hostadmin_domain::support::Side;
use hostadmin_persistence::accounts as account_store;
use hostadmin_persistence::tickets::{self as ticket_store, TicketRow};
use hostadmin_persistence::{billing_settings, notification_settings, DbConnection};

use crate::config::Config;
use crate::http::problem::ApiError;
use crate::mail::{self, Outgoing, Template};

/// Someone a ticket mail goes to.
#[derive(Debug, Clone)]
struct Recipient {
    /// The account whose `ticket_replies` decides and that is never mailed its own
    /// message; none for the provider's billing address, which is no account's.
    account_id: Option<String>,
    login: String,
    name: String,
    email: String,
}

impl Recipient {
    fn is(&self, account_id: &str) -> bool {
        self.account_id.as_deref() == Some(account_id)
    }

    /// Whether it asked for answers: an account by its `ticket_replies`; the provider's
    /// billing address has no settings to switch it off, so it always does.
    fn wants_answers(&self, conn: &mut DbConnection) -> Result<bool, ApiError> {
        match &self.account_id {
            Some(account_id) => Ok(notification_settings::of(conn, account_id)?.ticket_replies),
            None => Ok(true),
        }
    }
}

/// Where a seller is mailed about tickets: the `email` of its billing settings when it
/// set one, the address it gave its buyers for business with it. Without one, the
/// seller account's own address; for the provider (top-level accounts' seller), every
/// operator's that is not blocked.
fn seller_inbox(conn: &mut DbConnection, seller_id: Option<&str>) -> Result<Vec<Recipient>, ApiError> {
    let settings = billing_settings::find(conn, seller_id)?.map(|row| row.settings);
    let billing = settings.and_then(|settings| Some((settings.email?, settings.legal_name)));
    let Some(seller_id) = seller_id else {
        if let Some((email, legal_name)) = billing {
            // The provider's address is greeted by the name on its invoices.
            return Ok(vec![Recipient { account_id: None, login: String::new(), name: legal_name, email }]);
        }
        let staff = ticket_store::provider_staff(conn)?;
        let inbox = staff.into_iter().map(|(account_id, name, email)| Recipient {
            account_id: Some(account_id),
            login: String::new(),
            name,
            email,
        });
        return Ok(inbox.collect());
    };
    let seller = account_store::find(conn, seller_id)?
        .ok_or_else(|| ApiError::internal(format!("the seller {seller_id} of a ticket vanished")))?;
    let email = billing.map_or(seller.email, |(email, _)| email);
    Ok(vec![Recipient { account_id: Some(seller.id), login: seller.login, name: seller.name, email }])
}

fn customer_of(conn: &mut DbConnection, ticket: &TicketRow) -> Result<Recipient, ApiError> {
    let customer = account_store::find(conn, &ticket.customer_id)?
        .ok_or_else(|| ApiError::internal(format!("the customer of ticket {} vanished", ticket.id)))?;
    Ok(Recipient { account_id: Some(customer.id), login: customer.login, name: customer.name, email: customer.email })
}

fn send(
    conn: &mut DbConnection,
    config: &Config,
    template: Template,
    to: &Recipient,
    ticket: &TicketRow,
    body: &str,
    customer_login: &str,
) -> Result<(), ApiError> {
    let context = json!({
        "name": to.name, "number": ticket.number, "subject": ticket.subject, "body": body,
        "customer": customer_login, "link": format!("{}/tickets/{}", config.public_url, ticket.id),
    });
    let mail = Outgoing {
        template,
        recipient: &to.email,
        account_id: to.account_id.as_deref(),
        client_ip: None,
        context,
        invoice_id: None,
    };
    mail::queue(conn, config, mail, ticket.updated_at)
}

/// A new ticket: an incoming one to the seller's inbox, an outgoing one to the customer.
pub fn opened(
    conn: &mut DbConnection,
    config: &Config,
    ticket: &TicketRow,
    body: &str,
    author_id: &str,
) -> Result<(), ApiError> {
    let customer = customer_of(conn, ticket)?;
    let login = customer.login.clone();
    match ticket.direction.opened_by() {
        Side::Customer => {
            for to in seller_inbox(conn, ticket.seller_id.as_deref())?.iter().filter(|to| !to.is(author_id)) {
                send(conn, config, Template::TicketOpened, to, ticket, body, &login)?;
            }
            Ok(())
        }
        Side::Seller => send(conn, config, Template::TicketFromSeller, &customer, ticket, body, &login),
    }
}

/// An answer from `side`: to the other side's recipients that want it (never to the
/// author itself).
pub fn answered(
    conn: &mut DbConnection,
    config: &Config,
    ticket: &TicketRow,
    side: Side,
    body: &str,
    author_id: &str,
) -> Result<(), ApiError> {
    let recipients = match side.other() {
        Side::Seller => seller_inbox(conn, ticket.seller_id.as_deref())?,
        Side::Customer => vec![customer_of(conn, ticket)?],
    };
    for to in recipients.iter().filter(|to| !to.is(author_id)) {
        if to.wants_answers(conn)? {
            send(conn, config, Template::TicketReply, to, ticket, body, "")?;
        }
    }
    Ok(())
}
