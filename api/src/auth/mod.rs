//! Who is calling: access tokens, API keys, and the principal every handler receives.

pub mod principal;
pub mod tokens;

pub use principal::Principal;
