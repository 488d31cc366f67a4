//! One task's life on this client: directory setup, artifacts and templates, driver
//! start, waiting, restarts by the restart policy, kill on request, and the task state
//! and events Nomad reports (`Received`, `Task Setup`, `Started`, `Terminated`,
//! `Restarting`, `Not Restarting`, `Killing`, `Killed`, ...).
//!
//! The runner owns restarts; the allocation runner decides which tasks run at all
//! (orch-core's lifecycle plan) and only sees a task as running or finished for good.

use std::sync::Arc;
use std::time::Duration;

use orch_core::lifecycle::{InterpolationVars, RestartDecision, RestartTracker, TaskRun};
use orch_core::model::{Task, TaskEvent, TaskState, Timestamp};
use tokio::sync::mpsc;

use super::alloc_dir::TaskDir;
use super::driver::{Driver, ExitResult, TaskHandle, TaskSpec};
use super::state::LocalTaskState;

mod running;

/// Nomad's task event types.
pub mod event {
    /// The client received the task.
    pub const RECEIVED: &str = "Received";
    /// Directories are being built.
    pub const SETUP: &str = "Task Setup";
    /// The task directory could not be prepared (dispatch payload).
    pub const SETUP_FAILURE: &str = "Setup Failure";
    /// Artifacts are being fetched.
    pub const DOWNLOADING: &str = "Downloading Artifacts";
    /// An artifact could not be fetched.
    pub const ARTIFACT_FAILED: &str = "Failed Artifact Download";
    /// The driver could not start the task.
    pub const DRIVER_FAILURE: &str = "Driver Failure";
    /// The task started.
    pub const STARTED: &str = "Started";
    /// The task exited.
    pub const TERMINATED: &str = "Terminated";
    /// It will be started again.
    pub const RESTARTING: &str = "Restarting";
    /// It will not be started again.
    pub const NOT_RESTARTING: &str = "Not Restarting";
    /// It is being killed.
    pub const KILLING: &str = "Killing";
    /// It was killed.
    pub const KILLED: &str = "Killed";
    /// A sibling failed, so this one is stopped.
    pub const SIBLING_FAILED: &str = "Sibling Task Failed";
    /// The leader task died, so this one is stopped.
    pub const LEADER_DEAD: &str = "Leader Task Dead";
    /// A template could not be rendered.
    pub const TEMPLATE_FAILED: &str = "Template";
    /// The task received a signal on request.
    pub const SIGNALING: &str = "Signaling";
    /// A restart was asked for (failing check, changed template).
    pub const RESTART_SIGNALED: &str = "Restart Signaled";
    /// A task hook failed (Nomad's `Task hook failed`), e.g. an identity renewal.
    pub const TASK_HOOK_FAILED: &str = "Task hook failed";
}

/// Requests from the allocation runner.
#[derive(Debug)]
pub enum TaskCommand {
    /// Stop the task for good; `cause` is recorded first (e.g. `Sibling Task Failed`).
    Kill {
        /// The event that explains why.
        cause: Option<TaskEvent>,
    },
    /// Send a signal (template `change_mode = "signal"`, `alloc signal`).
    Signal(String),
    /// Stop the task and start it again: under its restart policy (`check_restart`,
    /// template `change_mode = "restart"`), or at once and outside the policy when an
    /// operator asked (`alloc restart`, as Nomad's user-requested restart, which never
    /// uses up the policy's attempts); `reason` becomes the event text.
    Restart {
        /// Why.
        reason: String,
        /// Asked for through the API (`alloc restart`).
        by_user: bool,
    },
    /// Where `alloc exec` can run a command beside the task (an error unless it runs).
    ExecTarget(tokio::sync::oneshot::Sender<Result<super::driver::ExecTarget, String>>),
}

/// What the task runner tells the allocation runner after every change.
#[derive(Debug, Clone)]
pub struct TaskUpdate {
    /// Task name.
    pub task: String,
    /// What is persisted and reported.
    pub local: LocalTaskState,
    /// For the lifecycle plan.
    pub run: TaskRun,
}

/// Everything a task runner needs.
pub struct TaskRunner {
    /// The task.
    pub task: Task,
    /// `service`, `batch`, `system` or `sysbatch`.
    pub job_type: String,
    /// The driver (`None`: this client lacks it; the task fails at once).
    pub driver: Option<Arc<dyn Driver>>,
    /// What to start.
    pub spec: TaskSpec,
    /// For artifact and template interpolation.
    pub vars: InterpolationVars,
    /// The task's directories.
    pub dir: TaskDir,
    /// The dispatch payload of the allocation's job (base64, empty for none), written to
    /// `local/<dispatch_payload.file>` before the task starts.
    pub payload: String,
    /// State from an earlier client process, when restoring.
    pub restored: Option<LocalTaskState>,
    /// Seed of the restart jitter.
    pub seed: u64,
    /// Where updates go.
    pub updates: mpsc::UnboundedSender<TaskUpdate>,
    /// Where commands come from.
    pub commands: mpsc::UnboundedReceiver<TaskCommand>,
    /// The servers, for the services templates read (`None` in tests without servers).
    pub conn: Option<Arc<super::server_conn::ServerConn>>,
    /// The services templates read, as last fetched.
    pub catalog: super::template_hook::Sources,
    /// The workload identities the task sees, and their renewal.
    pub identities: super::identity_hook::IdentityHook,
}

/// How waiting for a running task ended.
enum Waited {
    Exited(ExitResult),
    Killed,
    /// Stopped on request to be started again (counts as a failed exit).
    Restarted,
    /// Stopped because an operator asked for a restart: started again at once, outside
    /// the restart policy.
    RestartedByUser,
}

/// The `restart_reason` of a restart an operator asked for (Nomad's text).
const USER_RESTART: &str = "User requested restart";

/// The `restart_reason` of a restart after a failure, under the restart policy (the
/// allocation runner tells these apart for `resume = "from_failure"`).
pub const POLICY_RESTART: &str = "Restart within policy";

/// Unix nanoseconds now.
fn now() -> i64 {
    crate::clock::now_nanos()
}

/// A task event stamped now.
pub fn new_event(kind: &str, message: impl Into<String>) -> TaskEvent {
    TaskEvent {
        event_type: kind.into(),
        time: now(),
        display_message: message.into(),
        ..TaskEvent::default()
    }
}

/// How many events a task keeps (Nomad keeps 10).
const MAX_EVENTS: usize = 10;

impl TaskRunner {
    /// Runs the task until it is finished for good or killed.
    pub async fn run(mut self) {
        let mut local = self.restored.take().unwrap_or_else(|| LocalTaskState {
            state: TaskState {
                state: "pending".into(),
                ..TaskState::default()
            },
            ..LocalTaskState::default()
        });
        if local.done {
            let run = finished_run(&local);
            self.send(&local, run);
            return;
        }
        let Some(driver) = self.driver.clone() else {
            let msg = format!(
                "driver {:?} is not available on this client",
                self.task.driver
            );
            let mut ev = new_event(event::DRIVER_FAILURE, &msg);
            ev.message = msg;
            ev.fails_task = true;
            self.push_event(&mut local, ev);
            self.finish(&mut local, true);
            return;
        };
        let policy = self.task.restart_policy.clone().unwrap_or_default();
        let mut tracker = RestartTracker::new(
            &policy,
            &self.job_type,
            self.task.lifecycle.as_ref(),
            self.seed,
        );
        let mut recovered = self.reattach(&driver, &mut local).await;
        let mut setup_done = recovered.is_some() || local.state.started_at.0 != 0;
        loop {
            let handle = match recovered.take() {
                Some(h) => h,
                None => {
                    if !setup_done {
                        match self.setup(&mut local).await {
                            Ok(()) => setup_done = true,
                            Err(ev) => {
                                self.push_event(&mut local, ev);
                                let d = tracker.on_start_error(true, now());
                                if self.after_failure(&mut local, d).await {
                                    continue;
                                }
                                return;
                            }
                        }
                    }
                    match self.start(&driver).await {
                        Ok(h) => {
                            local.handle = Some(h.clone());
                            local.state.state = "running".into();
                            if local.state.started_at.0 == 0 {
                                local.state.started_at = Timestamp(h.started_at);
                            }
                            self.push_event(
                                &mut local,
                                new_event(event::STARTED, "Task started by client"),
                            );
                            h
                        }
                        Err(msg) => {
                            let mut ev = new_event(event::DRIVER_FAILURE, &msg);
                            ev.message = msg;
                            self.push_event(&mut local, ev);
                            let d = tracker.on_start_error(true, now());
                            if self.after_failure(&mut local, d).await {
                                continue;
                            }
                            return;
                        }
                    }
                }
            };
            local.state.state = "running".into();
            self.send(&local, TaskRun::Running);
            let waited = self.wait(&driver, &handle, &mut local).await;
            if !self
                .after_wait(waited, &driver, &handle, &mut tracker, &mut local)
                .await
            {
                return;
            }
        }
    }

    /// What happens once the running task stopped: finished for good (`false`), or to
    /// be started again (`true`) after its restart decision.
    async fn after_wait(
        &mut self,
        waited: Waited,
        driver: &Arc<dyn Driver>,
        handle: &TaskHandle,
        tracker: &mut RestartTracker,
        local: &mut LocalTaskState,
    ) -> bool {
        match waited {
            Waited::Killed => {
                local.killed = true;
                self.finish(local, false);
                false
            }
            Waited::Restarted => {
                local.handle = None;
                let decision = tracker.on_exit(false, now());
                self.after_failure(local, decision).await
            }
            Waited::RestartedByUser => {
                local.handle = None;
                let at_once = RestartDecision::Restart { delay_nanos: 0 };
                self.restart_after(local, at_once, USER_RESTART).await
            }
            Waited::Exited(exit) => {
                let d = Arc::clone(driver);
                let h = handle.clone();
                let _ = tokio::task::spawn_blocking(move || d.destroy(&h)).await;
                local.handle = None;
                self.push_event(local, terminated_event(&exit));
                let decision = tracker.on_exit(exit.successful(), now());
                self.after_failure(local, decision).await
            }
        }
    }

    /// A task handed over by an earlier client process: its handle when the driver
    /// reattached to it (wait for it, don't restart it).
    async fn reattach(
        &self,
        driver: &Arc<dyn Driver>,
        local: &mut LocalTaskState,
    ) -> Option<TaskHandle> {
        let handle = local.handle.clone()?;
        let d = Arc::clone(driver);
        let h = handle.clone();
        match tokio::task::spawn_blocking(move || d.recover(&h)).await {
            Ok(Ok(())) => Some(handle),
            Ok(Err(e)) => {
                tracing::warn!(task = %self.task.name, error = %e, "could not reattach to the task; starting it again");
                local.handle = None;
                None
            }
            Err(_) => {
                local.handle = None;
                None
            }
        }
    }

    /// Applies a restart decision. Returns `true` to start again, `false` when the
    /// task is finished (reported).
    async fn after_failure(&mut self, local: &mut LocalTaskState, d: RestartDecision) -> bool {
        self.restart_after(local, d, POLICY_RESTART).await
    }

    /// Acts on a restart decision: waits out its delay and returns `true` to start the
    /// task again (recording `restart_reason`), or finishes the task.
    async fn restart_after(
        &mut self,
        local: &mut LocalTaskState,
        d: RestartDecision,
        restart_reason: &str,
    ) -> bool {
        match d {
            RestartDecision::Restart { delay_nanos } => {
                let delay = Duration::from_nanos(delay_nanos.max(0) as u64);
                let mut ev = new_event(
                    event::RESTARTING,
                    format!("Task restarting in {}", humanize(delay)),
                );
                ev.start_delay = delay_nanos;
                ev.details
                    .insert("restart_reason".into(), restart_reason.into());
                self.push_event(local, ev);
                local.state.state = "pending".into();
                local.state.restarts += 1;
                local.state.last_restart = Timestamp(now());
                self.send(local, TaskRun::Starting);
                // Wait out the delay, unless the task is killed meanwhile.
                let sleep = tokio::time::sleep(delay);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        _ = &mut sleep => return true,
                        cmd = self.commands.recv() => match cmd {
                            Some(TaskCommand::Signal(_)) | Some(TaskCommand::Restart { .. }) => {}
                            Some(TaskCommand::ExecTarget(reply)) => {
                                let _ = reply.send(Err("the task is restarting".into()));
                            }
                            Some(TaskCommand::Kill { cause }) => {
                                if let Some(c) = cause {
                                    self.push_event(local, c);
                                }
                                self.push_event(local, new_event(event::KILLED, "Task successfully killed"));
                                local.killed = true;
                                self.finish(local, false);
                                return false;
                            }
                            None => {
                                local.killed = true;
                                self.finish(local, false);
                                return false;
                            }
                        },
                    }
                }
            }
            RestartDecision::NoRestart { failed, reason } => {
                if failed {
                    let mut ev = new_event(event::NOT_RESTARTING, &reason);
                    ev.fails_task = true;
                    ev.details.insert("restart_reason".into(), reason);
                    self.push_event(local, ev);
                }
                self.finish(local, failed);
                false
            }
        }
    }

    /// Builds the task's directories, fetches artifacts and renders templates.
    async fn setup(&mut self, local: &mut LocalTaskState) -> Result<(), TaskEvent> {
        self.push_event(local, new_event(event::SETUP, "Building Task Directory"));
        self.send(local, TaskRun::Starting);
        if let Some(d) = &self.task.dispatch_payload {
            super::alloc_dir::write_payload(&self.dir, &d.file, &self.payload).map_err(|msg| {
                let mut ev = new_event(event::SETUP_FAILURE, &msg);
                ev.message = msg;
                ev
            })?;
        }
        if !self.task.artifacts.is_empty() {
            self.push_event(
                local,
                new_event(event::DOWNLOADING, "Client is downloading artifacts"),
            );
            self.send(local, TaskRun::Starting);
            for artifact in &self.task.artifacts {
                let vars = &self.vars;
                let r = super::artifact::fetch_artifact(artifact, &self.dir.dir, |s| {
                    orch_core::lifecycle::interpolate(s, vars)
                })
                .await;
                if let Err(e) = r {
                    let mut ev = new_event(event::ARTIFACT_FAILED, e.to_string());
                    ev.message = e.to_string();
                    return Err(ev);
                }
            }
        }
        let alloc_root = self.spec.alloc_dir.clone();
        let rendered = super::template_hook::render_all(
            &self.task,
            &self.dir,
            &alloc_root,
            &self.vars,
            self.conn.as_deref(),
            &mut self.catalog,
        )
        .await
        .map_err(|msg| {
            let mut ev = new_event(event::TEMPLATE_FAILED, &msg);
            ev.message = msg;
            ev
        })?;
        self.spec.env.extend(rendered.env);
        self.fetch_identities().await?;
        Ok(())
    }

    /// Fetches the tokens the task's `identity` blocks expose into its environment and
    /// files.
    async fn fetch_identities(&mut self) -> Result<(), TaskEvent> {
        if self.identities.is_empty() {
            return Ok(());
        }
        let fail = |msg: String| {
            let mut ev = new_event(event::SETUP_FAILURE, &msg);
            ev.message = msg;
            ev
        };
        let conn = self
            .conn
            .clone()
            .ok_or_else(|| fail("no servers to sign the task's workload identities".into()))?;
        let alloc_id = self
            .vars
            .template_env_lookup("NOMAD_ALLOC_ID")
            .unwrap_or_default();
        let env = self
            .identities
            .fetch(&conn, &alloc_id, &self.task.name, &self.dir)
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.spec.env.extend(env);
        Ok(())
    }

    /// Re-reads the services templates use; when one changed, renders again and applies
    /// the changed templates' `change_mode`. Returns `true` when the task must restart.
    async fn templates_changed(
        &mut self,
        driver: &Arc<dyn Driver>,
        handle: &TaskHandle,
        local: &mut LocalTaskState,
    ) -> bool {
        let Some(conn) = self.conn.clone() else {
            return false;
        };
        let names: std::collections::BTreeSet<String> =
            self.catalog.catalog.keys().cloned().collect();
        let services = !names.is_empty()
            && super::template_hook::refresh(&conn, &names, &mut self.catalog.catalog).await;
        let vars = super::template_hook::refresh_all_vars(
            &conn,
            &self.vars,
            &self.task.name,
            &mut self.catalog,
        )
        .await;
        if !services && !vars {
            return false;
        }
        let alloc_root = self.spec.alloc_dir.clone();
        let rendered = match super::template_hook::render_all(
            &self.task,
            &self.dir,
            &alloc_root,
            &self.vars,
            Some(&conn),
            &mut self.catalog,
        )
        .await
        {
            Ok(r) => r,
            Err(msg) => {
                self.push_event(local, new_event(event::TEMPLATE_FAILED, msg));
                return false;
            }
        };
        let mut restart = false;
        for (mode, signal) in rendered.changed {
            match mode.as_str() {
                "restart" => restart = true,
                "signal" => {
                    let d = Arc::clone(driver);
                    let h = handle.clone();
                    let sig = if signal.is_empty() {
                        "SIGHUP".to_string()
                    } else {
                        signal
                    };
                    let s2 = sig.clone();
                    let _ = tokio::task::spawn_blocking(move || d.signal(&h, &s2)).await;
                    self.push_event(
                        local,
                        new_event(
                            event::SIGNALING,
                            format!("Template re-rendered; sent {sig}"),
                        ),
                    );
                }
                _ => self.push_event(
                    local,
                    new_event(event::TEMPLATE_FAILED, "Template re-rendered"),
                ),
            }
        }
        restart
    }

    /// Starts the task through its driver.
    async fn start(&self, driver: &Arc<dyn Driver>) -> Result<TaskHandle, String> {
        let d = Arc::clone(driver);
        let spec = self.spec.clone();
        match tokio::task::spawn_blocking(move || {
            d.validate_config(&spec.config)?;
            d.start(&spec)
        })
        .await
        {
            Ok(Ok(h)) => Ok(h),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("driver start panicked: {e}")),
        }
    }

    /// Marks the task finished for good and reports it.
    fn finish(&mut self, local: &mut LocalTaskState, failed: bool) {
        local.done = true;
        local.failed = failed;
        local.handle = None;
        local.state.state = "dead".into();
        local.state.failed = failed;
        local.state.finished_at = Timestamp(now());
        let run = finished_run(local);
        self.send(local, run);
    }

    fn push_event(&self, local: &mut LocalTaskState, ev: TaskEvent) {
        local.state.events.push(ev);
        let excess = local.state.events.len().saturating_sub(MAX_EVENTS);
        local.state.events.drain(..excess);
    }

    fn send(&self, local: &LocalTaskState, run: TaskRun) {
        let _ = self.updates.send(TaskUpdate {
            task: self.task.name.clone(),
            local: local.clone(),
            run,
        });
    }
}

/// The lifecycle view of a finished task: failed, killed, or exited on its own.
pub fn finished_run(local: &LocalTaskState) -> TaskRun {
    if local.failed {
        TaskRun::Failed
    } else {
        TaskRun::Exited {
            success: !local.killed,
        }
    }
}

/// Nomad's `Terminated` event for an exit.
fn terminated_event(exit: &ExitResult) -> TaskEvent {
    let mut ev = new_event(event::TERMINATED, format!("Exit Code: {}", exit.exit_code));
    ev.exit_code = i64::from(exit.exit_code);
    ev.signal = i64::from(exit.signal);
    ev.details
        .insert("exit_code".into(), exit.exit_code.to_string());
    ev.details.insert("signal".into(), exit.signal.to_string());
    if exit.signal != 0 {
        ev.display_message = format!("Exit Code: {}, Signal: {}", exit.exit_code, exit.signal);
    }
    if exit.oom_killed {
        ev.display_message = "OOM Killed".into();
        ev.details.insert("oom_killed".into(), "true".into());
    }
    if let Some(err) = &exit.err {
        ev.message = err.clone();
        ev.details.insert("exit_message".into(), err.clone());
    }
    ev
}

/// `1.5s`, `250ms`, `2m0s`: Go's duration formatting, as Nomad's messages use.
pub fn humanize(d: Duration) -> String {
    orch_core::duration::format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
