//! `orch`: the agent and command-line binary. `orch agent` runs a server (Raft on disk,
//! the leader's scheduler loop, Nomad's HTTP API); `orch job ...` works on jobspecs.

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: the write path allocates and frees many small
/// objects across threads, and glibc's free (bin consolidation) cost about a quarter
/// of the CPU in the registration bench. Built with `no_thp`: mimalloc would otherwise
/// madvise its arenas for transparent huge pages, and the kernel then zeroes 2 MiB on
/// each fault of churned memory (17% of the bench's CPU). Unlike disabling THP for the
/// process, this leaves the tasks the client starts untouched.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // reqwest uses rustls without a built-in provider (see orch-daemon/Cargo.toml).
    orch_daemon::tls::ensure_crypto_provider();
    match orch_daemon::cli::run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}
