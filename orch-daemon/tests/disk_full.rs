//! A server whose disk fills up: three real servers, one with its data dir on a small
//! tmpfs (a real filesystem that really fills). While its free space is under
//! `server.disk_reserve_mb` it reports itself unhealthy on `/v1/agent/health`, keeps
//! answering reads, hands leadership away when it leads, and the cluster keeps taking
//! writes; when space returns it becomes healthy again and holds every write, with no
//! restart or repair.
//!
//! Mounting the tmpfs needs root, which this project's machines and CI have.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

/// The tmpfs under the third server's data dir, unmounted when dropped.
struct SmallDisk {
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, size_mb: u64) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs at {} failed (this test needs root): {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk {
            mount: at.to_path_buf(),
        }
    }

    /// Writes a file that leaves about `leave_mb` MiB free.
    fn fill(&self, leave_mb: u64) -> PathBuf {
        let free = free_bytes(&self.mount);
        let want = free.saturating_sub(leave_mb << 20);
        let path = self.mount.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x5a_u8; 1 << 20];
        let mut written = 0;
        while written < want {
            let n = chunk.len().min((want - written) as usize);
            f.write_all(&chunk[..n]).unwrap();
            written += n as u64;
        }
        f.sync_all().unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.mount)
            .status();
    }
}

fn free_bytes(path: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .expect("run df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df prints the free bytes")
}

/// `agent`'s `/v1/agent/health`: status and the server part's message.
fn server_health(agent: &impl HasHttp) -> (u16, String) {
    let (code, v) = get(agent, "/v1/agent/health");
    let message = v["server"]["message"].as_str().unwrap_or_default();
    (code, message.to_string())
}

fn stale_job_ids(agent: &impl HasHttp) -> Vec<String> {
    let (code, v) = get(agent, "/v1/jobs?stale=true");
    assert_eq!(code, 200, "a server short of disk still answers reads: {v}");
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["ID"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

fn register(agents: &[Agent], ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut done = Vec::new();
    for (i, id) in ids.enumerate() {
        // Any server takes writes (followers forward them); a short one included.
        let (code, body) = send(&agents[i % 2], "PUT", "/v1/jobs", sleep_job(&id, "default"));
        assert_eq!(code, 200, "registering {id}: {body}");
        done.push(id);
    }
    done
}

#[test]
fn a_server_out_of_disk_is_unhealthy_keeps_reading_and_recovers_by_itself() {
    let dir = temp_dir("disk-full");
    let disk = SmallDisk::mount(&dir.join("c"), 192);
    let reserve = dir.join("reserve.hcl");
    std::fs::write(&reserve, "server {\n  disk_reserve_mb = 64\n}\n").unwrap();
    let reserve = reserve.to_str().unwrap();
    let agents = three_servers(&dir, [&[], &[], &["-config", reserve]]);
    let short = &agents[2];
    wait_for(Duration::from_secs(60), "the third server healthy", || {
        (server_health(short).0 == 200).then_some(())
    });

    // A follower fills up.
    let filler = disk.fill(32);
    let (_, message) = wait_for(Duration::from_secs(30), "the unhealthy report", || {
        let h = server_health(short);
        (h.0 == 500).then_some(h)
    });
    assert!(message.contains("disk_reserve_mb"), "{message}");
    let mut written = register(&agents, (0..10).map(|i| format!("while-full-{i}")));
    // Reads are answered (from what this server holds) meanwhile.
    stale_job_ids(short);
    let (code, _) = get(short, "/v1/status/leader");
    assert_eq!(code, 200);

    // Space returns: healthy again, with every write, by itself.
    std::fs::remove_file(&filler).unwrap();
    wait_for(Duration::from_secs(60), "recovery with every write", || {
        (server_health(short).0 == 200 && stale_job_ids(short) == sorted(&written)).then_some(())
    });

    // The short server leads, then fills: it hands leadership away and writes go on.
    let out = orch_cli(
        &agents[0],
        &[
            "operator",
            "raft",
            "transfer-leadership",
            &format!("-peer-address={}", short.rpc),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(Duration::from_secs(30), "the short server leading", || {
        (leader_rpc(&agents[0]).as_deref() == Some(short.rpc.as_str())).then_some(())
    });
    let filler = disk.fill(32);
    wait_for(Duration::from_secs(60), "leadership handed away", || {
        let leader = leader_rpc(&agents[0])?;
        (leader != short.rpc && leader_rpc(&agents[1]).as_deref() == Some(leader.as_str()))
            .then_some(())
    });
    written.extend(register(
        &agents,
        (0..10).map(|i| format!("after-step-down-{i}")),
    ));
    std::fs::remove_file(&filler).unwrap();
    wait_for(Duration::from_secs(60), "second recovery", || {
        (server_health(short).0 == 200 && stale_job_ids(short) == sorted(&written)).then_some(())
    });
    drop(agents);
    drop(disk);
    let _ = std::fs::remove_dir_all(dir);
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut v = ids.to_vec();
    v.sort();
    v
}
