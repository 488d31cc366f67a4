//! Every malformed jobspec under `tests/jobspecs/invalid/` must fail with a
//! diagnostic at the expected line:column that names the offending thing —
//! and never panic.

mod common;
use common::fixtures;

use std::collections::BTreeMap;

use orch_core::jobspec::{JobspecError, parse_hcl_to_json};

/// (line, column, substrings the first diagnostic at that position must contain).
fn invalid_expectations() -> BTreeMap<&'static str, (usize, usize, &'static [&'static str])> {
    let mut m: BTreeMap<&'static str, (usize, usize, &'static [&'static str])> = BTreeMap::new();
    m.insert("syntax-error.nomad.hcl", (3, 13, &["syntax error"]));
    m.insert(
        "unknown-attr.nomad.hcl",
        (
            6,
            9,
            &[
                "unknown attribute \"cpus\" in block \"resources\"",
                "expected one of: cpu, cores, memory, memory_max",
            ],
        ),
    );
    m.insert(
        "unknown-block.nomad.hcl",
        (3, 5, &["unknown block \"health\" in block \"group\""]),
    );
    m.insert(
        "wrong-type.nomad.hcl",
        (3, 13, &["\"count\"", "expected a number"]),
    );
    m.insert(
        "bad-duration.nomad.hcl",
        (
            5,
            18,
            &[
                "\"delay\"",
                "\"restart\"",
                "invalid duration \"15 seconds\"",
            ],
        ),
    );
    m.insert(
        "missing-label.nomad.hcl",
        (2, 3, &["missing label for block \"group\""]),
    );
    m.insert(
        "undefined-variable.nomad.hcl",
        (10, 20, &["undefined variable \"imag\""]),
    );
    m.insert("two-jobs.nomad.hcl", (4, 1, &["duplicate job block"]));
    m.insert(
        "duplicate-restart.nomad.hcl",
        (6, 5, &["duplicate block \"restart\" in block \"group\""]),
    );
    m.insert(
        "unknown-function.nomad.hcl",
        (2, 18, &["unknown function \"frobnicate\""]),
    );
    m.insert(
        "file-function.nomad.hcl",
        (6, 23, &["function \"file\" is not supported"]),
    );
    m.insert(
        "missing-variable-value.nomad.hcl",
        (1, 1, &["variable \"version\" has no default"]),
    );
    m.insert(
        "connect-refused.nomad.hcl",
        (5, 7, &["block \"connect\" is not supported"]),
    );
    m.insert(
        "multiregion-refused.nomad.hcl",
        (2, 3, &["block \"multiregion\" is not supported"]),
    );
    m.insert("no-job.nomad.hcl", (1, 1, &["missing job block"]));
    m.insert(
        "multiple-errors.nomad.hcl",
        (2, 14, &["\"priority\"", "expected a number"]),
    );
    m.insert(
        "bad-constraint-type.nomad.hcl",
        (4, 22, &["\"distinct_hosts\"", "expected a bool"]),
    );
    m.insert(
        "meta-nested-block.nomad.hcl",
        (4, 5, &["unexpected block \"nested\" in \"meta\""]),
    );
    m.insert(
        "top-level-attr.nomad.hcl",
        (1, 1, &["unexpected attribute \"region\" at top level"]),
    );
    m.insert(
        "bad-scaling-label.nomad.hcl",
        (5, 15, &["must be \"cpu\" or \"mem\""]),
    );
    m
}

#[test]
fn invalid_fixtures_report_located_errors() {
    let expectations = invalid_expectations();
    let files = fixtures("invalid");
    assert!(files.len() >= 12, "expected at least 12 invalid fixtures");
    for (name, src) in &files {
        let err: JobspecError = match parse_hcl_to_json(src, name, &BTreeMap::new()) {
            Ok(v) => panic!("{name} should fail, got {v}"),
            Err(e) => e,
        };
        let (line, col, needles) = expectations
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no expectations for {name}: {err}"));
        let d = err
            .diagnostics
            .iter()
            .find(|d| d.line == *line && d.column == *col)
            .unwrap_or_else(|| panic!("{name}: no diagnostic at {line}:{col}:\n{err}"));
        assert_eq!(d.filename, *name);
        for n in *needles {
            assert!(d.message.contains(n), "{name}: {:?} lacks {n:?}", d.message);
        }
        let text = err.to_string();
        assert!(text.starts_with(&format!("{name}:")), "{text}");
        assert_eq!(text.lines().count(), err.diagnostics.len());
    }
    assert_eq!(
        expectations.len(),
        files.len(),
        "expectation for a missing fixture"
    );
}
