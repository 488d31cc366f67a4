use std::collections::BTreeMap;

use super::checkers::*;
use super::constraint::{check_order, glob};
use super::*;
use crate::model::*;
use crate::state::compute_class;

/// A plain `ProposedAllocs` for tests: nodes and the job's live allocations.
#[derive(Default)]
pub(super) struct Proposed {
    pub nodes: BTreeMap<String, Node>,
    pub allocs: Vec<Allocation>,
}

impl ProposedAllocs for Proposed {
    fn job_allocs_on_node(&self, node_id: &str) -> impl Iterator<Item = &Allocation> {
        self.allocs.iter().filter(move |a| a.node_id == node_id)
    }
    fn job_allocs(&self) -> impl Iterator<Item = &Allocation> {
        self.allocs.iter()
    }
    fn node(&self, node_id: &str) -> Option<&Node> {
        self.nodes.get(node_id)
    }
}

pub(super) fn node(id: &str) -> Node {
    let mut n = Node {
        id: id.into(),
        name: format!("name-{id}"),
        status: "ready".into(),
        ..Default::default()
    };
    n.attributes.insert("kernel.name".into(), "linux".into());
    n.attributes.insert("driver.exec".into(), "1".into());
    n.computed_class = compute_class(&n);
    n
}

pub(super) fn job(constraints: Vec<Constraint>, group_constraints: Vec<Constraint>) -> Job {
    Job {
        id: "web".into(),
        namespace: "default".into(),
        datacenters: vec!["dc1".into()],
        constraints,
        task_groups: vec![TaskGroup {
            name: "g".into(),
            constraints: group_constraints,
            tasks: vec![Task {
                name: "t".into(),
                driver: "exec".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn alloc(id: &str, node_id: &str, group: &str) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: "default".into(),
        job_id: "web".into(),
        node_id: node_id.into(),
        task_group: group.into(),
        desired_status: "run".into(),
        client_status: "running".into(),
        ..Default::default()
    }
}

fn matches(l: &str, op: &str, r: &str, n: &Node) -> bool {
    CompiledConstraint::new(&Constraint::new(l, op, r)).matches(n)
}

#[test]
fn resolve_targets() {
    let mut n = node("n1");
    n.meta.insert("rack".into(), "r1".into());
    n.node_class = "big".into();
    n.node_pool = "gpu".into();
    assert_eq!(
        resolve_target("${node.unique.id}", &n).as_deref(),
        Some("n1")
    );
    assert_eq!(
        resolve_target("${node.unique.name}", &n).as_deref(),
        Some("name-n1")
    );
    assert_eq!(
        resolve_target("${node.datacenter}", &n).as_deref(),
        Some("dc1")
    );
    assert_eq!(resolve_target("${node.class}", &n).as_deref(), Some("big"));
    assert_eq!(resolve_target("${node.pool}", &n).as_deref(), Some("gpu"));
    assert_eq!(
        resolve_target("${attr.kernel.name}", &n).as_deref(),
        Some("linux")
    );
    assert_eq!(resolve_target("${meta.rack}", &n).as_deref(), Some("r1"));
    assert_eq!(resolve_target("${meta.nope}", &n), None);
    assert_eq!(resolve_target("${node.region}", &n), None);
    assert_eq!(resolve_target("literal", &n).as_deref(), Some("literal"));
}

#[test]
fn operators_table() {
    let mut n = node("n1");
    n.attributes.insert("cpu.numcores".into(), "8".into());
    n.attributes.insert("f".into(), "2.5".into());
    n.attributes.insert("s".into(), "abc".into());
    n.attributes.insert("set".into(), "a, b,c".into());
    n.attributes.insert("ver".into(), "1.2.3".into());
    let cases: &[(&str, &str, &str, bool)] = &[
        ("${attr.kernel.name}", "=", "linux", true),
        ("${attr.kernel.name}", "==", "linux", true),
        ("${attr.kernel.name}", "is", "windows", false),
        ("${attr.missing}", "=", "", false),
        ("${attr.kernel.name}", "!=", "windows", true),
        ("${attr.kernel.name}", "not", "linux", false),
        ("${attr.missing}", "!=", "", false),
        ("${attr.missing}", "!=", "x", true),
        // numeric when both parse, else lexical
        ("${attr.cpu.numcores}", ">", "10", false),
        ("${attr.cpu.numcores}", "<", "10", true),
        ("${attr.cpu.numcores}", ">=", "8", true),
        ("${attr.cpu.numcores}", "<=", "7", false),
        ("${attr.f}", ">", "2.25", true),
        ("${attr.f}", "<", "10", true),
        ("${attr.s}", "<", "abd", true),
        ("${attr.s}", ">", "10", true),
        ("${attr.missing}", "<", "10", false),
        ("${attr.set}", "set_contains", "a,c", true),
        ("${attr.set}", "set_contains_all", "a,d", false),
        ("${attr.set}", "set_contains_any", "d, b", true),
        ("${attr.set}", "set_contains_any", "d,e", false),
        ("${attr.missing}", "set_contains_any", "a", false),
        ("${attr.kernel.name}", "is_set", "", true),
        ("${attr.missing}", "is_set", "", false),
        ("${attr.missing}", "is_not_set", "", true),
        ("${attr.kernel.name}", "is_not_set", "", false),
        ("${attr.kernel.name}", "regexp", "^lin", true),
        ("${attr.kernel.name}", "regexp", "nux", true),
        ("${attr.kernel.name}", "regexp", "^win", false),
        ("${attr.kernel.name}", "regexp", "(", false),
        ("${attr.ver}", "version", ">= 1.2, < 2.0", true),
        ("${attr.ver}", "version", "~> 1.3", false),
        ("${attr.ver}", "semver", ">= 1.2.0", true),
        ("${attr.ver}", "bogus", "x", false),
        ("${attr.ver}", "distinct_hosts", "", true),
        ("${node.unique.id}", "=", "${node.unique.id}", true),
    ];
    for (l, op, r, want) in cases {
        assert_eq!(matches(l, op, r, &n), *want, "{l} {op} {r}");
    }
}

#[test]
fn order_numeric_vs_lexical() {
    use std::cmp::Ordering::*;
    assert_eq!(check_order("9", "10"), Some(Less));
    assert_eq!(check_order("9a", "10a"), Some(Greater));
    assert_eq!(check_order("1e3", "999"), Some(Greater));
    assert_eq!(check_order("-5", "3"), Some(Less));
    assert_eq!(
        check_order("1e400", "5"),
        Some(Less),
        "Go rejects out-of-range floats"
    );
    assert_eq!(check_order("NaN", "1"), None);
}

#[test]
fn version_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("1.2.3", ">= 1.2, < 2.0", true),
        ("2.0.0", ">= 1.2, < 2.0", false),
        ("1.2", "= 1.2.0", true),
        ("v1.2.3", "1.2.3", true),
        ("1.2.3", "!= 1.2.3", false),
        ("1.2.9", "~> 1.2.3", true),
        ("1.3.0", "~> 1.2.3", false),
        ("1.9", "~> 1.2", true),
        ("2.0", "~> 1.2", false),
        // prerelease rules
        ("1.2.3-beta", ">= 1.0", false),
        ("1.2.3-beta", ">= 1.2.3-alpha", true),
        ("1.2.3-beta", ">= 1.2.2-alpha", false),
        ("1.2.3", "> 1.2.3-rc1", true),
        ("1.2.3-rc.2", "> 1.2.3-rc.1", true),
        ("1.2.3-rc.10", "> 1.2.3-rc.9", true),
        ("1.2.3-beta", "= 1.2.3-beta", true),
        ("1.2.3beta", "= 1.2.3-beta", true),
        ("1.2.3+meta", "= 1.2.3", true),
        ("1.2.3.4", "> 1.2.3", true),
        ("1.2.3.0", "= 1.2.3", true),
        ("garbage", ">= 1.0", false),
        ("1.0", "garbage", false),
        ("1.0", "", false),
        ("1.0", ">= 1.0,", false),
    ];
    for (v, c, want) in cases {
        let got = Version::parse(v)
            .zip(VersionConstraints::parse_version(c))
            .is_some_and(|(v, c)| c.check(&v));
        assert_eq!(got, *want, "{v} version {c}");
    }
}

#[test]
fn semver_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("1.2.3", ">= 1.2.0, < 2.0.0", true),
        // no prerelease special-casing: plain ordering
        ("1.3.0-beta", ">= 1.2.0", true),
        ("1.2.3-beta", "< 1.2.3", true),
        // strict constraint versions: prerelease needs a dash, no ~>
        ("1.2.3", "~> 1.2", false),
        ("1.2.3", ">= 1.2.3beta", false),
        ("1.2.3", "= 1.2.3", true),
    ];
    for (v, c, want) in cases {
        let got = Version::parse(v)
            .zip(VersionConstraints::parse_semver(c))
            .is_some_and(|(v, c)| c.check(&v));
        assert_eq!(got, *want, "{v} semver {c}");
    }
}

#[test]
fn globs() {
    assert!(glob("*", "anything"));
    assert!(glob("dc*", "dc1"));
    assert!(!glob("dc*", "xdc1"));
    assert!(glob("*1", "dc1"));
    assert!(glob("d*1", "dc1"));
    assert!(!glob("d*2", "dc1"));
    assert!(glob("dc1", "dc1"));
    assert!(!glob("", "dc1"));
}

#[test]
fn ready_dc_pool() {
    let mut j = job(vec![], vec![]);
    j.datacenters = vec!["us-*".into()];
    j.node_pool = "default".into();
    let chk = NodeReadyChecker::new(&j);
    let mut n = node("a");
    n.datacenter = "us-east".into();
    assert!(chk.admits(&n));
    n.node_pool = "gpu".into();
    assert!(!chk.admits(&n));
    j.node_pool = "all".into();
    assert!(NodeReadyChecker::new(&j).admits(&n));
    n.drain_strategy = Some(DrainStrategy::default());
    assert!(!chk.admits(&n));
    n.drain_strategy = None;
    n.scheduling_eligibility = "ineligible".into();
    assert!(!chk.admits(&n));
    n.scheduling_eligibility = "eligible".into();
    n.datacenter = "eu-west".into();
    assert!(!chk.admits(&n));
}

#[test]
fn drivers() {
    let j = job(vec![], vec![]);
    let chk = DriverChecker::new(&j.task_groups[0]);
    let mut n = node("a");
    assert!(chk.feasible(&n), "attribute fallback driver.exec=1");
    n.attributes.insert("driver.exec".into(), "false".into());
    assert!(!chk.feasible(&n));
    n.drivers.insert(
        "exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    assert!(chk.feasible(&n), "DriverInfo wins over the attribute");
    n.drivers.get_mut("exec").unwrap().healthy = false;
    assert!(!chk.feasible(&n));
}

#[test]
fn constraint_checker_reason_and_task_constraints() {
    let mut j = job(
        vec![],
        vec![Constraint::new("${attr.kernel.name}", "=", "linux")],
    );
    j.task_groups[0].tasks[0]
        .constraints
        .push(Constraint::new("${meta.rack}", "=", "r1"));
    j.task_groups[0]
        .constraints
        .push(Constraint::new("${meta.rack}", "distinct_property", ""));
    let chk = ConstraintChecker::for_group(&j.task_groups[0]);
    let n = node("a");
    assert_eq!(
        chk.first_failure(&n).map(|r| &**r),
        Some("${meta.rack} = r1")
    );
}

#[test]
fn host_volumes() {
    let mut g = job(vec![], vec![]).task_groups.remove(0);
    g.volumes.insert(
        "data".into(),
        VolumeRequest {
            kind: "host".into(),
            source: "data".into(),
            ..Default::default()
        },
    );
    let mut n = node("a");
    let chk = HostVolumeChecker::new(&g);
    assert_eq!(chk.failure(&n), Some(FILTER_HOST_VOLUMES));
    n.host_volumes.insert(
        "data".into(),
        ClientHostVolumeConfig {
            name: "data".into(),
            read_only: true,
            ..Default::default()
        },
    );
    assert_eq!(
        chk.failure(&n),
        Some(FILTER_HOST_VOLUMES),
        "writer on read-only"
    );
    g.volumes.get_mut("data").unwrap().read_only = true;
    assert_eq!(HostVolumeChecker::new(&g).failure(&n), None);
    // per-alloc
    g.volumes.get_mut("data").unwrap().per_alloc = true;
    let mut chk = HostVolumeChecker::new(&g);
    chk.set_alloc_name("web.g[2]");
    assert_eq!(chk.failure(&n), Some(FILTER_HOST_VOLUMES));
    n.host_volumes
        .insert("data[2]".into(), ClientHostVolumeConfig::default());
    assert_eq!(chk.failure(&n), None);
    // CSI requests are the CSI checker's, not this one's.
    g.volumes.insert(
        "csi".into(),
        VolumeRequest {
            kind: "csi".into(),
            source: "vol".into(),
            ..Default::default()
        },
    );
    let mut chk = HostVolumeChecker::new(&g);
    chk.set_alloc_name("web.g[2]");
    assert_eq!(chk.failure(&n), None);
}

fn stack_for(j: &Job) -> FeasibilityStack {
    FeasibilityStack::new(j)
}

#[test]
fn class_caching_evaluates_once_and_reports() {
    let j = job(
        vec![Constraint::new("${attr.kernel.name}", "=", "linux")],
        vec![],
    );
    let mut s = stack_for(&j);
    let p = Proposed::default();
    let a = node("a");
    let b = node("b");
    assert_eq!(a.computed_class, b.computed_class);
    assert!(s.check(0, &a, &p).is_ok());
    assert_eq!(
        s.eligibility().group_status(0, &a.computed_class),
        ClassStatus::Eligible
    );
    assert!(s.check(0, &b, &p).is_ok());
    let mut w = node("w");
    w.attributes.insert("kernel.name".into(), "windows".into());
    w.computed_class = compute_class(&w);
    assert_eq!(
        s.check(0, &w, &p).unwrap_err().as_str(),
        "${attr.kernel.name} = linux"
    );
    let mut w2 = w.clone();
    w2.id = "w2".into();
    assert_eq!(
        s.check(0, &w2, &p).unwrap_err().as_str(),
        "computed class ineligible"
    );
    let elig = s.eligibility().class_eligibility();
    assert_eq!(elig.get(&a.computed_class), Some(&true));
    assert_eq!(elig.get(&w.computed_class), Some(&false));
    assert!(!s.eligibility().escaped_computed_class());
}

#[test]
fn class_caching_skips_group_checks_for_known_class() {
    // Once a class is eligible, group checks are skipped: a node that lies about its
    // class (same class, different attribute) passes, proving the cache is used.
    let j = job(
        vec![],
        vec![Constraint::new("${attr.kernel.name}", "=", "linux")],
    );
    let mut s = stack_for(&j);
    let p = Proposed::default();
    let a = node("a");
    assert!(s.check(0, &a, &p).is_ok());
    let mut liar = node("liar");
    liar.attributes
        .insert("kernel.name".into(), "windows".into());
    assert!(s.check(0, &liar, &p).is_ok());
}

#[test]
fn escaped_constraint_disables_caching() {
    let j = job(
        vec![],
        vec![Constraint::new("${node.unique.name}", "!=", "name-b")],
    );
    let mut s = stack_for(&j);
    let p = Proposed::default();
    assert!(s.eligibility().escaped_computed_class());
    assert!(s.check(0, &node("a"), &p).is_ok());
    assert_eq!(
        s.check(0, &node("b"), &p).unwrap_err().as_str(),
        "${node.unique.name} != name-b"
    );
    assert!(s.check(0, &node("c"), &p).is_ok());
    let class = node("a").computed_class;
    assert_eq!(
        s.eligibility().group_status(0, &class),
        ClassStatus::Escaped
    );
    // the job level did not escape, so its verdict is still recorded
    assert_eq!(s.eligibility().class_eligibility().get(&class), Some(&true));
}

#[test]
fn metrics_recorded() {
    let j = job(
        vec![Constraint::new("${attr.kernel.name}", "=", "windows")],
        vec![],
    );
    let mut s = stack_for(&j);
    let p = Proposed::default();
    let mut m = AllocationMetric::default();
    let mut a = node("a");
    a.node_class = "small".into();
    for _ in 0..3 {
        assert!(!s.check_and_record(0, &a, None, &p, &mut m));
    }
    assert_eq!(m.nodes_evaluated, 3);
    assert_eq!(m.nodes_filtered, 3);
    assert_eq!(m.class_filtered.get("small"), Some(&3));
    assert_eq!(
        m.constraint_filtered.get("${attr.kernel.name} = windows"),
        Some(&1)
    );
    assert_eq!(
        m.constraint_filtered.get("computed class ineligible"),
        Some(&2)
    );
}

#[test]
fn distinct_hosts_job_and_group() {
    let p = Proposed {
        allocs: vec![alloc("x", "a", "other")],
        ..Default::default()
    };
    let mut j = job(vec![], vec![Constraint::new("", "distinct_hosts", "")]);
    j.task_groups.push(TaskGroup {
        name: "other".into(),
        ..j.task_groups[0].clone()
    });
    let mut s = stack_for(&j);
    assert!(
        s.check(0, &node("a"), &p).is_ok(),
        "other group's alloc does not collide"
    );
    let p2 = Proposed {
        allocs: vec![alloc("x", "a", "g")],
        ..Default::default()
    };
    assert_eq!(
        s.check(0, &node("a"), &p2).unwrap_err().as_str(),
        "distinct_hosts"
    );
    assert!(s.check(0, &node("b"), &p2).is_ok());

    let j = job(vec![Constraint::new("", "distinct_hosts", "true")], vec![]);
    let mut s = stack_for(&j);
    assert!(
        s.check(0, &node("a"), &p).is_err(),
        "job level: any group collides"
    );
    let j = job(vec![Constraint::new("", "distinct_hosts", "false")], vec![]);
    let mut s = stack_for(&j);
    assert!(s.check(0, &node("a"), &p).is_ok(), "disabled");
}

#[test]
fn distinct_property_counts() {
    let mut nodes = BTreeMap::new();
    for (id, rack) in [("a", "r1"), ("b", "r1"), ("c", "r2")] {
        let mut n = node(id);
        n.meta.insert("rack".into(), rack.into());
        nodes.insert(id.to_string(), n);
    }
    let mut p = Proposed {
        nodes: nodes.clone(),
        allocs: vec![alloc("x", "a", "g")],
    };
    let j = job(
        vec![],
        vec![Constraint::new("${meta.rack}", "distinct_property", "2")],
    );
    let mut s = stack_for(&j);
    assert!(s.check(0, &nodes["b"], &p).is_ok(), "1 < 2");
    p.allocs.push(alloc("y", "b", "g"));
    s.reset();
    assert_eq!(
        s.check(0, &nodes["a"], &p).unwrap_err().as_str(),
        "distinct_property: ${meta.rack}=r1 used by 2 allocs"
    );
    assert!(s.check(0, &nodes["c"], &p).is_ok());
    // terminal allocs and other groups do not count at group level
    p.allocs[1].client_status = "failed".into();
    p.allocs.push(alloc("z", "b", "other"));
    s.reset();
    assert!(s.check(0, &nodes["a"], &p).is_ok());
    // job level counts every group; default allowed count is 1
    let j = job(
        vec![Constraint::new("${meta.rack}", "distinct_property", "")],
        vec![],
    );
    let mut s = stack_for(&j);
    let p = Proposed {
        nodes: nodes.clone(),
        allocs: vec![alloc("z", "b", "other")],
    };
    assert!(s.check(0, &nodes["a"], &p).is_err());
    // missing property
    let n = node("d");
    assert_eq!(
        s.check(0, &n, &p).unwrap_err().as_str(),
        "missing property \"${meta.rack}\""
    );
    // bad RTarget
    let j = job(
        vec![Constraint::new("${meta.rack}", "distinct_property", "x")],
        vec![],
    );
    let mut s = stack_for(&j);
    assert!(
        s.check(0, &nodes["c"], &p)
            .unwrap_err()
            .as_str()
            .starts_with("failed to convert RTarget")
    );
}

#[test]
fn check_order_of_reasons() {
    let mut j = job(
        vec![],
        vec![Constraint::new("${attr.kernel.name}", "=", "linux")],
    );
    j.task_groups[0].tasks[0].driver = "docker".into();
    let mut s = stack_for(&j);
    let p = Proposed::default();
    assert_eq!(
        s.check(0, &node("a"), &p).unwrap_err().as_str(),
        "missing drivers"
    );
    assert!(s.check(7, &node("a"), &p).is_err());
    assert_eq!(s.group_index("g"), Some(0));
}
