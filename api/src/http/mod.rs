//! HTTP conventions shared by every route.

pub mod body;
pub mod client_ip;
pub mod conditional;
pub mod etag;
pub mod fallback;
pub mod idempotency;
pub mod merge_patch;
pub mod metrics;
pub mod pagination;
pub mod problem;
pub mod problem_codes;
pub mod published;
pub mod query_guard;
pub mod rate_limit;
pub mod request_id;
pub mod route_table;
pub mod upload;
