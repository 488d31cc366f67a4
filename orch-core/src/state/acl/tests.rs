use super::*;
use crate::model::acl::{AclRolePolicyLink, AclTokenRoleLink};
use crate::state::Command;
use crate::state::testutil::NOW;

fn hash(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn management(accessor: &str, secret: char) -> AclToken {
    AclToken {
        accessor_id: accessor.into(),
        secret_hash: hash(secret),
        name: "root".into(),
        token_type: token_type::MANAGEMENT.into(),
        create_time: NOW,
        ..AclToken::default()
    }
}

fn client(accessor: &str, secret: char, policies: &[&str]) -> AclToken {
    AclToken {
        accessor_id: accessor.into(),
        secret_hash: hash(secret),
        token_type: token_type::CLIENT.into(),
        policies: policies.iter().map(|p| p.to_string()).collect(),
        create_time: NOW,
        ..AclToken::default()
    }
}

fn policy(name: &str, rules: &str) -> AclPolicy {
    AclPolicy {
        name: name.into(),
        rules: rules.into(),
        ..AclPolicy::default()
    }
}

fn upsert_policy(s: &mut StateStore, index: u64, p: AclPolicy) {
    s.apply(
        index,
        Command::AclPolicyUpsert(AclPolicyUpsert { policies: vec![p] }),
    )
    .unwrap();
}

#[test]
fn bootstrap_happens_once_unless_the_reset_index_matches() {
    let mut s = StateStore::new();
    let boot = |t: AclToken, reset_index| {
        Command::AclBootstrap(AclBootstrap {
            token: t,
            reset_index,
        })
    };
    s.apply(5, boot(management("a", 'a'), 0)).unwrap();
    assert_eq!(s.acl_bootstrap_index(), 5);
    let again = s.apply(6, boot(management("b", 'b'), 0)).unwrap_err();
    assert!(
        again
            .to_string()
            .contains("ACL bootstrap already done (reset index: 5)"),
        "{again}"
    );
    assert!(
        s.acl_token("b").is_none(),
        "a refused bootstrap changes nothing"
    );
    s.apply(7, boot(management("c", 'c'), 5)).unwrap();
    assert_eq!(s.acl_bootstrap_index(), 7);
    assert!(s.acl_token("c").unwrap().is_management());
}

#[test]
fn a_client_token_gets_its_policies_and_its_roles_policies() {
    let mut s = StateStore::new();
    upsert_policy(
        &mut s,
        1,
        policy("readers", "namespace \"default\" { policy = \"read\" }"),
    );
    upsert_policy(&mut s, 2, policy("nodes", "node { policy = \"write\" }"));
    let role = AclRole {
        id: "r1".into(),
        name: "node-ops".into(),
        policies: vec![AclRolePolicyLink {
            name: "nodes".into(),
        }],
        ..AclRole::default()
    };
    s.apply(
        3,
        Command::AclRoleUpsert(AclRoleUpsert { roles: vec![role] }),
    )
    .unwrap();
    let mut t = client("t1", 'c', &["readers"]);
    t.roles = vec![AclTokenRoleLink {
        id: String::new(),
        name: "node-ops".into(),
    }];
    s.apply(
        4,
        Command::AclTokenUpsert(AclTokenUpsert { tokens: vec![t] }),
    )
    .unwrap();
    assert_eq!(
        s.acl_token("t1").unwrap().roles[0].id,
        "r1",
        "role links are filled by name"
    );
    let (token, acl) = s.resolve_acl(Some(&hash('c')), NOW).unwrap();
    assert_eq!(token.unwrap().accessor_id, "t1");
    assert!(acl.allows_namespace("default", crate::acl::NsCap::ReadJob));
    assert!(!acl.allows_namespace("default", crate::acl::NsCap::SubmitJob));
    assert!(acl.node().allows_write());
}

#[test]
fn unknown_and_expired_secrets_are_refused() {
    let mut s = StateStore::new();
    upsert_policy(&mut s, 1, policy("p", "node { policy = \"read\" }"));
    let mut t = client("t1", 'e', &["p"]);
    t.expiration_time = NOW + 10;
    s.apply(
        2,
        Command::AclTokenUpsert(AclTokenUpsert { tokens: vec![t] }),
    )
    .unwrap();
    assert!(s.resolve_acl(Some(&hash('e')), NOW).is_ok());
    assert_eq!(
        s.resolve_acl(Some(&hash('e')), NOW + 10).unwrap_err(),
        AclError::TokenExpired
    );
    assert_eq!(
        s.resolve_acl(Some(&hash('x')), NOW).unwrap_err(),
        AclError::TokenNotFound
    );
}

#[test]
fn no_token_gets_the_anonymous_policy() {
    let mut s = StateStore::new();
    let (_, acl) = s.resolve_acl(None, NOW).unwrap();
    assert!(!acl.allows_namespace("default", crate::acl::NsCap::ListJobs));
    upsert_policy(
        &mut s,
        1,
        policy(ANONYMOUS_POLICY, "namespace \"*\" { policy = \"read\" }"),
    );
    let (_, acl) = s.resolve_acl(None, NOW).unwrap();
    assert!(acl.allows_namespace("default", crate::acl::NsCap::ListJobs));
}

#[test]
fn invalid_tokens_policies_and_roles_are_refused_naming_the_field() {
    let mut s = StateStore::new();
    let bad_rules = Command::AclPolicyUpsert(AclPolicyUpsert {
        policies: vec![policy("p", "node { policy = \"x\" }")],
    });
    assert!(
        s.apply(1, bad_rules)
            .unwrap_err()
            .to_string()
            .contains("Policies[0].Rules")
    );
    let bad_name = Command::AclPolicyUpsert(AclPolicyUpsert {
        policies: vec![policy("a b", "node { policy = \"read\" }")],
    });
    assert!(
        s.apply(1, bad_name)
            .unwrap_err()
            .to_string()
            .contains("Policies[0].Name")
    );
    let no_policies = Command::AclTokenUpsert(AclTokenUpsert {
        tokens: vec![client("t", 'a', &[])],
    });
    assert!(
        s.apply(1, no_policies)
            .unwrap_err()
            .to_string()
            .contains("at least one policy")
    );
    let mut mgmt = management("m", 'd');
    mgmt.policies = vec!["p".into()];
    let mgmt_with_policies = Command::AclTokenUpsert(AclTokenUpsert { tokens: vec![mgmt] });
    assert!(
        s.apply(1, mgmt_with_policies)
            .unwrap_err()
            .to_string()
            .contains("management token cannot")
    );
    let role = AclRole {
        id: "r".into(),
        name: "r".into(),
        policies: vec![AclRolePolicyLink {
            name: "missing".into(),
        }],
        ..AclRole::default()
    };
    let missing = Command::AclRoleUpsert(AclRoleUpsert { roles: vec![role] });
    assert!(
        s.apply(1, missing)
            .unwrap_err()
            .to_string()
            .contains("\"missing\" not found")
    );
    assert_eq!(s.latest_index(), 0, "refused commands change nothing");
}

#[test]
fn a_token_update_keeps_its_secret_and_type() {
    let mut s = StateStore::new();
    upsert_policy(&mut s, 1, policy("p", "node { policy = \"read\" }"));
    upsert_policy(&mut s, 2, policy("q", "agent { policy = \"read\" }"));
    s.apply(
        3,
        Command::AclTokenUpsert(AclTokenUpsert {
            tokens: vec![client("t", 'a', &["p"])],
        }),
    )
    .unwrap();
    let mut update = client("t", 'b', &["q"]);
    update.name = "renamed".into();
    s.apply(
        4,
        Command::AclTokenUpsert(AclTokenUpsert {
            tokens: vec![update],
        }),
    )
    .unwrap();
    let t = s.acl_token("t").unwrap();
    assert_eq!(
        (t.name.as_str(), t.secret_hash.as_str()),
        ("renamed", hash('a').as_str())
    );
    assert_eq!((t.create_index, t.modify_index), (3, 4));
    assert!(s.resolve_acl(Some(&hash('b')), NOW).is_err());
    let to_mgmt = Command::AclTokenUpsert(AclTokenUpsert {
        tokens: vec![management("t", 'a')],
    });
    assert!(
        s.apply(5, to_mgmt)
            .unwrap_err()
            .to_string()
            .contains("cannot change")
    );
}

#[test]
fn acl_tables_survive_a_snapshot_byte_for_byte() {
    let mut s = StateStore::new();
    upsert_policy(
        &mut s,
        1,
        policy("p", "namespace \"*\" { policy = \"read\" }"),
    );
    s.apply(
        2,
        Command::AclBootstrap(AclBootstrap {
            token: management("m", 'd'),
            reset_index: 0,
        }),
    )
    .unwrap();
    s.apply(
        3,
        Command::AclTokenUpsert(AclTokenUpsert {
            tokens: vec![client("t", 'f', &["p"])],
        }),
    )
    .unwrap();
    let bytes = s.snapshot().unwrap();
    let restored = StateStore::restore(&bytes).unwrap();
    assert_eq!(restored, s);
    assert_eq!(restored.snapshot().unwrap(), bytes);
    assert!(
        restored
            .resolve_acl(Some(&hash('f')), NOW)
            .unwrap()
            .1
            .allows_namespace("x", crate::acl::NsCap::ListJobs)
    );
    assert_eq!(restored.acl_bootstrap_index(), 2);
}

#[test]
fn policies_attached_to_a_workload_reach_only_its_tasks() {
    use crate::acl::NsCap;
    use crate::model::acl::JobAcl;
    let mut s = StateStore::new();
    let shared = r#"namespace "shared" { policy = "read" }"#;
    let attach = |name: &str, job: &str, group: &str, task: &str| {
        Command::AclPolicyAttach(AclPolicyAttach {
            policy: policy(name, shared),
            job_acl: Some(JobAcl {
                namespace: "default".into(),
                job_id: job.into(),
                group: group.into(),
                task: task.into(),
            }),
        })
    };
    s.apply(10, attach("task-level", "web", "g", "t")).unwrap();
    upsert_policy(
        &mut s,
        11,
        policy("plain", r#"namespace "other" { policy = "read" }"#),
    );
    let sees = |acl: Acl| acl.allows_namespace("shared", NsCap::ReadJob);
    assert!(sees(s.workload_acl("default", "web", "g", "t")));
    assert!(!sees(s.workload_acl("default", "web", "g", "other-task")));
    assert!(!sees(s.workload_acl("default", "web", "h", "t")));
    assert!(!sees(s.workload_acl("default", "api", "g", "t")));
    assert!(!sees(s.workload_acl("prod", "web", "g", "t")));
    let unattached = s.workload_acl("default", "web", "g", "t");
    assert!(!unattached.allows_namespace("other", NsCap::ReadJob));
    s.apply(12, attach("job-level", "api", "", "")).unwrap();
    assert!(sees(s.workload_acl("default", "api", "any", "task")));

    // The attachments survive a snapshot; a plain upsert or a delete removes them.
    let restored = StateStore::restore(&s.snapshot().unwrap()).unwrap();
    assert_eq!(
        restored.acl_policy_job("job-level"),
        s.acl_policy_job("job-level")
    );
    assert!(sees(restored.workload_acl("default", "web", "g", "t")));
    upsert_policy(&mut s, 13, policy("job-level", shared));
    assert_eq!(s.acl_policy_job("job-level"), None);
    s.apply(
        14,
        Command::AclPolicyDelete(AclPolicyDelete {
            names: vec!["task-level".into()],
        }),
    )
    .unwrap();
    assert!(!sees(s.workload_acl("default", "web", "g", "t")));

    let bad = s.apply(15, attach("bad", "", "g", "")).unwrap_err();
    assert!(
        bad.to_string()
            .contains("JobACL: job ID must be set to set group"),
        "{bad}"
    );
    let bad = s.apply(16, attach("bad", "web", "", "t")).unwrap_err();
    assert!(
        bad.to_string().contains("group must be set to set task"),
        "{bad}"
    );
}
