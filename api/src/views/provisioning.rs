//! Where a hosting resource stands on the server behind it (crate::app::provisioning_states).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use hostadmin_domain::time;

use crate::app::provisioning_states::Provisioning;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningStatus {
    /// The worker is carrying the last change out (retrying after `error`, if any).
    Pending,
    /// The server holds the resource as hostadmin has it.
    Ready,
    /// The driver gave up; `error` says why. A retry or any later change tries again.
    Failed,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvisioningView {
    pub status: ProvisioningStatus,
    /// The driver's last error, while it retries and once it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl ProvisioningView {
    pub fn of(state: &Provisioning) -> Self {
        let status = match state.status.as_str() {
            "pending" => ProvisioningStatus::Pending,
            "failed" => ProvisioningStatus::Failed,
            _ => ProvisioningStatus::Ready,
        };
        Self { status, error: state.error.clone(), updated_at: time::to_utc(state.updated_at) }
    }
}
