//! Updates gated on live metrics: `update { gate { source, query, condition, for,
//! deadline } }` (README, "Beyond Nomad: workflows").
//!
//! A rolling update places its first batch at once. Each later batch (the next
//! `max_parallel` destructive updates) and the auto-promotion of canaries waits at the
//! group's gate: once every allocation the deployment placed is healthy, the leader
//! queries the source and records what it saw ([`observe`], a [`GateState`] in the
//! replicated state); the gate opens when the condition has held without a break for
//! `for`, and only for the batch it was measured after (`GateState::placed`). No data
//! (and a source error) breaks the streak: it waits, never passes. A gate still shut
//! `deadline` after it started waiting fails the deployment (auto-revert as any
//! failure). The scheduler holds the gated group's destructive updates while its gate
//! is shut ([`hold_gated`]), so no evaluation, whatever triggered it, starts a batch
//! early.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{Deployment, DeploymentState, Job, UpdateGate, deployment_status};
use crate::scheduler::reconcile::ReconcileResults;
use crate::state::StateStore;

/// The longest query accepted (bytes).
pub const MAX_QUERY_BYTES: usize = 4096;

/// The sources a gate may query (the autoscaler's: one Prometheus client in orch).
pub const SOURCES: &[&str] = &["prometheus", "nomad-apm", "nomad"];

/// A comparison operator of a gate's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// A parsed `condition`: `<op> <number>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    /// The comparison.
    pub op: Op,
    /// The number the metric is compared with.
    pub threshold: f64,
}

impl Condition {
    /// Parses `"< 0.01"`; the error says what is expected.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        let (op, rest) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(s, op)| t.strip_prefix(s).map(|r| (*op, r)))
        .ok_or_else(|| {
            format!("condition {text:?} must start with <, <=, >, >=, == or != (\"< 0.01\")")
        })?;
        let threshold: f64 = rest.trim().parse().map_err(|_| {
            format!(
                "condition {text:?}: {:?} is not a number (\"< 0.01\")",
                rest.trim()
            )
        })?;
        if !threshold.is_finite() {
            return Err(format!("condition {text:?}: the number must be finite"));
        }
        Ok(Condition { op, threshold })
    }

    /// Whether `value` meets the condition (NaN never does).
    pub fn holds(&self, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        let t = self.threshold;
        match self.op {
            Op::Lt => value < t,
            Op::Le => value <= t,
            Op::Gt => value > t,
            Op::Ge => value >= t,
            Op::Eq => value == t,
            Op::Ne => value != t,
        }
    }
}

/// What the leader last recorded of one gate (deployment, group), replicated so a new
/// leader neither reopens a gate early nor forgets how long it has waited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GateState {
    /// The deployment's placed allocations of the group when this wait began: the
    /// gate opens for the batch after these only.
    pub placed: u32,
    /// When the wait began (Unix nanoseconds).
    pub waiting_since: i64,
    /// The first of the unbroken run of observations that met the condition.
    pub holding_since: Option<i64>,
    /// The condition held for the whole window: the next batch may start.
    pub open: bool,
    /// The deadline passed with the gate shut: the deployment fails.
    pub failed: bool,
    /// When the state was last written (to space out writes that only refresh the
    /// description).
    pub updated_at: i64,
    /// Why the gate is shut, open or failed, for the deployment's `StatusDescription`.
    pub description: String,
}

/// One reading of a gate's source.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The query's value.
    Value(f64),
    /// No value (no series, NaN, source unreachable or misconfigured): why.
    NoData(String),
}

/// A new wait at `placed` allocations, starting `now`.
pub fn start(placed: u32, now: i64) -> GateState {
    GateState {
        placed,
        waiting_since: now,
        updated_at: now,
        ..GateState::default()
    }
}

fn secs(ns: i64) -> String {
    crate::duration::format_go_duration(ns.max(0))
}

/// The state after one observation at `now` (`now` never before the previous one's).
/// An open or failed gate stays as it is; an invalid condition never opens.
pub fn observe(
    prev: &GateState,
    gate: &UpdateGate,
    group: &str,
    now: i64,
    obs: &Observation,
) -> GateState {
    if prev.open || prev.failed {
        return prev.clone();
    }
    let mut next = GateState {
        updated_at: now,
        ..prev.clone()
    };
    let cond = Condition::parse(&gate.condition);
    let (passes, seen) = match (obs, &cond) {
        (Observation::Value(v), Ok(c)) => (c.holds(*v), format!("{} = {v}", gate.source)),
        (Observation::Value(v), Err(e)) => (false, format!("{} = {v} ({e})", gate.source)),
        (Observation::NoData(why), _) => (false, format!("no data from {}: {why}", gate.source)),
    };
    next.holding_since = if passes {
        prev.holding_since.or(Some(now))
    } else {
        None
    };
    let window = gate.for_;
    let deadline = gate.deadline;
    if let Some(h) = next.holding_since
        && now - h >= window
    {
        next.open = true;
        next.description = format!(
            "Gate of group {group:?} passed: {seen} met {:?} for {}",
            gate.condition,
            secs(now - h)
        );
    } else if now - prev.waiting_since >= deadline {
        next.failed = true;
        next.description = format!(
            "Failed due to metric gate of group {group:?}: {:?} did not hold for {} within {} (last: {seen})",
            gate.condition,
            secs(window),
            secs(deadline)
        );
    } else {
        let held = next.holding_since.map_or_else(
            || "not met".to_string(),
            |h| format!("met for {}", secs(now - h)),
        );
        next.description = format!(
            "Deployment is waiting for the metric gate of group {group:?}: {seen}, condition {:?} {held} of {}",
            gate.condition,
            secs(window)
        );
    }
    next
}

/// Whether the state changed enough to be written: anything but the description, or
/// the description after `refresh_ns` since the last write.
pub fn worth_writing(prev: Option<&GateState>, next: &GateState, refresh_ns: i64) -> bool {
    let Some(p) = prev else { return true };
    let same_facts = p.placed == next.placed
        && p.waiting_since == next.waiting_since
        && p.holding_since == next.holding_since
        && p.open == next.open
        && p.failed == next.failed;
    !same_facts
        || (p.description != next.description && next.updated_at - p.updated_at >= refresh_ns)
}

/// Whether a group's deployment state stands at its gate: every placed allocation
/// healthy and more to do (a next batch, or canaries to auto-promote).
pub fn at_gate(ds: &DeploymentState) -> bool {
    let batch_healthy = ds.placed_allocs > 0 && ds.healthy_allocs >= ds.placed_allocs;
    if ds.desired_canaries > 0 && !ds.promoted {
        return ds.auto_promote && batch_healthy;
    }
    batch_healthy && ds.placed_allocs < ds.desired_total
}

/// The gate of `group` in deployment `d`, if its job version has one.
pub fn gate_of<'a>(s: &'a StateStore, d: &Deployment, group: &str) -> Option<&'a UpdateGate> {
    s.update_gates(&d.namespace, &d.job_id, d.job_version)?
        .get(group)
}

/// Whether `group` of deployment `d` may start its next batch (or promote): no gate,
/// nothing placed yet (the first batch), or a gate opened after exactly the
/// allocations placed now.
pub fn gate_open(s: &StateStore, d: &Deployment, group: &str) -> bool {
    if gate_of(s, d, group).is_none() {
        return true;
    }
    let Some(ds) = d.task_groups.get(group) else {
        return true;
    };
    if ds.placed_allocs == 0 {
        return true;
    }
    s.deployment_gate(&d.id, group)
        .is_some_and(|st| st.open && st.placed == ds.placed_allocs)
}

/// The description of a gate of `d` that failed at the current batch, if any.
pub fn failed(s: &StateStore, d: &Deployment) -> Option<String> {
    d.task_groups.iter().find_map(|(g, ds)| {
        gate_of(s, d, g)?;
        let st = s.deployment_gate(&d.id, g)?;
        (st.failed && st.placed == ds.placed_allocs).then(|| st.description.clone())
    })
}

/// One gate the leader should read now.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    /// The deployment.
    pub deployment_id: String,
    /// Its job's namespace.
    pub namespace: String,
    /// Its job.
    pub job_id: String,
    /// The gated group.
    pub group: String,
    /// The gate.
    pub gate: UpdateGate,
    /// What is recorded now (`None`: nothing yet for this batch).
    pub stored: Option<GateState>,
    /// The state to observe from (the stored one, or a new wait).
    pub state: GateState,
}

/// Every shut gate standing at its batch in a running deployment of a current job.
pub fn waiting(s: &StateStore, now: i64) -> Vec<Waiting> {
    let mut out = Vec::new();
    for d in s.deployments() {
        if d.status != deployment_status::RUNNING {
            continue;
        }
        let current = s
            .job(&d.namespace, &d.job_id)
            .is_some_and(|j| !j.stop && j.version == d.job_version);
        if !current {
            continue;
        }
        for (g, ds) in &d.task_groups {
            let Some(gate) = gate_of(s, d, g) else {
                continue;
            };
            if !at_gate(ds) {
                continue;
            }
            let stored = s
                .deployment_gate(&d.id, g)
                .filter(|st| st.placed == ds.placed_allocs)
                .cloned();
            let state = stored
                .clone()
                .unwrap_or_else(|| start(ds.placed_allocs, now));
            if state.open || state.failed {
                continue;
            }
            out.push(Waiting {
                deployment_id: d.id.clone(),
                namespace: d.namespace.clone(),
                job_id: d.job_id.clone(),
                group: g.clone(),
                gate: gate.clone(),
                stored,
                state,
            });
        }
    }
    out
}

/// Drops the destructive updates of every group whose gate is shut in the job's
/// running deployment, so the next batch waits for it. A job without gates, or without
/// a running deployment of its current version, is left as it is.
pub fn hold_gated(s: &StateStore, job: &Job, results: &mut ReconcileResults) {
    if results.destructive_update.is_empty() {
        return;
    }
    if s.update_gates(&job.namespace, &job.id, job.version)
        .is_none()
    {
        return;
    }
    let Some(d) = s
        .latest_deployment_by_job(&job.namespace, &job.id)
        .filter(|d| d.status == deployment_status::RUNNING && d.job_version == job.version)
    else {
        return;
    };
    let shut: BTreeSet<&str> = job
        .task_groups
        .iter()
        .map(|g| g.name.as_str())
        .filter(|g| !gate_open(s, d, g))
        .collect();
    results
        .destructive_update
        .retain(|u| !shut.contains(u.place.task_group.as_str()));
}

/// What `job plan` says of a gated group, as a plan warning (Nomad's plan response has
/// no place for it): that the gate holds the group's next batch now, or that what
/// follows the batch the plan starts waits for the gate. `job` is the planned version
/// as the dry run registered it (its gates stored); `batch`: the destructive updates and
/// canaries the plan makes in the group; `later`: its allocations left for later
/// batches. `None` for a group without a gate, or with nothing the gate would hold.
pub fn plan_note(s: &StateStore, job: &Job, group: &str, batch: u64, later: u64) -> Option<String> {
    let gate = s
        .update_gates(&job.namespace, &job.id, job.version)?
        .get(group)?;
    let mut rule = format!(
        "{} query {:?} meets {:?} for {}",
        gate.source,
        gate.query,
        gate.condition,
        secs(gate.for_)
    );
    if gate.deadline > 0 {
        rule.push_str(&format!(
            " (the deployment fails after {})",
            secs(gate.deadline)
        ));
    }
    let running = s
        .latest_deployment_by_job(&job.namespace, &job.id)
        .filter(|d| d.status == deployment_status::RUNNING && d.job_version == job.version);
    if let Some((d, ds)) = running.and_then(|d| Some((d, d.task_groups.get(group)?))) {
        let more = ds.placed_allocs < ds.desired_total || (ds.desired_canaries > 0 && !ds.promoted);
        if !more || gate_open(s, d, group) {
            return None;
        }
        let seen = s
            .deployment_gate(&d.id, group)
            .filter(|st| st.placed == ds.placed_allocs && !st.description.is_empty())
            .map_or_else(
                || "its placed allocations must be healthy first".to_string(),
                |st| st.description.clone(),
            );
        return Some(format!(
            "Task group {group:?}: the metric gate holds the next batch of deployment {} until {rule}; now: {seen}",
            d.id
        ));
    }
    let auto_promoted = job
        .group(group)
        .and_then(|g| g.update.as_ref())
        .is_some_and(|u| u.canary > 0 && u.auto_promote);
    if batch == 0 || (later == 0 && !auto_promoted) {
        return None;
    }
    Some(format!(
        "Task group {group:?}: this plan starts a batch of {batch}; what follows it (the next batch{}) waits until {rule}",
        if auto_promoted {
            ", the canaries' promotion"
        } else {
            ""
        }
    ))
}

/// Takes every group's gate out of a parsed job (and the job-level `update`'s, which
/// canonicalization copied into the groups without their own `update`), for the
/// registration to store beside the version: a job in the state carries none.
pub fn take_gates(job: &mut Job) -> crate::state::GroupGates {
    if let Some(u) = job.update.as_mut() {
        u.gate = None;
    }
    job.task_groups
        .iter_mut()
        .filter_map(|g| {
            let gate = g.update.as_mut()?.gate.take()?;
            Some((g.name.clone(), gate))
        })
        .collect()
}

/// Puts a version's stored gates back into its groups' `update` blocks, so the API
/// shows (and `job inspect` round-trips) what was registered.
pub fn put_gates(job: &mut Job, gates: &crate::state::GroupGates) {
    for g in &mut job.task_groups {
        if let (Some(u), Some(gate)) = (g.update.as_mut(), gates.get(&g.name)) {
            u.gate = Some(gate.clone());
        }
    }
}

/// [`put_gates`] with the gates the store keeps for `job`'s version (none: unchanged).
pub fn put_stored_gates(s: &StateStore, job: &mut Job) {
    if let Some(gates) = s.update_gates(&job.namespace, &job.id, job.version) {
        put_gates(job, gates);
    }
}
