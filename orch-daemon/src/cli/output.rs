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

/// Prints `question` and reads the answer from stdin: `true` for y or yes (Nomad's
/// confirmation prompts; verbs skip them under `-yes`).
pub fn confirm(question: &str) -> Result<bool, String> {
    use std::io::BufRead;
    println!("{question} [y/N]");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
