//! Any template text must render or fail with an error within the client's limits,
//! never panicking, recursing without bound or allocating without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orch_daemon::client::template::{ServiceEntry, TemplateContext, render};

struct Ctx;

impl TemplateContext for Ctx {
    fn env(&self, key: &str) -> Option<String> {
        (key == "NOMAD_ALLOC_INDEX").then(|| "1".to_string())
    }
    fn services(&self, _name: &str) -> Option<Vec<ServiceEntry>> {
        Some(vec![ServiceEntry::default(), ServiceEntry::default()])
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = render(text, "", "", &Ctx);
    }
});
