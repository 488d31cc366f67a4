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

#[test]
fn switches_read_values_as_go_parse_bool() {
    let specs = [FlagSpec::switch("detach"), FlagSpec::value("t")];
    for (arg, on) in [
        ("-detach", true),
        ("-detach=true", true),
        ("-detach=1", true),
        ("-detach=T", true),
        ("-detach=false", false),
        ("-detach=0", false),
        ("-detach=F", false),
    ] {
        let p = parse(&strs(&[arg]), &specs).unwrap();
        assert_eq!(p.has("detach"), on, "{arg}");
    }
    let e = parse(&strs(&["-detach=maybe"]), &specs).unwrap_err();
    assert!(e.contains("-detach") && e.contains("\"maybe\""), "{e}");
    // A flag with a value counts as given whatever its value.
    assert!(parse(&strs(&["-t", "false"]), &specs).unwrap().has("t"));
    // The last occurrence of a switch decides.
    let p = parse(&strs(&["-detach", "-detach=false"]), &specs).unwrap();
    assert!(!p.has("detach"));
}

#[test]
fn refused_flags_name_themselves_and_why() {
    let specs = [
        FlagSpec::refused_switch("stats", "not built"),
        FlagSpec::refused_value("priority", "no priorities"),
    ];
    let e = parse(&strs(&["-stats"]), &specs).unwrap_err();
    assert_eq!(e, "-stats is not supported by orch: not built");
    let e = parse(&strs(&["-priority=5"]), &specs).unwrap_err();
    assert!(e.starts_with("-priority is not supported by orch"), "{e}");
    // Turning a refused switch off asks for nothing orch lacks.
    assert!(parse(&strs(&["-stats=false"]), &specs).is_ok());
}

#[test]
fn help_puts_general_options_before_the_verbs_own() {
    let usage = "Usage: orch job status [options] <job>\n\n  Shows a job.\n\nStatus Options:\n\n  -verbose\n    Full IDs.";
    let help = help_text(usage, true);
    let general = help.find("General Options:").unwrap();
    let own = help.find("Status Options:").unwrap();
    assert!(help.starts_with("Usage: orch job status"));
    assert!(general < own, "{help}");
    assert!(help.contains("  Shows a job.\n\nGeneral Options:\n\n  -address=<addr>"));
    assert!(help.contains("-tls-skip-verify") && help.contains("-namespace=<namespace>"));
    // Not for verbs without the general options, nor twice.
    assert_eq!(help_text(usage, false), usage);
    assert_eq!(help_text(&help, true), help);
    let bare = help_text("Usage: orch eval list [options]", true);
    assert!(bare.ends_with(GENERAL_OPTIONS));
}

#[test]
fn output_verbs_document_json_and_t() {
    let with = with_output_options("Usage: orch x\n\nX Options:\n\n  -json\n    JSON.", true);
    assert!(with.ends_with("  -t\n    Format and display the API object using a Go template."));
    assert_eq!(with.matches("-json").count(), 1);
    let both = "Usage: orch x\n\n  -json\n    J\n\n  -t\n    T";
    assert_eq!(with_output_options(both, true), both);
    assert_eq!(with_output_options("Usage: orch x", false), "Usage: orch x");
}

#[test]
fn general_options_are_nomads() {
    let names: Vec<&str> = COMMON.iter().map(|f| f.name).collect();
    for n in [
        "address",
        "region",
        "namespace",
        "no-color",
        "force-color",
        "ca-cert",
        "ca-path",
        "client-cert",
        "client-key",
        "insecure",
        "tls-server-name",
        "tls-skip-verify",
        "token",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    // -json is an output flag, declared only by the verbs that print an object.
    assert!(!names.contains(&"json"));
}
