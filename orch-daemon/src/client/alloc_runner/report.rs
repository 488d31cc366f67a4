//! How the allocation's runner turns its tasks' states into the allocation's client
//! status (Nomad's rules), saves them for reattach and queues them for the servers.

use orch_core::lifecycle::AllocOutcome;
use orch_core::model::client_status;
use orch_core::state::AllocClientState;

use super::AllocRunner;
use crate::client::state::LocalAllocState;
use crate::client::task_runner::{event, new_event};

impl AllocRunner {
    /// The allocation cannot run at all: every task and the allocation fail.
    pub(super) fn fail_setup(&self, why: &str) {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let names: Vec<String> = st
                .alloc
                .job
                .as_ref()
                .and_then(|j| j.group(&st.alloc.task_group))
                .map(|g| g.tasks.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default();
            for name in names {
                let t = st.tasks.entry(name).or_default();
                let mut ev = new_event(event::SETUP, why);
                ev.message = why.to_string();
                ev.fails_task = true;
                t.state.events.push(ev);
                t.state.state = "dead".into();
                t.state.failed = true;
                t.done = true;
                t.failed = true;
            }
            st.client_status = client_status::FAILED.into();
            st.client_description = why.to_string();
        }
        self.persist_and_report(true);
    }

    pub(super) fn finish(&self, outcome: AllocOutcome) {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = crate::clock::now_nanos();
            for t in st.tasks.values_mut() {
                if t.state.state != "dead" {
                    // Never started (the allocation stopped or failed first).
                    t.state.state = "dead".into();
                    t.state.finished_at = orch_core::model::Timestamp(now);
                    t.done = true;
                }
            }
            match outcome {
                AllocOutcome::Complete => {
                    st.client_status = client_status::COMPLETE.into();
                    st.client_description = "All tasks have completed".into();
                }
                AllocOutcome::Failed { task } => {
                    st.client_status = client_status::FAILED.into();
                    st.client_description = format!("Failed tasks: task {task:?} failed");
                }
            }
        }
        self.persist_and_report(true);
    }

    /// Computes the client status (unless final), saves the state and queues a report.
    pub(super) fn persist_and_report(&self, final_status: bool) {
        let st = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !final_status && !is_terminal(&st.client_status) {
                let (status, why) = client_status_of(&st);
                st.client_status = status.into();
                st.client_description = why.into();
            }
            st.clone()
        };
        if let Err(e) = self.state_dir.save(&st) {
            tracing::error!(alloc = %st.alloc.id, error = %e, "cannot persist allocation state; a client restart would lose track of its tasks");
        }
        self.reporter.push(AllocClientState {
            id: st.alloc.id.clone(),
            client_status: st.client_status.clone(),
            client_description: st.client_description.clone(),
            task_states: st
                .tasks
                .iter()
                .map(|(k, v)| (k.clone(), v.state.clone()))
                .collect(),
            // Only a verdict for the allocation's current deployment counts.
            deployment_status: st.deployment_health.clone().filter(|_| {
                st.health_deployment.as_deref() == Some(st.alloc.deployment_id.as_str())
            }),
        });
    }
}

/// Whether the allocation has ended here (its network, if any, is no longer needed).
pub fn is_finished(st: &LocalAllocState) -> bool {
    is_terminal(&st.client_status)
}

fn is_terminal(status: &str) -> bool {
    matches!(
        status,
        client_status::COMPLETE | client_status::FAILED | client_status::LOST
    )
}

/// Nomad's client status from task states, while the allocation is still live.
fn client_status_of(st: &LocalAllocState) -> (&'static str, &'static str) {
    let states = st.tasks.values().map(|t| &t.state);
    let (mut failed, mut running, mut pending) = (false, false, false);
    for s in states {
        match s.state.as_str() {
            "running" => running = true,
            "dead" if s.failed => failed = true,
            "pending" => pending = true,
            _ => {}
        }
    }
    if failed {
        (client_status::FAILED, "Failed tasks")
    } else if running {
        (client_status::RUNNING, "Tasks are running")
    } else if pending {
        (client_status::PENDING, "No tasks have started")
    } else {
        (client_status::PENDING, "")
    }
}
