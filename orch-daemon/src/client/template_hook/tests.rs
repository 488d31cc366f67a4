use super::*;

#[test]
fn a_template_is_never_written_through_a_planted_link() {
    let tmp = tempfile::tempdir().unwrap();
    let alloc = tmp.path().join("a1");
    std::fs::create_dir_all(alloc.join("web/local")).unwrap();
    let canary = tmp.path().join("canary");
    std::fs::write(&canary, "keep").unwrap();
    // A link at the destination is replaced by the rendered file.
    std::os::unix::fs::symlink(&canary, alloc.join("web/local/app.conf")).unwrap();
    let dest = alloc.join("web/local/app.conf");
    assert!(write_template(&alloc, &dest, b"rendered", 0o640).unwrap());
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "keep");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "rendered");
    assert!(
        !write_template(&alloc, &dest, b"rendered", 0o640).unwrap(),
        "unchanged"
    );
    // A link on the way is refused.
    std::os::unix::fs::symlink(tmp.path(), alloc.join("web/local/out")).unwrap();
    let through = alloc.join("web/local/out/canary");
    let e = write_template(&alloc, &through, b"x", 0o644).unwrap_err();
    assert!(e.contains("symlink"), "{e}");
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "keep");
}
