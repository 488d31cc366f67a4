//! Any byte string fed to the HCL jobspec parser must yield a job or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = orch_core::jobspec::parse_jobspec("fuzz.nomad.hcl", text, &Default::default());
    }
});
