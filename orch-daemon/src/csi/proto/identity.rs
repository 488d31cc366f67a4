//! The messages of the CSI `Identity` service: who the plugin is, what it offers, and
//! whether it is ready.

use super::{BoolValue, StringMap};

/// `GetPluginInfo` takes nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct GetPluginInfoRequest {}

/// The plugin's name (domain notation, at most 63 characters) and version.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetPluginInfoResponse {
    /// e.g. `orch.hostpath.csi`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Opaque to the CO.
    #[prost(string, tag = "2")]
    pub vendor_version: String,
    /// Opaque key-value pairs.
    #[prost(btree_map = "string, string", tag = "3")]
    pub manifest: StringMap,
}

/// `GetPluginCapabilities` takes nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct GetPluginCapabilitiesRequest {}

/// The plugin-wide capabilities.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GetPluginCapabilitiesResponse {
    /// What the plugin supports.
    #[prost(message, repeated, tag = "1")]
    pub capabilities: Vec<PluginCapability>,
}

/// One plugin capability: a service or a kind of volume expansion.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct PluginCapability {
    /// The capability (one of them).
    #[prost(oneof = "plugin_capability::Type", tags = "1, 2")]
    pub r#type: Option<plugin_capability::Type>,
}

impl PluginCapability {
    /// The service capability `t`.
    pub fn service(t: PluginServiceType) -> Self {
        PluginCapability {
            r#type: Some(plugin_capability::Type::Service(
                plugin_capability::Service { r#type: t as i32 },
            )),
        }
    }
}

/// `PluginCapability.Service.Type`.
pub use plugin_capability::service::Type as PluginServiceType;
/// `PluginCapability.VolumeExpansion.Type`.
pub use plugin_capability::volume_expansion::Type as VolumeExpansionType;

/// Nested messages of [`PluginCapability`].
pub mod plugin_capability {
    /// The kinds of plugin capability.
    #[derive(Clone, Copy, PartialEq, ::prost::Oneof)]
    pub enum Type {
        /// A service the plugin offers.
        #[prost(message, tag = "1")]
        Service(Service),
        /// How the plugin expands volumes.
        #[prost(message, tag = "2")]
        VolumeExpansion(VolumeExpansion),
    }

    /// A service capability.
    #[derive(Clone, Copy, PartialEq, ::prost::Message)]
    pub struct Service {
        /// A [`service::Type`] value.
        #[prost(enumeration = "service::Type", tag = "1")]
        pub r#type: i32,
    }

    /// The enum of [`Service`].
    pub mod service {
        /// The plugin-wide services.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration,
        )]
        #[repr(i32)]
        pub enum Type {
            /// Not set.
            Unknown = 0,
            /// The plugin serves the Controller service.
            ControllerService = 1,
            /// Volumes are not reachable from every node: honour topology.
            VolumeAccessibilityConstraints = 2,
            /// The plugin serves the GroupController service (alpha).
            GroupControllerService = 3,
        }
    }

    /// A volume expansion capability.
    #[derive(Clone, Copy, PartialEq, ::prost::Message)]
    pub struct VolumeExpansion {
        /// A [`volume_expansion::Type`] value.
        #[prost(enumeration = "volume_expansion::Type", tag = "1")]
        pub r#type: i32,
    }

    /// The enum of [`VolumeExpansion`].
    pub mod volume_expansion {
        /// When a volume can be expanded.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration,
        )]
        #[repr(i32)]
        pub enum Type {
            /// Not set.
            Unknown = 0,
            /// While published.
            Online = 1,
            /// Only while not published.
            Offline = 2,
        }
    }
}

/// `Probe` takes nothing.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct ProbeRequest {}

/// Readiness; absent means ready.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ProbeResponse {
    /// Whether the plugin finished initializing.
    #[prost(message, optional, tag = "1")]
    pub ready: Option<BoolValue>,
}
