//! Version markers of the data the agent keeps on disk, for every layer: the server's
//! Raft directory (log and snapshot) and the client's state directory.
//!
//! Why: without a marker a build meeting data it cannot read fails somewhere deep in a
//! decoder (or, worse, misreads it). Each directory carries a `FORMAT` file naming what
//! wrote it; a build checks it before opening anything, and one that cannot read the
//! directory says which version it found and what to do. A directory without the file
//! was written before markers existed, by the formats of the release that introduced
//! them; it is read as such and marked.
//!
//! Compatibility rule: a release reads every format the previous release wrote
//! (`tests/data_formats.rs` holds directories written by earlier releases). A layout
//! change therefore bumps the format and adds the upgrade of the previous one.

use std::path::{Path, PathBuf};

/// The name of the marker file in each directory.
pub const MARKER_FILE: &str = "FORMAT";

/// What a marker records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    /// The layout of this directory's own files (Raft log encoding, client state files).
    pub format: u32,
    /// The layout of the replicated state inside it (`orch_core`'s snapshot format,
    /// which also fixes how commands in the Raft log decode); 0 where none is kept.
    pub state_format: u32,
}

/// A directory this build cannot use.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The marker could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The marker file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The marker names formats this build does not read.
    #[error(
        "{path}: this {what} was written in format {found_format} (state format {found_state}); this build of orch {version} reads format {want_format} (state format {want_state}). {advice}"
    )]
    Unreadable {
        /// The marker file.
        path: PathBuf,
        /// The kind of directory.
        what: &'static str,
        /// Its format.
        found_format: u32,
        /// Its state format.
        found_state: u32,
        /// The formats this build reads.
        want_format: u32,
        /// The state format this build reads.
        want_state: u32,
        /// This build's version.
        version: &'static str,
        /// What to do.
        advice: &'static str,
    },
}

/// What an operator can do with a directory written by a newer build.
const NEWER: &str = "It was written by a newer orch: run that release (or newer) on it.";
/// What an operator can do with a directory too old to upgrade in place.
const OLDER: &str = "It is too old to upgrade in place: run the release that wrote it, or move the directory away so this agent starts empty (a server then catches up from its peers; upgrade servers one at a time).";

/// Checks the marker of `dir` against what this build writes (`current`), writing it
/// when the directory has none yet. `oldest_state` is the oldest state format this
/// build still reads (orch_core upgrades it on load).
pub fn check_or_mark(
    dir: &Path,
    what: &'static str,
    current: Marker,
    oldest_state: u32,
) -> Result<(), FormatError> {
    let path = dir.join(MARKER_FILE);
    let io = |e: &dyn std::fmt::Display| FormatError::Io {
        path: path.clone(),
        message: e.to_string(),
    };
    let found = match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map_err(|e| io(&e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return write_marker(&path, current).map_err(|e| io(&e));
        }
        Err(e) => return Err(io(&e)),
    };
    let readable = found.format == current.format
        && (oldest_state..=current.state_format).contains(&found.state_format);
    if readable {
        if found != current {
            // Upgraded on load; what is written from now on is the current format.
            write_marker(&path, current).map_err(|e| io(&e))?;
        }
        return Ok(());
    }
    let newer = found.format > current.format || found.state_format > current.state_format;
    Err(FormatError::Unreadable {
        path,
        what,
        found_format: found.format,
        found_state: found.state_format,
        want_format: current.format,
        want_state: current.state_format,
        version: env!("CARGO_PKG_VERSION"),
        advice: if newer { NEWER } else { OLDER },
    })
}

/// `format = N` and `state_format = M` lines, as [`write_marker`] writes them.
fn parse(text: &str) -> Result<Marker, String> {
    let mut marker = Marker {
        format: 0,
        state_format: 0,
    };
    let mut seen_format = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("{line:?} is not `key = value`"));
        };
        let number = || {
            value
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("{line:?}: expected a whole number"))
        };
        match key.trim() {
            "format" => {
                marker.format = number()?;
                seen_format = true;
            }
            "state_format" => marker.state_format = number()?,
            // Informational lines (which release wrote it).
            _ => {}
        }
    }
    if !seen_format {
        return Err("no `format = N` line; restore the file or move the directory away".into());
    }
    Ok(marker)
}

fn write_marker(path: &Path, m: Marker) -> std::io::Result<()> {
    let text = format!(
        "format = {}\nstate_format = {}\nwritten_by = {}\n",
        m.format,
        m.state_format,
        env!("CARGO_PKG_VERSION")
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Marker = Marker {
        format: 1,
        state_format: 12,
    };

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("orch-format-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_unmarked_directory_is_marked_and_then_accepted() {
        let d = dir("unmarked");
        check_or_mark(&d, "Raft directory", NOW, 12).unwrap();
        let text = std::fs::read_to_string(d.join(MARKER_FILE)).unwrap();
        assert!(text.contains("state_format = 12"), "{text}");
        check_or_mark(&d, "Raft directory", NOW, 12).unwrap();
    }

    #[test]
    fn newer_and_older_formats_are_refused_with_what_to_do() {
        let d = dir("refused");
        std::fs::write(d.join(MARKER_FILE), "format = 1\nstate_format = 13\n").unwrap();
        let e = check_or_mark(&d, "Raft directory", NOW, 12)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("state format 13") && e.contains("newer orch"),
            "{e}"
        );
        std::fs::write(d.join(MARKER_FILE), "format = 1\nstate_format = 11\n").unwrap();
        let e = check_or_mark(&d, "Raft directory", NOW, 12)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("state format 11") && e.contains("too old"),
            "{e}"
        );
        std::fs::write(d.join(MARKER_FILE), "format = 2\nstate_format = 12\n").unwrap();
        let e = check_or_mark(&d, "Raft directory", NOW, 12)
            .unwrap_err()
            .to_string();
        assert!(e.contains("format 2"), "{e}");
    }

    #[test]
    fn an_older_readable_state_format_is_upgraded_in_the_marker() {
        let d = dir("upgrade");
        std::fs::write(d.join(MARKER_FILE), "format = 1\nstate_format = 11\n").unwrap();
        check_or_mark(&d, "Raft directory", NOW, 11).unwrap();
        let text = std::fs::read_to_string(d.join(MARKER_FILE)).unwrap();
        assert!(text.contains("state_format = 12"), "{text}");
    }

    #[test]
    fn a_damaged_marker_is_an_error_naming_the_file() {
        let d = dir("damaged");
        std::fs::write(d.join(MARKER_FILE), "format = one\n").unwrap();
        let e = check_or_mark(&d, "Raft directory", NOW, 12)
            .unwrap_err()
            .to_string();
        assert!(e.contains(MARKER_FILE) && e.contains("whole number"), "{e}");
        std::fs::write(d.join(MARKER_FILE), "hello\n").unwrap();
        assert!(check_or_mark(&d, "Raft directory", NOW, 12).is_err());
    }
}
