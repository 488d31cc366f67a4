use super::*;
use crate::model::{AllocatedTaskResources, Allocation};
use crate::state::testutil::*;
use crate::state::{AllocClientUpdate, Command};

fn ns(name: &str, quota: &str) -> Namespace {
    Namespace {
        name: name.into(),
        quota: quota.into(),
        ..Namespace::default()
    }
}

fn quota(name: &str, cpu: u64) -> QuotaSpec {
    QuotaSpec {
        name: name.into(),
        limits: vec![QuotaLimit {
            region: "global".into(),
            region_limit: QuotaResources {
                cpu,
                ..QuotaResources::default()
            },
            ..QuotaLimit::default()
        }],
        ..QuotaSpec::default()
    }
}

fn upsert_ns(n: Namespace) -> Command {
    Command::NamespaceUpsert(NamespaceUpsert {
        namespaces: vec![n],
    })
}

fn upsert_quota(q: QuotaSpec) -> Command {
    Command::QuotaUpsert(QuotaUpsert { quotas: vec![q] })
}

#[test]
fn default_exists_and_cannot_be_deleted() {
    let mut s = StateStore::new();
    assert!(s.namespace("default").is_some());
    let e = rejected(
        &mut s,
        1,
        Command::NamespaceDelete(NamespaceDelete {
            names: vec!["default".into()],
        }),
    );
    assert!(e.to_string().contains("cannot be deleted"), "{e}");
}

#[test]
fn jobs_need_an_existing_namespace() {
    let mut s = StateStore::new();
    let mut j = job("web");
    j.namespace = "team".into();
    let e = rejected(&mut s, 1, register(j.clone()));
    assert!(
        e.to_string()
            .contains("job \"web\" is in nonexistent namespace \"team\""),
        "{e}"
    );
    s.apply(1, upsert_ns(ns("team", ""))).unwrap();
    assert_eq!(s.namespace("team").unwrap().create_index, 1);
    assert_eq!(s.index(ns_table::NAMESPACES), 1);
    s.apply(2, register(j)).unwrap();
    // A namespace holding a job cannot go.
    let del = Command::NamespaceDelete(NamespaceDelete {
        names: vec!["team".into()],
    });
    let e = rejected(&mut s, 3, del.clone());
    assert!(e.to_string().contains("has 1 jobs"), "{e}");
    s.apply(
        3,
        Command::JobDeregister(crate::state::JobDeregister {
            namespace: "team".into(),
            job_id: "web".into(),
            purge: true,
            eval: None,
            now: NOW,
        }),
    )
    .unwrap();
    s.apply(4, del).unwrap();
    assert!(s.namespace("team").is_none());
}

#[test]
fn capabilities_refuse_disabled_drivers() {
    let mut s = StateStore::new();
    let mut n = ns("locked", "");
    n.capabilities = Some(crate::model::NamespaceCapabilities {
        enabled_task_drivers: vec!["exec".into()],
        ..Default::default()
    });
    s.apply(1, upsert_ns(n)).unwrap();
    let mut j = job("web");
    j.namespace = "locked".into();
    let e = rejected(&mut s, 2, register(j));
    assert!(e.to_string().contains("\"raw_exec\""), "{e}");
}

#[test]
fn quotas_must_exist_and_stay_while_attached() {
    let mut s = StateStore::new();
    let e = rejected(&mut s, 1, upsert_ns(ns("team", "small")));
    assert!(
        e.to_string().contains("quota \"small\" does not exist"),
        "{e}"
    );
    s.apply(1, upsert_quota(quota("small", 500))).unwrap();
    let stored = s.quota("small").unwrap();
    assert_eq!(stored.create_index, 1);
    assert_eq!(stored.limits[0].hash.len(), 16);
    s.apply(2, upsert_ns(ns("team", "small"))).unwrap();
    let del = Command::QuotaDelete(QuotaDelete {
        names: vec!["small".into()],
    });
    let e = rejected(&mut s, 3, del.clone());
    assert!(e.to_string().contains("attached to namespaces team"), "{e}");
    s.apply(3, upsert_ns(ns("team", ""))).unwrap();
    assert_eq!(s.namespace("team").unwrap().create_index, 2);
    s.apply(4, del).unwrap();
    assert!(s.quota("small").is_none());
}

fn alloc_with_cpu(id: &str, ns: &str, job_id: &str, cpu: u64) -> Allocation {
    let mut a = alloc(id, job_id, "n1", 0);
    a.namespace = ns.into();
    let mut t = AllocatedTaskResources::default();
    t.cpu.cpu_shares = cpu;
    t.memory.memory_mb = 10;
    a.allocated_resources.tasks.insert("t".into(), t);
    a
}

#[test]
fn usage_sums_live_allocations_of_the_quota_namespaces() {
    let mut s = StateStore::new();
    s.apply(1, register_node(node("n1"))).unwrap();
    s.apply(2, upsert_quota(quota("small", 500))).unwrap();
    s.apply(3, upsert_ns(ns("team", "small"))).unwrap();
    let mut j = job("web");
    j.namespace = "team".into();
    s.apply(4, register(j)).unwrap();
    s.apply(5, register(job("other"))).unwrap();
    let p = plan(vec![
        alloc_with_cpu("a1", "team", "web", 200),
        alloc_with_cpu("a2", "team", "web", 200),
        alloc_with_cpu("a3", "default", "other", 300),
    ]);
    s.apply(6, Command::ApplyPlanResults(p)).unwrap();
    let used = s.quota_used("small");
    assert_eq!(
        (used.cpu, used.memory_mb, used.memory_max_mb),
        (400, 20, 20)
    );
    let u = s.quota_usage("small", "global").unwrap();
    let limit = &s.quota("small").unwrap().limits[0];
    assert_eq!(u.used[&limit.hash].region_limit.cpu, 400);
    s.apply(
        7,
        Command::AllocClientUpdate(AllocClientUpdate {
            allocs: vec![client_update("a1", "complete")],
            evals: vec![],
            now: NOW,
        }),
    )
    .unwrap();
    assert_eq!(s.quota_used("small").cpu, 200);
}

#[test]
fn snapshots_keep_namespaces_and_older_formats_are_refused_by_name() {
    let mut s = StateStore::new();
    s.apply(1, upsert_quota(quota("small", 500))).unwrap();
    s.apply(2, upsert_ns(ns("team", "small"))).unwrap();
    let bytes = s.snapshot().unwrap();
    let r = StateStore::restore(&bytes).unwrap();
    assert_eq!(r, s);
    assert_eq!(r.snapshot().unwrap(), bytes);
    // Formats 4 and 5 hold jobs in an older layout (no CSIPluginConfig): refused with
    // what to do, never decoded into garbage.
    for format in [4u32, 5] {
        let mut old = postcard::to_allocvec(&format).unwrap();
        old.extend_from_slice(&bytes[1..]);
        let err = StateStore::restore(&old).unwrap_err().to_string();
        assert!(err.contains(&format!("format {format}")), "{err}");
        assert!(err.contains("empty data_dir"), "{err}");
    }
}

#[test]
fn bounds_are_enforced_with_the_field_named() {
    let mut s = StateStore::new();
    let mut n = ns("big", "");
    n.description = "x".repeat(300);
    let e = rejected(&mut s, 1, upsert_ns(n));
    assert!(e.to_string().contains("Namespaces[0]: Description"), "{e}");
    let e = rejected(&mut s, 1, upsert_ns(ns("no_underscores", "")));
    assert!(
        e.to_string().contains("Name: invalid namespace name"),
        "{e}"
    );
}

#[test]
fn the_number_of_quotas_is_bounded() {
    let mut s = StateStore::new();
    for i in 0..MAX_QUOTAS {
        s.apply(i as u64 + 1, upsert_quota(quota(&format!("q{i}"), 1)))
            .unwrap();
    }
    let next = MAX_QUOTAS as u64 + 1;
    let e = rejected(&mut s, next, upsert_quota(quota("one-more", 1)));
    assert!(e.to_string().contains("maximum of 256"), "{e}");
    // Replacing an existing one is still fine.
    s.apply(next, upsert_quota(quota("q0", 2))).unwrap();
}

#[test]
fn big_snapshots_round_trip_with_the_namespace_section() {
    let mut s = StateStore::new();
    for i in 0..40u64 {
        let mut j = job(&format!("big-{i}"));
        for k in 0..16 {
            j.meta.insert(format!("k{k}"), "x".repeat(4000));
        }
        s.apply(i + 1, register(j)).unwrap();
    }
    let bytes = s.snapshot().unwrap();
    let r = StateStore::restore(&bytes).unwrap();
    assert_eq!(r, s);
}
