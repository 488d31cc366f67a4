//! `orch operator snapshot inspect <file>`: what a saved snapshot holds (ID, index,
//! term, size, objects per table), read from the file alone.

use std::io::Read;
use std::process::ExitCode;

use orch_core::state::StateStore;
use orch_core::state::archive;

use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch operator snapshot inspect [options] <file>

  Displays information about a snapshot file on disk.

  To inspect the file \"backup.snap\":

    $ orch operator snapshot inspect backup.snap

Snapshot Inspect Options:

  -json
    Output the snapshot inspect in its JSON format: Meta (ID, Size, Index,
    Term, Version) and Stats (Name, Count per table).";

const FLAGS: &[FlagSpec] = &[FlagSpec::switch("json")];

/// The most bytes a snapshot file may have, as the servers' restore limit
/// (`http::operator_snapshot::MAX_RESTORE_BODY_BYTES`, 1 GiB).
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Runs `orch operator snapshot inspect`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let file = p.one_arg("file", USAGE)?;
    let bytes = read_archive_file(file)?;
    let a = archive::decode(&bytes).map_err(|e| format!("{file}: {e}"))?;
    let state = StateStore::restore(a.state).map_err(|e| format!("{file}: {e}"))?;
    let counts = archive::table_counts(&state);
    if p.has("json") {
        let stats: Vec<serde_json::Value> = counts
            .iter()
            .map(|(t, n)| serde_json::json!({"Name": t, "Count": n}))
            .collect();
        return crate::cli::output::print_json(&serde_json::json!({
            "Meta": {"ID": a.id(), "Size": bytes.len(), "Index": a.index, "Term": a.term,
                     "Version": archive::ARCHIVE_VERSION},
            "Stats": stats,
        }));
    }
    println!("ID           = {}", a.id());
    println!("Size         = {}", bytes.len());
    println!("Index        = {}", a.index);
    println!("Term         = {}", a.term);
    println!("Version      = {}", archive::ARCHIVE_VERSION);
    println!();
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
