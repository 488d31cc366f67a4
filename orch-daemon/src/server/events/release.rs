//! The `Release` topic (orch's releases; Nomad has none): a release registered
//! (`ReleaseRegistered`, by `orch release run`) or its status changed by the release
//! watcher (`ReleaseStatusUpdate`: successful, or failed and rolled back), with the
//! release as the state holds it. The key is the release ID; its name and its jobs'
//! IDs are filter keys, so `topic=Release:shop` follows one release name. Releases the
//! store drops from a name's history (beyond `MAX_RELEASES_PER_NAME`) are no event, as
//! Nomad's garbage collection is none.

use orch_core::model::Release;
use orch_core::state::{Command, StateStore};

use super::{Event, Payload, topic};

/// The event type of a release's registration.
pub const REGISTERED: &str = "ReleaseRegistered";
/// The event type of a release's status change.
pub const STATUS_UPDATE: &str = "ReleaseStatusUpdate";

/// The release a command writes (read once it is applied), with its event type.
#[derive(Debug, Default)]
pub struct ReleaseBefore {
    written: Option<(&'static str, String)>,
}

impl ReleaseBefore {
    /// Captures the release `cmd` registers or updates.
    pub fn capture(cmd: &Command) -> ReleaseBefore {
        let written = match cmd {
            Command::ReleaseRun(c) => Some((REGISTERED, c.id.clone())),
            Command::ReleaseStatusUpdate(c) => Some((STATUS_UPDATE, c.id.clone())),
            _ => None,
        };
        ReleaseBefore { written }
    }

    /// The event of the applied command at `index`, if it wrote a release.
    pub fn events(self, store: &StateStore, index: u64) -> Option<Event> {
        let (event_type, id) = self.written?;
        let r = store.release(&id)?.clone();
        let mut filter_keys = vec![r.name.clone()];
        filter_keys.extend(r.jobs.iter().map(|j| j.job_id.clone()));
        Some(Event {
            topic: topic::RELEASE,
            event_type,
            key: r.id.clone(),
            namespace: shared_namespace(&r),
            filter_keys,
            index,
            payload: Payload::Release(Box::new(r)),
        })
    }
}

/// The namespace of every job of `r`, or empty when they span several (the event then
/// passes every namespace filter; [`job_namespaces`] still need reading).
fn shared_namespace(r: &Release) -> String {
    let first = r
        .jobs
        .first()
        .map(|j| j.namespace.clone())
        .unwrap_or_default();
    if r.jobs.iter().all(|j| j.namespace == first) {
        first
    } else {
        String::new()
    }
}

/// The namespaces of a release event's jobs: a reader needs `read-job` in every one
/// (as `GET /v1/release/:id` asks). None for another topic's event.
pub fn job_namespaces(e: &Event) -> Vec<&str> {
    match &e.payload {
        Payload::Release(r) => r.jobs.iter().map(|j| j.namespace.as_str()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use orch_core::model::Job;
    use orch_core::state::{
        JobRegister, JobRegisterGated, ReleaseRun, ReleaseStatusUpdate, StateStore,
    };

    use super::super::{Before, Command, derive};

    fn apply(store: &mut StateStore, cmd: Command) -> Vec<super::Event> {
        let index = store.latest_index() + 1;
        let before = Before::capture(store, &cmd);
        let (result, changed) = store.apply_batched(index, cmd);
        result.unwrap();
        derive(store, index, before, &changed)
    }

    fn register(id: &str) -> JobRegisterGated {
        let mut job = Job {
            id: id.into(),
            ..Job::default()
        };
        orch_core::canonical::canonicalize_job(&mut job);
        JobRegisterGated {
            register: JobRegister {
                job,
                eval: None,
                enforce_index: None,
                preserve_counts: false,
                now: 1,
            },
            submission: None,
            gates: Default::default(),
        }
    }

    #[test]
    fn a_release_registered_and_finished_is_two_release_events() {
        let mut s = StateStore::new();
        let run = Command::ReleaseRun(ReleaseRun {
            id: "r1".into(),
            name: "shop".into(),
            registers: vec![register("db"), register("web")],
            now: 1,
        });
        let ev = apply(&mut s, run);
        let release: Vec<_> = ev.iter().filter(|e| e.topic == "Release").collect();
        assert_eq!(release.len(), 1, "{ev:?}");
        let e = release[0];
        assert_eq!((e.event_type, e.key.as_str()), ("ReleaseRegistered", "r1"));
        assert_eq!(e.namespace, "default");
        assert_eq!(e.filter_keys, ["shop", "db", "web"]);
        assert!(e.matches_key("shop"));
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["Payload"]["Release"]["Status"], "running");
        assert_eq!(json["Payload"]["Release"]["Jobs"][1]["JobID"], "web");
        // The jobs' own events come with it, typed as any registration.
        assert!(
            ev.iter()
                .any(|e| e.topic == "Job" && e.event_type == "JobRegistered")
        );

        let done = Command::ReleaseStatusUpdate(ReleaseStatusUpdate {
            id: "r1".into(),
            status: "successful".into(),
            status_description: "every job deployed".into(),
            now: 2,
        });
        let ev = apply(&mut s, done);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].event_type, "ReleaseStatusUpdate");
        let json = serde_json::to_value(&ev[0]).unwrap();
        assert_eq!(json["Payload"]["Release"]["Status"], "successful");
        assert_eq!(super::job_namespaces(&ev[0]), ["default", "default"]);
    }
}
