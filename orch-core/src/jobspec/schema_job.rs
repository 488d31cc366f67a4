//! Schemas for the job and group levels and the scheduling blocks shared by
//! several levels (constraint, affinity, spread, update, ...).
//!
//! Names follow Nomad's `api` package: the HCL name is the struct field's
//! `hcl:"..."` tag and the JSON name is the Go field name.

use super::convert::Kind;
use super::decode::{Attr, Blk, EMPTY, Mode, Schema};
use super::schema_task::{NETWORK, SERVICE, TASK, VAULT};
use super::special;

/// Shorthand for an [`Attr`].
macro_rules! a {
    ($h:literal, $j:literal, $k:ident) => {
        Attr {
            hcl: $h,
            json: $j,
            kind: Kind::$k,
        }
    };
}
pub(crate) use a;

/// Shorthand for a [`Blk`], with an optional post-processing function.
macro_rules! b {
    ($h:literal, $j:literal, $m:expr, $s:expr) => {
        Blk {
            hcl: $h,
            json: $j,
            mode: $m,
            schema: &$s,
            post: None,
        }
    };
    ($h:literal, $j:literal, $m:expr, $s:expr, $p:expr) => {
        Blk {
            hcl: $h,
            json: $j,
            mode: $m,
            schema: &$s,
            post: Some($p),
        }
    };
}
pub(crate) use b;

/// `constraint { ... }` as accepted in job, group, task and device blocks.
macro_rules! constraint_blk {
    () => {
        b!(
            "constraint",
            "Constraints",
            Mode::Repeated,
            $crate::jobspec::schema_job::CONSTRAINT,
            $crate::jobspec::special::constraint
        )
    };
}
pub(crate) use constraint_blk;

/// `affinity { ... }` as accepted in job, group, task and device blocks.
macro_rules! affinity_blk {
    () => {
        b!(
            "affinity",
            "Affinities",
            Mode::Repeated,
            $crate::jobspec::schema_job::AFFINITY,
            $crate::jobspec::special::affinity
        )
    };
}
pub(crate) use affinity_blk;

/// Raw constraint attributes; `special::constraint` maps them to
/// `LTarget`/`RTarget`/`Operand`.
pub(crate) static CONSTRAINT: Schema = Schema {
    name: "constraint",
    attrs: &[
        a!("attribute", "attribute", Str),
        a!("value", "value", Str),
        a!("operator", "operator", Str),
        a!("distinct_hosts", "distinct_hosts", Bool),
        a!("distinct_property", "distinct_property", Str),
        a!("regexp", "regexp", Str),
        a!("version", "version", Str),
        a!("semver", "semver", Str),
        a!("set_contains", "set_contains", Str),
        a!("set_contains_any", "set_contains_any", Str),
        a!("set_contains_all", "set_contains_all", Str),
        a!("is_set", "is_set", Str),
        a!("is_not_set", "is_not_set", Str),
    ],
    blocks: &[],
};

/// Raw affinity attributes; `special::affinity` maps them.
pub(crate) static AFFINITY: Schema = Schema {
    name: "affinity",
    attrs: &[
        a!("attribute", "attribute", Str),
        a!("value", "value", Str),
        a!("operator", "operator", Str),
        a!("weight", "weight", Int),
        a!("regexp", "regexp", Str),
        a!("version", "version", Str),
        a!("semver", "semver", Str),
        a!("set_contains", "set_contains", Str),
        a!("set_contains_any", "set_contains_any", Str),
        a!("set_contains_all", "set_contains_all", Str),
    ],
    blocks: &[],
};

static SPREAD_TARGET: Schema = Schema {
    name: "target",
    attrs: &[a!("percent", "Percent", Int)],
    blocks: &[],
};

static SPREAD: Schema = Schema {
    name: "spread",
    attrs: &[
        a!("attribute", "Attribute", Str),
        a!("weight", "Weight", Int),
    ],
    blocks: &[b!(
        "target",
        "SpreadTarget",
        Mode::Labeled("Value"),
        SPREAD_TARGET
    )],
};

static UPDATE: Schema = Schema {
    name: "update",
    attrs: &[
        a!("stagger", "Stagger", Dur),
        a!("max_parallel", "MaxParallel", Int),
        a!("health_check", "HealthCheck", Str),
        a!("min_healthy_time", "MinHealthyTime", Dur),
        a!("healthy_deadline", "HealthyDeadline", Dur),
        a!("progress_deadline", "ProgressDeadline", Dur),
        a!("canary", "Canary", Int),
        a!("auto_revert", "AutoRevert", Bool),
        a!("auto_promote", "AutoPromote", Bool),
        a!("ordered", "Ordered", Bool),
    ],
    blocks: &[b!("gate", "Gate", Mode::Single, GATE)],
};

/// orch's `gate { source, query, condition, for, deadline }` in an `update` block
/// (README, "Beyond Nomad").
static GATE: Schema = Schema {
    name: "gate",
    attrs: &[
        a!("source", "Source", Str),
        a!("query", "Query", Str),
        a!("condition", "Condition", Str),
        a!("for", "For", Dur),
        a!("deadline", "Deadline", Dur),
    ],
    blocks: &[],
};

/// orch's `depends_on { job, condition }` on a job or a group (README, "Beyond Nomad").
static DEPENDS_ON: Schema = Schema {
    name: "depends_on",
    attrs: &[a!("job", "Job", Str), a!("condition", "Condition", Str)],
    blocks: &[],
};

static MIGRATE: Schema = Schema {
    name: "migrate",
    attrs: &[
        a!("max_parallel", "MaxParallel", Int),
        a!("health_check", "HealthCheck", Str),
        a!("min_healthy_time", "MinHealthyTime", Dur),
        a!("healthy_deadline", "HealthyDeadline", Dur),
    ],
    blocks: &[],
};

static RESCHEDULE: Schema = Schema {
    name: "reschedule",
    attrs: &[
        a!("attempts", "Attempts", Int),
        a!("interval", "Interval", Dur),
        a!("delay", "Delay", Dur),
        a!("delay_function", "DelayFunction", Str),
        a!("max_delay", "MaxDelay", Dur),
        a!("unlimited", "Unlimited", Bool),
    ],
    blocks: &[],
};

/// `restart { ... }` (group and task level).
pub(crate) static RESTART: Schema = Schema {
    name: "restart",
    attrs: &[
        a!("attempts", "Attempts", Int),
        a!("interval", "Interval", Dur),
        a!("delay", "Delay", Dur),
        a!("mode", "Mode", Str),
        a!("render_templates", "RenderTemplates", Bool),
    ],
    blocks: &[],
};

static PERIODIC: Schema = Schema {
    name: "periodic",
    attrs: &[
        a!("cron", "Spec", Str),
        a!("crons", "Specs", StrList),
        a!("prohibit_overlap", "ProhibitOverlap", Bool),
        a!("time_zone", "TimeZone", Str),
        a!("enabled", "Enabled", Bool),
    ],
    blocks: &[],
};

static PARAMETERIZED: Schema = Schema {
    name: "parameterized",
    attrs: &[
        a!("payload", "Payload", Str),
        a!("meta_required", "MetaRequired", StrList),
        a!("meta_optional", "MetaOptional", StrList),
    ],
    blocks: &[],
};

static EPHEMERAL_DISK: Schema = Schema {
    name: "ephemeral_disk",
    attrs: &[
        a!("sticky", "Sticky", Bool),
        a!("migrate", "Migrate", Bool),
        a!("size", "SizeMB", Int),
    ],
    blocks: &[],
};

static MOUNT_OPTIONS: Schema = Schema {
    name: "mount_options",
    attrs: &[
        a!("fs_type", "FSType", Str),
        a!("mount_flags", "MountFlags", StrList),
    ],
    blocks: &[],
};

static VOLUME: Schema = Schema {
    name: "volume",
    attrs: &[
        a!("type", "Type", Str),
        a!("source", "Source", Str),
        a!("read_only", "ReadOnly", Bool),
        a!("sticky", "Sticky", Bool),
        a!("access_mode", "AccessMode", Str),
        a!("attachment_mode", "AttachmentMode", Str),
        a!("per_alloc", "PerAlloc", Bool),
    ],
    blocks: &[b!(
        "mount_options",
        "MountOptions",
        Mode::Single,
        MOUNT_OPTIONS
    )],
};

/// `scaling { ... }` body (group, and task-level `scaling "cpu"|"mem"`).
pub(crate) static SCALING: Schema = Schema {
    name: "scaling",
    attrs: &[
        a!("min", "Min", Int),
        a!("max", "Max", Int),
        a!("enabled", "Enabled", Bool),
        a!("type", "Type", Str),
    ],
    blocks: &[b!("policy", "Policy", Mode::FreeForm, EMPTY)],
};

static DISCONNECT: Schema = Schema {
    name: "disconnect",
    attrs: &[
        a!("lost_after", "LostAfter", Dur),
        a!("replace", "Replace", Bool),
        a!("reconcile", "Reconcile", Str),
        a!("stop_on_client_after", "StopOnClientAfter", Dur),
    ],
    blocks: &[],
};

/// `consul { ... }` (group and task level).
pub(crate) static CONSUL: Schema = Schema {
    name: "consul",
    attrs: &[
        a!("namespace", "Namespace", Str),
        a!("cluster", "Cluster", Str),
        a!("partition", "Partition", Str),
    ],
    blocks: &[],
};

static UI_LINK: Schema = Schema {
    name: "link",
    attrs: &[a!("label", "Label", Str), a!("url", "URL", Str)],
    blocks: &[],
};

static UI: Schema = Schema {
    name: "ui",
    attrs: &[a!("description", "Description", Str)],
    blocks: &[b!("link", "Links", Mode::Repeated, UI_LINK)],
};

/// `group "name" { ... }`.
pub(crate) static GROUP: Schema = Schema {
    name: "group",
    attrs: &[
        a!("count", "Count", Int),
        a!("meta", "Meta", StrMap),
        a!("shutdown_delay", "ShutdownDelay", Dur),
        a!(
            "stop_after_client_disconnect",
            "StopAfterClientDisconnect",
            Dur
        ),
        a!("max_client_disconnect", "MaxClientDisconnect", Dur),
        a!(
            "prevent_reschedule_on_lost",
            "PreventRescheduleOnLost",
            Bool
        ),
        a!("resume", "Resume", Str),
    ],
    blocks: &[
        b!("task", "Tasks", Mode::Labeled("Name"), TASK),
        constraint_blk!(),
        affinity_blk!(),
        b!("spread", "Spreads", Mode::Repeated, SPREAD),
        b!("restart", "RestartPolicy", Mode::Single, RESTART),
        b!("reschedule", "ReschedulePolicy", Mode::Single, RESCHEDULE),
        b!("update", "Update", Mode::Single, UPDATE),
        b!("migrate", "Migrate", Mode::Single, MIGRATE),
        b!(
            "ephemeral_disk",
            "EphemeralDisk",
            Mode::Single,
            EPHEMERAL_DISK
        ),
        b!(
            "network",
            "Networks",
            Mode::Repeated,
            NETWORK,
            special::network
        ),
        b!("service", "Services", Mode::Repeated, SERVICE),
        b!("volume", "Volumes", Mode::LabeledMap("Name"), VOLUME),
        b!(
            "scaling",
            "Scaling",
            Mode::Single,
            SCALING,
            special::group_scaling
        ),
        b!("disconnect", "Disconnect", Mode::Single, DISCONNECT),
        b!("consul", "Consul", Mode::Single, CONSUL),
        b!("vault", "Vault", Mode::Single, VAULT, special::vault),
        b!("depends_on", "DependsOn", Mode::Repeated, DEPENDS_ON),
    ],
};

/// `job "name" { ... }`.
pub(crate) static JOB: Schema = Schema {
    name: "job",
    attrs: &[
        a!("id", "ID", Str),
        a!("name", "Name", Str),
        a!("region", "Region", Str),
        a!("namespace", "Namespace", Str),
        a!("type", "Type", Str),
        a!("priority", "Priority", Int),
        a!("all_at_once", "AllAtOnce", Bool),
        a!("datacenters", "Datacenters", StrList),
        a!("node_pool", "NodePool", Str),
        a!("meta", "Meta", StrMap),
        a!("vault_token", "VaultToken", Str),
        a!("vault_namespace", "VaultNamespace", Str),
        a!("consul_token", "ConsulToken", Str),
        a!("consul_namespace", "ConsulNamespace", Str),
    ],
    blocks: &[
        b!(
            "group",
            "TaskGroups",
            Mode::Labeled("Name"),
            GROUP,
            special::group
        ),
        constraint_blk!(),
        affinity_blk!(),
        b!("spread", "Spreads", Mode::Repeated, SPREAD),
        b!("update", "Update", Mode::Single, UPDATE),
        b!("migrate", "Migrate", Mode::Single, MIGRATE),
        b!("reschedule", "Reschedule", Mode::Single, RESCHEDULE),
        b!(
            "periodic",
            "Periodic",
            Mode::Single,
            PERIODIC,
            special::periodic
        ),
        b!(
            "parameterized",
            "ParameterizedJob",
            Mode::Single,
            PARAMETERIZED
        ),
        b!("vault", "Vault", Mode::Single, VAULT, special::vault),
        b!("ui", "UI", Mode::Single, UI),
        b!("depends_on", "DependsOn", Mode::Repeated, DEPENDS_ON),
        b!(
            "multiregion",
            "Multiregion",
            Mode::Refused(
                "multi-region deployments are a Nomad Enterprise feature that orch does not implement"
            ),
            EMPTY
        ),
    ],
};
