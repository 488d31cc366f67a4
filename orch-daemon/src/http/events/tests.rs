use super::*;
use crate::http::auth::Authz;
use crate::server::events::EventBroker;
use crate::server::events::{Event, Payload};
use orch_core::model::Job;

fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
    q.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn job_batch(index: u64, id: &str, ns: &str) -> EventBatch {
    EventBatch {
        index,
        events: vec![Event {
            topic: topic::JOB,
            event_type: "JobRegistered",
            key: id.into(),
            namespace: ns.into(),
            filter_keys: vec![],
            index,
            payload: Payload::Job(std::sync::Arc::default()),
        }],
    }
}

#[test]
fn topics_keys_and_namespaces_filter_events() {
    let (f, index) = Filter::parse(&pairs(&[("topic", "Job:web"), ("index", "7")])).unwrap();
    assert_eq!(index, 7);
    assert!(
        f.render(&job_batch(1, "web", "default"), &Authz::open())
            .is_some()
    );
    assert!(
        f.render(&job_batch(1, "api", "default"), &Authz::open())
            .is_none()
    );
    assert!(
        f.render(&job_batch(1, "web", "other"), &Authz::open())
            .is_none()
    );
    let (all, _) = Filter::parse(&pairs(&[("namespace", "*")])).unwrap();
    let line = all
        .render(&job_batch(3, "api", "other"), &Authz::open())
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["Index"], 3);
    assert_eq!(v["Events"][0]["Topic"], "Job");
    assert_eq!(v["Events"][0]["Payload"]["Job"]["ID"], Job::default().id);
    let (evals, _) = Filter::parse(&pairs(&[("topic", "Evaluation")])).unwrap();
    assert!(
        evals
            .render(&job_batch(1, "web", "default"), &Authz::open())
            .is_none()
    );
}

#[test]
fn bad_topics_and_indexes_are_refused() {
    let e = Filter::parse(&pairs(&[("topic", "Jobs")])).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("Job, Evaluation"), "{}", e.message);
    assert_eq!(
        Filter::parse(&pairs(&[("topic", "HostVolume")]))
            .unwrap_err()
            .status,
        501
    );
    assert_eq!(
        Filter::parse(&pairs(&[("index", "x")])).unwrap_err().status,
        400
    );
    // Auth methods and binding rules do not exist in orch: refused by name.
    let e = Filter::parse(&pairs(&[("topic", "ACLAuthMethod")])).unwrap_err();
    assert_eq!(e.status, 501);
    assert!(e.message.contains("ACLAuthMethod"), "{}", e.message);
    assert!(Filter::parse(&pairs(&[("topic", "Variable")])).is_ok());
    assert!(Filter::parse(&pairs(&[("topic", "CSIPlugin:ebs")])).is_ok());
    assert!(Filter::parse(&pairs(&[("topic", "CSIVolume:db")])).is_ok());
}

#[tokio::test]
async fn idle_streams_send_heartbeats_between_events() {
    use http_body_util_shim::next_frame;
    let broker = EventBroker::new(8);
    broker.publish(1, job_batch(1, "web", "default").events);
    let (f, _) = Filter::parse(&[]).unwrap();
    let mut body = body(
        broker.subscribe(0),
        f,
        Authz::open(),
        Duration::from_millis(50),
    );
    let first = next_frame(&mut body).await;
    assert!(first.starts_with("{\"Index\":1,\"Events\""), "{first}");
    assert_eq!(next_frame(&mut body).await, "{}\n");
    broker.publish(2, job_batch(2, "api", "default").events);
    assert!(next_frame(&mut body).await.contains("\"Index\":2"));
}

/// Reads one frame of a body without an extra dependency.
mod http_body_util_shim {
    use axum::body::Body;
    use futures_util::StreamExt;

    pub async fn next_frame(body: &mut Body) -> String {
        let mut s = std::mem::take(body).into_data_stream();
        let chunk = s.next().await.unwrap().unwrap();
        *body = Body::from_stream(s);
        String::from_utf8(chunk.to_vec()).unwrap()
    }
}

#[test]
fn a_token_sees_only_events_of_namespaces_it_may_read() {
    let rules = orch_core::acl::parse_rules("namespace \"default\" { policy = \"read\" }").unwrap();
    let reader = Authz::for_acl(orch_core::acl::Acl::from_policies([&rules]));
    let (all, _) = Filter::parse(&pairs(&[("namespace", "*")])).unwrap();
    assert!(
        all.render(&job_batch(1, "web", "default"), &reader)
            .is_some()
    );
    assert!(all.render(&job_batch(1, "web", "other"), &reader).is_none());
    assert!(
        all.render(&job_batch(1, "web", "other"), &Authz::open())
            .is_some()
    );
}
