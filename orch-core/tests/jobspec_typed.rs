//! Every valid fixture must survive the whole pipeline (HCL → Nomad JSON → typed job →
//! canonical → validated), and the typed job must serialize back to JSON that parses to
//! the same job: what `GET /v1/job/:id` returns can be re-submitted.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

/// Fixtures Nomad accepts that use features orch refuses, and what the refusal must name.
const REFUSED: &[(&str, &[&str])] = &[
    ("17-scaling.nomad.hcl", &["vertical scaling"]),
    (
        "24-vault-consul-identity.nomad.hcl",
        // Its identity blocks are accepted: only Vault and Consul are refused.
        &["Vault integrations", "Consul settings"],
    ),
    ("26-ui-crons.nomad.hcl", &["template change scripts"]),
    ("14-checks.nomad.hcl", &["grpc checks are not supported"]),
];

#[test]
fn every_valid_fixture_becomes_a_valid_canonical_job() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, text) in common::fixtures("valid") {
        count += 1;
        let mut vars = BTreeMap::new();
        if name.starts_with("11-") {
            for (k, v) in [("env", "prod"), ("replicas", "3"), ("image_tag", "2.1")] {
                vars.insert(k.to_string(), serde_json::Value::String(v.into()));
            }
        }
        let refused = REFUSED.iter().find(|(n, _)| *n == name);
        match (
            orch_core::jobspec::parse_jobspec(&name, &text, &vars),
            refused,
        ) {
            (Err(e), Some((_, features))) => {
                let text = e.to_string();
                for f in *features {
                    assert!(
                        text.contains(f),
                        "{name}: refusal should name {f:?}: {text}"
                    );
                }
            }
            (Ok(_), Some(_)) => failures.push(format!(
                "{name}: uses an unsupported feature but was accepted"
            )),
            (Ok(job), None) => {
                let json = serde_json::to_string(&job).unwrap();
                let again = orch_core::jobspec::from_json::parse_job_json(&json)
                    .unwrap_or_else(|e| panic!("{name}: re-parse of our own JSON failed: {e}"));
                assert_eq!(again, job, "{name}: JSON round trip changed the job");
            }
            (Err(e), None) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(count >= 25, "expected at least 25 fixtures, found {count}");
    assert!(
        failures.is_empty(),
        "fixtures refused:\n{}",
        failures.join("\n")
    );
}

#[test]
fn semantic_errors_point_at_the_hcl_that_caused_them() {
    let src = r#"job "x" {
  priority = 500
  group "g" {
    count = 2
    task "t" {
      driver = "raw_exec"
      resources {
        memory = 4
      }
    }
    task "u" {
      config { command = "x" }
    }
  }
}
"#;
    let err =
        orch_core::jobspec::parse_jobspec("bad.nomad.hcl", src, &BTreeMap::new()).unwrap_err();
    let text = err.to_string();
    for want in [
        "bad.nomad.hcl:2:3: Priority: job priority must be between [1, 100]; got 500",
        "bad.nomad.hcl:8:9: TaskGroups[0].Tasks[0].Resources.MemoryMB: minimum MemoryMB value is 10; got 4",
        "bad.nomad.hcl:11:5: TaskGroups[0].Tasks[1].Driver: Missing task driver",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Inputs the fuzzer found to make hcl-edit backtrack for seconds. The nesting guard
/// refuses the worst up front; all of them end in a located error (their run time is
/// measured by the fuzzer, not asserted here).
#[test]
fn pathological_nesting_found_by_fuzzing_is_refused_with_a_position() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jobspecs/slow");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string();
        let err =
            orch_core::jobspec::parse_jobspec("slow.hcl", &text, &BTreeMap::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("slow.hcl:"),
            "{}: {err}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 3);
    let deep = format!("job \"x\" {{ meta = {} }}", "{a = ".repeat(13));
    let err = orch_core::jobspec::parse_jobspec("deep.hcl", &deep, &BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("levels deep"), "{err}");
}

/// orch's device `share`: parsed as a fraction, kept through the typed job, and refused
/// with its field path when it is not a part of one instance.
#[test]
fn device_shares_parse_and_bad_ones_name_their_field() {
    let job = |device: &str| {
        format!(
            "job \"x\" {{\n  group \"g\" {{\n    task \"t\" {{\n      driver = \"raw_exec\"\n      config {{ command = \"x\" }}\n      resources {{\n        {device}\n      }}\n    }}\n  }}\n}}\n"
        )
    };
    let ok = orch_core::jobspec::parse_jobspec(
        "ok.nomad.hcl",
        &job("device \"nvidia/gpu\" {\n count = 1\n share = 0.25\n }"),
        &BTreeMap::new(),
    )
    .unwrap();
    let d = &ok.task_groups[0].tasks[0].resources.devices[0];
    assert_eq!(d.share, Some(orch_core::model::DeviceShare(250_000)));
    let json = serde_json::to_value(d).unwrap();
    assert_eq!(json["Share"], serde_json::json!(0.25));
    for (device, want) in [
        (
            "device \"nvidia/gpu\" { share = 0 }",
            "Devices[0].Share: device 1 failed validation: share must be above 0 and at most 1",
        ),
        ("device \"nvidia/gpu\" { share = -0.5 }", "got -0.5"),
        ("device \"nvidia/gpu\" { share = 1.5 }", "got 1.5"),
        (
            "device \"nvidia/gpu\" {\n count = 2\n share = 0.5\n }",
            "Devices[0].Count: device 1 failed validation: a share is part of one instance",
        ),
        (
            "device \"nvidia/gpu/x/y\" {}",
            "Devices[0].Name: device 1 failed validation: device name \"nvidia/gpu/x/y\"",
        ),
        ("device \"nvidia//x\" {}", "Devices[0].Name"),
        ("device \"nvidia/gpu\" { share = \"lots\" }", "share"),
    ] {
        let err =
            orch_core::jobspec::parse_jobspec("bad.nomad.hcl", &job(device), &BTreeMap::new())
                .unwrap_err()
                .to_string();
        assert!(err.contains(want), "{device}: missing {want:?} in:\n{err}");
    }
}
