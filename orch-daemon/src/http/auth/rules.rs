//! Which right each `/v1` route needs, as Nomad's endpoints check them.
//!
//! One table for the whole API, so a route cannot be added without a rule: a route
//! missing here needs a management token (fails closed). Where the namespace is not in
//! the request (an object named by ID, a job in the body) the route's rule is
//! [`Rule::Handler`] and the handler checks the object's namespace itself.

use axum::http::Method;
use orch_core::acl::{Level, NsCap};

use super::{Authz, permission_denied};
use crate::http::ApiError;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Nothing: status, regions, health, metrics, the bootstrap, the web UI's files.
    Public,
    /// One of these capabilities in the request's namespace (`?namespace=`, `default`
    /// when absent). For `namespace=*`: in some namespace, and lists show only the
    /// namespaces where the first one is granted.
    Namespace(&'static [NsCap]),
    /// A valid token (or anonymous); the handler checks the rest.
    Handler,
    /// `node` rule at this level.
    Node(Level),
    /// `agent` rule at this level.
    Agent(Level),
    /// `operator` rule at this level.
    Operator(Level),
    /// `quota` rule at this level.
    Quota(Level),
    /// `plugin` rule at this level.
    Plugin(Level),
    /// A management token.
    Management,
    /// The secret of the node in the path (`/v1/internal/node/{id}/...`).
    NodeSecret,
    /// `/v1/node/{id}/allocations`: that node's secret, or `node` read.
    NodeAllocs,
    /// Service registrations: `read-job` in the namespace, or a workload identity of
    /// it (Nomad's implicit workload policy); lists show only those namespaces.
    Services,
}

use NsCap::*;
use Rule::*;

const READ_JOB: Rule = Namespace(&[ReadJob]);
const SUBMIT_JOB: Rule = Namespace(&[SubmitJob]);

/// The rule of the route `path` (axum's matched path, `/v1/job/{id}`) for `method`.
pub fn rule_for(method: &Method, path: &str) -> Rule {
    let get = method == Method::GET || method == Method::HEAD;
    if let Some(rule) = cluster_rule(get, path) {
        return rule;
    }
    match path {
        "/v1/status/leader" | "/v1/status/peers" | "/v1/regions" | "/v1/agent/health"
        | "/v1/metrics" | "/v1/acl/bootstrap" => Public,
        // The web UI's files hold no data; its API calls carry the user's token.
        "/" | "/ui" | "/ui/" | "/ui/assets/{file}" | "/ui/{*path}" => Public,
        "/v1/internal/node/register"
        | "/v1/internal/node/{id}/heartbeat"
        | "/v1/internal/node/{id}/allocs"
        | "/v1/internal/node/{id}/services"
        | "/v1/internal/node/{id}/service/{name}"
        | "/v1/internal/node/{id}/csi/plugins"
        | "/v1/internal/node/{id}/csi/volume"
        | "/v1/internal/node/{id}/csi/controller"
        | "/v1/internal/node/{id}/csi/authorize"
        | "/v1/internal/node/{id}/previous/{alloc}"
        | "/v1/internal/node/{id}/alloc/{alloc}/identities" => NodeSecret,
        // The keyring's public keys, for anyone verifying a workload identity.
        "/.well-known/jwks.json" => Public,
        "/v1/jobs" if get => Namespace(&[ListJobs, ReadJob]),
        "/v1/jobs/statuses" => Namespace(&[ReadJob]),
        "/v1/jobs" | "/v1/jobs/parse" | "/v1/validate/job" => Handler,
        "/v1/job/{id}" if get => READ_JOB,
        "/v1/job/{id}" if method == Method::DELETE => SUBMIT_JOB,
        "/v1/job/{id}" | "/v1/job/{id}/plan" => Handler,
        "/v1/job/{id}/allocations"
        | "/v1/job/{id}/services"
        | "/v1/job/{id}/evaluations"
        | "/v1/job/{id}/deployments"
        | "/v1/job/{id}/deployment"
        | "/v1/job/{id}/versions"
        | "/v1/job/{id}/submission"
        | "/v1/job/{id}/summary" => READ_JOB,
        "/v1/job/{id}/scale" if get => Namespace(&[ReadJobScaling, ReadJob]),
        "/v1/job/{id}/scale" => Namespace(&[ScaleJob, SubmitJob]),
        "/v1/job/{id}/evaluate" | "/v1/job/{id}/revert" | "/v1/job/{id}/stable" => SUBMIT_JOB,
        "/v1/job/{id}/dispatch" | "/v1/job/{id}/periodic/force" => Namespace(&[DispatchJob]),
        "/v1/scaling/policies" => Namespace(&[ListScalingPolicies, ListJobs]),
        "/v1/scaling/policy/{id}" => Handler,
        // Nomad requires a management token to delete evaluations.
        "/v1/evaluations" if !get => Management,
        "/v1/allocations" | "/v1/evaluations" | "/v1/evaluations/count" | "/v1/deployments" => {
            READ_JOB
        }
        "/v1/services" | "/v1/service/{name}" if get => Services,
        "/v1/service/{name}/{id}" => SUBMIT_JOB,
        "/v1/allocation/{id}"
        | "/v1/allocation/{id}/stop"
        | "/v1/allocation/{id}/services"
        | "/v1/allocation/{id}/checks"
        | "/v1/evaluation/{id}"
        | "/v1/evaluation/{id}/allocations"
        | "/v1/deployment/{id}"
        | "/v1/deployment/allocations/{id}"
        | "/v1/deployment/promote/{id}"
        | "/v1/deployment/fail/{id}"
        | "/v1/deployment/pause/{id}"
        | "/v1/deployment/unblock/{id}"
        | "/v1/deployment/allocation-health/{id}" => Handler,
        // orch's releases span namespaces: the handler checks each job's namespace.
        "/v1/releases" | "/v1/release/{id}" => Handler,
        // Search answers from the namespaces the caller may list (nodes with `node` read).
        "/v1/search" | "/v1/search/fuzzy" => Namespace(&[ListJobs, ReadJob]),
        // orch: the waiting work, filtered to the namespaces the caller may read.
        "/v1/queue" if get => READ_JOB,
        "/v1/event/stream" => Handler,
        "/v1/namespaces" => Handler,
        "/v1/namespace/{name}" if get => Handler,
        "/v1/namespace" | "/v1/namespace/{name}" => Management,
        "/v1/quotas" | "/v1/quota-usages" | "/v1/quota/usages" | "/v1/quota/usage/{name}" => {
            Quota(Level::Read)
        }
        "/v1/quota/{name}" if get => Quota(Level::Read),
        "/v1/quota" | "/v1/quota/{name}" => Management,
        "/v1/volumes" => Namespace(&[CsiListVolume, CsiReadVolume]),
        "/v1/volume/csi/{id}" if get => Namespace(&[CsiReadVolume]),
        "/v1/volumes/snapshot" if get => Namespace(&[CsiListVolume]),
        "/v1/volume/csi/{id}"
        | "/v1/volume/csi/{id}/create"
        | "/v1/volume/csi/{id}/delete"
        | "/v1/volume/csi/{id}/detach"
        | "/v1/volumes/snapshot" => Namespace(&[CsiWriteVolume]),
        "/v1/plugins" | "/v1/plugin/csi/{id}" => Plugin(Level::Read),
        // Refused for everyone (not supported): no right needed to learn that.
        "/v1/volume/host/{id}" | "/v1/volume/host/{id}/create" => Public,
        "/v1/client/stats" => Node(Level::Read),
        "/v1/client/metadata" if get => Node(Level::Read),
        "/v1/client/metadata" => Node(Level::Write),
        p if p.starts_with("/v1/client/") => Handler,
        p if p.starts_with("/v1/acl/") => Handler,
        "/v1/internal/acl/authorize" => Handler,
        _ => Management,
    }
}

/// The rules of the routes about nodes, agents and the servers' operation; `None` for
/// any other route.
fn cluster_rule(get: bool, path: &str) -> Option<Rule> {
    let rule = match path {
        "/v1/nodes" | "/v1/node/{id}" | "/v1/agent/members" => Node(Level::Read),
        "/v1/node/{id}/allocations" => NodeAllocs,
        // `node_pool` rules name the pool: checked by the handlers.
        "/v1/node/pools"
        | "/v1/node/pool"
        | "/v1/node/pool/{name}"
        | "/v1/node/pool/{name}/nodes"
        | "/v1/node/pool/{name}/jobs" => Handler,
        "/v1/node/{id}/drain"
        | "/v1/node/{id}/eligibility"
        | "/v1/node/{id}/evaluate"
        | "/v1/node/{id}/purge" => Node(Level::Write),
        "/v1/agent/self" => Agent(Level::Read),
        "/v1/agent/monitor" | "/v1/agent/host" | "/v1/agent/schedulers" => Agent(Level::Read),
        "/v1/agent/schedulers/config" if get => Agent(Level::Read),
        "/v1/agent/schedulers/config" => Agent(Level::Write),
        // Checked by the handler (client agents ask the servers).
        "/v1/agent/servers" => Handler,
        "/v1/agent/force-leave" | "/v1/agent/join" => Agent(Level::Write),
        "/v1/operator/raft/configuration" | "/v1/operator/autopilot/health" => {
            Operator(Level::Read)
        }
        "/v1/operator/raft/peer" | "/v1/operator/raft/transfer-leadership" => {
            Operator(Level::Write)
        }
        "/v1/operator/scheduler/configuration" | "/v1/operator/autopilot/configuration" if get => {
            Operator(Level::Read)
        }
        "/v1/operator/autopilot/configuration" => Operator(Level::Write),
        "/v1/operator/scheduler/configuration" => Operator(Level::Write),
        // Nomad requires a management token to save or restore snapshots.
        "/v1/operator/snapshot" => Management,
        // Nomad's keyring endpoints need a management token (checked by the handlers too).
        "/v1/operator/keyring/keys"
        | "/v1/operator/keyring/rotate"
        | "/v1/operator/keyring/key/{id}" => Management,
        // `variables` rules name the path: checked by the handlers.
        "/v1/vars" | "/v1/var/{*path}" => Handler,
        _ => return None,
    };
    Some(rule)
}

/// Checks `rule` for the caller in the request namespace `ns`; returns the caller's
/// [`Authz`], with the list capability set for namespace rules.
pub fn check(mut authz: Authz, rule: &Rule, ns: &str) -> Result<Authz, ApiError> {
    let ok = match *rule {
        Public | Handler => true,
        Namespace(caps) => {
            authz.list_cap = caps.first().copied();
            if ns == "*" {
                caps.iter().any(|c| some_namespace_allows(&authz, *c))
            } else {
                caps.iter().any(|c| authz.allows(ns, *c))
            }
        }
        NodeAllocs => authz.node_read(),
        Services => {
            authz.services_list = true;
            if ns == "*" {
                some_namespace_allows(&authz, ReadJob)
                    || matches!(&*authz.caller, super::Caller::Workload(_))
            } else {
                authz.allows_service_read(ns)
            }
        }
        Node(level) => allows(authz.level(orch_core::acl::Acl::node), level),
        Agent(level) => allows(authz.level(orch_core::acl::Acl::agent), level),
        Operator(level) => allows(authz.level(orch_core::acl::Acl::operator), level),
        Quota(level) => allows(authz.level(orch_core::acl::Acl::quota), level),
        Plugin(level) => allows(authz.level(orch_core::acl::Acl::plugin), level),
        Management => authz.is_management(),
        NodeSecret => false,
    };
    if ok {
        Ok(authz)
    } else {
        Err(permission_denied())
    }
}

fn allows(have: Level, need: Level) -> bool {
    match need {
        Level::Write => have.allows_write(),
        _ => have.allows_read(),
    }
}

fn some_namespace_allows(authz: &Authz, cap: NsCap) -> bool {
    match &*authz.caller {
        super::Caller::Open => true,
        super::Caller::Token { acl, .. } => acl.allows_in_some_namespace(cap),
        super::Caller::Workload(w) => w.acl.allows_in_some_namespace(cap),
        super::Caller::Node(_) => false,
    }
}
