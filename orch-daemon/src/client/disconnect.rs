//! A client cut off from the servers keeps its tasks running, except allocations whose
//! group says to stop them after a while without contact: `disconnect {
//! stop_on_client_after }` (Nomad 1.8) or the older `stop_after_client_disconnect`.
//! The servers, which stop hearing from the node, replace those allocations on their
//! side; stopping the local copy is what keeps two copies from running at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use orch_core::model::Allocation;

use super::Running;

/// How long `alloc` may run without contact with the servers, if its group limits it.
pub fn stop_after(alloc: &Allocation) -> Option<Duration> {
    let group = alloc.job.as_ref()?.group(&alloc.task_group)?;
    let nanos = group
        .disconnect
        .as_ref()
        .and_then(|d| d.stop_on_client_after)
        .or(group.stop_after_client_disconnect)?;
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

/// Stops every allocation that has been without contact for longer than its group
/// allows; `stopped` remembers those already asked, so each is asked once per outage.
pub(super) fn stop_overdue(
    allocs: &BTreeMap<String, Running>,
    silent_for: Duration,
    stopped: &mut BTreeSet<String>,
) {
    for (id, running) in allocs {
        if stopped.contains(id) {
            continue;
        }
        let limit = {
            let state = running.state.lock().unwrap_or_else(|e| e.into_inner());
            stop_after(&state.alloc)
        };
        if limit.is_some_and(|limit| silent_for >= limit) {
            tracing::warn!(alloc = %id, ?silent_for, "no contact with the servers for longer than the group's stop_on_client_after: stopping the allocation");
            running.request_stop();
            stopped.insert(id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::model::{DisconnectStrategy, Job, TaskGroup};

    fn alloc(group: TaskGroup) -> Allocation {
        let job = Job {
            task_groups: vec![group],
            ..Job::default()
        };
        Allocation {
            task_group: "g".into(),
            job: Some(Box::new(job)),
            ..Allocation::default()
        }
    }

    #[test]
    fn the_groups_limit_comes_from_either_setting() {
        let mut g = TaskGroup {
            name: "g".into(),
            ..TaskGroup::default()
        };
        assert_eq!(stop_after(&alloc(g.clone())), None);
        g.stop_after_client_disconnect = Some(5_000_000_000);
        assert_eq!(stop_after(&alloc(g.clone())), Some(Duration::from_secs(5)));
        g.stop_after_client_disconnect = None;
        g.disconnect = Some(DisconnectStrategy {
            stop_on_client_after: Some(2_000_000_000),
            ..DisconnectStrategy::default()
        });
        assert_eq!(stop_after(&alloc(g)), Some(Duration::from_secs(2)));
    }
}
