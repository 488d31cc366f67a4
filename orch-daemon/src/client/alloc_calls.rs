//! What operators ask of the allocations this client runs (`alloc signal`, `alloc
//! restart`, `alloc exec`, a dev agent's stop on exit): commands to the allocation's
//! runner, answered over a one-shot channel.

use std::time::Duration;

use super::alloc_runner::{self, AllocCommand};
use super::{Client, driver};

impl Client {
    /// Sends `make(reply)` to the runner of `alloc_id` and waits for the answer; `None`
    /// when this client runs no such allocation (any more) or the runner went away.
    async fn ask<T>(
        &self,
        alloc_id: &str,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> AllocCommand,
    ) -> Option<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let command = make(reply);
        let sent = self
            .lock_allocs()
            .get(alloc_id)
            .is_some_and(|r| r.commands.send(command).is_ok());
        if !sent {
            return None;
        }
        answer.await.ok()
    }

    /// Sends a signal to an allocation's tasks.
    pub fn signal(&self, alloc_id: &str, task: Option<String>, signal: String) -> bool {
        self.lock_allocs().get(alloc_id).is_some_and(|r| {
            r.commands
                .send(AllocCommand::Signal { task, signal })
                .is_ok()
        })
    }

    /// Restarts tasks of an allocation in place, outside their restart policy (`alloc
    /// restart`); `None` when this client runs no such allocation (any more).
    pub async fn restart(
        &self,
        alloc_id: &str,
        task: Option<String>,
        all_tasks: bool,
    ) -> Option<Result<(), alloc_runner::RestartRefused>> {
        self.ask(alloc_id, |reply| {
            AllocCommand::Restart(alloc_runner::RestartRequest {
                task,
                all_tasks,
                reply,
            })
        })
        .await
    }

    /// Where `alloc exec` runs a command beside task `task` of an allocation; `None`
    /// when this client runs no such allocation, `Some(Err)` when the task is unknown or
    /// not running, or its driver cannot exec.
    pub async fn exec_target(
        &self,
        alloc_id: &str,
        task: &str,
    ) -> Option<Result<driver::ExecTarget, String>> {
        let known = self.lock_allocs().contains_key(alloc_id);
        let answer = self
            .ask(alloc_id, |reply| AllocCommand::ExecTarget {
                task: task.to_string(),
                reply,
            })
            .await;
        match answer {
            Some(a) => Some(a),
            None if known => Some(Err(format!("task {task:?} is not running"))),
            None => None,
        }
    }

    /// Stops every task this client runs and waits (up to `timeout`) for them to end.
    /// Only for dev agents, whose data dir disappears with them; a normal client leaves
    /// its tasks running on shutdown so the next client process reattaches.
    pub async fn stop_all(&self, timeout: Duration) {
        for r in self.lock_allocs().values() {
            r.request_stop();
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            let busy = self.alloc_ids().iter().any(|id| {
                self.alloc_state(id)
                    .is_some_and(|s| s.tasks.values().any(|t| !t.done))
            });
            if !busy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
