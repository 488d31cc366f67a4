//! A metrics file the test controls, served over HTTP, and a real Prometheus scraping it:
//! what the autoscaler tests and the metric-gated update tests query.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_for};

/// A child process killed when the test ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's Prometheus, if installed (`.ci/run` installs it).
pub fn prometheus_binary() -> Option<&'static str> {
    ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Waits until `url` answers a 2xx.
pub fn wait_http(url: &str) {
    wait_for(Duration::from_secs(60), url, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            orch_daemon::tls::http_client()
                .get(url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .map(|_| ())
    });
}

/// Serves `www` with python's http.server on a free loopback port, once `file` in it
/// answers; the server and its port.
pub fn serve_dir(www: &Path, file: &str) -> (Proc, u16) {
    let port = free_port();
    let web = Proc(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(www)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server"),
    );
    wait_http(&format!("http://127.0.0.1:{port}/{file}"));
    (web, port)
}

/// Starts `prom_bin` on `port` with its data under `dir`, scraping every second with
/// `scrape_configs` (YAML list items, indented two spaces), once it is ready.
pub fn start_prometheus(prom_bin: &str, dir: &Path, port: u16, scrape_configs: &str) -> Proc {
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n{scrape_configs}"),
    )
    .unwrap();
    let prom = Proc(
        Command::new(prom_bin)
            .args([
                &format!("--config.file={}", cfg.display()),
                &format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
                &format!("--web.listen-address=127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    wait_http(&format!("http://127.0.0.1:{port}/-/ready"));
    prom
}
