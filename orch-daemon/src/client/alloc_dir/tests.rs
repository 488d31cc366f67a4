use super::*;

#[test]
fn builds_nomad_layout_and_refuses_escapes() {
    let root = std::env::temp_dir().join(format!("orch-allocdir-{}", std::process::id()));
    let d = AllocDir::new(&root, "a1");
    d.build(["web", "sidecar"]).unwrap();
    for p in [
        "alloc/data",
        "alloc/logs",
        "alloc/tmp",
        "web/local",
        "web/secrets",
        "sidecar/tmp",
    ] {
        assert!(d.root.join(p).is_dir(), "{p}");
    }
    assert_eq!(d.resolve("alloc/logs"), Some(d.root.join("alloc/logs")));
    assert_eq!(d.resolve("/web/local/x"), Some(d.root.join("web/local/x")));
    assert_eq!(d.resolve("../etc/passwd"), None);
    assert_eq!(d.resolve("web/../../x"), None);
    write_payload(&d.task("web"), "in/payload.txt", "aGVsbG8=").unwrap();
    assert_eq!(
        std::fs::read(d.root.join("web/local/in/payload.txt")).unwrap(),
        b"hello"
    );
    assert!(write_payload(&d.task("web"), "../x", "").is_err());
    assert!(write_payload(&d.task("web"), "x", "***").is_err());
    d.destroy().unwrap();
    assert!(!d.root.exists());
    let _ = std::fs::remove_dir_all(root);
}
