//! Tool keys: how the tools themselves (the control panel, webmail, the database tool,
//! the file manager) authenticate to redeem login links, configured as
//! `tool_keys` / `HOSTADMIN_TOOL_KEYS`. An entry `webmail=KEY` may redeem webmail links
//! only; a bare `KEY` links for every tool. Keys are at least 32 characters, sent as
//! `Authorization: Bearer KEY`, and kept only as SHA-256 digests in memory.

use actix_web::http::header;
use actix_web::HttpRequest;

use hostadmin_domain::credentials;
use hostadmin_domain::login_links::Tool;

use crate::http::problem::ApiError;

/// The shortest key accepted: 32 characters (at least 160 bits for keys from a password
/// generator).
pub const MIN_KEY_LENGTH: usize = 32;

#[derive(Clone, Default)]
pub struct ToolKeys(Vec<ToolKey>);

#[derive(Clone)]
struct ToolKey {
    /// `None`: any tool.
    tool: Option<Tool>,
    digest: String,
}

impl std::fmt::Debug for ToolKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ToolKeys({} configured)", self.0.len())
    }
}

impl ToolKeys {
    /// Reads a comma-separated list of `tool=key` and `key` entries.
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let mut keys = Vec::new();
        for entry in text.unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (tool, key) = match entry.split_once('=') {
                Some((name, key)) => {
                    let tool = Tool::parse(name.trim()).ok_or_else(|| format!("{name:?} is not a tool"))?;
                    (Some(tool), key.trim())
                }
                None => (None, entry),
            };
            if key.chars().count() < MIN_KEY_LENGTH || key.chars().any(char::is_whitespace) {
                return Err(format!("every key must be at least {MIN_KEY_LENGTH} characters without spaces"));
            }
            keys.push(ToolKey { tool, digest: credentials::digest(key) });
        }
        Ok(Self(keys))
    }

    /// The tools whose links the presented key may redeem; empty when it is no key.
    fn tools_for(&self, presented: &str) -> Vec<Tool> {
        let digest = credentials::digest(presented);
        let mut tools = Vec::new();
        // Every entry is compared: how long this takes says nothing about which matched.
        for key in &self.0 {
            if key.digest == digest {
                match key.tool {
                    Some(tool) => tools.push(tool),
                    None => tools.extend(Tool::ALL),
                }
            }
        }
        tools
    }

    /// The tools the request's bearer key may redeem links for: `401` without a
    /// configured key.
    pub fn authenticate(&self, request: &HttpRequest) -> Result<Vec<Tool>, ApiError> {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .ok_or_else(|| ApiError::unauthenticated("send a tool key as `Authorization: Bearer <key>`"))?;
        let tools = self.tools_for(presented);
        if tools.is_empty() {
            return Err(ApiError::unauthenticated("the tool key is not valid"));
        }
        Ok(tools)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn keys_bind_to_a_tool_or_to_all() {
        let keys = ToolKeys::parse(Some(&format!("webmail={KEY_A}, {KEY_B}"))).unwrap();
        assert_eq!(keys.tools_for(KEY_A), vec![Tool::Webmail]);
        assert_eq!(keys.tools_for(KEY_B), Tool::ALL.to_vec());
        assert!(keys.tools_for("c".repeat(40).as_str()).is_empty());
        assert!(!format!("{keys:?}").contains("aaaa"), "never in logs");
    }

    #[test]
    fn short_keys_and_unknown_tools_are_refused() {
        assert!(ToolKeys::parse(Some("short")).is_err());
        assert!(ToolKeys::parse(Some(&format!("ssh={KEY_A}"))).is_err());
        assert!(ToolKeys::parse(None).unwrap().tools_for(KEY_A).is_empty());
    }
}
