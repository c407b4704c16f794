//! Secrets handed to clients (API keys, refresh tokens, one-time tokens) and how they
//! are stored: only a SHA-256 digest reaches the database, so a copy of it holds no
//! usable credential.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// What a presented secret is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `hk_...`: an API key, sent as a bearer token.
    ApiKey,
    /// `hr_...`: a refresh token, sent only to `/v1/auth/refresh` and logout.
    RefreshToken,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "hk_",
            Self::RefreshToken => "hr_",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// `len` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(bytes)
}

/// A new secret of the given kind: its prefix and 256 random bits, URL-safe.
pub fn new_secret(kind: SecretKind) -> Result<String, RandomError> {
    let bytes = random_bytes::<32>()?;
    Ok(format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes)))
}

/// The digest stored for a secret, hex-encoded.
pub fn digest(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The part of an API key that may be shown again later to recognise it: the prefix
/// and the first 8 characters (48 bits, not enough to guess the remaining 208).
pub fn visible_prefix(secret: &str) -> String {
    secret.chars().take(11).collect()
}

/// What a token sent by mail (a link) may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    VerifyEmail,
    PasswordReset,
    /// The welcome mail's link: sets the first password, like a reset.
    SetPassword,
}

impl EmailTokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::SetPassword => "set_password",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::VerifyEmail, Self::PasswordReset, Self::SetPassword].into_iter().find(|p| p.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_their_prefix_and_256_bits() {
        let key = new_secret(SecretKind::ApiKey).unwrap();
        assert!(key.starts_with("hk_"));
        assert_eq!(key.len(), 3 + 43, "32 bytes are 43 base64url characters");
        assert_ne!(key, new_secret(SecretKind::ApiKey).unwrap());
        assert!(new_secret(SecretKind::RefreshToken).unwrap().starts_with("hr_"));
    }

    #[test]
    fn the_digest_is_sha256_hex() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn the_visible_prefix_is_short() {
        assert_eq!(visible_prefix("hk_abcdefghijklmnop"), "hk_abcdefgh");
    }
}
