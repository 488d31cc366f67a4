use super::*;
use crate::state::testutil::*;
use crate::state::{Command, JobDeregister, JobScale};

fn submitted(job: Job, source: &str) -> Command {
    let Command::JobRegister(register) = register(job) else {
        unreachable!("testutil::register builds a JobRegister")
    };
    Command::JobRegisterSubmitted(JobRegisterSubmitted {
        register,
        submission: JobSubmission {
            source: source.into(),
            format: "hcl2".into(),
            variable_flags: [("x".to_string(), "1".to_string())].into(),
            ..JobSubmission::default()
        },
    })
}

fn versioned(i: u32) -> Job {
    let mut j = job("web");
    j.meta.insert("v".into(), i.to_string());
    j
}

#[test]
fn the_source_is_kept_at_the_version_the_registration_made() {
    let mut s = StateStore::new();
    let r0 = s.apply(2, submitted(versioned(0), "v0")).unwrap();
    let r1 = s.apply(3, submitted(versioned(1), "v1")).unwrap();
    assert_eq!((r0.job_version, r1.job_version), (0, 1));
    let got = s.job_submission("default", "web", 1).unwrap();
    assert_eq!(
        (
            got.source.as_str(),
            got.job_id.as_str(),
            got.version,
            got.job_index
        ),
        ("v1", "web", 1, 3)
    );
    assert_eq!(got.variable_flags["x"], "1");
    assert_eq!(s.job_submission("default", "web", 0).unwrap().source, "v0");
    assert_eq!(s.index(JOB_SUBMISSIONS_TABLE), 3);
    // An unchanged spec keeps its version; the newer text replaces the older at it.
    let same = s
        .apply(4, submitted(versioned(1), "v1 reformatted"))
        .unwrap();
    assert_eq!(same.job_version, 1);
    assert_eq!(
        s.job_submission("default", "web", 1).unwrap().source,
        "v1 reformatted"
    );
}

#[test]
fn sources_follow_the_version_history_and_go_with_a_purge() {
    let mut s = StateStore::new();
    for i in 0..10u32 {
        s.apply(u64::from(i) + 2, submitted(versioned(i), &format!("v{i}")))
            .unwrap();
    }
    let kept: Vec<u64> = (0..10)
        .filter(|v| s.job_submission("default", "web", *v).is_some())
        .collect();
    let versions: Vec<u64> = s
        .job_versions("default", "web")
        .iter()
        .map(|j| j.version)
        .rev()
        .collect();
    assert_eq!(
        kept, versions,
        "a source lives exactly as long as its version"
    );
    assert_eq!(kept.len(), crate::state::JOB_TRACKED_VERSIONS);
    // A version made without a source (scaling) prunes the oldest source too.
    s.apply(
        20,
        Command::JobScale(JobScale {
            namespace: "default".into(),
            job_id: "web".into(),
            group: "web".into(),
            count: 3,
            message: String::new(),
            error: false,
            meta: Default::default(),
            eval: None,
            now: NOW,
        }),
    )
    .unwrap();
    assert!(s.job_submission("default", "web", kept[0]).is_none());
    s.apply(
        21,
        Command::JobDeregister(JobDeregister {
            namespace: "default".into(),
            job_id: "web".into(),
            purge: true,
            eval: None,
            now: NOW,
        }),
    )
    .unwrap();
    assert!((0..10).all(|v| s.job_submission("default", "web", v).is_none()));
    assert_eq!(s.index(JOB_SUBMISSIONS_TABLE), 21);
}
