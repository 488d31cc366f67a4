//! The caller's terminal during `alloc exec -t`: raw mode (restored on every way out),
//! its size and changes to it, and the escape sequence that leaves a session.

use std::os::fd::RawFd;

use tokio::sync::mpsc;

use super::{Outgoing, tty_size};

/// Whether `fd` is a terminal.
pub(super) fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// `fd`'s size as (rows, columns), when it is a terminal.
pub(super) fn size(fd: RawFd) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the valid pointer.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// The terminal in raw mode (keys go to the remote command as typed); the previous
/// mode comes back when this is dropped.
pub(super) struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Puts `fd` in raw mode; `None` when it is not a terminal.
    pub(super) fn enter(fd: RawFd) -> Option<RawMode> {
        if !is_tty(fd) {
            return None;
        }
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor and pointer.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw edits the struct in place; tcsetattr reads it.
        unsafe {
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSANOW, &raw) != 0 {
                return None;
            }
        }
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the mode read in `enter` on the same descriptor.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Sends a terminal-size frame on every SIGWINCH, until the session ends.
pub(super) fn forward_resizes(tx: mpsc::Sender<Outgoing>) {
    let Ok(mut winch) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
    else {
        return;
    };
    tokio::spawn(async move {
        while winch.recv().await.is_some() {
            if let Some(s) = size(1)
                && tx.send(Outgoing::Frame(tty_size(s))).await.is_err()
            {
                return;
            }
        }
    });
}

/// Recognizes `<escape>.` at the start of a line (leave) and `<escape><escape>` (one
/// escape character sent), as ssh and Nomad do.
pub(super) struct EscapeFilter {
    escape: Option<u8>,
    at_line_start: bool,
    pending: bool,
}

impl EscapeFilter {
    /// A filter for `escape` (`None`: everything passes).
    pub(super) fn new(escape: Option<u8>) -> EscapeFilter {
        EscapeFilter {
            escape,
            at_line_start: true,
            pending: false,
        }
    }

    /// The bytes to send of `input`, and whether the session should end.
    pub(super) fn filter(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let Some(esc) = self.escape else {
            return (input.to_vec(), false);
        };
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.pending {
                self.pending = false;
                if b == b'.' {
                    return (out, true);
                }
                if b != esc {
                    out.push(esc);
                }
                out.push(b);
            } else if b == esc && self.at_line_start {
                self.pending = true;
                continue;
            } else {
                out.push(b);
            }
            self.at_line_start = b == b'\r' || b == b'\n';
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::EscapeFilter;

    #[test]
    fn escape_dot_at_line_start_leaves_and_elsewhere_passes() {
        let mut f = EscapeFilter::new(Some(b'~'));
        assert_eq!(f.filter(b"a~.b"), (b"a~.b".to_vec(), false));
        assert_eq!(f.filter(b"\r~~x"), (b"\r~x".to_vec(), false));
        assert_eq!(f.filter(b"\n~."), (b"\n".to_vec(), true));
        let mut none = EscapeFilter::new(None);
        assert_eq!(none.filter(b"~."), (b"~.".to_vec(), false));
    }
}
