//! A running task: waiting for it to exit while serving the allocation runner's
//! requests (signal, kill, restart, `alloc exec`'s target), and stopping it.

use std::sync::Arc;
use std::time::Duration;

use orch_core::lifecycle::TaskRun;

use super::{TaskCommand, TaskRunner, Waited, event, humanize, new_event};
use crate::client::driver::{Driver, ExitResult, TaskHandle};
use crate::client::state::LocalTaskState;

impl TaskRunner {
    /// Waits for the task to exit, serving kill and signal requests meanwhile.
    pub(super) async fn wait(
        &mut self,
        driver: &Arc<dyn Driver>,
        handle: &TaskHandle,
        local: &mut LocalTaskState,
    ) -> Waited {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut catalog_tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            let renewal = self.identities.next_renewal();
            let renew_at =
                renewal.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep_until(renew_at), if renewal.is_some() => {
                    if self.identities_renewed(driver, handle, local).await {
                        self.kill(driver, handle, local).await;
                        return Waited::Restarted;
                    }
                }
                _ = catalog_tick.tick(), if !self.catalog.is_empty() => {
                    if self.templates_changed(driver, handle, local).await {
                        self.push_event(local, new_event(event::RESTART_SIGNALED, "Template with change_mode restart re-rendered"));
                        self.kill(driver, handle, local).await;
                        return Waited::Restarted;
                    }
                }
                _ = tick.tick() => {
                    let d = Arc::clone(driver);
                    let h = handle.clone();
                    match tokio::task::spawn_blocking(move || d.try_wait(&h)).await {
                        Ok(Ok(Some(exit))) => return Waited::Exited(exit),
                        Ok(Ok(None)) => {}
                        Ok(Err(e)) => {
                            return Waited::Exited(ExitResult {
                                err: Some(e.to_string()),
                                ..ExitResult::default()
                            })
                        }
                        Err(e) => {
                            return Waited::Exited(ExitResult {
                                err: Some(format!("waiting for the task failed: {e}")),
                                ..ExitResult::default()
                            })
                        }
                    }
                }
                cmd = self.commands.recv() => match cmd {
                    Some(TaskCommand::Signal(sig)) => {
                        let d = Arc::clone(driver);
                        let h = handle.clone();
                        let s = sig.clone();
                        let r = tokio::task::spawn_blocking(move || d.signal(&h, &s)).await;
                        let msg = match r {
                            Ok(Ok(())) => format!("Task being sent a signal {sig}"),
                            Ok(Err(e)) => format!("Signal {sig} failed: {e}"),
                            Err(e) => format!("Signal {sig} failed: {e}"),
                        };
                        self.push_event(local, new_event(event::SIGNALING, msg));
                        self.send(local, TaskRun::Running);
                    }
                    Some(TaskCommand::Kill { cause }) => {
                        if let Some(c) = cause {
                            self.push_event(local, c);
                        }
                        self.kill(driver, handle, local).await;
                        return Waited::Killed;
                    }
                    Some(TaskCommand::ExecTarget(reply)) => {
                        let d = Arc::clone(driver);
                        let h = handle.clone();
                        let target = tokio::task::spawn_blocking(move || d.exec_target(&h)).await;
                        let _ = reply.send(match target {
                            Ok(r) => r.map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        });
                    }
                    Some(TaskCommand::Restart { reason, by_user }) => {
                        self.push_event(local, new_event(event::RESTART_SIGNALED, reason));
                        self.kill(driver, handle, local).await;
                        return if by_user { Waited::RestartedByUser } else { Waited::Restarted };
                    }
                    None => {
                        // The allocation runner is gone (client shutting down): leave the
                        // task running for the next client process to reattach to.
                        return std::future::pending().await;
                    }
                },
            }
        }
    }

    /// Renews the task's expiring identities and applies their change mode; whether the
    /// task must restart (its environment then carries the new tokens).
    async fn identities_renewed(
        &mut self,
        driver: &Arc<dyn Driver>,
        handle: &TaskHandle,
        local: &mut LocalTaskState,
    ) -> bool {
        use crate::client::identity_hook::RenewAction;
        let Some(conn) = self.conn.clone() else {
            return false;
        };
        let alloc_id = self
            .vars
            .template_env_lookup("NOMAD_ALLOC_ID")
            .unwrap_or_default();
        let renewed = self
            .identities
            .renew(&conn, &alloc_id, &self.task.name, &self.dir)
            .await;
        match renewed {
            Err(e) => {
                self.push_event(local, new_event(event::TASK_HOOK_FAILED, e.to_string()));
                false
            }
            Ok((action, env)) => {
                self.spec.env.extend(env);
                match action {
                    RenewAction::Nothing => false,
                    RenewAction::Restart => {
                        let why = "Workload identity renewed; restarting the task";
                        self.push_event(local, new_event(event::RESTART_SIGNALED, why));
                        true
                    }
                    RenewAction::Signal(signals) => {
                        for sig in signals {
                            let d = Arc::clone(driver);
                            let h = handle.clone();
                            let s = sig.clone();
                            let _ = tokio::task::spawn_blocking(move || d.signal(&h, &s)).await;
                            let msg = format!("Workload identity renewed; sent {sig}");
                            self.push_event(local, new_event(event::SIGNALING, msg));
                        }
                        false
                    }
                }
            }
        }
    }

    /// Stops a running task: `kill_signal`, `kill_timeout`, then SIGKILL.
    pub(super) async fn kill(
        &mut self,
        driver: &Arc<dyn Driver>,
        handle: &TaskHandle,
        local: &mut LocalTaskState,
    ) {
        let signal = if self.task.kill_signal.is_empty() {
            "SIGINT".to_string()
        } else {
            self.task.kill_signal.clone()
        };
        let timeout = Duration::from_nanos(self.task.kill_timeout.max(0) as u64);
        let mut ev = new_event(
            event::KILLING,
            format!(
                "Sent interrupt. Waiting {} before force killing",
                humanize(timeout)
            ),
        );
        ev.details.insert("kill_timeout".into(), humanize(timeout));
        self.push_event(local, ev);
        self.send(local, TaskRun::Running);
        let d = Arc::clone(driver);
        let h = handle.clone();
        let result = tokio::task::spawn_blocking(move || {
            let r = d.stop(&h, &signal, timeout);
            let _ = d.destroy(&h);
            r
        })
        .await;
        let mut ev = new_event(event::KILLED, "Task successfully killed");
        match result {
            Ok(Ok(exit)) => {
                ev.exit_code = i64::from(exit.exit_code);
                ev.signal = i64::from(exit.signal);
            }
            Ok(Err(e)) => ev.message = format!("kill failed: {e}"),
            Err(e) => ev.message = format!("kill failed: {e}"),
        }
        local.handle = None;
        self.push_event(local, ev);
    }
}
