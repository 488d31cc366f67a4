//! The end of a worker's evaluation: its update committed off the worker's path.

use std::sync::Arc;

use orch_core::model::Evaluation;
use orch_core::state::{Command, EvalUpsert};

use super::{Leader, ReplicateError};
use crate::clock::now_nanos;

impl Leader {
    /// Commits an evaluation's update (what [`Leader::process`] decided), then acks it,
    /// or nacks it when scheduling or the update failed, and proposes the evaluations
    /// the broker let go meanwhile.
    pub(super) async fn finish(
        self: Arc<Self>,
        eval: Evaluation,
        token: String,
        scheduled: Result<Option<Command>, ReplicateError>,
    ) {
        let ok = match scheduled {
            Ok(None) => true,
            Ok(Some(update)) => self.replicator.propose(update).await.is_ok(),
            Err(_) => false,
        };
        let mut broker = self.broker.lock().await;
        if ok {
            let _ = broker.ack(&eval.id, &token);
        } else {
            let _ = broker.nack(&eval.id, &token, now_nanos());
        }
        let cancelable = broker.take_cancelable();
        drop(broker);
        if !cancelable.is_empty() {
            let _ = self
                .replicator
                .propose(Command::EvalUpsert(EvalUpsert { evals: cancelable }))
                .await;
        }
    }
}
