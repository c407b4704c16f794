//! One-click login links: a URL that logs the owner of a service into one of its tools
//! (the control panel, webmail, the database tool, the file manager) without a second
//! password. The link carries a random single-use token valid [`LIFETIME`]; the tool
//! redeems it server-to-server and learns whom to log in. Only the token's SHA-256
//! digest is stored.
//!
//! The provisioner's driver makes the link (`Provisioner::login_link` in
//! [`crate::provisioning`]); the built-in way fills the URL template configured for the
//! tool, in which [`TOKEN_PLACEHOLDER`] stands for the token.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::catalog::ServiceKind;
use crate::credentials::{random_bytes, RandomError};

/// How long a link may be used.
pub const LIFETIME: Duration = Duration::seconds(60);

/// The tools a link can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// The hosting control panel.
    Panel,
    Webmail,
    /// The database administration tool (phpMyAdmin, Adminer).
    Database,
    /// The file manager.
    Files,
}

impl Tool {
    pub const ALL: [Tool; 4] = [Self::Panel, Self::Webmail, Self::Database, Self::Files];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Panel => "panel",
            Self::Webmail => "webmail",
            Self::Database => "database",
            Self::Files => "files",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tool| tool.as_str() == text)
    }

    /// Whether a service of `kind` has this tool at all: web hosting has every tool, mail
    /// hosting its panel and webmail, a reseller package its panel; domains and
    /// certificates have none.
    pub fn offered_by(self, kind: ServiceKind) -> bool {
        match kind {
            ServiceKind::WebHosting => true,
            ServiceKind::MailHosting => matches!(self, Self::Panel | Self::Webmail),
            ServiceKind::ResellerHosting => self == Self::Panel,
            ServiceKind::Domain | ServiceKind::SslCertificate => false,
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new link token: 256 random bits, URL-safe base64 (43 characters), so it may stand
/// anywhere in a URL.
pub fn new_token() -> Result<String, RandomError> {
    let bytes = random_bytes::<32>()?;
    Ok(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes))
}

/// Where a template takes the token.
pub const TOKEN_PLACEHOLDER: &str = "{token}";

/// Checks a configured template: an absolute http(s) URL with `{token}` in it.
pub fn check_template(template: &str) -> Result<(), String> {
    if !template.contains(TOKEN_PLACEHOLDER) {
        return Err("must contain {token}".to_owned());
    }
    let probe = template.replace(TOKEN_PLACEHOLDER, "t");
    match url::Url::parse(&probe) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(()),
        _ => Err("must be an absolute http(s) URL".to_owned()),
    }
}

/// The configured URL templates, one per tool (`login_url_panel`, ...); a tool without
/// one is not offered by the built-in driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginUrls {
    templates: Vec<(Tool, String)>,
}

impl LoginUrls {
    /// Checks each template ([`check_template`]); the refusal names the tool first
    /// (`webmail: must contain {token}`).
    pub fn new(templates: impl IntoIterator<Item = (Tool, Option<String>)>) -> Result<Self, String> {
        let mut checked = Vec::new();
        for (tool, template) in templates {
            if let Some(template) = template {
                check_template(&template).map_err(|problem| format!("{tool}: {problem}"))?;
                checked.push((tool, template));
            }
        }
        Ok(Self { templates: checked })
    }

    pub fn for_tool(&self, tool: Tool) -> Option<&str> {
        self.templates.iter().find(|(t, _)| *t == tool).map(|(_, template)| template.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_by_kind() {
        assert!(Tool::ALL.iter().all(|tool| tool.offered_by(ServiceKind::WebHosting)));
        assert!(Tool::Webmail.offered_by(ServiceKind::MailHosting));
        assert!(!Tool::Database.offered_by(ServiceKind::MailHosting));
        assert!(Tool::Panel.offered_by(ServiceKind::ResellerHosting));
        assert!(!Tool::Files.offered_by(ServiceKind::ResellerHosting));
        assert!(!Tool::Panel.offered_by(ServiceKind::SslCertificate));
        for tool in Tool::ALL {
            assert_eq!(Tool::parse(tool.as_str()), Some(tool));
        }
        assert_eq!(Tool::parse("ssh"), None);
    }

    #[test]
    fn templates_are_urls_with_a_token_place() {
        assert!(check_template("https://panel.example/sso?token={token}").is_ok());
        assert!(check_template("https://panel.example/sso").is_err());
        assert!(check_template("panel.example/{token}").is_err());
        assert!(check_template("ftp://panel.example/{token}").is_err());
    }

    #[test]
    fn configured_templates_are_checked_and_found_by_tool() {
        let urls =
            LoginUrls::new([(Tool::Panel, Some("https://p.example/{token}".to_owned())), (Tool::Files, None)]).unwrap();
        assert_eq!(urls.for_tool(Tool::Panel), Some("https://p.example/{token}"));
        assert_eq!(urls.for_tool(Tool::Files), None);
        let refused = LoginUrls::new([(Tool::Webmail, Some("https://w.example/".to_owned()))]).unwrap_err();
        assert_eq!(refused, "webmail: must contain {token}");
    }

    #[test]
    fn tokens_are_256_bits_and_url_safe() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(token, new_token().unwrap());
    }
}
