//! Validation of a task's workload identities (`Identity`, `Identities`): names, change
//! modes, file paths, lifetimes.

use std::collections::BTreeSet;

use super::{Errors, join};
use crate::model::{Task, WorkloadIdentity, identity_change_mode};

/// Most identities one task may ask for: each is a token signed per allocation.
pub(crate) const MAX_TASK_IDENTITIES: usize = 16;
/// Longest identity name (Nomad's).
const MAX_NAME_LEN: usize = 128;
/// Most audiences of one identity.
const MAX_AUDIENCES: usize = 16;

/// Checks the task's default identity and its named ones, at `path`.
pub(crate) fn workload_identities(e: &mut Errors, path: &str, t: &Task) {
    if let Some(w) = &t.identity {
        let at = join(path, "Identity");
        one(e, &at, w);
        if w.ttl > 0 {
            e.at(
                &at,
                "TTL",
                "the default identity cannot have a TTL (it lives as long as its allocation); give a named identity the TTL instead",
            );
        }
    }
    if t.identities.len() > MAX_TASK_IDENTITIES {
        e.at(
            path,
            "Identities",
            format!("a task can have at most {MAX_TASK_IDENTITIES} identities"),
        );
        return;
    }
    let mut seen = BTreeSet::new();
    for (i, w) in t.identities.iter().enumerate() {
        let at = format!("{path}.Identities[{i}]");
        if !valid_name(&w.name) {
            e.at(
                &at,
                "Name",
                format!(
                    "invalid identity name {:?}: use 1 to {MAX_NAME_LEN} letters, digits, '-' or '_'",
                    w.name
                ),
            );
        } else if !seen.insert(w.name.as_str()) {
            e.at(&at, "Name", format!("duplicate identity name {:?}", w.name));
        }
        one(e, &at, w);
    }
}

/// Checks what every identity shares.
fn one(e: &mut Errors, at: &str, w: &WorkloadIdentity) {
    use identity_change_mode::{NOOP, RESTART, SIGNAL};
    match w.change_mode.as_str() {
        "" | NOOP | RESTART => {
            if !w.change_signal.is_empty() {
                e.at(
                    at,
                    "ChangeSignal",
                    "change_signal can only be set with change_mode = \"signal\"",
                );
            }
        }
        SIGNAL => {
            if w.change_signal.is_empty() {
                e.at(
                    at,
                    "ChangeSignal",
                    "change_mode = \"signal\" needs a change_signal (for example \"SIGHUP\")",
                );
            }
        }
        other => e.at(
            at,
            "ChangeMode",
            format!("invalid change_mode {other:?}: expected \"noop\", \"restart\" or \"signal\""),
        ),
    }
    if w.ttl < 0 {
        e.at(at, "TTL", "TTL must not be negative");
    }
    if !w.filepath.is_empty() {
        if !w.file {
            e.at(at, "Filepath", "filepath is only used with file = true");
        } else if w.filepath.starts_with('/') || super::task::escapes(&w.filepath) {
            e.at(
                at,
                "Filepath",
                "filepath must be relative to the task directory and stay inside it",
            );
        }
    }
    if !w.service_name.is_empty() {
        e.at(
            at,
            "ServiceName",
            "service identities (for Consul) are not supported by orch; remove service_name",
        );
    }
    if w.audience.len() > MAX_AUDIENCES || w.audience.iter().any(|a| a.is_empty()) {
        e.at(
            at,
            "Audience",
            format!("aud takes 1 to {MAX_AUDIENCES} non-empty audiences"),
        );
    }
}

/// Letters, digits, `-`, `_`; 1 to 128 of them.
fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkloadIdentity;

    fn errors(t: &Task) -> Vec<String> {
        let mut e = Errors::new();
        workload_identities(&mut e, "T", t);
        e.list.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn named_identities_need_valid_unique_names_and_sane_modes() {
        let named = |name: &str| WorkloadIdentity {
            name: name.into(),
            audience: vec!["a".into()],
            ttl: 3_600_000_000_000,
            ..Default::default()
        };
        let mut t = Task {
            identities: vec![named("vault"), named("vault"), named("bad name")],
            ..Default::default()
        };
        let msgs = errors(&t);
        assert!(
            msgs.iter()
                .any(|m| m.contains("T.Identities[1].Name") && m.contains("duplicate")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("T.Identities[2].Name")),
            "{msgs:?}"
        );
        t.identities = vec![WorkloadIdentity {
            change_mode: "signal".into(),
            ..named("x")
        }];
        assert!(errors(&t).iter().any(|m| m.contains("ChangeSignal")));
        t.identities = vec![named("ok")];
        assert!(errors(&t).is_empty());
    }

    #[test]
    fn default_identity_has_no_ttl_and_its_file_stays_inside() {
        let t = Task {
            identity: Some(WorkloadIdentity {
                name: "default".into(),
                ttl: 1,
                file: true,
                filepath: "../../etc/x".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let msgs = errors(&t);
        assert!(
            msgs.iter().any(|m| m.contains("T.Identity.TTL")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("T.Identity.Filepath")),
            "{msgs:?}"
        );
    }
}
