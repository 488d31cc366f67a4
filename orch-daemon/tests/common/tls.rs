//! TLS helpers for the integration tests: certificates made by the real `orch tls`
//! commands, agent TLS configs, and requests with caller certificates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use orch_daemon::tls::ClientTlsOptions;
use serde_json::Value;

use super::{Agent, orch_in, wait_for};

pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    pub fn make(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        orch_in(dir, &["tls", "ca", "create"]);
        for role in ["-server", "-client", "-cli"] {
            orch_in(dir, &["tls", "cert", "create", role]);
        }
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    pub fn file(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    pub fn ca(&self) -> String {
        self.file("nomad-agent-ca.pem")
    }

    pub fn cert(&self, role: &str) -> (String, String) {
        (
            self.file(&format!("global-{role}-nomad.pem")),
            self.file(&format!("global-{role}-nomad-key.pem")),
        )
    }

    /// Caller options: trust this CA, present the `role` certificate.
    pub fn caller(&self, role: &str) -> ClientTlsOptions {
        let (cert, key) = self.cert(role);
        ClientTlsOptions {
            ca_cert: Some(self.ca().into()),
            client_cert: Some(cert.into()),
            client_key: Some(key.into()),
            ..ClientTlsOptions::default()
        }
    }

    /// An agent config turning on every TLS setting with the `role` certificate.
    pub fn agent_config(&self, role: &str) -> String {
        let (cert, key) = self.cert(role);
        let path = self.file(&format!("tls-{role}.hcl"));
        std::fs::write(
            &path,
            format!(
                "tls {{\n  http = true\n  rpc = true\n  ca_file = \"{}\"\n  cert_file = \"{cert}\"\n  key_file = \"{key}\"\n  verify_server_hostname = true\n  verify_https_client = true\n}}\n",
                self.ca()
            ),
        )
        .unwrap();
        path
    }

    /// The CLI's TLS flags for the `cli` certificate.
    pub fn cli_flags(&self) -> Vec<String> {
        let (cert, key) = self.cert("cli");
        vec![
            "-ca-cert".into(),
            self.ca(),
            "-client-cert".into(),
            cert,
            "-client-key".into(),
            key,
        ]
    }
}

/// One request with `opts`; `Err` when no HTTP answer came (refused handshake).
pub fn call(
    opts: &ClientTlsOptions,
    method: &str,
    url: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Result<(u16, String), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = opts
            .apply(orch_daemon::tls::http_client_builder().timeout(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?
            .build()
            .map_err(|e| e.to_string())?;
        let mut req = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    })
}

pub fn get_json(opts: &ClientTlsOptions, url: &str) -> Option<Value> {
    match call(opts, "GET", url, None, &[]) {
        Ok((200, text)) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

/// Waits until every agent names the same leader and the first has `voters` peers.
pub fn wait_tls_cluster(opts: &ClientTlsOptions, agents: &[&Agent], voters: usize) {
    wait_for(
        Duration::from_secs(60),
        "a TLS cluster with one leader",
        || {
            let peers = get_json(opts, &format!("{}/v1/status/peers", agents[0].http))?;
            let leaders: Vec<Option<Value>> = agents
                .iter()
                .map(|a| get_json(opts, &format!("{}/v1/status/leader", a.http)))
                .collect();
            (peers.as_array()?.len() == voters
                && leaders.iter().all(|l| {
                    l.as_ref()
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                })
                && leaders.iter().all(|l| *l == leaders[0]))
            .then_some(())
        },
    )
}

pub const SLEEP_JOB: &str = r#"
job "tlsjob" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo tls-hello; exec sleep 300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"#;

pub fn cli(agent_http: &str, pki: &Pki, args: &[&str]) -> std::process::Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let verb_words = all
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .count()
        .min(2);
    let mut flags = vec!["-address".to_string(), agent_http.to_string()];
    flags.extend(pki.cli_flags());
    all.splice(verb_words..verb_words, flags);
    Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(&all)
        .env_remove("ORCH_ADDR")
        .env_remove("NOMAD_ADDR")
        .output()
        .unwrap()
}

pub fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
