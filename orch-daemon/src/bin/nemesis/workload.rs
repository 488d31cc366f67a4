//! The clients: threads registering, scaling, deregistering and reading jobs through
//! the Nomad API of random servers, recording every operation with its call and return
//! times (a timeout, a lost connection or a 5xx is an unknown outcome; a write that
//! could not connect had no effect and stays out), over a tiny
//! blocking HTTP/1.1 client of its own (so a stalled server blocks only its caller).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::checker::{Event, JobState, Op};
use orch_core::scheduler::rng::SchedRng as Rng;

/// An HTTP answer: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The blocking HTTP client, with one timeout for connecting and one for the whole call.
#[derive(Clone, Copy)]
pub struct Http {
    pub connect: Duration,
    pub call: Duration,
}

/// How [`Http::send`]'s error starts when it could not connect: the request was never
/// sent.
pub const NOT_CONNECTED: &str = "not connected";

/// The most bytes read from one answer.
const MAX_REPLY_BYTES: usize = 8 << 20;

impl Http {
    /// One request; `Err` when the outcome is unknown (no complete answer).
    pub fn send(&self, url: &str, method: &str, path: &str, body: &str) -> Result<Reply, String> {
        let host = url.trim_start_matches("http://");
        let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
        let mut s = TcpStream::connect_timeout(&addr, self.connect)
            .map_err(|e| format!("{NOT_CONNECTED}: {e}"))?;
        s.set_read_timeout(Some(self.call))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(self.call))
            .map_err(|e| e.to_string())?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut raw = Vec::new();
        let mut buf = [0_u8; 16 << 10];
        loop {
            if started.elapsed() > self.call || raw.len() > MAX_REPLY_BYTES {
                return Err("timed out reading the answer".into());
            }
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
        parse_reply(&raw)
    }

    /// The leader's RPC address as the server at `url` names it.
    pub fn leader(&self, url: &str) -> Option<String> {
        let r = self.send(url, "GET", "/v1/status/leader", "").ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
        v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    }
}

fn parse_reply(raw: &[u8]) -> Result<Reply, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete header")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let rest = &raw[split + 4..];
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Reply { status, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// What the workers share: the servers' URLs, the history and the stop flag.
pub struct Shared {
    pub urls: Vec<String>,
    pub keys: usize,
    /// How long a key is written before the workers move to a fresh one (zero: never).
    /// Short key histories keep the checker's search small: each unknown outcome stays
    /// open until the end of its key's history, and the search space grows with the
    /// open ones (Jepsen's `independent` keys, for the same reason).
    pub key_lifetime: Duration,
    pub history: Mutex<Vec<Event>>,
    /// When each acknowledged write was called and returned (µs since the start).
    pub write_acks: Mutex<Vec<(u64, u64)>>,
    /// Writes whose outcome is unknown, by [`unknown_reason`].
    pub unknown_reasons: Mutex<std::collections::BTreeMap<String, u64>>,
    pub stop: AtomicBool,
    pub start: Instant,
    pub http: Http,
}

impl Shared {
    /// The key of `slot` now: `nem-{slot}`, or with rotation `nem-{slot}-{generation}`.
    pub fn key(&self, slot: u64) -> String {
        if self.key_lifetime.is_zero() {
            return format!("nem-{slot}");
        }
        let generation = self.start.elapsed().as_millis() / self.key_lifetime.as_millis();
        format!("nem-{slot}-{generation}")
    }

    /// Microseconds since the run started: the history's clock.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

fn job_body(key: &str, value: &str) -> String {
    serde_json::json!({"Job": {
        "ID": key, "Type": "batch", "Datacenters": ["dc1"], "Meta": {"nemesis": value},
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "raw_exec",
            "Config": {"command": "/bin/true"}, "Resources": {"CPU": 20, "MemoryMB": 16}}]}]
    }})
    .to_string()
}

/// Reads the job at `key` from the server at `url`: `Ok(state)` when the answer says.
pub fn read_job(http: &Http, url: &str, key: &str) -> Result<JobState, String> {
    let r = http.send(url, "GET", &format!("/v1/job/{key}"), "")?;
    match r.status {
        404 => Ok(None),
        200 => {
            let v: serde_json::Value =
                serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
            let value = v["Meta"]["nemesis"].as_str().ok_or("no Meta.nemesis")?;
            let count = v["TaskGroups"][0]["Count"].as_u64().ok_or("no count")?;
            Ok(Some((value.to_string(), count)))
        }
        s => Err(format!("status {s}")),
    }
}

/// Whether the server refused a write before handing it to Raft (orch's `No cluster
/// leader` answer: no leader to forward to, or this server is cut off from the cluster):
/// it had no effect, so it stays out of the history, as a failed read does. (A write
/// that may or may not have been applied answers `replication failed` instead.) So is a
/// write that never reached a server: the connection was refused or its handshake never
/// finished (a server killed, stopped or cut off), so no request was sent.
fn refused(reply: &Result<Reply, String>) -> bool {
    match reply {
        Ok(r) => r.status == 500 && r.body.starts_with(b"No cluster leader"),
        Err(e) => e.starts_with(NOT_CONNECTED),
    }
}

/// One operation against a random server, recorded.
fn one_op(shared: &Shared, rng: &mut Rng, worker: usize, seq: u64) {
    let key = shared.key(rng.below(shared.keys as u64));
    let url = &shared.urls[rng.below(shared.urls.len() as u64) as usize];
    let http = &shared.http;
    let call = shared.now();
    let roll = rng.below(100);
    let (op, known) = if roll < 60 {
        let value = format!("w{worker}-{seq}");
        let count = 1 + rng.below(5);
        let Some((op, reply)) = send_write(http, url, &key, roll, value, count) else {
            return;
        };
        let (op, known) = settle(op, &reply);
        if !known {
            let mut reasons = shared
                .unknown_reasons
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *reasons.entry(unknown_reason(&reply)).or_default() += 1;
        }
        (op, known)
    } else {
        match read_job(http, url, &key) {
            Ok(seen) => (Op::Read { seen }, true),
            // A read with no answer changed nothing: leave it out.
            Err(_) => return,
        }
    };
    let ret = known.then(|| shared.now());
    let is_write = !matches!(op, Op::Read { .. });
    if let (true, Some(t)) = (is_write, ret) {
        shared
            .write_acks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((call, t));
    }
    shared
        .history
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Event { key, op, call, ret });
}

/// Sends one write chosen by `roll` (below 35 a registration carrying `value`, below 45
/// a deregistration, else a scale to `count`); `None` when the server refused it before
/// handing it to Raft (it had no effect).
fn send_write(
    http: &Http,
    url: &str,
    key: &str,
    roll: u64,
    value: String,
    count: u64,
) -> Option<(Op, Result<Reply, String>)> {
    let (op, reply) = if roll < 35 {
        let reply = http.send(url, "PUT", "/v1/jobs", &job_body(key, &value));
        (Op::Register { value }, reply)
    } else if roll < 45 {
        let path = format!("/v1/job/{key}?purge=true");
        (Op::Deregister, http.send(url, "DELETE", &path, ""))
    } else {
        let body = serde_json::json!({"Count": count, "Target": {"Group": "g"}}).to_string();
        let reply = http.send(url, "POST", &format!("/v1/job/{key}/scale"), &body);
        let applied = matches!(reply, Ok(ref r) if r.status == 200);
        (Op::Scale { count, applied }, reply)
    };
    (!refused(&reply)).then_some((op, reply))
}

/// What the history records for a write and whether its outcome is known: a 200 is,
/// a scale's 404 is too (the job was absent), and a deregistration's 404 is a read that
/// found the job absent; anything else may or may not have taken effect.
fn settle(op: Op, reply: &Result<Reply, String>) -> (Op, bool) {
    let status = reply.as_ref().map_or(0, |r| r.status);
    match op {
        Op::Deregister if status == 404 => (Op::Read { seen: None }, true),
        Op::Scale { .. } => (op, status == 200 || status == 404),
        op => (op, status == 200),
    }
}

/// A short name for why a write's outcome is unknown (the status and the start of the
/// message, or the transport error), so the report says where unknown outcomes come
/// from.
fn unknown_reason(reply: &Result<Reply, String>) -> String {
    let head = |text: &str| -> String {
        let first = text.split([':', '(', '\n', ';']).next().unwrap_or("");
        first.trim().chars().take(60).collect()
    };
    match reply {
        Ok(r) => format!("{} {}", r.status, head(&String::from_utf8_lossy(&r.body))),
        Err(e) => head(e),
    }
}

/// Starts `n` workers; they run until `shared.stop` is set.
pub fn start(shared: &Arc<Shared>, n: usize, seed: u64) -> Vec<std::thread::JoinHandle<()>> {
    (0..n)
        .map(|w| {
            let shared = Arc::clone(shared);
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ ((w as u64 + 1) << 32));
                let mut seq = 0;
                while !shared.stop.load(Ordering::Relaxed) {
                    one_op(&shared, &mut rng, w, seq);
                    seq += 1;
                }
            })
        })
        .collect()
}
