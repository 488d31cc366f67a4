use super::*;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn nomad_style_flags() {
    let specs = [FlagSpec::value("var"), FlagSpec::switch("output")];
    let p = parse(
        &strs(&["-var", "a=1", "-var=b=2", "-output", "job.hcl"]),
        &specs,
    )
    .unwrap();
    assert_eq!(p.all("var"), ["a=1", "b=2"]);
    assert!(p.has("output"));
    assert_eq!(p.positional, ["job.hcl"]);
    assert!(
        parse(&strs(&["-bogus"]), &specs)
            .unwrap_err()
            .contains("-var, -output")
    );
    assert!(parse(&strs(&["-var"]), &specs).is_err());
}
