//! The agent's log lines for `/v1/agent/monitor` (`orch monitor`): a tracing layer that
//! formats each event once and broadcasts it to the monitors attached, each at its
//! own level, which may be more verbose than the agent's `log_level` (Nomad's monitor
//! can ask a running agent for `debug` lines).
//!
//! With no monitor attached the layer's filter is `off`, so it costs nothing; attaching
//! one raises it to the most verbose level any monitor asked for, and detaching lowers
//! it again (`tracing_subscriber::reload` rebuilds the callsite interest cache).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};

/// Lines buffered per monitor; a monitor that falls further behind skips lines (and is
/// told how many).
pub const MONITOR_BUFFER: usize = 4096;

/// One formatted log line and its level.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// The event's level.
    pub level: Level,
    /// `2026-01-01T00:00:00.000Z [INFO]  target: message key=value`.
    pub text: String,
}

/// The broadcast of this process's log lines.
struct Hub {
    lines: broadcast::Sender<Arc<LogLine>>,
    /// The level each attached monitor asked for.
    attached: Mutex<Vec<LevelFilter>>,
    /// Sets the layer's filter (the reload handle, type-erased).
    set_filter: Box<dyn Fn(LevelFilter) + Send + Sync>,
}

static HUB: OnceLock<Hub> = OnceLock::new();

/// The layer to install beside the agent's stderr logging; `None` when one was already
/// installed in this process (a second agent in one test process).
pub fn layer<S>() -> Option<impl Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let (filter, handle) = tracing_subscriber::reload::Layer::new(LevelFilter::OFF);
    let (lines, _) = broadcast::channel(MONITOR_BUFFER);
    let hub = Hub {
        lines,
        attached: Mutex::new(Vec::new()),
        set_filter: Box::new(move |level| {
            let _ = handle.modify(|f| *f = level);
        }),
    };
    HUB.set(hub).ok()?;
    Some(Broadcast.with_filter(filter))
}

/// A monitor attached to the log: receives every line at or above `level` until
/// dropped.
pub struct Monitor {
    level: LevelFilter,
    rx: broadcast::Receiver<Arc<LogLine>>,
}

/// Why no monitor could be attached.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// Logging was set up without the monitor layer (not through `orch agent`).
    #[error("this process does not publish its log lines; monitor an `orch agent`")]
    Unavailable,
}

impl Monitor {
    /// Attaches a monitor at `level`.
    pub fn attach(level: LevelFilter) -> Result<Monitor, MonitorError> {
        let hub = HUB.get().ok_or(MonitorError::Unavailable)?;
        let rx = hub.lines.subscribe();
        let mut attached = hub.attached.lock().unwrap_or_else(|e| e.into_inner());
        attached.push(level);
        (hub.set_filter)(attached.iter().copied().max().unwrap_or(LevelFilter::OFF));
        Ok(Monitor { level, rx })
    }

    /// The next line at this monitor's level; `Err(n)` when `n` lines were skipped
    /// because this monitor fell behind, `None` once the log is closed.
    pub async fn next(&mut self) -> Option<Result<Arc<LogLine>, u64>> {
        loop {
            match self.rx.recv().await {
                Ok(line) if self.level >= line.level => return Some(Ok(line)),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => return Some(Err(n)),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let Some(hub) = HUB.get() else {
            return;
        };
        let mut attached = hub.attached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = attached.iter().position(|l| *l == self.level) {
            attached.swap_remove(i);
        }
        (hub.set_filter)(attached.iter().copied().max().unwrap_or(LevelFilter::OFF));
    }
}

/// Nomad's `log_level` names (any case) as a filter.
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    Some(match name.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" => LevelFilter::WARN,
        "err" | "error" => LevelFilter::ERROR,
        "off" => LevelFilter::OFF,
        _ => return None,
    })
}

/// The layer: formats an event and sends it when a monitor listens.
struct Broadcast;

impl<S: Subscriber> Layer<S> for Broadcast {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(hub) = HUB.get() else {
            return;
        };
        if hub.lines.receiver_count() == 0 {
            return;
        }
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = format!("[{}]", meta.level());
        let mut text = format!(
            "{} {level:<7} {}: {}",
            crate::clock::rfc3339_nanos(crate::clock::now_nanos()),
            meta.target(),
            fields.message
        );
        text.push_str(&fields.rest);
        let _ = hub.lines.send(Arc::new(LogLine {
            level: *meta.level(),
            text,
        }));
    }
}

/// An event's message and its other fields as ` key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nomads_level_names_parse_in_any_case() {
        assert_eq!(parse_level("DEBUG"), Some(LevelFilter::DEBUG));
        assert_eq!(parse_level("err"), Some(LevelFilter::ERROR));
        assert_eq!(parse_level("loud"), None);
    }
}
