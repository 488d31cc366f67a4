//! Version parsing, ordering and constraint matching with the semantics of
//! `hashicorp/go-version` (the `version` operator) and Nomad's own
//! `helper/constraints/semver` (the `semver` operator).
//!
//! Written by hand rather than taken from a crate: the `semver` crate implements
//! Cargo's rules (caret defaults, strict three-part versions, no `~>`), which disagree
//! with go-version on padding (`1.2` is `1.2.0`), four-part versions, `~>` and the
//! prerelease rules, and a user's job must place on exactly the nodes Nomad would
//! pick. The parser follows go-version's regular expressions character for character
//! (a differential test checks it against those expressions) without running a regex
//! per node.

use std::cmp::Ordering;

/// A parsed version: numeric segments (padded to at least three, as go-version does),
/// the prerelease and the build metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Numeric segments, padded with zeros to at least three.
    pub segments: Vec<i64>,
    /// How many segments were written (go-version's `si`); `~>` needs it.
    pub written: usize,
    /// Prerelease without the leading dash; empty when absent.
    pub pre: String,
    /// Build metadata after `+`; empty when absent.
    pub metadata: String,
}

/// Which of go-version's two grammars to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// `NewVersion`: a prerelease may follow the segments without a dash (`1.2beta`).
    Lenient,
    /// `NewSemver`: a prerelease needs its dash (`1.2.3-beta`).
    Semver,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'~'
}

/// `[0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*`: dot-separated, non-empty identifier parts.
fn dotted_idents(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(is_ident))
}

impl Version {
    /// Parses with go-version's lenient grammar (`NewVersion`); `None` when malformed.
    pub fn parse(s: &str) -> Option<Version> {
        Self::parse_with(s, Strictness::Lenient)
    }

    /// Parses with the given grammar; `None` when malformed.
    pub fn parse_with(s: &str, strictness: Strictness) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let bytes = s.as_bytes();
        // Segments: digits ('.' digits)*, as long as possible (nothing but another
        // segment may follow a '.', so the regex's lazy repetition ends up maximal).
        let mut end = 0;
        let mut segments = Vec::with_capacity(3);
        loop {
            let start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if start == end {
                return None;
            }
            segments.push(s[start..end].parse::<i64>().ok()?);
            if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
                end += 1;
            } else {
                break;
            }
        }
        let written = segments.len();
        while segments.len() < 3 {
            segments.push(0);
        }
        let rest = &s[end..];
        let (pre_part, metadata) = match rest.find('+') {
            Some(i) => {
                let meta = &rest[i + 1..];
                if !dotted_idents(meta) {
                    return None;
                }
                (&rest[..i], meta)
            }
            None => (rest, ""),
        };
        let pre = if pre_part.is_empty() {
            ""
        } else if let Some(after) = pre_part.strip_prefix('-').filter(|a| dotted_idents(a)) {
            after
        } else if strictness == Strictness::Lenient
            && pre_part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'~')
            && dotted_idents(pre_part)
        {
            pre_part
        } else {
            return None;
        };
        Some(Version {
            segments,
            written,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
        })
    }

    /// go-version's `Compare`: segments (jagged lengths compare as zero-padded),
    /// then prerelease (a release sorts after its prereleases); metadata is ignored.
    pub fn compare(&self, other: &Version) -> Ordering {
        if self.segments == other.segments {
            return match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prereleases(&self.pre, &other.pre),
            };
        }
        let (a, b) = (&self.segments, &other.segments);
        for i in 0..a.len().max(b.len()) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) => match x.cmp(y) {
                    Ordering::Equal => {}
                    o => return o,
                },
                (None, _) => {
                    return if b[i..].iter().all(|s| *s == 0) {
                        Ordering::Equal
                    } else {
                        Ordering::Less
                    };
                }
                (_, None) => {
                    return if a[i..].iter().all(|s| *s == 0) {
                        Ordering::Equal
                    } else {
                        Ordering::Greater
                    };
                }
            }
        }
        Ordering::Equal
    }
}

/// go-version's `comparePart`, quirks included (equal numbers written differently,
/// like `01` and `1`, order as "less").
fn compare_part(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let an = a.parse::<i64>().ok();
    let bn = b.parse::<i64>().ok();
    if a.is_empty() {
        return if bn.is_some() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    if b.is_empty() {
        return if an.is_some() {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    match (an, bn) {
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) if a > b => Ordering::Greater,
        (x, y) if x.unwrap_or(0) > y.unwrap_or(0) => Ordering::Greater,
        _ => Ordering::Less,
    }
}

fn compare_prereleases(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => match compare_part(x.unwrap_or(""), y.unwrap_or("")) {
                Ordering::Equal => {}
                o => return o,
            },
        }
    }
}

/// Go regexp's `\\s`: the whitespace go-version trims around constraints.
const GO_SPACE: [char; 5] = [' ', '\t', '\n', '\r', '\x0c'];

/// A constraint operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Pessimistic,
}

#[derive(Debug, Clone)]
struct Single {
    op: Op,
    check: Version,
}

/// A parsed, comma-separated list of version constraints (`>= 1.2, < 2.0`), all of
/// which must hold. Parsed once per evaluation, checked once per node.
#[derive(Debug, Clone)]
pub struct VersionConstraints {
    items: Vec<Single>,
    semver: bool,
}

impl VersionConstraints {
    /// Parses go-version constraint syntax (`version` operator); `None` when any
    /// part is malformed, which makes the constraint match nothing, as in Nomad.
    pub fn parse_version(s: &str) -> Option<Self> {
        Self::parse(s, false)
    }

    /// Parses Nomad's semver constraint syntax (`semver` operator): no `~>`, strict
    /// versions, and no prerelease special-casing.
    pub fn parse_semver(s: &str) -> Option<Self> {
        Self::parse(s, true)
    }

    fn parse(s: &str, semver: bool) -> Option<Self> {
        let items = s
            .split(',')
            .map(|single| {
                let t = single.trim_matches(GO_SPACE);
                let ops: &[(&str, Op)] = &[
                    ("~>", Op::Pessimistic),
                    (">=", Op::Ge),
                    ("<=", Op::Le),
                    ("!=", Op::Ne),
                    (">", Op::Gt),
                    ("<", Op::Lt),
                    ("=", Op::Eq),
                ];
                let (op, rest) = ops
                    .iter()
                    .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
                    .unwrap_or((Op::Eq, t));
                if semver && op == Op::Pessimistic {
                    return None;
                }
                let rest = rest.trim_start_matches(GO_SPACE);
                let strictness = if semver {
                    Strictness::Semver
                } else {
                    Strictness::Lenient
                };
                let check = Version::parse_with(rest, strictness)?;
                Some(Single { op, check })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(VersionConstraints { items, semver })
    }

    /// Whether `v` satisfies every constraint.
    pub fn check(&self, v: &Version) -> bool {
        self.items.iter().all(|c| {
            let ord = v.compare(&c.check);
            if self.semver {
                return match c.op {
                    Op::Eq => ord == Ordering::Equal,
                    Op::Ne => ord != Ordering::Equal,
                    Op::Gt => ord == Ordering::Greater,
                    Op::Lt => ord == Ordering::Less,
                    Op::Ge => ord != Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                    Op::Pessimistic => false,
                };
            }
            match c.op {
                Op::Eq => ord == Ordering::Equal,
                Op::Ne => ord != Ordering::Equal,
                Op::Gt => prerelease_ok(v, &c.check) && ord == Ordering::Greater,
                Op::Lt => prerelease_ok(v, &c.check) && ord == Ordering::Less,
                Op::Ge => prerelease_ok(v, &c.check) && ord != Ordering::Less,
                Op::Le => prerelease_ok(v, &c.check) && ord != Ordering::Greater,
                Op::Pessimistic => pessimistic(v, &c.check),
            }
        })
    }
}

/// go-version's `prereleaseCheck`: a prerelease version only satisfies ordering
/// constraints that name a prerelease of the same base version.
fn prerelease_ok(v: &Version, c: &Version) -> bool {
    match (v.pre.is_empty(), c.pre.is_empty()) {
        (false, false) => v.segments == c.segments,
        (false, true) => false,
        _ => true,
    }
}

/// go-version's `~>`: at least the constraint, same leading segments.
fn pessimistic(v: &Version, c: &Version) -> bool {
    if !prerelease_ok(v, c) || (!c.pre.is_empty() && v.pre.is_empty()) {
        return false;
    }
    if v.compare(c) == Ordering::Less {
        return false;
    }
    let cs = c.segments.len();
    if cs > v.segments.len() {
        return false;
    }
    for i in 0..c.written.saturating_sub(1) {
        if v.segments[i] != c.segments[i] {
            return false;
        }
    }
    c.segments[cs - 1] <= v.segments[cs - 1]
}
