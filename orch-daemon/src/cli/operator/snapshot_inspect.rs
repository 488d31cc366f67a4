//! `orch operator snapshot inspect <file>`: what a saved snapshot holds (ID, index,
//! term, size, objects per table), read from the file alone.

use std::io::Read;
use std::process::ExitCode;

use orch_core::state::StateStore;
use orch_core::state::archive;

use crate::cli::flags::{COMMON, parse_verb};

const USAGE: &str = "Usage: orch operator snapshot inspect [options] <file>

  Displays information about a snapshot file on disk.

  To inspect the file \"backup.snap\":

    $ orch operator snapshot inspect backup.snap";

/// The most bytes a snapshot file may have, as the servers' restore limit
/// (`http::operator_snapshot::MAX_RESTORE_BODY_BYTES`, 1 GiB).
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Runs `orch operator snapshot inspect`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let file = p.one_arg("file", USAGE)?;
    let bytes = read_archive_file(file)?;
    let a = archive::decode(&bytes).map_err(|e| format!("{file}: {e}"))?;
    let state = StateStore::restore(a.state).map_err(|e| format!("{file}: {e}"))?;
    println!("ID           = {}", a.id());
    println!("Size         = {}", bytes.len());
    println!("Index        = {}", a.index);
    println!("Term         = {}", a.term);
    println!("Version      = {}", archive::ARCHIVE_VERSION);
    println!();
    let counts = archive::table_counts(&state);
    let width = counts
        .iter()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(" {:<width$}  Count", "Type");
    println!(" {:<width$}  -----", "----");
    for (table, n) in counts {
        println!(" {table:<width$}  {n}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a snapshot file, refusing one larger than any server would restore.
pub(super) fn read_archive_file(file: &str) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(file).map_err(|e| format!("cannot open {file}: {e}"))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {file}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{file} is larger than {} MiB, the most a snapshot restore takes; it is not an orch snapshot",
            MAX_FILE_BYTES >> 20
        ));
    }
    Ok(bytes)
}
