//! `orch tls <noun> <verb>`: a private CA and the agents' certificates, named and
//! shaped as Nomad's `nomad tls` makes them (`nomad-agent-ca.pem`,
//! `global-server-nomad.pem`, roles in the SANs), so the files and agent configs of a
//! Nomad cluster carry over. Built with rcgen on ring.

mod ca_create;
mod cert_create;

use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "Usage: orch tls <subcommand> <subcommand> [options]

Subcommands:
    ca create    Create a certificate authority for the agents' certificates
    cert create  Create a server, client or CLI certificate signed by that CA";

const CA_USAGE: &str = "Usage: orch tls ca <subcommand> [options]

  This command groups subcommands for interacting with certificate authorities.

Subcommands:
    create    Create a certificate authority for the agents' certificates";

const CERT_USAGE: &str = "Usage: orch tls cert <subcommand> [options]

  This command groups subcommands for interacting with certificates.

Subcommands:
    create    Create a server, client or CLI certificate signed by the CA";

/// Dispatches `orch tls ca create` and `orch tls cert create`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("ca") => {
            let verbs: &[super::Verb] = &[("create", ca_create::run)];
            super::dispatch("tls ca", rest, verbs, CA_USAGE)
        }
        Some("cert") => {
            let verbs: &[super::Verb] = &[("create", cert_create::run)];
            super::dispatch("tls cert", rest, verbs, CERT_USAGE)
        }
        Some(w) if !super::flags::is_help(w) && w != "help" => {
            Err(format!("unknown command `orch tls {w}`\n\n{USAGE}"))
        }
        None => super::flags::usage_exit(USAGE),
        _ => super::flags::print_usage(USAGE),
    }
}

/// Writes `text` to a new file `name` (`mode` bits), refusing to overwrite one, as
/// Nomad does; prints `==> Saved <name>`.
fn save_new(name: &str, text: &str, mode: u32) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(Path::new(name))
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("{name} already exists; remove it or work in another directory")
            } else {
                format!("cannot create {name}: {e}")
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    println!("==> Saved {name}");
    Ok(())
}

/// The `-days` value: a whole positive number of days.
fn days(p: &super::flags::Parsed, default: i64) -> Result<i64, String> {
    match p.all("days").last() {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 && n < 36_500 => Ok(n),
            _ => Err(format!(
                "-days expects a whole number of days (1-36499), got {v:?}"
            )),
        },
    }
}
