//! The Docker Engine API client of the docker driver: `bollard` over the engine's unix
//! socket, driven from the synchronous [`Driver`](crate::client::driver::Driver) calls.
//!
//! The driver owns a small tokio runtime (one worker thread) rather than borrowing the
//! client's: driver calls arrive on `spawn_blocking` threads, but the first fingerprint
//! runs inside `Client::new` on an async worker, where `Handle::block_on` would panic.
//! Every request is spawned onto the driver's runtime and its result sent back over a
//! channel, which works from any thread; the log pumps live on the same runtime.
//!
//! The API version is negotiated on first contact (Docker 20.10 speaks 1.41, newer
//! engines refuse clients that old), and again after the engine was unreachable.

use std::future::Future;
use std::sync::{Arc, Mutex};

use bollard::{API_DEFAULT_VERSION, Docker};

/// Seconds the engine may take to answer a request (streams excepted).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Why an engine call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// No engine answers at the endpoint.
    #[error(
        "cannot reach the Docker Engine at {endpoint}: {message}; start the engine or set plugin \"docker\" {{ config {{ endpoint }} }}"
    )]
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// The transport's error.
        message: String,
    },
    /// The engine answered with an error status.
    #[error("the Docker Engine answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The engine's message.
        message: String,
    },
    /// Anything else (a broken stream, an undecodable answer).
    #[error("Docker Engine request failed: {0}")]
    Other(String),
}

impl EngineError {
    /// The engine said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EngineError::Api { status: 404, .. })
    }

    fn from_bollard(endpoint: &str, e: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::Api {
                status: status_code,
                message,
            },
            B::DockerStreamError { error } => EngineError::Api {
                status: 500,
                message: error,
            },
            B::SocketNotFoundError(p) => EngineError::Unreachable {
                endpoint: endpoint.to_string(),
                message: format!("no socket at {p}"),
            },
            B::HyperResponseError { .. }
            | B::HyperLegacyError { .. }
            | B::IOError { .. }
            | B::RequestTimeoutError => EngineError::Unreachable {
                endpoint: endpoint.to_string(),
                message: e.to_string(),
            },
            other => EngineError::Other(other.to_string()),
        }
    }
}

/// A connection to one engine, usable from synchronous code.
pub struct Engine {
    endpoint: String,
    socket: String,
    runtime: Option<tokio::runtime::Runtime>,
    client: Mutex<Option<Docker>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside an async context.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Engine {
    /// An engine at `endpoint` (`unix:///path`); nothing is contacted yet.
    pub fn new(endpoint: &str) -> Result<Arc<Engine>, String> {
        let socket = super::options::DockerOptions::socket_path(endpoint)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("docker-driver")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the docker driver's runtime: {e}"))?;
        Ok(Arc::new(Engine {
            endpoint: endpoint.to_string(),
            socket,
            runtime: Some(runtime),
            client: Mutex::new(None),
        }))
    }

    /// The unix socket's path (`alloc exec` opens its own connection to it).
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// The endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs `fut` on the driver's runtime and waits for it (from any thread).
    pub fn block<T, F>(&self, fut: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, EngineError>> + Send + 'static,
    {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| EngineError::Other("the docker driver is shutting down".into()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| EngineError::Other("the docker driver's runtime stopped".into()))?
    }

    /// Spawns a background task (log pumps) on the driver's runtime.
    pub fn spawn<F>(&self, fut: F) -> Option<tokio::task::JoinHandle<()>>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.as_ref().map(|rt| rt.spawn(fut))
    }

    /// The negotiated client, connecting first when needed.
    pub fn client(&self) -> Result<Docker, EngineError> {
        if let Some(c) = self.lock().clone() {
            return Ok(c);
        }
        let (socket, endpoint) = (self.socket.clone(), self.endpoint.clone());
        let docker = self.block(async move {
            let d = Docker::connect_with_unix(&socket, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                .map_err(|e| EngineError::from_bollard(&endpoint, e))?;
            d.negotiate_version()
                .await
                .map_err(|e| EngineError::from_bollard(&endpoint, e))
        })?;
        *self.lock() = Some(docker.clone());
        Ok(docker)
    }

    /// Forgets the connection, so the next call negotiates again (the engine may have
    /// been replaced by another version while it was away).
    pub fn reset(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Docker>> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one request built by `f` with the negotiated client and waits for it.
    pub fn call<T, F, Fut>(&self, f: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(Docker) -> Fut,
        Fut: Future<Output = Result<T, bollard::errors::Error>> + Send + 'static,
    {
        let fut = f(self.client()?);
        let endpoint = self.endpoint.clone();
        let r = self.block(async move {
            fut.await
                .map_err(|e| EngineError::from_bollard(&endpoint, e))
        });
        if matches!(r, Err(EngineError::Unreachable { .. })) {
            self.reset();
        }
        r
    }
}
