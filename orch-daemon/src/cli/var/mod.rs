//! `orch var <verb>`: Nomad's variable commands, one file each, and the output formats
//! they share (`-out json|hcl|table|none`, `-template`).

mod get;
mod init;
mod list;
mod lock;
mod purge;
mod put;

use std::process::ExitCode;

use serde_json::Value;

const USAGE: &str = "Usage: orch var <subcommand> [options] [args]

Subcommands:
    get      Read a variable
    init     Create an example variable specification file
    list     List variable metadata
    lock     Hold a lock on a variable while a command runs
    purge    Delete a variable
    put      Create or update a variable";

/// Dispatches `orch var <verb>`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let verbs: &[super::Verb] = &[
        ("get", get::run),
        ("init", init::run),
        ("list", list::run),
        ("lock", lock::run),
        ("purge", purge::run),
        ("put", put::run),
    ];
    super::dispatch("var", args, verbs, USAGE)
}

/// The API path of a variable.
fn var_path(path: &str) -> String {
    let enc: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(crate::cli::api::encode)
        .collect();
    format!("/v1/var/{}", enc.join("/"))
}

/// A variable as Nomad's `-out hcl` prints it.
fn as_hcl(v: &Value) -> String {
    let mut out = String::new();
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    out.push_str(&format!("path = {:?}\n", s("Path")));
    if let Some(ns) = v["Namespace"].as_str() {
        out.push_str(&format!("namespace = {ns:?}\n"));
    }
    out.push_str("\nitems {\n");
    for (k, val) in v["Items"].as_object().into_iter().flatten() {
        out.push_str(&format!("  {k} = {:?}\n", val.as_str().unwrap_or_default()));
    }
    out.push_str("}\n");
    out
}

/// A variable as Nomad's `-out table` prints it: metadata, then the items.
fn as_table(v: &Value) -> String {
    use crate::cli::table::{kv, text};
    let meta = kv(&[
        ("Namespace", text(&v["Namespace"])),
        ("Path", text(&v["Path"])),
        ("Create Time", time_of(&v["CreateTime"])),
        ("Check Index", text(&v["ModifyIndex"])),
    ]);
    let items: Vec<(String, String)> = v["Items"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, val)| (k.clone(), val.as_str().unwrap_or_default().to_string()))
        .collect();
    let refs: Vec<(&str, String)> = items.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    format!("{meta}\n\nItems\n{}", kv(&refs))
}

fn time_of(v: &Value) -> String {
    v.as_i64().map(crate::cli::table::time).unwrap_or_default()
}

/// Prints `v` in the `-out` format (`none` prints nothing).
fn print_out(v: &Value, out: &str, template: Option<&str>) -> Result<(), String> {
    if let Some(t) = template {
        print!(
            "{}",
            crate::client::template::render_json(t, v).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    match out {
        "json" => println!("{}", crate::cli::output::json_text(v)?),
        "hcl" => print!("{}", as_hcl(v)),
        "table" => println!("{}", as_table(v)),
        "none" => {}
        other => {
            return Err(format!(
                "Invalid -out value {other:?}: use none, json, hcl, table or go-template"
            ));
        }
    }
    Ok(())
}
