use super::*;

fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
    let dir = tempfile::tempdir().map_err(|e| ConfigError::Flag(e.to_string()))?;
    let path = dir.path().join("agent.hcl");
    std::fs::write(&path, text).map_err(|e| ConfigError::Flag(e.to_string()))?;
    let c = AgentConfig::from_file(&path)?;
    c.check_plugins()?;
    Ok(c)
}

#[test]
fn defaults_are_nomads() {
    let o = AgentConfig::default().driver_options().unwrap();
    assert_eq!(o, DriverOptions::default());
    assert_eq!(o.denylist_for("exec"), ["root", "Administrator"]);
    assert!(o.denylist_for("raw_exec").is_empty());
    assert_eq!(o.exec_allow_caps, CapSet::defaults());
}

#[test]
fn exec_allow_caps_and_user_options_are_read() {
    let c = parse(
        "plugin \"exec\" {\n  config {\n    allow_caps = [\"chown\", \"NET_RAW\"]\n  }\n}\n\
         client {\n  options = {\n    \"user.denylist\" = \"root, daemon\"\n    \"user.checked_drivers\" = \"exec,raw_exec\"\n  }\n}\n",
    )
    .unwrap();
    let o = c.driver_options().unwrap();
    assert_eq!(o.exec_allow_caps.names(), ["chown", "net_raw"]);
    assert_eq!(o.java_allow_caps, CapSet::defaults());
    assert_eq!(o.denylist_for("raw_exec"), ["root", "daemon"]);
    assert!(o.denylist_for("java").is_empty());
}

#[test]
fn unknown_names_keys_and_misplaced_options_are_refused() {
    let e = parse("plugin \"exec\" {\n  config {\n    allow_caps = [\"fly\"]\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("plugin \"exec\": config.allow_caps[0]: unknown capability \"fly\""),
        "{e}"
    );
    let e = parse("plugin \"exec\" {\n  config {\n    no_pivot_root = true\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no_pivot_root"), "{e}");
    let e = parse("plugin \"exec\" {\n  config {\n    enabled = true\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("config.enabled is not an option"), "{e}");
    let e = parse("client {\n  options = {\n    \"driver.whitelist\" = \"exec\"\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("client.options: \"driver.whitelist\" is not supported"),
        "{e}"
    );
}

#[test]
fn docker_settings_are_read_with_secure_defaults() {
    let d = AgentConfig::default().driver_options().unwrap().docker;
    assert!(!d.allow_privileged && !d.volumes_enabled);
    assert_eq!(d.endpoint, "unix:///var/run/docker.sock");
    assert_eq!(d.allow_caps, CapSet::defaults());
    let c = parse(
        "plugin \"docker\" {\n  config {\n    endpoint = \"unix:///run/podman.sock\"\n    allow_privileged = true\n    allow_caps = [\"all\"]\n    volumes {\n      enabled = true\n    }\n    gc {\n      image = false\n      image_delay = \"10s\"\n    }\n    infra_image = \"orch-test/pause:1\"\n  }\n}\n",
    )
    .unwrap();
    let d = c.driver_options().unwrap().docker;
    assert_eq!(d.endpoint, "unix:///run/podman.sock");
    assert!(d.allow_privileged && d.volumes_enabled && d.gc_container && !d.gc_image);
    assert_eq!(d.gc_image_delay, std::time::Duration::from_secs(10));
    assert_eq!(d.allow_caps, CapSet::ALL);
    assert_eq!(d.infra_image, "orch-test/pause:1");
}

#[test]
fn docker_settings_orch_lacks_are_refused() {
    let e =
        parse("plugin \"docker\" {\n  config {\n    endpoint = \"tcp://127.0.0.1:2375\"\n  }\n}\n")
            .unwrap_err()
            .to_string();
    assert!(e.contains("only over a unix socket"), "{e}");
    let e = parse("plugin \"docker\" {\n  config {\n    extra_labels = [\"job_name\"]\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("extra_labels"), "{e}");
    let e = parse("plugin \"docker\" {\n  config {\n    enabled = true\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("config.enabled is not an option"), "{e}");
    let e = parse("plugin \"exec\" {\n  config {\n    allow_privileged = true\n  }\n}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("config.allow_privileged is not an option"),
        "{e}"
    );
}

#[test]
fn the_nvidia_plugin_block_is_read_under_its_names() {
    assert_eq!(
        AgentConfig::default().nvidia_settings().unwrap(),
        NvidiaSettings::default()
    );
    assert!(NvidiaSettings::default().enabled);
    for name in ["nvidia-gpu", "nomad-device-nvidia", "nvidia"] {
        let c = parse(&format!(
            "plugin \"{name}\" {{\n  config {{\n    ignored_gpu_ids = [\"GPU-a\", \"GPU-b\"]\n    fingerprint_period = \"5s\"\n  }}\n}}\n"
        ))
        .unwrap();
        let n = c.nvidia_settings().unwrap();
        assert!(n.enabled, "{name}");
        assert_eq!(n.ignored_gpu_ids.len(), 2);
        assert_eq!(n.fingerprint_period, Duration::from_secs(5));
    }
    let off = parse("plugin \"nvidia-gpu\" {\n  config {\n    enabled = false\n  }\n}\n").unwrap();
    assert!(!off.nvidia_settings().unwrap().enabled);
    let refused = |text: &str| parse(text).unwrap_err().to_string();
    let e =
        refused("plugin \"nvidia-gpu\" {\n  config {\n    fingerprint_period = \"soon\"\n  }\n}\n");
    assert!(e.contains("config.fingerprint_period"), "{e}");
    let e = refused("plugin \"nvidia\" {\n  config {\n    fingerprint_period = \"10ms\"\n  }\n}\n");
    assert!(e.contains("at least 1s"), "{e}");
    let e = refused("plugin \"nvidia\" {\n  config {\n    endpoint = \"x\"\n  }\n}\n");
    assert!(e.contains("config.endpoint is not an option"), "{e}");
    let e = refused(
        "plugin \"nvidia\" {\n  config {\n    enabled = true\n  }\n}\nplugin \"nvidia-gpu\" {\n  config {\n    enabled = true\n  }\n}\n",
    );
    assert!(e.contains("keep one"), "{e}");
}
