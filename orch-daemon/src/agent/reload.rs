//! SIGHUP: what a running agent reloads. Nomad reloads its TLS certificates (and some
//! logging settings) on SIGHUP; orch reloads the certificate and key of the `tls` block,
//! so short-lived certificates can be rotated without a restart. Without a handler the
//! signal's default action would end the agent, which no Nomad operator expects.

use std::sync::Arc;

use crate::tls::TlsSetup;

/// Starts listening for SIGHUP at once (a signal sent right after start-up is not
/// lost) and reloads `tls` on each. Errors are logged and the old certificate kept.
pub fn reload_on_sighup(tls: Option<Arc<TlsSetup>>) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup =
        signal(SignalKind::hangup()).map_err(|e| format!("cannot handle SIGHUP (reload): {e}"))?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match &tls {
                None => tracing::info!("SIGHUP: nothing to reload (no tls block in use)"),
                Some(t) => match t.reload() {
                    Ok(()) => tracing::info!(
                        "SIGHUP: reloaded the TLS certificate and key; new connections use them (a changed CA needs a restart)"
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "SIGHUP: TLS reload failed; the old certificate stays in use")
                    }
                },
            }
        }
    });
    Ok(())
}
