//! Namespaces and quota specifications in the store: their table, the commands that
//! change them (`NamespaceUpsert`/`Delete`, `QuotaUpsert`/`Delete`), the checks job
//! registration makes against them, and quota usage.
//!
//! Rules: `default` always exists (a fresh store and a restored snapshot without the
//! table both have it) and cannot be deleted; a namespace holding jobs cannot be
//! deleted; a namespace's `Quota` must name an existing quota; a quota named by a
//! namespace cannot be deleted. Usage is computed from the allocations on read (a scan
//! of the quota's namespaces), so no derived figure can drift from the allocations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::changes::{Changes, Outcome};
use super::{Response, StateError, StateStore, key};
use crate::model::namespace::{MAX_NAMESPACES, MAX_QUOTAS, limit_hash};
use crate::model::{
    DEFAULT_NAMESPACE, Job, Namespace, QuotaLimit, QuotaResources, QuotaSpec, QuotaUsage,
};

/// Table names for [`StateStore::index`].
pub mod ns_table {
    /// Namespaces.
    pub const NAMESPACES: &str = "namespaces";
    /// Quota specifications.
    pub const QUOTAS: &str = "quota_spec";
}

/// Create or replace namespaces (Nomad's `Namespace.UpsertNamespaces`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamespaceUpsert {
    /// The namespaces, complete (indexes are the store's).
    pub namespaces: Vec<Namespace>,
}

/// Delete namespaces by name (`Namespace.DeleteNamespaces`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NamespaceDelete {
    /// Names; every one must exist, hold no job and not be `default`.
    pub names: Vec<String>,
}

/// Create or replace quota specifications (`Quota.UpsertQuotaSpecs`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotaUpsert {
    /// The specifications, complete (limit hashes are computed by the store).
    pub quotas: Vec<QuotaSpec>,
}

/// Delete quota specifications by name (`Quota.DeleteQuotaSpecs`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotaDelete {
    /// Names; every one must exist and be attached to no namespace.
    pub names: Vec<String>,
}

/// The two tables, with `default` present from the start.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NamespaceTable {
    pub namespaces: BTreeMap<String, Namespace>,
    pub quotas: BTreeMap<String, QuotaSpec>,
}

impl Default for NamespaceTable {
    fn default() -> Self {
        let d = Namespace::default_namespace();
        NamespaceTable {
            namespaces: BTreeMap::from([(d.name.clone(), d)]),
            quotas: BTreeMap::new(),
        }
    }
}

/// The snapshot's namespace section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct NamespaceSection {
    pub namespaces: Vec<Namespace>,
    pub quotas: Vec<QuotaSpec>,
}

impl NamespaceTable {
    pub(super) fn section(&self) -> NamespaceSection {
        NamespaceSection {
            namespaces: self.namespaces.values().cloned().collect(),
            quotas: self.quotas.values().cloned().collect(),
        }
    }

    pub(super) fn from_section(s: NamespaceSection) -> Self {
        let mut t = NamespaceTable::default();
        t.namespaces
            .extend(s.namespaces.into_iter().map(|n| (n.name.clone(), n)));
        t.quotas
            .extend(s.quotas.into_iter().map(|q| (q.name.clone(), q)));
        t
    }
}

impl StateStore {
    /// A namespace by name.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.ns.namespaces.get(name)
    }

    /// All namespaces, by name.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.ns.namespaces.values()
    }

    /// A quota specification by name.
    pub fn quota(&self, name: &str) -> Option<&QuotaSpec> {
        self.ns.quotas.get(name)
    }

    /// All quota specifications, by name.
    pub fn quotas(&self) -> impl Iterator<Item = &QuotaSpec> {
        self.ns.quotas.values()
    }

    /// The quota limiting `namespace` in `region`, if any: the scheduler's and the plan
    /// verifier's one lookup (a namespace without quota costs one map probe).
    pub fn quota_limit_for(
        &self,
        namespace: &str,
        region: &str,
    ) -> Option<(&QuotaSpec, &QuotaLimit)> {
        let ns = self.ns.namespaces.get(namespace)?;
        if ns.quota.is_empty() {
            return None;
        }
        let spec = self.ns.quotas.get(&ns.quota)?;
        Some((spec, spec.limit_for(region)?))
    }

    /// Namespaces attached to `quota`, by name.
    pub fn namespaces_of_quota<'a>(&'a self, quota: &'a str) -> impl Iterator<Item = &'a str> {
        self.ns
            .namespaces
            .values()
            .filter(move |n| n.quota == quota)
            .map(|n| n.name.as_str())
    }

    /// The namespaces sharing a quota with any of `namespaces` (themselves included when
    /// they have one): whose quota-blocked evaluations a freed allocation may help.
    pub fn quota_peers<'a>(
        &self,
        namespaces: impl IntoIterator<Item = &'a str>,
    ) -> std::collections::BTreeSet<String> {
        let quotas: std::collections::BTreeSet<&str> = namespaces
            .into_iter()
            .filter_map(|n| self.ns.namespaces.get(n))
            .filter(|n| !n.quota.is_empty())
            .map(|n| n.quota.as_str())
            .collect();
        if quotas.is_empty() {
            return Default::default();
        }
        self.ns
            .namespaces
            .values()
            .filter(|n| quotas.contains(n.quota.as_str()))
            .map(|n| n.name.clone())
            .collect()
    }

    /// Jobs in a namespace (a range scan over the job keys).
    pub fn jobs_in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Job> {
        self.jobs
            .range(key(namespace, "")..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, j)| &**j)
    }

    /// What the non-terminal allocations of the namespaces attached to `quota` hold in
    /// `region` (allocations carry no region in orch: one region per cluster, so every
    /// allocation counts against the limit of the cluster's region).
    pub fn quota_used(&self, quota: &str) -> QuotaResources {
        let mut used = QuotaResources::default();
        for ns in self.namespaces_of_quota(quota) {
            let allocs = self
                .allocs_by_job
                .range(key(ns, "")..)
                .take_while(|((n, _), _)| n == ns)
                .flat_map(|(_, allocs)| allocs.values().map(|e| &e.alloc));
            for a in allocs {
                used.add(&a.quota_usage());
            }
        }
        used
    }

    /// What the live (non-terminal) allocations of `namespace` hold: the fair-share
    /// input of the queue (`broker::queue`). A scan of the namespace's allocations.
    pub fn namespace_used(&self, namespace: &str) -> crate::model::Usage {
        let mut used = crate::model::Usage::default();
        let allocs = self
            .allocs_by_job
            .range(key(namespace, "")..)
            .take_while(|((n, _), _)| n == namespace)
            .flat_map(|(_, allocs)| allocs.values().map(|e| &e.alloc));
        for a in allocs {
            used.add(&a.usage());
        }
        used
    }

    /// Nomad's `QuotaUsage` of one quota: its limits with the usage in `RegionLimit`,
    /// keyed by limit hash. Only the cluster's `region` has usage; other regions' limits
    /// are listed with zero use.
    pub fn quota_usage(&self, quota: &str, region: &str) -> Option<QuotaUsage> {
        let spec = self.ns.quotas.get(quota)?;
        let used = self.quota_used(quota);
        let by_hash = spec
            .limits
            .iter()
            .map(|l| {
                let mut u = l.clone();
                u.region_limit = if l.region == region {
                    used
                } else {
                    QuotaResources::default()
                };
                (l.hash.clone(), u)
            })
            .collect();
        Some(QuotaUsage {
            name: spec.name.clone(),
            used: by_hash,
            create_index: spec.create_index,
            modify_index: spec.modify_index,
        })
    }

    /// Refuses a job whose namespace does not exist (Nomad's wording) or whose tasks use a
    /// driver the namespace's capabilities forbid. Called by every job-registering command.
    pub(super) fn check_job_namespace(&self, job: &Job) -> Result<(), StateError> {
        let Some(ns) = self.ns.namespaces.get(&job.namespace) else {
            return Err(StateError::Invalid(format!(
                "job {:?} is in nonexistent namespace {:?}; create it first (orch namespace apply {})",
                job.id, job.namespace, job.namespace
            )));
        };
        let Some(caps) = &ns.capabilities else {
            return Ok(());
        };
        for g in &job.task_groups {
            for t in &g.tasks {
                if !caps.allows(&t.driver) {
                    return Err(StateError::Invalid(format!(
                        "used task driver {:?} in task {:?} of group {:?} is not allowed in namespace {:?}; use a driver the namespace's Capabilities enable",
                        t.driver, t.name, g.name, ns.name
                    )));
                }
            }
        }
        Ok(())
    }

    pub(super) fn namespace_upsert(&self, c: NamespaceUpsert) -> Outcome {
        let mut ch = Changes::default();
        for (i, mut n) in c.namespaces.into_iter().enumerate() {
            n.validate()
                .map_err(|e| StateError::Invalid(format!("Namespaces[{i}]: {e}")))?;
            if !n.quota.is_empty() && !self.ns.quotas.contains_key(&n.quota) {
                return Err(StateError::Invalid(format!(
                    "Namespaces[{i}].Quota: quota {:?} does not exist; create it first (orch quota apply) or leave Quota empty",
                    n.quota
                )));
            }
            let known =
                self.ns.namespaces.contains_key(&n.name) || ch.namespaces.contains_key(&n.name);
            if !known && self.ns.namespaces.len() + ch.namespaces.len() >= MAX_NAMESPACES {
                return Err(StateError::Invalid(format!(
                    "Namespaces[{i}]: the cluster already has the maximum of {MAX_NAMESPACES} namespaces; delete unused ones first"
                )));
            }
            (n.create_index, n.modify_index) = (0, 0);
            ch.namespaces.insert(n.name.clone(), Some(n));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn namespace_delete(&self, c: NamespaceDelete) -> Outcome {
        let mut ch = Changes::default();
        for name in c.names {
            if name == DEFAULT_NAMESPACE {
                return Err(StateError::Invalid(
                    "the default namespace cannot be deleted".into(),
                ));
            }
            if !self.ns.namespaces.contains_key(&name) {
                return Err(StateError::Invalid(format!(
                    "namespace {name:?} does not exist; list namespaces with orch namespace list"
                )));
            }
            let jobs = self.jobs_in_namespace(&name).count();
            if jobs > 0 {
                return Err(StateError::Invalid(format!(
                    "namespace {name:?} has {jobs} jobs; stop and purge them (orch job stop -purge -namespace {name} <job>) before deleting it"
                )));
            }
            ch.namespaces.insert(name, None);
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn quota_upsert(&self, c: QuotaUpsert) -> Outcome {
        let mut ch = Changes::default();
        for (i, mut q) in c.quotas.into_iter().enumerate() {
            q.validate()
                .map_err(|e| StateError::Invalid(format!("Quotas[{i}]: {e}")))?;
            let known = self.ns.quotas.contains_key(&q.name) || ch.quotas.contains_key(&q.name);
            if !known && self.ns.quotas.len() + ch.quotas.len() >= MAX_QUOTAS {
                return Err(StateError::Invalid(format!(
                    "Quotas[{i}]: the cluster already has the maximum of {MAX_QUOTAS} quota specifications; delete unused ones first"
                )));
            }
            for l in &mut q.limits {
                l.hash = limit_hash(l);
            }
            (q.create_index, q.modify_index) = (0, 0);
            ch.quotas.insert(q.name.clone(), Some(q));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn quota_delete(&self, c: QuotaDelete) -> Outcome {
        let mut ch = Changes::default();
        for name in c.names {
            if !self.ns.quotas.contains_key(&name) {
                return Err(StateError::Invalid(format!(
                    "quota {name:?} does not exist; list quotas with orch quota list"
                )));
            }
            let users: Vec<&str> = self.namespaces_of_quota(&name).collect();
            if !users.is_empty() {
                return Err(StateError::Invalid(format!(
                    "quota {name:?} is attached to namespaces {}; detach it (orch namespace apply -quota \"\" <name>) before deleting it",
                    users.join(", ")
                )));
            }
            ch.quotas.insert(name, None);
        }
        Ok((ch, Response::default()))
    }

    /// Writes the namespace and quota changes of a change set; returns whether each table
    /// changed (for the table indexes) and the names stored (for events).
    pub(super) fn commit_namespace_tables(
        &mut self,
        index: u64,
        namespaces: BTreeMap<String, Option<Namespace>>,
        quotas: BTreeMap<String, Option<QuotaSpec>>,
    ) -> (bool, bool, Vec<String>) {
        let (ns_dirty, q_dirty) = (!namespaces.is_empty(), !quotas.is_empty());
        let mut stored = Vec::new();
        for (name, q) in quotas {
            let old = self.ns.quotas.remove(&name);
            if let Some(mut q) = q {
                q.create_index = old.map_or(index, |o| o.create_index);
                q.modify_index = index;
                self.ns.quotas.insert(name, q);
            }
        }
        for (name, n) in namespaces {
            let old = self.ns.namespaces.remove(&name);
            if let Some(mut n) = n {
                n.create_index = old.map_or(index, |o| o.create_index);
                n.modify_index = index;
                stored.push(name.clone());
                self.ns.namespaces.insert(name, n);
            }
        }
        (ns_dirty, q_dirty, stored)
    }
}

#[cfg(test)]
mod tests;
