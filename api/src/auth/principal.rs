//! The authenticated caller, extracted from `Authorization: Bearer ...`: an access JWT
//! whose session is open and whose account's token version still matches, or an API
//! key (`hk_...`) that is neither revoked nor expired. Nothing else authenticates: a
//! key in a URL or another header is not looked at.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use hostadmin_domain::accounts::{AccountKind, AccountStatus};
use hostadmin_domain::credentials::{self, SecretKind};
use hostadmin_domain::policy::{Action, Actor, Authorized, Credential, Origin, Reach};
use hostadmin_domain::restrictions::Restrictions;
use hostadmin_domain::time;
use hostadmin_persistence::accounts::{self as account_store, AccountRow};
use hostadmin_persistence::api_keys;
use hostadmin_persistence::audit::AuditContext;
use hostadmin_persistence::restrictions as restriction_store;
use hostadmin_persistence::DbConnection;

use crate::http::client_ip::client_ip;
use crate::http::problem::ApiError;
use crate::http::request_id::RequestId;
use crate::state::AppState;

/// The authenticated caller of a request: the [`Actor`] and the account row it was
/// loaded with (read once per request, so that `GET /v1/me` needs nothing more).
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    /// The account acted as (under impersonation: the customer).
    pub account: AccountRow,
}

impl Principal {
    pub fn id(&self) -> &str {
        &self.actor.account_id
    }

    pub fn kind(&self) -> AccountKind {
        self.actor.kind
    }

    /// Asks the policy; the refusal is the route's 403, the proof what a lookup consumes.
    pub fn authorize(&self, action: Action) -> Result<Authorized, ApiError> {
        self.actor.authorize(action).map_err(ApiError::from)
    }

    pub fn reach(&self) -> Reach {
        self.actor.reach()
    }

    /// Who and from where, for the audit log.
    pub fn audit(&self) -> AuditContext {
        AuditContext::of(&self.actor)
    }

    pub fn session_id(&self) -> Option<&str> {
        self.actor.session_id()
    }

    /// Whose idempotency keys and rate limit these are: a key's own, or the account's.
    pub fn key(&self) -> String {
        match &self.actor.credential {
            Credential::ApiKey { key_id, .. } => format!("key:{key_id}"),
            Credential::Session { .. } => format!("account:{}", self.actor.account_id),
        }
    }
}

/// The bearer token of the request, if it has one.
fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Where the request came from and which request it is, for the audit log.
pub fn origin(request: &HttpRequest, state: &AppState) -> Origin {
    Origin {
        ip: client_ip(request, &state.config.trusted_proxies).map(|ip| ip.to_string()),
        request_id: request.extensions().get::<RequestId>().map(|id| id.0.clone()),
    }
}

/// The audit context of a request nobody is logged in for (login, password reset).
pub fn request_context(request: &HttpRequest, state: &AppState) -> AuditContext {
    let origin = origin(request, state);
    AuditContext { ip: origin.ip, request_id: origin.request_id, ..AuditContext::default() }
}

fn invalid_token() -> ApiError {
    ApiError::unauthenticated("the bearer token is not valid")
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let Caller { request, state, credentials, origin } = Caller::of(request)?;
            let principal = state.db.run(move |conn| authenticate(conn, credentials, origin)).await?;
            admit(&request, &state, &principal)?;
            Ok(principal)
        })
    }
}

/// A caller whose credentials are read but not yet checked against the database: the
/// check runs in the same blocking hop as the handler's first read ([`Caller::read`]),
/// which saves a hop to a blocking thread and back (two thread switches and a pooled
/// connection's checkout) on a request that needs nothing else. The rules are
/// [`Principal`]'s, in the same order: 401 for a token that does not authenticate, then
/// 429 over the rate limit, then 422 for an unknown query parameter, then the read's
/// own answer.
pub struct Caller {
    request: HttpRequest,
    state: web::Data<AppState>,
    credentials: Credentials,
    origin: Origin,
}

impl Caller {
    fn of(request: HttpRequest) -> Result<Self, ApiError> {
        let state = request
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        let token = bearer(&request).ok_or_else(|| ApiError::unauthenticated("send Authorization: Bearer <token>"))?;
        let credentials = if token.starts_with(SecretKind::ApiKey.prefix()) {
            Credentials::ApiKey { digest: credentials::digest(&token) }
        } else {
            Credentials::Session(state.tokens.verify(&token)?)
        };
        let origin = origin(&request, &state);
        Ok(Self { request, state, credentials, origin })
    }

    /// Authenticates the caller and runs `read` with it, in one blocking hop. Only for
    /// reads: a caller refused for its rate or its query has had its read run (and its
    /// answer dropped), which a change must never have.
    pub async fn read<T, F>(self, read: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection, &Principal) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let Self { request, state, credentials, origin } = self;
        let (principal, answer) = state
            .db
            .run(move |conn| {
                let principal = authenticate(conn, credentials, origin)?;
                match read(conn, &principal) {
                    // A lost connection is the hop's failure (the pool discards it).
                    Err(error @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => Err(error),
                    answer => Ok((principal, answer)),
                }
            })
            .await?;
        admit(&request, &state, &principal)?;
        answer
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::of(request.clone()))
    }
}

/// What the bearer token says before the database is asked.
enum Credentials {
    /// An access token whose signature and expiry were verified.
    Session(crate::auth::tokens::AccessClaims),
    /// An API key, by the digest it is stored under.
    ApiKey { digest: String },
}

/// The database's part of authentication: the session or key still valid, its account
/// not blocked, and the restrictions in force, read on every request so that a logout,
/// block or restriction applies to the next one.
fn authenticate(conn: &mut DbConnection, credentials: Credentials, origin: Origin) -> Result<Principal, ApiError> {
    match credentials {
        Credentials::Session(claims) => from_session(conn, claims, origin),
        Credentials::ApiKey { digest } => from_api_key(conn, &digest, origin),
    }
}

/// What is refused once the caller is known: over its rate limit (the standing goes on
/// the answer's headers either way), then an unknown query parameter.
fn admit(request: &HttpRequest, state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    match state.limiter.check(&principal.key()) {
        Ok(standing) => request.extensions_mut().insert(standing),
        Err((refused, standing)) => {
            request.extensions_mut().insert(standing);
            return Err(refused);
        }
    };
    match crate::http::query_guard::refusal(request, true) {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

fn from_session(
    conn: &mut DbConnection,
    claims: crate::auth::tokens::AccessClaims,
    origin: Origin,
) -> Result<Principal, ApiError> {
    // The session, its account and the restrictions in force, in one statement.
    let (session, account, restrictions) =
        restriction_store::session_with_account(conn, &claims.sid, &claims.sub)?.ok_or_else(invalid_token)?;
    let valid = session.ended_at.is_none()
        && account.token_version == claims.ver
        && session.impersonator_id.as_deref() == claims.act.as_ref().map(|a| a.sub.as_str());
    if !valid {
        return Err(invalid_token());
    }
    if let Some(act) = &claims.act {
        if !impersonator_still_valid(conn, act)? {
            return Err(invalid_token());
        }
    }
    let credential = Credential::Session { session_id: session.id };
    signed_in(account, restrictions, credential, session.impersonator_id, origin)
}

/// The principal of the account a session or key authenticated; a blocked account is
/// refused, whatever authenticated it.
fn signed_in(
    account: AccountRow,
    restrictions: Restrictions,
    credential: Credential,
    impersonator_id: Option<String>,
    origin: Origin,
) -> Result<Principal, ApiError> {
    if account.status == AccountStatus::Blocked {
        return Err(invalid_token());
    }
    Ok(Principal {
        actor: Actor {
            account_id: account.id.clone(),
            kind: account.kind,
            status: account.status,
            credential,
            impersonator_id,
            restrictions,
            origin,
        },
        account,
    })
}

/// An impersonation ends with its actor: when the actor is blocked or its own tokens
/// ended (its token version moved on since the impersonation token was issued).
fn impersonator_still_valid(conn: &mut DbConnection, act: &crate::auth::tokens::ActorClaim) -> Result<bool, ApiError> {
    let Some(actor) = account_store::find(conn, &act.sub)? else { return Ok(false) };
    Ok(actor.token_version == act.ver && actor.status != AccountStatus::Blocked)
}

fn from_api_key(conn: &mut DbConnection, digest: &str, origin: Origin) -> Result<Principal, ApiError> {
    let key = api_keys::find_by_hash(conn, digest)?.ok_or_else(invalid_token)?;
    let now = time::now();
    let usable = key.revoked_at.is_none() && key.expires_at.is_none_or(|at| at > now);
    if !usable {
        return Err(invalid_token());
    }
    let (account, restrictions) =
        restriction_store::account_with_restrictions(conn, &key.account_id)?.ok_or_else(invalid_token)?;
    if key.last_used_at.is_none_or(|at| at < now - chrono::Duration::minutes(1)) {
        api_keys::touch(conn, &key.id, now)?;
    }
    let credential = Credential::ApiKey { key_id: key.id, scopes: key.scopes };
    signed_in(account, restrictions, credential, None, origin)
}
