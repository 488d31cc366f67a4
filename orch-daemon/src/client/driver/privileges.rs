//! Dropping an isolated task's privileges in the init stage, after the chroot and just
//! before `execve`: the capability sets, the user, and `PR_SET_NO_NEW_PRIVS`.
//!
//! Order matters. Capabilities outside the task's set leave the bounding set first (that
//! needs `CAP_SETPCAP`, which root still has); `PR_SET_KEEPCAPS` keeps the permitted set
//! across `setuid`; after the user switch `capset` makes effective, permitted and
//! inheritable exactly the task's set, and the same set is raised in the ambient set so
//! a non-root task keeps it across `execve` (as Nomad's exec driver does through
//! libcontainer). Last, no-new-privs: from then on no setuid binary or file capability
//! can add anything.

use std::io;

use super::caps::{CapSet, last_cap};
use super::shim::UserIds;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two 32-bit halves.
const CAP_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn errno(what: String) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

fn prctl(
    option: libc::c_int,
    arg: libc::c_ulong,
    what: impl FnOnce() -> String,
) -> Result<(), String> {
    // SAFETY: prctl with integer arguments only.
    if unsafe {
        libc::prctl(
            option,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    } != 0
    {
        return Err(errno(what()));
    }
    Ok(())
}

/// Sets effective, permitted and inheritable to `caps` for this thread.
fn capset(caps: CapSet) -> Result<(), String> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let half = |shift: u32| ((caps.0 >> shift) & 0xffff_ffff) as u32;
    let data = [
        CapData {
            effective: half(0),
            permitted: half(0),
            inheritable: half(0),
        },
        CapData {
            effective: half(32),
            permitted: half(32),
            inheritable: half(32),
        },
    ];
    // SAFETY: header and data are the kernel's v3 layout, alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r != 0 {
        return Err(errno(format!(
            "cannot set the task's capabilities ({})",
            caps.names().join(",")
        )));
    }
    Ok(())
}

/// Drops everything but `caps`, switches to `user` (if any) and sets no-new-privs.
pub fn drop_privileges(user: Option<UserIds>, caps: CapSet) -> Result<(), String> {
    for cap in 0..=last_cap() {
        if !caps.contains(cap) {
            prctl(libc::PR_CAPBSET_DROP, cap.into(), || {
                format!("cannot drop capability {cap} from the bounding set")
            })?;
        }
    }
    prctl(libc::PR_SET_KEEPCAPS, 1, || {
        "cannot keep capabilities across the user switch".into()
    })?;
    if let Some(u) = user {
        // SAFETY: plain credential syscalls; groups first, uid last (after it we could
        // not change the others).
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0 {
                return Err(errno("cannot drop supplementary groups".into()));
            }
            if libc::setgid(u.gid) != 0 {
                return Err(errno(format!("cannot switch to gid {}", u.gid)));
            }
            if libc::setuid(u.uid) != 0 {
                return Err(errno(format!("cannot switch to uid {}", u.uid)));
            }
        }
    }
    capset(caps)?;
    let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong;
    prctl(libc::PR_CAP_AMBIENT, clear, || {
        "cannot clear the ambient capabilities".into()
    })?;
    for cap in 0..=last_cap() {
        if caps.contains(cap) {
            raise_ambient(cap)?;
        }
    }
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, || {
        "cannot set no_new_privs".into()
    })
}

fn raise_ambient(cap: u32) -> Result<(), String> {
    let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            raise,
            libc::c_ulong::from(cap),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r != 0 {
        return Err(errno(format!(
            "cannot raise capability {cap} in the ambient set"
        )));
    }
    Ok(())
}
