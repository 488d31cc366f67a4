//! `orch var put [options] <path> [<key>=<value>]...`: creates or replaces a variable
//! from `key=value` arguments (a value `@file` is read from the file, `-` from stdin)
//! or a specification (`@spec.nv.hcl`, `@spec.nv.json`, or `-` for stdin, parsed as
//! `-in json|hcl`). `-check-index` makes it a check-and-set; `-force` drops the check.

use std::io::Read;
use std::process::ExitCode;

use serde_json::{Map, Value, json};

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch var put [options] <path> [<key>=<value>]...

  Create or update the variable at <path>. Items are key=value arguments (a value
  @file reads the file, - reads standard input), or a specification given as
  @<file> or - (standard input).

Put Options:

  -check-index <index>
    Write only if the variable's modify index is this (0: it must not exist).

  -force
    Write regardless of the variable's index.

  -in (json|hcl)
    Parser for a specification read from standard input or a file without a
    .json/.hcl extension (default json).

  -out (none|json|hcl|table|go-template)
    Print the written variable (default none).

  -template <template>
    Go template for -out go-template.

  -verbose
    Print the written variable's metadata.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("check-index"),
    FlagSpec::switch("force"),
    FlagSpec::value("in"),
    FlagSpec::value("out"),
    FlagSpec::value("template"),
    FlagSpec::switch("verbose"),
];

/// Most bytes read from a file or standard input (the server's limit is 64 KiB).
const MAX_INPUT: u64 = 1 << 20;

/// Runs `orch var put`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (mut path, mut body) = spec_and_path(&p)?;
    let items = body
        .get_mut("Items")
        .and_then(Value::as_object_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    if path.is_empty() {
        return Err(format!("A variable path is required\n\n{USAGE}"));
    }
    path = path.trim_start_matches('/').to_string();
    if items.is_empty() {
        return Err("Variable requires at least one item (key=value)".into());
    }
    body["Path"] = json!(path);
    body["Items"] = Value::Object(items);
    let api = ApiClient::from_flags(&p)?;
    if let Some(ns) = api.namespace() {
        body["Namespace"] = json!(ns);
    }
    let mut url = super::var_path(&path);
    if let Some(ci) = p.last("check-index").filter(|_| !p.has("force")) {
        let n: u64 = ci
            .parse()
            .map_err(|_| format!("-check-index {ci:?}: expected a number"))?;
        url.push_str(&format!("?cas={n}"));
    }
    let v = match api.put(&url, &body) {
        Ok(v) => v,
        Err(e) if e.status == 409 => {
            return Err(format!(
                "Error creating variable: Check-and-Set conflict\n\n    Your provided check-index ({}) does not match the server-side index.",
                p.last("check-index").unwrap_or_default()
            ));
        }
        Err(e) => return Err(format!("Error creating variable: {}", e.message)),
    };
    let template = p.last("template");
    let out = p.last("out").unwrap_or(if template.is_some() {
        "go-template"
    } else {
        "none"
    });
    if out == "none" {
        println!(
            "Created variable \"{path}\" with modify index {}",
            v["ModifyIndex"]
        );
        if p.has("verbose") {
            println!("{}", super::as_table(&v));
        }
        return Ok(ExitCode::SUCCESS);
    }
    super::print_out(&v, out, template)?;
    Ok(ExitCode::SUCCESS)
}

/// The path and the request body (`Items` filled) from the arguments.
fn spec_and_path(p: &crate::cli::flags::Parsed) -> Result<(String, Value), String> {
    let args = &p.positional;
    let Some(first) = args.first() else {
        return Err(format!("Not enough arguments\n\n{USAGE}"));
    };
    // `orch var put @spec.nv.hcl`: the path comes from the file.
    let (path, rest) = if first.starts_with('@') || first == "-" {
        (String::new(), &args[..])
    } else {
        (first.clone(), &args[1..])
    };
    let mut body = json!({ "Items": {} });
    let mut path = path;
    if let [single] = rest
        && (single.starts_with('@') || single == "-")
        && !single.contains('=')
    {
        let (spec_path, spec) = read_spec(single, p.last("in"))?;
        if path.is_empty() {
            path = spec_path;
        }
        body = spec;
        return Ok((path, body));
    }
    let mut items = Map::new();
    for kv in rest {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("Item {kv:?} is not a key=value argument"));
        };
        if k.is_empty() {
            return Err(format!("Item {kv:?} has an empty key"));
        }
        items.insert(k.to_string(), json!(read_value(v)?));
    }
    body["Items"] = Value::Object(items);
    Ok((path, body))
}

/// An item value: `@file` reads the file, `-` standard input, anything else is itself.
fn read_value(v: &str) -> Result<String, String> {
    if let Some(file) = v.strip_prefix('@') {
        return read_limited(Some(file));
    }
    if v == "-" {
        return read_limited(None);
    }
    Ok(v.to_string())
}

fn read_limited(file: Option<&str>) -> Result<String, String> {
    let mut s = String::new();
    let res = match file {
        Some(f) => std::fs::File::open(f)
            .map_err(|e| format!("Error reading {f:?}: {e}"))?
            .take(MAX_INPUT)
            .read_to_string(&mut s),
        None => std::io::stdin().take(MAX_INPUT).read_to_string(&mut s),
    };
    res.map_err(|e| format!("Error reading input: {e}"))?;
    Ok(s)
}

/// A specification file (`@file`) or standard input (`-`): its path and request body.
pub(super) fn read_spec(arg: &str, parser: Option<&str>) -> Result<(String, Value), String> {
    let file = arg.strip_prefix('@');
    let text = read_limited(file)?;
    let hcl = match (file.and_then(|f| f.rsplit('.').next()), parser) {
        (Some("hcl"), _) => true,
        (Some("json"), _) => false,
        (_, Some("hcl")) => true,
        (_, None | Some("json")) => false,
        (_, Some(other)) => return Err(format!("Invalid -in value {other:?}: use json or hcl")),
    };
    let v: Value = if hcl {
        hcl::from_str(&text).map_err(|e| format!("Error parsing variable specification: {e}"))?
    } else {
        serde_json::from_str(&text)
            .map_err(|e| format!("Error parsing variable specification: {e}"))?
    };
    let pick = |a: &str, b: &str| v.get(a).or_else(|| v.get(b)).cloned();
    let path = pick("Path", "path").and_then(|p| p.as_str().map(str::to_string));
    let mut body = json!({ "Items": pick("Items", "items").unwrap_or(json!({})) });
    if let Some(ns) = pick("Namespace", "namespace").filter(|n| n.is_string()) {
        body["Namespace"] = ns;
    }
    if !body["Items"].is_object() {
        return Err("Error parsing variable specification: items must be a map".into());
    }
    Ok((path.unwrap_or_default(), body))
}
