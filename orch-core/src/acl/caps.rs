//! Capabilities and levels of Nomad's ACL system, as small bit sets, so checking a
//! request is a mask test.

/// Declares [`NsCap`], its Nomad names and the list of all, from one table, so a
/// capability cannot be added to one and missed in another.
macro_rules! namespace_capabilities {
    ($($variant:ident => $name:literal,)*) => {
        /// One namespace capability; the value is its bit in [`NsCaps`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        #[allow(missing_docs)] // Each is the Nomad capability of the same name.
        pub enum NsCap {
            $($variant,)*
        }

        /// Every namespace capability name Nomad defines, in bit order.
        pub const NAMESPACE_CAPABILITIES: &[&str] = &[$($name,)*];

        /// Every capability, in bit order.
        const ALL_CAPABILITIES: &[NsCap] = &[$(NsCap::$variant,)*];
    };
}

namespace_capabilities! {
    Deny => "deny",
    ListJobs => "list-jobs",
    ParseJob => "parse-job",
    ReadJob => "read-job",
    SubmitJob => "submit-job",
    DispatchJob => "dispatch-job",
    ReadLogs => "read-logs",
    ReadFs => "read-fs",
    AllocExec => "alloc-exec",
    AllocNodeExec => "alloc-node-exec",
    AllocLifecycle => "alloc-lifecycle",
    CsiRegisterPlugin => "csi-register-plugin",
    CsiWriteVolume => "csi-write-volume",
    CsiReadVolume => "csi-read-volume",
    CsiListVolume => "csi-list-volume",
    CsiMountVolume => "csi-mount-volume",
    HostVolumeCreate => "host-volume-create",
    HostVolumeRegister => "host-volume-register",
    HostVolumeRead => "host-volume-read",
    HostVolumeWrite => "host-volume-write",
    HostVolumeDelete => "host-volume-delete",
    ListScalingPolicies => "list-scaling-policies",
    ReadScalingPolicy => "read-scaling-policy",
    ReadJobScaling => "read-job-scaling",
    ScaleJob => "scale-job",
    SubmitRecommendation => "submit-recommendation",
    SentinelOverride => "sentinel-override",
}

impl NsCap {
    /// Nomad's name of the capability (`submit-job`), for error messages.
    pub fn name(self) -> &'static str {
        NAMESPACE_CAPABILITIES[self as usize]
    }

    /// The capability of a Nomad name (`read-logs`); `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<NsCap> {
        ALL_CAPABILITIES.iter().copied().find(|c| c.name() == name)
    }
}

/// A set of namespace capabilities. `deny` in a set means the set grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NsCaps(u32);

impl NsCaps {
    /// No capability.
    pub const EMPTY: NsCaps = NsCaps(0);

    /// The set of the named capability; `None` for a name Nomad does not define.
    pub fn from_name(name: &str) -> Option<NsCaps> {
        NAMESPACE_CAPABILITIES
            .iter()
            .position(|n| *n == name)
            .map(|i| NsCaps(1 << i))
    }

    /// The set of these capabilities.
    pub fn of(caps: &[NsCap]) -> NsCaps {
        NsCaps(caps.iter().fold(0, |m, c| m | 1 << (*c as u32)))
    }

    /// Both sets.
    pub fn union(self, other: NsCaps) -> NsCaps {
        NsCaps(self.0 | other.0)
    }

    /// Whether the set grants `cap` (never when it holds `deny`).
    pub fn allows(self, cap: NsCap) -> bool {
        !self.is_deny() && self.0 & (1 << (cap as u32)) != 0
    }

    /// Whether the set grants anything at all.
    pub fn any(self) -> bool {
        !self.is_deny() && self.0 != 0
    }

    /// Whether `deny` is in the set.
    pub fn is_deny(self) -> bool {
        self.0 & 1 != 0
    }
}

/// Nomad's shorthand `policy = ...` of a namespace rule, as capabilities.
pub fn expand_namespace_policy(policy: &str) -> Option<NsCaps> {
    use NsCap::*;
    const READ: &[NsCap] = &[
        ListJobs,
        ParseJob,
        ReadJob,
        CsiListVolume,
        CsiReadVolume,
        ReadJobScaling,
        ListScalingPolicies,
        ReadScalingPolicy,
        HostVolumeRead,
    ];
    match policy {
        "deny" => Some(NsCaps::of(&[Deny])),
        "read" => Some(NsCaps::of(READ)),
        "write" => Some(NsCaps::of(READ).union(NsCaps::of(&[
            ScaleJob,
            SubmitJob,
            DispatchJob,
            ReadLogs,
            ReadFs,
            AllocExec,
            AllocLifecycle,
            CsiMountVolume,
            CsiWriteVolume,
            SubmitRecommendation,
            HostVolumeCreate,
            HostVolumeRegister,
            HostVolumeWrite,
            HostVolumeDelete,
        ]))),
        "scale" => Some(NsCaps::of(&[
            ListScalingPolicies,
            ReadScalingPolicy,
            ReadJobScaling,
            ScaleJob,
        ])),
        _ => None,
    }
}

/// Host volume capabilities: bit 0 deny, 1 mount-readonly, 2 mount-readwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct VolumeCaps(u8);

impl VolumeCaps {
    /// No capability.
    pub const EMPTY: VolumeCaps = VolumeCaps(0);

    /// The set of the named capability (`deny`, `mount-readonly`, `mount-readwrite`).
    pub fn from_name(name: &str) -> Option<VolumeCaps> {
        match name {
            "deny" => Some(VolumeCaps(1)),
            "mount-readonly" => Some(VolumeCaps(2)),
            "mount-readwrite" => Some(VolumeCaps(4)),
            _ => None,
        }
    }

    /// Both sets.
    pub fn union(self, other: VolumeCaps) -> VolumeCaps {
        VolumeCaps(self.0 | other.0)
    }

    /// Whether a read-only (`false`) or read-write (`true`) mount is allowed.
    pub fn allows_mount(self, read_write: bool) -> bool {
        self.0 & 1 == 0 && self.0 & if read_write { 4 } else { 2 } != 0
    }
}

/// A host volume rule's `policy = ...` as capabilities.
pub fn expand_volume_policy(policy: &str) -> Option<VolumeCaps> {
    match policy {
        "deny" => Some(VolumeCaps(1)),
        "read" => Some(VolumeCaps(2)),
        "write" => Some(VolumeCaps(6)),
        _ => None,
    }
}

/// A coarse rule's level (`node`, `agent`, `operator`, `quota`, `plugin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub enum Level {
    /// No rule: nothing granted.
    #[default]
    None,
    /// Read access.
    Read,
    /// Read and write access.
    Write,
    /// Explicitly nothing, whatever other policies grant.
    Deny,
}

impl Level {
    /// Two policies' levels combined: `deny` wins, otherwise the higher.
    pub fn merge(self, other: Level) -> Level {
        if self == Level::Deny || other == Level::Deny {
            Level::Deny
        } else {
            self.max(other)
        }
    }

    /// Whether reads are granted.
    pub fn allows_read(self) -> bool {
        matches!(self, Level::Read | Level::Write)
    }

    /// Whether writes are granted.
    pub fn allows_write(self) -> bool {
        self == Level::Write
    }
}
