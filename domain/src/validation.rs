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
