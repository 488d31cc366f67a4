//! Group proposals: commands written at the same time travel in one Raft entry.
//!
//! Why: openraft's per-entry cost (one trip through its core, one log record, one apply
//! call, one reply) is far larger than applying a command, and under load most of a
//! write's latency was spent queued behind other single-command entries. The batcher
//! keeps at most [`MAX_IN_FLIGHT`] entries in flight; whatever arrives meanwhile goes into
//! the next entry. One writer alone still gets an entry of its own straight away, so a
//! quiet cluster pays no latency for batching.
//!
//! The commands of an entry are applied in order at the entry's index
//! ([`orch_core::state::StateStore::apply_batched`]), each with its own result.

use std::sync::Arc;

use openraft::error::{ClientWriteError, RaftError as OpenraftError};
use orch_core::state::Command;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::CommandBatch;
use super::command_batch::EncodedCommand;
use super::types::{ApplyResult, NodeId, OrchRaft};

/// Entries proposed and not yet committed, at most; more writers wait and batch up.
pub const MAX_IN_FLIGHT: usize = 1;

/// Commands in one entry, at most (bounds the entry size and a batch's apply time).
pub const MAX_BATCH: usize = 256;

/// The most encoded bytes one entry holds (unless a single command is bigger), so that an
/// entry always fits one peer request.
pub const MAX_ENTRY_BYTES: usize = 16 << 20;

/// Why a batched write did not commit here.
#[derive(Debug, Clone)]
pub enum BatchError {
    /// This server is not the leader; the leader's ID and RPC address, if known.
    ForwardToLeader(Option<(NodeId, String)>),
    /// Raft failed (shutting down, storage error, ...).
    Failed(String),
}

struct Pending {
    cmd: EncodedCommand,
    reply: oneshot::Sender<Result<ApplyResult, BatchError>>,
}

/// The handle writers submit commands through. Cheap to clone.
#[derive(Clone)]
pub struct ProposalBatcher {
    tx: mpsc::UnboundedSender<Pending>,
}

impl ProposalBatcher {
    /// Starts the batching task for `raft`; it ends when every handle is dropped.
    pub fn start(raft: OrchRaft) -> ProposalBatcher {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, rx));
        ProposalBatcher { tx }
    }

    /// Proposes `cmd` and waits until its entry is committed and applied here.
    pub async fn write(&self, cmd: Command) -> Result<ApplyResult, BatchError> {
        self.write_all(vec![cmd])
            .await
            .pop()
            .unwrap_or_else(|| Err(BatchError::Failed("no result for the write".into())))
    }

    /// Proposes several commands at once (a follower's forwarded batch), so they share
    /// an entry when there is room; one result per command, in order.
    pub async fn write_all(&self, cmds: Vec<Command>) -> Vec<Result<ApplyResult, BatchError>> {
        let stopped = || BatchError::Failed("this server is shutting down".into());
        let mut waiting = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            let cmd = match EncodedCommand::new(cmd) {
                Ok(cmd) => cmd,
                Err(e) => {
                    waiting.push(Err(BatchError::Failed(e)));
                    continue;
                }
            };
            let (reply, rx) = oneshot::channel();
            waiting.push(match self.tx.send(Pending { cmd, reply }) {
                Ok(()) => Ok(rx),
                Err(_) => Err(stopped()),
            });
        }
        let mut out = Vec::with_capacity(waiting.len());
        for rx in waiting {
            out.push(match rx {
                Ok(rx) => rx.await.unwrap_or_else(|_| Err(stopped())),
                Err(e) => Err(e),
            });
        }
        out
    }
}

async fn run(raft: OrchRaft, rx: mpsc::UnboundedReceiver<Pending>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut queue = BatchQueue::new(rx);
    let limits = BatchLimits {
        items: MAX_BATCH,
        bytes: MAX_ENTRY_BYTES,
    };
    loop {
        let Some((slot, batch)) = queue.next(&slots, limits, |p| p.cmd.bytes.len()).await else {
            return;
        };
        let raft = raft.clone();
        tokio::spawn(async move {
            let (cmds, replies): (Vec<EncodedCommand>, Vec<_>) =
                batch.into_iter().map(|p| (p.cmd, p.reply)).unzip();
            let started = std::time::Instant::now();
            let commands = cmds.len() as u64;
            let result = raft.client_write(CommandBatch::from_encoded(cmds)).await;
            crate::telemetry::measure("nomad.raft.commitTime", Vec::new(), started.elapsed());
            crate::telemetry::incr("nomad.raft.apply", Vec::new(), commands);
            drop(slot);
            deliver(result, replies);
        });
    }
}

/// How much one batch may hold: items, and bytes as the caller weighs an item.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchLimits {
    /// Items, at most.
    pub(super) items: usize,
    /// Bytes, at most, unless the first item alone is bigger.
    pub(super) bytes: usize,
}

/// A queue taken from in batches; an item that would overfill a batch waits at the
/// head for the next one.
pub(super) struct BatchQueue<T> {
    rx: mpsc::UnboundedReceiver<T>,
    carry: Option<T>,
}

impl<T> BatchQueue<T> {
    pub(super) fn new(rx: mpsc::UnboundedReceiver<T>) -> BatchQueue<T> {
        BatchQueue { rx, carry: None }
    }

    /// Waits for a free in-flight slot, then for one item, then takes whatever else is
    /// already queued within `limits`; `None` once every sender is gone. The slot comes
    /// first: while all slots are busy, items pile up and go together next time.
    pub(super) async fn next(
        &mut self,
        slots: &Arc<Semaphore>,
        limits: BatchLimits,
        size: impl Fn(&T) -> usize,
    ) -> Option<(OwnedSemaphorePermit, Vec<T>)> {
        let slot = Arc::clone(slots).acquire_owned().await.ok()?;
        let first = match self.carry.take() {
            Some(item) => item,
            None => self.rx.recv().await?,
        };
        let mut bytes = size(&first);
        let mut batch = vec![first];
        while batch.len() < limits.items {
            let Ok(item) = self.rx.try_recv() else { break };
            bytes += size(&item);
            if bytes > limits.bytes {
                self.carry = Some(item);
                break;
            }
            batch.push(item);
        }
        Some((slot, batch))
    }
}

type WriteResult = Result<
    openraft::raft::ClientWriteResponse<super::types::TypeConfig>,
    OpenraftError<NodeId, ClientWriteError<NodeId, openraft::BasicNode>>,
>;

/// Hands each writer its command's result, or the entry's error to all of them.
fn deliver(result: WriteResult, replies: Vec<oneshot::Sender<Result<ApplyResult, BatchError>>>) {
    let each: Vec<Result<ApplyResult, BatchError>> = match result {
        Ok(resp) if resp.data.0.len() == replies.len() => resp.data.0.into_iter().map(Ok).collect(),
        Ok(resp) => {
            let e = BatchError::Failed(format!(
                "the entry at index {} returned {} results for {} commands; this is a bug in orch",
                resp.log_id.index,
                resp.data.0.len(),
                replies.len()
            ));
            vec![Err(e); replies.len()]
        }
        Err(OpenraftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            let leader = f.leader_id.zip(f.leader_node).map(|(id, n)| (id, n.addr));
            vec![Err(BatchError::ForwardToLeader(leader)); replies.len()]
        }
        Err(e) => vec![Err(BatchError::Failed(e.to_string())); replies.len()],
    };
    for (reply, r) in replies.into_iter().zip(each) {
        // The writer may have given up (request cancelled); nothing to do then.
        let _ = reply.send(r);
    }
}

#[cfg(test)]
mod tests;
