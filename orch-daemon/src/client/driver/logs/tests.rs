use super::*;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orch-logs-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn concat(chunks: &[LogChunk]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.data.clone()).collect()
}

#[test]
fn rotates_prunes_and_reads_across_files() -> io::Result<()> {
    let dir = tmp("rot");
    let mut w = RotatingWriter::open_bytes(&dir, "web", LogKind::Stdout, 3, 10)?;
    w.write_all(b"0123456789abcdefghijABCDEFGHIJklmnopqrstKLM")?;
    // 43 bytes in files of 10: indexes 0..=4, only 2, 3, 4 kept.
    let files = list_log_files(&dir, "web", LogKind::Stdout)?;
    assert_eq!(
        files.iter().map(|f| f.index).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    let all = read_logs(&dir, "web", LogKind::Stdout, Origin::Start, 0, 1000)?;
    assert_eq!(concat(&all), b"ABCDEFGHIJklmnopqrstKLM");
    let tail = read_logs(&dir, "web", LogKind::Stdout, Origin::End, 5, 1000)?;
    assert_eq!(concat(&tail), b"stKLM");
    assert_eq!(tail[0].file, "web.stdout.3");
    assert_eq!(tail[0].offset, 8);
    let mid = read_logs(&dir, "web", LogKind::Stdout, Origin::Start, 12, 4)?;
    assert_eq!(concat(&mid), b"mnop");

    // Reopening continues the newest file; a follower sees new data and new files.
    let pos = seek_position(&dir, "web", LogKind::Stdout, Origin::End, 0)?;
    let mut f = LogFollower::new(&dir, "web", LogKind::Stdout, pos);
    assert_eq!(f.poll(100)?, None);
    let mut w = RotatingWriter::open_bytes(&dir, "web", LogKind::Stdout, 3, 10)?;
    assert_eq!(w.index(), 4);
    w.write_all(b"xyz1234567890")?;
    let mut got = Vec::new();
    while let Some(c) = f.poll(100)? {
        got.extend(c.data);
    }
    assert_eq!(got, b"xyz1234567890");
    fs::remove_dir_all(&dir)
}
