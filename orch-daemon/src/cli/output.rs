//! Output every verb shares besides tables ([`super::table`]): the raw API JSON of
//! `-json`.

use std::process::ExitCode;

/// Prints a JSON value, indented.
pub fn print_json(v: &serde_json::Value) -> Result<ExitCode, String> {
    use std::io::Write;
    let s = serde_json::to_string_pretty(v).map_err(|e| format!("cannot encode JSON: {e}"))?;
    match writeln!(std::io::stdout().lock(), "{s}") {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
