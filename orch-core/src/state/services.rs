//! The `nomad` service provider's catalog: registrations clients make for their running
//! allocations. Registrations of ended allocations are removed at commit
//! (`changes.rs`), so the catalog follows allocation state without client help.

use super::changes::{Changes, Outcome};
use super::{Response, ServiceDelete, ServiceUpsert, StateError, StateStore};
use crate::model::ServiceRegistration;

impl StateStore {
    /// A registration by ID.
    pub fn service(&self, id: &str) -> Option<&ServiceRegistration> {
        self.services.get(id)
    }

    /// Every registration, ordered by ID.
    pub fn services(&self) -> impl Iterator<Item = &ServiceRegistration> {
        self.services.values()
    }

    /// Registrations of one allocation.
    pub fn services_by_alloc(&self, alloc_id: &str) -> Vec<&ServiceRegistration> {
        self.services_by_alloc
            .get(alloc_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.services.get(id))
            .collect()
    }

    pub(super) fn service_upsert(&self, c: ServiceUpsert) -> Outcome {
        let mut ch = Changes::default();
        for (i, s) in c.services.into_iter().enumerate() {
            if s.id.is_empty() || s.service_name.is_empty() {
                return Err(StateError::Invalid(format!(
                    "Services[{i}]: a registration needs an ID and a ServiceName"
                )));
            }
            let Some(alloc) = self.allocs.get(&super::Id::new(&s.alloc_id)) else {
                return Err(StateError::Invalid(format!(
                    "Services[{i}].AllocID: allocation {:?} not found",
                    s.alloc_id
                )));
            };
            if alloc.terminal() {
                // Raced with the allocation ending: nothing to register.
                continue;
            }
            if alloc.node_id != s.node_id {
                return Err(StateError::Invalid(format!(
                    "Services[{i}].NodeID: allocation {} runs on node {}, not {}",
                    s.alloc_id, alloc.node_id, s.node_id
                )));
            }
            if self.services.get(&s.id).is_some_and(|old| {
                ServiceRegistration {
                    create_index: 0,
                    modify_index: 0,
                    ..old.clone()
                } == s
            }) {
                continue; // Unchanged: a periodic re-registration writes nothing.
            }
            ch.services.insert(s.id.clone(), Some(s));
        }
        Ok((ch, Response::default()))
    }

    pub(super) fn service_delete(&self, c: ServiceDelete) -> Outcome {
        let mut ch = Changes::default();
        for id in c.ids {
            if self.services.contains_key(&id) {
                ch.services.insert(id, None);
            }
        }
        for alloc in c.alloc_ids {
            for id in self.services_by_alloc.get(&alloc).into_iter().flatten() {
                ch.services.insert(id.clone(), None);
            }
        }
        Ok((ch, Response::default()))
    }
}

#[cfg(test)]
mod tests;
