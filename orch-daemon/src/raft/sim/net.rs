//! The simulated network: openraft's RPCs handed straight to the target's `Raft` in the
//! same process, each message's fate drawn from the run's [`SplitMix64`]: lost (the
//! sender sees a timeout), delayed, duplicated (the copy arrives later, so it also
//! reorders), or refused across a partition or to a crashed node.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError as OpenraftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use super::rng::{SplitMix64, TraceHash};
use crate::raft::election::Campaigner;
use crate::raft::health::Contacts;
use crate::raft::{NodeId, OrchRaft, TypeConfig};

/// A running node as its peers reach it: its Raft, and the server side of its RPCs
/// (what `raft::http` does around the Raft calls: leader contact recorded, votes
/// answered by the [`Campaigner`]).
#[derive(Clone)]
pub(super) struct SimPeer {
    pub raft: OrchRaft,
    pub contacts: Arc<Contacts>,
    pub campaigner: Campaigner,
}

/// How often messages go wrong, per mille, and how late they may arrive.
#[derive(Debug, Clone, Copy)]
pub(super) struct Faults {
    pub loss: u64,
    pub duplicate: u64,
    pub max_delay_ms: u64,
}

impl Faults {
    /// A network that delivers everything promptly (the end of a run, to converge).
    pub const CALM: Faults = Faults {
        loss: 0,
        duplicate: 0,
        max_delay_ms: 2,
    };
}

struct NetState {
    rng: SplitMix64,
    /// The running nodes; a crashed node is absent.
    nodes: BTreeMap<NodeId, SimPeer>,
    /// Partition side of each node: messages pass only between nodes on the same side.
    side: BTreeMap<NodeId, u8>,
    faults: Faults,
    trace: TraceHash,
    sent: u64,
    lost: u64,
    duplicated: u64,
}

/// The shared network of one run. Cheap to clone.
#[derive(Clone)]
pub(super) struct SimNet(Arc<Mutex<NetState>>);

/// What happens to one message.
enum Fate {
    Lost,
    Delivered {
        delay: Duration,
        copy_after: Option<Duration>,
    },
}

impl SimNet {
    /// A network drawing from a generator seeded with `seed`.
    pub fn new(seed: u64, faults: Faults) -> SimNet {
        SimNet(Arc::new(Mutex::new(NetState {
            rng: SplitMix64::new(seed),
            nodes: BTreeMap::new(),
            side: BTreeMap::new(),
            faults,
            trace: TraceHash::default(),
            sent: 0,
            lost: 0,
            duplicated: 0,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, NetState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `peer` reachable as `id` (started or restarted).
    pub fn register(&self, id: NodeId, peer: SimPeer) {
        self.lock().nodes.insert(id, peer);
    }

    /// Makes `id` unreachable (crashed).
    pub fn unregister(&self, id: NodeId) {
        self.lock().nodes.remove(&id);
    }

    /// Puts each node on its side of a partition (all on one side heals it).
    pub fn partition(&self, side: BTreeMap<NodeId, u8>) {
        self.lock().side = side;
    }

    /// Changes how often messages go wrong from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// The hash of every message's fate so far.
    pub fn trace(&self) -> u64 {
        self.lock().trace.0
    }

    /// Messages sent, lost and duplicated so far.
    pub fn counts(&self) -> (u64, u64, u64) {
        let s = self.lock();
        (s.sent, s.lost, s.duplicated)
    }

    /// The factory node `from` builds its peer clients with.
    pub fn factory(&self, from: NodeId) -> SimFactory {
        SimFactory {
            net: self.clone(),
            from,
        }
    }

    fn fate(&self, from: NodeId, to: NodeId, kind: u64) -> Fate {
        let mut s = self.lock();
        let f = s.faults;
        s.sent += 1;
        let fate = if s.rng.chance(f.loss) {
            s.lost += 1;
            Fate::Lost
        } else {
            let delay = Duration::from_millis(s.rng.below(f.max_delay_ms + 1));
            let copy_after = if s.rng.chance(f.duplicate) {
                s.duplicated += 1;
                Some(Duration::from_millis(s.rng.below(f.max_delay_ms * 4 + 1)))
            } else {
                None
            };
            Fate::Delivered { delay, copy_after }
        };
        let code = match &fate {
            Fate::Lost => u64::MAX,
            Fate::Delivered { delay, copy_after } => {
                delay.as_millis() as u64 * 1000 + copy_after.map_or(999, |d| d.as_millis() as u64)
            }
        };
        s.trace.add(&[from, to, kind, code]);
        fate
    }

    /// The target if `from` can reach it now.
    fn reach(&self, from: NodeId, to: NodeId) -> Option<SimPeer> {
        let s = self.lock();
        let side = |id| s.side.get(&id).copied().unwrap_or(0);
        if !s.nodes.contains_key(&from) || side(from) != side(to) {
            return None;
        }
        s.nodes.get(&to).cloned()
    }
}

/// Builds [`SimClient`]s for one node.
pub(super) struct SimFactory {
    net: SimNet,
    from: NodeId,
}

impl RaftNetworkFactory<TypeConfig> for SimFactory {
    type Network = SimClient;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> SimClient {
        SimClient {
            net: self.net.clone(),
            from: self.from,
            target,
        }
    }
}

/// RPCs from one node to one peer over the [`SimNet`].
pub(super) struct SimClient {
    net: SimNet,
    from: NodeId,
    target: NodeId,
}

type RpcResult<Resp, E> = Result<Resp, RPCError<NodeId, BasicNode, OpenraftError<NodeId, E>>>;

impl SimClient {
    /// Sends `req` through the network, `call` delivering it to the target.
    async fn send<Req, Resp, E, F, Fut>(
        &self,
        kind: u64,
        req: Req,
        option: &RPCOption,
        call: F,
    ) -> RpcResult<Resp, E>
    where
        Req: Clone + Send + 'static,
        Resp: Send + 'static,
        E: std::error::Error + Send + 'static,
        F: Fn(SimPeer, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, OpenraftError<NodeId, E>>> + Send + 'static,
    {
        let (delay, copy_after) = match self.net.fate(self.from, self.target, kind) {
            Fate::Lost => {
                tokio::time::sleep(option.soft_ttl()).await;
                let e = std::io::Error::other("message lost");
                return Err(RPCError::Network(NetworkError::new(&e)));
            }
            Fate::Delivered { delay, copy_after } => (delay, copy_after),
        };
        let call = Arc::new(call);
        if let Some(after) = copy_after {
            let (net, from, to, req, call) = (
                self.net.clone(),
                self.from,
                self.target,
                req.clone(),
                Arc::clone(&call),
            );
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(peer) = net.reach(from, to) {
                    let _ = call(peer, req).await;
                }
            });
        }
        tokio::time::sleep(delay).await;
        let Some(peer) = self.net.reach(self.from, self.target) else {
            let e = std::io::Error::other("peer unreachable");
            return Err(RPCError::Unreachable(Unreachable::new(&e)));
        };
        let reply = call(peer, req).await;
        tokio::time::sleep(delay).await;
        if self.net.reach(self.target, self.from).is_none() {
            let e = std::io::Error::other("reply lost");
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for SimClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        self.send(1, rpc, &option, |peer, req| async move {
            let reply = peer.raft.append_entries(req).await;
            if reply.is_ok() {
                peer.contacts.heard_from_leader();
            }
            reply
        })
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.send(2, rpc, &option, |peer, req| async move {
            peer.raft.install_snapshot(req).await
        })
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.send(3, rpc, &option, |peer, req| async move {
            peer.campaigner.vote(req).await
        })
        .await
    }

    fn backoff(&self) -> openraft::network::Backoff {
        // Retry an unreachable peer every heartbeat or so, not openraft's 500 ms, so a
        // healed partition is noticed soon.
        openraft::network::Backoff::new(std::iter::repeat(Duration::from_millis(50)))
    }
}
