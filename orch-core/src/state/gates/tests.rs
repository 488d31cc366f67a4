use super::*;
use crate::model::UpdateGate;
use crate::state::testutil::*;
use crate::state::{Command, JobRevert};

fn gate(condition: &str) -> UpdateGate {
    UpdateGate {
        source: "prometheus".into(),
        query: "scalar(errors)".into(),
        condition: condition.into(),
        for_: 1_000,
        deadline: 10_000,
    }
}

fn gated(job: Job, gates: &[(&str, UpdateGate)]) -> Command {
    let Command::JobRegister(register) = register(job) else {
        unreachable!("testutil::register builds a JobRegister")
    };
    Command::JobRegisterGated(JobRegisterGated {
        register,
        submission: None,
        gates: gates
            .iter()
            .map(|(g, x)| (g.to_string(), x.clone()))
            .collect(),
    })
}

fn versioned(i: u32) -> Job {
    let mut j = job("web");
    j.meta.insert("v".into(), i.to_string());
    j
}

#[test]
fn gates_are_kept_at_the_version_the_registration_made_and_cleared_by_an_empty_map() {
    let mut s = StateStore::new();
    let r0 = s
        .apply(2, gated(versioned(0), &[("web", gate("< 1"))]))
        .unwrap();
    let r1 = s
        .apply(3, gated(versioned(1), &[("web", gate("< 2"))]))
        .unwrap();
    assert_eq!((r0.job_version, r1.job_version), (0, 1));
    assert_eq!(
        s.update_gates("default", "web", 0).unwrap()["web"].condition,
        "< 1"
    );
    assert_eq!(
        s.update_gates("default", "web", 1).unwrap()["web"].condition,
        "< 2"
    );
    assert_eq!(s.index(UPDATE_GATES_TABLE), 3);
    // The same spec without gates: a new version without any; the older versions
    // keep theirs (for a revert).
    let r2 = s.apply(4, gated(versioned(1), &[])).unwrap();
    assert_eq!(r2.job_version, 2);
    assert!(s.update_gates("default", "web", 2).is_none());
    assert!(s.update_gates("default", "web", 1).is_some());
    assert!(s.update_gates("default", "web", 0).is_some());
}

#[test]
fn a_change_of_the_gate_alone_is_a_new_version_and_the_same_gate_is_none() {
    let mut s = StateStore::new();
    s.apply(2, gated(versioned(0), &[("web", gate("< 1"))]))
        .unwrap();
    // The same spec and gate: nothing new, as for any unchanged registration.
    let same = s
        .apply(3, gated(versioned(0), &[("web", gate("< 1"))]))
        .unwrap();
    assert_eq!(same.job_version, 0);
    assert_eq!(s.job("default", "web").unwrap().job_modify_index, 2);
    // Only the condition differs: version 1, with its own gate and a new modify index.
    let changed = s
        .apply(4, gated(versioned(0), &[("web", gate("< 2"))]))
        .unwrap();
    assert_eq!(changed.job_version, 1);
    let j = s.job("default", "web").unwrap();
    assert_eq!((j.version, j.job_modify_index), (1, 4));
    assert_eq!(
        s.update_gates("default", "web", 1).unwrap()["web"].condition,
        "< 2"
    );
    assert_eq!(
        s.update_gates("default", "web", 0).unwrap()["web"].condition,
        "< 1"
    );
    // A gate added to a job that had none is a new version too.
    let mut t = StateStore::new();
    t.apply(2, gated(versioned(0), &[])).unwrap();
    let added = t
        .apply(3, gated(versioned(0), &[("web", gate("< 1"))]))
        .unwrap();
    assert_eq!(added.job_version, 1);
}

#[test]
fn a_scale_keeps_the_gates_of_the_version_it_follows() {
    let mut s = StateStore::new();
    s.apply(2, gated(versioned(0), &[("web", gate("< 1"))]))
        .unwrap();
    let r = s
        .apply(
            3,
            Command::JobScale(crate::state::JobScale {
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
    assert_eq!(r.job_version, 1);
    assert_eq!(
        s.update_gates("default", "web", 1).unwrap()["web"].condition,
        "< 1"
    );
    // A registration that says none clears them for its version.
    s.apply(4, gated(versioned(2), &[])).unwrap();
    assert!(s.update_gates("default", "web", 2).is_none());
}

#[test]
fn a_refused_registration_stores_no_gates() {
    let mut s = StateStore::new();
    s.apply(2, gated(versioned(0), &[])).unwrap();
    let mut cmd = gated(versioned(1), &[("web", gate("< 1"))]);
    if let Command::JobRegisterGated(c) = &mut cmd {
        c.register.enforce_index = Some(999);
    }
    rejected(&mut s, 3, cmd);
    assert!(s.update_gates("default", "web", 0).is_none());
}

#[test]
fn a_revert_takes_the_old_versions_gates_and_snapshots_keep_them() {
    let mut s = StateStore::new();
    s.apply(2, gated(versioned(0), &[("web", gate("< 1"))]))
        .unwrap();
    s.apply(3, gated(versioned(1), &[])).unwrap();
    let r = s
        .apply(
            4,
            Command::JobRevert(JobRevert {
                namespace: "default".into(),
                job_id: "web".into(),
                version: 0,
                enforce_prior_version: None,
                eval: None,
                now: NOW,
            }),
        )
        .unwrap();
    assert_eq!(r.job_version, 2);
    assert_eq!(
        s.update_gates("default", "web", 2).unwrap()["web"].condition,
        "< 1"
    );
    let bytes = s.snapshot().unwrap();
    let back = StateStore::restore(&bytes).unwrap();
    assert_eq!(
        back.update_gates("default", "web", 2),
        s.update_gates("default", "web", 2)
    );
    assert_eq!(back.snapshot().unwrap(), bytes);
}

#[test]
fn a_gate_reading_needs_a_running_deployment_and_sets_its_description() {
    let mut s = populated();
    let j = s.job("default", "web").unwrap().clone();
    let d = deployment("d1", &j);
    let mut p = plan(vec![]);
    p.deployment = Some(d);
    s.apply(5, Command::ApplyPlanResults(p)).unwrap();
    let reading = |group: &str, description: &str| {
        Command::DeploymentGateUpdate(DeploymentGateUpdate {
            deployment_id: "d1".into(),
            group: group.into(),
            state: GateState {
                placed: 1,
                description: description.into(),
                ..GateState::default()
            },
            eval: None,
            now: NOW,
        })
    };
    s.apply(6, reading("web", "waiting for the gate")).unwrap();
    assert_eq!(
        s.deployment("d1").unwrap().status_description,
        "waiting for the gate"
    );
    assert_eq!(s.deployment_gate("d1", "web").unwrap().placed, 1);
    assert!(matches!(
        rejected(&mut s, 7, reading("nope", "x")),
        StateError::Invalid(_)
    ));
}
