//! `orch var get [options] <path> [<item key>]`: a variable (`-out json` by default,
//! as Nomad), or one item's value alone (`-item` or a second argument).

use std::process::ExitCode;

use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, FlagSpec, parse_verb};

const USAGE: &str = "Usage: orch var get [options] <path> [<item key>]

  Read the variable at <path>; with an item key, print only that item's value.

Get Options:

  -item <key>
    Print only the value of this item.

  -out (json|hcl|table|go-template)
    Output format (default json).

  -template <template>
    Go template for -out go-template.";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::value("item"),
    FlagSpec::value("out"),
    FlagSpec::value("template"),
];

/// Runs `orch var get`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let (path, item) = match p.positional.as_slice() {
        [path] => (path, p.last("item")),
        [path, item] if !p.has("item") => (path, Some(item.as_str())),
        _ => {
            return Err(format!(
                "This command takes one or two arguments\n\n{USAGE}"
            ));
        }
    };
    let api = ApiClient::from_flags(&p)?;
    let v = match api.get(&super::var_path(path)) {
        Ok(v) => v,
        Err(e) if e.status == 404 => return Err("Variable not found".into()),
        Err(e) => return Err(format!("Error retrieving variable: {}", e.message)),
    };
    if let Some(key) = item {
        let Some(value) = v["Items"][key].as_str() else {
            return Err(format!("Variable does not contain {key:?} item"));
        };
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    let template = p.last("template");
    let out = p.last("out").unwrap_or(if template.is_some() {
        "go-template"
    } else {
        "json"
    });
    if out == "go-template" && template.is_none() {
        return Err(
            "A template must be supplied using -template when using go-template formatting".into(),
        );
    }
    super::print_out(&v, out, template)?;
    Ok(ExitCode::SUCCESS)
}
