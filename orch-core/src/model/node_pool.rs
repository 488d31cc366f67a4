//! Node pools in Nomad's JSON shape (`NodePool` of `nomad/structs`): named sets of
//! client nodes that jobs target with `node_pool`. A node names its pool in its client
//! configuration; a job is placed only on nodes of its pool (`all` spans every node).
//!
//! Nomad keeps a pool's `SchedulerConfiguration` in its Enterprise tier; orch has it in
//! the open build: a pool may override the cluster's scheduler algorithm and memory
//! oversubscription for the jobs placed in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::SchedulerAlgorithm;
use super::namespace::{MAX_DESCRIPTION_LEN, MAX_META_ENTRIES, MAX_META_LEN};

/// The pool of every node, built in: jobs in it may run anywhere. Nodes cannot join it.
pub const NODE_POOL_ALL: &str = "all";
/// The pool of nodes and jobs that name none, built in.
pub const NODE_POOL_DEFAULT: &str = "default";
/// Longest pool name (Nomad's `^[a-zA-Z0-9-_]{1,128}$`).
pub const MAX_NODE_POOL_NAME_LEN: usize = 128;
/// Most node pools a cluster holds (bounds every per-pool scan; nodes registering with
/// new pool names cannot grow the table without end).
pub const MAX_NODE_POOLS: usize = 1024;

/// A node pool (Nomad's `NodePool`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodePool {
    /// Unique name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Free text for operators.
    #[serde(rename = "Description")]
    pub description: String,
    /// Operator metadata (not used by the scheduler).
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// Scheduler settings for jobs in this pool; `None`: the cluster's.
    #[serde(rename = "SchedulerConfiguration")]
    pub scheduler_configuration: Option<NodePoolSchedulerConfiguration>,
    /// Raft index that created it.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    /// Raft index of its last change.
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// Nomad's `NodePoolSchedulerConfiguration`: what a pool overrides of the cluster's
/// scheduler configuration. Absent fields keep the cluster's value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodePoolSchedulerConfiguration {
    /// `binpack`, `spread`, or `""` for the cluster's algorithm (Nomad's wire form, kept
    /// as text so it round-trips unchanged; [`Self::algorithm`] reads it).
    #[serde(rename = "SchedulerAlgorithm")]
    pub scheduler_algorithm: String,
    /// Whether tasks' `memory_max` is honoured; `None`: the cluster's setting.
    #[serde(rename = "MemoryOversubscriptionEnabled")]
    pub memory_oversubscription_enabled: Option<bool>,
}

impl NodePoolSchedulerConfiguration {
    /// The algorithm this pool imposes; `None`: the cluster's.
    pub fn algorithm(&self) -> Option<SchedulerAlgorithm> {
        match self.scheduler_algorithm.as_str() {
            "" => None,
            other => SchedulerAlgorithm::parse(other),
        }
    }
}

/// Whether `name` is one of the two pools every cluster has.
pub fn is_built_in_pool(name: &str) -> bool {
    name == NODE_POOL_ALL || name == NODE_POOL_DEFAULT
}

/// Nomad's pool name rule, with its words.
pub fn validate_pool_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if name.is_empty() || name.len() > MAX_NODE_POOL_NAME_LEN || !ok_chars {
        return Err(format!(
            "invalid name {name:?}, must match regex ^[a-zA-Z0-9-_]{{1,{MAX_NODE_POOL_NAME_LEN}}}$"
        ));
    }
    Ok(())
}

impl NodePool {
    /// The built-in pools as a fresh cluster has them (Nomad's descriptions).
    pub fn built_ins() -> [NodePool; 2] {
        [
            NodePool {
                name: NODE_POOL_ALL.into(),
                description: "Node pool with all nodes in the cluster.".into(),
                ..NodePool::default()
            },
            NodePool {
                name: NODE_POOL_DEFAULT.into(),
                description: "Default node pool.".into(),
                ..NodePool::default()
            },
        ]
    }

    /// A pool created because a node registered into it (Nomad does the same).
    pub fn created_by_node(name: &str) -> NodePool {
        NodePool {
            name: name.into(),
            ..NodePool::default()
        }
    }

    /// Every rule a pool must keep on its own; all problems at once, each naming its
    /// field.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if let Err(e) = validate_pool_name(&self.name) {
            errs.push(format!("Name: {e}"));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            errs.push(format!(
                "Description: must be {MAX_DESCRIPTION_LEN} characters or less, it is {}",
                self.description.len()
            ));
        }
        if let Some(sc) = &self.scheduler_configuration
            && !matches!(sc.scheduler_algorithm.as_str(), "" | "binpack" | "spread")
        {
            errs.push(format!(
                "SchedulerConfiguration.SchedulerAlgorithm: invalid algorithm {:?}; use binpack, spread or \"\" (the cluster's)",
                sc.scheduler_algorithm
            ));
        }
        if self.meta.len() > MAX_META_ENTRIES {
            errs.push(format!(
                "Meta: {} entries, at most {MAX_META_ENTRIES} are allowed",
                self.meta.len()
            ));
        }
        for (k, v) in &self.meta {
            if k.is_empty() || k.len() > MAX_META_LEN || v.len() > MAX_META_LEN {
                errs.push(format!(
                    "Meta[{k:?}]: keys must be 1 to {MAX_META_LEN} bytes and values at most {MAX_META_LEN}"
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_nomads_rule() {
        assert!(validate_pool_name("prod-eng_1").is_ok());
        for bad in ["", "a b", "x.y", &"a".repeat(129)] {
            let e = validate_pool_name(bad).unwrap_err();
            assert!(e.contains("must match regex"), "{e}");
        }
    }

    #[test]
    fn an_empty_algorithm_means_the_clusters_and_round_trips() {
        let p: NodePool = serde_json::from_str(
            r#"{"Name":"a","SchedulerConfiguration":{"SchedulerAlgorithm":""}}"#,
        )
        .unwrap();
        assert_eq!(p.scheduler_configuration.unwrap().algorithm(), None);
        let p: NodePool = serde_json::from_str(
            r#"{"Name":"a","SchedulerConfiguration":{"SchedulerAlgorithm":"spread","MemoryOversubscriptionEnabled":true}}"#,
        )
        .unwrap();
        let sc = p.scheduler_configuration.clone().unwrap();
        assert_eq!(sc.algorithm(), Some(SchedulerAlgorithm::Spread));
        assert_eq!(sc.memory_oversubscription_enabled, Some(true));
        let back: NodePool = postcard::from_bytes(&postcard::to_allocvec(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let mut bad = p.clone();
        bad.scheduler_configuration
            .as_mut()
            .unwrap()
            .scheduler_algorithm = "tight".into();
        let e = bad.validate().unwrap_err();
        assert!(
            e.contains("SchedulerConfiguration.SchedulerAlgorithm"),
            "{e}"
        );
    }

    #[test]
    fn validation_names_each_field() {
        let p = NodePool {
            name: "bad name".into(),
            description: "d".repeat(300),
            ..NodePool::default()
        };
        let e = p.validate().unwrap_err();
        assert!(e.contains("Name:") && e.contains("Description:"), "{e}");
    }
}
