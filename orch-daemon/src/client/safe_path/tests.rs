use super::*;
use std::os::unix::fs::{PermissionsExt, symlink};

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("alloc");
    std::fs::create_dir_all(root.join("data/sub")).unwrap();
    let canary = tmp.path().join("canary");
    std::fs::write(&canary, "secret").unwrap();
    symlink(&canary, root.join("data/link")).unwrap();
    symlink(tmp.path(), root.join("data/dirlink")).unwrap();
    std::fs::write(root.join("data/sub/f"), "ok").unwrap();
    (tmp, canary)
}

#[test]
fn reads_plain_files_and_refuses_symlinks_at_any_component() {
    let (tmp, _) = setup();
    let d = Dir::open(&tmp.path().join("alloc")).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut d.open_read(Path::new("data/sub/f")).unwrap(), &mut s)
        .unwrap();
    assert_eq!(s, "ok");
    for rel in [
        "data/link",
        "data/dirlink/canary",
        "../canary",
        "/etc/passwd",
    ] {
        let e = d.open_read(Path::new(rel)).unwrap_err();
        assert!(is_refused(&e), "{rel}: {e}");
        if !rel.starts_with('.') && !rel.starts_with('/') {
            let e = d.open_walk(Path::new(rel), libc::O_RDONLY, 0).unwrap_err();
            assert!(is_refused(&e), "walk {rel}: {e}");
        }
    }
    assert!(
        d.metadata(Path::new("data/link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn writes_never_go_through_a_link() {
    let (tmp, canary) = setup();
    let d = Dir::open(&tmp.path().join("alloc")).unwrap();
    assert!(is_refused(
        &d.write_file(Path::new("data/link"), b"x", 0o644)
            .unwrap_err()
    ));
    assert!(
        d.write_file(Path::new("data/dirlink/canary"), b"x", 0o644)
            .is_err()
    );
    let data = d.open_dir(Path::new("data")).unwrap();
    data.write_atomic(OsStr::new("link"), b"new", 0o600)
        .unwrap();
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret");
    let replaced = tmp.path().join("alloc/data/link");
    assert!(
        !std::fs::symlink_metadata(&replaced)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let mode = std::fs::metadata(&replaced).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        d.create_dir_all(Path::new("data/dirlink/x"), 0o755)
            .is_err()
    );
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn a_fifo_opens_without_blocking() {
    let (tmp, _) = setup();
    let fifo = tmp.path().join("alloc/data/fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: c is a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let d = Dir::open(&tmp.path().join("alloc")).unwrap();
    let f = d.open_read(Path::new("data/fifo")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &f.metadata().unwrap().file_type()
    ));
}

#[test]
fn open_tail_refuses_a_swapped_directory() {
    let (tmp, _) = setup();
    let alloc = tmp.path().join("alloc");
    symlink(tmp.path(), alloc.join("logs")).unwrap();
    assert!(Dir::open_tail(&alloc.join("data/sub"), 2).is_ok());
    assert!(is_refused(
        &Dir::open_tail(&alloc.join("logs"), 1).unwrap_err()
    ));
}
