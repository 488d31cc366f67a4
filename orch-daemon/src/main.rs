//! `orch`: the agent and command-line binary. `orch agent` runs a server (Raft on disk,
//! the leader's scheduler loop, Nomad's HTTP API); `orch job ...` works on jobspecs.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match orch_daemon::cli::run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}
