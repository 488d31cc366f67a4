//! `GET /v1/client/allocation/:id/exec`: `alloc exec` over a websocket, with Nomad's
//! frame protocol ([`crate::ws::exec_frames`]).
//!
//! The agent whose client runs the allocation starts the command
//! ([`crate::client::exec::Session`]); any other agent relays the websocket to that
//! agent, as the other client calls are forwarded. Query: `command` (a JSON array of
//! strings), `task`, `tty`, and `ws_handshake`: then the first message carries the
//! token (`{"version":1,"auth_token":"..."}`), for browsers, which cannot set headers
//! on a websocket. Needs `alloc-exec`, and `alloc-node-exec` for drivers that run
//! commands on the host itself (raw_exec), as Nomad.
//!
//! Errors found before the upgrade are HTTP errors; after it, a close frame whose
//! reason is the message (1008 for refusals, 1011 when the command failed to start).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path as UrlPath, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::SinkExt;
use orch_core::acl::NsCap;

use super::client_acl::{Caller, ClientAcl};
use super::client_fs::{ClientHttp, Target, bool_param, target};
use super::query::ApiError;
use crate::client::driver::ExecTarget;
use crate::client::exec::{Session, SessionEvent};
use crate::ws::exec_frames::{ExecInput, ExecOutput, Handshake};

/// The largest message accepted from the caller (stdin arrives in small chunks).
const MAX_MESSAGE: usize = 1 << 20;
/// The longest command line accepted (arguments and their JSON quoting).
const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// How long the handshake message may take to arrive.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Close codes (RFC 6455): a refusal, and a failure on the agent's side.
const CLOSE_POLICY: u16 = 1008;
const CLOSE_ERROR: u16 = 1011;

/// The exec route.
pub fn routes() -> Router<Arc<ClientHttp>> {
    Router::new().route("/v1/client/allocation/{alloc}/exec", get(exec))
}

/// What the query asks for.
#[derive(Debug, Clone)]
struct ExecParams {
    command: Vec<String>,
    task: String,
    tty: bool,
    handshake: bool,
}

fn parse_params(q: &BTreeMap<String, String>) -> Result<ExecParams, ApiError> {
    let raw = q
        .get("command")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("command: required, a JSON array of strings"))?;
    if raw.len() > MAX_COMMAND_BYTES {
        return Err(ApiError::bad_request(format!(
            "command: longer than {MAX_COMMAND_BYTES} bytes"
        )));
    }
    let command: Vec<String> = serde_json::from_str(raw).map_err(|e| {
        ApiError::bad_request(format!("command: expected a JSON array of strings: {e}"))
    })?;
    if command.first().is_none_or(|c| c.is_empty()) {
        return Err(ApiError::bad_request("command: must name a program"));
    }
    Ok(ExecParams {
        command,
        task: q.get("task").cloned().unwrap_or_default(),
        tty: bool_param(q, "tty")?,
        handshake: bool_param(q, "ws_handshake")?,
    })
}

async fn exec(
    State(ch): State<Arc<ClientHttp>>,
    UrlPath(alloc): UrlPath<String>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let params = match parse_params(&q) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let caller = Caller::of(&req);
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (mut parts, _) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    // Without a handshake the caller is known now: refuse over HTTP, before upgrading.
    let found = if params.handshake {
        None
    } else {
        match authorize(&ch, &caller, &alloc).await {
            Ok(t) => Some(t),
            Err(e) => return e.into_response(),
        }
    };
    upgrade
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let call = Call {
                ch,
                alloc,
                params,
                caller,
                path,
            };
            call.run(socket, found).await;
        })
}

/// One exec call after the upgrade.
struct Call {
    ch: Arc<ClientHttp>,
    alloc: String,
    params: ExecParams,
    caller: Caller,
    /// The request's path and query, for relaying.
    path: String,
}

impl Call {
    async fn run(mut self, mut socket: WebSocket, found: Option<Target>) {
        let mut handshake = None;
        let found = match found {
            Some(t) => t,
            None => {
                let h = match read_handshake(&mut socket).await {
                    Ok(h) => h,
                    Err(e) => return close(socket, CLOSE_POLICY, &e).await,
                };
                if let Err(e) = self.adopt_token(&h.auth_token) {
                    return close(socket, CLOSE_POLICY, &e.message).await;
                }
                handshake = Some(h);
                match authorize(&self.ch, &self.caller, &self.alloc).await {
                    Ok(t) => t,
                    Err(e) => return close(socket, CLOSE_POLICY, &e.message).await,
                }
            }
        };
        match found {
            Target::Local(client) => self.run_local(socket, &client).await,
            Target::Remote(addr) => self.relay(socket, &addr, handshake).await,
        }
    }

    /// Takes the handshake's token as the caller's.
    fn adopt_token(&mut self, token: &str) -> Result<(), ApiError> {
        if token.is_empty() {
            return Ok(());
        }
        self.caller.secret = Some(token.to_string());
        if let ClientAcl::Local(state) = &self.ch.acl {
            self.caller.authz = super::auth::authz_for_secret(state, Some(token))?;
        }
        Ok(())
    }

    async fn run_local(self, socket: WebSocket, client: &crate::client::Client) {
        let target = match client.exec_target(&self.alloc, &self.params.task).await {
            None => return close(socket, CLOSE_POLICY, "Unknown allocation").await,
            Some(Err(e)) => return close(socket, CLOSE_POLICY, &e).await,
            Some(Ok(t)) => t,
        };
        if matches!(target, ExecTarget::Host { .. })
            && let Err(e) = self
                .ch
                .acl
                .check_alloc(&self.caller, &self.alloc, NsCap::AllocNodeExec)
                .await
        {
            return close(socket, CLOSE_POLICY, &e.message).await;
        }
        match Session::start(target, self.params.command.clone(), self.params.tty).await {
            Ok(session) => stream_session(socket, session).await,
            Err(e) => close(socket, CLOSE_ERROR, &e.to_string()).await,
        }
    }

    /// Relays the websocket to the agent of the allocation's node.
    async fn relay(self, socket: WebSocket, addr: &str, handshake: Option<Handshake>) {
        let url = self.ch.http.url(addr, &self.path);
        let mut headers = self.ch.http.default_headers();
        if let Some(secret) = &self.caller.secret {
            headers.push((super::auth::TOKEN_HEADER, secret.clone()));
        }
        let mut far = match crate::ws::connect(&url, self.ch.http.tls_config(), &headers).await {
            Ok(f) => f,
            Err(e) => return close(socket, CLOSE_ERROR, &e.to_string()).await,
        };
        if let Some(h) = handshake {
            let text = serde_json::to_string(&h).unwrap_or_default();
            if far.send(relay::Far::Text(text.into())).await.is_err() {
                return close(socket, CLOSE_ERROR, "the node's agent closed the session").await;
            }
        }
        relay::pipe(socket, far).await;
    }
}

mod relay;

/// Whether the caller may exec in `alloc`, and where it runs.
async fn authorize(ch: &ClientHttp, caller: &Caller, alloc: &str) -> Result<Target, ApiError> {
    ch.acl.check_alloc(caller, alloc, NsCap::AllocExec).await?;
    target(ch, alloc)
}

/// Reads the first message under `ws_handshake`.
async fn read_handshake(socket: &mut WebSocket) -> Result<Handshake, String> {
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, socket.recv())
        .await
        .map_err(|_| "no handshake message within 30s".to_string())?;
    let text = match first {
        Some(Ok(Message::Text(t))) => t.to_string(),
        Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
        _ => return Err("the connection ended before the handshake".into()),
    };
    let h: Handshake =
        serde_json::from_str(&text).map_err(|e| format!("invalid handshake message: {e}"))?;
    if h.version != 1 {
        return Err(format!("unexpected handshake value: {}", h.version));
    }
    Ok(h)
}

/// Carries frames between the caller and the session until the command exits or the
/// caller leaves (dropping the session then kills the command).
async fn stream_session(mut socket: WebSocket, mut session: Session) {
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    if let Err(e) = feed(&mut session, t.as_bytes()).await {
                        return close(socket, CLOSE_POLICY, &e).await;
                    }
                }
                Some(Ok(Message::Binary(b))) => {
                    if let Err(e) = feed(&mut session, &b).await {
                        return close(socket, CLOSE_POLICY, &e).await;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            },
            event = session.next_event() => {
                let (frame, last) = match event {
                    Some(SessionEvent::Stdout(d)) => (ExecOutput::stdout(d), false),
                    Some(SessionEvent::Stderr(d)) => (ExecOutput::stderr(d), false),
                    Some(SessionEvent::Exited(code)) => (ExecOutput::exited(code), true),
                    None => (ExecOutput::exited(-1), true),
                };
                let text = serde_json::to_string(&frame).unwrap_or_default();
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
                if last {
                    return close(socket, 1000, "").await;
                }
            }
        }
    }
}

/// Applies one caller frame to the session.
async fn feed(session: &mut Session, frame: &[u8]) -> Result<(), String> {
    let input: ExecInput =
        serde_json::from_slice(frame).map_err(|e| format!("invalid exec frame: {e}"))?;
    if let Some(op) = input.stdin {
        if !op.data.is_empty() {
            session.write_stdin(&op.data).await;
        }
        if op.close {
            session.close_stdin().await;
        }
    }
    if let Some(size) = input.tty_size {
        session.resize(size).await;
    }
    Ok(())
}

/// Ends the websocket with `code` and `reason` (cut to the 123 bytes a close frame
/// holds).
async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..cut].into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    let _ = socket.flush().await;
    // RFC 6455: the side that closes waits for the peer's Close before the connection
    // ends. Dropping it at once would answer frames the caller sent meanwhile (its stdin
    // close, a heartbeat) with a TCP reset, which can discard the output and exit code
    // the caller has not read yet.
    let drain = async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
}

/// How long a closing session waits for the caller's Close.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
