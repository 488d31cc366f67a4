//! [`ApplyPlanNormalized`]: a plan result as the Raft log stores it, normalized as Nomad
//! normalizes plan results, so a placement costs a few dozen bytes of log instead of a
//! whole allocation.
//!
//! Why: the allocations of one plan are nearly all of one job and group, placed by one
//! evaluation at one time; they differ in their ID, their name's index, their node and
//! their placement metrics only. Written whole, a c1m placement is about 280 bytes of
//! postcard, fsynced on three servers, sent to two, decoded by all three: at a million
//! placements that is most of what the cluster does. Here a run of such allocations
//! keeps its first one whole and, for each other, the ID as 16 bytes, the name's index,
//! and indexes into the run's distinct nodes and metrics.
//!
//! Lossless by construction: an allocation joins a run only when putting the run's ID,
//! name, node and metrics fields into it makes it equal to the run's first allocation,
//! and IDs and names are compacted only when they print back byte for byte. Expanding
//! gives back the plan's allocations in their order, sharing the first one's strings
//! and resource maps (which the state would share on commit anyway).
//!
//! On the wire it is the new `Command::ApplyPlanNormalized`, the last variant, so every
//! log written before it still decodes; `Command::ApplyPlanResults` stays what plans
//! are computed and verified as.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ApplyPlanResults, Command, StateError};
use crate::model::{Allocation, AllocationMetric, Str};

/// A plan result with its placements normalized (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyPlanNormalized {
    /// The plan but for its placements (`allocs_to_upsert` is empty).
    pub plan: ApplyPlanResults,
    /// The placements, in the plan's order.
    pub runs: Vec<PlacementRun>,
}

/// Consecutive placements that differ only in ID, name, node and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacementRun {
    /// The run's first allocation, whole.
    pub first: Allocation,
    /// The distinct nodes (ID, name) of the others.
    pub nodes: Vec<(Str, Str)>,
    /// The distinct placement metrics of the others.
    pub metrics: Vec<Option<AllocationMetric>>,
    /// The others, in order.
    pub rest: Vec<Placement>,
}

/// One placement of a run after its first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The allocation's ID.
    pub id: CompactText,
    /// Its name: `Index(i)` for `{job}.{group}[i]` of the run's job and group.
    pub name: CompactName,
    /// Its node, an index into the run's `nodes`.
    pub node: u32,
    /// Its metrics, an index into the run's `metrics`.
    pub metrics: u32,
}

/// An ID: a canonical lowercase UUID as its 16 bytes, anything else as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompactText {
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase hex.
    Uuid([u8; 16]),
    /// Any other text.
    Text(String),
}

/// An allocation's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompactName {
    /// `{job}.{group}[i]` of the run's job and group, `i` printed in decimal.
    Index(u32),
    /// Any other name.
    Text(String),
}

/// Where a UUID's hyphens are.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl CompactText {
    /// `s` as 16 bytes when it prints back exactly so, else as text.
    pub fn new(s: &str) -> CompactText {
        uuid_bytes(s).map_or_else(|| CompactText::Text(s.to_string()), CompactText::Uuid)
    }

    /// The text.
    pub fn text(&self) -> String {
        match self {
            CompactText::Text(s) => s.clone(),
            CompactText::Uuid(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut out = String::with_capacity(36);
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        out.push('-');
                    }
                    out.push(HEX[usize::from(byte >> 4)] as char);
                    out.push(HEX[usize::from(byte & 0xf)] as char);
                }
                out
            }
        }
    }
}

/// The bytes of a canonical lowercase UUID.
fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || HYPHENS.iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut digits = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !HYPHENS.contains(i))
        .map(|(_, c)| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        });
    for byte in &mut out {
        let hi = digits.next()??;
        let lo = digits.next()??;
        *byte = hi << 4 | lo;
    }
    Some(out)
}

/// `{job}.{group}[`: what every default allocation name of `a`'s group starts with.
fn name_prefix(a: &Allocation) -> String {
    format!("{}.{}[", a.job_id, a.task_group)
}

impl CompactName {
    /// `name` as its index when it is `{prefix}{i}]` with `i` in canonical decimal.
    fn new(name: &str, prefix: &str) -> CompactName {
        let index = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(']'))
            .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
            .filter(|d| d.len() == 1 || !d.starts_with('0'))
            .and_then(|d| d.parse().ok());
        index.map_or_else(|| CompactName::Text(name.to_string()), CompactName::Index)
    }

    fn text(&self, prefix: &str) -> String {
        match self {
            CompactName::Index(i) => format!("{prefix}{i}]"),
            CompactName::Text(s) => s.clone(),
        }
    }
}

/// A run being built: its first allocation and look-ups of its distinct values.
struct RunBuilder {
    run: PlacementRun,
    prefix: String,
    nodes: HashMap<Str, u32>,
}

/// How many of a run's latest distinct metrics a placement's are compared with before
/// a new entry is added (bounds the encoding's work; duplicates cost only bytes).
const METRICS_LOOKBACK: usize = 32;

impl RunBuilder {
    fn new(first: Allocation) -> RunBuilder {
        RunBuilder {
            prefix: name_prefix(&first),
            run: PlacementRun {
                first,
                nodes: Vec::new(),
                metrics: Vec::new(),
                rest: Vec::new(),
            },
            nodes: HashMap::new(),
        }
    }

    /// Adds `a` to the run when it differs from the first only in the compacted
    /// fields; gives it back otherwise.
    fn push(&mut self, mut a: Allocation) -> Option<Allocation> {
        let first = &self.run.first;
        // Swap the first's values in, compare, and swap them back out.
        let id = std::mem::replace(&mut a.id, first.id.clone());
        let name = std::mem::replace(&mut a.name, first.name.clone());
        let node_id = std::mem::replace(&mut a.node_id, first.node_id.clone());
        let node_name = std::mem::replace(&mut a.node_name, first.node_name.clone());
        let metrics = std::mem::replace(&mut a.metrics, first.metrics.clone());
        if a != *first {
            (a.id, a.name, a.node_id, a.node_name, a.metrics) =
                (id, name, node_id, node_name, metrics);
            return Some(a);
        }
        let node = self.node_index(node_id, node_name);
        let metrics = self.metrics_index(metrics);
        self.run.rest.push(Placement {
            id: CompactText::new(&id),
            name: CompactName::new(&name, &self.prefix),
            node,
            metrics,
        });
        None
    }

    fn node_index(&mut self, id: Str, name: Str) -> u32 {
        if let Some(&i) = self.nodes.get(&id)
            && self.run.nodes[i as usize].1 == name
        {
            return i;
        }
        let i = self.run.nodes.len() as u32;
        self.nodes.insert(id.clone(), i);
        self.run.nodes.push((id, name));
        i
    }

    fn metrics_index(&mut self, m: Option<AllocationMetric>) -> u32 {
        let list = &mut self.run.metrics;
        let from = list.len().saturating_sub(METRICS_LOOKBACK);
        if let Some(i) = list[from..].iter().position(|x| *x == m) {
            return (from + i) as u32;
        }
        list.push(m);
        (list.len() - 1) as u32
    }
}

impl ApplyPlanNormalized {
    /// Normalizes `plan` (see the module doc).
    pub fn new(mut plan: ApplyPlanResults) -> ApplyPlanNormalized {
        let mut runs = Vec::new();
        let mut current: Option<RunBuilder> = None;
        for a in std::mem::take(&mut plan.allocs_to_upsert) {
            let rejected = match current.as_mut() {
                Some(run) => run.push(a),
                None => Some(a),
            };
            if let Some(a) = rejected {
                runs.extend(current.take().map(|r| r.run));
                current = Some(RunBuilder::new(a));
            }
        }
        runs.extend(current.map(|r| r.run));
        ApplyPlanNormalized { plan, runs }
    }

    /// The plan result it stands for, allocations in their order (any left in
    /// `plan.allocs_to_upsert` first).
    pub fn expand(self) -> Result<ApplyPlanResults, StateError> {
        let mut plan = self.plan;
        let total: usize = self.runs.iter().map(|r| 1 + r.rest.len()).sum();
        let mut allocs = Vec::with_capacity(total + plan.allocs_to_upsert.len());
        allocs.append(&mut plan.allocs_to_upsert);
        for run in self.runs {
            let prefix = name_prefix(&run.first);
            // A stand-in for the first, replaced by it once the others are built from it.
            let first_at = allocs.len();
            allocs.push(run.first.clone());
            for p in &run.rest {
                let bad = |what: &str, i: u32| {
                    StateError::Invalid(format!(
                        "normalized plan: placement {} names {what} {i} of a run that has fewer",
                        p.id.text()
                    ))
                };
                let (node_id, node_name) = run
                    .nodes
                    .get(p.node as usize)
                    .ok_or_else(|| bad("node", p.node))?;
                let metrics = run
                    .metrics
                    .get(p.metrics as usize)
                    .ok_or_else(|| bad("metrics", p.metrics))?;
                let mut a = run.first.clone();
                a.id = p.id.text();
                a.name = p.name.text(&prefix);
                a.node_id = node_id.clone();
                a.node_name = node_name.clone();
                a.metrics = metrics.clone();
                allocs.push(a);
            }
            allocs[first_at] = run.first;
        }
        plan.allocs_to_upsert = allocs;
        Ok(plan)
    }
}

impl Command {
    /// The command as the log should carry it: a plan result normalized
    /// ([`ApplyPlanNormalized`]), anything else as it is.
    pub fn normalized(self) -> Command {
        match self {
            Command::ApplyPlanResults(p) => {
                Command::ApplyPlanNormalized(ApplyPlanNormalized::new(p))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
