//! The status page: components with a status, and incidents (unplanned outages and
//! faults, planned maintenance and changes) that lower the components they affect while
//! they last. The indicator is the worst effective status of all components.

use std::fmt;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validation::{check_trimmed_length, Invalid};

/// How a component works, and the page's overall indicator.
///
/// From best to worst: `operational`, `maintenance`, `degraded`, `partial_outage`,
/// `major_outage`. Maintenance ranks above the failures: planned work that takes a
/// component down for a while is better news than a component that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    Maintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
}

/// The page's overall status: the worst of its components'.
pub type Indicator = ComponentStatus;

impl ComponentStatus {
    /// Best first.
    pub const ALL: [ComponentStatus; 5] =
        [Self::Operational, Self::Maintenance, Self::Degraded, Self::PartialOutage, Self::MajorOutage];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::Maintenance => "maintenance",
            Self::Degraded => "degraded",
            Self::PartialOutage => "partial_outage",
            Self::MajorOutage => "major_outage",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// 0 for operational, higher is worse.
    fn severity(self) -> usize {
        Self::ALL.iter().position(|status| *status == self).unwrap_or(0)
    }

    /// The worse of two.
    pub fn worst(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened or is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Unplanned: something is down.
    Outage,
    /// Unplanned: something works badly.
    Fault,
    /// Planned work, announced with its window.
    Maintenance,
    /// A planned change, announced with its window.
    Change,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 4] = [Self::Outage, Self::Fault, Self::Maintenance, Self::Change];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Outage => "outage",
            Self::Fault => "fault",
            Self::Maintenance => "maintenance",
            Self::Change => "change",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Maintenance and changes are planned: they have a window and affect their
    /// components only within it.
    pub const fn is_planned(self) -> bool {
        matches!(self, Self::Maintenance | Self::Change)
    }

    /// The progress a new incident of this kind starts with.
    pub const fn initial_progress(self) -> Progress {
        if self.is_planned() {
            Progress::Scheduled
        } else {
            Progress::Investigating
        }
    }
}

/// What an incident does to its components while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    Degraded,
    PartialOutage,
    MajorOutage,
    Maintenance,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Self::Degraded, Self::PartialOutage, Self::MajorOutage, Self::Maintenance];

    pub const fn as_str(self) -> &'static str {
        self.lowers_to().as_str()
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|impact| impact.as_str() == text)
    }

    /// The status it lowers its components to.
    pub const fn lowers_to(self) -> ComponentStatus {
        match self {
            Self::Degraded => ComponentStatus::Degraded,
            Self::PartialOutage => ComponentStatus::PartialOutage,
            Self::MajorOutage => ComponentStatus::MajorOutage,
            Self::Maintenance => ComponentStatus::Maintenance,
        }
    }
}

/// Where an incident stands, as its updates say. Unplanned incidents go through
/// `investigating`, `identified`, `monitoring`, `resolved`; planned ones through
/// `scheduled`, `in_progress`, `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Scheduled,
    InProgress,
    Completed,
}

impl Progress {
    pub const ALL: [Progress; 7] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
        Self::Scheduled,
        Self::InProgress,
        Self::Completed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|progress| progress.as_str() == text)
    }

    /// Whether an incident of `kind` can be at this stage.
    pub const fn fits(self, kind: IncidentKind) -> bool {
        let planned_stage = matches!(self, Self::Scheduled | Self::InProgress | Self::Completed);
        planned_stage == kind.is_planned()
    }

    /// Whether the incident is over (resolved, or the planned work completed).
    pub const fn is_finished(self) -> bool {
        matches!(self, Self::Resolved | Self::Completed)
    }

    /// Checks that an update's stage fits the incident's kind.
    pub fn for_kind(self, kind: IncidentKind) -> Result<Self, Invalid> {
        if self.fits(kind) {
            Ok(self)
        } else {
            let allowed = Self::ALL.iter().filter(|p| p.fits(kind)).map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
            Err(Invalid::new("invalid_progress", format!("a {} is one of {allowed}", kind.as_str())))
        }
    }
}

/// The window of planned work: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Window {
    pub fn new(start: NaiveDateTime, end: NaiveDateTime) -> Result<Self, Invalid> {
        if end <= start {
            return Err(Invalid::new("invalid_window", "scheduled_end must be after scheduled_start"));
        }
        Ok(Self { start, end })
    }

    pub fn contains(&self, at: NaiveDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// The schedule an incident of `kind` must have: planned kinds need both ends, unplanned
/// ones have none. Each refusal names its field.
pub fn schedule_for(
    kind: IncidentKind,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
) -> Result<Option<Window>, (&'static str, Invalid)> {
    match (kind.is_planned(), start, end) {
        (true, Some(start), Some(end)) => {
            Window::new(start, end).map(Some).map_err(|invalid| ("/scheduled_end", invalid))
        }
        (true, None, _) => Err(("/scheduled_start", Invalid::new("required", "planned work needs its window"))),
        (true, _, None) => Err(("/scheduled_end", Invalid::new("required", "planned work needs its window"))),
        (false, None, None) => Ok(None),
        (false, Some(_), _) => Err(("/scheduled_start", unplanned())),
        (false, _, Some(_)) => Err(("/scheduled_end", unplanned())),
    }
}

fn unplanned() -> Invalid {
    Invalid::new("not_planned", "only maintenance and changes are scheduled")
}

/// An incident's title: 1-200 characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 1, 200)?;
        let title = text.trim();
        if title.chars().any(char::is_control) {
            return Err(Invalid::new("invalid_characters", "must not contain control characters"));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text of the status page (an incident's body, an update): 0-10,000 characters
/// once trimmed; line breaks and tabs allowed, no other control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        check_trimmed_length(text, 0, 10_000)?;
        let text = text.trim();
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(Invalid::new(
                "invalid_characters",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An incident as the indicator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incident<'a> {
    pub kind: IncidentKind,
    pub impact: Impact,
    pub progress: Progress,
    pub window: Option<Window>,
    pub component_ids: &'a [String],
}

impl Incident<'_> {
    /// Whether it lowers its components at `now`: not finished, and for planned work
    /// only within its window.
    pub fn lasts(&self, now: NaiveDateTime) -> bool {
        if self.progress.is_finished() {
            return false;
        }
        if !self.kind.is_planned() {
            return true;
        }
        self.window.is_some_and(|window| window.contains(now))
    }
}

/// A component's status at `now`: its own, lowered by every incident that affects it and
/// lasts.
pub fn effective_status(
    component_id: &str,
    own: ComponentStatus,
    incidents: &[Incident<'_>],
    now: NaiveDateTime,
) -> ComponentStatus {
    incidents
        .iter()
        .filter(|incident| incident.lasts(now) && incident.component_ids.iter().any(|id| id == component_id))
        .fold(own, |status, incident| status.worst(incident.impact.lowers_to()))
}

/// The indicator: the worst of the components' effective statuses; `operational` when
/// there are none.
pub fn indicator(effective: impl IntoIterator<Item = ComponentStatus>) -> Indicator {
    effective.into_iter().fold(ComponentStatus::Operational, ComponentStatus::worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn at(hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 5).and_then(|d| d.and_hms_opt(hour, 0, 0)).unwrap_or_default()
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn the_worst_status_wins_and_maintenance_ranks_above_failures() {
        use ComponentStatus::*;
        #[rustfmt::skip]
        let table: &[(&[ComponentStatus], ComponentStatus)] = &[
            (&[],                                   Operational),
            (&[Operational, Operational],           Operational),
            (&[Operational, Maintenance],           Maintenance),
            (&[Maintenance, Degraded],              Degraded),
            (&[Degraded, Operational],              Degraded),
            (&[PartialOutage, Degraded, Maintenance], PartialOutage),
            (&[MajorOutage, PartialOutage],         MajorOutage),
            (&[Operational, MajorOutage, Maintenance], MajorOutage),
        ];
        for (statuses, want) in table {
            assert_eq!(indicator(statuses.iter().copied()), *want, "{statuses:?}");
        }
    }

    /// The indicator of components `web` (own status given) and `mail` (operational) at
    /// 12:00 with one incident on `web`.
    #[test]
    fn incidents_lower_their_components_while_they_last() {
        use ComponentStatus as C;
        use IncidentKind::*;
        use Progress::*;
        type Row = (C, IncidentKind, Impact, Progress, Option<Window>, C);
        let window = |from: u32, to: u32| Window::new(at(from), at(to)).ok();
        #[rustfmt::skip]
        let table: &[Row] = &[
            // web's own     kind         impact                  progress       window              indicator
            (C::Operational, Outage,      Impact::MajorOutage,    Investigating, None,               C::MajorOutage),
            (C::Operational, Fault,       Impact::Degraded,       Monitoring,    None,               C::Degraded),
            (C::Operational, Outage,      Impact::MajorOutage,    Resolved,      None,               C::Operational),
            // An incident never raises a component above its own status.
            (C::PartialOutage, Fault,     Impact::Degraded,       Identified,    None,               C::PartialOutage),
            // Planned work only within its window, and until it is completed.
            (C::Operational, Maintenance, Impact::Maintenance,    Scheduled,     window(11, 13),     C::Maintenance),
            (C::Operational, Maintenance, Impact::Maintenance,    InProgress,    window(12, 13),     C::Maintenance),
            (C::Operational, Maintenance, Impact::Maintenance,    Scheduled,     window(13, 14),     C::Operational),
            (C::Operational, Maintenance, Impact::Maintenance,    InProgress,    window(10, 12),     C::Operational),
            (C::Operational, Maintenance, Impact::MajorOutage,    Completed,     window(11, 13),     C::Operational),
            (C::Operational, Change,      Impact::PartialOutage,  InProgress,    window(11, 13),     C::PartialOutage),
            (C::Degraded,    Change,      Impact::Maintenance,    Scheduled,     window(11, 13),     C::Degraded),
        ];
        let web = ids(&["web"]);
        for (own, kind, impact, progress, window, want) in table {
            let incident =
                Incident { kind: *kind, impact: *impact, progress: *progress, window: *window, component_ids: &web };
            let statuses = [
                effective_status("web", *own, &[incident], at(12)),
                effective_status("mail", C::Operational, &[incident], at(12)),
            ];
            assert_eq!(indicator(statuses), *want, "{kind:?} {impact:?} {progress:?} {window:?} on {own:?}");
            assert_eq!(statuses[1], C::Operational, "mail is not affected");
        }
    }

    #[test]
    fn several_incidents_take_the_worst_impact() {
        let both = ids(&["web", "mail"]);
        let web = ids(&["web"]);
        let incidents = [
            Incident {
                kind: IncidentKind::Fault,
                impact: Impact::Degraded,
                progress: Progress::Investigating,
                window: None,
                component_ids: &both,
            },
            Incident {
                kind: IncidentKind::Outage,
                impact: Impact::MajorOutage,
                progress: Progress::Identified,
                window: None,
                component_ids: &web,
            },
        ];
        assert_eq!(
            effective_status("web", ComponentStatus::Operational, &incidents, at(0)),
            ComponentStatus::MajorOutage
        );
        assert_eq!(
            effective_status("mail", ComponentStatus::Operational, &incidents, at(0)),
            ComponentStatus::Degraded
        );
        assert_eq!(
            effective_status("dns", ComponentStatus::Operational, &incidents, at(0)),
            ComponentStatus::Operational
        );
    }

    #[test]
    fn planned_kinds_need_a_window_and_unplanned_ones_have_none() {
        let (start, end) = (Some(at(1)), Some(at(2)));
        assert_eq!(schedule_for(IncidentKind::Maintenance, start, end), Ok(Window::new(at(1), at(2)).ok()));
        assert_eq!(schedule_for(IncidentKind::Outage, None, None), Ok(None));
        let pointer = |kind, start, end| schedule_for(kind, start, end).err().map(|(pointer, _)| pointer);
        assert_eq!(pointer(IncidentKind::Change, None, end), Some("/scheduled_start"));
        assert_eq!(pointer(IncidentKind::Change, start, None), Some("/scheduled_end"));
        assert_eq!(pointer(IncidentKind::Change, end, start), Some("/scheduled_end"), "the end comes after the start");
        assert_eq!(pointer(IncidentKind::Fault, start, None), Some("/scheduled_start"));
        assert_eq!(pointer(IncidentKind::Fault, None, end), Some("/scheduled_end"));
        assert!(
            Window::new(at(1), at(1) + Duration::seconds(1)).is_ok_and(|w| !w.contains(at(1) + Duration::seconds(1)))
        );
    }

    #[test]
    fn progress_fits_the_kind() {
        assert_eq!(IncidentKind::Outage.initial_progress(), Progress::Investigating);
        assert_eq!(IncidentKind::Change.initial_progress(), Progress::Scheduled);
        assert!(Progress::Resolved.for_kind(IncidentKind::Fault).is_ok());
        assert!(Progress::Completed.for_kind(IncidentKind::Fault).is_err());
        assert!(Progress::InProgress.for_kind(IncidentKind::Maintenance).is_ok());
        assert!(Progress::Monitoring.for_kind(IncidentKind::Change).is_err());
        for progress in Progress::ALL {
            assert_eq!(Progress::parse(progress.as_str()), Some(progress));
        }
        for impact in Impact::ALL {
            assert_eq!(Impact::parse(impact.as_str()), Some(impact));
        }
    }
}
