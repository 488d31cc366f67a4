//! Schemas for the task level: task, resources, services/checks,
//! templates, artifacts and the other task-scoped blocks.
//!
//! Names follow Nomad's `api` package (`hcl:"..."` tag → Go field name).

use super::convert::Kind;
use super::decode::{Attr, Blk, EMPTY, Mode, Schema};
use super::schema_job::{CONSUL, RESTART, a, affinity_blk, b, constraint_blk};
use super::special;

static PORT: Schema = Schema {
    name: "port",
    attrs: &[
        a!("static", "Value", Int),
        a!("to", "To", Int),
        a!("host_network", "HostNetwork", Str),
        a!("ignore_collision", "IgnoreCollision", Bool),
    ],
    blocks: &[],
};

static DNS: Schema = Schema {
    name: "dns",
    attrs: &[
        a!("servers", "Servers", StrList),
        a!("searches", "Searches", StrList),
        a!("options", "Options", StrList),
    ],
    blocks: &[],
};

/// `network { ... }` (group level, and deprecated task `resources` level).
pub(crate) static NETWORK: Schema = Schema {
    name: "network",
    attrs: &[
        a!("mode", "Mode", Str),
        a!("device", "Device", Str),
        a!("cidr", "CIDR", Str),
        a!("ip", "IP", Str),
        a!("mbits", "MBits", Int),
        a!("hostname", "Hostname", Str),
    ],
    blocks: &[
        b!("dns", "DNS", Mode::Single, DNS),
        b!("port", "DynamicPorts", Mode::Labeled("Label"), PORT),
        b!(
            "reserved_ports",
            "ReservedPorts",
            Mode::Labeled("Label"),
            PORT
        ),
    ],
};

static DEVICE: Schema = Schema {
    name: "device",
    attrs: &[a!("count", "Count", Int), a!("share", "Share", Num)],
    blocks: &[constraint_blk!(), affinity_blk!()],
};

static NUMA: Schema = Schema {
    name: "numa",
    attrs: &[
        a!("affinity", "Affinity", Str),
        a!("devices", "Devices", StrList),
    ],
    blocks: &[],
};

static RESOURCES: Schema = Schema {
    name: "resources",
    attrs: &[
        a!("cpu", "CPU", Int),
        a!("cores", "Cores", Int),
        a!("memory", "MemoryMB", Int),
        a!("memory_max", "MemoryMaxMB", Int),
        a!("disk", "DiskMB", Int),
        a!("iops", "IOPS", Int),
        a!("secrets", "SecretsMB", Int),
    ],
    blocks: &[
        b!(
            "network",
            "Networks",
            Mode::Repeated,
            NETWORK,
            special::network
        ),
        b!("device", "Devices", Mode::Labeled("Name"), DEVICE),
        b!("numa", "NUMA", Mode::Single, NUMA),
    ],
};

static CHECK_RESTART: Schema = Schema {
    name: "check_restart",
    attrs: &[
        a!("limit", "Limit", Int),
        a!("grace", "Grace", Dur),
        a!("ignore_warnings", "IgnoreWarnings", Bool),
    ],
    blocks: &[],
};

static CHECK: Schema = Schema {
    name: "check",
    attrs: &[
        a!("name", "Name", Str),
        a!("type", "Type", Str),
        a!("command", "Command", Str),
        a!("args", "Args", StrList),
        a!("path", "Path", Str),
        a!("protocol", "Protocol", Str),
        a!("port", "PortLabel", Str),
        a!("expose", "Expose", Bool),
        a!("address_mode", "AddressMode", Str),
        a!("advertise", "Advertise", Str),
        a!("interval", "Interval", Dur),
        a!("timeout", "Timeout", Dur),
        a!("initial_status", "InitialStatus", Str),
        a!("notes", "Notes", Str),
        a!("tls_server_name", "TLSServerName", Str),
        a!("tls_skip_verify", "TLSSkipVerify", Bool),
        a!("header", "Header", StrListMap),
        a!("method", "Method", Str),
        a!("body", "Body", Str),
        a!("grpc_service", "GRPCService", Str),
        a!("grpc_use_tls", "GRPCUseTLS", Bool),
        a!("task", "TaskName", Str),
        a!("success_before_passing", "SuccessBeforePassing", Int),
        a!("failures_before_critical", "FailuresBeforeCritical", Int),
        a!("failures_before_warning", "FailuresBeforeWarning", Int),
        a!("on_update", "OnUpdate", Str),
    ],
    blocks: &[b!(
        "check_restart",
        "CheckRestart",
        Mode::Single,
        CHECK_RESTART
    )],
};

/// `identity { ... }` (workload identity) for tasks and services.
pub(crate) static IDENTITY: Schema = Schema {
    name: "identity",
    attrs: &[
        a!("name", "Name", Str),
        a!("aud", "Audience", StrList),
        a!("change_mode", "ChangeMode", Str),
        a!("change_signal", "ChangeSignal", Str),
        a!("env", "Env", Bool),
        a!("file", "File", Bool),
        a!("filepath", "Filepath", Str),
        a!("ttl", "TTL", Dur),
    ],
    blocks: &[],
};

/// `service { ... }` (group and task level).
pub(crate) static SERVICE: Schema = Schema {
    name: "service",
    attrs: &[
        a!("name", "Name", Str),
        a!("port", "PortLabel", Str),
        a!("tags", "Tags", StrList),
        a!("canary_tags", "CanaryTags", StrList),
        a!("enable_tag_override", "EnableTagOverride", Bool),
        a!("address_mode", "AddressMode", Str),
        a!("address", "Address", Str),
        a!("task", "TaskName", Str),
        a!("on_update", "OnUpdate", Str),
        a!("provider", "Provider", Str),
        a!("cluster", "Cluster", Str),
        a!("kind", "Kind", Str),
        a!("meta", "Meta", StrMap),
        a!("canary_meta", "CanaryMeta", StrMap),
        a!("tagged_addresses", "TaggedAddresses", StrMap),
    ],
    blocks: &[
        b!("check", "Checks", Mode::Repeated, CHECK),
        b!("check_restart", "CheckRestart", Mode::Single, CHECK_RESTART),
        b!("identity", "Identity", Mode::Single, IDENTITY),
        b!(
            "connect",
            "Connect",
            Mode::Refused("Consul Connect service mesh (sidecars, gateways) is not implemented"),
            EMPTY
        ),
    ],
};

/// `vault { ... }` (job, group and task level).
pub(crate) static VAULT: Schema = Schema {
    name: "vault",
    attrs: &[
        a!("policies", "Policies", StrList),
        a!("namespace", "Namespace", Str),
        a!("env", "Env", Bool),
        a!("disable_file", "DisableFile", Bool),
        a!("change_mode", "ChangeMode", Str),
        a!("change_signal", "ChangeSignal", Str),
        a!("role", "Role", Str),
        a!("cluster", "Cluster", Str),
        a!("allow_token_renewal", "AllowTokenRenewal", Bool),
    ],
    blocks: &[],
};

static LIFECYCLE: Schema = Schema {
    name: "lifecycle",
    attrs: &[
        a!("hook", "Hook", Str),
        a!("sidecar", "Sidecar", Bool),
        a!("depends_on", "DependsOn", StrList),
        a!("condition", "Condition", Str),
    ],
    blocks: &[],
};

static LOGS: Schema = Schema {
    name: "logs",
    attrs: &[
        a!("max_files", "MaxFiles", Int),
        a!("max_file_size", "MaxFileSizeMB", Int),
        a!("disabled", "Disabled", Bool),
        a!("enabled", "Enabled", Bool),
    ],
    blocks: &[],
};

static ARTIFACT: Schema = Schema {
    name: "artifact",
    attrs: &[
        a!("source", "GetterSource", Str),
        a!("destination", "RelativeDest", Str),
        a!("mode", "GetterMode", Str),
        a!("options", "GetterOptions", StrMap),
        a!("headers", "GetterHeaders", StrMap),
        a!("insecure", "GetterInsecure", Bool),
        a!("chown", "Chown", Bool),
    ],
    blocks: &[],
};

static TEMPLATE_WAIT: Schema = Schema {
    name: "wait",
    attrs: &[a!("min", "Min", Dur), a!("max", "Max", Dur)],
    blocks: &[],
};

static CHANGE_SCRIPT: Schema = Schema {
    name: "change_script",
    attrs: &[
        a!("command", "Command", Str),
        a!("args", "Args", StrList),
        a!("timeout", "Timeout", Dur),
        a!("fail_on_error", "FailOnError", Bool),
    ],
    blocks: &[],
};

static TEMPLATE: Schema = Schema {
    name: "template",
    attrs: &[
        a!("source", "SourcePath", Str),
        a!("destination", "DestPath", Str),
        a!("data", "EmbeddedTmpl", Str),
        a!("change_mode", "ChangeMode", Str),
        a!("change_signal", "ChangeSignal", Str),
        a!("splay", "Splay", Dur),
        a!("perms", "Perms", Str),
        a!("uid", "Uid", Int),
        a!("gid", "Gid", Int),
        a!("left_delimiter", "LeftDelim", Str),
        a!("right_delimiter", "RightDelim", Str),
        a!("env", "Envvars", Bool),
        a!("vault_grace", "VaultGrace", Dur),
        a!("error_on_missing_key", "ErrMissingKey", Bool),
    ],
    blocks: &[
        b!("wait", "Wait", Mode::Single, TEMPLATE_WAIT),
        b!("change_script", "ChangeScript", Mode::Single, CHANGE_SCRIPT),
    ],
};

static DISPATCH_PAYLOAD: Schema = Schema {
    name: "dispatch_payload",
    attrs: &[a!("file", "File", Str)],
    blocks: &[],
};

static VOLUME_MOUNT: Schema = Schema {
    name: "volume_mount",
    attrs: &[
        a!("volume", "Volume", Str),
        a!("destination", "Destination", Str),
        a!("read_only", "ReadOnly", Bool),
        a!("propagation_mode", "PropagationMode", Str),
        a!("selinux_label", "SELinuxLabel", Str),
    ],
    blocks: &[],
};

static CSI_PLUGIN: Schema = Schema {
    name: "csi_plugin",
    attrs: &[
        a!("id", "ID", Str),
        a!("type", "Type", Str),
        a!("mount_dir", "MountDir", Str),
        a!("stage_publish_base_dir", "StagePublishBaseDir", Str),
        a!("health_timeout", "HealthTimeout", Dur),
    ],
    blocks: &[],
};

static ACTION: Schema = Schema {
    name: "action",
    attrs: &[a!("command", "Command", Str), a!("args", "Args", StrList)],
    blocks: &[],
};

/// `task "name" { ... }`.
pub(crate) static TASK: Schema = Schema {
    name: "task",
    attrs: &[
        a!("driver", "Driver", Str),
        a!("user", "User", Str),
        a!("kill_timeout", "KillTimeout", Dur),
        a!("kill_signal", "KillSignal", Str),
        a!("leader", "Leader", Bool),
        a!("kind", "Kind", Str),
        a!("shutdown_delay", "ShutdownDelay", Dur),
        a!("meta", "Meta", StrMap),
        a!("env", "Env", StrMap),
    ],
    blocks: &[
        b!("config", "Config", Mode::FreeForm, EMPTY),
        constraint_blk!(),
        affinity_blk!(),
        b!("resources", "Resources", Mode::Single, RESOURCES),
        b!("restart", "RestartPolicy", Mode::Single, RESTART),
        b!("lifecycle", "Lifecycle", Mode::Single, LIFECYCLE),
        b!("logs", "LogConfig", Mode::Single, LOGS),
        b!("artifact", "Artifacts", Mode::Repeated, ARTIFACT),
        b!(
            "template",
            "Templates",
            Mode::Repeated,
            TEMPLATE,
            special::template
        ),
        b!("service", "Services", Mode::Repeated, SERVICE),
        b!("volume_mount", "VolumeMounts", Mode::Repeated, VOLUME_MOUNT),
        b!(
            "dispatch_payload",
            "DispatchPayload",
            Mode::Single,
            DISPATCH_PAYLOAD
        ),
        b!("vault", "Vault", Mode::Single, VAULT, special::vault),
        b!("consul", "Consul", Mode::Single, CONSUL),
        b!("csi_plugin", "CSIPluginConfig", Mode::Single, CSI_PLUGIN),
        b!("action", "Actions", Mode::Labeled("Name"), ACTION),
        b!(
            "scaling",
            "ScalingPolicies",
            Mode::Custom(special::task_scaling),
            EMPTY
        ),
        b!(
            "identity",
            "Identity",
            Mode::Custom(special::task_identity),
            EMPTY
        ),
    ],
};
