//! The servers under test: each a real `orch agent -server` in a network namespace of its
//! own, joined to a bridge in the caller's namespace by a veth pair, with its data dir on
//! a small tmpfs (so the nemesis can fill it). Everything is removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command, failing with what it printed.
pub fn sh(args: &[&str]) -> Result<(), String> {
    sh_input(args, "")
}

/// Runs a command with `input` on its standard input, failing with what it printed.
fn sh_input(args: &[&str], input: &str) -> Result<(), String> {
    use std::io::Write;
    let failed = |e: std::io::Error| format!("{}: {e}", args.join(" "));
    let mut child = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(failed)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(failed)?;
    }
    let out = child.wait_with_output().map_err(failed)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One agent's host: a network namespace with an address on the bridge.
pub struct Host {
    /// Its network namespace.
    pub netns: String,
    /// Its address on the bridge.
    pub ip: String,
    /// Its end of the veth pair, inside its namespace.
    pub dev: String,
    /// Its data dir (a tmpfs mount).
    pub data: PathBuf,
    /// The running agent, if up.
    pub child: Option<Child>,
    /// Stopped with SIGSTOP.
    pub paused: bool,
}

impl Host {
    /// Its HTTP API base URL.
    pub fn url(&self) -> String {
        format!("http://{}:4646", self.ip)
    }

    /// Its Raft RPC address, as `/v1/status/leader` names it.
    pub fn rpc(&self) -> String {
        format!("{}:4647", self.ip)
    }

    /// Runs `args` inside its namespace.
    pub fn exec(&self, args: &[&str]) -> Result<(), String> {
        self.exec_input(args, "")
    }

    /// Runs `args` inside its namespace with `input` on its standard input.
    pub fn exec_input(&self, args: &[&str], input: &str) -> Result<(), String> {
        let mut full = vec!["ip", "netns", "exec", &self.netns];
        full.extend_from_slice(args);
        sh_input(&full, input)
    }
}

/// The bridge, the namespaces and the servers.
pub struct Cluster {
    /// The servers, by index.
    pub servers: Vec<Host>,
    /// Client agents ([`Cluster::add_clients`]), by index.
    pub clients: Vec<Host>,
    /// The relays of the link-delay fault (started at its first use).
    pub link_delay: super::delay::LinkDelay,
    tag: u32,
    subnet: String,
    bridge: String,
    orch: PathBuf,
    dir: PathBuf,
    join: String,
}

/// Clients' hosts are numbered from here (their addresses end in 10 + this + j).
const CLIENT_INDEX_BASE: usize = 50;

/// The tmpfs size of each server's data dir, in MiB.
pub const DATA_DIR_MB: u64 = 256;

impl Cluster {
    /// Creates `n` namespaces on a fresh bridge (subnet picked from `tag`) and starts a
    /// server in each; the first bootstraps, the others join it.
    pub fn start(n: usize, tag: u32, orch: &Path, dir: &Path) -> Result<Cluster, String> {
        // A /24 of its own per tag (tags are below 1000): 10.100.0.0 to 10.103.231.0.
        let tag = tag % 1000;
        let subnet = format!("{}.{}", 100 + tag / 250, tag % 250);
        let bridge = format!("onb{tag}");
        let mut cluster = Cluster {
            servers: Vec::new(),
            clients: Vec::new(),
            link_delay: Default::default(),
            tag,
            subnet: subnet.clone(),
            bridge: bridge.clone(),
            orch: orch.to_path_buf(),
            dir: dir.to_path_buf(),
            join: format!("10.{subnet}.10:4648"),
        };
        sh(&["ip", "link", "add", &bridge, "type", "bridge"])?;
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("10.{subnet}.1/24"),
            "dev",
            &bridge,
        ])?;
        sh(&["ip", "link", "set", &bridge, "up"])?;
        // Docker's FORWARD policy is DROP and bridged frames pass iptables
        // (br_netfilter): let the bridge forward between the namespaces.
        sh(&forward_rule("-I", &bridge))?;
        for i in 0..n {
            let server = cluster.make_host(i, tag, &subnet, true)?;
            cluster.servers.push(server);
        }
        for i in 0..n {
            cluster.launch(i)?;
        }
        Ok(cluster)
    }

    /// Makes host `i`'s namespace and link; a server's data dir goes on a tmpfs of
    /// [`DATA_DIR_MB`] (the nemesis fills it), a client's on the real disk (the
    /// default `ephemeral_disk` asks for 300 MB per allocation).
    fn make_host(&self, i: usize, tag: u32, subnet: &str, tmpfs: bool) -> Result<Host, String> {
        let netns = format!("onem{tag}-{i}");
        let (host, peer) = (format!("onh{tag}-{i}"), format!("onp{tag}-{i}"));
        let ip = format!("10.{subnet}.{}", 10 + i);
        sh(&["ip", "netns", "add", &netns])?;
        sh(&[
            "ip", "link", "add", &host, "type", "veth", "peer", "name", &peer,
        ])?;
        sh(&["ip", "link", "set", &peer, "netns", &netns])?;
        sh(&["ip", "link", "set", &host, "master", &self.bridge])?;
        sh(&["ip", "link", "set", &host, "up"])?;
        let server = Host {
            netns,
            ip: ip.clone(),
            dev: peer.clone(),
            data: self.dir.join(format!("s{i}")),
            child: None,
            paused: false,
        };
        server.exec(&["ip", "addr", "add", &format!("{ip}/24"), "dev", &peer])?;
        server.exec(&["ip", "link", "set", &peer, "up"])?;
        server.exec(&["ip", "link", "set", "lo", "up"])?;
        std::fs::create_dir_all(&server.data).map_err(|e| e.to_string())?;
        if !tmpfs {
            return Ok(server);
        }
        let size = format!("size={DATA_DIR_MB}m");
        let data = server.data.to_string_lossy().to_string();
        sh(&["mount", "-t", "tmpfs", "-o", &size, "tmpfs", &data])?;
        Ok(server)
    }

    /// Starts (or restarts) server `i`'s agent.
    pub fn launch(&mut self, i: usize) -> Result<(), String> {
        let s = &self.servers[i];
        let log = append_log(&self.dir.join(format!("s{i}.log")))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &s.netns])
            .arg(&self.orch)
            .args([
                "agent",
                "-server",
                "-bind",
                &s.ip,
                "-node",
                &format!("s{i}"),
            ])
            .arg("-data-dir")
            .arg(&s.data)
            .args(["-log-level", "INFO"]);
        if i == 0 {
            cmd.args(["-bootstrap-expect", "1"]);
        } else {
            cmd.args(["-retry-join", &self.join]);
        }
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = cmd
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("starting server {i}: {e}"))?;
        let s = &mut self.servers[i];
        s.child = Some(child);
        s.paused = false;
        Ok(())
    }

    /// Starts `n` client agents (raw_exec enabled), each in a namespace of its own,
    /// pointed at every server.
    pub fn add_clients(&mut self, n: usize) -> Result<(), String> {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("{:?}", s.rpc()))
            .collect();
        let config = self.dir.join("client.hcl");
        let text = format!(
            "client {{\n  enabled = true\n  servers = [{}]\n}}\nplugin \"raw_exec\" {{\n  config {{\n    enabled = true\n  }}\n}}\n",
            servers.join(", ")
        );
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        for j in 0..n {
            let (tag, subnet) = (self.tag, self.subnet.clone());
            let host = self.make_host(CLIENT_INDEX_BASE + j, tag, &subnet, false)?;
            let log = std::fs::File::create(self.dir.join(format!("c{j}.log")))
                .map_err(|e| e.to_string())?;
            let err = log.try_clone().map_err(|e| e.to_string())?;
            let child = Command::new("ip")
                .args(["netns", "exec", &host.netns])
                .arg(&self.orch)
                .args([
                    "agent",
                    "-client",
                    "-bind",
                    &host.ip,
                    "-node",
                    &format!("c{j}"),
                ])
                .arg("-data-dir")
                .arg(&host.data)
                .arg("-config")
                .arg(&config)
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(err))
                .spawn()
                .map_err(|e| format!("starting client {j}: {e}"))?;
            self.clients.push(Host {
                child: Some(child),
                ..host
            });
        }
        Ok(())
    }

    /// Kills server `i` at once (SIGKILL, as a crash).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.servers[i].paused = false;
    }

    /// Sends `signal` to server `i`'s agent (its process, not the `ip netns exec`
    /// wrapper: that one execs into it, so the PID is the agent's).
    pub fn signal(&mut self, i: usize, signal: i32) {
        if let Some(c) = &self.servers[i].child {
            // SAFETY: kill has no memory preconditions; the pid is our unreaped child's.
            unsafe {
                libc::kill(c.id() as i32, signal);
            }
        }
        self.servers[i].paused = signal == libc::SIGSTOP;
    }

    /// Stops server `i` with SIGTERM, starts it again and waits until it reports itself
    /// healthy (`/v1/agent/health`), as a rolling upgrade does server by server.
    pub fn restart_gracefully(
        &mut self,
        i: usize,
        http: &super::workload::Http,
    ) -> Result<(), String> {
        self.signal(i, libc::SIGTERM);
        if let Some(mut c) = self.servers[i].child.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        self.launch(i)?;
        let url = self.servers[i].url();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http
                .send(&url, "GET", "/v1/agent/health", "")
                .is_ok_and(|r| r.status == 200)
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "server {i} was not healthy within 30 s of its restart; see s{i}.log"
        ))
    }

    /// Waits until some server names a leader that every running server agrees on.
    pub fn wait_leader(&self, http: &super::workload::Http, limit: Duration) -> Option<usize> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(l) = self.leader(http) {
                return Some(l);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// The leader as the first answering server names it.
    pub fn leader(&self, http: &super::workload::Http) -> Option<usize> {
        for s in self
            .servers
            .iter()
            .filter(|s| s.child.is_some() && !s.paused)
        {
            if let Some(addr) = http.leader(&s.url()) {
                return self.servers.iter().position(|x| x.rpc() == addr);
            }
        }
        None
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.servers.len() {
            self.signal(i, libc::SIGCONT);
            self.kill(i);
        }
        for c in &mut self.clients {
            if let Some(mut child) = c.child.take() {
                // SIGTERM first: a client agent stops its tasks on the way out.
                // SAFETY: kill has no memory preconditions; the pid is our child's.
                unsafe {
                    libc::kill(child.id() as i32, libc::SIGTERM);
                }
                let deadline = Instant::now() + Duration::from_secs(10);
                while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for s in self.servers.iter().chain(&self.clients) {
            let _ = sh(&["umount", "-l", &s.data.to_string_lossy()]);
            let _ = sh(&["ip", "netns", "del", &s.netns]);
        }
        let _ = sh(&forward_rule("-D", &self.bridge));
        let _ = sh(&["ip", "link", "del", &self.bridge]);
    }
}

/// A log file kept across restarts (a restarted server appends to its earlier lines).
fn append_log(path: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The FORWARD rule that lets `bridge` forward between its ports (`-I` adds, `-D` removes).
fn forward_rule<'a>(action: &'a str, bridge: &'a str) -> [&'a str; 9] {
    [
        "iptables", action, "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT",
    ]
}
