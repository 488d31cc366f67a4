//! Helpers shared by the integration tests.

use std::path::Path;

pub mod nomad_json;

/// Every `.hcl` fixture under `tests/jobspecs/<dir>`, as (file name, text), sorted by name.
// Not every test file that declares `mod common;` loads jobspec fixtures.
#[allow(dead_code)]
pub fn fixtures(dir: &str) -> Vec<(String, String)> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/jobspecs")
        .join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "hcl") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.push((name, src));
        }
    }
    out.sort();
    out
}
