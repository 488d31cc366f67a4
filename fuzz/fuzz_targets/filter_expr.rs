//! Any string given as `?filter=` must parse to an expression or an error, and a parsed
//! one must evaluate against a job's JSON, never panicking or overflowing the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_daemon::http::filter::Expr;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(expr) = Expr::parse(text)
    {
        let job = serde_json::json!({
            "ID": "web", "Status": "running", "Priority": 50,
            "Meta": {"a.b": "c", "n": "1"}, "Datacenters": ["dc1", "dc2"],
            "TaskGroups": [{"Name": "g", "Count": 3, "Tasks": [{"Name": "t"}]}],
        });
        let _ = expr.matches(&job);
    }
});
