//! Which volume capabilities this plugin supports: mount access (a directory) in any
//! access mode the spec names; never block access.

use orch_daemon::csi::proto::{AccessMode, VolumeCapability, volume_capability::AccessType};
use tonic::Status;

/// Checks every capability, naming `field[i]` in the error.
pub fn check_capabilities(field: &str, caps: &[VolumeCapability]) -> Result<(), Status> {
    if caps.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    for (i, cap) in caps.iter().enumerate() {
        check_one(&format!("{field}[{i}]"), cap)?;
    }
    Ok(())
}

/// Checks one capability.
fn check_one(field: &str, cap: &VolumeCapability) -> Result<(), Status> {
    match cap.access_type {
        Some(AccessType::Mount(_)) => {}
        Some(AccessType::Block(_)) => {
            return Err(Status::invalid_argument(format!(
                "{field}.block: block volumes are not supported; use mount access (file-system)"
            )));
        }
        None => {
            return Err(Status::invalid_argument(format!(
                "{field}.access_type is required"
            )));
        }
    }
    if cap.mode() == AccessMode::Unknown {
        return Err(Status::invalid_argument(format!(
            "{field}.access_mode is required"
        )));
    }
    Ok(())
}

/// Checks the one capability of a stage or publish call.
pub fn check_capability(field: &str, cap: Option<&VolumeCapability>) -> Result<(), Status> {
    match cap {
        Some(cap) => check_one(field, cap),
        None => Err(Status::invalid_argument(format!("{field} is required"))),
    }
}

/// Whether the mode only allows reading.
pub fn read_only_mode(cap: Option<&VolumeCapability>) -> bool {
    matches!(
        cap.map(VolumeCapability::mode),
        Some(AccessMode::SingleNodeReaderOnly | AccessMode::MultiNodeReaderOnly)
    )
}
