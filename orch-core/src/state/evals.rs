//! Evaluation commands (upsert, garbage collection) and the staging rules every command
//! that carries evaluations shares.

use super::changes::{Changes, Outcome};
use super::{EvalDelete, EvalUpsert, GcBatch, Response, StateError, StateStore, key};
use crate::model::{Evaluation, eval_status};

/// Refuses evaluations that could not be tracked: no ID, or a status Nomad does not have.
pub(super) fn validate_eval(e: &Evaluation) -> Result<(), StateError> {
    if e.id.is_empty() {
        return Err(StateError::Invalid(
            "evaluation has an empty ID; the caller must assign each evaluation a UUID".into(),
        ));
    }
    if !eval_status::ALL.contains(&e.status.as_str()) {
        return Err(StateError::Invalid(format!(
            "evaluation {:?} has unknown status {:?}; use one of {}",
            e.id,
            e.status,
            eval_status::ALL.join(", ")
        )));
    }
    Ok(())
}

/// Ties an evaluation created with a job command to that job: fills an empty namespace or
/// job ID, refuses a different job, and records the job modify index it was created for
/// (Nomad's FSM does the same with the Raft index).
pub(super) fn job_eval(
    eval: Option<Evaluation>,
    namespace: &str,
    job_id: &str,
    job_modify_index: u64,
) -> Result<Option<Evaluation>, StateError> {
    let Some(mut e) = eval else {
        return Ok(None);
    };
    if e.namespace.is_empty() {
        e.namespace = namespace.to_string();
    }
    if e.job_id.is_empty() {
        e.job_id = job_id.to_string();
    }
    if e.namespace != namespace || e.job_id != job_id {
        return Err(StateError::Invalid(format!(
            "evaluation {:?} is for job {:?} in namespace {:?}, but the command is for job {job_id:?} in namespace {namespace:?}; create the evaluation for the job being changed",
            e.id, e.job_id, e.namespace
        )));
    }
    e.job_modify_index = job_modify_index;
    Ok(Some(e))
}

impl StateStore {
    /// Stages evaluations into a change set. A successful completion (no failed groups)
    /// cancels the job's other blocked evaluations, as Nomad does: their placements are
    /// no longer outstanding.
    pub(super) fn stage_evals(
        &self,
        ch: &mut Changes,
        evals: impl IntoIterator<Item = Evaluation>,
    ) -> Result<(), StateError> {
        for e in evals {
            validate_eval(&e)?;
            let cancels_blocked =
                e.status == eval_status::COMPLETE && e.failed_tg_allocs.is_empty();
            let job = key(&e.namespace, &e.job_id);
            let done_id = e.id.clone();
            ch.evals.insert(e.id.clone(), Some(e));
            if !cancels_blocked {
                continue;
            }
            let mut ids: Vec<String> = self
                .evals_by_job
                .get(&job)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            ids.extend(ch.evals.iter().filter_map(|(id, staged)| {
                staged
                    .as_ref()
                    .filter(|s| key(&s.namespace, &s.job_id) == job)
                    .map(|_| id.clone())
            }));
            for id in ids {
                if id == done_id {
                    continue;
                }
                if ch
                    .eval(self, &id)
                    .is_some_and(|b| b.status == eval_status::BLOCKED)
                    && let Some(b) = ch.eval_mut(self, &id)
                {
                    b.status = eval_status::CANCELED.to_string();
                    b.status_description = format!("evaluation {done_id:?} successful");
                }
            }
        }
        Ok(())
    }

    pub(super) fn eval_upsert(&self, c: EvalUpsert) -> Outcome {
        let mut ch = Changes::default();
        let mut seen = std::collections::BTreeSet::new();
        for e in &c.evals {
            if !seen.insert(e.id.as_str()) {
                return Err(StateError::Invalid(format!(
                    "evaluation {:?} appears twice in one update; send each evaluation once",
                    e.id
                )));
            }
        }
        self.stage_evals(&mut ch, c.evals)?;
        Ok((ch, Response::default()))
    }

    pub(super) fn eval_delete(&self, c: EvalDelete) -> Outcome {
        let mut ch = Changes::default();
        for id in c.eval_ids {
            if self.evals.contains_key(&id) {
                ch.evals.insert(id, None);
            }
        }
        for id in c.alloc_ids {
            if self.allocs.contains_key(&super::Id::new(&id)) {
                ch.allocs.insert(id, None);
            }
        }
        Ok((ch, Response::default()))
    }

    /// Core GC: removes what the batch names and still exists. A purged job takes its
    /// versions along, exactly as `JobDeregister { purge: true }` does.
    pub(super) fn gc_batch(&self, c: GcBatch) -> Outcome {
        let mut ch = Changes::default();
        for id in c.evals {
            if self.evals.contains_key(&id) {
                ch.evals.insert(id, None);
            }
        }
        for id in c.allocs {
            if self.allocs.contains_key(&super::Id::new(&id)) {
                ch.allocs.insert(id, None);
            }
        }
        for (ns, id, modify_index) in c.jobs {
            let k = key(&ns, &id);
            if self
                .jobs
                .get(&k)
                .is_some_and(|j| j.modify_index == modify_index)
            {
                ch.jobs.insert(k, super::changes::JobChange::Purge);
            }
        }
        for id in c.deployments {
            if self.deployments.contains_key(&id) {
                ch.deployments.insert(id, None);
            }
        }
        for (id, modify_index) in c.nodes {
            if self
                .nodes
                .get(&id)
                .is_some_and(|n| n.modify_index == modify_index)
            {
                ch.nodes.insert(id, None);
            }
        }
        Ok((ch, Response::default()))
    }
}
