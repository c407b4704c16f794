//! What every handler shares.

use std::sync::Arc;

use hostadmin_domain::provisioning::Provisioner;
use hostadmin_domain::sealing::Sealer;

use crate::auth::tokens::TokenService;
use crate::config::Config;
use crate::db::Db;
use crate::hashing::Hasher;
use crate::http::rate_limit::RequestLimiter;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub hasher: Hasher,
    pub tokens: TokenService,
    pub limiter: RequestLimiter,
    /// The driver every service change goes through.
    pub provisioner: Arc<dyn Provisioner>,
    /// The servers behind hosting resources; none configured: the built-in driver.
    pub drivers: crate::drivers::Configured,
    /// Seals secrets the server must read again (TOTP seeds, provisioner passwords,
    /// private keys) under the configured encryption key.
    pub sealer: Sealer,
    /// The public status summary, rendered once and shared for a few seconds.
    pub status_page: crate::http::published::Published,
}
