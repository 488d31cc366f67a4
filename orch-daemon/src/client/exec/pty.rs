//! The pseudo-terminal of an `alloc exec -t` session on the host side: opening one,
//! its size, and copying what the command writes to it into session events.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::sync::mpsc;

use super::{CHUNK, SessionEvent};
use crate::ws::exec_frames::TerminalSize;

/// A new terminal: (the session's end, the command's end).
pub(super) fn open() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the out pointers; name, termios and
    // winsize may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openpty succeeded: both descriptors are open and owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        // SAFETY: fcntl on a descriptor we own; the child gets the slave through dup2,
        // which clears close-on-exec on the copy.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok((master, slave))
}

/// Sets the terminal's size (the command gets SIGWINCH). Zero sizes are ignored.
pub(super) fn set_size(master: &OwnedFd, size: TerminalSize) {
    if size.height == 0 || size.width == 0 {
        return;
    }
    let ws = libc::winsize {
        ws_row: size.height,
        ws_col: size.width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the valid pointer.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// Copies the terminal's output into events until the command's side is closed (a
/// read then fails with EIO), on a blocking thread: a terminal is not pollable through
/// tokio's file type.
pub(super) fn pump(master: OwnedFd, tx: mpsc::Sender<SessionEvent>) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::from(master);
        let mut buf = vec![0u8; CHUNK];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(SessionEvent::Stdout(buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    })
}
