//! Reading drivers' `config` blocks and the other inputs they share: command resolution
//! and user lookup.
//!
//! Config blocks are checked by hand rather than through serde so that every error names
//! its field (`args[1]`) and unknown keys are refused rather than ignored (orch's rule:
//! never silently drop what it does not support).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::DriverError;
use super::caps::CapSet;
use super::shim::UserIds;

/// PATH for tasks whose environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn cfg_err(field: &str, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The config block as an object whose keys are all in `known`.
pub fn object<'a>(
    config: &'a Value,
    known: &[&str],
) -> Result<&'a Map<String, Value>, DriverError> {
    let obj = match config {
        Value::Object(o) => o,
        Value::Null => return Err(cfg_err("", "the config block is missing")),
        _ => return Err(cfg_err("", "must be a block (object)")),
    };
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(cfg_err(
            k,
            format!("unknown option; this driver accepts {}", known.join(", ")),
        ));
    }
    Ok(obj)
}

/// An optional string option (absent or `null`: `None`).
pub fn opt_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, DriverError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(cfg_err(field, "must be a string")),
    }
}

/// A required, non-empty string option.
pub fn req_string(obj: &Map<String, Value>, field: &str) -> Result<String, DriverError> {
    match opt_string(obj, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(cfg_err(field, "is required (a non-empty string)")),
    }
}

/// An optional list of strings (absent: empty).
pub fn string_list(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, DriverError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(cfg_err(&format!("{field}[{i}]"), "must be a string")),
            })
            .collect(),
        Some(_) => Err(cfg_err(field, "must be a list of strings")),
    }
}

/// `command` + `args`, the config of raw_exec and exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandConfig {
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl CommandConfig {
    /// Parses and checks a raw_exec/exec config block.
    pub fn parse(config: &Value) -> Result<CommandConfig, DriverError> {
        Self::from_object(object(config, &["command", "args"])?)
    }

    /// `command` and `args` of an already checked block (exec adds its own keys).
    pub fn from_object(obj: &Map<String, Value>) -> Result<CommandConfig, DriverError> {
        Ok(CommandConfig {
            command: req_string(obj, "command")?,
            args: string_list(obj, "args")?,
        })
    }
}

/// A task's `cap_add` / `cap_drop` (exec and java), checked against capability names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapRequest {
    /// `cap_add`.
    pub add: CapSet,
    /// `cap_drop`.
    pub drop: CapSet,
}

impl CapRequest {
    /// Reads `cap_add` and `cap_drop` of a checked block; unknown names name the field.
    pub fn from_object(obj: &Map<String, Value>) -> Result<CapRequest, DriverError> {
        Ok(CapRequest {
            add: CapSet::parse("cap_add", &string_list(obj, "cap_add")?)?,
            drop: CapSet::parse("cap_drop", &string_list(obj, "cap_drop")?)?,
        })
    }
}

/// Refuses `user` when the client's user denylist (Nomad's `user.denylist`, `root` by
/// default) names it or a user with the same uid (`user = "0"` is root too).
pub fn check_user_allowed(
    driver: &str,
    user: &str,
    denylist: &[String],
) -> Result<(), DriverError> {
    let uid = lookup_user(user).ok().map(|u| u.uid);
    let denied = denylist.iter().find(|d| {
        d.as_str() == user || (uid.is_some() && lookup_user(d).ok().map(|u| u.uid) == uid)
    });
    match denied {
        Some(d) => Err(DriverError::Start(format!(
            "running as user {user:?} is disallowed for the {driver} driver (the client's user.denylist contains {d:?}); set the task's `user` to an unprivileged user"
        ))),
        None => Ok(()),
    }
}

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds the program to run, as Nomad does: absolute paths as given; relative ones in
/// the task directory first (`local/` artifacts; a bare name is also tried in `local/`),
/// then, for bare names, in `PATH`. `None` when nothing executable is found.
pub fn resolve_command(command: &str, task_dir: &Path, path_env: &str) -> Option<PathBuf> {
    let p = Path::new(command);
    if p.is_absolute() {
        return is_executable(p).then(|| p.to_path_buf());
    }
    let mut candidates = vec![task_dir.join(p)];
    if !command.contains('/') {
        candidates.push(task_dir.join("local").join(p));
        candidates.extend(
            path_env
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join(p)),
        );
    }
    candidates.into_iter().find(|c| is_executable(c))
}

/// Looks `name` up in `/etc/passwd` (a numeric name is taken as a uid with gid = uid).
pub fn lookup_user(name: &str) -> Result<UserIds, DriverError> {
    lookup_user_in(name, Path::new("/etc/passwd"))
}

fn lookup_user_in(name: &str, passwd: &Path) -> Result<UserIds, DriverError> {
    if let Ok(uid) = name.parse::<u32>() {
        return Ok(UserIds { uid, gid: uid });
    }
    let text = std::fs::read_to_string(passwd).map_err(|source| DriverError::Io {
        context: format!("cannot read {} to look up user {name:?}", passwd.display()),
        source,
    })?;
    text.lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&name) && f.len() >= 4)
                .then(|| Some(UserIds {
                    uid: f[2].parse().ok()?,
                    gid: f[3].parse().ok()?,
                }))
                .flatten()
        })
        .ok_or_else(|| DriverError::Start(format!(
            "user {name:?} does not exist on this node ({}): set the task's `user` to an existing user",
            passwd.display()
        )))
}

#[cfg(test)]
mod tests;
