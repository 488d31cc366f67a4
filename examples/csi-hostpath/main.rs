//! `orch-csi-hostpath`: a host-path CSI plugin written to the CSI v1 spec, to run orch's
//! CSI support against and for single-node users. Volumes and snapshots are
//! directories under `--state-dir`; staging and publishing are bind mounts. Run by orch
//! as a job with a `csi_plugin` block (Nomad tells it its socket in `CSI_ENDPOINT`).
//!
//! Modules: `flags` (command line), `plugin` (the services), `controller` (volumes and
//! snapshots), `node` (mounts), `store` (the state directory and ID rules),
//! `capability` (what is supported), `mounts` (mount(2) and the mount table).

mod capability;
mod controller;
mod flags;
mod mounts;
mod node;
mod plugin;
mod store;

use std::process::ExitCode;
use std::sync::Arc;

use controller::Controller;
use node::Node;
use plugin::HostPath;
use store::Store;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let cfg = match flags::parse(
        std::env::args().skip(1),
        std::env::var("CSI_ENDPOINT").ok(),
        hostname,
    ) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            println!("{}", flags::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("orch-csi-hostpath: {message}\n\n{}", flags::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("orch-csi-hostpath: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("orch-csi-hostpath: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the state directory and serves until SIGTERM or SIGINT.
async fn run(cfg: flags::Config) -> Result<(), String> {
    let store = Store::open(&cfg.state_dir).map_err(|err| {
        format!(
            "cannot prepare --state-dir {}: {err}",
            cfg.state_dir.display()
        )
    })?;
    let plugin = HostPath::new(
        cfg.mode,
        Controller::new(store.clone(), cfg.node_id.clone()),
        Node::new(store, cfg.node_id.clone(), cfg.max_volumes),
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|err| format!("cannot watch SIGTERM: {err}"))?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutting down");
    };
    tracing::info!(
        socket = %cfg.socket.display(),
        node = %cfg.node_id,
        mode = ?cfg.mode,
        state_dir = %cfg.state_dir.display(),
        "serving CSI"
    );
    orch_daemon::csi::serve(&cfg.socket, Arc::new(plugin), shutdown)
        .await
        .map_err(|err| err.to_string())
}

/// The hostname, the default node ID.
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname NUL-terminates
    // within it on success (we still stop at the end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..len]).ok().map(str::to_string)
}
