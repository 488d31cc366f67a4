//! The strings and resource maps every allocation of one evaluation repeats, made once
//! and shared (see [`crate::model::Str`]).

use crate::model::{Job, Str};

/// The strings every allocation of one evaluation repeats, made once so each
/// allocation holds a reference, not a copy (see [`crate::model::Str`]).
#[derive(Debug, Clone, Default)]
pub struct SharedNames {
    /// The job's namespace.
    pub namespace: Str,
    /// The job's ID.
    pub job_id: Str,
    /// The evaluation's ID (set by the first placement: see [`SharedNames::eval`]).
    eval_id: Str,
    /// Each task group's name, by group index.
    pub groups: Vec<Str>,
    /// `run`.
    pub run: Str,
    /// `pending`.
    pub pending: Str,
    /// The resources of the last allocation built, whose maps the next one shares
    /// when it reserves the same (allocations of a group nearly always do).
    last_resources: Option<crate::model::AllocatedResources>,
    /// Per group index, the resources of a group that asks for no ports, devices or
    /// cores: the same for every allocation on every node, so built once.
    plain: Vec<Option<crate::model::AllocatedResources>>,
}

impl SharedNames {
    pub(super) fn new(job: &Job) -> Self {
        SharedNames {
            namespace: job.namespace.as_str().into(),
            job_id: job.id.as_str().into(),
            eval_id: Str::default(),
            groups: job
                .task_groups
                .iter()
                .map(|g| g.name.as_str().into())
                .collect(),
            run: crate::model::desired_status::RUN.into(),
            pending: crate::model::client_status::PENDING.into(),
            last_resources: None,
            plain: Vec::new(),
        }
    }

    /// The resources of group `gi` when it reserves nothing node-specific (no
    /// network, device or core), built by `build` the first time.
    pub fn plain_resources(
        &mut self,
        gi: usize,
        tg: &crate::model::TaskGroup,
        build: impl FnOnce() -> Option<crate::model::AllocatedResources>,
    ) -> Option<crate::model::AllocatedResources> {
        let plain = tg.networks.is_empty()
            && tg
                .tasks
                .iter()
                .all(|t| t.resources.devices.is_empty() && t.resources.cores == 0);
        if !plain {
            return build().map(|r| self.share_resources(r));
        }
        if self.plain.len() <= gi {
            self.plain.resize(gi + 1, None);
        }
        if let Some(r) = &self.plain[gi] {
            return Some(r.clone());
        }
        let r = build()?;
        self.plain[gi] = Some(r.clone());
        Some(r)
    }

    /// `r`, sharing the task maps of the previous allocation's resources when equal.
    pub fn share_resources(
        &mut self,
        mut r: crate::model::AllocatedResources,
    ) -> crate::model::AllocatedResources {
        if let Some(last) = &self.last_resources {
            if r.tasks == last.tasks {
                r.tasks.clone_from(&last.tasks);
            }
            if r.task_lifecycles == last.task_lifecycles {
                r.task_lifecycles.clone_from(&last.task_lifecycles);
            }
        }
        self.last_resources = Some(crate::model::AllocatedResources {
            tasks: r.tasks.clone(),
            task_lifecycles: r.task_lifecycles.clone(),
            shared: Default::default(),
        });
        r
    }

    /// The evaluation ID `id`, shared.
    pub fn eval(&mut self, id: &str) -> Str {
        if self.eval_id != id {
            self.eval_id = id.into();
        }
        self.eval_id.clone()
    }
}
