use super::*;
use crate::state::Command;

fn key_meta(id: &str) -> RootKeyMeta {
    RootKeyMeta {
        key_id: id.into(),
        algorithm: "aes256-gcm".into(),
        public_key: vec![7; 32],
        ..RootKeyMeta::default()
    }
}

fn sealed(path: &str) -> VariableEncrypted {
    VariableEncrypted {
        namespace: "default".into(),
        path: path.into(),
        key_id: "k1".into(),
        nonce: vec![1; 12],
        ciphertext: vec![9; 20],
        ..VariableEncrypted::default()
    }
}

fn apply(op: VarOp, var: VariableEncrypted, cas: Option<u64>, now: i64) -> Command {
    Command::VarApply(VarApply {
        op,
        var,
        check_index: cas,
        now,
    })
}

fn store() -> StateStore {
    let mut s = StateStore::new();
    let key = key_meta("k1");
    s.apply(1, Command::RootKeyUpsert(RootKeyUpsert { key }))
        .unwrap();
    s
}

#[test]
fn set_cas_and_delete() {
    let mut s = store();
    s.apply(2, apply(VarOp::Set, sealed("a/b"), Some(0), 10))
        .unwrap();
    let v = s.variable("default", "a/b").unwrap();
    assert_eq!((v.create_index, v.modify_index, v.create_time), (2, 2, 10));
    let err = s
        .apply(3, apply(VarOp::Set, sealed("a/b"), Some(0), 11))
        .unwrap_err();
    assert!(err.to_string().starts_with(VAR_CONFLICT), "{err}");
    s.apply(3, apply(VarOp::Set, sealed("a/b"), Some(2), 11))
        .unwrap();
    assert_eq!(s.variable("default", "a/b").unwrap().create_index, 2);
    assert!(
        s.apply(4, apply(VarOp::Delete, sealed("a/b"), Some(2), 12))
            .is_err()
    );
    s.apply(4, apply(VarOp::Delete, sealed("a/b"), Some(3), 12))
        .unwrap();
    assert!(s.variable("default", "a/b").is_none());
    assert_eq!(s.index(VARIABLES_TABLE), 4);
}

#[test]
fn unknown_keys_and_bad_paths_are_refused() {
    let mut s = store();
    let mut v = sealed("a");
    v.key_id = "nope".into();
    assert!(s.apply(2, apply(VarOp::Set, v, None, 1)).is_err());
    assert!(
        s.apply(2, apply(VarOp::Set, sealed("nomad/x"), None, 1))
            .is_err()
    );
}

#[test]
fn locks_hold_renew_release_and_delay() {
    let mut s = store();
    let mut v = sealed("l");
    v.lock = Some(VariableLock {
        id: "h1".into(),
        ttl: 100,
        lock_delay: 50,
        expires_at: 0,
    });
    s.apply(2, apply(VarOp::LockAcquire, v.clone(), None, 1000))
        .unwrap();
    assert_eq!(
        s.variable("default", "l")
            .unwrap()
            .lock
            .as_ref()
            .unwrap()
            .expires_at,
        1100
    );
    let mut other = v.clone();
    other.lock.as_mut().unwrap().id = "h2".into();
    assert!(
        s.apply(3, apply(VarOp::LockAcquire, other.clone(), None, 1050))
            .is_err()
    );
    // A write without the lock's ID is refused while it is held.
    assert!(
        s.apply(3, apply(VarOp::Set, sealed("l"), None, 1050))
            .is_err()
    );
    s.apply(3, apply(VarOp::Set, v.clone(), None, 1050))
        .unwrap();
    s.apply(4, apply(VarOp::LockRenew, v.clone(), None, 1090))
        .unwrap();
    assert_eq!(
        s.variable("default", "l")
            .unwrap()
            .lock
            .as_ref()
            .unwrap()
            .expires_at,
        1190
    );
    // Expired at 1190, blocked until 1240 by the delay.
    assert!(
        s.apply(5, apply(VarOp::LockAcquire, other.clone(), None, 1200))
            .is_err()
    );
    s.apply(5, apply(VarOp::LockAcquire, other.clone(), None, 1240))
        .unwrap();
    assert!(
        s.apply(6, apply(VarOp::LockRelease, v, None, 1250))
            .is_err()
    );
    s.apply(6, apply(VarOp::LockRelease, other, None, 1250))
        .unwrap();
    assert!(s.variable("default", "l").unwrap().lock.is_none());
}

#[test]
fn rotation_deactivates_and_only_unused_inactive_keys_go() {
    let mut s = store();
    s.apply(2, apply(VarOp::Set, sealed("a"), None, 1)).unwrap();
    let key = key_meta("k2");
    s.apply(3, Command::RootKeyUpsert(RootKeyUpsert { key }))
        .unwrap();
    assert_eq!(s.active_root_key().unwrap().key_id, "k2");
    assert_eq!(s.root_key("k1").unwrap().state, RootKeyState::Inactive);
    let del = |id: &str| Command::RootKeyDelete(RootKeyDelete { key_id: id.into() });
    assert!(s.apply(4, del("k2")).is_err(), "active");
    assert!(s.apply(4, del("k1")).is_err(), "in use");
    s.apply(4, apply(VarOp::Delete, sealed("a"), None, 2))
        .unwrap();
    s.apply(5, del("k1")).unwrap();
    assert_eq!(s.root_keys().count(), 1);
}

#[test]
fn variables_survive_a_snapshot() {
    let mut s = store();
    s.apply(2, apply(VarOp::Set, sealed("a"), None, 1)).unwrap();
    let bytes = s.snapshot().unwrap();
    let r = StateStore::restore(&bytes).unwrap();
    assert_eq!(r, s);
    assert_eq!(r.variable("default", "a").unwrap().ciphertext, vec![9; 20]);
}

#[test]
fn a_quotas_variables_limit_counts_the_sealed_bytes_of_its_namespaces() {
    use crate::model::namespace::{Namespace, QuotaLimit, QuotaSpec};
    use crate::state::namespaces::{NamespaceUpsert, QuotaUpsert};
    let mut s = store();
    let quota = QuotaSpec {
        name: "q".into(),
        limits: vec![QuotaLimit {
            region: "global".into(),
            variables_limit: Some(1),
            ..QuotaLimit::default()
        }],
        ..QuotaSpec::default()
    };
    s.apply(
        2,
        Command::QuotaUpsert(QuotaUpsert {
            quotas: vec![quota],
        }),
    )
    .unwrap();
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        let ns = Namespace {
            name: name.into(),
            quota: "q".into(),
            ..Namespace::default()
        };
        let cmd = Command::NamespaceUpsert(NamespaceUpsert {
            namespaces: vec![ns],
        });
        s.apply(3 + i as u64, cmd).unwrap();
    }
    // 600 KiB in namespace a.
    for i in 0..10u64 {
        let mut v = sealed(&format!("x{i}"));
        v.namespace = "a".into();
        v.ciphertext = vec![0; 60 * 1024];
        s.apply(10 + i, apply(VarOp::Set, v, None, 0)).unwrap();
    }
    assert_eq!(s.variables_bytes("a", None), 600 * 1024);
    let mib = 1024 * 1024;
    // Replacing a variable counts its new size only.
    assert_eq!(
        s.variables_quota_exceeded("a", "x0", 480 * 1024, "global"),
        None
    );
    assert!(
        s.variables_quota_exceeded("a", "new", 480 * 1024, "global")
            .is_some()
    );
    // The other namespace of the quota shares the limit.
    let over = s.variables_quota_exceeded("b", "y", 500 * 1024, "global");
    assert!(over.is_some_and(|w| w.contains("VariablesLimit is 1 MiB")));
    assert_eq!(
        s.variables_quota_exceeded("b", "y", 400 * 1024, "global"),
        None
    );
    // No limit for other regions or namespaces without the quota.
    assert_eq!(s.variables_quota_exceeded("b", "y", 2 * mib, "other"), None);
    assert_eq!(
        s.variables_quota_exceeded("default", "y", 2 * mib, "global"),
        None
    );
}
