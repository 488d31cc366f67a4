//! A task: one process (or container, or VM) a driver runs, in Nomad's JSON shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::constraint::{Affinity, Constraint};
use super::group::RestartPolicy;
use super::resources::Resources;
use super::service::Service;
use super::wire::{FreeForm, Nanos, SECOND};

/// A unit of work run by a driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Task {
    /// Unique within the group.
    #[serde(rename = "Name")]
    pub name: String,
    /// Driver name (`raw_exec`, `exec`, `java`, ...).
    #[serde(rename = "Driver")]
    pub driver: String,
    /// User to run as.
    #[serde(rename = "User")]
    pub user: String,
    /// Where in the allocation's lifecycle this task runs; `None` is a main task.
    #[serde(rename = "Lifecycle")]
    pub lifecycle: Option<TaskLifecycle>,
    /// Driver configuration, free-form.
    #[serde(rename = "Config")]
    pub config: FreeForm,
    /// Task-level constraints (merged with the group's for placement).
    #[serde(rename = "Constraints")]
    pub constraints: Vec<Constraint>,
    /// Task-level affinities.
    #[serde(rename = "Affinities")]
    pub affinities: Vec<Affinity>,
    /// Environment variables.
    #[serde(rename = "Env")]
    pub env: BTreeMap<String, String>,
    /// Services registered by the task.
    #[serde(rename = "Services")]
    pub services: Vec<Service>,
    /// Resource ask.
    #[serde(rename = "Resources")]
    pub resources: Resources,
    /// Task-level restart policy; filled from the group's when absent.
    #[serde(rename = "RestartPolicy")]
    pub restart_policy: Option<RestartPolicy>,
    /// Metadata, merged over the group's and job's.
    #[serde(rename = "Meta")]
    pub meta: BTreeMap<String, String>,
    /// Time between the kill signal and SIGKILL (default 5s).
    #[serde(rename = "KillTimeout")]
    pub kill_timeout: Nanos,
    /// Log rotation.
    #[serde(rename = "LogConfig")]
    pub log_config: LogConfig,
    /// Files fetched before the task starts.
    #[serde(rename = "Artifacts")]
    pub artifacts: Vec<TaskArtifact>,
    /// Templates rendered into the task directory.
    #[serde(rename = "Templates")]
    pub templates: Vec<Template>,
    /// Where a dispatched job's payload is written.
    #[serde(rename = "DispatchPayload")]
    pub dispatch_payload: Option<DispatchPayloadConfig>,
    /// Group volumes mounted into this task.
    #[serde(rename = "VolumeMounts")]
    pub volume_mounts: Vec<VolumeMount>,
    /// When the leader exits, the other tasks are stopped.
    #[serde(rename = "Leader")]
    pub leader: bool,
    /// Delay between deregistering services and killing the task.
    #[serde(rename = "ShutdownDelay")]
    pub shutdown_delay: Nanos,
    /// Signal sent to stop the task (default SIGINT for most drivers).
    #[serde(rename = "KillSignal")]
    pub kill_signal: String,
    /// Kind, used by Consul Connect tasks; plain tasks leave it empty.
    #[serde(rename = "Kind")]
    pub kind: String,
    /// Makes this task a CSI plugin the client connects to (`csi_plugin` block).
    #[serde(rename = "CSIPluginConfig")]
    pub csi_plugin: Option<TaskCsiPluginConfig>,
    /// The default identity exposed to the task (`identity` block without a name);
    /// `None`: the task has its default identity but does not see it.
    #[serde(rename = "Identity")]
    pub identity: Option<super::identity::WorkloadIdentity>,
    /// Additional identities (`identity` blocks with a name).
    #[serde(rename = "Identities")]
    pub identities: Vec<super::identity::WorkloadIdentity>,
}

/// A task that serves a CSI plugin: the client gives it a socket directory and
/// fingerprints the plugin through it (Nomad's `TaskCSIPluginConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskCsiPluginConfig {
    /// The plugin's ID, which volumes name in `plugin_id`.
    #[serde(rename = "ID")]
    pub id: String,
    /// `controller`, `node` or `monolith`.
    #[serde(rename = "Type")]
    pub plugin_type: String,
    /// Where the task finds its socket directory (default `/csi`).
    #[serde(rename = "MountDir")]
    pub mount_dir: String,
    /// Where the task sees the staging and publish paths (default: `mount_dir`).
    #[serde(rename = "StagePublishBaseDir")]
    pub stage_publish_base_dir: String,
    /// How long the plugin may take to answer its first probe (default 30s).
    #[serde(rename = "HealthTimeout")]
    pub health_timeout: Nanos,
}

/// CSI plugin types (`csi_plugin { type }`).
pub mod csi_plugin_type {
    /// Controller service only.
    pub const CONTROLLER: &str = "controller";
    /// Node service only.
    pub const NODE: &str = "node";
    /// Both services in one process.
    pub const MONOLITH: &str = "monolith";
}

impl Default for Task {
    fn default() -> Self {
        Task {
            name: String::new(),
            driver: String::new(),
            user: String::new(),
            lifecycle: None,
            config: FreeForm::default(),
            constraints: Vec::new(),
            affinities: Vec::new(),
            env: BTreeMap::new(),
            services: Vec::new(),
            resources: Resources::default(),
            restart_policy: None,
            meta: BTreeMap::new(),
            kill_timeout: 5 * SECOND,
            log_config: LogConfig::default(),
            artifacts: Vec::new(),
            templates: Vec::new(),
            dispatch_payload: None,
            volume_mounts: Vec::new(),
            leader: false,
            shutdown_delay: 0,
            kill_signal: String::new(),
            kind: String::new(),
            csi_plugin: None,
            identity: None,
            identities: Vec::new(),
        }
    }
}

/// Lifecycle hook: when a non-main task runs relative to the main tasks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskLifecycle {
    /// `prestart`, `poststart` or `poststop`.
    #[serde(rename = "Hook")]
    pub hook: String,
    /// Keep running alongside the main tasks instead of running to completion.
    #[serde(rename = "Sidecar")]
    pub sidecar: bool,
    /// orch extension: tasks of the same group this one waits for, beside the hook's
    /// own ordering (empty in every Nomad jobspec).
    #[serde(rename = "DependsOn")]
    pub depends_on: Vec<String>,
    /// orch extension: what each task of `depends_on` must reach first, one of
    /// [`dependency_condition`] (`success` once canonicalized when `depends_on` is set).
    #[serde(rename = "Condition")]
    pub condition: String,
}

/// Lifecycle hook names orch accepts: Nomad's, and `postfail` (orch's: runs only when
/// the allocation failed).
pub const LIFECYCLE_HOOKS: &[&str] = &["prestart", "poststart", "poststop", "postfail"];

/// The conditions of `lifecycle { condition }` (orch's task dependencies).
pub mod dependency_condition {
    /// The dependency exited successfully.
    pub const SUCCESS: &str = "success";
    /// The dependency's process started.
    pub const STARTED: &str = "started";
    /// The dependency runs and its service checks pass (running, without checks).
    pub const HEALTHY: &str = "healthy";
    /// Every condition, in documentation order.
    pub const ALL: &[&str] = &[SUCCESS, STARTED, HEALTHY];
}

/// Log rotation for a task's stdout and stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// Files kept per stream (default 10).
    #[serde(rename = "MaxFiles")]
    pub max_files: u32,
    /// Size of one file in MB (default 10).
    #[serde(rename = "MaxFileSizeMB")]
    pub max_file_size_mb: u32,
    /// Turn log collection off.
    #[serde(rename = "Disabled")]
    pub disabled: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_files: 10,
            max_file_size_mb: 10,
            disabled: false,
        }
    }
}

/// A file fetched (go-getter style) into the task directory before start.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskArtifact {
    /// URL or path to fetch.
    #[serde(rename = "GetterSource")]
    pub source: String,
    /// go-getter options (`checksum`, `archive`, ...).
    #[serde(rename = "GetterOptions")]
    pub options: BTreeMap<String, String>,
    /// HTTP headers for the fetch.
    #[serde(rename = "GetterHeaders")]
    pub headers: BTreeMap<String, String>,
    /// `any`, `file` or `dir`.
    #[serde(rename = "GetterMode")]
    pub mode: String,
    /// Destination relative to the task directory (default `local/`).
    #[serde(rename = "RelativeDest")]
    pub destination: String,
    /// Chown the fetched files to the task's user.
    #[serde(rename = "Chown")]
    pub chown: bool,
}

/// A template rendered into the task directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// Template file inside the task directory.
    #[serde(rename = "SourcePath")]
    pub source_path: String,
    /// Where the rendered file goes.
    #[serde(rename = "DestPath")]
    pub dest_path: String,
    /// Inline template text.
    #[serde(rename = "EmbeddedTmpl")]
    pub embedded_tmpl: String,
    /// `restart`, `signal`, `noop` or `script`.
    #[serde(rename = "ChangeMode")]
    pub change_mode: String,
    /// Signal for change mode `signal`.
    #[serde(rename = "ChangeSignal")]
    pub change_signal: String,
    /// Random delay before acting on a change.
    #[serde(rename = "Splay")]
    pub splay: Nanos,
    /// File mode, octal string (default `0644`).
    #[serde(rename = "Perms")]
    pub perms: String,
    /// Left delimiter (default `{{`).
    #[serde(rename = "LeftDelim")]
    pub left_delim: String,
    /// Right delimiter (default `}}`).
    #[serde(rename = "RightDelim")]
    pub right_delim: String,
    /// Export the rendered `KEY=value` lines as environment variables.
    #[serde(rename = "Envvars")]
    pub envvars: bool,
    /// Fail rendering on a missing map key.
    #[serde(rename = "ErrMissingKey")]
    pub err_missing_key: bool,
    /// Render once, never re-render.
    #[serde(rename = "Once")]
    pub once: bool,
    /// Quiescence bounds before rendering.
    #[serde(rename = "Wait")]
    pub wait: Option<WaitConfig>,
}

/// Minimum and maximum wait for template quiescence.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WaitConfig {
    /// Minimum wait.
    #[serde(rename = "Min")]
    pub min: Option<Nanos>,
    /// Maximum wait.
    #[serde(rename = "Max")]
    pub max: Option<Nanos>,
}

impl Default for Template {
    fn default() -> Self {
        Template {
            source_path: String::new(),
            dest_path: String::new(),
            embedded_tmpl: String::new(),
            change_mode: "restart".into(),
            change_signal: String::new(),
            splay: 5 * SECOND,
            perms: "0644".into(),
            left_delim: "{{".into(),
            right_delim: "}}".into(),
            envvars: false,
            err_missing_key: false,
            once: false,
            wait: None,
        }
    }
}

/// Where a dispatched job's payload lands, relative to the task's `local/` directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DispatchPayloadConfig {
    /// File name.
    #[serde(rename = "File")]
    pub file: String,
}

/// Mount of a group volume into a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    /// Name of the group's volume request.
    #[serde(rename = "Volume")]
    pub volume: String,
    /// Path inside the task.
    #[serde(rename = "Destination")]
    pub destination: String,
    /// Mount read-only.
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
    /// `private`, `host-to-task` or `bidirectional`.
    #[serde(rename = "PropagationMode")]
    pub propagation_mode: String,
}

impl Default for VolumeMount {
    fn default() -> Self {
        VolumeMount {
            volume: String::new(),
            destination: String::new(),
            read_only: false,
            propagation_mode: "private".into(),
        }
    }
}
