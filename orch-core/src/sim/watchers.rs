//! The leader's other duties in the simulated cluster, decided by the servers' own code:
//! once the evaluations are quiet, the deployment watcher
//! ([`crate::leader::deployments`]), the drainer ([`crate::drain`]) and the periodic
//! dispatcher ([`crate::periodic`]); the core GC ([`crate::leader::gc`]) and the
//! autoscaler ([`crate::leader::autoscaler`]) when the caller asks. A command the state refuses is decided again on the next pass, as on
//! the servers.

use super::{Cluster, SimError, uuid_like};
use crate::autoscale::{Check, Decision};
use crate::leader::autoscaler::{self, ScalingTarget, Wait};
use crate::leader::deployments::{self, Action};
use crate::leader::gc::{self, GcConfig};
use crate::state::Command;

impl Cluster {
    /// The watchers' pass once nothing is queued: true when one of them wrote.
    pub(super) fn run_watchers(&mut self) -> Result<bool, SimError> {
        let deployments = self.watch_deployments()?;
        let drains = self.run_drainer()?;
        let launches = self.launch_periodic()?;
        Ok(deployments || drains || launches)
    }

    /// Applies `cmd`; a refusal by the state is `Ok(false)`.
    fn try_apply(&mut self, cmd: Command) -> Result<bool, SimError> {
        match self.apply(cmd) {
            Ok(_) => Ok(true),
            Err(SimError::State(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One pass of the drainer: migration marks at each group's `migrate` pace (all at
    /// once past a drain's deadline) and drains that are done.
    fn run_drainer(&mut self) -> Result<bool, SimError> {
        let actions = crate::drain::decide(&self.state, self.now);
        if actions.is_empty() {
            return Ok(false);
        }
        let (now, rng, seq) = (self.now, &mut self.rng, &mut self.next_id);
        let cmds = crate::drain::commands(&self.state, &actions, now, &mut || {
            *seq += 1;
            uuid_like(rng.next_u64(), *seq)
        });
        let mut wrote = false;
        for cmd in cmds {
            wrote |= self.try_apply(cmd)?;
        }
        Ok(wrote)
    }

    /// One pass of the periodic dispatcher: the children due by now are registered,
    /// each with its evaluation (a launch skipped for `prohibit_overlap` is not retried).
    fn launch_periodic(&mut self) -> Result<bool, SimError> {
        let plan = crate::periodic::due_launches(&self.state, self.now, &self.periodic_skipped);
        let mut wrote = false;
        for due in plan.due {
            if due.overlapping {
                self.periodic_skipped.insert(due.parent.clone(), due.at);
                continue;
            }
            let (ns, id) = &due.parent;
            let eval_id = self.new_id();
            let cmd =
                crate::periodic::launch_command(&self.state, ns, id, due.at, self.now, eval_id);
            if let Ok(cmd) = cmd {
                wrote |= self.try_apply(cmd)?;
            }
            self.periodic_skipped.remove(&due.parent);
        }
        Ok(wrote)
    }

    /// One pass of the deployment watcher ([`deployments::Watcher`], checked against
    /// [`deployments::decide`] in debug builds). True when it wrote.
    fn watch_deployments(&mut self) -> Result<bool, SimError> {
        #[cfg(debug_assertions)]
        let expected = deployments::decide(&self.state, self.now, self.deployments.seen());
        let actions = self.deployments.pass(&self.state, self.now);
        #[cfg(debug_assertions)]
        {
            debug_assert_eq!(actions, expected.actions, "the watcher's actions");
            debug_assert_eq!(
                self.deployments.seen(),
                &expected.seen,
                "the watcher's totals"
            );
        }
        let mut wrote = false;
        for action in &actions {
            let mut next = Some(action.clone());
            while let Some(a) = next.take() {
                let (now, rng, seq) = (self.now, &mut self.rng, &mut self.next_id);
                let cmd = deployments::command(&self.state, &a, now, &mut || {
                    *seq += 1;
                    uuid_like(rng.next_u64(), *seq)
                });
                let Some(cmd) = cmd else { break };
                if !self.try_apply(cmd)? {
                    if matches!(a, Action::Evaluate { .. }) {
                        self.deployments.forget();
                    }
                    break;
                }
                wrote = true;
                next = deployments::follow_up(&self.state, &a);
            }
        }
        Ok(wrote)
    }

    /// Runs the core GC now with `config`'s thresholds (`force`: none, as
    /// `PUT /v1/system/gc`); returns how many objects it collected.
    pub fn gc(&mut self, config: &GcConfig, force: bool) -> Result<usize, SimError> {
        let tokens = gc::expired_tokens(&self.state, self.now, force);
        let mut collected = tokens.len();
        if !tokens.is_empty() {
            let cmd = crate::state::AclTokenDelete { accessors: tokens };
            self.apply(Command::AclTokenDelete(cmd))?;
        }
        let batch = gc::collect(&self.state, self.now, config, force);
        if !gc::is_empty(&batch) {
            collected += gc::batch_len(&batch);
            self.apply(Command::GcBatch(batch))?;
        }
        Ok(collected)
    }

    /// One pass of the autoscaler at the current virtual time, as the servers' loop
    /// makes every tick: each due policy waits (deployment, cooldown) or has its checks
    /// read through `metric` (the caller plays Prometheus and the allocations' usage)
    /// and decided by the servers' code; a change is applied as the same `Job.Scale`,
    /// with its evaluation (scheduled by the next [`Cluster::run_to_quiescence`]).
    pub fn autoscale(
        &mut self,
        metric: &mut dyn FnMut(&ScalingTarget, &Check) -> Result<f64, String>,
    ) -> Result<Vec<ScalingOutcome>, SimError> {
        let enabled = autoscaler::enabled_policies(&self.state);
        let mut outcomes = Vec::new();
        for i in self.autoscaler.due(&enabled, self.now) {
            let t = &enabled[i];
            let mut outcome = ScalingOutcome {
                policy_id: t.id.clone(),
                wait: None,
                decision: None,
                scaled_to: None,
            };
            match autoscaler::gate(&self.state, t, self.now) {
                Err(wait) => outcome.wait = Some(wait),
                Ok(last) => {
                    let values: Vec<_> = t.policy.checks.iter().map(|c| metric(t, c)).collect();
                    let d = autoscaler::decide(t, &values, last, self.now);
                    if let Some(count) = d.count {
                        let eval_id = self.new_id();
                        let cmd = autoscaler::scale_command(t, &d, count, self.now, eval_id);
                        if self.try_apply(cmd)? {
                            outcome.scaled_to = Some(count);
                        }
                    }
                    outcome.decision = Some(d);
                }
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

/// What one [`Cluster::autoscale`] pass did with one due policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingOutcome {
    /// The policy.
    pub policy_id: String,
    /// Why it waited, if it did.
    pub wait: Option<Wait>,
    /// What its checks decided, when they ran.
    pub decision: Option<Decision>,
    /// The count the group was scaled to, if it was.
    pub scaled_to: Option<i64>,
}
