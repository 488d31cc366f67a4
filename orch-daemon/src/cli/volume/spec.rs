//! Reading a volume specification file (HCL as Nomad's, or the API's JSON), shared by
//! `volume register` and `volume create`.

use serde_json::Value;

/// Largest specification file read (they are a few dozen lines).
const MAX_SPEC_BYTES: u64 = 256 * 1024;

/// The volume of `path` (`-` for standard input) in the API's JSON shape.
pub fn read(path: &str) -> Result<Value, String> {
    use std::io::Read;
    let mut text = String::new();
    if path == "-" {
        std::io::stdin()
            .take(MAX_SPEC_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the specification from standard input: {e}"))?;
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| format!("cannot open the specification {path}: {e}"))?;
        f.take(MAX_SPEC_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the specification {path}: {e}"))?;
        if text.len() as u64 > MAX_SPEC_BYTES {
            return Err(format!(
                "{path} is larger than {MAX_SPEC_BYTES} bytes; a volume specification is a few lines"
            ));
        }
    }
    if text.trim_start().starts_with('{') {
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{path}: not valid JSON: {e}"))?;
        return Ok(v.get("Volume").cloned().unwrap_or(v));
    }
    orch_core::jobspec::volume_spec::parse_volume_spec(&text, path).map_err(|e| e.to_string())
}

/// The volume's ID, required.
pub fn id_of(v: &Value) -> Result<String, String> {
    match v["ID"].as_str() {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err("the volume specification has no id; set `id = \"...\"`".to_string()),
    }
}
