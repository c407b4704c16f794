//! Secrets the server must read again later (TOTP seeds, provisioner passwords, private
//! keys) are stored sealed: XChaCha20-Poly1305 under the configured encryption key, with
//! a fresh random nonce per seal. A copy of the database alone reveals none of them.
//!
//! Each seal is bound to a context (what the secret is and whose, e.g. `totp:<account
//! id>`) as associated data, so a sealed value moved to another row or field no longer
//! opens. The text form is `v1.<base64url(nonce || ciphertext)>`: the version prefix
//! leaves room for another algorithm or key later.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::credentials::random_bytes;

const VERSION_PREFIX: &str = "v1.";
const NONCE_BYTES: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the random number generator failed")]
    Random,
    #[error("sealing failed")]
    Seal,
    /// Not a sealed value of a known version, or it does not open under this key and
    /// context (tampered, moved, or sealed with another key).
    #[error("the sealed value does not open")]
    Open,
}

/// Seals and opens with one key. Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// The sealed text of `plaintext`, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let nonce = random_bytes::<NONCE_BYTES>().map_err(|_| SealError::Random)?;
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| SealError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{VERSION_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The plaintext of a value sealed by [`Sealer::seal`] with the same key and context.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let encoded = sealed.strip_prefix(VERSION_PREFIX).ok_or(SealError::Open)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SealError::Open)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Open)?;
        self.cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&[byte; 32])
    }

    #[test]
    fn a_sealed_value_opens_again_and_holds_no_plaintext() {
        let sealer = sealer(7);
        let sealed = sealer.seal("totp:a", b"the secret seed").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("secret"));
        assert_eq!(sealer.open("totp:a", &sealed).unwrap(), b"the secret seed");
        assert_ne!(sealed, sealer.seal("totp:a", b"the secret seed").unwrap(), "every seal has its own nonce");
    }

    #[test]
    fn a_tampered_value_is_refused() {
        let sealer = sealer(7);
        let sealed = sealer.seal("totp:a", b"the secret seed").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(sealer.open("totp:a", &tampered), Err(SealError::Open));
        assert_eq!(sealer.open("totp:a", "v1."), Err(SealError::Open));
        assert_eq!(sealer.open("totp:a", "v2.AAAA"), Err(SealError::Open));
        assert_eq!(sealer.open("totp:a", "not sealed at all"), Err(SealError::Open));
    }

    #[test]
    fn another_key_or_context_does_not_open_it() {
        let sealed = sealer(7).seal("totp:a", b"the secret seed").unwrap();
        assert_eq!(sealer(8).open("totp:a", &sealed), Err(SealError::Open));
        assert_eq!(sealer(7).open("totp:b", &sealed), Err(SealError::Open), "moved to another account");
    }

    #[test]
    fn the_key_never_reaches_debug_output() {
        assert_eq!(format!("{:?}", sealer(7)), "Sealer(***)");
    }
}
