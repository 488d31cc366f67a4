//! Nomad's default policies, per job type, in one place so the JSON merge stage and the
//! typed stage can never disagree.

use crate::model::job_type;
use crate::model::wire::SECOND;
use crate::model::{MigrateStrategy, ReschedulePolicy, RestartPolicy, UpdateStrategy};

const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// Restart policy a group gets when it sets none: services and system jobs retry twice in
/// 30 minutes, batch work three times a day; both fail the allocation afterwards.
pub fn restart_policy(job_type: &str) -> RestartPolicy {
    let (attempts, interval) = match job_type {
        job_type::SERVICE | job_type::SYSTEM => (2, 30 * MINUTE),
        _ => (3, 24 * HOUR),
    };
    RestartPolicy {
        attempts,
        interval,
        delay: 15 * SECOND,
        mode: "fail".into(),
        render_templates: false,
    }
}

/// Reschedule policy a group gets when it sets none. System jobs get none at all (they
/// may not have one); sysbatch gets an all-zero policy that never reschedules.
pub fn reschedule_policy(job_type: &str) -> Option<ReschedulePolicy> {
    match job_type {
        job_type::SERVICE => Some(ReschedulePolicy {
            attempts: 0,
            interval: 0,
            delay: 30 * SECOND,
            delay_function: "exponential".into(),
            max_delay: HOUR,
            unlimited: true,
        }),
        job_type::BATCH => Some(ReschedulePolicy {
            attempts: 1,
            interval: 24 * HOUR,
            delay: 5 * SECOND,
            delay_function: "constant".into(),
            max_delay: 0,
            unlimited: false,
        }),
        job_type::SYSTEM => None,
        _ => Some(ReschedulePolicy::default()),
    }
}

/// The update strategy Nomad fills under any partial `update` block, and gives every
/// service group that has none.
pub fn update_strategy() -> UpdateStrategy {
    UpdateStrategy {
        stagger: 30 * SECOND,
        max_parallel: 1,
        health_check: "checks".into(),
        min_healthy_time: 10 * SECOND,
        healthy_deadline: 5 * MINUTE,
        progress_deadline: 10 * MINUTE,
        canary: 0,
        auto_revert: false,
        auto_promote: false,
        ordered: false,
        gate: None,
    }
}

/// The migrate strategy of service groups.
pub fn migrate_strategy() -> MigrateStrategy {
    MigrateStrategy {
        max_parallel: 1,
        health_check: "checks".into(),
        min_healthy_time: 10 * SECOND,
        healthy_deadline: 5 * MINUTE,
    }
}
