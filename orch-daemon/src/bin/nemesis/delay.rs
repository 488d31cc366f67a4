//! Link delay ([`Kind::LinkDelay`](super::faults::Kind::LinkDelay)): a fixed delay added
//! each way to every TCP connection between one server and the other servers.
//!
//! Why a proxy: `tc netem` is how Jepsen delays packets, but this machine's kernel has no
//! `sch_netem` (and no modules to load). Instead, while the fault is in force, an
//! iptables `REDIRECT` in the namespaces at both ends sends each new connection between
//! the delayed server and a peer to a relay of the nemesis inside the namespace it left
//! from. The relay connects on to the original destination (its own packets marked, so
//! the rule lets them pass) and holds every chunk it relays for the delay of both ends.
//! Connections open when the fault starts are reset (`ss -K`), so that they reconnect
//! through the relay; at the heal the rules go and the relayed connections are reset too.
//!
//! What differs from netem: the delay is per chunk of a TCP stream, not per packet (the
//! kernels' own ACKs are not held), and a connect to a peer succeeds at once (the relay
//! answers) and then waits on the relay's own connect.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::topology::Host;

/// The delay added each way at a delayed server's end of a connection.
pub const LINK_DELAY: Duration = Duration::from_millis(100);

/// The port the relays listen on, inside each server's namespace.
const RELAY_PORT: u16 = 4690;

/// The mark on the relays' own connections, which the `REDIRECT` rule lets pass.
const RELAY_MARK: u32 = 0x6e65;

/// Chunks a relay holds per direction before it stops reading (its memory bound).
const MAX_HELD_CHUNKS: usize = 256;

/// The relays and the delay of each server's end.
#[derive(Default)]
pub struct LinkDelay {
    ends: Arc<Ends>,
    /// Whether the relay of server `i`'s namespace is listening.
    listening: Vec<bool>,
}

/// What every relay reads at each chunk: the servers' addresses and delays.
#[derive(Default)]
struct Ends {
    ips: std::sync::OnceLock<Vec<Ipv4Addr>>,
    /// Microseconds added at each server's end.
    delay_us: std::sync::OnceLock<Vec<AtomicU64>>,
    /// Connections relayed so far (the report shows the fault did something).
    relayed: AtomicU64,
}

impl Ends {
    /// The delay of server `i`'s end.
    fn delay_of(&self, i: usize) -> Duration {
        self.delay_us
            .get()
            .and_then(|d| d.get(i))
            .map_or(Duration::ZERO, |d| {
                Duration::from_micros(d.load(Ordering::Relaxed))
            })
    }

    /// The delay of the end at `ip` (none for an address that is not a server's).
    fn delay_at(&self, ip: Ipv4Addr) -> Duration {
        let server = self
            .ips
            .get()
            .and_then(|ips| ips.iter().position(|&x| x == ip));
        server.map_or(Duration::ZERO, |i| self.delay_of(i))
    }

    fn set_delay(&self, server: usize, delay: Duration) {
        if let Some(d) = self.delay_us.get().and_then(|d| d.get(server)) {
            d.store(
                u64::try_from(delay.as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
    }
}

impl LinkDelay {
    /// Connections relayed since the start.
    pub fn relayed(&self) -> u64 {
        self.ends.relayed.load(Ordering::Relaxed)
    }

    /// Delays every connection between `servers[target]` and the other servers.
    pub fn inject(&mut self, servers: &[Host], target: usize) -> Result<(), String> {
        self.prepare(servers)?;
        self.ends.set_delay(target, LINK_DELAY);
        let me = &servers[target];
        for peer in servers.iter().filter(|p| p.ip != me.ip) {
            redirect(me, &peer.ip)?;
            redirect(peer, &me.ip)?;
        }
        reset(servers, target)
    }

    /// Takes the rules away, the delay off and resets the relayed connections.
    pub fn heal(&mut self, servers: &[Host], target: usize) -> Result<(), String> {
        for s in servers {
            s.exec(&["iptables", "-t", "nat", "-F", "OUTPUT"])?;
        }
        self.ends.set_delay(target, Duration::ZERO);
        reset(servers, target)
    }

    /// Starts the relays not yet listening.
    fn prepare(&mut self, servers: &[Host]) -> Result<(), String> {
        let ips = servers
            .iter()
            .map(|s| {
                s.ip.parse::<Ipv4Addr>()
                    .map_err(|e| format!("{}: {e}", s.ip))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let _ = self.ends.ips.set(ips);
        let _ = self
            .ends
            .delay_us
            .set(servers.iter().map(|_| AtomicU64::new(0)).collect());
        self.listening.resize(servers.len(), false);
        for (i, s) in servers.iter().enumerate() {
            if !self.listening[i] {
                listen_in(&s.netns, i, Arc::clone(&self.ends))?;
                self.listening[i] = true;
            }
        }
        Ok(())
    }
}

/// Sends `host`'s new connections to `dst` through its namespace's relay.
fn redirect(host: &Host, dst: &str) -> Result<(), String> {
    let rule = format!(
        "iptables -t nat -A OUTPUT -p tcp -d {dst} -m mark ! --mark {RELAY_MARK:#x} \
         -j REDIRECT --to-ports {RELAY_PORT}"
    );
    host.exec(&rule.split_whitespace().collect::<Vec<_>>())
}

/// Resets every connection between `servers[target]` and the others (the kernel sends
/// each peer a reset), so they reconnect under the rules now in force.
fn reset(servers: &[Host], target: usize) -> Result<(), String> {
    let me = &servers[target];
    for peer in servers.iter().filter(|p| p.ip != me.ip) {
        me.exec(&["ss", "-K", "dst", &peer.ip])?;
    }
    Ok(())
}

/// Starts the relay of server `me`, listening inside its namespace `netns` (a thread
/// that enters it; the threads it starts are in it too, so the relay's own connections
/// leave from there).
fn listen_in(netns: &str, me: usize, ends: Arc<Ends>) -> Result<(), String> {
    let path = format!("/run/netns/{netns}");
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let listener = enter(&path).and_then(|()| {
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, RELAY_PORT))
                .map_err(|e| format!("relay in {path}: {e}"))
        });
        let listener = match listener {
            Ok(l) => {
                let _ = ready_tx.send(Ok(()));
                l
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        for inbound in listener.incoming().flatten() {
            let ends = Arc::clone(&ends);
            std::thread::spawn(move || relay(inbound, me, &ends));
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| format!("the relay in {netns} did not start"))?
}

/// Moves the calling thread into the network namespace at `path`.
fn enter(path: &str) -> Result<(), String> {
    let ns = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: setns on a namespace fd we hold open; it changes only this thread.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Relays one connection redirected in server `me`'s namespace to where it was going,
/// both ways, delayed by both ends' delays.
fn relay(inbound: TcpStream, me: usize, ends: &Ends) {
    let Ok(dst) = original_destination(&inbound) else {
        return;
    };
    let Ok(outbound) = connect_marked(dst) else {
        return;
    };
    ends.relayed.fetch_add(1, Ordering::Relaxed);
    let _ = (inbound.set_nodelay(true), outbound.set_nodelay(true));
    let delay = ends.delay_of(me) + ends.delay_at(*dst.ip());
    let (Ok(in2), Ok(out2)) = (inbound.try_clone(), outbound.try_clone()) else {
        return;
    };
    let back = std::thread::spawn(move || pipe(out2, in2, delay));
    pipe(inbound, outbound, delay);
    let _ = back.join();
}

/// Copies `from` to `to`, each chunk held for `delay` after it was read; when either side
/// ends, both connections are shut down (which ends the other direction too).
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::sync_channel::<(Instant, Vec<u8>)>(MAX_HELD_CHUNKS);
    let (from2, to2) = (from.try_clone(), to.try_clone());
    let writer = std::thread::spawn(move || {
        for (due, bytes) in rx {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
    let mut buf = vec![0_u8; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        if tx
            .send((Instant::now() + delay, buf[..n].to_vec()))
            .is_err()
        {
            break;
        }
    }
    drop(tx);
    let _ = writer.join();
    for s in [from2, to2].into_iter().flatten() {
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// Where a redirected connection was going (`SO_ORIGINAL_DST`).
fn original_destination(s: &TcpStream) -> std::io::Result<SocketAddrV4> {
    // SAFETY: getsockopt writes at most `len` bytes into the zeroed sockaddr_in we own.
    unsafe {
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_IP,
            libc::SO_ORIGINAL_DST,
            (&mut addr as *mut libc::sockaddr_in).cast(),
            &mut len,
        );
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
            u16::from_be(addr.sin_port),
        ))
    }
}

/// Connects to `dst` with the relay's mark (so the `REDIRECT` rule lets it pass), giving
/// up after 3 s.
fn connect_marked(dst: SocketAddrV4) -> std::io::Result<TcpStream> {
    let err = std::io::Error::last_os_error;
    // SAFETY: a fresh socket owned by the TcpStream from the start (closed on any error);
    // setsockopt and connect read only the values we pass, with their sizes.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(err());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let mark: libc::c_int = RELAY_MARK as libc::c_int;
        let timeout = libc::timeval {
            tv_sec: 3,
            tv_usec: 0,
        };
        let set = |opt, val: *const libc::c_void, len| {
            libc::setsockopt(fd, libc::SOL_SOCKET, opt, val, len as libc::socklen_t)
        };
        if set(libc::SO_MARK, (&mark as *const libc::c_int).cast(), 4) != 0
            || set(
                libc::SO_SNDTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>(),
            ) != 0
        {
            return Err(err());
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: dst.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*dst.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::connect(fd, (&addr as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(err());
        }
        let none = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let _ = set(
            libc::SO_SNDTIMEO,
            (&none as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>(),
        );
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relay's core, on loopback: what goes in comes out, in order, no sooner than
    /// the delay after it went in (a lower bound, which load cannot break).
    #[test]
    fn a_piped_chunk_arrives_whole_and_no_sooner_than_its_delay() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let relay_in = TcpListener::bind("127.0.0.1:0").unwrap();
        let (server_addr, relay_addr) =
            (server.local_addr().unwrap(), relay_in.local_addr().unwrap());
        let delay = Duration::from_millis(50);
        std::thread::spawn(move || {
            let (inbound, _) = relay_in.accept().unwrap();
            let outbound = TcpStream::connect(server_addr).unwrap();
            pipe(inbound, outbound, delay);
        });
        let mut client = TcpStream::connect(relay_addr).unwrap();
        let (mut echo, _) = server.accept().unwrap();
        let sent = Instant::now();
        client.write_all(b"hello through the relay").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        echo.read_to_end(&mut got).unwrap();
        assert!(sent.elapsed() >= delay);
        assert_eq!(got, b"hello through the relay");
    }
}
