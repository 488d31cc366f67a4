use super::*;

fn write(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("orch-config-test-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn nomad_style_hcl_config_parses_and_merges_with_flags() {
    let p = write(
        "a.hcl",
        r#"
            name = "s1"
            data_dir = "/var/lib/orch"
            ports { http = 5646 }
            server {
              enabled = true
              bootstrap_expect = 3
              server_join { retry_join = ["10.0.0.2:4648"] }
            }
            autoscaler { prometheus_address = "http://10.0.0.9:9090" }
        "#,
    );
    let mut c = AgentConfig::from_file(&p).unwrap();
    assert_eq!(
        (c.name.as_str(), c.ports.http, c.ports.rpc),
        ("s1", 5646, 4647)
    );
    let flags = AgentConfig {
        server: ServerConfig {
            server_join: ServerJoin {
                retry_join: vec!["10.0.0.3:4648".into()],
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    c.merge(flags);
    assert_eq!(c.server.server_join.retry_join.len(), 2);
    assert_eq!(
        c.autoscaler.prometheus_address.as_deref(),
        Some("http://10.0.0.9:9090")
    );
    let c = c.finish().unwrap();
    assert_eq!(c.bind(), "0.0.0.0");
    std::fs::remove_file(p).ok();
}

#[test]
fn client_block_settings_survive_the_merge() {
    let path = write(
        "client.hcl",
        r#"
client {
  enabled    = true
  node_class = "web"
  meta {
    rack = "r1"
  }
  host_volume "data" {
    path      = "/srv/data"
    read_only = true
  }
  reserved {
    cpu    = 100
    memory = 256
  }
}
"#,
    );
    let mut c = AgentConfig::default();
    c.merge(AgentConfig::from_file(&path).unwrap());
    assert!(c.client.enabled);
    assert_eq!(c.client.node_class.as_deref(), Some("web"));
    assert_eq!(c.client.meta["rack"], "r1");
    assert_eq!(c.client.host_volume["data"].path, "/srv/data");
    assert!(c.client.host_volume["data"].read_only);
    assert_eq!(c.client.reserved.memory, 256);
}

#[test]
fn unknown_settings_and_bad_combinations_are_refused() {
    let p = write("b.hcl", "telemetry { prometheus_metrics = true }\n");
    let err = AgentConfig::from_file(&p).unwrap_err().to_string();
    assert!(err.contains("telemetry"), "{err}");
    std::fs::remove_file(p).ok();
    let p = write("c.hcl", "autoscaler { prometheus = \"x\" }\n");
    let err = AgentConfig::from_file(&p).unwrap_err().to_string();
    assert!(err.contains("prometheus"), "{err}");
    std::fs::remove_file(p).ok();
    let err = AgentConfig {
        dev: true,
        autoscaler: AutoscalerBlock {
            prometheus_address: Some("127.0.0.1:9090".into()),
            ..AutoscalerBlock::default()
        },
        ..Default::default()
    }
    .finish()
    .unwrap_err();
    assert!(err.to_string().contains("http://"), "{err}");
    let err = AgentConfig {
        server: ServerConfig {
            enabled: true,
            ..Default::default()
        },
        ..Default::default()
    }
    .finish()
    .unwrap_err();
    assert!(err.to_string().contains("-data-dir"));
    assert!(AgentConfig::default().finish().is_err());
    let dev = AgentConfig {
        dev: true,
        ..Default::default()
    }
    .finish()
    .unwrap();
    assert!(dev.server.enabled && dev.client.enabled && dev.bind() == "127.0.0.1");
}

#[test]
fn raw_exec_is_off_unless_its_plugin_block_enables_it_and_other_plugins_are_refused() {
    let mut c = AgentConfig::default();
    assert!(!c.raw_exec_enabled());
    c.merge(
        AgentConfig::from_file(&write(
            "plugin-on.hcl",
            "plugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n",
        ))
        .unwrap(),
    );
    assert!(c.raw_exec_enabled());
    assert!(c.check_plugins().is_ok());
    let dev = AgentConfig {
        dev: true,
        ..AgentConfig::default()
    };
    assert!(dev.raw_exec_enabled());
    let mut qemu = AgentConfig::default();
    qemu.merge(
        AgentConfig::from_file(&write(
            "plugin-qemu.hcl",
            "plugin \"qemu\" {\n  config {\n    enabled = true\n  }\n}\n",
        ))
        .unwrap(),
    );
    let e = qemu.check_plugins().unwrap_err().to_string();
    assert!(
        e.contains(
            "plugin \"qemu\": orch configures only the raw_exec, exec, java and docker plugins"
        ),
        "{e}"
    );
    let e = AgentConfig::from_file(&write(
        "plugin-bad.hcl",
        "plugin \"raw_exec\" {\n  config {\n    no_cgroups = true\n  }\n}\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("no_cgroups"), "{e}");
}

#[test]
fn the_tls_block_and_encrypt_parse_merge_and_check() {
    let p = write(
        "tls.hcl",
        r#"
            server { encrypt = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=" }
            tls {
              http = true
              rpc = true
              ca_file = "ca.pem"
              cert_file = "a.pem"
              key_file = "a-key.pem"
              verify_server_hostname = true
            }
        "#,
    );
    let mut c = AgentConfig::from_file(&p).unwrap();
    c.merge(AgentConfig {
        tls: TlsBlock {
            cert_file: Some("b.pem".into()),
            verify_https_client: true,
            ..TlsBlock::default()
        },
        ..AgentConfig::default()
    });
    let s = c.tls.settings();
    assert!(s.http && s.rpc && s.verify_server_hostname && s.verify_https_client);
    assert_eq!(s.cert_file.as_deref(), Some(std::path::Path::new("b.pem")));
    assert_eq!(s.ca_file.as_deref(), Some(std::path::Path::new("ca.pem")));
    c.dev = true;
    assert!(c.clone().finish().is_ok());
    c.server.encrypt = Some("c2hvcnQ=".into());
    let e = c.clone().finish().unwrap_err().to_string();
    assert!(e.contains("server.encrypt decodes to 5 bytes"), "{e}");
    c.server.encrypt = None;
    c.tls.http = false;
    let e = c.finish().unwrap_err().to_string();
    assert!(
        e.contains("tls.verify_https_client = true needs tls.http"),
        "{e}"
    );
    // Consul's setting, not Nomad's: refused by name.
    let bad = write("tls-bad.hcl", "tls {\n  verify_outgoing = true\n}\n");
    let e = AgentConfig::from_file(&bad).unwrap_err().to_string();
    assert!(e.contains("verify_outgoing") && e.contains("tls"), "{e}");
    let mut c = AgentConfig {
        dev: true,
        ..AgentConfig::default()
    };
    c.tls.rpc_upgrade_mode = true;
    let e = c.clone().finish().unwrap_err().to_string();
    assert!(e.contains("rpc_upgrade_mode = true needs tls.rpc"), "{e}");
    c.tls.rpc_upgrade_mode = false;
    c.tls.tls_min_version = Some("tls10".into());
    let e = c.finish().unwrap_err().to_string();
    assert!(
        e.contains("tls_min_version") && e.contains("1.2 and 1.3"),
        "{e}"
    );
    std::fs::remove_file(p).ok();
    std::fs::remove_file(bad).ok();
}
