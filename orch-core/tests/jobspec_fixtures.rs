//! Parses every fixture under `tests/jobspecs/` (temporary dump harness).
use std::collections::BTreeMap;
#[test]
fn dump() {
    let mut vars = BTreeMap::new();
    vars.insert("env".to_string(), serde_json::Value::from("prod"));
    for dir in ["valid", "invalid"] {
        let mut entries: Vec<_> = std::fs::read_dir(format!("tests/jobspecs/{dir}")).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let src = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let v2 = if name.starts_with("11") { vars.clone() } else { BTreeMap::new() };
            match orch_core::jobspec::parse_hcl_to_json(&src, &name, &v2) {
                Ok(v) => println!("OK {name}\n{}", serde_json::to_string(&v).unwrap()),
                Err(e) => println!("ERR {name}\n{e}"),
            }
        }
    }
}
