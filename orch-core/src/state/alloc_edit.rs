//! A plan's stops and preemptions staged as the fields they set, not as copies.
//!
//! A stop changes five or six fields of an allocation that holds a few dozen
//! (strings, resource maps, metrics). Staged through [`Changes::alloc_mut`] it copied
//! the whole allocation out of the store (the store's `Arc` is shared with the change
//! set, so `make_mut` clones it), and the commit then dropped the old one: churn's
//! ~10,000 lost allocations each paid a clone of some ten heap blocks and their frees.
//! An [`AllocEdit`] records the new values only; the commit writes them into the
//! stored allocation in place (`Arc::make_mut` copies only when a reader outside the
//! store still shares it). What is stored afterwards is exactly what the copy would
//! have been.
//!
//! Edits are kept in a vector (sorted by ID once staging is done, see
//! [`Changes::sort_edits`]) rather than a map: a B-tree node holds eleven of them
//! inline and shifts them on every insert. A command stages each ID once (plans are
//! checked for repeated IDs first), and whoever needs the whole allocation of an
//! edited ID in the same command ([`Changes::alloc_mut`]) gets the edit applied to a
//! copy, which then replaces it: edits and whole allocations never hold the same ID.

use std::sync::Arc;

use super::changes::Changes;
use super::{Id, StateStore};
use crate::model::{Allocation, Str, Usage};

/// The fields a plan's stop or preemption sets on a stored allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AllocEdit {
    /// The allocation's ID, parsed once.
    pub key: Id,
    /// The allocation's ID as the command named it (what the commit reports).
    pub id: String,
    pub desired_status: Str,
    pub desired_description: String,
    /// A client status the scheduler decided (`lost`), if any.
    pub client_status: Option<Str>,
    /// The allocation that preempted it (a preemption only).
    pub preempted_by: Option<String>,
    /// The replacement the plan places for it (`NextAllocation`).
    pub next_allocation: Option<String>,
    /// `AllocModifyIndex`: the commit's index.
    pub alloc_modify_index: u64,
    pub modify_time: i64,
}

impl AllocEdit {
    /// Writes the edit into `a`, as the staged copy was written; returns the ID.
    pub fn apply(self, a: &mut Allocation) -> String {
        a.desired_status = self.desired_status;
        a.desired_description = self.desired_description;
        if let Some(cs) = self.client_status {
            a.client_status = cs;
        }
        if let Some(by) = self.preempted_by {
            a.preempted_by_allocation = by;
        }
        a.alloc_modify_index = self.alloc_modify_index;
        a.modify_time = self.modify_time;
        if let Some(next) = self.next_allocation {
            a.next_allocation = next;
        }
        self.id
    }
}

impl Changes {
    /// Stages `edit` of a stored allocation (an ID staged whole takes the edit on
    /// its staged copy instead); the ID back when there is no such allocation.
    /// The caller stages each ID once per command.
    pub fn edit_alloc(&mut self, store: &StateStore, edit: AllocEdit) -> Result<(), String> {
        if !self.allocs.is_empty() && self.allocs.contains_key(&edit.id) {
            let id = edit.id.clone();
            return match self.alloc_mut(store, &id) {
                Some(a) => {
                    edit.apply(a);
                    Ok(())
                }
                None => Err(id),
            };
        }
        if !store.allocs.contains_key(&edit.key) {
            return Err(edit.id);
        }
        self.edits_sorted = false;
        self.alloc_edits.push(edit);
        Ok(())
    }

    /// Puts the staged edits in ID order (what the commit and [`Self::alloc_edit_mut`]
    /// expect); call once staging edits is done.
    pub fn sort_edits(&mut self) {
        if !self.edits_sorted {
            self.alloc_edits.sort_unstable_by(|a, b| a.key.cmp(&b.key));
            self.edits_sorted = true;
        }
    }

    /// Where the staged edit of `key` is, if it is staged as one.
    fn edit_position(&self, key: &Id) -> Option<usize> {
        if self.edits_sorted {
            self.alloc_edits.binary_search_by(|e| e.key.cmp(key)).ok()
        } else {
            self.alloc_edits.iter().position(|e| e.key == *key)
        }
    }

    /// The staged edit of an allocation, if it is staged as one.
    pub fn alloc_edit_mut(&mut self, id: &str) -> Option<&mut AllocEdit> {
        if self.alloc_edits.is_empty() {
            return None;
        }
        let at = self.edit_position(&Id::new(id))?;
        self.alloc_edits.get_mut(at)
    }

    /// Turns a staged edit of `id` into a staged copy (for a caller that needs the
    /// whole allocation).
    pub(super) fn materialize_edit(&mut self, store: &StateStore, id: &str) {
        if self.alloc_edits.is_empty() {
            return;
        }
        let key = Id::new(id);
        let Some(at) = self.edit_position(&key) else {
            return;
        };
        let edit = self.alloc_edits.remove(at);
        if let Some(stored) = store.allocs.get(&key) {
            let mut a = (**stored).clone();
            edit.apply(&mut a);
            self.allocs.insert(id.to_string(), Some(Arc::new(a)));
        }
    }
}

/// What the commit needs of an edited allocation as it was: its usage and its
/// modify index (the per-node live set and the modify log are re-filed from them).
pub(super) struct Before {
    pub usage: Usage,
    pub modify_index: u64,
}

impl StateStore {
    /// Writes `edit` into the stored allocation of job `job` at `index`; returns its
    /// ID, what it was and the stored allocation. `None` when it is gone (staging
    /// checked it exists, and nothing in between removes it).
    ///
    /// The per-job index shares the stored `Arc`: its entry is pointed at
    /// `placeholder` first, so the write is in place (a copy only if some reader
    /// outside the store shares it). The caller files the entry anew, as for any
    /// update.
    pub(super) fn store_edit(
        &mut self,
        job: &super::JobKey,
        edit: AllocEdit,
        index: u64,
        placeholder: &Arc<Allocation>,
    ) -> Option<(String, Before, Arc<Allocation>)> {
        use std::collections::hash_map::Entry;
        let Entry::Occupied(mut slot) = self.allocs.entry(edit.key.clone()) else {
            return None;
        };
        if let Some(e) = self
            .allocs_by_job
            .get_mut(job)
            .and_then(|allocs| allocs.get_mut(&edit.key))
        {
            e.alloc = Arc::clone(placeholder);
        }
        let stored = slot.get_mut();
        let before = Before {
            usage: stored.usage(),
            modify_index: stored.modify_index,
        };
        let a = Arc::make_mut(stored);
        let id = edit.apply(a);
        a.job = None;
        a.modify_index = index;
        Some((id, before, Arc::clone(stored)))
    }
}

/// The `Str`s a plan's stops repeat, made once per plan (each stop then shares them
/// instead of allocating its own copy of `stop` and `lost`).
#[derive(Default)]
pub(super) struct EditStrs {
    last_client: Option<(String, Str)>,
}

impl EditStrs {
    /// `status` as a shared string (the previous one's when equal).
    pub fn client(&mut self, status: String) -> Str {
        match &self.last_client {
            Some((text, shared)) if *text == status => shared.clone(),
            _ => {
                let shared = Str::from(status.as_str());
                self.last_client = Some((status, shared.clone()));
                shared
            }
        }
    }
}
