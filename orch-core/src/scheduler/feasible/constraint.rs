//! Node constraints compiled once per evaluation: targets parsed into [`Target`],
//! regexes and version constraints built up front, the reason string (Nomad's
//! `Constraint.String()`) formatted once. Evaluating against a node then only looks
//! values up and compares them.

use std::cmp::Ordering;
use std::sync::Arc;

use regex::Regex;

use super::attribute::parse_go_float;
use super::version::{Version, VersionConstraints};
use crate::model::{Constraint, Node};

/// A constraint side, parsed once so per-node resolution does no string work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Text without `${`: resolves to itself.
    Literal(String),
    /// `${node.unique.id}`.
    NodeId,
    /// `${node.unique.name}`.
    NodeName,
    /// `${node.datacenter}`.
    Datacenter,
    /// `${node.class}`.
    NodeClass,
    /// `${node.pool}`.
    NodePool,
    /// `${attr.<key>}`.
    Attr(String),
    /// `${meta.<key>}`.
    Meta(String),
    /// Any other interpolation (`${node.region}` included, which Nomad does not
    /// resolve in constraints): never found.
    Unknown,
}

impl Target {
    /// Parses a target the way Nomad's `resolveTarget` reads it: anything not starting
    /// with `${` is a literal; `${attr.` / `${meta.` take the rest minus one trailing `}`.
    pub fn parse(target: &str) -> Target {
        if !target.starts_with("${") {
            return Target::Literal(target.to_string());
        }
        match target {
            "${node.unique.id}" => Target::NodeId,
            "${node.datacenter}" => Target::Datacenter,
            "${node.unique.name}" => Target::NodeName,
            "${node.class}" => Target::NodeClass,
            "${node.pool}" => Target::NodePool,
            _ => {
                if let Some(rest) = target.strip_prefix("${attr.") {
                    Target::Attr(rest.strip_suffix('}').unwrap_or(rest).to_string())
                } else if let Some(rest) = target.strip_prefix("${meta.") {
                    Target::Meta(rest.strip_suffix('}').unwrap_or(rest).to_string())
                } else {
                    Target::Unknown
                }
            }
        }
    }

    /// The node's value for this target, or `None` when the node lacks it.
    pub fn resolve<'a>(&'a self, node: &'a Node) -> Option<&'a str> {
        match self {
            Target::Literal(s) => Some(s),
            Target::NodeId => Some(&node.id),
            Target::NodeName => Some(&node.name),
            Target::Datacenter => Some(&node.datacenter),
            Target::NodeClass => Some(&node.node_class),
            Target::NodePool => Some(&node.node_pool),
            Target::Attr(k) => node.attributes.get(k).map(String::as_str),
            Target::Meta(k) => node.meta.get(k).map(String::as_str),
            Target::Unknown => None,
        }
    }
}

/// Resolves a constraint target against a node (Nomad's `resolveTarget`). Parses the
/// target each call; hot paths use [`Target`] instead.
pub fn resolve_target(target: &str, node: &Node) -> Option<String> {
    Target::parse(target).resolve(node).map(str::to_string)
}

/// Whether a target defeats computed-class caching (Nomad's
/// `constraintTargetEscapes`): unique node properties differ between nodes of one class.
pub fn target_escapes(target: &str) -> bool {
    target.starts_with("${node.unique.")
        || target.starts_with("${attr.unique.")
        || target.starts_with("${meta.unique.")
}

/// Whether a constraint escapes computed-class caching.
pub fn constraint_escapes(c: &Constraint) -> bool {
    target_escapes(&c.ltarget) || target_escapes(&c.rtarget)
}

/// The operator, with whatever it needs precompiled.
#[derive(Debug, Clone)]
enum Op {
    Eq,
    Ne,
    Order(Ordering, bool),
    IsSet,
    IsNotSet,
    /// `version` / `semver`; `Fixed` when the right side is a literal, `Dynamic`
    /// (parsed per node) when it is interpolated.
    Version(VersionRhs, bool),
    Regexp(RegexRhs),
    SetAll,
    SetAny,
    /// distinct_hosts / distinct_property: handled by their own checkers.
    AlwaysTrue,
    /// Unknown operators never match.
    Never,
}

#[derive(Debug, Clone)]
enum VersionRhs {
    Fixed(Option<VersionConstraints>),
    Dynamic,
}

#[derive(Debug, Clone)]
enum RegexRhs {
    Fixed(Option<Regex>),
    Dynamic,
}

/// A constraint ready to evaluate against many nodes.
#[derive(Debug, Clone)]
pub struct CompiledConstraint {
    l: Target,
    r: Target,
    op: Op,
    reason: Arc<str>,
    escapes: bool,
}

impl CompiledConstraint {
    /// Compiles `c`; invalid regexes or version constraints compile to "never matches"
    /// (Nomad's behaviour: validation should have caught them at submit).
    pub fn new(c: &Constraint) -> Self {
        let l = Target::parse(&c.ltarget);
        let r = Target::parse(&c.rtarget);
        let op = match c.operand.as_str() {
            "=" | "==" | "is" => Op::Eq,
            "!=" | "not" => Op::Ne,
            "<" => Op::Order(Ordering::Less, false),
            "<=" => Op::Order(Ordering::Less, true),
            ">" => Op::Order(Ordering::Greater, false),
            ">=" => Op::Order(Ordering::Greater, true),
            "is_set" => Op::IsSet,
            "is_not_set" => Op::IsNotSet,
            "version" | "semver" => {
                let semver = c.operand == "semver";
                let rhs = match &r {
                    Target::Literal(s) => VersionRhs::Fixed(parse_vc(s, semver)),
                    _ => VersionRhs::Dynamic,
                };
                Op::Version(rhs, semver)
            }
            "regexp" => Op::Regexp(match &r {
                Target::Literal(s) => RegexRhs::Fixed(Regex::new(s).ok()),
                _ => RegexRhs::Dynamic,
            }),
            "set_contains" | "set_contains_all" => Op::SetAll,
            "set_contains_any" => Op::SetAny,
            "distinct_hosts" | "distinct_property" => Op::AlwaysTrue,
            _ => Op::Never,
        };
        CompiledConstraint {
            l,
            r,
            op,
            reason: format!("{} {} {}", c.ltarget, c.operand, c.rtarget).into(),
            escapes: constraint_escapes(c),
        }
    }

    /// Nomad's `Constraint.String()`, the key under which filtered nodes are counted.
    pub fn reason(&self) -> &Arc<str> {
        &self.reason
    }

    /// Whether this constraint reads unique node properties (no class caching).
    pub fn escapes(&self) -> bool {
        self.escapes
    }

    /// Whether `node` satisfies the constraint (Nomad's `checkConstraint`).
    pub fn matches(&self, node: &Node) -> bool {
        let l = self.l.resolve(node);
        let r = self.r.resolve(node);
        match &self.op {
            Op::AlwaysTrue => true,
            Op::Never => false,
            Op::Eq => l.is_some() && l == r,
            // Nomad compares the resolved values with missing ones as "".
            Op::Ne => l.unwrap_or("") != r.unwrap_or(""),
            Op::IsSet => l.is_some(),
            Op::IsNotSet => l.is_none(),
            _ => {
                let (Some(l), Some(r)) = (l, r) else {
                    return false;
                };
                match &self.op {
                    Op::Order(dir, or_equal) => {
                        let ord = check_order(l, r);
                        ord == Some(*dir) || (*or_equal && ord == Some(Ordering::Equal))
                    }
                    Op::Version(rhs, semver) => {
                        let Some(v) = Version::parse(l) else {
                            return false;
                        };
                        match rhs {
                            VersionRhs::Fixed(Some(c)) => c.check(&v),
                            VersionRhs::Fixed(None) => false,
                            VersionRhs::Dynamic => {
                                parse_vc(r, *semver).is_some_and(|c| c.check(&v))
                            }
                        }
                    }
                    Op::Regexp(RegexRhs::Fixed(re)) => re.as_ref().is_some_and(|re| re.is_match(l)),
                    Op::Regexp(RegexRhs::Dynamic) => Regex::new(r).is_ok_and(|re| re.is_match(l)),
                    Op::SetAll => set_contains_all(l, r),
                    Op::SetAny => set_contains_any(l, r),
                    _ => false,
                }
            }
        }
    }
}

fn parse_vc(s: &str, semver: bool) -> Option<VersionConstraints> {
    if semver {
        VersionConstraints::parse_semver(s)
    } else {
        VersionConstraints::parse_version(s)
    }
}

/// Nomad's `checkOrder`: as integers if both parse, else as floats if both parse,
/// else byte-wise. `None` only for NaN.
pub fn check_order(l: &str, r: &str) -> Option<Ordering> {
    if let (Ok(a), Ok(b)) = (l.parse::<i64>(), r.parse::<i64>()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (parse_go_float(l), parse_go_float(r)) {
        return a.partial_cmp(&b);
    }
    Some(l.cmp(r))
}

fn set_items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim)
}

/// Every comma-separated item of `r` appears in `l` (items trimmed).
pub fn set_contains_all(l: &str, r: &str) -> bool {
    set_items(r).all(|want| set_items(l).any(|have| have == want))
}

/// Some comma-separated item of `r` appears in `l` (items trimmed).
pub fn set_contains_any(l: &str, r: &str) -> bool {
    set_items(r).any(|want| set_items(l).any(|have| have == want))
}

/// `ryanuber/go-glob`, which Nomad uses to match datacenters: `*` matches any run of
/// characters, nothing else is special.
pub fn glob(pattern: &str, subject: &str) -> bool {
    if pattern.is_empty() {
        return subject.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    let stars = pattern.matches('*').count();
    if stars == 0 {
        return subject == pattern;
    }
    let leading = pattern.starts_with('*');
    let trailing = pattern.ends_with('*');
    let mut subj = subject;
    for (i, part) in pattern.split('*').enumerate() {
        if i == stars {
            return trailing || subj.ends_with(part);
        }
        match subj.find(part) {
            Some(idx) if i > 0 || leading || idx == 0 => subj = &subj[idx + part.len()..],
            _ => return false,
        }
    }
    trailing
}
