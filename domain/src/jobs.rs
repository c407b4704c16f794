//! Background jobs: what a job does and where it stands.

use std::fmt;

use serde::Serialize;
use utoipa::ToSchema;

/// What a job does; decides which part of the worker carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum JobKind {
    /// A bulk action on services (or their domains) above the synchronous limit.
    #[serde(rename = "services.bulk")]
    ServicesBulk,
    /// An operation a deferring provisioner left to the worker.
    #[serde(rename = "provision")]
    Provision,
    /// A certificate ordered from the ACME CA (a first order or a renewal).
    #[serde(rename = "certificate.acme")]
    CertificateOrder,
}

impl JobKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ServicesBulk => "services.bulk",
            Self::Provision => "provision",
            Self::CertificateOrder => "certificate.acme",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::ServicesBulk, Self::Provision, Self::CertificateOrder].into_iter().find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job stands: `queued` until a worker claims it, `running` while one holds it
/// (or held it and crashed), then `done` or `failed` for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    /// The statuses of a job a worker may still claim.
    pub const OPEN: [Self; 2] = [Self::Queued, Self::Running];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed].into_iter().find(|status| status.as_str() == text)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_what_they_name() {
        for kind in [JobKind::ServicesBulk, JobKind::Provision, JobKind::CertificateOrder] {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str(), "the API shows the stored name");
        }
        for status in [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Failed] {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str(), "the API shows the stored name");
        }
        assert_eq!(JobKind::parse("domains.bulk"), None);
        assert_eq!(JobStatus::parse("Done"), None);
    }
}
