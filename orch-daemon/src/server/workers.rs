//! The leader's scheduler workers as operators see and size them (Nomad's
//! `/v1/agent/schedulers` and `/v1/agent/schedulers/config`): each worker's ID, the
//! schedulers it runs, when it started and what it is doing, and the pool's size and
//! enabled schedulers, changeable at run time.
//!
//! Workers read the pool at the top of every round: a worker past the configured
//! count stops there, and the enabled schedulers apply from its next dequeue.

use std::sync::Mutex;

use orch_core::model::job_type;

/// Nomad's name for the core (garbage collection) scheduler: it must stay enabled.
pub const CORE_SCHEDULER: &str = "_core";

/// Schedulers a worker may run.
pub const KNOWN_SCHEDULERS: [&str; 5] = [
    job_type::SERVICE,
    job_type::BATCH,
    job_type::SYSTEM,
    job_type::SYSBATCH,
    CORE_SCHEDULER,
];

/// What a worker is doing (Nomad's `WorkloadStatus`).
pub mod workload {
    /// Waiting for an evaluation.
    pub const WAITING_TO_DEQUEUE: &str = "WaitingToDequeue";
    /// Running the scheduler on an evaluation (and waiting for its plan's commit).
    pub const SCHEDULING: &str = "Scheduling";
    /// The broker is paused (`PauseEvalBroker`).
    pub const PAUSED: &str = "Paused";
}

/// One worker as `/v1/agent/schedulers` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkerInfo {
    /// A UUID for this worker's life.
    pub id: String,
    /// The schedulers it runs.
    pub enabled_schedulers: Vec<String>,
    /// When it started (RFC 3339).
    pub started: String,
    /// `Started` while it runs.
    pub status: &'static str,
    /// What it is doing ([`workload`]).
    pub workload_status: &'static str,
}

#[derive(Debug)]
struct PoolState {
    target: usize,
    enabled: Vec<String>,
    workers: Vec<WorkerInfo>,
}

/// The pool: its size, its schedulers and its workers.
#[derive(Debug)]
pub struct WorkerPool {
    state: Mutex<PoolState>,
    /// The most workers allowed (Nomad's bound: the number of CPUs).
    pub max: usize,
}

impl WorkerPool {
    /// A pool of `target` workers running every scheduler.
    pub fn new(target: usize) -> WorkerPool {
        let max = std::thread::available_parallelism().map_or(1, |n| n.get());
        WorkerPool {
            state: Mutex::new(PoolState {
                target,
                enabled: KNOWN_SCHEDULERS.iter().map(|s| s.to_string()).collect(),
                workers: Vec::new(),
            }),
            max: max.max(target),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `(num_schedulers, enabled_schedulers)`.
    pub fn config(&self) -> (usize, Vec<String>) {
        let s = self.lock();
        (s.target, s.enabled.clone())
    }

    /// Every live worker, oldest first.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.lock().workers.clone()
    }

    /// Sets the size and schedulers; returns how many workers to start. Nomad's rules:
    /// between 0 and the number of CPUs, known schedulers only, `_core` among them.
    pub fn set_config(&self, num: usize, enabled: Vec<String>) -> Result<usize, String> {
        if num > self.max {
            return Err(format!(
                "num_schedulers: {num} is out of range; use 0 to {} (the number of CPUs)",
                self.max
            ));
        }
        if let Some(bad) = enabled
            .iter()
            .find(|s| !KNOWN_SCHEDULERS.contains(&s.as_str()))
        {
            return Err(format!(
                "enabled_schedulers: unknown scheduler {bad:?}; use {}",
                KNOWN_SCHEDULERS.join(", ")
            ));
        }
        if !enabled.iter().any(|s| s == CORE_SCHEDULER) {
            return Err("enabled_schedulers: must include \"_core\"".into());
        }
        let mut s = self.lock();
        s.target = num;
        for w in &mut s.workers {
            w.enabled_schedulers.clone_from(&enabled);
        }
        s.enabled = enabled;
        Ok(num.saturating_sub(s.workers.len()))
    }

    /// Registers a new worker; its ID.
    pub fn join(&self, started: String) -> String {
        let id = crate::clock::new_uuid();
        let mut s = self.lock();
        let enabled = s.enabled.clone();
        s.workers.push(WorkerInfo {
            id: id.clone(),
            enabled_schedulers: enabled,
            started,
            status: "Started",
            workload_status: workload::WAITING_TO_DEQUEUE,
        });
        id
    }

    /// At the top of a round: the job types the worker `id` dequeues, or `None` when
    /// the pool is smaller now and this worker must stop (it is then removed).
    pub fn round(&self, id: &str) -> Option<Vec<String>> {
        let mut s = self.lock();
        let pos = s.workers.iter().position(|w| w.id == id)?;
        if pos >= s.target {
            s.workers.remove(pos);
            return None;
        }
        Some(
            s.enabled
                .iter()
                .filter(|t| *t != CORE_SCHEDULER)
                .cloned()
                .collect(),
        )
    }

    /// Records what worker `id` is doing.
    pub fn set_workload(&self, id: &str, status: &'static str) {
        if let Some(w) = self.lock().workers.iter_mut().find(|w| w.id == id) {
            w.workload_status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_grows_shrinks_and_checks_its_configuration() {
        let pool = WorkerPool::new(2);
        let a = pool.join("t0".into());
        let b = pool.join("t1".into());
        assert!(pool.round(&a).is_some() && pool.round(&b).is_some());
        let all = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = pool.set_config(1, all(&["service"])).unwrap_err();
        assert!(e.contains("_core"), "{e}");
        let e = pool.set_config(1, all(&["gpu", "_core"])).unwrap_err();
        assert!(e.contains("unknown scheduler"), "{e}");
        assert!(pool.set_config(pool.max + 1, all(&["_core"])).is_err());
        assert_eq!(pool.set_config(1, all(&["batch", "_core"])), Ok(0));
        assert_eq!(pool.round(&a), Some(all(&["batch"])));
        assert_eq!(
            pool.round(&b),
            None,
            "the newest worker past the size stops"
        );
        assert_eq!(pool.workers().len(), 1);
        pool.set_workload(&a, workload::SCHEDULING);
        assert_eq!(pool.workers()[0].workload_status, "Scheduling");
        assert_eq!(
            pool.workers()[0].enabled_schedulers,
            all(&["batch", "_core"])
        );
    }
}
