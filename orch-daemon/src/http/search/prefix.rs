//! Prefix matches of one `/v1/search` context: the IDs (names, paths) that start with
//! the prefix, limited to what the caller may read in each context (Nomad's rule).

use orch_core::acl::{NsCap, VarCap};
use orch_core::autoscale::policy_id;
use orch_core::state::StateStore;

use super::super::QueryOpts;

/// The prefix contexts orch has objects for, in Nomad's spelling.
pub const CONTEXTS: [&str; 12] = [
    "jobs",
    "evals",
    "allocs",
    "nodes",
    "deployment",
    "node_pools",
    "plugins",
    "volumes",
    "namespaces",
    "quotas",
    "scaling_policy",
    "variables",
];

/// IDs in one context starting with `prefix`, at most `limit + 1` (to detect
/// truncation), in ID order.
pub fn matches(
    s: &StateStore,
    q: &QueryOpts,
    context: &str,
    prefix: &str,
    limit: usize,
) -> Vec<String> {
    let hit = |id: &str| id.starts_with(prefix);
    let found: Vec<String> = match context {
        "scaling_policy" => {
            let mut ids = scaling_policy_ids(s, q);
            ids.sort();
            ids.retain(|id| hit(id));
            ids
        }
        "variables" => s
            .variables()
            .filter(|v| namespace_matches(q, &v.namespace))
            .filter(|v| q.authz.allows_variable(&v.namespace, &v.path, VarCap::List))
            .filter(|v| hit(&v.path))
            .map(|v| v.path.clone())
            .collect(),
        "plugins" if q.authz.plugin_read() => {
            // Plugins are derived (a map built on read), so they are matched here.
            s.csi_plugins().into_keys().filter(|id| hit(id)).collect()
        }
        _ => namespaced_ids(s, q, context)
            .filter(|(ns, id)| ns.is_none_or(|ns| q.sees(ns)) && hit(id))
            .map(|(_, id)| id.to_string())
            .collect(),
    };
    found.into_iter().take(limit + 1).collect()
}

/// The query names this namespace (or `*`): contexts that check their own capability
/// instead of the route's list capability.
fn namespace_matches(q: &QueryOpts, namespace: &str) -> bool {
    q.namespace == "*" || q.namespace == namespace
}

/// Every object of a context as (namespace, ID); objects without a namespace (nodes,
/// pools, namespaces, quotas) give `None` and are filtered by their own rule here.
fn namespaced_ids<'a>(
    s: &'a StateStore,
    q: &'a QueryOpts,
    context: &str,
) -> Box<dyn Iterator<Item = (Option<&'a str>, &'a str)> + 'a> {
    match context {
        "jobs" => Box::new(
            s.jobs()
                .map(|j| (Some(j.namespace.as_str()), j.id.as_str())),
        ),
        "evals" => Box::new(
            s.evals()
                .map(|e| (Some(e.namespace.as_str()), e.id.as_str())),
        ),
        "allocs" => Box::new(
            s.allocs()
                .map(|a| (Some(a.namespace.as_str()), a.id.as_str())),
        ),
        "nodes" if q.authz.node_read() => Box::new(s.nodes().map(|n| (None, n.id.as_str()))),
        "deployment" => Box::new(
            s.deployments()
                .map(|d| (Some(d.namespace.as_str()), d.id.as_str())),
        ),
        "node_pools" => Box::new(
            s.node_pools()
                .filter(|p| q.authz.node_pool_level(&p.name).allows_read())
                .map(|p| (None, p.name.as_str())),
        ),
        "volumes" => Box::new(
            s.csi_volumes()
                .map(|v| (Some(v.namespace.as_str()), v.id.as_str())),
        ),
        "namespaces" => Box::new(
            s.namespaces()
                .filter(|n| q.authz.allows_any(&n.name))
                .map(|n| (None, n.name.as_str())),
        ),
        "quotas" if q.authz.quota_read() => {
            Box::new(s.quotas().map(|quota| (None, quota.name.as_str())))
        }
        _ => Box::new(std::iter::empty()),
    }
}

/// The IDs of the group scaling policies the caller may list (`list-scaling-policies`
/// or `read-job` in the job's namespace), as `/v1/scaling/policies` shows them.
pub fn scaling_policy_ids(s: &StateStore, q: &QueryOpts) -> Vec<String> {
    let may_list = |ns: &str| {
        namespace_matches(q, ns)
            && (q.authz.allows(ns, NsCap::ListScalingPolicies)
                || q.authz.allows(ns, NsCap::ReadJob))
    };
    s.jobs()
        .filter(|j| !j.is_template() && may_list(&j.namespace))
        .flat_map(|j| {
            j.task_groups
                .iter()
                .filter(|g| g.scaling.is_some())
                .map(|g| policy_id(&j.namespace, &j.id, &g.name))
        })
        .collect()
}
