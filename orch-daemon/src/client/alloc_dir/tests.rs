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
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(d.root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("alloc"), 0o755);
    assert_eq!(mode("alloc/logs"), 0o755);
    assert_eq!(mode("alloc/data"), 0o777);
    assert_eq!(mode("alloc/tmp"), 0o1777);
    assert_eq!(mode("web/secrets"), 0o700);
    write_payload(&d.task("web"), "in/payload.txt", "aGVsbG8=").unwrap();
    assert_eq!(
        std::fs::read(d.root.join("web/local/in/payload.txt")).unwrap(),
        b"hello"
    );
    assert!(write_payload(&d.task("web"), "../x", "").is_err());
    assert!(write_payload(&d.task("web"), "x", "***").is_err());
    // A link the task planted is not written through.
    let outside = root.join("outside");
    std::fs::write(&outside, "keep").unwrap();
    std::os::unix::fs::symlink(&outside, d.root.join("web/local/p")).unwrap();
    let e = write_payload(&d.task("web"), "p", "aGVsbG8=").unwrap_err();
    assert!(e.contains("symlink"), "{e}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    d.destroy().unwrap();
    assert!(!d.root.exists());
    let _ = std::fs::remove_dir_all(root);
}
