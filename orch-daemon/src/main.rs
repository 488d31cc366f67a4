//! `orch`: the agent and command-line binary. For now the command line works on jobspecs
//! locally (`job validate`, `job run -output`); the agent arrives with the server issue.

mod cli;
#[allow(dead_code, unused_imports)] // Wired into `orch agent` as the server lands.
mod http;
#[allow(dead_code, unused_imports)] // Wired into `orch agent` as the server lands.
mod raft;
#[allow(dead_code, unused_imports)] // Wired into `orch agent` as the server lands.
mod server;

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
