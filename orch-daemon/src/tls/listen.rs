//! Serving a router over plain TCP or TLS, with the caller's verified certificate
//! available to handlers as `ConnectInfo<PeerInfo>` (the Raft routes' role check reads
//! it, see [`super::guard`]).
//!
//! Handshakes run in their own tasks, each within [`HANDSHAKE_TIMEOUT`], so a slow or
//! hostile caller never holds up the accept loop; a refused handshake (no certificate,
//! one from another CA, plain HTTP) is logged and the connection dropped. Under
//! `rpc_upgrade_mode` ([`ListenTls::allow_plain`]) a connection whose first byte is not
//! a TLS handshake record is served in plain instead, as Nomad's upgrade mode does.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a caller has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The caller's address.
    pub remote: SocketAddr,
    /// The caller's certificate chain, verified against the CA by the handshake; `None`
    /// on plain TCP or when the listener does not ask for one.
    pub certs: Option<Arc<Vec<CertificateDer<'static>>>>,
    /// The connection is a plain one on a TLS listener (`rpc_upgrade_mode`).
    pub plain_on_tls: bool,
}

/// A listener's TLS: the rustls config, and whether plain connections are served too.
#[derive(Debug, Clone)]
pub struct ListenTls {
    /// Handshake settings and this agent's certificate.
    pub config: Arc<rustls::ServerConfig>,
    /// Serve connections that do not start a TLS handshake in plain (upgrade mode).
    pub allow_plain: bool,
}

/// A served connection: TLS-terminated, or plain under upgrade mode.
pub enum Conn {
    /// After a completed handshake.
    Tls(Box<TlsStream<TcpStream>>),
    /// A caller that spoke plain HTTP to an upgrade-mode listener.
    Plain(TcpStream),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> PeerInfo {
        PeerInfo {
            remote: *stream.remote_addr(),
            certs: None,
            plain_on_tls: false,
        }
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> PeerInfo {
        let remote = *stream.remote_addr();
        match stream.io() {
            Conn::Tls(tls) => PeerInfo {
                remote,
                certs: tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| Arc::new(c.iter().map(|c| c.clone().into_owned()).collect())),
                plain_on_tls: false,
            },
            Conn::Plain(_) => PeerInfo {
                remote,
                certs: None,
                plain_on_tls: true,
            },
        }
    }
}

/// A TCP listener whose connections come out TLS-terminated.
pub struct TlsListener {
    ready: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` and handshaking with `tls`. The accept task ends
    /// (and the port is released) when this listener is dropped.
    pub fn new(tcp: TcpListener, tls: ListenTls) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let allow_plain = tls.allow_plain;
        let acceptor = TlsAcceptor::from(tls.config);
        tokio::spawn(async move {
            loop {
                let (stream, remote) = tokio::select! {
                    _ = tx.closed() => return,
                    r = tcp.accept() => match r {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::debug!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let handshake = async {
                        if allow_plain && !starts_tls(&stream).await {
                            return Ok(Conn::Plain(stream));
                        }
                        acceptor
                            .accept(stream)
                            .await
                            .map(|s| Conn::Tls(Box::new(s)))
                    };
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(conn)) => {
                            let _ = tx.send((conn, remote)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::info!(%remote, error = %e, "TLS handshake refused");
                        }
                        Err(_) => tracing::info!(%remote, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

/// Whether the caller's first byte opens a TLS handshake record (content type 22).
async fn starts_tls(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 0x16)
}

impl Listener for TlsListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends once this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Serves `app` on `tcp` until `shutdown` resolves: over TLS with `tls`, else plain.
/// Either way handlers see a `ConnectInfo<PeerInfo>`.
pub async fn serve(
    tcp: TcpListener,
    tls: Option<ListenTls>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = app.into_make_service_with_connect_info::<PeerInfo>();
    match tls {
        Some(config) => {
            axum::serve(TlsListener::new(tcp, config)?, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(tcp, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
