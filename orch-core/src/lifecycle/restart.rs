//! Nomad's client restart tracker: whether (and after how long) a task that exited or
//! failed to start is restarted in place, under the group's/task's `restart` policy.
//!
//! Pure: the caller passes the time (Unix nanos) and a seed for the delay's jitter.
//!
//! Rules (Nomad's `RestartTracker`):
//! - batch/sysbatch jobs, and ephemeral lifecycle tasks (prestart/poststart without
//!   `sidecar`, poststop) in any job, are not restarted after a successful exit;
//! - every other exit or recoverable start error is a restart attempt, counted in a
//!   window of `interval` that opens at the first attempt after the previous window ended;
//! - within `attempts`, restart after `delay` plus up to 25% jitter;
//! - beyond `attempts`: mode `fail` gives up (the task fails), mode `delay` waits until
//!   the window ends, after which the count starts over;
//! - `attempts = 0`: never restart;
//! - an unrecoverable start error never restarts.

use crate::model::{Nanos, RestartPolicy, TaskLifecycle};
use crate::scheduler::rng::SchedRng;

/// Nomad adds up to this fraction of `delay` as jitter.
const JITTER: f64 = 0.25;

/// What to do with a task that just exited or failed to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartDecision {
    /// Start it again after `delay_nanos`.
    Restart { delay_nanos: Nanos },
    /// Leave it dead; `failed` marks the task failed (Nomad's `Failed` task state).
    NoRestart { failed: bool, reason: String },
}

/// Nomad's reason strings (shown in task events).
pub mod reason {
    pub const EXITED_SUCCESSFULLY: &str = "Restart unnecessary as task terminated successfully";
    pub const NO_RESTARTS_ALLOWED: &str = "Policy allows no restarts";
    pub const UNRECOVERABLE: &str = "Error was unrecoverable";
    pub const WITHIN_POLICY: &str = "Restart within policy";
    pub const DELAY: &str = "Exceeded allowed attempts, applying a delay";
}

/// One task's restart bookkeeping; lives as long as the task runner.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    attempts: u32,
    interval: Nanos,
    delay: Nanos,
    mode_fail: bool,
    /// Whether a successful exit is restarted.
    on_success: bool,
    /// Attempts in the current window.
    count: u32,
    /// When the current window opened; `None` before the first attempt.
    window_start: Option<Nanos>,
    restarts: u64,
    last_restart: Option<Nanos>,
    last_reason: String,
    rng: SchedRng,
}

impl RestartTracker {
    /// A tracker for a task of a job of type `job_type` with the (canonicalized) restart
    /// `policy` and the task's `lifecycle` block. `seed` fixes the jitter sequence.
    pub fn new(
        policy: &RestartPolicy,
        job_type: &str,
        lifecycle: Option<&TaskLifecycle>,
        seed: u64,
    ) -> Self {
        let mut on_success = !matches!(job_type, "batch" | "sysbatch");
        if let Some(lc) = lifecycle {
            match lc.hook.as_str() {
                "prestart" | "poststart" => on_success = lc.sidecar,
                "poststop" | "postfail" => on_success = false,
                _ => {}
            }
        }
        RestartTracker {
            attempts: policy.attempts,
            interval: policy.interval,
            delay: policy.delay,
            mode_fail: policy.mode != "delay",
            on_success,
            count: 0,
            window_start: None,
            restarts: 0,
            last_restart: None,
            last_reason: String::new(),
            rng: SchedRng::new(seed),
        }
    }

    /// Same as [`new`](Self::new) for callers that only know whether the task is
    /// ephemeral (not restarted after a successful exit whatever the job type).
    pub fn with_ephemeral(
        policy: &RestartPolicy,
        job_type: &str,
        ephemeral: bool,
        seed: u64,
    ) -> Self {
        let mut t = Self::new(policy, job_type, None, seed);
        if ephemeral {
            t.on_success = false;
        }
        t
    }

    /// The task exited (`exit_success`: exit code 0 and no signal) at `now`.
    pub fn on_exit(&mut self, exit_success: bool, now: Nanos) -> RestartDecision {
        if exit_success && !self.on_success {
            return self.no_restart(false, reason::EXITED_SUCCESSFULLY.into());
        }
        self.attempt(now)
    }

    /// The driver could not start the task at `now`; `recoverable` as the driver says.
    pub fn on_start_error(&mut self, recoverable: bool, now: Nanos) -> RestartDecision {
        if !recoverable {
            return self.no_restart(true, reason::UNRECOVERABLE.into());
        }
        self.attempt(now)
    }

    /// Restarts decided so far (over the task's whole life, not the window).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// When the last restart was decided.
    pub fn last_restart(&self) -> Option<Nanos> {
        self.last_restart
    }

    /// The reason of the last decision (Nomad's task event text).
    pub fn last_reason(&self) -> &str {
        &self.last_reason
    }

    fn attempt(&mut self, now: Nanos) -> RestartDecision {
        if self.attempts == 0 {
            return self.no_restart(true, reason::NO_RESTARTS_ALLOWED.into());
        }
        let window_end = self.window_start.map(|s| s.saturating_add(self.interval));
        if window_end.is_none_or(|end| now >= end) {
            self.count = 0;
            self.window_start = Some(now);
        }
        self.count += 1;
        if self.count > self.attempts {
            if self.mode_fail {
                return self.no_restart(
                    true,
                    format!(
                        "Exceeded allowed attempts {} in interval {} and mode is \"fail\"",
                        self.attempts,
                        crate::duration::format_go_duration(self.interval)
                    ),
                );
            }
            let end = self
                .window_start
                .unwrap_or(now)
                .saturating_add(self.interval);
            return self.restart((end - now).max(0), reason::DELAY, now);
        }
        let delay = self.jittered_delay();
        self.restart(delay, reason::WITHIN_POLICY, now)
    }

    fn jittered_delay(&mut self) -> Nanos {
        let d = self.delay.max(1);
        let r = self.rng.below(d as u64) as f64;
        d.saturating_add((r * JITTER) as i64)
    }

    fn restart(&mut self, delay_nanos: Nanos, why: &str, now: Nanos) -> RestartDecision {
        self.restarts += 1;
        self.last_restart = Some(now);
        self.last_reason = why.to_string();
        RestartDecision::Restart { delay_nanos }
    }

    fn no_restart(&mut self, failed: bool, why: String) -> RestartDecision {
        self.last_reason = why.clone();
        RestartDecision::NoRestart {
            failed,
            reason: why,
        }
    }
}

#[cfg(test)]
mod tests;
