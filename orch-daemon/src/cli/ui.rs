//! `orch ui [-show-url] [<identifier>]`: the web UI's URL for the configured agent
//! address (`-address`, `ORCH_ADDR`, `NOMAD_ADDR`), optionally at a job, allocation or
//! node found by ID prefix through `/v1/search`, as `nomad ui` does.
//!
//! Like Nomad it opens the URL in a browser, through `xdg-open` when that is on `PATH`
//! (and says `Opening URL ...` only then); without one, and with `-show-url`, it prints
//! the URL. `-authenticate` (Nomad's one-time token exchange) is refused: orch has no
//! one-time tokens; the UI's own sign-in page takes the token.

use std::process::{ExitCode, Stdio};

use serde_json::{Value, json};

use super::api::{ApiClient, encode};
use super::flags::{COMMON, FlagSpec, Parsed, parse_verb};

const USAGE: &str = "Usage: orch ui [options] <identifier>

  Open the orch web UI in the default browser. An optional identifier may be
  provided, in which case the UI will be opened to view the details for that
  object. Supported identifiers are jobs, allocations and nodes.

General Options:

  -address=<addr>
    The address of the orch agent (ORCH_ADDR, then NOMAD_ADDR; default
    http://127.0.0.1:4646).

  -namespace=<namespace>
    The namespace a job identifier is looked up in (NOMAD_NAMESPACE; default
    \"default\").

  -token=<secret>
    The SecretID of an ACL token (ORCH_TOKEN, then NOMAD_TOKEN), used to look
    the identifier up. The browser asks for its own token once, on the UI's
    sign-in page.

UI Options

  -show-url
    Show the orch UI URL instead of opening with the default browser (also
    what happens when no browser opener, xdg-open, is installed).

  -authenticate
    Not supported: Nomad exchanges the ACL token for a one-time token; orch
    has none. Sign in on the UI's ACL token page instead.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::switch("show-url"),
    FlagSpec::switch("authenticate"),
];

/// Runs `orch ui`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if p.has("authenticate") {
        return Err(
            "-authenticate is not supported: orch has no one-time tokens. Open the UI and \
             sign in with the token's Secret ID on its ACL token page (/ui/settings/tokens)."
                .into(),
        );
    }
    let client = ApiClient::from_flags(&p)?;
    let path = match p.positional.as_slice() {
        [] => "/ui/".to_string(),
        [id] => {
            let namespace = p
                .all("namespace")
                .last()
                .cloned()
                .or_else(|| std::env::var("NOMAD_NAMESPACE").ok())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "default".into());
            object_path(&client, id, &namespace)?
        }
        _ => {
            return Err(format!(
                "This command takes at most one argument\n\n{USAGE}"
            ));
        }
    };
    let url = format!("{}{path}", client.addr);
    open(&url, p.has("show-url"))
}

/// `-ui` of other verbs (`job run`, `job status`, `alloc status` ...): opens the web
/// UI's page of the job (`kind` "jobs"), allocation ("allocs") or node ("nodes") `id`.
pub(super) fn open_for(p: &Parsed, kind: &str, id: &str) -> Result<ExitCode, String> {
    let namespace = p
        .last("namespace")
        .map(str::to_string)
        .or_else(|| std::env::var("NOMAD_NAMESPACE").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into());
    open_path(p, &ui_path(kind, id, &namespace))
}

/// `-ui` of a verb whose page has no object (`server members`: `/ui/servers`).
pub(super) fn open_path(p: &Parsed, path: &str) -> Result<ExitCode, String> {
    let client = ApiClient::from_flags(p)?;
    open(&format!("{}{path}", client.addr), false)
}

/// Prints `url` (`show_only`, or without a browser opener) or opens it with `xdg-open`.
fn open(url: &str, show_only: bool) -> Result<ExitCode, String> {
    if show_only {
        println!("URL for web UI: {url}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(opener) = find_on_path("xdg-open") else {
        println!("URL for web UI: {url}");
        println!("(no browser opener found: xdg-open is not on PATH; open the URL yourself)");
        return Ok(ExitCode::SUCCESS);
    };
    println!("Opening URL {url:?}");
    let status = std::process::Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run xdg-open: {e}; open {url} yourself"))?;
    if !status.success() {
        return Err(format!(
            "xdg-open could not open a browser ({status}); open {url} yourself"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The UI path of the one job, allocation or node whose ID starts with `id` (an exact
/// ID wins over longer ones it prefixes).
fn object_path(client: &ApiClient, id: &str, namespace: &str) -> Result<String, String> {
    let reply = client.put("/v1/search", &json!({"Prefix": id, "Context": "all"}))?;
    let found = matches(&reply, id);
    match found.as_slice() {
        [] => Err(format!(
            "No job, allocation or node with an ID starting with {id:?}"
        )),
        [(kind, found)] => Ok(ui_path(kind, found, namespace)),
        many => {
            let list: Vec<String> = many.iter().map(|(k, i)| format!("  {k}: {i}")).collect();
            Err(format!(
                "Multiple objects match {id:?}; give more of the ID:\n{}",
                list.join("\n")
            ))
        }
    }
}

/// The `(context, ID)` pairs of a search reply for the UI's object kinds, or only the
/// exact match when there is one.
fn matches(reply: &Value, id: &str) -> Vec<(&'static str, String)> {
    let all: Vec<(&'static str, String)> = ["jobs", "allocs", "nodes"]
        .into_iter()
        .flat_map(|kind| {
            reply["Matches"][kind]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .map(move |s| (kind, s.to_string()))
        })
        .collect();
    let exact: Vec<_> = all.iter().filter(|(_, s)| s == id).cloned().collect();
    if exact.len() == 1 { exact } else { all }
}

/// Where the UI shows an object of `kind` (its router's paths, Nomad's forms).
fn ui_path(kind: &str, id: &str, namespace: &str) -> String {
    match kind {
        "jobs" => format!("/ui/jobs/{}@{}", encode(id), encode(namespace)),
        "allocs" => format!("/ui/allocations/{}", encode(id)),
        _ => format!("/ui/clients/{}", encode(id)),
    }
}

/// The path of an executable called `name` in one of `PATH`'s directories.
fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_ui_router() {
        assert_eq!(
            ui_path("jobs", "web app", "prod"),
            "/ui/jobs/web%20app@prod"
        );
        assert_eq!(ui_path("allocs", "abc", "x"), "/ui/allocations/abc");
        assert_eq!(ui_path("nodes", "n1", "x"), "/ui/clients/n1");
    }

    #[test]
    fn an_exact_id_wins_over_the_ids_it_prefixes() {
        let reply = json!({"Matches": {"jobs": ["web", "web2"], "allocs": null, "nodes": []}});
        assert_eq!(matches(&reply, "web"), vec![("jobs", "web".to_string())]);
        assert_eq!(matches(&reply, "we").len(), 2);
    }
}
