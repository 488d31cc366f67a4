//! Committing a change set's allocations: whole ones stored (new, updated or
//! removed) and a plan's stops and preemptions written in place
//! ([`super::super::alloc_edit`]), in ID order either way, with every derived index
//! (per node, evaluation, job and modify index, the node table's live sets) kept in
//! step.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use super::super::alloc_edit::{AllocEdit, Before};
use super::super::{Id, JobKey, JobVersionKey, StateStore, key, table};
use super::CommitLog;
use crate::model::Allocation;

/// One staged allocation change, in the commit's ID order.
enum Staged {
    /// Stored whole (`None`: removed), under the ID as the command spelled it.
    Whole(String, Option<Arc<Allocation>>),
    /// A stop or preemption of a stored allocation.
    Edit(AllocEdit),
}

/// Whole changes and edits (sorted by ID) merged in ID order (an `Id` orders as its
/// string does, and no ID is in both), so the commit files them in the order one map
/// of both would.
fn in_id_order(
    allocs: BTreeMap<String, Option<Arc<Allocation>>>,
    edits: Vec<AllocEdit>,
) -> impl Iterator<Item = (Id, Staged)> {
    let mut whole = allocs
        .into_iter()
        .map(|(id, a)| (Id::new(&id), Staged::Whole(id, a)))
        .peekable();
    let mut edits = edits.into_iter().peekable();
    std::iter::from_fn(move || {
        let edit_first = match (whole.peek(), edits.peek()) {
            (Some((w, _)), Some(e)) => e.key < *w,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if edit_first {
            edits.next().map(|e| (e.key.clone(), Staged::Edit(e)))
        } else {
            whole.next()
        }
    })
}

/// The job last marked touched: a plan's allocations are nearly all of one job, so
/// the log's set is searched once per job, not once per allocation.
#[derive(Default)]
struct Touched(Option<JobKey>);

impl Touched {
    fn mark(&mut self, log: &mut CommitLog, jk: &JobKey) {
        if self.0.as_ref() != Some(jk) {
            if !log.touched.contains(jk) {
                log.touched.insert(jk.clone());
            }
            self.0 = Some(jk.clone());
        }
    }
}

impl Before {
    /// What the commit needs of a stored allocation about to be replaced.
    fn of(o: &Allocation) -> Before {
        Before {
            usage: o.usage(),
            modify_index: o.modify_index,
        }
    }
}

impl StateStore {
    pub(super) fn commit_allocs(
        &mut self,
        log: &mut CommitLog,
        index: u64,
        allocs: BTreeMap<String, Option<Arc<Allocation>>>,
        edits: Vec<AllocEdit>,
    ) {
        // A plan's allocations are nearly all of one job: its key is built once, not
        // (as two strings) for every index an allocation goes into.
        let mut job = JobKeyCache::default();
        let mut priority = PriorityCache::default();
        if !allocs.is_empty() || !edits.is_empty() {
            log.dirty.insert(table::ALLOCS);
        }
        let mut touched = Touched::default();
        let mut by_job = super::super::JobIndexBatch::default();
        // What the per-job index holds of an edited allocation until it is filed
        // anew ([`StateStore::store_edit`]).
        let placeholder = (!edits.is_empty()).then(|| Arc::new(Allocation::default()));
        for (k, staged) in in_id_order(allocs, edits) {
            let (id, old, new) = match staged {
                Staged::Edit(e) => {
                    // A stop or preemption, written in place: node, job and
                    // evaluation stay, so only what moved is re-filed.
                    let (Some(stored), Some(placeholder)) = (self.allocs.get(&k), &placeholder)
                    else {
                        continue;
                    };
                    let jk = job.key(stored);
                    if let Some((id, before, a)) = self.store_edit(jk, e, index, placeholder) {
                        let entry = self.reindex_alloc(before, &a, &k, jk);
                        by_job.write(&mut self.allocs_by_job, jk, k, Some(entry));
                        touched.mark(log, jk);
                        log.changed.allocs.push(id);
                    }
                    continue;
                }
                Staged::Whole(id, Some(a)) => {
                    let (old, new) = self.store_alloc(&k, a, index);
                    (id, old, new)
                }
                Staged::Whole(id, None) => (id, self.allocs.remove(&k), None),
            };
            if let (Some(o), Some(a)) = (&old, &new)
                && same_keys(o, a)
            {
                // An update on the same node, of the same job and evaluation (a stop,
                // a client status): only what moved is re-filed.
                let jk = job.key(a);
                let entry = self.reindex_alloc(Before::of(o), a, &k, jk);
                by_job.write(&mut self.allocs_by_job, jk, k, Some(entry));
                touched.mark(log, jk);
                if o.job_version != a.job_version {
                    log.spec_refs.insert(spec_key(o));
                }
                log.changed.allocs.push(id);
                continue;
            }
            if let Some(o) = &old {
                let jk = job.key(o);
                self.unindex_alloc(o, &k);
                by_job.write(&mut self.allocs_by_job, jk, k.clone(), None);
                touched.mark(log, jk);
                log.spec_refs.insert(spec_key(o));
                if new.is_none() {
                    log.collected.insert(jk.clone());
                }
            }
            if let Some(a) = new {
                let jk = job.key(&a);
                let p = priority.get(self, &a, jk);
                let entry = self.index_alloc_keyed(&a, k.clone(), p);
                by_job.write(&mut self.allocs_by_job, jk, k, Some(entry));
                touched.mark(log, jk);
                log.changed.allocs.push(id);
            }
        }
        by_job.flush(&mut self.allocs_by_job);
    }

    /// Stores an allocation at `index` with one search of the (big) map, whether it is
    /// new or not; returns the stored one it replaces, and the new one.
    fn store_alloc(
        &mut self,
        k: &Id,
        mut a: Arc<Allocation>,
        index: u64,
    ) -> (Option<Arc<Allocation>>, Option<Arc<Allocation>>) {
        // The change set's own `Arc` (not shared: no copy) is what is stored.
        let m = Arc::make_mut(&mut a);
        m.job = None;
        m.modify_index = index;
        match self.allocs.entry(k.clone()) {
            Entry::Vacant(v) => {
                m.create_index = index;
                v.insert(Arc::clone(&a));
                (None, Some(a))
            }
            Entry::Occupied(mut o) => {
                m.create_index = o.get().create_index;
                (Some(o.insert(Arc::clone(&a))), Some(a))
            }
        }
    }

    /// Re-files an updated allocation whose node, job and evaluation did not change
    /// ([`same_keys`]): its modify index and its node's live set move; the per-node
    /// and per-evaluation sets already hold its ID. Returns its new per-job entry (with
    /// its node's slot: slots never change, so the one it had, if any).
    fn reindex_alloc(
        &mut self,
        o: Before,
        a: &Arc<Allocation>,
        id: &Id,
        job: &JobKey,
    ) -> super::super::JobAlloc {
        let (was, now) = (o.usage, a.usage());
        let node = Id::new(&a.node_id);
        if was != crate::model::Usage::default() {
            self.nodes.remove_live_keyed(&node, id);
        }
        if now != crate::model::Usage::default() {
            let priority = self.spec_priority(a, job);
            let live = super::super::LiveAlloc {
                id: id.clone(),
                usage: now,
                priority,
            };
            self.nodes.add_live_keyed(&a.node_id, node.clone(), live);
        }
        if o.modify_index != a.modify_index {
            // The old entry goes stale by itself (see `modify_log`).
            self.allocs_by_modify.push(a.modify_index, id.clone());
        }
        super::super::JobAlloc::new(a, self.nodes.slot_of_key(&node))
    }

    /// Takes a stored allocation out of the per-node and per-evaluation indexes and
    /// its node's live set (the per-job index is the caller's). Each ID is parsed once
    /// for all the indexes.
    fn unindex_alloc(&mut self, o: &Allocation, id: &Id) {
        let node = Id::new(&o.node_id);
        if o.usage() != crate::model::Usage::default() {
            self.nodes.remove_live_keyed(&node, id);
        }
        self.allocs_by_node.unfile(&node, id);
        self.allocs_by_eval.unfile(&Id::new(&o.eval_id), id);
    }
}

/// The job key of the last allocation asked about, rebuilt only when the job changes.
#[derive(Default)]
struct JobKeyCache(Option<JobKey>);

impl JobKeyCache {
    fn key(&mut self, a: &Allocation) -> &JobKey {
        let fresh = self
            .0
            .as_ref()
            .is_none_or(|(ns, id)| *ns != a.namespace || *id != a.job_id);
        if fresh {
            self.0 = Some(key(&a.namespace, &a.job_id));
        }
        self.0.get_or_insert_with(|| key(&a.namespace, &a.job_id))
    }
}

/// The spec priority of the last job version asked about: a plan's placements are
/// nearly all of one version, and each lookup searched the job table by two strings.
#[derive(Default)]
struct PriorityCache(Option<(JobKey, u64, Option<i32>)>);

impl PriorityCache {
    fn get(&mut self, store: &StateStore, a: &Allocation, job: &JobKey) -> Option<i32> {
        if let Some((k, v, p)) = &self.0
            && *v == a.job_version
            && k == job
        {
            return *p;
        }
        let p = store.spec_priority(a, job);
        self.0 = Some((job.clone(), a.job_version, p));
        p
    }
}

/// Whether an update leaves every key the derived indexes file an allocation under
/// as it was: node, job and evaluation.
fn same_keys(o: &Allocation, a: &Allocation) -> bool {
    o.node_id == a.node_id
        && o.eval_id == a.eval_id
        && o.job_id == a.job_id
        && o.namespace == a.namespace
}

/// The key of the job spec an allocation runs.
fn spec_key(a: &Allocation) -> JobVersionKey {
    (a.namespace.to_string(), a.job_id.to_string(), a.job_version)
}
