//! The state machine as the rest of the daemon sees it.

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use orch_core::state::{Command, Response, StateError, StateStore};
use tokio::sync::watch;

use super::events::{self, EventBroker};

/// Shared, cheaply clonable handle to the state store.
///
/// Reads take a read lock (never held across an `.await`); writes happen only through
/// [`StateHandle::apply`], called by a replicator for committed entries, which also
/// publishes the new index so blocking queries wake up.
#[derive(Clone)]
pub struct StateHandle {
    store: Arc<RwLock<StateStore>>,
    index: watch::Sender<u64>,
    events: Arc<EventBroker>,
}

impl Default for StateHandle {
    fn default() -> Self {
        Self::new(StateStore::new())
    }
}

impl StateHandle {
    /// Wraps a store (fresh, or restored from a snapshot).
    pub fn new(store: StateStore) -> Self {
        let (index, _) = watch::channel(store.latest_index());
        StateHandle {
            store: Arc::new(RwLock::new(store)),
            index,
            events: Arc::new(EventBroker::default()),
        }
    }

    /// A read view. Keep it short: writers wait while it is held.
    pub fn read(&self) -> RwLockReadGuard<'_, StateStore> {
        // A poisoned lock means a writer panicked mid-apply; the store itself is only
        // changed by infallible commits, so its data is still consistent.
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a committed log entry (at the state index of log index `index`). Only
    /// replicators call this.
    pub fn apply(&self, index: u64, cmd: Command) -> Result<Response, StateError> {
        self.apply_batch(index, vec![cmd])
            .pop()
            .unwrap_or_else(|| Err(StateError::Invalid("an empty batch".into())))
    }

    /// Applies a committed log entry carrying several commands, in order, all at the
    /// state index of `log_index` (see [`StateStore::state_index`] and
    /// [`StateStore::apply_batched`]); one result per command. An entry at or below the
    /// latest index is refused whole.
    pub fn apply_batch(
        &self,
        log_index: u64,
        cmds: Vec<Command>,
    ) -> Vec<Result<Response, StateError>> {
        let mut index = 0;
        let mut results = Vec::with_capacity(cmds.len());
        let mut published = Vec::new();
        {
            let mut store = self.store.write().unwrap_or_else(|e| e.into_inner());
            let latest = store.latest_index();
            let first = store.state_index(log_index);
            if first <= latest {
                let stale = || {
                    Err(StateError::StaleIndex {
                        index: first,
                        latest,
                    })
                };
                return cmds.iter().map(|_| stale()).collect();
            }
            for cmd in cmds {
                // A restore earlier in this entry moves the offset: later commands of
                // the entry apply at the restored index (`orch_core::state::restore`).
                index = store.state_index(log_index).max(index);
                let before = events::Before::capture(&store, &cmd);
                let (result, changed) = store.apply_batched(index, cmd);
                if result.is_ok() {
                    published.extend(events::derive(&store, index, before, &changed));
                }
                results.push(result);
            }
        }
        // Replicators apply one entry at a time, so batches are published in index order.
        self.events.publish(index, published);
        let latest = self.read().latest_index();
        self.index.send_replace(latest);
        results
    }

    /// The event stream of committed commands (`/v1/event/stream`).
    pub fn events(&self) -> &EventBroker {
        &self.events
    }

    /// Replaces the whole store (snapshot install).
    pub fn replace(&self, store: StateStore) {
        let latest = store.latest_index();
        *self.store.write().unwrap_or_else(|e| e.into_inner()) = store;
        self.index.send_replace(latest);
    }

    /// Latest applied index.
    pub fn latest_index(&self) -> u64 {
        *self.index.borrow()
    }

    /// Waits until the latest index exceeds `after` or `timeout` passes (Nomad's blocking
    /// query), returning the latest index either way.
    pub async fn wait_past(&self, after: u64, timeout: Duration) -> u64 {
        let mut rx = self.index.subscribe();
        let wait = async {
            loop {
                if *rx.borrow_and_update() > after {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.latest_index()
    }

    /// Subscribes to index changes (the leader loop uses this to notice new evaluations).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.index.subscribe()
    }
}
