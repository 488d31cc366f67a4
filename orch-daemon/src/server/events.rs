//! Nomad's event stream, server side: every committed command becomes one batch of
//! events (`{"Index", "Events": [{Topic, Type, Key, Namespace, FilterKeys, Index,
//! Payload}]}`), published to live subscribers and kept in a bounded buffer so a
//! subscriber can replay from an index (`/v1/event/stream?index=`).
//!
//! Events are derived from what the command changed in the state, right after it is
//! applied and under the same write lock, so their payloads are the objects exactly as
//! that index left them (as Nomad's memdb change tracking does). The event type comes
//! from the command, as Nomad's `MsgTypeEvents` table maps request types to types.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use orch_core::model::acl::{AclPolicy, AclRole};
use orch_core::model::{Allocation, Deployment, Evaluation, Job, Node};
use orch_core::state::{ChangedKeys, Command, StateStore};
use serde::Serialize;
use tokio::sync::broadcast;

use super::acl_view::token_json;

/// Batches kept for replay (Nomad's `event_buffer_size` default is 100 items; orch keeps
/// more because a batch holds one log entry's events, and replay is cheap).
pub const DEFAULT_BUFFER: usize = 1024;

/// Events kept for replay at most, whatever the number of batches: an entry can carry
/// hundreds of commands (see `raft::batcher`), and each event holds a copy of its object.
pub const MAX_BUFFERED_EVENTS: usize = 8192;

/// The topics orch publishes, with Nomad's names.
pub mod topic {
    /// Jobs.
    pub const JOB: &str = "Job";
    /// Evaluations.
    pub const EVALUATION: &str = "Evaluation";
    /// Allocations.
    pub const ALLOCATION: &str = "Allocation";
    /// Deployments.
    pub const DEPLOYMENT: &str = "Deployment";
    /// Client nodes.
    pub const NODE: &str = "Node";
    /// ACL tokens (secrets never included); management tokens only.
    pub const ACL_TOKEN: &str = "ACLToken";
    /// ACL policies; management tokens only.
    pub const ACL_POLICY: &str = "ACLPolicy";
    /// ACL roles; management tokens only.
    pub const ACL_ROLE: &str = "ACLRole";
    /// Node pools; `node_pool` read on the pool.
    pub const NODE_POOL: &str = "NodePool";
    /// Service registrations of the `nomad` provider.
    pub const SERVICE: &str = "Service";
    /// The cluster's operator settings (scheduler and autopilot configurations);
    /// `operator` read.
    pub const OPERATOR: &str = "Operator";
    /// CSI volumes registered and deregistered; `csi-read-volume` in their namespace.
    pub const CSI_VOLUME: &str = "CSIVolume";
    /// CSI plugins as their instances change; `plugin` read.
    pub const CSI_PLUGIN: &str = "CSIPlugin";
    /// Variables' metadata (never their items); management tokens only, as Nomad.
    pub const VARIABLE: &str = "Variable";
    /// orch's releases (`release::REGISTERED`, `release::STATUS_UPDATE`); `read-job`
    /// in every namespace of their jobs.
    pub const RELEASE: &str = "Release";
    /// Every topic orch publishes.
    pub const ALL: [&str; 15] = [
        JOB, EVALUATION, ALLOCATION, DEPLOYMENT, NODE, ACL_TOKEN, ACL_POLICY, ACL_ROLE, NODE_POOL,
        SERVICE, OPERATOR, CSI_VOLUME, CSI_PLUGIN, VARIABLE, RELEASE,
    ];
}

/// The object an event carries, serialized as Nomad's payload (`{"Job": {...}}`).
#[derive(Debug, Clone, Serialize)]
pub enum Payload {
    /// A job (shared with the state: no copy of the spec per event).
    Job(Arc<Job>),
    /// An evaluation.
    Evaluation(Box<Evaluation>),
    /// An allocation (without its job, as Nomad sends it).
    Allocation(Box<Allocation>),
    /// A deployment.
    Deployment(Box<Deployment>),
    /// A node (secret ID blanked).
    Node(Box<Node>),
    /// A token in the API's JSON (`SecretID` empty; the state holds no secret anyway).
    #[serde(rename = "ACLToken")]
    AclToken(serde_json::Value),
    /// A policy in the API's JSON, with the workload it is attached to (`JobACL`).
    #[serde(rename = "ACLPolicy")]
    AclPolicy(serde_json::Value),
    /// A role.
    #[serde(rename = "ACLRole")]
    AclRole(Box<AclRole>),
    /// A node pool.
    NodePool(Box<orch_core::model::NodePool>),
    /// A service registration.
    Service(Box<orch_core::model::ServiceRegistration>),
    /// The scheduler configuration as it now is.
    SchedulerConfig(Box<orch_core::model::SchedulerConfiguration>),
    /// The autopilot configuration as it now is.
    AutopilotConfig(Box<orch_core::model::AutopilotConfiguration>),
    /// A CSI volume (Nomad's `CSIVolumeEvent` payload key, `Volume`).
    Volume(Box<orch_core::model::csi::CsiVolume>),
    /// A CSI plugin's list stub (Nomad's `CSIPluginEvent` payload key, `Plugin`).
    Plugin(serde_json::Value),
    /// A variable's metadata (Nomad's `VariableEvent` payload key, `Variable`).
    Variable(serde_json::Value),
    /// An orch release.
    Release(Box<orch_core::model::Release>),
}

/// One event, in Nomad's JSON shape.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    /// `Job`, `Evaluation`, `Allocation`, `Deployment` or `Node`.
    pub topic: &'static str,
    /// Nomad's event type (`JobRegistered`, `PlanResult`, ...).
    #[serde(rename = "Type")]
    pub event_type: &'static str,
    /// The object's ID.
    pub key: String,
    /// The object's namespace (empty for nodes).
    pub namespace: String,
    /// Other keys a subscriber may filter on (job ID, deployment ID).
    pub filter_keys: Vec<String>,
    /// Raft index of the command.
    pub index: u64,
    /// The object.
    pub payload: Payload,
}

impl Event {
    /// Whether a subscription key (`*` or an ID) selects this event.
    pub fn matches_key(&self, key: &str) -> bool {
        key == "*" || self.key == key || self.filter_keys.iter().any(|k| k == key)
    }
}

/// The events of one committed command.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventBatch {
    /// Raft index.
    pub index: u64,
    /// Its events.
    pub events: Vec<Event>,
}

/// The `Operator` topic's event types: a new configuration was written.
const SCHEDULER_CONFIG_UPDATED: &str = "SchedulerConfigurationUpdated";
const AUTOPILOT_CONFIG_UPDATED: &str = "AutopilotConfigurationUpdated";

/// The `Operator` event of a configuration change, carrying the configuration.
fn operator_event(store: &StateStore, t: &'static str, index: u64) -> Option<Event> {
    let (key, payload) = match t {
        SCHEDULER_CONFIG_UPDATED => (
            "scheduler",
            Payload::SchedulerConfig(Box::new(store.scheduler_config().clone())),
        ),
        AUTOPILOT_CONFIG_UPDATED => (
            "autopilot",
            Payload::AutopilotConfig(Box::new(store.autopilot_config().clone())),
        ),
        _ => return None,
    };
    Some(Event {
        topic: topic::OPERATOR,
        event_type: t,
        key: key.to_string(),
        namespace: String::new(),
        filter_keys: Vec::new(),
        index,
        payload,
    })
}

/// Nomad's event type for a command (`MsgTypeEvents`).
fn event_type(cmd: &Command) -> &'static str {
    match cmd {
        Command::JobRegister(_)
        | Command::JobRegisterSubmitted(_)
        | Command::JobRegisterGated(_)
        | Command::ReleaseRun(_)
        | Command::JobScale(_)
        | Command::JobRevert(_)
        | Command::JobStability(_) => "JobRegistered",
        Command::JobDeregister(_) => "JobDeregistered",
        Command::NodeRegister(_) => "NodeRegistration",
        Command::NodeDeregister(_) => "NodeDeregistration",
        Command::NodeStatusUpdate(_) => "NodeStreamEvent",
        Command::NodeEligibility(_) | Command::NodeDrain(_) | Command::NodeDrainMeta(_) => {
            "NodeDrain"
        }
        Command::EvalUpsert(_) | Command::EvalDelete(_) => "EvaluationUpdated",
        Command::ApplyPlanResults(_) | Command::ApplyPlanNormalized(_) => "PlanResult",
        Command::AllocClientUpdate(_) => "AllocationUpdated",
        Command::AllocDesiredTransition(_) => "AllocationUpdateDesiredStatus",
        Command::DeploymentStatusUpdate(_) | Command::DeploymentGateUpdate(_) => {
            "DeploymentStatusUpdate"
        }
        Command::DeploymentPromote(_) => "DeploymentPromotion",
        Command::DeploymentAllocHealth(_) => "DeploymentAllocHealth",
        // Nomad publishes no events for garbage collection.
        Command::GcBatch(_) => "",
        Command::ServiceUpsert(_) => "ServiceRegistration",
        Command::ServiceDelete(_) => "ServiceDeregistration",
        Command::AclPolicyUpsert(_) | Command::AclPolicyAttach(_) => "ACLPolicyUpserted",
        Command::AclPolicyDelete(_) => "ACLPolicyDeleted",
        Command::AclTokenUpsert(_) | Command::AclBootstrap(_) => "ACLTokenUpserted",
        Command::AclTokenDelete(_) => "ACLTokenDeleted",
        Command::AclRoleUpsert(_) => "ACLRoleUpserted",
        Command::AclRoleDelete(_) => "ACLRoleDeleted",
        // Nomad has no Namespace or Quota topic either.
        Command::NamespaceUpsert(_)
        | Command::NamespaceDelete(_)
        | Command::QuotaUpsert(_)
        | Command::QuotaDelete(_) => "",
        Command::CsiVolumeRegister(_) => csi::REGISTERED,
        Command::CsiVolumeDeregister(_) => csi::DEREGISTERED,
        // Plugins are derived from the nodes' reports.
        Command::CsiNodePlugins(_) => csi::PLUGIN_UPDATED,
        Command::NodePoolUpsert(_) => "NodePoolUpserted",
        Command::NodePoolDelete(_) => "NodePoolDeleted",
        Command::SchedulerConfigSet(_) => SCHEDULER_CONFIG_UPDATED,
        Command::AutopilotConfigSet(_) => AUTOPILOT_CONFIG_UPDATED,
        // Nomad publishes no events for a snapshot restore either.
        Command::SnapshotRestore(_) => "",
        Command::VarApply(_) => variables::event_type(cmd),
        // Nomad has no keyring topic.
        Command::RootKeyUpsert(_) | Command::RootKeyDelete(_) => "",
        // The `Release` topic's own events carry their type (`release::STATUS_UPDATE`).
        Command::ReleaseStatusUpdate(_) => release::STATUS_UPDATE,
    }
}

/// What must be captured before a command is applied: its event type and the objects
/// it deletes (Nomad reports purged jobs and deregistered nodes with their last state).
pub struct Before {
    event_type: &'static str,
    deleted_jobs: Vec<Arc<Job>>,
    deleted_nodes: Vec<Node>,
    deleted_pools: Vec<orch_core::model::NodePool>,
    /// Registrations a service command touches, as they were (`None`: new).
    services_before: Vec<(String, Option<orch_core::model::ServiceRegistration>)>,
    /// ACL objects the command writes, looked up once it is applied.
    acl_written: Vec<AclKey>,
    /// ACL objects it deletes, as they were.
    acl_deleted: Vec<(AclKey, Payload)>,
    /// CSI volumes it registers or deregisters.
    csi: csi::CsiBefore,
    /// CSI plugins whose instances a node's report may change.
    plugins: Vec<String>,
    /// The variable it writes or deletes.
    var: variables::VarBefore,
    /// The release it registers or updates.
    release: release::ReleaseBefore,
}

/// An ACL object by topic and key (accessor ID, policy name, role ID).
type AclKey = (&'static str, String);

impl Before {
    /// Captures what [`derive`] needs from the state before `cmd` is applied.
    pub fn capture(store: &StateStore, cmd: &Command) -> Before {
        let mut before = Before {
            event_type: event_type(cmd),
            deleted_jobs: Vec::new(),
            deleted_nodes: Vec::new(),
            deleted_pools: Vec::new(),
            services_before: Vec::new(),
            acl_written: Vec::new(),
            acl_deleted: Vec::new(),
            csi: csi::CsiBefore::capture(store, cmd),
            plugins: csi::plugins_touched(store, cmd),
            var: variables::VarBefore::capture(store, cmd),
            release: release::ReleaseBefore::capture(cmd),
        };
        before.capture_acl(store, cmd);
        match cmd {
            Command::JobDeregister(c) if c.purge => {
                before
                    .deleted_jobs
                    .extend(store.job_shared(&c.namespace, &c.job_id));
            }
            Command::NodeDeregister(c) => {
                before
                    .deleted_nodes
                    .extend(c.node_ids.iter().filter_map(|id| store.node(id).cloned()));
            }
            Command::ServiceUpsert(c) => {
                before.services_before.extend(
                    c.services
                        .iter()
                        .map(|r| (r.id.clone(), store.service(&r.id).cloned())),
                );
            }
            Command::ServiceDelete(c) => {
                let by_alloc = c.alloc_ids.iter().flat_map(|a| store.services_by_alloc(a));
                let by_id = c.ids.iter().filter_map(|id| store.service(id));
                before.services_before.extend(
                    by_id
                        .chain(by_alloc)
                        .map(|r| (r.id.clone(), Some(r.clone()))),
                );
            }
            Command::NodePoolDelete(c) => {
                before
                    .deleted_pools
                    .extend(c.names.iter().filter_map(|n| store.node_pool(n).cloned()));
            }
            _ => {}
        }
        before
    }
}

impl Before {
    /// The ACL objects `cmd` writes (their keys) and deletes (their last state).
    fn capture_acl(&mut self, store: &StateStore, cmd: &Command) {
        let (written, deleted) = (&mut self.acl_written, &mut self.acl_deleted);
        match cmd {
            Command::AclTokenUpsert(c) => written.extend(
                c.tokens
                    .iter()
                    .map(|t| (topic::ACL_TOKEN, t.accessor_id.clone())),
            ),
            Command::AclBootstrap(c) => {
                written.push((topic::ACL_TOKEN, c.token.accessor_id.clone()));
            }
            Command::AclPolicyUpsert(c) => {
                written.extend(
                    c.policies
                        .iter()
                        .map(|p| (topic::ACL_POLICY, p.name.clone())),
                );
            }
            Command::AclPolicyAttach(c) => {
                written.push((topic::ACL_POLICY, c.policy.name.clone()));
            }
            Command::AclRoleUpsert(c) => {
                written.extend(c.roles.iter().map(|r| (topic::ACL_ROLE, r.id.clone())));
            }
            Command::AclTokenDelete(c) => {
                for id in &c.accessors {
                    deleted.extend(store.acl_token(id).map(|t| {
                        let payload = Payload::AclToken(token_json(t, None));
                        ((topic::ACL_TOKEN, id.clone()), payload)
                    }));
                }
            }
            Command::AclPolicyDelete(c) => {
                for name in &c.names {
                    deleted.extend(store.acl_policy(name).map(|p| {
                        let payload = policy_payload(store, p);
                        ((topic::ACL_POLICY, name.clone()), payload)
                    }));
                }
            }
            Command::AclRoleDelete(c) => {
                for id in &c.ids {
                    deleted.extend(store.acl_role(id).map(|r| {
                        let payload = Payload::AclRole(Box::new(r.clone()));
                        ((topic::ACL_ROLE, id.clone()), payload)
                    }));
                }
            }
            _ => {}
        }
    }
}

/// The current state of an ACL object the command wrote, as an event payload.
fn acl_payload(store: &StateStore, (topic, key): &AclKey) -> Option<Payload> {
    match *topic {
        topic::ACL_TOKEN => store
            .acl_token(key)
            .map(|t| Payload::AclToken(token_json(t, None))),
        topic::ACL_POLICY => store.acl_policy(key).map(|p| policy_payload(store, p)),
        _ => store
            .acl_role(key)
            .map(|r| Payload::AclRole(Box::new(r.clone()))),
    }
}

/// A policy as the API shows it: its fields and its `JobACL`.
fn policy_payload(store: &StateStore, p: &AclPolicy) -> Payload {
    let mut v = serde_json::to_value(p).unwrap_or(serde_json::Value::Null);
    v["JobACL"] = serde_json::json!(store.acl_policy_job(&p.name));
    Payload::AclPolicy(v)
}

/// ACL events: cluster-wide objects, no namespace (so only management tokens see them).
fn acl_event(event_type: &'static str, index: u64, key: AclKey, payload: Payload) -> Event {
    Event {
        topic: key.0,
        event_type,
        key: key.1,
        namespace: String::new(),
        filter_keys: Vec::new(),
        index,
        payload,
    }
}

fn job_event(event_type: &'static str, index: u64, job: Arc<Job>) -> Event {
    Event {
        topic: topic::JOB,
        event_type,
        key: job.id.clone(),
        namespace: job.namespace.clone(),
        filter_keys: Vec::new(),
        index,
        payload: Payload::Job(job),
    }
}

fn node_pool_event(
    event_type: &'static str,
    index: u64,
    pool: orch_core::model::NodePool,
) -> Event {
    Event {
        topic: topic::NODE_POOL,
        event_type,
        key: pool.name.clone(),
        namespace: String::new(),
        filter_keys: Vec::new(),
        index,
        payload: Payload::NodePool(Box::new(pool)),
    }
}

/// Registrations that changed: new or different ones for an upsert (a client's
/// periodic re-sync of unchanged services is no event), removed ones for a delete.
fn service_events(
    store: &StateStore,
    index: u64,
    event_type: &'static str,
    before: Vec<(String, Option<orch_core::model::ServiceRegistration>)>,
) -> Vec<Event> {
    let mut seen = std::collections::BTreeSet::new();
    before
        .into_iter()
        .filter(|(id, _)| seen.insert(id.clone()))
        .filter_map(|(id, old)| {
            let now = store.service(&id);
            let reg = match (event_type, now, old) {
                ("ServiceRegistration", Some(new), old) if old.as_ref() != Some(new) => new.clone(),
                ("ServiceDeregistration", None, Some(old)) => old,
                _ => return None,
            };
            Some(Event {
                topic: topic::SERVICE,
                event_type,
                key: reg.id.clone(),
                namespace: reg.namespace.clone(),
                filter_keys: vec![reg.job_id.clone(), reg.service_name.clone()],
                index,
                payload: Payload::Service(Box::new(reg)),
            })
        })
        .collect()
}

fn node_event(event_type: &'static str, index: u64, mut node: Node) -> Event {
    node.secret_id = String::new();
    Event {
        topic: topic::NODE,
        event_type,
        key: node.id.clone(),
        namespace: String::new(),
        filter_keys: Vec::new(),
        index,
        payload: Payload::Node(Box::new(node)),
    }
}

/// The events of the command applied at `index`: every object it created or changed
/// (`changed`, as the store reported it), plus the objects it deleted.
pub fn derive(store: &StateStore, index: u64, before: Before, changed: &ChangedKeys) -> Vec<Event> {
    let t = before.event_type;
    let mut out = Vec::new();
    if t.is_empty() {
        return out;
    }
    for (ns, id) in &changed.jobs {
        out.extend(store.job_shared(ns, id).map(|j| job_event(t, index, j)));
    }
    for j in before.deleted_jobs {
        out.push(job_event(t, index, j));
    }
    for e in changed.evals.iter().filter_map(|id| store.eval(id)) {
        out.push(Event {
            topic: topic::EVALUATION,
            event_type: t,
            key: e.id.clone(),
            namespace: e.namespace.clone(),
            filter_keys: vec![e.job_id.clone(), e.deployment_id.clone()],
            index,
            payload: Payload::Evaluation(Box::new(e.clone())),
        });
    }
    for a in changed.allocs.iter().filter_map(|id| store.alloc_stub(id)) {
        out.push(Event {
            topic: topic::ALLOCATION,
            event_type: t,
            key: a.id.clone(),
            namespace: a.namespace.to_string(),
            filter_keys: vec![a.job_id.to_string(), a.deployment_id.clone()],
            index,
            payload: Payload::Allocation(Box::new(a.clone())),
        });
    }
    for d in changed
        .deployments
        .iter()
        .filter_map(|id| store.deployment(id))
    {
        out.push(Event {
            topic: topic::DEPLOYMENT,
            event_type: t,
            key: d.id.clone(),
            namespace: d.namespace.clone(),
            filter_keys: vec![d.job_id.clone()],
            index,
            payload: Payload::Deployment(Box::new(d.clone())),
        });
    }
    for n in changed.nodes.iter().filter_map(|id| store.node(id)) {
        out.push(node_event(t, index, n.clone()));
    }
    for n in before.deleted_nodes {
        out.push(node_event(t, index, n));
    }
    // Pools a node's registration created are not events of their own (the node's
    // event reports the registration).
    if t == "NodePoolUpserted" {
        for p in changed.node_pools.iter().filter_map(|n| store.node_pool(n)) {
            out.push(node_pool_event(t, index, p.clone()));
        }
    }
    for p in before.deleted_pools {
        out.push(node_pool_event(t, index, p));
    }
    out.extend(service_events(store, index, t, before.services_before));
    out.extend(operator_event(store, t, index));
    for key in before.acl_written {
        if let Some(p) = acl_payload(store, &key) {
            out.push(acl_event(t, index, key, p));
        }
    }
    for (key, p) in before.acl_deleted {
        out.push(acl_event(t, index, key, p));
    }
    out.extend(before.csi.events(store, t, index));
    out.extend(csi::plugin_events(store, before.plugins, index));
    out.extend(before.var.events(store, index));
    out.extend(before.release.events(store, index));
    for e in &mut out {
        e.filter_keys.retain(|k| !k.is_empty());
    }
    out
}

/// Publishes event batches to subscribers and keeps the last ones for replay.
pub struct EventBroker {
    /// The batches kept for replay and how many events they hold.
    buffer: Mutex<(VecDeque<Arc<EventBatch>>, usize)>,
    capacity: usize,
    live: broadcast::Sender<Arc<EventBatch>>,
}

impl Default for EventBroker {
    fn default() -> Self {
        Self::new(DEFAULT_BUFFER)
    }
}

/// A new subscription: the buffered batches at or after the asked index, then live ones.
pub struct Subscription {
    /// Buffered batches to send first, oldest first.
    pub replay: VecDeque<Arc<EventBatch>>,
    /// Batches published after the replay was taken.
    pub live: broadcast::Receiver<Arc<EventBatch>>,
}

impl EventBroker {
    /// A broker keeping the last `capacity` batches.
    pub fn new(capacity: usize) -> Self {
        let (live, _) = broadcast::channel(capacity.max(16));
        EventBroker {
            buffer: Mutex::new((VecDeque::new(), 0)),
            capacity: capacity.max(1),
            live,
        }
    }

    /// Publishes the events of the command at `index` (nothing if there are none).
    pub fn publish(&self, index: u64, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let batch = Arc::new(EventBatch { index, events });
        let mut guard = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let (buf, held) = &mut *guard;
        *held += batch.events.len();
        buf.push_back(Arc::clone(&batch));
        while buf.len() > self.capacity || (*held > MAX_BUFFERED_EVENTS && buf.len() > 1) {
            if let Some(old) = buf.pop_front() {
                *held -= old.events.len();
            }
        }
        // Sent under the buffer lock, so a subscriber sees each batch exactly once:
        // either in its replay or on its receiver.
        let _ = self.live.send(batch);
    }

    /// Live subscriptions now (each holds a receiver of every batch).
    pub fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }

    /// Subscribes from `index`: buffered batches with an index at or after it (all
    /// buffered ones for 0; the oldest kept if `index` fell out of the buffer), then
    /// every new one.
    pub fn subscribe(&self, index: u64) -> Subscription {
        let guard = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let replay = guard
            .0
            .iter()
            .filter(|b| b.index >= index)
            .cloned()
            .collect();
        Subscription {
            replay,
            live: self.live.subscribe(),
        }
    }
}

mod csi;
pub mod release;
#[cfg(test)]
mod tests;
mod variables;
