//! What an allocation runner does when the client relays an operator's or the servers'
//! request: a newer allocation, a signal, an in-place restart of its tasks.

use orch_core::lifecycle::{LifecyclePlan, TaskRun};
use orch_core::model::{TaskGroup, desired_status};

use super::{AllocCommand, AllocRunner, TaskLoop};
use crate::client::task_runner::TaskCommand;

/// Why an in-place restart (`alloc restart`) was refused; nothing was restarted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartRefused {
    /// The group has no task of that name.
    #[error("Unknown task {0:?}: the allocation's group has no such task")]
    UnknownTask(String),
    /// The task exists but is not running (finished, failed, or not started yet).
    #[error("Task {0:?} not running: only running tasks can be restarted")]
    NotRunning(String),
    /// No task of the allocation runs (it is stopping, or every task finished).
    #[error("no task of this allocation is running: nothing to restart")]
    NothingRunning,
    /// `AllTasks` asks to re-run lifecycle tasks that already finished, which orch
    /// cannot do yet.
    #[error(
        "AllTasks would re-run the finished tasks {0:?}, which orch does not support yet; omit AllTasks to restart the running tasks"
    )]
    FinishedTasks(Vec<String>),
    /// `TaskName` and `AllTasks` together, which Nomad refuses too.
    #[error("TaskName and AllTasks cannot be used together")]
    TaskAndAll,
    /// A failed allocation the servers stop (or stopped) is not resumed.
    #[error("the allocation is stopping: a stopped allocation is not restarted")]
    Stopping,
    /// A failed allocation already replaced by another (a reschedule) is not resumed.
    #[error("the allocation was replaced by allocation {0}: restart that one instead")]
    Replaced(String),
    /// `AllTasks` on a failed allocation of a group with `resume = "from_failure"`.
    #[error(
        "AllTasks would re-run the tasks that succeeded, which resume = \"from_failure\" keeps; omit AllTasks to resume the allocation from its failed task"
    )]
    ResumeAll,
}

/// What an in-place restart asks for.
#[derive(Debug)]
pub struct RestartRequest {
    /// One task, or every running task when `None`.
    pub task: Option<String>,
    /// Every task, also those that finished (Nomad's `AllTasks`).
    pub all_tasks: bool,
    /// Where the verdict goes (dropped by the caller when it gave up waiting).
    pub reply: tokio::sync::oneshot::Sender<Result<(), RestartRefused>>,
}

impl AllocRunner {
    /// Acts on one command from the client; `false` once the client shut down.
    pub(super) fn on_command(
        &mut self,
        cmd: Option<AllocCommand>,
        group: &TaskGroup,
        plan: &LifecyclePlan,
        lp: &mut TaskLoop,
    ) -> bool {
        match cmd {
            Some(AllocCommand::Update(alloc)) => {
                lp.stopping |= alloc.desired_status != desired_status::RUN;
                self.state.lock().unwrap_or_else(|e| e.into_inner()).alloc = *alloc;
                // An in-place update can move the allocation into a new deployment.
                lp.health = if lp.stopping {
                    None
                } else {
                    self.health_after_update(lp.health.take(), group, plan)
                };
                self.persist_and_report(false);
            }
            Some(AllocCommand::Signal { task, signal }) => {
                for (name, tx) in &lp.senders {
                    if task.as_ref().is_none_or(|t| t == name) {
                        let _ = tx.send(TaskCommand::Signal(signal.clone()));
                    }
                }
            }
            Some(AllocCommand::Restart(req)) => {
                let verdict =
                    restart_targets(group, lp, req.task.as_deref(), req.all_tasks).map(|targets| {
                        for name in targets {
                            if let Some(tx) = lp.senders.get(&name) {
                                let _ = tx.send(TaskCommand::Restart {
                                    reason: "User requested restart".into(),
                                    by_user: true,
                                });
                            }
                        }
                    });
                let _ = req.reply.send(verdict);
            }
            Some(AllocCommand::ExecTarget { task, reply }) => {
                let task = match group.tasks.as_slice() {
                    [only] if task.is_empty() => only.name.clone(),
                    _ => task,
                };
                let sender = lp
                    .senders
                    .get(&task)
                    .filter(|_| !lp.stopping && lp.observed.get(&task) == Some(&TaskRun::Running));
                match sender {
                    Some(tx) => {
                        if let Err(e) = tx.send(TaskCommand::ExecTarget(reply))
                            && let TaskCommand::ExecTarget(reply) = e.0
                        {
                            let _ = reply.send(Err(format!("task {task:?} is not running")));
                        }
                    }
                    None if !group.tasks.iter().any(|t| t.name == task) => {
                        let _ = reply.send(Err(format!(
                            "unknown task {task:?}: the allocation's group has no such task"
                        )));
                    }
                    None => {
                        let _ = reply.send(Err(format!("task {task:?} is not running")));
                    }
                }
            }
            None => return false,
        }
        true
    }
}

/// The tasks an in-place restart stops and starts again, or why it is refused.
fn restart_targets(
    group: &TaskGroup,
    lp: &TaskLoop,
    task: Option<&str>,
    all_tasks: bool,
) -> Result<Vec<String>, RestartRefused> {
    let running = |name: &str| {
        !lp.stopping
            && lp.observed.get(name) == Some(&TaskRun::Running)
            && lp.senders.contains_key(name)
    };
    if let Some(name) = task {
        if all_tasks {
            return Err(RestartRefused::TaskAndAll);
        }
        if !group.tasks.iter().any(|t| t.name == name) {
            return Err(RestartRefused::UnknownTask(name.to_string()));
        }
        if !running(name) {
            return Err(RestartRefused::NotRunning(name.to_string()));
        }
        return Ok(vec![name.to_string()]);
    }
    let (up, down): (Vec<String>, Vec<String>) = group
        .tasks
        .iter()
        .map(|t| t.name.clone())
        .partition(|n| running(n));
    if all_tasks && !down.is_empty() && !up.is_empty() {
        return Err(RestartRefused::FinishedTasks(down));
    }
    if up.is_empty() {
        return Err(RestartRefused::NothingRunning);
    }
    Ok(up)
}
