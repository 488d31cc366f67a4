//! `orch`: the agent and command-line binary. For now the command line works on jobspecs
//! locally (`job validate`, `job run -output`); the agent arrives with the server issue.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}
