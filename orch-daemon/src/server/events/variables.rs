//! The `Variable` topic: a variable written (set, or its lock taken, renewed or
//! released: `VariableUpdated`, Nomad's type) or deleted (`VariableDeleted`). The
//! payload is the variable's metadata only (namespace, path, indexes, times, lock):
//! its items are sealed in the state and never leave it through the event stream.

use orch_core::model::variable::VariableEncrypted;
use orch_core::state::{Command, StateStore, VarOp};
use serde_json::Value;

use super::{Event, Payload, topic};

/// Nomad's event type of a variable write.
pub const UPDATED: &str = "VariableUpdated";
/// orch's event type of a variable deletion (Nomad documents none).
pub const DELETED: &str = "VariableDeleted";

/// The event type of a variable command (empty for other commands).
pub fn event_type(cmd: &Command) -> &'static str {
    match cmd {
        Command::VarApply(c) if c.op == VarOp::Delete => DELETED,
        Command::VarApply(_) => UPDATED,
        _ => "",
    }
}

/// What a variable command needs captured before it is applied: the variable it
/// deletes, as it was (namespace and path of a write are read once it is applied).
#[derive(Debug, Default)]
pub struct VarBefore {
    written: Option<(String, String)>,
    deleted: Option<VariableEncrypted>,
}

impl VarBefore {
    /// Captures the variable `cmd` writes or deletes.
    pub fn capture(store: &StateStore, cmd: &Command) -> VarBefore {
        let Command::VarApply(c) = cmd else {
            return VarBefore::default();
        };
        let (ns, path) = (&c.var.namespace, &c.var.path);
        if c.op == VarOp::Delete {
            VarBefore {
                written: None,
                deleted: store.variable(ns, path).cloned(),
            }
        } else {
            VarBefore {
                written: Some((ns.clone(), path.clone())),
                deleted: None,
            }
        }
    }

    /// The event of the applied command at `index` (none when it changed nothing,
    /// e.g. a refused check-and-set).
    pub fn events(self, store: &StateStore, index: u64) -> Vec<Event> {
        let written = self.written.and_then(|(ns, path)| {
            let v = store.variable(&ns, &path)?;
            (v.modify_index == index).then(|| (UPDATED, v.clone()))
        });
        let deleted = self
            .deleted
            .filter(|v| store.variable(&v.namespace, &v.path).is_none())
            .map(|v| (DELETED, v));
        written
            .into_iter()
            .chain(deleted)
            .map(|(event_type, v)| Event {
                topic: topic::VARIABLE,
                event_type,
                key: v.path.clone(),
                namespace: v.namespace.clone(),
                filter_keys: Vec::new(),
                index,
                payload: Payload::Variable(Value::Object(v.metadata_json())),
            })
            .collect()
    }
}
