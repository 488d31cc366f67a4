use super::*;

#[test]
fn links_build_urls_with_their_own_scheme() {
    let plain = Link::plain();
    assert_eq!(
        plain.url("10.0.0.1:4647", "/raft/join"),
        "http://10.0.0.1:4647/raft/join"
    );
    assert_eq!(plain.url("https://h:1/", "/x"), "http://h:1/x");
    let tls = Link {
        client: http_client(),
        scheme: "https",
        tls: None,
        secret: None,
    };
    assert_eq!(tls.url("http://h:1", ""), "https://h:1");
}

#[test]
fn only_the_client_endpoints_stay_on_the_rpc_port() {
    use crate::http::rpc_port::is_client_endpoint;
    for ok in [
        "/v1/internal/node/register",
        "/v1/internal/node/x/heartbeat",
        "/v1/node/abc/allocations",
        "/v1/service/web",
    ] {
        assert!(is_client_endpoint(ok), "{ok}");
    }
    for no in [
        "/v1/jobs",
        "/v1/node/abc",
        "/v1/node/abc/drain",
        "/v1/nodes",
        "/v1/services",
        "/v1/service/web/id1",
        "/v1/agent/self",
    ] {
        assert!(!is_client_endpoint(no), "{no}");
    }
}

#[test]
fn loading_names_the_missing_or_broken_setting() {
    let none = TlsSetup::load(&TlsSettings::default(), "global").unwrap();
    assert!(none.is_none(), "no http/rpc: nothing loaded");
    let dir = std::env::temp_dir().join(format!("orch-tls-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a pem").unwrap();
    let mut s = TlsSettings {
        rpc: true,
        ..TlsSettings::default()
    };
    let e = TlsSetup::load(&s, "global").unwrap_err().to_string();
    assert!(e.contains("tls.ca_file is required"), "{e}");
    s.ca_file = Some(dir.join("missing.pem"));
    s.cert_file = Some(junk.clone());
    s.key_file = Some(junk.clone());
    let e = TlsSetup::load(&s, "global").unwrap_err().to_string();
    assert!(e.contains("tls.ca_file: cannot read"), "{e}");
    s.ca_file = Some(junk.clone());
    let e = TlsSetup::load(&s, "global").unwrap_err().to_string();
    assert!(
        e.contains("tls.ca_file:") && e.contains("no CERTIFICATE"),
        "{e}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_guard_is_open_only_without_secret_and_role_check() {
    assert!(AgentSecurity::default().peer_guard().is_open());
    let with_secret = AgentSecurity {
        tls: None,
        secret: Some(Arc::from("k")),
    };
    assert!(!with_secret.peer_guard().is_open());
}
