//! Property tests: the jobspec parser never panics, whatever the input.

use std::collections::BTreeMap;

use orch_core::jobspec::parse_hcl_to_json;
use proptest::prelude::*;

/// Fragments that steer random input towards interesting parser paths.
const PIECES: &[&str] = &[
    "job \"j\" {",
    "group \"g\" {",
    "task \"t\" {",
    "}",
    "{",
    "\n",
    " = ",
    "\"",
    "${",
    "var.x",
    "local.y",
    "[",
    "]",
    "(",
    ")",
    "1",
    "-2.5",
    "true",
    "null",
    "\"30s\"",
    "resources",
    "cpu",
    "config",
    "meta",
    "constraint",
    "port \"p\"",
    "static",
    "network",
    "<<EOF\n",
    "EOF\n",
    "<<-X\n",
    "X\n",
    "format(\"%d\",",
    "range(",
    "...",
    ",",
    "for x in [1] :",
    "? 1 : 2",
    "variable \"x\" {",
    "default",
    "locals {",
    "%{ if true }",
    "%{ endif }",
    "#",
    "/*",
    "*/",
    "scaling \"cpu\"",
    "policy",
    "duration",
    "\u{e9}",
    "\\",
    "\t",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(s in "\\PC{0,200}") {
        let _ = parse_hcl_to_json(&s, "fuzz.hcl", &BTreeMap::new());
    }

    #[test]
    fn random_fragments_never_panic(idx in proptest::collection::vec(0..PIECES.len(), 0..60)) {
        let src: String = idx.iter().filter_map(|i| PIECES.get(*i)).copied().collect();
        if let Err(e) = parse_hcl_to_json(&src, "fuzz.hcl", &BTreeMap::new()) {
            for d in &e.diagnostics {
                prop_assert!(d.line >= 1 && d.column >= 1);
                prop_assert!(d.line <= src.lines().count().max(1) + 1);
            }
        }
    }
}

fn valid_fixtures() -> Vec<String> {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jobspecs/valid");
    let mut out: Vec<String> = std::fs::read_dir(base)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_fixtures_never_panic(which in 0usize..64, cut in 0usize..4000, ins in 0usize..PIECES.len()) {
        let fixtures = valid_fixtures();
        prop_assume!(!fixtures.is_empty());
        let src = &fixtures[which % fixtures.len()];
        let chars: Vec<char> = src.chars().collect();
        let at = cut % (chars.len() + 1);
        let truncated: String = chars[..at].iter().collect();
        let _ = parse_hcl_to_json(&truncated, "t.hcl", &BTreeMap::new());
        let spliced: String = chars[..at].iter().copied().chain(PIECES[ins].chars()).chain(chars[at..].iter().copied()).collect();
        let _ = parse_hcl_to_json(&spliced, "t.hcl", &BTreeMap::new());
    }
}
