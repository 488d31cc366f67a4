//! `GET /v1/agent/host[?node_id=|server_id=]`: the agent's host as it sees it (Nomad's
//! `HostDataResponse`, what `nomad operator debug` archives): the kernel, its IPv4
//! interfaces, `/etc/resolv.conf` and `/etc/hosts`, the environment with secrets
//! redacted, and the disks under `/` and the data dir. A server relays the request to
//! the agent named, as it does for `monitor`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::query::{Api, Params, Query};
use super::{ApiError, QueryOpts};

/// Longest `/etc/resolv.conf` or `/etc/hosts` returned (bytes).
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Environment variable names whose values are never shown (any containing these).
const SECRET_MARKERS: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"];

/// `GET /v1/agent/host` on a server agent.
pub async fn host(State(api): Api, Query(raw): Params, req: Request) -> Result<Response, ApiError> {
    let q = QueryOpts::parse(raw)?;
    if let Some(relayed) = super::agent_monitor::relay(&api, &q, req).await? {
        return Ok(relayed);
    }
    let id = api
        .agent
        .node_id
        .clone()
        .unwrap_or_else(|| api.agent.name.clone());
    Ok(api.reply(
        api.state.latest_index().max(1),
        &host_response(&id, api.agent.data_dir.as_deref()),
    ))
}

/// `GET /v1/agent/host` on a client-only agent: its own host.
pub async fn client_host(
    State(ch): State<std::sync::Arc<super::client_fs::ClientHttp>>,
    Query(raw): Params,
    req: Request,
) -> Result<Response, ApiError> {
    let caller = super::client_acl::Caller::of(&req);
    drop(req);
    super::agent_monitor::client_own_request(&ch, raw, caller).await?;
    let id = ch
        .client
        .as_ref()
        .map(|c| c.node_id().to_string())
        .unwrap_or_default();
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        host_response(&id, ch.data_dir.as_deref()),
    )))
}

/// Nomad's `{AgentID, HostData}`.
fn host_response(agent_id: &str, data_dir: Option<&std::path::Path>) -> Value {
    json!({
        "AgentID": agent_id,
        "HostData": {
            "OS": os_line(),
            "Network": ipv4_interfaces(),
            "ResolvConf": read_bounded("/etc/resolv.conf"),
            "Hosts": read_bounded("/etc/hosts"),
            "Environment": environment(),
            "Disk": disks(data_dir),
        },
    })
}

/// `uname -a`'s fields as Nomad prints them: machine, node name, release, system,
/// version.
fn os_line() -> String {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{} {} {} {} {}",
        std::env::consts::ARCH,
        read("hostname"),
        read("osrelease"),
        read("ostype"),
        read("version")
    )
}

fn read_bounded(path: &str) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(MAX_FILE_BYTES).read_to_string(&mut text);
    }
    text
}

/// The agent's environment; values of names that look secret are `<redacted>`.
fn environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .map(|(k, v)| {
            let shown = redacted(&k, v);
            (k, shown)
        })
        .collect()
}

/// `value`, or `<redacted>` when `name` looks like it holds a secret.
fn redacted(name: &str, value: String) -> String {
    let upper = name.to_ascii_uppercase();
    if SECRET_MARKERS.iter().any(|m| upper.contains(m)) {
        "<redacted>".to_string()
    } else {
        value
    }
}

/// Size and use of the filesystems holding `/` and the data dir, in MB.
fn disks(data_dir: Option<&std::path::Path>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let paths = std::iter::once(std::path::Path::new("/")).chain(data_dir);
    for p in paths {
        let (total, free) = crate::disk::disk_space(p);
        let mb = |b: u64| b / (1024 * 1024);
        out.insert(
            p.display().to_string(),
            json!({"DiskMB": mb(total), "UsedMB": mb(total.saturating_sub(free))}),
        );
    }
    out
}

/// Every IPv4 address of the host's interfaces, with its network, as Nomad's
/// `sockaddr` attributes describe them.
fn ipv4_interfaces() -> Vec<Value> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list we free below with freeifaddrs; every node is
    // read only while the list is alive, and null pointers are checked before use.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
                continue;
            }
            if i32::from((*ifa.ifa_addr).sa_family) != libc::AF_INET {
                continue;
            }
            let addr = &*(ifa.ifa_addr as *const libc::sockaddr_in);
            let mask = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
            let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
            let netmask = Ipv4Addr::from(u32::from_be(mask.sin_addr.s_addr));
            out.push(interface(ip, netmask));
        }
        libc::freeifaddrs(head);
    }
    out
}

fn interface(ip: Ipv4Addr, netmask: Ipv4Addr) -> Value {
    let bits = u32::from(netmask).count_ones();
    let network = Ipv4Addr::from(u32::from(ip) & u32::from(netmask));
    json!({
        "address": ip.to_string(), "host": ip.to_string(), "type": "IPv4",
        "netmask": netmask.to_string(), "mask_bits": bits.to_string(),
        "network": network.to_string(), "string": format!("{ip}/{bits}"),
        "uint32": u32::from(ip).to_string(), "hex": format!("{:08x}", u32::from(ip)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_described_as_nomad_does() {
        let v = interface(Ipv4Addr::new(10, 1, 2, 3), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(v["string"], "10.1.2.3/16");
        assert_eq!(v["network"], "10.1.0.0");
        assert_eq!(v["hex"], "0a010203");
    }

    #[test]
    fn secrets_in_the_environment_are_redacted() {
        assert_eq!(redacted("NOMAD_TOKEN", "s3cret".into()), "<redacted>");
        assert_eq!(redacted("aws_secret_access_key", "k".into()), "<redacted>");
        assert_eq!(redacted("PATH", "/bin".into()), "/bin");
        assert!(environment().contains_key("PATH"));
        assert!(
            ipv4_interfaces()
                .iter()
                .any(|i| i["address"] == "127.0.0.1")
        );
    }
}
