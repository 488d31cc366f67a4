//! The feeder's quota trigger: which namespaces' quota-blocked evaluations to release
//! after a pass (Nomad Enterprise's `UnblockQuota`). Allocations that ended free use in
//! every namespace sharing their quota; a changed quota specification or namespace may
//! have raised a limit or detached the quota.

use std::collections::BTreeSet;

use orch_core::state::{StateStore, ns_table};

/// Namespaces whose quota room may have grown since `last_index`.
pub(super) fn freed_namespaces(s: &StateStore, last_index: u64) -> BTreeSet<String> {
    let ended = s
        .allocs_modified_after(last_index)
        .filter(|a| a.terminal())
        .map(|a| a.namespace.as_str());
    let mut out = s.quota_peers(ended);
    if s.index(ns_table::QUOTAS) > last_index || s.index(ns_table::NAMESPACES) > last_index {
        // Rare (operator writes): every namespace with a quota, and those whose quota
        // was just detached.
        let changed = s
            .namespaces()
            .filter(|n| !n.quota.is_empty() || n.modify_index > last_index)
            .map(|n| n.name.clone());
        out.extend(changed);
    }
    out
}
