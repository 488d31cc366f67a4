//! Placement rules a job attaches to itself, its groups, tasks and devices: hard
//! constraints, soft affinities and spread targets, in Nomad's JSON shape.

use serde::{Deserialize, Serialize};

/// A hard placement rule: `LTarget Operand RTarget`, e.g. `${attr.kernel.name} = linux`.
///
/// Targets stay as written (`${node.class}`); the scheduler resolves them per node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Constraint {
    /// Left side, usually an interpolated node property.
    #[serde(rename = "LTarget")]
    pub ltarget: String,
    /// Right side, a literal or another interpolation.
    #[serde(rename = "RTarget")]
    pub rtarget: String,
    /// One of Nomad's operators (`=`, `!=`, `<`, `version`, `regexp`, `distinct_hosts`, ...).
    #[serde(rename = "Operand")]
    pub operand: String,
}

impl Constraint {
    /// Builds a constraint; the common case in code and tests.
    pub fn new(
        ltarget: impl Into<String>,
        operand: impl Into<String>,
        rtarget: impl Into<String>,
    ) -> Self {
        Constraint {
            ltarget: ltarget.into(),
            rtarget: rtarget.into(),
            operand: operand.into(),
        }
    }
}

/// Every operator Nomad accepts in a constraint, so validation can name the bad one.
pub const CONSTRAINT_OPERANDS: &[&str] = &[
    "=",
    "==",
    "is",
    "!=",
    "not",
    "<",
    "<=",
    ">",
    ">=",
    "version",
    "semver",
    "regexp",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "is_set",
    "is_not_set",
    "distinct_hosts",
    "distinct_property",
];

/// A soft placement preference; `Weight` in -100..=100, negative means avoid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Affinity {
    /// Left side, usually an interpolated node property.
    #[serde(rename = "LTarget")]
    pub ltarget: String,
    /// Right side.
    #[serde(rename = "RTarget")]
    pub rtarget: String,
    /// Operator, as for constraints (no `distinct_*`).
    #[serde(rename = "Operand")]
    pub operand: String,
    /// Strength of the preference; Nomad defaults it to 50.
    #[serde(rename = "Weight")]
    pub weight: i8,
}

impl Default for Affinity {
    fn default() -> Self {
        Affinity {
            ltarget: String::new(),
            rtarget: String::new(),
            operand: "=".into(),
            weight: 50,
        }
    }
}

/// Spread allocations across the values of a node attribute, optionally with target shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Spread {
    /// The node property to spread over, e.g. `${node.datacenter}`.
    #[serde(rename = "Attribute")]
    pub attribute: String,
    /// Relative weight against other spreads and affinities, 0..=100 (default 50).
    #[serde(rename = "Weight")]
    pub weight: i8,
    /// Desired shares per value; absent values share what is left evenly.
    #[serde(rename = "SpreadTarget")]
    pub targets: Vec<SpreadTarget>,
}

impl Default for Spread {
    fn default() -> Self {
        Spread {
            attribute: String::new(),
            weight: 50,
            targets: Vec::new(),
        }
    }
}

/// One value of a spread attribute and the percentage of allocations it should get.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SpreadTarget {
    /// The attribute value, e.g. `dc1`.
    #[serde(rename = "Value")]
    pub value: String,
    /// Share of the group's allocations, 0..=100.
    #[serde(rename = "Percent")]
    pub percent: u8,
}
