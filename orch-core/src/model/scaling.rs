//! Scaling events: the replicated history of a group's count changes (manual
//! `job scale` and autoscaler actions), Nomad's `ScalingEvent`. The autoscaler derives its
//! cooldown from them, so a new leader knows when the last action happened.

use serde::{Deserialize, Serialize};

use super::wire::FreeForm;

/// Events kept per task group, newest first (Nomad's `JobTrackedScalingEvents`).
pub const TRACKED_SCALING_EVENTS: usize = 20;

/// One scaling action or scaling error of a task group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingEvent {
    /// Unix nanoseconds of the request.
    #[serde(rename = "Time")]
    pub time: i64,
    /// New count; `None` for an event that only reports an error.
    #[serde(rename = "Count")]
    pub count: Option<i64>,
    /// Count before the action.
    #[serde(rename = "PreviousCount")]
    pub previous_count: i64,
    /// Why, in the caller's words.
    #[serde(rename = "Message")]
    pub message: String,
    /// True when this event reports a failure rather than an action.
    #[serde(rename = "Error")]
    pub error: bool,
    /// Caller's details (the autoscaler puts its policy ID and reasons here).
    #[serde(rename = "Meta")]
    pub meta: FreeForm,
    /// Evaluation created by the action.
    #[serde(rename = "EvalID")]
    pub eval_id: Option<String>,
    /// Raft index that recorded it.
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
}

impl ScalingEvent {
    /// True for an event that changed the count (what starts a cooldown).
    pub fn is_action(&self) -> bool {
        !self.error && self.count.is_some()
    }
}
