//! Switching callgrind's instrumentation on and off from inside a bench program, so
//! one phase (c1m's churn) is counted exactly: run under
//! `valgrind --tool=callgrind --instr-atstart=no` with `C1M_CALLGRIND` set. Instruction
//! counts do not move with the load of a shared machine, timings do.
//!
//! This is valgrind's client request (`valgrind.h`'s `VALGRIND_DO_CLIENT_REQUEST` for
//! amd64): a sequence of rotations of `rdi` by 128 bits in all and an exchange of `rbx`
//! with itself, which valgrind recognizes and which does nothing on a real CPU.

/// `VG_USERREQ_TOOL_BASE('C', 'T')`: where callgrind's requests start.
const CALLGRIND_BASE: u64 = ((b'C' as u64) << 24) | ((b'T' as u64) << 16);

/// `CALLGRIND_START_INSTRUMENTATION`.
const START_INSTRUMENTATION: u64 = CALLGRIND_BASE + 4;

/// `CALLGRIND_STOP_INSTRUMENTATION`.
const STOP_INSTRUMENTATION: u64 = CALLGRIND_BASE + 5;

/// Starts (`true`) or stops callgrind's instrumentation; nothing outside valgrind or
/// off amd64.
pub fn instrument(on: bool) {
    let request = if on {
        START_INSTRUMENTATION
    } else {
        STOP_INSTRUMENTATION
    };
    client_request(request);
}

#[cfg(target_arch = "x86_64")]
fn client_request(request: u64) {
    let args: [u64; 6] = [request, 0, 0, 0, 0, 0];
    // SAFETY: the rotations leave `rdi` as it was (3 + 13 + 61 + 51 = 128 bits, and it
    // is declared clobbered anyway) and `xchg rbx, rbx` changes nothing; valgrind reads
    // the six words `rax` points to (alive for the whole statement) and writes only
    // `rdx`, its answer, which starts as the default answer 0.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") 0u64 => _,
            out("rdi") _,
            options(nostack),
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn client_request(_request: u64) {}
