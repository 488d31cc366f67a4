//! `orch alloc fs`: lists a directory of an allocation's directory, or prints a file.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::api::{ApiClient, encode};
use crate::cli::flags::{COMMON, FlagSpec, Parsed, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch alloc fs [options] <allocation> <path>

  fs displays either the contents of an allocation directory for the passed
  allocation, or displays the file at the given path. The path is relative to the
  root of the alloc dir and defaults to root if unspecified.

FS Specific Options:

  -H
    Machine friendly output.

  -verbose
    Show full information.

  -job <job-id>
    Use a random allocation from the specified job ID or prefix.

  -group <group-name>
    Specifies the task group where the task is located when a random
    allocation is selected (with -job).

  -stat
    Show file stat information instead of displaying the file, or listing the
    directory.

  -tail
    Show the files contents with offsets relative to the end of the file. If no
    offset is given, -n is defaulted to 10.

  -n
    Sets the tail location in best-efforted number of lines relative to the end
    of the file.

  -c
    Sets the tail location in number of bytes relative to the end of the file.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("H"),
    FlagSpec::switch("verbose"),
    FlagSpec::value("job"),
    FlagSpec::switch("stat"),
    FlagSpec::switch("f"),
    FlagSpec::switch("tail"),
    FlagSpec::value("n"),
    FlagSpec::value("c"),
    FlagSpec::value("group"),
];

/// Runs `orch alloc fs`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("f") {
        return Err(
            "-f (following a file) is not supported by orch yet; use `orch alloc logs -f` for task logs"
                .into(),
        );
    }
    let client = ApiClient::from_flags(&p)?;
    let (id, path) = target(&client, &p)?;
    let q = format!("{}?path={}", encode(&id), encode(&path));
    let info = client.get(&format!("/v1/client/fs/stat/{q}"))?;
    if p.has("stat") {
        println!("{}", file_rows(&[info], p.has("H")));
        return Ok(ExitCode::SUCCESS);
    }
    if info["IsDir"].as_bool() == Some(true) {
        let list = client.get(&format!("/v1/client/fs/ls/{q}"))?;
        let entries = list.as_array().cloned().unwrap_or_default();
        println!("{}", file_rows(&entries, p.has("H")));
        return Ok(ExitCode::SUCCESS);
    }
    print_file(&client, &p, &format!("/v1/client/fs/cat/{q}"))
}

/// The allocation (by `-job` or the first argument) and the path to show.
fn target(client: &ApiClient, p: &Parsed) -> Result<(String, String), String> {
    let (alloc, path) = match (p.all("job").last(), p.positional.as_slice()) {
        (Some(job), [] | [_]) => {
            let running = super::alloc_of_job(client, job, p)?;
            (running, p.positional.first().cloned())
        }
        (None, [alloc]) => (alloc.clone(), None),
        (None, [alloc, path]) => (alloc.clone(), Some(path.clone())),
        _ => {
            return Err(format!(
                "This command takes one or two arguments: <allocation> <path>\n\n{USAGE}"
            ));
        }
    };
    let id = if p.has("job") {
        alloc
    } else {
        client.resolve("/v1/allocations", "allocation", &alloc)?
    };
    Ok((id, path.unwrap_or_else(|| "/".into())))
}

/// Nomad's listing: mode, size, modification time and name (directories end in `/`).
fn file_rows(entries: &[Value], machine: bool) -> String {
    let mut rows = vec![vec![
        "Mode".into(),
        "Size".into(),
        "Modified Time".into(),
        "Name".into(),
    ]];
    for e in entries {
        let size = e["Size"].as_u64().unwrap_or(0);
        let mut name = text(&e["Name"]);
        if e["IsDir"].as_bool() == Some(true) {
            name.push('/');
        }
        rows.push(vec![
            text(&e["FileMode"]),
            if machine {
                size.to_string()
            } else {
                human_bytes(size)
            },
            text(&e["ModTime"]),
            name,
        ]);
    }
    if machine {
        rows.iter()
            .map(|r| r.join("|"))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        columns(&rows)
    }
}

/// Sizes as Nomad prints them without -H: `1.2 KiB`, `3 B`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Prints the file at `path` (a cat URL), or with `-tail`/`-n`/`-c` only its end.
fn print_file(client: &ApiClient, p: &Parsed, path: &str) -> Result<ExitCode, String> {
    let number = |name: &str| -> Result<Option<usize>, String> {
        p.all(name)
            .last()
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("-{name}: expected a number, got {v:?}"))
            })
            .transpose()
    };
    let (lines, bytes) = (number("n")?, number("c")?);
    if !(p.has("tail") || lines.is_some() || bytes.is_some()) {
        client.stream(path, &mut std::io::stdout())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut all = Vec::new();
    client.stream(path, &mut all)?;
    let start = match (bytes, lines) {
        (Some(c), _) => all.len().saturating_sub(c),
        (None, n) => tail_start(&all, n.unwrap_or(10)),
    };
    use std::io::Write;
    std::io::stdout()
        .write_all(&all[start..])
        .map_err(|e| format!("writing to stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Where the last `n` lines of `data` begin.
fn tail_start(data: &[u8], n: usize) -> usize {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_start_finds_the_last_lines() {
        assert_eq!(tail_start(b"a\nb\nc\n", 2), 2);
        assert_eq!(tail_start(b"a\nb\nc", 1), 4);
        assert_eq!(tail_start(b"a\nb\n", 10), 0);
        assert_eq!(tail_start(b"", 3), 0);
    }

    #[test]
    fn sizes_read_as_nomad_prints_them() {
        assert_eq!(human_bytes(3), "3 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
    }
}
