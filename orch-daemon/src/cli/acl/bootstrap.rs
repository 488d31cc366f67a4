//! `orch acl bootstrap`: creates the first management token, once per cluster.

use std::process::ExitCode;

use serde_json::json;

use super::common::{read_source, token_block};
use crate::cli::api::ApiClient;
use crate::cli::flags::{COMMON, OUTPUT, parse_verb};

const USAGE: &str = "Usage: orch acl bootstrap [options] [<path>]

  Creates the initial management token and prints it, secret included: keep the
  Secret ID, orch stores only its hash and never shows it again. Works once per
  cluster (again only after a bootstrap reset).

  <path> is a file holding the secret to use (a UUID is best; `-` reads stdin);
  without it the server makes one up.

Bootstrap Options:

  -json
    Print the token as JSON";

/// Runs `orch acl bootstrap`.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some(p) = parse_verb(args, &[COMMON, OUTPUT], USAGE)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let body = match p.positional.as_slice() {
        [] => json!({}),
        [path] => {
            let secret = read_source(path, "bootstrap secret")?;
            let secret = secret.trim();
            if secret.is_empty() {
                return Err(format!("{path}: the file holds no secret"));
            }
            json!({ "BootstrapSecret": secret })
        }
        _ => {
            return Err(format!(
                "this command takes at most one argument: <path> to a file with the secret\n\n{USAGE}"
            ));
        }
    };
    let client = ApiClient::from_flags(&p)?;
    let token = client.put("/v1/acl/bootstrap", &body)?;
    if crate::cli::output::asked(&p) {
        return crate::cli::output::print(&p, &token);
    }
    println!("{}", token_block(&token));
    Ok(ExitCode::SUCCESS)
}
