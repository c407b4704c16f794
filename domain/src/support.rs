//! Support tickets: a conversation between an account (the ticket's customer) and its
//! seller (the account above it, or the provider for a top-level account).
//!
//! Each side has its own view: the customer's side is the customer and the users it
//! granted `support` on the ticket's service; the seller's side is the seller and every
//! account above it. Internal notes are the seller's side's alone. Who answered last
//! decides the status: a reply from the customer's side makes the ticket `open` (also
//! reopening a closed one), a reply from the seller's side `answered`; closing is a
//! choice of either side.
//!
//! Attachments are checked by what they contain, not by what the client says they are.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{check_trimmed_length, Invalid};

/// Where a ticket stands: who has to act next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for the seller's side.
    Open,
    /// The seller's side answered; waiting for the customer's side.
    Answered,
    /// Done; a new reply reopens it.
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 3] = [Self::Open, Self::Answered, Self::Closed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The status after `event`. Every event applies to every status: a reply to a
    /// closed ticket reopens it, closing a closed one leaves it closed.
    pub fn after(self, event: TicketEvent) -> Self {
        match event {
            TicketEvent::Reply(Side::Customer) => Self::Open,
            TicketEvent::Reply(Side::Seller) => Self::Answered,
            TicketEvent::Close => Self::Closed,
        }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a ticket. Internal notes are not events: the customer's side must not
/// be able to tell that one was written, so they change nothing it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketEvent {
    Reply(Side),
    Close,
}

/// How urgent the customer says it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|priority| priority.as_str() == text)
    }
}

/// Which side of a ticket someone speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The ticket's customer and the users it granted `support` on the ticket's service.
    Customer,
    /// The ticket's seller and every account above it.
    Seller,
}

impl Side {
    pub const ALL: [Side; 2] = [Self::Customer, Self::Seller];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Seller => "seller",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|side| side.as_str() == text)
    }

    /// Whether this side sees internal notes.
    pub const fn sees_internal_notes(self) -> bool {
        matches!(self, Self::Seller)
    }

    /// The side that is told when this one answers.
    pub const fn other(self) -> Self {
        match self {
            Self::Customer => Self::Seller,
            Self::Seller => Self::Customer,
        }
    }
}

/// Who opened a ticket: the customer's side writing to its seller, or a seller writing
/// to an account directly below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Self::Incoming, Self::Outgoing];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|direction| direction.as_str() == text)
    }

    /// The side whose first message opens the ticket.
    pub const fn opened_by(self) -> Side {
        match self {
            Self::Incoming => Side::Customer,
            Self::Outgoing => Side::Seller,
        }
    }

    /// A new ticket's status: the opening message is its first reply, so an incoming
    /// ticket waits for the seller (`open`) and an outgoing one for the customer
    /// (`answered`).
    pub fn initial_status(self) -> TicketStatus {
        TicketStatus::Closed.after(TicketEvent::Reply(self.opened_by()))
    }
}

/// A ticket's subject: 1-200 characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    pub const MAX: usize = 200;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 1, Self::MAX)?;
        let subject = text.trim();
        if subject.chars().any(char::is_control) {
            return Err(Invalid::new("invalid_characters", "must not contain control characters"));
        }
        Ok(Self(subject.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message's text: 1-10,000 characters once trimmed; line breaks and tabs allowed, no
/// other control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub const MAX: usize = 10_000;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 1, Self::MAX)?;
        let body = text.trim();
        if body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new(
                "invalid_characters",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The largest attachment: 5 MiB.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// At most this many attachments on one message.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

/// The kinds of file a ticket takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum AttachmentType {
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/gif")]
    Gif,
    #[serde(rename = "application/pdf")]
    Pdf,
    /// UTF-8 text.
    #[serde(rename = "text/plain")]
    PlainText,
}

/// Why a file is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentRefusal {
    /// The declared `Content-Type` is not one of the allowed types.
    TypeNotAllowed(String),
    /// The content is not what `Content-Type` says (a program renamed to `.png`).
    ContentMismatch { declared: AttachmentType },
    /// No content at all.
    Empty,
}

impl AttachmentRefusal {
    /// A sentence for people.
    pub fn detail(&self) -> String {
        let allowed = AttachmentType::ALL.map(AttachmentType::mime).join(", ");
        match self {
            Self::TypeNotAllowed(declared) => format!("{declared:?} is not taken; send one of {allowed}"),
            Self::ContentMismatch { declared } => {
                format!("the content is not {}: files are checked by what they contain", declared.mime())
            }
            Self::Empty => "the file is empty".to_owned(),
        }
    }
}

impl AttachmentType {
    pub const ALL: [AttachmentType; 5] = [Self::Png, Self::Jpeg, Self::Gif, Self::Pdf, Self::PlainText];

    /// The media type, as declared in `Content-Type` and served back.
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Pdf => "application/pdf",
            Self::PlainText => "text/plain",
        }
    }

    /// The stored name; the same as [`Self::mime`].
    pub const fn as_str(self) -> &'static str {
        self.mime()
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.mime() == text)
    }

    /// A file name's extension for the type.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Pdf => "pdf",
            Self::PlainText => "txt",
        }
    }

    /// The type a `Content-Type` header names, by its essence (parameters such as
    /// `charset` are ignored; text is always read as UTF-8).
    pub fn declared(content_type: &str) -> Result<Self, AttachmentRefusal> {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        Self::parse(&essence).ok_or(AttachmentRefusal::TypeNotAllowed(essence))
    }

    /// What the content is by its magic bytes, or as UTF-8 text without binary control
    /// characters; `None` for anything else (programs, archives, other formats).
    pub fn sniff(content: &[u8]) -> Option<Self> {
        if let Some(found) = infer::get(content) {
            return match found.mime_type() {
                "image/png" => Some(Self::Png),
                "image/jpeg" => Some(Self::Jpeg),
                "image/gif" => Some(Self::Gif),
                "application/pdf" => Some(Self::Pdf),
                _ => None,
            };
        }
        is_plain_text(content).then_some(Self::PlainText)
    }

    /// The type of an upload: the declared type, if the content is of that type.
    pub fn check(content_type: &str, content: &[u8]) -> Result<Self, AttachmentRefusal> {
        let declared = Self::declared(content_type)?;
        if content.is_empty() {
            return Err(AttachmentRefusal::Empty);
        }
        if Self::sniff(content) != Some(declared) {
            return Err(AttachmentRefusal::ContentMismatch { declared });
        }
        Ok(declared)
    }
}

/// UTF-8 without NUL or other control characters than tab, line breaks and form feed:
/// what a person would call a text file. Binary formats all contain such bytes early.
fn is_plain_text(content: &[u8]) -> bool {
    std::str::from_utf8(content)
        .is_ok_and(|text| text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}')))
}

/// An attachment's file name, as given: 1-255 characters once trimmed, no control
/// characters, no path (neither `/` nor `\`), not `.` or `..`. It is only ever served in
/// `Content-Disposition: attachment`, encoded there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filename(String);

impl Filename {
    pub const MAX: usize = 255;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 1, Self::MAX)?;
        let name = text.trim();
        if name.chars().any(char::is_control) {
            return Err(Invalid::new("invalid_characters", "must not contain control characters"));
        }
        if name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(Invalid::new("invalid_filename", "a file name, not a path"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name a file gets when the client names none: `attachment.png`.
    pub fn default_for(kind: AttachmentType) -> Self {
        Self(format!("attachment.{}", kind.extension()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_move_the_status_to_the_side_that_must_act_next() {
        use TicketEvent::*;
        use TicketStatus::*;
        #[rustfmt::skip]
        let table = [
            // from       event                    to
            (Open,     Reply(Side::Customer), Open),
            (Open,     Reply(Side::Seller),   Answered),
            (Open,     Close,                 Closed),
            (Answered, Reply(Side::Customer), Open),
            (Answered, Reply(Side::Seller),   Answered),
            (Answered, Close,                 Closed),
            (Closed,   Reply(Side::Customer), Open),
            (Closed,   Reply(Side::Seller),   Answered),
            (Closed,   Close,                 Closed),
        ];
        for (from, event, to) in table {
            assert_eq!(from.after(event), to, "{from} after {event:?}");
        }
        assert_eq!(Direction::Incoming.initial_status(), Open);
        assert_eq!(Direction::Outgoing.initial_status(), Answered);
    }

    #[test]
    fn only_the_sellers_side_sees_internal_notes() {
        assert!(Side::Seller.sees_internal_notes());
        assert!(!Side::Customer.sees_internal_notes());
        assert_eq!(Side::Customer.other(), Side::Seller);
    }

    #[test]
    fn names_round_trip() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Some(status));
        }
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(priority.as_str()), Some(priority));
        }
        for kind in AttachmentType::ALL {
            assert_eq!(AttachmentType::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap_or_default(), format!("\"{}\"", kind.mime()));
        }
        assert_eq!(Priority::default(), Priority::Normal);
    }

    #[test]
    fn subjects_and_bodies_are_trimmed_and_bounded() {
        assert_eq!(Subject::parse("  Mail is down ").map(|s| s.as_str().to_owned()), Ok("Mail is down".into()));
        for bad in ["", "  ", "tab\there", &"x".repeat(201)] {
            assert!(Subject::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MessageBody::parse("line one\nline two\ttabbed").is_ok());
        assert!(MessageBody::parse(&"x".repeat(MessageBody::MAX)).is_ok());
        for bad in ["", "\n", "bell\u{7}", &"x".repeat(MessageBody::MAX + 1)] {
            assert!(MessageBody::parse(bad).is_err(), "{bad:?}");
        }
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0";

    #[test]
    fn files_are_typed_by_their_content() {
        #[rustfmt::skip]
        let table: &[(&str, &[u8], Result<AttachmentType, &str>)] = &[
            ("image/png",                 PNG,                         Ok(AttachmentType::Png)),
            ("IMAGE/PNG; name=x",         PNG,                         Ok(AttachmentType::Png)),
            ("image/jpeg",                b"\xff\xd8\xff\xe0\0\x10JFIF\0", Ok(AttachmentType::Jpeg)),
            ("image/gif",                 b"GIF89a\x01\0\x01\0\0\0\0;", Ok(AttachmentType::Gif)),
            ("application/pdf",           b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", Ok(AttachmentType::Pdf)),
            ("text/plain; charset=utf-8", "Grüße\r\nline\ttab\n".as_bytes(), Ok(AttachmentType::PlainText)),
            // A program named as an image, as text, or as what it is.
            ("image/png",                 ELF,                         Err("mismatch")),
            ("text/plain",                ELF,                         Err("mismatch")),
            ("application/x-executable",  ELF,                         Err("type")),
            // Other claims that the content does not back.
            ("image/png",                 b"GIF89a\x01\0\x01\0\0\0\0;", Err("mismatch")),
            ("text/plain",                PNG,                         Err("mismatch")),
            ("text/plain",                b"\xff\xfe not utf-8",       Err("mismatch")),
            ("text/plain",                b"nul\0inside",              Err("mismatch")),
            ("image/svg+xml",             b"<svg/>",                   Err("type")),
            ("text/html",                 b"<b>x</b>",                 Err("type")),
            ("text/plain",                b"",                         Err("empty")),
        ];
        for (declared, content, want) in table {
            let got = AttachmentType::check(declared, content).map_err(|refusal| match refusal {
                AttachmentRefusal::TypeNotAllowed(_) => "type",
                AttachmentRefusal::ContentMismatch { .. } => "mismatch",
                AttachmentRefusal::Empty => "empty",
            });
            assert_eq!(&got, want, "{declared} with {content:?}");
        }
    }

    #[test]
    fn file_names_are_names_not_paths() {
        assert_eq!(Filename::parse(" report.pdf ").map(|f| f.as_str().to_owned()), Ok("report.pdf".into()));
        assert!(Filename::parse("Übersicht (2).png").is_ok());
        for bad in ["", "../etc/passwd", "a\\b", "..", ".", "new\nline", &"x".repeat(256)] {
            assert!(Filename::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Filename::default_for(AttachmentType::Jpeg).as_str(), "attachment.jpg");
    }
}
