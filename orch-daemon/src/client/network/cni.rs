//! Running CNI plugins as the CNI specification (0.4.0) has runtimes do it: each plugin
//! of a network configuration list is executed in order for `ADD` with the previous
//! plugin's result as `prevResult`, and in reverse order for `DEL`. A plugin reads its
//! configuration on stdin and its arguments from `CNI_*` variables, and answers JSON.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// How long one plugin may run (bridge and iptables plugins take milliseconds).
const PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// The most a plugin may answer; CNI results are small.
const MAX_RESULT_BYTES: usize = 1 << 20;

/// What went wrong running a network's plugins.
#[derive(Debug, thiserror::Error)]
pub enum CniError {
    /// A plugin binary is not in any CNI path.
    #[error(
        "CNI plugin {plugin:?} not found in {path}; install Debian's containernetworking-plugins or set client.cni_path"
    )]
    Missing {
        /// Plugin type.
        plugin: String,
        /// Where it was looked for.
        path: String,
    },
    /// A plugin failed; `message` is its own error.
    #[error("CNI plugin {plugin} {command} failed: {message}")]
    Plugin {
        /// Plugin type.
        plugin: String,
        /// ADD or DEL.
        command: &'static str,
        /// The plugin's `msg` and `details`, or its stderr.
        message: String,
    },
    /// The network configuration is not usable.
    #[error("CNI network {network:?}: {message}")]
    Config {
        /// Network name or file.
        network: String,
        /// What is wrong.
        message: String,
    },
}

/// One invocation's arguments.
pub struct Invocation<'a> {
    /// `CNI_CONTAINERID`: the allocation ID.
    pub container_id: &'a str,
    /// `CNI_NETNS`; empty on a `DEL` whose namespace is gone.
    pub netns: &'a Path,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
    /// Directories searched for plugin binaries (`CNI_PATH`).
    pub paths: &'a [PathBuf],
    /// Capability arguments (`portMappings`), given to plugins that declare them.
    pub runtime_config: &'a Value,
}

/// Runs `ADD` through every plugin of `list` and returns the last result.
pub fn add(list: &Value, inv: &Invocation<'_>) -> Result<Value, CniError> {
    let mut prev: Option<Value> = None;
    for plugin in plugins(list)? {
        let conf = plugin_conf(list, plugin, prev.as_ref(), inv.runtime_config);
        prev = Some(exec(plugin_type(plugin), "ADD", &conf, inv)?);
    }
    prev.ok_or_else(|| CniError::Config {
        network: name(list),
        message: "has no plugins".into(),
    })
}

/// Runs `DEL` through the plugins in reverse order with `result` (from [`add`]) as
/// `prevResult`. Every plugin runs even when one fails; the first error is returned.
pub fn del(list: &Value, result: Option<&Value>, inv: &Invocation<'_>) -> Result<(), CniError> {
    let mut first_err = None;
    for plugin in plugins(list)?.iter().rev() {
        let conf = plugin_conf(list, plugin, result, inv.runtime_config);
        if let Err(e) = exec(plugin_type(plugin), "DEL", &conf, inv) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn name(list: &Value) -> String {
    list["name"].as_str().unwrap_or_default().to_string()
}

fn plugins(list: &Value) -> Result<&Vec<Value>, CniError> {
    list["plugins"].as_array().ok_or_else(|| CniError::Config {
        network: name(list),
        message: "has no \"plugins\" list (a .conflist is expected)".into(),
    })
}

fn plugin_type(plugin: &Value) -> &str {
    plugin["type"].as_str().unwrap_or_default()
}

/// One plugin's stdin: its block with the list's name and version, the previous
/// result, and the runtime config of the capabilities it declares.
fn plugin_conf(list: &Value, plugin: &Value, prev: Option<&Value>, runtime: &Value) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = list["name"].clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    if let Some(p) = prev {
        conf["prevResult"] = p.clone();
    }
    let mut rc = serde_json::Map::new();
    if let (Some(caps), Some(runtime)) = (plugin["capabilities"].as_object(), runtime.as_object()) {
        for (cap, on) in caps {
            if on.as_bool() == Some(true)
                && let Some(v) = runtime.get(cap)
            {
                rc.insert(cap.clone(), v.clone());
            }
        }
    }
    if !rc.is_empty() {
        conf["runtimeConfig"] = Value::Object(rc);
    }
    if let Some(obj) = conf.as_object_mut() {
        obj.remove("capabilities");
    }
    conf
}

fn find_plugin(kind: &str, paths: &[PathBuf]) -> Result<PathBuf, CniError> {
    let bad_name = kind.is_empty() || kind.contains('/') || kind.starts_with('.');
    let found = (!bad_name)
        .then(|| paths.iter().map(|d| d.join(kind)).find(|p| p.is_file()))
        .flatten();
    found.ok_or_else(|| CniError::Missing {
        plugin: kind.to_string(),
        path: join_paths(paths),
    })
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Executes one plugin with `conf` on stdin; its parsed stdout (`null` for an empty DEL
/// answer).
fn exec(
    kind: &str,
    command: &'static str,
    conf: &Value,
    inv: &Invocation<'_>,
) -> Result<Value, CniError> {
    let bin = find_plugin(kind, inv.paths)?;
    let fail = |message: String| CniError::Plugin {
        plugin: kind.to_string(),
        command,
        message,
    };
    let mut child = Command::new(&bin)
        .env_clear()
        .env("PATH", crate::client::driver::DEFAULT_PATH)
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", inv.container_id)
        .env("CNI_NETNS", inv.netns)
        .env("CNI_IFNAME", inv.ifname)
        .env("CNI_PATH", join_paths(inv.paths))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", bin.display())))?;
    let input = serde_json::to_vec(conf).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let out = wait_with_timeout(child).map_err(fail)?;
    let parsed: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    if !out.status.success() {
        let message = parsed
            .as_ref()
            .map(|v| {
                format!(
                    "{} {}",
                    v["msg"].as_str().unwrap_or(""),
                    v["details"].as_str().unwrap_or("")
                )
            })
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string());
        return Err(fail(message.trim().to_string()));
    }
    if out.stdout.len() > MAX_RESULT_BYTES {
        return Err(fail(format!("answered more than {MAX_RESULT_BYTES} bytes")));
    }
    Ok(parsed.unwrap_or(Value::Null))
}

fn wait_with_timeout(child: std::process::Child) -> Result<std::process::Output, String> {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(PLUGIN_TIMEOUT) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => {
            // SAFETY: kill(2) on the plugin process this function started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            Err(format!("did not answer within {PLUGIN_TIMEOUT:?}"))
        }
    }
}

/// The first IPv4 address of a CNI result (`ips[].address`, `172.26.64.5/20`), without
/// its prefix length.
pub fn result_ip(result: &Value) -> Option<String> {
    result["ips"]
        .as_array()?
        .iter()
        .filter_map(|ip| ip["address"].as_str())
        .map(|a| a.split('/').next().unwrap_or(a).to_string())
        .find(|a| !a.contains(':'))
}

/// Nomad's bridge network as a CNI list: loopback, a bridge with host-local addresses
/// and masquerading, the firewall plugin, and portmap for the group's ports.
pub fn bridge_conflist(bridge: &str, subnet: &str, hairpin: bool) -> Value {
    json!({
        "cniVersion": "0.4.0",
        "name": bridge,
        "plugins": [
            {"type": "loopback"},
            {
                "type": "bridge",
                "bridge": bridge,
                "ipMasq": true,
                "isGateway": true,
                "forceAddress": true,
                "hairpinMode": hairpin,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}]
                }
            },
            {"type": "firewall", "backend": "iptables", "iptablesAdminChainName": "NOMAD-ADMIN"},
            {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
        ]
    })
}
