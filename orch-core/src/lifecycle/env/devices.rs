//! The variables that tell a task which device instances it got (Nomad's device
//! plugins set them when they reserve devices; orch has no plugins, so the task
//! environment carries them):
//!
//! - `NVIDIA_VISIBLE_DEVICES` (Nomad's nvidia plugin) and `CUDA_VISIBLE_DEVICES` (what
//!   CUDA itself reads, for tasks outside the NVIDIA container runtime): the IDs of every
//!   `nvidia` instance, comma-separated;
//! - `ORCH_DEVICE_<VENDOR>_<TYPE>`: the IDs of each vendor/type the task got, for any
//!   device, fingerprinted or declared in the client config (`ORCH_DEVICE_ACME_FPGA`);
//! - with orch's `share`: `ORCH_DEVICE_<VENDOR>_<TYPE>_SHARE` (`0.25`) and
//!   `ORCH_DEVICE_SHARE`, the share of the task's first shared instance.

use std::collections::BTreeMap;

use crate::model::AllocatedDeviceResource;

/// `VENDOR_TYPE` as an environment variable name part.
fn env_part(vendor: &str, kind: &str) -> String {
    format!("{vendor}_{kind}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn append(env: &mut BTreeMap<String, String>, key: String, ids: &[String]) {
    let joined = ids.join(",");
    env.entry(key)
        .and_modify(|v| {
            v.push(',');
            v.push_str(&joined);
        })
        .or_insert(joined);
}

/// Adds the device variables of a task's assigned instances to `env`.
pub(super) fn devices_env(devices: &[AllocatedDeviceResource], env: &mut BTreeMap<String, String>) {
    let mut nvidia: Vec<String> = Vec::new();
    for d in devices {
        let part = env_part(&d.vendor, &d.device_type);
        append(env, format!("ORCH_DEVICE_{part}"), &d.device_ids);
        if let Some(share) = d.share {
            env.insert(format!("ORCH_DEVICE_{part}_SHARE"), share.to_text());
            env.entry("ORCH_DEVICE_SHARE".into())
                .or_insert_with(|| share.to_text());
        }
        if d.vendor == "nvidia" {
            nvidia.extend(d.device_ids.iter().cloned());
        }
    }
    if !nvidia.is_empty() {
        env.insert("NVIDIA_VISIBLE_DEVICES".into(), nvidia.join(","));
        env.insert("CUDA_VISIBLE_DEVICES".into(), nvidia.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceShare;

    fn dev(vendor: &str, kind: &str, ids: &[&str], share: Option<i64>) -> AllocatedDeviceResource {
        AllocatedDeviceResource {
            vendor: vendor.into(),
            device_type: kind.into(),
            name: "m".into(),
            device_ids: ids.iter().map(|s| s.to_string()).collect(),
            share: share.map(DeviceShare),
        }
    }

    #[test]
    fn nvidia_ids_shares_and_declared_devices_reach_the_env() {
        let mut env = BTreeMap::new();
        devices_env(
            &[
                dev("nvidia", "gpu", &["GPU-a"], Some(250_000)),
                dev("acme", "fpga", &["f0", "f1"], None),
                dev("nvidia", "gpu", &["GPU-b"], None),
            ],
            &mut env,
        );
        assert_eq!(env["NVIDIA_VISIBLE_DEVICES"], "GPU-a,GPU-b");
        assert_eq!(env["CUDA_VISIBLE_DEVICES"], "GPU-a,GPU-b");
        assert_eq!(env["ORCH_DEVICE_NVIDIA_GPU"], "GPU-a,GPU-b");
        assert_eq!(env["ORCH_DEVICE_NVIDIA_GPU_SHARE"], "0.25");
        assert_eq!(env["ORCH_DEVICE_SHARE"], "0.25");
        assert_eq!(env["ORCH_DEVICE_ACME_FPGA"], "f0,f1");
        assert!(!env.contains_key("ORCH_DEVICE_ACME_FPGA_SHARE"));
    }
}
