//! python-nomad, the PyPI client Nomad users script with, drives a dev agent unchanged.
//! The test makes its own virtualenv under the target directory (PyPI is reachable here)
//! so `cargo test --workspace` needs no set-up beyond Python 3.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn python_nomad_works_unchanged_against_a_dev_agent() {
    let python = venv_python();
    let dir = temp_dir("python-nomad");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let job_file = dir.join("web.json");
    std::fs::write(&job_file, example_job().to_string()).unwrap();
    let addr = agent.http.trim_start_matches("http://");
    let (host, port) = addr.rsplit_once(':').unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/python_nomad_check.py");
    let out = Command::new(&python)
        .arg(script)
        .args([host, port])
        .arg(&job_file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "python-nomad run failed:\n{text}");
    assert!(text.contains("ok 404"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
