//! orch's `autoscaler { cluster "<name>" { ... } }` blocks: cluster-scaling policies the
//! leader runs (`server::autoscaler::cluster`), checked by field.
//!
//! ```hcl
//! autoscaler {
//!   cluster "batch-farm" {
//!     node_pool = "default"     # default: "default"
//!     node_class = ""           # only nodes of this class (default: every class)
//!     min = 1
//!     max = 10                  # required
//!     cooldown = "5m"           # default 5m
//!     interval = "10s"          # default 10s
//!     dry_run = false
//!     scale_out = "/opt/cloud/add-nodes"     # run with the number of nodes to add
//!     scale_in  = "/opt/cloud/remove-nodes"  # run with the IDs of the drained nodes
//!   }
//! }
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::server::autoscaler::cluster::ClusterHook;

/// Most cluster-scaling policies an agent may hold.
pub const MAX_CLUSTER_POLICIES: usize = 32;

/// One `cluster "<name>"` block as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterBlock {
    /// Node pool scaled.
    pub node_pool: Option<String>,
    /// Node class counted and removed (empty: all).
    pub node_class: String,
    /// Fewest nodes.
    pub min: u64,
    /// Most nodes.
    pub max: Option<u64>,
    /// Go duration between actions.
    pub cooldown: Option<String>,
    /// Go duration between evaluations.
    pub interval: Option<String>,
    /// Log decisions without acting.
    pub dry_run: bool,
    /// Command for adding nodes.
    pub scale_out: String,
    /// Command for removing nodes.
    pub scale_in: String,
}

fn duration(name: &str, field: &str, v: &Option<String>, default: &str) -> Result<i64, String> {
    let text = v.as_deref().unwrap_or(default);
    match orch_core::duration::parse_go_duration(text) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "autoscaler.cluster {name:?}.{field}: {text:?} is not a positive Go duration such as \"30s\" or \"5m\""
        )),
    }
}

/// The blocks as the leader's hooks; every problem names its field.
pub fn hooks(
    blocks: &std::collections::BTreeMap<String, ClusterBlock>,
) -> Result<Vec<ClusterHook>, String> {
    if blocks.len() > MAX_CLUSTER_POLICIES {
        return Err(format!(
            "autoscaler.cluster: {} policies, at most {MAX_CLUSTER_POLICIES} are allowed",
            blocks.len()
        ));
    }
    let mut out = Vec::new();
    for (name, b) in blocks {
        let at = |f: &str| format!("autoscaler.cluster {name:?}.{f}");
        let Some(max) = b.max else {
            return Err(format!(
                "{}: required (the most nodes the pool may have)",
                at("max")
            ));
        };
        if max == 0 || b.min > max {
            return Err(format!(
                "{}: {max} must be at least 1 and at least min ({})",
                at("max"),
                b.min
            ));
        }
        for (field, cmd) in [("scale_out", &b.scale_out), ("scale_in", &b.scale_in)] {
            if cmd.trim().is_empty() {
                return Err(format!(
                    "{}: required (the command that {} nodes)",
                    at(field),
                    if field == "scale_out" {
                        "adds"
                    } else {
                        "removes"
                    }
                ));
            }
        }
        let cooldown = duration(name, "cooldown", &b.cooldown, "5m")?;
        let interval = duration(name, "interval", &b.interval, "10s")?;
        out.push(ClusterHook {
            policy: orch_core::autoscale::cluster::ClusterPolicy {
                name: name.clone(),
                node_pool: b.node_pool.clone().unwrap_or_else(|| "default".into()),
                node_class: b.node_class.clone(),
                min: b.min,
                max,
                cooldown,
            },
            interval: Duration::from_nanos(u64::try_from(interval).unwrap_or(u64::MAX)),
            dry_run: b.dry_run,
            scale_out: b.scale_out.clone(),
            scale_in: b.scale_in.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_hooks_and_bad_fields_are_named() {
        let ok = ClusterBlock {
            max: Some(3),
            scale_out: "/bin/true".into(),
            scale_in: "/bin/true".into(),
            ..ClusterBlock::default()
        };
        let hooks = hooks(&[("farm".to_string(), ok.clone())].into()).unwrap();
        assert_eq!(hooks[0].policy.node_pool, "default");
        assert_eq!(hooks[0].policy.cooldown, 300 * 1_000_000_000);
        assert_eq!(hooks[0].interval, Duration::from_secs(10));
        for (bad, want) in [
            (
                ClusterBlock {
                    max: None,
                    ..ok.clone()
                },
                "\"farm\".max: required",
            ),
            (
                ClusterBlock {
                    min: 5,
                    ..ok.clone()
                },
                "\"farm\".max: 3 must be",
            ),
            (
                ClusterBlock {
                    scale_in: " ".into(),
                    ..ok.clone()
                },
                "\"farm\".scale_in: required",
            ),
            (
                ClusterBlock {
                    cooldown: Some("10".into()),
                    ..ok.clone()
                },
                "\"farm\".cooldown: \"10\" is not",
            ),
        ] {
            let e = super::hooks(&[("farm".to_string(), bad)].into()).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
