//! Embedding orch-core: parse a Nomad jobspec (HCL or JSON), get the canonical job with
//! Nomad's defaults filled in, and print it as Nomad's API JSON.
//!
//! `cargo run -p orch-core --example parse_jobspec -- examples/web.nomad.hcl replicas=3`

use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: parse_jobspec <file> [name=value ...]")?;
    let mut vars = BTreeMap::new();
    for pair in args {
        let (k, v) = pair
            .split_once('=')
            .ok_or("variables are given as name=value")?;
        vars.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let text = std::fs::read_to_string(&path)?;
    let job = orch_core::jobspec::parse_jobspec(&path, &text, &vars)?;
    println!("{}", serde_json::to_string_pretty(&job)?);
    Ok(())
}
