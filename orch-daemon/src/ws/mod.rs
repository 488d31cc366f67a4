//! Websockets for every layer: the client side of a connection (the CLI's `alloc exec`,
//! and an agent forwarding an exec session to the node's agent) and Nomad's exec frame
//! protocol ([`exec_frames`]), which both sides and the agent's handler speak.
//!
//! The connection is made by hand (TCP, then TLS through tokio-rustls with the caller's
//! own rustls config, then the websocket handshake) because reqwest does not do
//! websockets and tokio-tungstenite's TLS features would pull a second TLS stack.

pub mod exec_frames;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Anything a websocket can run over (a TCP stream, or TLS over one).
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// A connected client websocket.
pub type ClientSocket = WebSocketStream<Box<dyn Transport>>;

/// The longest a connection and its handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a websocket could not be opened; the message says where and what to check.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The URL is not `http(s)://host:port/...`.
    #[error("invalid websocket address {url:?}: {reason}")]
    Url {
        /// The address.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// TCP or TLS failed.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The error.
        reason: String,
    },
    /// The server refused the upgrade (an HTTP error status, with its body).
    #[error("{0}")]
    Refused(String),
}

/// Opens a websocket to `url` (`http://` or `https://`, as the API address is written),
/// sending `headers` with the upgrade request. `tls` is the config for `https`; `None`
/// there trusts the platform's roots.
pub async fn connect(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    headers: &[(&str, String)],
) -> Result<ClientSocket, WsError> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_now(url, tls, headers))
        .await
        .unwrap_or_else(|_| {
            Err(WsError::Connect {
                addr: url.to_string(),
                reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            })
        })
}

async fn connect_now(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    headers: &[(&str, String)],
) -> Result<ClientSocket, WsError> {
    let bad = |reason: &str| WsError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    let secure = match parsed.scheme() {
        "http" | "ws" => false,
        "https" | "wss" => true,
        _ => return Err(bad("expected http:// or https://")),
    };
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?.to_string();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| bad("no port"))?;
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addr = format!("{host}:{port}");
    let connect_err = |reason: String| WsError::Connect {
        addr: addr.clone(),
        reason,
    };
    let tcp = tokio::net::TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|e| connect_err(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Transport> = if secure {
        let config = tls.unwrap_or_else(|| Arc::new(crate::tls::platform_config()));
        let name = rustls::pki_types::ServerName::try_from(bare_host.clone())
            .map_err(|e| bad(&format!("host is not a TLS server name: {e}")))?;
        let tls_stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| connect_err(format!("TLS: {e}")))?;
        Box::new(tls_stream)
    } else {
        Box::new(tcp)
    };
    let mut ws_url = parsed.clone();
    let _ = ws_url.set_scheme(if secure { "wss" } else { "ws" });
    let mut request = ws_url
        .as_str()
        .into_client_request()
        .map_err(|e| bad(&e.to_string()))?;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value)
            .map_err(|_| bad(&format!("header {name} has characters HTTP cannot carry")))?;
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(&format!("bad header name {name}")))?;
        request.headers_mut().insert(name, value);
    }
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default();
            Err(WsError::Refused(format!(
                "Unexpected response code: {} ({body})",
                resp.status().as_u16()
            )))
        }
        Err(e) => Err(connect_err(format!("websocket handshake: {e}"))),
    }
}
