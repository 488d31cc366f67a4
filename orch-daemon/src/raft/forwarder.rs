//! A follower's writes travel to the leader in batches: one `POST /raft/forward` carries
//! every write queued while the previous ones were in flight.
//!
//! Why: on a three-server cluster two writes in three arrive at a follower; one HTTP
//! exchange each cost more than the rest of their path. The leader hands a forwarded
//! batch to its [`super::batcher::ProposalBatcher`] at once, so it usually lands in one
//! entry. As with that batcher, a lone write is sent straight away.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::state::Command;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::batcher::{BatchLimits, BatchQueue, MAX_ENTRY_BYTES};
use super::command_batch::{EncodedCommand, encode_seq};
use super::http::{ForwardReply, leader_moves_from};
use super::network::{CallError, HttpNetwork, post_postcard_bytes};
use super::types::OrchRaft;

/// Forward requests in flight, at most; more writes wait and go together.
const MAX_IN_FLIGHT: usize = 1;

/// Writes in one forward request, at most.
const MAX_BATCH: usize = 256;

/// The forward route on the leader's RPC listener: a postcard `Vec<Command>` in, a
/// postcard `Vec<ForwardReply>` (one per command, in order) out.
pub const FORWARD_PATH: &str = "/raft/forward";

type Reply = oneshot::Sender<Result<ForwardReply, CallError>>;

struct Queued {
    addr: String,
    cmd: EncodedCommand,
    reply: Reply,
}

/// The handle a follower forwards writes through. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Forwarder {
    tx: mpsc::UnboundedSender<Queued>,
}

impl Forwarder {
    /// Starts the forwarding task; it ends when every handle is dropped.
    /// A forward in flight is abandoned (an unknown outcome) when `raft` learns of
    /// another leader, instead of waiting out the request timeout.
    pub(crate) fn start(network: HttpNetwork, raft: OrchRaft) -> Forwarder {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(network, raft, rx));
        Forwarder { tx }
    }

    /// Sends `cmd` to the leader at `addr` (RPC address) and waits for its answer.
    pub(crate) async fn forward(
        &self,
        addr: &str,
        cmd: Command,
    ) -> Result<ForwardReply, CallError> {
        let stopped = || CallError::Unreachable {
            addr: addr.to_string(),
            message: "this server is shutting down".into(),
        };
        let cmd = EncodedCommand::new(cmd).map_err(|message| CallError::Failed {
            addr: addr.to_string(),
            message,
        })?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Queued {
                addr: addr.to_string(),
                cmd,
                reply,
            })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

async fn run(network: HttpNetwork, raft: OrchRaft, rx: mpsc::UnboundedReceiver<Queued>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut queue = BatchQueue::new(rx);
    // A forwarded batch must fit one peer request, as an entry does.
    let limits = BatchLimits {
        items: MAX_BATCH,
        bytes: MAX_ENTRY_BYTES,
    };
    loop {
        let Some((slot, batch)) = queue.next(&slots, limits, |q| q.cmd.bytes.len()).await else {
            return;
        };
        // One request per leader address (two only while leadership moves).
        let mut by_addr: BTreeMap<String, Vec<(EncodedCommand, Reply)>> = BTreeMap::new();
        for q in batch {
            by_addr.entry(q.addr).or_default().push((q.cmd, q.reply));
        }
        let network = network.clone();
        let raft = raft.clone();
        tokio::spawn(async move {
            for (addr, batch) in by_addr {
                send(&network, &raft, &addr, batch).await;
            }
            drop(slot);
        });
    }
}

async fn send(
    network: &HttpNetwork,
    raft: &OrchRaft,
    addr: &str,
    batch: Vec<(EncodedCommand, Reply)>,
) {
    let (cmds, replies): (Vec<EncodedCommand>, Vec<Reply>) = batch.into_iter().unzip();
    // The postcard `Vec<Command>` the leader decodes, from the commands' own encodings.
    let body = encode_seq(cmds.iter().map(|c| c.bytes.as_slice()));
    let call = post_postcard_bytes(
        network.client(),
        addr,
        FORWARD_PATH,
        body,
        network.request_timeout(),
    );
    let result: Result<Vec<ForwardReply>, CallError> = tokio::select! {
        r = call => r,
        () = leader_moves_from(raft, addr) => Err(CallError::Failed {
            addr: addr.to_string(),
            message: "another server became the leader while the write was in flight".into(),
        }),
    };
    let each: Vec<Result<ForwardReply, CallError>> = match result {
        Ok(v) if v.len() == replies.len() => v.into_iter().map(Ok).collect(),
        Ok(v) => {
            let e = CallError::Failed {
                addr: addr.to_string(),
                message: format!(
                    "{} answers for {} forwarded writes; all servers must run the same orch version",
                    v.len(),
                    replies.len()
                ),
            };
            vec![Err(e); replies.len()]
        }
        Err(e) => vec![Err(e); replies.len()],
    };
    for (reply, r) in replies.into_iter().zip(each) {
        let _ = reply.send(r);
    }
}
