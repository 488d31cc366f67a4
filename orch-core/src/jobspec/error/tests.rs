use super::*;

#[test]
fn positions_are_one_based() {
    let sm = SourceMap::new("ab\ncdé\nx", "f.hcl");
    assert_eq!(sm.position(0), (1, 1));
    assert_eq!(sm.position(1), (1, 2));
    assert_eq!(sm.position(3), (2, 1));
    assert_eq!(sm.position(8), (3, 1));
    assert_eq!(sm.position(1000), (3, 2));
}

#[test]
fn display_one_per_line() {
    let sm = SourceMap::new("a\nb", "x.hcl");
    let e = JobspecError {
        diagnostics: vec![sm.diag(Some(0..1), "first"), sm.diag(Some(2..3), "second")],
    };
    assert_eq!(e.to_string(), "x.hcl:1:1: first\nx.hcl:2:1: second");
}
