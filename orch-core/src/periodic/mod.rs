//! Periodic jobs: when a parent launches its next child, and what the child is.
//!
//! Pure: the leader's dispatcher (`orch-daemon`'s `server::periodic`) passes the time in
//! and proposes the children this module derives. Launches are tracked in the replicated
//! state as one [`PeriodicLaunch`](crate::model::PeriodicLaunch) per parent, written in
//! the same log entry as the child (see `state::jobs`), so a new leader neither skips nor
//! repeats a launch: it continues from the recorded one.
//!
//! Missed launches (no leader at the time, or a leader change): as in Nomad's
//! `restorePeriodicDispatcher`, only one is made up for, at once, with the current time
//! as its launch time; the schedule then continues from there. A launch more than
//! [`LATE_TOLERANCE`] late counts as missed.
//!
//! Modules: `cron` (Nomad's cron expressions, re-exported as [`Cron`]; its day fields in
//! `cron_days`) and `tests` (unit tests).

mod cron;
mod launch;

use std::collections::BTreeMap;

pub use cron::{Cron, CronError};
pub use launch::{LaunchRefused, launch_command};

use crate::model::{Job, PeriodicConfig, job_status};
use crate::state::{JobKey, StateStore};

/// What the dispatcher appends to the parent's ID, before the launch's Unix seconds.
pub const LAUNCH_SUFFIX: &str = "/periodic-";

/// A launch found this late (nanoseconds) is treated as missed: it happens now, under
/// the current time, instead of under its scheduled time.
pub const LATE_TOLERANCE: i64 = 5_000_000_000;

const NANOS: i64 = 1_000_000_000;

/// Time zone names that mean UTC (Go's `LoadLocation` accepts these for UTC).
const UTC_NAMES: &[&str] = &["", "UTC", "Etc/UTC", "GMT", "Etc/GMT", "Universal", "Zulu"];

/// Why a periodic block cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodicError {
    /// A cron expression does not parse. `field` is `Spec` or `Specs[i]`.
    #[error("Invalid cron spec {spec:?}: {source}")]
    Spec {
        /// `Spec` or `Specs[i]`.
        field: String,
        /// The expression.
        spec: String,
        /// What is wrong with it.
        source: CronError,
    },
    /// The time zone is not in the IANA database orch carries.
    #[error("unknown time zone {0:?}: use an IANA name such as \"America/New_York\" or \"UTC\"")]
    TimeZone(String),
}

/// A periodic block's parsed expressions: the next launch is the earliest of any.
#[derive(Debug, Clone)]
pub struct Schedule {
    crons: Vec<Cron>,
    /// `None` for UTC. The IANA database is compiled in (jiff's bundled tzdb), so
    /// launch times do not depend on the host and orch-core stays free of I/O.
    zone: Option<jiff::tz::TimeZone>,
}

impl Schedule {
    /// Parses `Spec` and `Specs` and checks the time zone.
    pub fn new(p: &PeriodicConfig) -> Result<Schedule, PeriodicError> {
        let zone = if UTC_NAMES.contains(&p.time_zone.as_str()) {
            None
        } else {
            Some(
                jiff::tz::TimeZone::get(&p.time_zone)
                    .map_err(|_| PeriodicError::TimeZone(p.time_zone.clone()))?,
            )
        };
        let named = std::iter::once(("Spec".to_string(), &p.spec)).chain(
            p.specs
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("Specs[{i}]"), s)),
        );
        let mut crons = Vec::new();
        for (field, spec) in named.filter(|(_, s)| !s.is_empty()) {
            let c = Cron::parse(spec).map_err(|source| PeriodicError::Spec {
                field,
                spec: spec.clone(),
                source,
            })?;
            crons.push(c);
        }
        Ok(Schedule { crons, zone })
    }

    /// The first launch strictly after `after` (Unix nanoseconds), in whole seconds as
    /// nanoseconds; `None` when no expression matches again.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let secs = after.div_euclid(NANOS);
        self.crons
            .iter()
            .filter_map(|c| match &self.zone {
                None => c.next_after(secs),
                Some(tz) => c.next_in_zone(secs, &|t| offset_of(tz, t)),
            })
            .min()
            .and_then(|s| s.checked_mul(NANOS))
    }
}

/// The next launch of a periodic job, as `nomad job status` (`Next Periodic Launch`) and
/// the job plan API (`NextPeriodicLaunch`) report it: computed from the spec and the time
/// alone, not from the launch records, and shown in the job's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextLaunch {
    /// Unix nanoseconds (whole seconds).
    pub at: i64,
    /// The job's UTC offset at that instant, seconds east of UTC (0 for UTC).
    pub utc_offset: i32,
}

impl NextLaunch {
    /// RFC 3339 in the job's time zone (`2024-05-01T02:00:00-04:00`; `Z` for UTC), as Go
    /// prints a `time.Time` in that location.
    pub fn rfc3339(&self) -> String {
        let Ok(ts) = jiff::Timestamp::from_second(self.at.div_euclid(NANOS)) else {
            return String::new();
        };
        let Ok(offset) = jiff::tz::Offset::from_seconds(self.utc_offset) else {
            return String::new();
        };
        if self.utc_offset == 0 {
            return ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        }
        ts.display_with_offset(offset).to_string()
    }
}

/// When an enabled periodic block launches next after `now` (Unix nanoseconds); `None`
/// when it is disabled, does not parse, or never matches again (cronexpr stops at 2099).
/// Nomad computes this from the current time on the client (`job status`) and in
/// `Job.Plan`; stopped and parameterized parents are the callers' business.
pub fn next_launch(p: &PeriodicConfig, now: i64) -> Option<NextLaunch> {
    if !p.enabled {
        return None;
    }
    let schedule = Schedule::new(p).ok()?;
    let at = schedule.next_after(now)?;
    let utc_offset = schedule.zone.as_ref().map_or(0, |tz| {
        i32::try_from(offset_of(tz, at.div_euclid(NANOS))).unwrap_or(0)
    });
    Some(NextLaunch { at, utc_offset })
}

/// The zone's UTC offset in seconds at Unix second `t` (0 when out of range).
fn offset_of(tz: &jiff::tz::TimeZone, t: i64) -> i64 {
    jiff::Timestamp::from_second(t).map_or(0, |ts| i64::from(tz.to_offset(ts).seconds()))
}

/// The child's ID for a launch at `launch` (Unix nanoseconds): `<parent>/periodic-<secs>`.
pub fn child_id(parent_id: &str, launch: i64) -> String {
    format!("{parent_id}{LAUNCH_SUFFIX}{}", launch.div_euclid(NANOS))
}

/// The launch time (Unix nanoseconds) encoded in a periodic child's ID.
pub fn launch_time(child_id: &str) -> Option<i64> {
    let (_, secs) = child_id.rsplit_once(LAUNCH_SUFFIX)?;
    secs.parse::<i64>().ok()?.checked_mul(NANOS)
}

/// The child a parent launches at `launch`: the parent's spec without its periodic
/// block, under the derived ID, with `ParentID` set and server bookkeeping reset.
pub fn derive_child(parent: &Job, launch: i64) -> Job {
    let mut child = parent.clone();
    child.id = child_id(&parent.id, launch);
    child.name.clone_from(&child.id);
    child.parent_id.clone_from(&parent.id);
    child.periodic = None;
    child.stop = false;
    reset_bookkeeping(&mut child);
    child
}

/// Clears what the state store manages, so a derived job registers as new.
pub(crate) fn reset_bookkeeping(job: &mut Job) {
    job.status = String::new();
    job.status_description = String::new();
    job.stable = false;
    job.version = 0;
    job.submit_time = 0;
    job.create_index = 0;
    job.modify_index = 0;
    job.job_modify_index = 0;
}

/// True while any child of `parent` has an evaluation or allocation that is not
/// terminal (Nomad's `RunningChildren`): `prohibit_overlap` skips launches then.
pub fn has_running_children(state: &StateStore, namespace: &str, parent: &str) -> bool {
    state.child_jobs(namespace, parent).iter().any(|c| {
        state
            .evals_by_job(namespace, &c.id)
            .iter()
            .any(|e| e.create_index >= c.create_index && !e.terminal())
            || state
                .allocs_by_job(namespace, &c.id)
                .iter()
                .any(|a| a.create_index >= c.create_index && !a.terminal())
    })
}

/// Children of `parent` by status, for job summaries: `(pending, running, dead)`.
pub fn children_summary(state: &StateStore, namespace: &str, parent: &str) -> (u64, u64, u64) {
    let mut counts = (0, 0, 0);
    for c in state.child_jobs(namespace, parent) {
        match c.status.as_str() {
            job_status::RUNNING => counts.1 += 1,
            job_status::DEAD => counts.2 += 1,
            _ => counts.0 += 1,
        }
    }
    counts
}

/// One launch the dispatcher should make now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueLaunch {
    /// The parent job.
    pub parent: JobKey,
    /// Launch time (Unix nanoseconds): the scheduled time, or now for a missed launch.
    pub at: i64,
    /// The scheduled time was missed (see the module documentation).
    pub missed: bool,
    /// `prohibit_overlap` is set and a previous child still runs: skip this launch.
    pub overlapping: bool,
}

/// What the dispatcher does now and when to look again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchPlan {
    /// Launches due at `now`.
    pub due: Vec<DueLaunch>,
    /// The earliest future launch (Unix nanoseconds), if any.
    pub next: Option<i64>,
}

/// The launches due at `now` for every active periodic parent (enabled, not stopped, not
/// an undispatched parameterized job). A parent's schedule continues from the latest of
/// its recorded launch, its last registration (a changed spec starts afresh, as Nomad
/// re-adds it) and the launch the dispatcher last skipped for overlap (`skipped`).
pub fn due_launches(state: &StateStore, now: i64, skipped: &BTreeMap<JobKey, i64>) -> LaunchPlan {
    let mut plan = LaunchPlan::default();
    for job in state.periodic_jobs() {
        let Some(p) = job.periodic.as_ref() else {
            continue;
        };
        let Ok(schedule) = Schedule::new(p) else {
            continue; // Refused at registration; an old entry cannot launch.
        };
        let key = job.key();
        let recorded = state
            .periodic_launch(&job.namespace, &job.id)
            .map_or(0, |l| l.launch);
        let base = recorded
            .max(job.submit_time)
            .max(skipped.get(&key).copied().unwrap_or(0));
        let Some(next) = schedule.next_after(base) else {
            continue;
        };
        if next > now {
            plan.next = Some(plan.next.map_or(next, |n: i64| n.min(next)));
            continue;
        }
        let missed = now - next > LATE_TOLERANCE;
        plan.due.push(DueLaunch {
            overlapping: p.prohibit_overlap && has_running_children(state, &job.namespace, &job.id),
            parent: key,
            at: if missed { now } else { next },
            missed,
        });
    }
    plan
}

#[cfg(test)]
mod tests;
