//! Access tokens: HS256 JWTs (the one algorithm accepted), with every claim the
//! contract requires and a purpose, so that no other token can pass for one.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::http::problem::ApiError;

pub const ISSUER: &str = "hostadmin";
pub const AUDIENCE: &str = "hostadmin-api";
const PURPOSE_ACCESS: &str = "access";

/// The real actor behind an impersonation token (RFC 8693 `act`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ActorClaim {
    pub sub: String,
    /// The actor's token version when issued: when the actor's own tokens end
    /// (password change, logout everywhere, block), so does the impersonation.
    pub ver: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// The session this token belongs to.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    /// The token's purpose: only `access` tokens authenticate requests.
    pub typ: String,
    /// The account's token version when issued: bumping it ends every earlier token.
    pub ver: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<ActorClaim>,
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_seconds: i64,
}

impl TokenService {
    pub fn new(secret: &Secret, access_ttl_seconds: u32) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            access_ttl_seconds: i64::from(access_ttl_seconds),
        }
    }

    /// A new access token and its lifetime in seconds.
    pub fn issue(
        &self,
        account_id: &str,
        session_id: &str,
        token_version: i64,
        actor: Option<&ActorClaim>,
        ttl_seconds: i64,
    ) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: account_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + ttl_seconds,
            typ: PURPOSE_ACCESS.to_owned(),
            ver: token_version,
            act: actor.cloned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("signing a token: {e}")))
    }

    /// The claims of a valid access token; `token_expired` for an expired one and
    /// `unauthenticated` for anything else, without saying what was wrong.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, ApiError> {
        let data =
            decode::<AccessClaims>(token, &self.decoding, &self.validation).map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::new(
                    actix_web::http::StatusCode::UNAUTHORIZED,
                    "token_expired",
                    "the access token has expired; refresh it",
                ),
                _ => ApiError::unauthenticated("the bearer token is not valid"),
            })?;
        if data.claims.typ != PURPOSE_ACCESS || data.claims.sid.is_empty() {
            return Err(ApiError::unauthenticated("the bearer token is not valid"));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn service() -> TokenService {
        TokenService::new(&crate::config::tests_support::secret("0123456789abcdef0123456789abcdef"), 900)
    }

    #[test]
    fn issued_tokens_verify() {
        let tokens = service();
        let token = tokens.issue("acc", "sid", 3, None, 900).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str(), claims.ver), ("acc", "sid", 3));
    }

    fn forge(header: &str, claims: serde_json::Value, signature: &str) -> String {
        format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims.to_string()), signature)
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let tokens = service();
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "a", "sid": "s", "iat": now, "exp": now + 60, "typ": "access", "ver": 0});
        assert!(tokens.verify(&forge(r#"{"alg":"none","typ":"JWT"}"#, claims.clone(), "")).is_err());
        let good = tokens.issue("a", "s", 0, None, 60).unwrap();
        let mut tampered = good.clone();
        tampered.pop();
        tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
        assert!(tokens.verify(&tampered).is_err());
        let other = TokenService::new(
            &crate::config::tests_support::secret("another secret of at least thirty-two bytes"),
            900,
        );
        assert!(tokens.verify(&other.issue("a", "s", 0, None, 60).unwrap()).is_err());
        let expired = tokens.issue("a", "s", 0, None, -120).unwrap();
        assert_eq!(tokens.verify(&expired).err().map(|e| e.code()), Some("token_expired"));
    }
}
