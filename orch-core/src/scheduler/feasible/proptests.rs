use proptest::prelude::*;
use regex::Regex;

use super::tests::{Proposed, job, node};
use super::*;
use crate::model::*;
use crate::state::compute_class;

// go-version's expressions, verbatim, as the oracle for the hand-written parser.
const VERSION_RE: &str = r"^v?([0-9]+(\.[0-9]+)*?)(-([0-9]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)|(-?([A-Za-z\-~]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)))?(\+([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))??$";
const SEMVER_RE: &str = r"^v?([0-9]+(\.[0-9]+)*?)(-([0-9]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)|(-([A-Za-z\-~]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)))?(\+([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))??$";

fn oracle(re: &Regex, s: &str) -> Option<(Vec<i64>, String, String)> {
    let m = re.captures(s)?;
    let mut segs = m[1]
        .split('.')
        .map(|p| p.parse::<i64>().ok())
        .collect::<Option<Vec<_>>>()?;
    while segs.len() < 3 {
        segs.push(0);
    }
    let pre = m
        .get(7)
        .filter(|p| !p.as_str().is_empty())
        .or(m.get(4))
        .map_or("", |p| p.as_str());
    let meta = m.get(10).map_or("", |p| p.as_str());
    Some((segs, pre.to_string(), meta.to_string()))
}

proptest! {
    #[test]
    fn version_parser_matches_go_version_regex(s in "[v0-9.\\-+~ab]{0,12}") {
        for (re, strict) in [(VERSION_RE, version::Strictness::Lenient), (SEMVER_RE, version::Strictness::Semver)] {
            let re = Regex::new(re).unwrap();
            let ours = Version::parse_with(&s, strict).map(|v| (v.segments, v.pre, v.metadata));
            prop_assert_eq!(ours, oracle(&re, &s), "input {:?} strict {:?}", s, strict);
        }
    }
}

const TARGETS: &[&str] = &[
    "${attr.kernel.name}",
    "${attr.cpu.cores}",
    "${attr.os.version}",
    "${attr.tags}",
    "${attr.unique.hostname}",
    "${meta.rack}",
    "${node.class}",
    "${node.datacenter}",
    "${node.unique.name}",
    "${node.pool}",
];
const OPS: &[&str] = &[
    "=",
    "!=",
    "<",
    ">=",
    "is_set",
    "is_not_set",
    "regexp",
    "set_contains",
    "set_contains_any",
    "version",
    "semver",
];
const VALUES: &[&str] = &[
    "linux", "windows", "4", "16", "1.2.3", ">= 1.2", "~> 1.2", "< 2.0.0", "a,b", "b", "^l", "r1",
    "dc1", "name-n3", "h2", "",
];

fn naive_constraint(c: &Constraint, n: &Node) -> bool {
    let l = resolve_target(&c.ltarget, n);
    let r = resolve_target(&c.rtarget, n);
    let both = l.as_deref().zip(r.as_deref());
    match c.operand.as_str() {
        "=" => l.is_some() && l == r,
        "!=" => l.unwrap_or_default() != r.unwrap_or_default(),
        "is_set" => l.is_some(),
        "is_not_set" => l.is_none(),
        "<" | ">=" => both.is_some_and(|(a, b)| {
            let lt = match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => x < y,
                _ => a < b,
            };
            if c.operand == "<" { lt } else { !lt }
        }),
        "regexp" => both.is_some_and(|(a, b)| Regex::new(b).is_ok_and(|re| re.is_match(a))),
        "set_contains" => both.is_some_and(|(a, b)| {
            let have: Vec<&str> = a.split(',').map(str::trim).collect();
            b.split(',').map(str::trim).all(|w| have.contains(&w))
        }),
        "set_contains_any" => both.is_some_and(|(a, b)| {
            let have: Vec<&str> = a.split(',').map(str::trim).collect();
            b.split(',').map(str::trim).any(|w| have.contains(&w))
        }),
        "version" => both.is_some_and(|(a, b)| {
            Version::parse(a)
                .zip(VersionConstraints::parse_version(b))
                .is_some_and(|(v, c)| c.check(&v))
        }),
        "semver" => both.is_some_and(|(a, b)| {
            Version::parse(a)
                .zip(VersionConstraints::parse_semver(b))
                .is_some_and(|(v, c)| c.check(&v))
        }),
        _ => false,
    }
}

fn naive(j: &Job, n: &Node) -> bool {
    let g = &j.task_groups[0];
    let driver_ok = g.tasks.iter().all(|t| {
        n.drivers.get(&t.driver).map_or_else(
            || {
                n.attributes
                    .get(&format!("driver.{}", t.driver))
                    .is_some_and(|v| v == "1" || v == "true")
            },
            |d| d.detected && d.healthy,
        )
    });
    driver_ok
        && j.constraints.iter().all(|c| naive_constraint(c, n))
        && g.constraints.iter().all(|c| naive_constraint(c, n))
}

fn arb_constraint() -> impl Strategy<Value = Constraint> {
    (0..TARGETS.len(), 0..OPS.len(), 0..VALUES.len())
        .prop_map(|(t, o, v)| Constraint::new(TARGETS[t], OPS[o], VALUES[v]))
}

fn arb_template() -> impl Strategy<Value = Node> {
    (
        0..3usize,
        0..4usize,
        0..3usize,
        0..3usize,
        any::<bool>(),
        0..2usize,
    )
        .prop_map(|(k, cores, ver, tags, exec, rack)| {
            let mut n = node("t");
            n.attributes.insert(
                "kernel.name".into(),
                ["linux", "windows", "darwin"][k].into(),
            );
            n.attributes
                .insert("cpu.cores".into(), ["2", "4", "16", "x"][cores].into());
            n.attributes.insert(
                "os.version".into(),
                ["1.2.3", "2.0.0-beta", "1.10"][ver].into(),
            );
            n.attributes
                .insert("tags".into(), ["a,b", "b, c", "d"][tags].into());
            n.attributes
                .insert("driver.exec".into(), if exec { "1" } else { "0" }.into());
            if rack == 1 {
                n.meta.insert("rack".into(), "r1".into());
            }
            n
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn stack_agrees_with_naive_and_caching_is_invisible(
        templates in prop::collection::vec(arb_template(), 1..4),
        picks in prop::collection::vec((0..4usize, 0..4usize), 1..16),
        job_cs in prop::collection::vec(arb_constraint(), 0..3),
        group_cs in prop::collection::vec(arb_constraint(), 0..3),
    ) {
        let j = job(job_cs, group_cs);
        let mut cached = FeasibilityStack::new(&j);
        let p = Proposed::default();
        for (i, (t, h)) in picks.iter().enumerate() {
            let mut n = templates[t % templates.len()].clone();
            n.id = format!("n{i}");
            n.name = format!("name-n{i}");
            n.attributes.insert("unique.hostname".into(), format!("h{h}"));
            n.computed_class = compute_class(&n);
            let want = naive(&j, &n);
            let fresh = FeasibilityStack::new(&j).check(0, &n, &p).is_ok();
            let with_cache = cached.check(0, &n, &p).is_ok();
            prop_assert_eq!(fresh, want, "node {:?}", n.attributes);
            prop_assert_eq!(with_cache, want, "cached, node {:?}", n.attributes);
        }
    }
}
