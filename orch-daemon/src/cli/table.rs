//! Human output in Nomad's layout: columns separated by two spaces (Nomad's `columnize`),
//! `Key = Value` blocks, short IDs, and RFC 3339 times.

use serde_json::Value;

/// Aligns rows into columns two spaces apart, the first row being the header.
pub fn columns(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; width];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// `Key = Value` lines with the `=` aligned.
pub fn kv(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:width$} = {v}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether IDs print in full: a verb's `-verbose` turns it on for the process (one
/// verb runs per process), as Nomad sets its ID length to 36 under `-verbose`.
static FULL_IDS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints every later ID in full (`-verbose`).
pub fn set_full_ids() {
    FULL_IDS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The first 8 characters of an ID, as Nomad shows them without `-verbose`; the whole
/// ID under `-verbose`.
pub fn short(id: &str) -> String {
    if FULL_IDS.load(std::sync::atomic::Ordering::Relaxed) {
        return id.to_string();
    }
    id.chars().take(8).collect()
}

/// A JSON value as table text: strings bare, null empty.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Unix nanoseconds as UTC RFC 3339 (`2024-05-01T12:00:00Z`), Nomad's time format.
pub fn time(nanos: i64) -> String {
    crate::clock::rfc3339_seconds(nanos)
}

/// The current time in Nomad's format.
pub fn now() -> String {
    time(crate::clock::now_nanos())
}

/// A JSON timestamp (Unix nanoseconds, or an RFC 3339 string) as time text; empty for
/// 0, Go's zero time or missing.
pub fn time_of(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(n) if n > 0 => time(n),
            _ => String::new(),
        },
        Value::String(s) if !s.starts_with("0001-01-01") => s.clone(),
        _ => String::new(),
    }
}

/// An RFC 3339 time without its fraction of a second, as Nomad's `formatTime` prints
/// times (`2026-12-03T06:31:55Z`).
pub fn whole_seconds(t: &str) -> String {
    match (t.find('.'), t.rfind(['Z', '+', '-'])) {
        (Some(dot), Some(zone)) if zone > dot => format!("{}{}", &t[..dot], &t[zone..]),
        (Some(dot), _) => t[..dot].to_string(),
        _ => t.to_string(),
    }
}

/// Nomad's `formatAllocMetrics`: why placements failed, one `* ...` line each.
pub fn alloc_metrics(m: &Value, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let n = |k: &str| m[k].as_u64().unwrap_or(0);
    let each = |k: &str| -> Vec<(String, u64)> {
        m[k].as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let quota_hit = m["QuotaExhausted"]
        .as_array()
        .is_some_and(|q| !q.is_empty());
    if n("NodesEvaluated") == 0 && !quota_hit {
        out.push(format!("{prefix}* No nodes were eligible for evaluation"));
    }
    for (dc, available) in each("NodesAvailable") {
        if available == 0 {
            out.push(format!(
                "{prefix}* No nodes are available in datacenter {dc:?}"
            ));
        }
    }
    for (class, num) in each("ClassFiltered") {
        out.push(format!(
            "{prefix}* Class {class:?}: {num} nodes excluded by filter"
        ));
    }
    for (c, num) in each("ConstraintFiltered") {
        out.push(format!(
            "{prefix}* Constraint {c:?}: {num} nodes excluded by filter"
        ));
    }
    if n("NodesExhausted") > 0 {
        out.push(format!(
            "{prefix}* Resources exhausted on {} nodes",
            n("NodesExhausted")
        ));
    }
    for (class, num) in each("ClassExhausted") {
        out.push(format!(
            "{prefix}* Class {class:?} exhausted on {num} nodes"
        ));
    }
    for (dim, num) in each("DimensionExhausted") {
        out.push(format!(
            "{prefix}* Dimension {dim:?} exhausted on {num} nodes"
        ));
    }
    if let Some(q) = m["QuotaExhausted"].as_array() {
        for dim in q {
            out.push(format!("{prefix}* Quota limit hit {:?}", text(dim)));
        }
    }
    out
}

/// `Task Group "g" (failed to place N allocations):` blocks for a `FailedTGAllocs` map.
pub fn failed_groups(failed: &Value, indent: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(groups) = failed.as_object() else {
        return out;
    };
    for (group, metric) in groups {
        let n = metric["CoalescedFailures"].as_u64().unwrap_or(0) + 1;
        let noun = if n == 1 { "allocation" } else { "allocations" };
        out.push(format!(
            "{indent}Task Group {group:?} (failed to place {n} {noun}):"
        ));
        out.extend(alloc_metrics(metric, &format!("{indent}  ")));
    }
    out
}

#[cfg(test)]
mod tests;
