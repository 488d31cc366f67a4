//! The plugin's command line: `--endpoint`, `--node-id`, `--state-dir`, `--mode`,
//! `--max-volumes`. Hand-parsed (four flags do not earn a parser crate); every mistake
//! is an error naming the flag, and `main` exits 2 on it.

use std::path::PathBuf;

/// Which CSI services this instance serves (Nomad's `csi_plugin { type }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Controller and node in one process.
    Monolith,
    /// The Controller service only (plus Identity).
    Controller,
    /// The Node service only (plus Identity).
    Node,
}

impl Mode {
    /// Whether the Controller service answers.
    pub fn controller(self) -> bool {
        matches!(self, Mode::Monolith | Mode::Controller)
    }

    /// Whether the Node service answers.
    pub fn node(self) -> bool {
        matches!(self, Mode::Monolith | Mode::Node)
    }
}

/// The parsed flags.
#[derive(Clone, Debug)]
pub struct Config {
    /// The socket to listen on.
    pub socket: PathBuf,
    /// This node's ID, as NodeGetInfo reports it and topology names it.
    pub node_id: String,
    /// Where volumes and snapshots live, as directories.
    pub state_dir: PathBuf,
    /// The services served.
    pub mode: Mode,
    /// NodeGetInfo's `max_volumes_per_node` (0: no limit given).
    pub max_volumes: i64,
}

/// What `--help` prints.
pub const USAGE: &str = "\
usage: orch-csi-hostpath [--endpoint unix:///path/csi.sock] [--node-id ID]
                         --state-dir DIR [--mode monolith|controller|node]
                         [--max-volumes N]

A host-path CSI plugin: volumes and snapshots are directories under DIR, published
to workloads as bind mounts.
  --endpoint     the socket to serve (default: $CSI_ENDPOINT, as Nomad sets it)
  --node-id      this node's ID (default: the hostname)
  --state-dir    where volumes/ and snapshots/ live (required)
  --mode         the services served (default: monolith)
  --max-volumes  volumes this node takes, reported by NodeGetInfo (default: no limit)";

/// The command line parsed, or `Ok(None)` for `--help`.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env_endpoint: Option<String>,
    hostname: impl FnOnce() -> Option<String>,
) -> Result<Option<Config>, String> {
    let mut endpoint = env_endpoint;
    let (mut node_id, mut state_dir, mut mode, mut max_volumes) = (None, None, Mode::Monolith, 0);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(None);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        let known = [
            "--endpoint",
            "--node-id",
            "--state-dir",
            "--mode",
            "--max-volumes",
        ];
        if !known.contains(&name.as_str()) {
            return Err(format!("unknown flag {arg:?}"));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{name} needs a value")),
        };
        match name.as_str() {
            "--endpoint" => endpoint = Some(value),
            "--node-id" => node_id = Some(value),
            "--state-dir" => state_dir = Some(PathBuf::from(value)),
            "--mode" => mode = parse_mode(&value)?,
            _ => max_volumes = parse_max_volumes(&value)?,
        }
    }
    let endpoint = endpoint.ok_or("--endpoint is required (or set CSI_ENDPOINT)")?;
    let node_id = match node_id.or_else(hostname) {
        Some(id) if !id.is_empty() && id.len() <= 128 => id,
        Some(_) => return Err("--node-id must be 1 to 128 characters".to_string()),
        None => return Err("--node-id is required (the hostname is unknown)".to_string()),
    };
    let state_dir = state_dir.ok_or("--state-dir is required")?;
    if !state_dir.is_absolute() {
        return Err(format!(
            "--state-dir {state_dir:?} must be an absolute path"
        ));
    }
    Ok(Some(Config {
        socket: parse_endpoint(&endpoint)?,
        node_id,
        state_dir,
        mode,
        max_volumes,
    }))
}

/// `unix:///abs/path` (CSI's form) or a bare absolute path.
fn parse_endpoint(endpoint: &str) -> Result<PathBuf, String> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    if path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(format!(
            "--endpoint {endpoint:?} must be unix:///absolute/path/csi.sock"
        ))
    }
}

fn parse_mode(value: &str) -> Result<Mode, String> {
    match value {
        "monolith" => Ok(Mode::Monolith),
        "controller" => Ok(Mode::Controller),
        "node" => Ok(Mode::Node),
        other => Err(format!(
            "--mode {other:?} is not one of monolith, controller, node"
        )),
    }
}

fn parse_max_volumes(value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "--max-volumes {value:?} must be a positive integer"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_and_defaults() {
        let cfg = parse(
            args(&[
                "--state-dir=/srv/csi",
                "--mode",
                "node",
                "--max-volumes",
                "3",
            ]),
            Some("unix:///csi/csi.sock".to_string()),
            || Some("host1".to_string()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(cfg.socket, PathBuf::from("/csi/csi.sock"));
        assert_eq!(cfg.node_id, "host1");
        assert_eq!(cfg.mode, Mode::Node);
        assert_eq!(cfg.max_volumes, 3);
    }

    #[test]
    fn mistakes_name_the_flag() {
        let err = |list: &[&str]| parse(args(list), None, || None).unwrap_err();
        assert!(err(&["--bogus"]).contains("--bogus"));
        assert!(err(&["--endpoint"]).contains("needs a value"));
        assert!(
            err(&[
                "--endpoint",
                "tcp://x",
                "--node-id",
                "n",
                "--state-dir",
                "/s"
            ])
            .contains("--endpoint")
        );
        assert!(
            err(&[
                "--endpoint",
                "/s.sock",
                "--node-id",
                "n",
                "--state-dir",
                "rel"
            ])
            .contains("absolute")
        );
        assert!(err(&["--mode", "both"]).contains("--mode"));
        assert!(err(&["--endpoint", "/s.sock", "--state-dir", "/s"]).contains("--node-id"));
    }
}
