//! The etcd reference for `register-bench --etcd`: a three-member etcd cluster on
//! loopback (ports picked at run time, data in a temp dir), written to through etcd's
//! HTTP/JSON gateway (`POST /v3/kv/put`, base64 key and value) with plain reqwest, so
//! the comparison uses the same HTTP client, payload and concurrency as the orch run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::process::{Child, Command};

/// Where Debian's `etcd-server` package installs the server.
pub const ETCD_BIN: &str = "/usr/bin/etcd";

/// Why the etcd reference could not run.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No etcd binary.
    #[error(
        "etcd is not installed ({ETCD_BIN} is missing): install the Debian package etcd-server (`apt-get install etcd-server`), or run without --etcd"
    )]
    Missing,
    /// A member could not be started.
    #[error("starting etcd member {name}: {source}; check that {ETCD_BIN} runs")]
    Spawn {
        /// Member name.
        name: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No free loopback port.
    #[error("no free loopback port for etcd: {0}")]
    Port(std::io::Error),
    /// The cluster did not become healthy.
    #[error("the etcd cluster did not become healthy within {0:?}; see the member logs in {1}")]
    Unhealthy(Duration, PathBuf),
}

/// A running three-member cluster; members are killed when it is dropped.
pub struct EtcdCluster {
    /// Client URLs (`http://127.0.0.1:port`), one per member.
    pub client_urls: Vec<String>,
    members: Vec<Child>,
}

impl Drop for EtcdCluster {
    /// Kills and reaps the members this cluster started (and only them).
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.kill();
            let _ = m.wait();
        }
    }
}

fn free_port() -> Result<u16, EtcdError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(EtcdError::Port)?;
    Ok(l.local_addr().map_err(EtcdError::Port)?.port())
}

/// The installed etcd's version line, for the report (`etcd Version: 3.4.23`).
pub fn version() -> String {
    std::process::Command::new(ETCD_BIN)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "etcd (version unknown)".into())
}

/// Refuses early, before the orch run, if etcd is absent.
pub fn check_installed() -> Result<(), EtcdError> {
    if Path::new(ETCD_BIN).is_file() {
        Ok(())
    } else {
        Err(EtcdError::Missing)
    }
}

impl EtcdCluster {
    /// Starts three members in `dir` and waits until each answers `/health`.
    pub async fn start(dir: &Path, http: &reqwest::Client) -> Result<EtcdCluster, EtcdError> {
        check_installed()?;
        let mut peers = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..3 {
            peers.push(free_port()?);
            clients.push(free_port()?);
        }
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("m{i}=http://127.0.0.1:{p}"))
            .collect();
        let initial = initial.join(",");
        // Built first so a member that fails to start takes the started ones down.
        let mut cluster = EtcdCluster {
            client_urls: clients
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}"))
                .collect(),
            members: Vec::new(),
        };
        for i in 0..3 {
            let name = format!("m{i}");
            let log = std::fs::File::create(dir.join(format!("{name}.log"))).map_err(|source| {
                EtcdError::Spawn {
                    name: name.clone(),
                    source,
                }
            })?;
            let peer = format!("http://127.0.0.1:{}", peers[i]);
            let client = format!("http://127.0.0.1:{}", clients[i]);
            let child = Command::new(ETCD_BIN)
                .args(["--name", &name])
                .arg("--data-dir")
                .arg(dir.join(&name))
                .args(["--listen-peer-urls", &peer])
                .args(["--initial-advertise-peer-urls", &peer])
                .args(["--listen-client-urls", &client])
                .args(["--advertise-client-urls", &client])
                .args(["--initial-cluster", &initial])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "orch-register-bench"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|source| EtcdError::Spawn { name, source })?;
            cluster.members.push(child);
        }
        let wait = Duration::from_secs(30);
        let deadline = Instant::now() + wait;
        for url in &cluster.client_urls {
            loop {
                let healthy = match http.get(format!("{url}/health")).send().await {
                    Ok(r) => r
                        .json::<serde_json::Value>()
                        .await
                        .is_ok_and(|v| v["health"] == "true"),
                    Err(_) => false,
                };
                if healthy {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(EtcdError::Unhealthy(wait, dir.to_path_buf()));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(cluster)
    }
}

/// The gateway's `PutRequest` for `key` = `value`.
pub fn put_body(key: &str, value: &str) -> String {
    serde_json::json!({"key": base64(key.as_bytes()), "value": base64(value.as_bytes())})
        .to_string()
}

/// Standard base64 with padding (what the gateway's protobuf JSON expects for bytes).
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), want);
        }
    }
}
