//! `resume = "from_failure"` in place, in the allocation itself (the reschedule path is
//! the scheduler's, `core::lifecycle::resume::carried_states`):
//!
//! - `alloc restart` of a *failed* allocation of a resuming group, still wanted by the
//!   servers and not replaced: the tasks that succeeded keep their state and are not
//!   run; the others (`core::lifecycle::resume::rerun_in_place`) are made pending again
//!   and the allocation runs once more ([`AllocRunner::idle`] hands it back to the run
//!   loop). Nomad cannot restart a finished allocation at all.
//! - A task its restart policy restarts after a failure takes the dependents that
//!   already started down with it (`core::lifecycle::resume::dependents`); each waits
//!   for its condition again and starts anew ([`AllocRunner::rearm_dependents`]).

use orch_core::lifecycle::TaskRun;
use orch_core::lifecycle::resume::{dependents, rerun_in_place};
use orch_core::model::{TaskGroup, Timestamp, client_status, desired_status};

use super::{AllocCommand, AllocRunner, RestartRefused, RestartRequest, TaskLoop};
use crate::client::state::LocalTaskState;
use crate::client::task_runner::{POLICY_RESTART, TaskCommand, TaskUpdate, event, new_event};

/// The event of a task made pending again by an in-place resume.
const RESUME_MESSAGE: &str =
    "User requested restart: resuming from the failed task (resume = \"from_failure\")";

impl AllocRunner {
    /// After the tasks finished: keeps the allocation as the servers send it and
    /// answers commands, until the client drops it (`false`) or `alloc restart` resumes
    /// it in place (`true`: run it again).
    pub(super) async fn idle(&mut self, group: Option<&TaskGroup>) -> bool {
        while let Some(cmd) = self.commands.recv().await {
            match cmd {
                AllocCommand::Update(alloc) => {
                    self.state.lock().unwrap_or_else(|e| e.into_inner()).alloc = *alloc;
                }
                AllocCommand::Restart(req) => {
                    let verdict = match group {
                        Some(g) => self.resume_in_place(g, &req),
                        None => Err(RestartRefused::NothingRunning),
                    };
                    let resumed = verdict.is_ok();
                    let _ = req.reply.send(verdict);
                    if resumed {
                        return true;
                    }
                }
                AllocCommand::ExecTarget { task, reply } => {
                    let _ = reply.send(Err(format!("task {task:?} is not running")));
                }
                AllocCommand::Signal { .. } => {}
            }
        }
        false
    }

    /// Makes the tasks of a failed allocation that did not succeed pending again, or
    /// says why the allocation cannot be resumed (nothing changed then).
    fn resume_in_place(
        &self,
        group: &TaskGroup,
        req: &RestartRequest,
    ) -> Result<(), RestartRefused> {
        if let Some(name) = &req.task {
            if req.all_tasks {
                return Err(RestartRefused::TaskAndAll);
            }
            if !group.tasks.iter().any(|t| &t.name == name) {
                return Err(RestartRefused::UnknownTask(name.clone()));
            }
            return Err(RestartRefused::NotRunning(name.clone()));
        }
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let reported = st
                .tasks
                .iter()
                .map(|(k, v)| (k.clone(), v.state.clone()))
                .collect();
            let rerun = rerun_in_place(group, &st.client_status, &reported)
                .ok_or(RestartRefused::NothingRunning)?;
            if st.alloc.desired_status != desired_status::RUN {
                return Err(RestartRefused::Stopping);
            }
            if !st.alloc.next_allocation.is_empty() {
                return Err(RestartRefused::Replaced(st.alloc.next_allocation.clone()));
            }
            if req.all_tasks {
                return Err(RestartRefused::ResumeAll);
            }
            for name in &rerun {
                if let Some(local) = st.tasks.get_mut(name) {
                    rearm(local, RESUME_MESSAGE);
                }
            }
            st.client_status = client_status::PENDING.into();
            st.client_description = "Resuming from the failed task".into();
        }
        self.persist_and_report(false);
        Ok(())
    }

    /// `resume = "from_failure"`: when `upd` says its task failed and waits for its
    /// restart policy's restart, stops the dependents of it that started, so they wait
    /// for their condition again ([`Self::take_rearmed`] picks them up once stopped).
    pub(super) fn rearm_dependents(&self, group: &TaskGroup, lp: &mut TaskLoop, upd: &TaskUpdate) {
        let was_running = lp.observed.get(&upd.task) == Some(&TaskRun::Running);
        if !was_running || upd.run != TaskRun::Starting || !restarting_after_failure(&upd.local) {
            return;
        }
        for name in dependents(group, &upd.task) {
            let alive = lp.observed.get(&name).is_some_and(|r| r.is_alive());
            let Some(tx) = lp.senders.get(&name).filter(|_| alive) else {
                continue;
            };
            if lp.rearming.insert(name.clone()) {
                let cause = new_event(
                    event::RESTART_SIGNALED,
                    format!(
                        "Dependency {:?} failed and restarts: waiting for it again",
                        upd.task
                    ),
                );
                let _ = tx.send(TaskCommand::Kill { cause: Some(cause) });
            }
        }
    }

    /// Takes a stopped dependent [`Self::rearm_dependents`] stopped back to pending (its
    /// runner is gone; the lifecycle plan starts a new one once its condition holds).
    /// `false` for any other update.
    pub(super) fn take_rearmed(&self, lp: &mut TaskLoop, upd: &mut TaskUpdate) -> bool {
        if !upd.run.is_dead() || !lp.rearming.remove(&upd.task) {
            return false;
        }
        lp.senders.remove(&upd.task);
        lp.killed.remove(&upd.task);
        rearm(
            &mut upd.local,
            "Task waits for its dependencies again (resume = \"from_failure\")",
        );
        lp.observed.insert(upd.task.clone(), TaskRun::NotStarted);
        true
    }
}

/// Whether a task's state says it is waiting to restart after a failure (not a
/// user-asked or check restart).
fn restarting_after_failure(local: &LocalTaskState) -> bool {
    local.state.events.last().is_some_and(|e| {
        e.event_type == event::RESTARTING
            && e.details.get("restart_reason").map(String::as_str) == Some(POLICY_RESTART)
    })
}

/// A finished (or stopped) task made pending again, its history kept: it counts one
/// more restart and starts from its setup.
fn rearm(local: &mut LocalTaskState, why: &str) {
    local.done = false;
    local.failed = false;
    local.killed = false;
    local.handle = None;
    let s = &mut local.state;
    s.state = "pending".into();
    s.failed = false;
    s.started_at = Timestamp(0);
    s.finished_at = Timestamp(0);
    s.restarts += 1;
    s.last_restart = Timestamp(crate::clock::now_nanos());
    s.events.push(new_event(event::RESTART_SIGNALED, why));
}
