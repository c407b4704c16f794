//! Who is calling: access tokens, API keys, and the principal every handler receives.

pub mod principal;
pub mod tokens;
pub mod tool_keys;

pub use principal::{Caller, Principal};
