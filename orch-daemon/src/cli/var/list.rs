//! `orch var list [options] [<prefix>]`: variable metadata (`Namespace`, `Path`,
//! `Last Updated`), paged as Nomad's list commands are.

use std::process::ExitCode;

use crate::cli::api::{ApiClient, encode, list_query, with_query};
use crate::cli::flags::{COMMON, FlagSpec, PAGING, parse_verb};
use crate::cli::table::{columns, text};

const USAGE: &str = "Usage: orch var list [options] [<prefix>]

  List the variables whose path starts with <prefix> (all without one).

List Options:

  -per-page <n>, -page-token <token>, -filter <expression>
    Pagination and filtering, as for other list commands.

  -out (table|json|go-template)
    Output format (default table).

  -template <template>
    Go template for -out go-template.";

const FLAGS: &[FlagSpec] = &[FlagSpec::value("out"), FlagSpec::value("template")];

/// Runs `orch var list`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, PAGING, FLAGS], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let prefix = match p.positional.as_slice() {
        [] => "",
        [prefix] => prefix.as_str(),
        _ => {
            return Err(format!(
                "This command takes flags and either no arguments or one: <prefix>\n\n{USAGE}"
            ));
        }
    };
    let mut query = list_query(&p)?;
    if !prefix.is_empty() {
        query.push(format!("prefix={}", encode(prefix)));
    }
    let api = ApiClient::from_flags(&p)?;
    let (v, next) = api
        .get_page(&with_query("/v1/vars", &query))
        .map_err(|e| format!("Error retrieving vars: {}", e.message))?;
    let template = p.last("template");
    let out = p.last("out").unwrap_or(if template.is_some() {
        "go-template"
    } else {
        "table"
    });
    match (out, template) {
        ("json", _) => println!("{}", crate::cli::output::json_text(&v)?),
        ("go-template", Some(t)) => print!(
            "{}",
            crate::client::template::render_json(t, &v).map_err(|e| e.to_string())?
        ),
        ("table", _) => print_table(&v),
        (other, _) => {
            return Err(format!(
                "Invalid -out value {other:?}: use table, json or go-template"
            ));
        }
    }
    if let Some(token) = next {
        println!("\nNext page token: {token}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(v: &serde_json::Value) {
    let list = v.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("No matching variables found");
        return;
    }
    let mut rows = vec![vec![
        "Namespace".to_string(),
        "Path".to_string(),
        "Last Updated".to_string(),
    ]];
    for m in &list {
        rows.push(vec![
            text(&m["Namespace"]),
            text(&m["Path"]),
            m["ModifyTime"]
                .as_i64()
                .map(crate::cli::table::time)
                .unwrap_or_default(),
        ]);
    }
    println!("{}", columns(&rows));
}
