//! The shape of a refused value: a stable code and a sentence for people.
//!
//! Types that validate on construction return [`Invalid`]; the API attaches the JSON
//! pointer of the field it came from.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Invalid {
    pub code: &'static str,
    pub detail: String,
}

impl Invalid {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}

/// Checks a length in characters (not bytes) against inclusive bounds.
pub fn check_length(value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let length = value.chars().count();
    if length < min || length > max {
        return Err(Invalid::new("invalid_length", format!("must be {min} to {max} characters long")));
    }
    Ok(())
}

/// Checks the length of text that is stored trimmed: at most `max` characters as sent,
/// at least `min` once trimmed.
pub fn check_trimmed_length(text: &str, min: usize, max: usize) -> Result<(), Invalid> {
    if text.chars().count() > max {
        return Err(Invalid::new("invalid_length", format!("must be at most {max} characters long")));
    }
    let kept = text.trim().chars().count();
    if kept < min {
        let detail = if min == 1 {
            "must not be empty or blank".to_owned()
        } else {
            format!("must be {min} to {max} characters long")
        };
        return Err(Invalid::new("invalid_length", detail));
    }
    Ok(())
}

/// Why something was done (a suspension, a cancellation, a block), for the audit log and
/// sometimes for the customer: 1-1000 characters once trimmed; line breaks and tabs
/// allowed, no other control characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Reason(String);

impl Reason {
    pub const MAX: usize = 1000;

    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 1, Self::MAX)?;
        let trimmed = text.trim();
        if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new(
                "invalid_characters",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(Reason::parse("  abuse report #12  ").map(|r| r.as_str().to_owned()), Ok("abuse report #12".into()));
        assert!(Reason::parse("line one\nline two").is_ok());
        for bad in ["", "   ", "nul\u{0}byte"] {
            assert!(Reason::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Reason::parse(&"x".repeat(Reason::MAX)).is_ok());
        assert!(Reason::parse(&"x".repeat(Reason::MAX + 1)).is_err());
    }

    #[test]
    fn lengths_count_what_is_sent_and_what_is_kept() {
        assert!(check_trimmed_length("x", 1, 3).is_ok());
        assert!(check_trimmed_length("   ", 1, 3).is_err());
        assert!(check_trimmed_length("   ", 0, 3).is_ok());
        assert!(check_trimmed_length(" x  ", 1, 3).is_err(), "4 characters as sent");
        assert!(check_trimmed_length("ééé", 1, 3).is_ok(), "characters, not bytes");
    }
}
