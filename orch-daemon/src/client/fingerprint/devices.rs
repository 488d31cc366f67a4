//! The node's devices: NVIDIA GPUs found through `nvidia-smi` (the attributes and
//! grouping of Nomad's nvidia device plugin) and the devices the operator declares in the
//! client config (`client { device "vendor/type/model" { ids, attributes } }`).
//!
//! Nomad's plugin reads NVML; orch asks `nvidia-smi`, which ships with the driver, so no
//! C library is linked and a machine without the driver simply has no GPUs. Instances
//! whose query reports an error (`[GPU requires reset]`, `[Unknown Error]`) are
//! unhealthy; when `nvidia-smi` stops answering, the GPUs it reported before stay listed,
//! unhealthy, so the scheduler stops placing on them (Nomad keeps failed devices as
//! unhealthy too). `bar1` is not offered by `nvidia-smi --query-gpu` and is left out.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orch_core::model::{NodeDevice, NodeDeviceResource};

use crate::agent::config::{ClientConfig, split_device_name};

/// The fields asked of `nvidia-smi --query-gpu`, in this order.
const QUERY: &str = "uuid,name,memory.total,power.limit,driver_version,clocks.max.sm,clocks.max.memory,pcie.link.gen.max,pcie.link.width.max,display_mode,persistence_mode";

/// How long `nvidia-smi` may take before the GPUs count as unanswered.
const NVIDIA_SMI_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's devices: declared ones first (in name order), then the GPUs (unless the
/// NVIDIA plugin is disabled; its `ignored_gpu_ids` never offered). `previous` is the
/// last fingerprint, whose GPUs stay (unhealthy) if `nvidia-smi` fails now.
pub fn fingerprint_devices(
    config: &ClientConfig,
    previous: &[NodeDeviceResource],
) -> Vec<NodeDeviceResource> {
    let mut devices = declared(config);
    let is_declared = |g: &NodeDeviceResource| {
        g.instances
            .iter()
            .any(|i| config.device.values().any(|d| d.ids.contains(&i.id)))
    };
    if !config.nvidia.enabled {
        return devices;
    }
    let offered = |mut g: NodeDeviceResource| {
        g.instances
            .retain(|i| !config.nvidia.ignored_gpu_ids.contains(&i.id));
        (!g.instances.is_empty()).then_some(g)
    };
    match run_nvidia_smi() {
        Ok(Some(text)) => devices.extend(parse_nvidia_smi(&text).into_iter().filter_map(offered)),
        Ok(None) => {}
        Err(why) => {
            tracing::warn!("nvidia GPUs not fingerprinted: {why}");
            let known: Vec<NodeDeviceResource> = previous
                .iter()
                .filter(|g| !is_declared(g))
                .cloned()
                .collect();
            devices.extend(unanswered(&known, &why));
        }
    }
    devices
}

/// The client config's `device` blocks as device groups (every instance healthy).
fn declared(config: &ClientConfig) -> Vec<NodeDeviceResource> {
    config
        .device
        .iter()
        .filter_map(|(name, d)| {
            // Checked when the config was read; a bad name here is skipped, not fatal.
            let (vendor, kind, model) = split_device_name(name).ok()?;
            Some(NodeDeviceResource {
                vendor: vendor.into(),
                device_type: kind.into(),
                name: model.into(),
                instances: d
                    .ids
                    .iter()
                    .map(|id| NodeDevice {
                        id: id.clone(),
                        healthy: true,
                        health_description: "declared in the client config".into(),
                    })
                    .collect(),
                attributes: d
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect(),
            })
        })
        .collect()
}

/// The GPUs of the last fingerprint, now unhealthy because `nvidia-smi` did not answer.
fn unanswered(previous: &[NodeDeviceResource], why: &str) -> Vec<NodeDeviceResource> {
    previous
        .iter()
        .filter(|d| d.vendor == "nvidia" && d.attributes.contains_key("driver_version"))
        .map(|d| {
            let mut d = d.clone();
            for i in &mut d.instances {
                i.healthy = false;
                i.health_description = format!("nvidia-smi failed: {why}");
            }
            d
        })
        .collect()
}

/// `nvidia-smi`'s CSV answer; `None` when it is not installed (no NVIDIA driver).
fn run_nvidia_smi() -> Result<Option<String>, String> {
    let spawned = Command::new("nvidia-smi")
        .arg(format!("--query-gpu={QUERY}"))
        .arg("--format=csv,noheader,nounits")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot run nvidia-smi: {e}")),
    };
    let deadline = Instant::now() + NVIDIA_SMI_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "nvidia-smi did not answer within {NVIDIA_SMI_TIMEOUT:?}"
                ));
            }
            Err(e) => return Err(format!("waiting for nvidia-smi: {e}")),
        }
    };
    let (mut out, mut err) = (String::new(), String::new());
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    if !status.success() {
        let said = if err.trim().is_empty() {
            out.trim()
        } else {
            err.trim()
        };
        return Err(format!("nvidia-smi exited with {status}: {said}"));
    }
    Ok(Some(out))
}

/// A field's value, `None` when `nvidia-smi` has none (`[N/A]`, `[Not Supported]`).
fn present(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty() && !v.starts_with('[') && v != "N/A").then_some(v)
}

/// A field reporting a device error (`[GPU requires reset]`, `[Unknown Error]`).
fn error_field(v: &str) -> Option<&str> {
    let v = v.trim();
    let is_error = v.starts_with('[') && !matches!(v, "[N/A]" | "[Not Supported]");
    is_error.then_some(v)
}

/// PCIe bandwidth in MB/s from the link's generation and width (per lane: 250, 500, 985,
/// 1969, 3938 MB/s), as Nomad's NVML reader computes `pci_bandwidth`.
fn pci_bandwidth(generation: &str, width: &str) -> Option<u64> {
    let per_lane = match present(generation)?.parse::<u32>().ok()? {
        1 => 250,
        2 => 500,
        3 => 985,
        4 => 1969,
        5 => 3938,
        _ => return None,
    };
    Some(per_lane * present(width)?.parse::<u64>().ok()?)
}

/// A whole number of a unit from a reading such as `70.00`.
fn rounded(v: &str, unit: &str) -> Option<String> {
    let f = present(v)?.parse::<f64>().ok()?;
    f.is_finite()
        .then(|| format!("{} {unit}", f.round() as i64))
}

/// One GPU line's attributes, Nomad's names and units.
fn attributes(f: &[&str]) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            a.insert(k.to_string(), v);
        }
    };
    put("memory", rounded(f[2], "MiB"));
    put("power", rounded(f[3], "W"));
    put("driver_version", present(f[4]).map(str::to_string));
    put("cores_clock", rounded(f[5], "MHz"));
    put("memory_clock", rounded(f[6], "MHz"));
    put(
        "pci_bandwidth",
        pci_bandwidth(f[7], f[8]).map(|b| format!("{b} MB/s")),
    );
    put("display_state", present(f[9]).map(str::to_string));
    put("persistence_mode", present(f[10]).map(str::to_string));
    a
}

/// `nvidia-smi --query-gpu=<QUERY> --format=csv,noheader,nounits` → one device group per
/// model (Nomad groups identical GPUs), attributes of the group's first GPU.
pub fn parse_nvidia_smi(text: &str) -> Vec<NodeDeviceResource> {
    let mut groups: Vec<NodeDeviceResource> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() < 11 || present(f[0]).is_none() {
            continue;
        }
        let model = present(f[1]).unwrap_or("unknown").to_string();
        let fault = f.iter().find_map(|v| error_field(v));
        let instance = NodeDevice {
            id: f[0].to_string(),
            healthy: fault.is_none(),
            health_description: fault
                .map_or_else(String::new, |e| format!("nvidia-smi reports {e}")),
        };
        match groups.iter_mut().find(|g| g.name == model) {
            Some(g) => g.instances.push(instance),
            None => groups.push(NodeDeviceResource {
                vendor: "nvidia".into(),
                device_type: "gpu".into(),
                name: model,
                instances: vec![instance],
                attributes: attributes(&f),
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_smi_lines_become_groups_with_nomads_attributes() {
        let text = "\
GPU-11111111-2222-3333-4444-555555555555, Tesla T4, 15360, 70.00, 535.104.05, 1590, 5001, 3, 16, Disabled, Enabled
GPU-aaaaaaaa-2222-3333-4444-555555555555, Tesla T4, 15360, 70.00, 535.104.05, 1590, 5001, 3, 16, Disabled, [GPU requires reset]
GPU-bbbbbbbb-2222-3333-4444-555555555555, NVIDIA A100-SXM4-40GB, 40960, [N/A], 535.104.05, 1410, 1215, 4, 16, Enabled, Enabled
";
        let g = parse_nvidia_smi(text);
        assert_eq!(g.len(), 2);
        let t4 = &g[0];
        assert_eq!(
            (
                t4.vendor.as_str(),
                t4.device_type.as_str(),
                t4.name.as_str()
            ),
            ("nvidia", "gpu", "Tesla T4")
        );
        assert_eq!(t4.instances.len(), 2);
        assert!(t4.instances[0].healthy);
        assert!(!t4.instances[1].healthy);
        assert!(
            t4.instances[1]
                .health_description
                .contains("GPU requires reset")
        );
        assert_eq!(t4.attributes["memory"], "15360 MiB");
        assert_eq!(t4.attributes["power"], "70 W");
        assert_eq!(t4.attributes["driver_version"], "535.104.05");
        assert_eq!(t4.attributes["cores_clock"], "1590 MHz");
        assert_eq!(t4.attributes["memory_clock"], "5001 MHz");
        assert_eq!(t4.attributes["pci_bandwidth"], "15760 MB/s");
        assert_eq!(t4.attributes["display_state"], "Disabled");
        assert_eq!(t4.attributes["persistence_mode"], "Enabled");
        let a100 = &g[1];
        assert!(a100.instances[0].healthy, "[N/A] is no fault");
        assert!(!a100.attributes.contains_key("power"));
    }

    #[test]
    fn gpus_that_stop_answering_stay_listed_unhealthy() {
        let before = parse_nvidia_smi(
            "GPU-1, Tesla T4, 15360, 70.00, 535.1, 1590, 5001, 3, 16, Disabled, Enabled\n",
        );
        let after = unanswered(&before, "exit status 9");
        assert_eq!(after.len(), 1);
        assert!(!after[0].instances[0].healthy);
        assert!(
            after[0].instances[0]
                .health_description
                .contains("exit status 9")
        );
    }
}
