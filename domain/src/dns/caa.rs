//! CAA records (RFC 8659): `flags tag value`, and the forms `issue`, `issuewild` and
//! `iodef` values take.

use super::{check_label, number, RecordData, MAX_CAA_VALUE_BYTES, MAX_NAME};
use crate::validation::Invalid;

pub(super) fn parse_caa(content: &str) -> Result<RecordData, Invalid> {
    let shape =
        || Invalid::new("invalid_content", "CAA content is \"flags tag value\", e.g. 0 issue \"letsencrypt.org\"");
    let content = content.trim_matches(' ');
    let (flags, rest) = content.split_once(' ').ok_or_else(shape)?;
    let (tag, value) = rest.trim_start_matches(' ').split_once(' ').ok_or_else(shape)?;
    let flags: u8 = number(Some(flags), "flags value", "from 0 to 255")?;
    let tag = tag.to_ascii_lowercase();
    if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Invalid::new("invalid_content", "a CAA tag is 1 to 15 ASCII letters and digits"));
    }
    let value = caa_value(value.trim_matches(' '))?;
    if value.len() > MAX_CAA_VALUE_BYTES {
        return Err(Invalid::new("invalid_content", format!("a CAA value is at most {MAX_CAA_VALUE_BYTES} bytes")));
    }
    match tag.as_str() {
        "issue" | "issuewild" => check_issuer(&value)?,
        "iodef" => {
            let url = url::Url::parse(&value)
                .map_err(|_| Invalid::new("invalid_content", "an iodef value is a mailto:, http: or https: URL"))?;
            if !matches!(url.scheme(), "mailto" | "http" | "https") {
                return Err(Invalid::new("invalid_content", "an iodef value is a mailto:, http: or https: URL"));
            }
        }
        _ => {}
    }
    Ok(RecordData::Caa { flags, tag, value })
}

/// The value of a CAA record: a quoted string (`\"` and `\\` escapes) or one word, of
/// printable ASCII.
fn caa_value(text: &str) -> Result<String, Invalid> {
    let printable = |c: char| (' '..='~').contains(&c);
    let Some(inner) = text.strip_prefix('"') else {
        if text.is_empty() || !text.chars().all(|c| printable(c) && c != ' ' && c != '"' && c != '\\') {
            return Err(Invalid::new("invalid_content", "a CAA value with spaces or quotes is written in quotes"));
        }
        return Ok(text.to_owned());
    };
    let mut value = String::new();
    let mut chars = inner.chars();
    loop {
        match chars.next() {
            None => return Err(Invalid::new("invalid_content", "the CAA value's closing quote is missing")),
            Some('"') => break,
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\')) => value.push(c),
                _ => return Err(Invalid::new("invalid_content", "inside quotes only \\\" and \\\\ are escapes")),
            },
            Some(c) if printable(c) => value.push(c),
            Some(_) => return Err(Invalid::new("invalid_content", "a CAA value is printable ASCII")),
        }
    }
    if chars.next().is_some() {
        return Err(Invalid::new("invalid_content", "nothing may follow the CAA value's closing quote"));
    }
    Ok(value)
}

/// `issue`/`issuewild` values (RFC 8659 4.2): an optional issuer domain name, then
/// `; key=value` parameters (keys letters and digits, values visible ASCII but `;`).
fn check_issuer(value: &str) -> Result<(), Invalid> {
    let refuse = |detail: &str| Err(Invalid::new("invalid_content", detail.to_owned()));
    let mut parts = value.split(';');
    let issuer = parts.next().unwrap_or_default().trim_matches([' ', '\t']);
    if !issuer.is_empty() {
        let labels_ok = issuer.split('.').all(|label| check_label(&label.to_ascii_lowercase(), false).is_ok());
        if !labels_ok || issuer.len() > MAX_NAME {
            return refuse("the issuer is a domain name such as letsencrypt.org (or empty: no issuer may)");
        }
    }
    for parameter in parts {
        let parameter = parameter.trim_matches([' ', '\t']);
        if parameter.is_empty() {
            continue;
        }
        let Some((key, value)) = parameter.split_once('=') else {
            return refuse("issuer parameters are key=value");
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return refuse("an issuer parameter's key is ASCII letters and digits");
        }
        if !value.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b';') {
            return refuse("an issuer parameter's value is visible ASCII without spaces or ';'");
        }
    }
    Ok(())
}
