//! An allocation in the store's per-job index: the shared allocation, its node's slot,
//! and the few facts an evaluation of the job reads of every allocation, kept inline
//! so that a pass over a job of hundreds of allocations (every evaluation makes one)
//! follows no pointer for the ones that need nothing.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use crate::model::{Allocation, Str, client_status, desired_status};

/// Marks a [`JobAlloc`] whose node had no slot when it was stored.
pub(super) const NO_SLOT: u32 = u32::MAX;

/// An allocation in the per-job index, with its node's slot: slots never change for
/// the life of a store (a restore rebuilds the index with the table), so the slot
/// found when it was stored stays right. Compared by allocation only, since slots
/// differ between a live store and a restored one.
#[derive(Debug, Clone)]
pub(super) struct JobAlloc {
    pub alloc: Arc<Allocation>,
    pub slot: u32,
    /// [`JobAllocRef::at_rest`], computed when stored.
    at_rest: bool,
    /// Its job version.
    version: u64,
    /// Its group's name (the allocation's own shared string).
    group: Str,
}

impl JobAlloc {
    pub fn new(alloc: &Arc<Allocation>, slot: Option<u32>) -> Self {
        JobAlloc {
            alloc: Arc::clone(alloc),
            slot: slot.unwrap_or(NO_SLOT),
            at_rest: at_rest(alloc),
            version: alloc.job_version,
            group: alloc.task_group.clone(),
        }
    }

    /// The reader's view, with the slot resolved.
    pub fn as_ref<'a>(&'a self, id: &'a super::Id, slot: Option<u32>) -> JobAllocRef<'a> {
        JobAllocRef {
            id,
            alloc: &self.alloc,
            slot,
            at_rest: self.at_rest,
            version: self.version,
            group: &self.group,
        }
    }
}

impl PartialEq for JobAlloc {
    fn eq(&self, other: &Self) -> bool {
        self.alloc == other.alloc
    }
}

/// Running or pending as asked, with no transition asked for, no successor, not a
/// canary and no embedded job: an allocation the reconciler leaves alone when its
/// node is healthy and its version current (what [`JobAllocRef::at_rest`] says).
pub fn at_rest(a: &Allocation) -> bool {
    let t = &a.desired_transition;
    let status = a.client_status.as_str();
    a.desired_status == desired_status::RUN
        && (status == client_status::RUNNING || status == client_status::PENDING)
        && t.migrate != Some(true)
        && t.reschedule != Some(true)
        && t.force_reschedule != Some(true)
        && a.next_allocation.is_empty()
        && !a.deployment_status.as_ref().is_some_and(|s| s.canary)
        && a.job.is_none()
}

/// One of a job's allocations as the per-job index holds it.
#[derive(Debug, Clone, Copy)]
pub struct JobAllocRef<'a> {
    /// Its ID, as the index keys it (compared inline, no pointer to the string).
    pub id: &'a super::Id,
    /// The allocation.
    pub alloc: &'a Allocation,
    /// Its node's slot in the node table (`None`: its node has none).
    pub slot: Option<u32>,
    /// Running or pending as asked (so not terminal), with no transition, successor,
    /// canary flag or embedded job.
    pub at_rest: bool,
    /// Its job version.
    pub version: u64,
    /// Its task group.
    pub group: &'a str,
}

/// A job's allocations in the per-job index, by ID.
pub(super) type JobAllocs = BTreeMap<super::Id, JobAlloc>;

/// Writes to the per-job index gathered for one job at a time. The index is keyed by
/// `(namespace, job ID)`, two strings compared at every step of a search, and a
/// commit's allocations are nearly all of one job (it holds them in ID order, so
/// those of a plan's other jobs, preempted ones, interleave): the index is searched
/// once per run of one job's allocations instead of once per allocation. Writes of
/// different IDs commute, and each ID is written once per commit, so the index ends
/// as the per-allocation writes would leave it.
#[derive(Default)]
pub(super) struct JobIndexBatch {
    job: Option<super::JobKey>,
    /// `None`: take the allocation out.
    writes: Vec<(super::Id, Option<JobAlloc>)>,
}

impl JobIndexBatch {
    /// Queues a write for job `job`, first filing what was queued for another job.
    pub fn write(
        &mut self,
        index: &mut BTreeMap<super::JobKey, JobAllocs>,
        job: &super::JobKey,
        id: super::Id,
        entry: Option<JobAlloc>,
    ) {
        if self.job.as_ref() != Some(job) {
            self.flush(index);
            self.job = Some(job.clone());
        }
        self.writes.push((id, entry));
    }

    /// Files every queued write (one search of the index), dropping the job's entry
    /// if it is left with no allocation.
    pub fn flush(&mut self, index: &mut BTreeMap<super::JobKey, JobAllocs>) {
        let Some(job) = self.job.take() else {
            return;
        };
        let writes = std::mem::take(&mut self.writes);
        match index.entry(job) {
            Entry::Occupied(mut o) => {
                let allocs = o.get_mut();
                apply(allocs, writes);
                if allocs.is_empty() {
                    o.remove();
                }
            }
            Entry::Vacant(v) => {
                let mut allocs = JobAllocs::new();
                apply(&mut allocs, writes);
                if !allocs.is_empty() {
                    v.insert(allocs);
                }
            }
        }
    }
}

fn apply(allocs: &mut JobAllocs, writes: Vec<(super::Id, Option<JobAlloc>)>) {
    for (id, entry) in writes {
        match entry {
            Some(e) => {
                allocs.insert(id, e);
            }
            None => {
                allocs.remove(&id);
            }
        }
    }
}
