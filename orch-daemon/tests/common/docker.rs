//! What the docker tests share: the engine they use (Docker's socket, or
//! `ORCH_TEST_DOCKER_ENDPOINT`, e.g. podman's), the test images built once from Debian's
//! static busybox, a guard removing the containers of a test even when it fails, and a
//! tiny HTTP client and server.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The busybox image every docker test runs (`sh`, `httpd`, `sleep`, ...).
pub const BUSYBOX: &str = "orch-test/busybox:1";
/// The pause image for network sandboxes (default command: a long sleep).
pub const PAUSE: &str = "orch-test/pause:1";

/// The engine endpoint, `unix:///var/run/docker.sock` unless the environment names one.
pub fn endpoint() -> String {
    std::env::var("ORCH_TEST_DOCKER_ENDPOINT")
        .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// Panics (a failure, not a skip: CI has Docker) unless the engine's socket exists.
pub fn require_engine() {
    let ep = endpoint();
    let sock = ep.trim_start_matches("unix://");
    assert!(
        Path::new(sock).exists(),
        "no Docker Engine socket at {sock}: the docker tests need a running engine (start dockerd, or set ORCH_TEST_DOCKER_ENDPOINT=unix:///path/to/socket)"
    );
}

/// Runs the docker CLI against the test engine.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", endpoint())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the docker CLI ({e}); install docker's client"))
}

/// Runs the docker CLI and returns its trimmed stdout, panicking on failure.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn build(dir: &Path, tag: &str, dockerfile: &str) {
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag, "."])
        .current_dir(dir)
        .env("DOCKER_HOST", endpoint())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building {tag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds [`BUSYBOX`] and [`PAUSE`] once per test binary (idempotent across binaries:
/// the same content gives the same image).
pub fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        require_engine();
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "/bin/busybox is missing: install Debian's busybox-static (apt-get install busybox-static)"
        );
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("docker-image-{}", std::process::id()));
        let bin = dir.join("rootfs/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.join("rootfs/tmp")).unwrap();
        std::fs::copy(busybox, bin.join("busybox")).unwrap();
        let list = Command::new(busybox).arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let link = bin.join(applet.trim());
            if applet.trim().is_empty() || link.exists() {
                continue;
            }
            std::os::unix::fs::symlink("busybox", link).unwrap();
        }
        build(&dir, BUSYBOX, "FROM scratch\nCOPY rootfs /\nENV PATH=/bin\nCMD [\"/bin/sh\"]\n");
        build(&dir, PAUSE, &format!("FROM {BUSYBOX}\nCMD [\"/bin/sleep\", \"2147483647\"]\n"));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// Removes, when dropped, every container labelled with one of the jobs or allocations
/// it was told about (so a failed assertion leaves nothing running).
#[derive(Default)]
pub struct Cleanup {
    filters: Vec<String>,
    images: Vec<String>,
}

impl Cleanup {
    /// Containers of Nomad job `name`.
    pub fn job(name: &str) -> Cleanup {
        let mut c = Cleanup::default();
        c.filters
            .push(format!("label=com.hashicorp.nomad.job_name={name}"));
        c
    }

    /// Also containers of allocation `id` (sandboxes carry only that label).
    pub fn alloc(&mut self, id: &str) {
        self.filters
            .push(format!("label=com.hashicorp.nomad.alloc_id={id}"));
    }

    /// Also the image `tag`.
    pub fn image(&mut self, tag: &str) {
        self.images.push(tag.to_string());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for f in &self.filters {
            let ids = docker(&["ps", "-aq", "--filter", f]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                let _ = docker(&["rm", "-f", id]);
            }
        }
        for i in &self.images {
            let _ = docker(&["rmi", "-f", i]);
        }
    }
}

/// The IDs of the containers of allocation `alloc` (running or not).
pub fn containers_of(alloc: &str) -> Vec<String> {
    let f = format!("label=com.hashicorp.nomad.alloc_id={alloc}");
    docker_ok(&["ps", "-aq", "--no-trunc", "--filter", &f])
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `docker inspect -f <format> <id>`, `None` when there is no such container.
pub fn inspect(id: &str, format: &str) -> Option<String> {
    let out = docker(&["inspect", "-f", format, id]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A plain HTTP/1.0 GET; the body, `None` when nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_string())
}

/// Serves `file` over HTTP on a loopback port (for artifacts); returns the URL. The
/// server thread answers until the test process ends.
pub fn serve_file(file: PathBuf) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let _ = write!(
                conn,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: application/x-tar\r\n\r\n",
                bytes.len()
            );
            let _ = conn.write_all(&bytes);
        }
    });
    format!("http://{addr}/{name}")
}

/// The agent config file of the docker plugin with `extra` settings inside `config`
/// (images are not collected: the tests share theirs).
pub fn plugin_config(dir: &Path, extra: &str) -> PathBuf {
    plugin_config_gc(dir, "image = false", extra)
}

/// [`plugin_config`] with the `gc` block's settings `gc`.
pub fn plugin_config_gc(dir: &Path, gc: &str, extra: &str) -> PathBuf {
    let path = dir.join("docker-plugin.hcl");
    std::fs::write(
        &path,
        format!(
            "plugin \"docker\" {{\n  config {{\n    endpoint = \"{}\"\n    infra_image = \"{PAUSE}\"\n    gc {{\n      {gc}\n    }}\n{extra}\n  }}\n}}\n",
            endpoint()
        ),
    )
    .unwrap();
    path
}
