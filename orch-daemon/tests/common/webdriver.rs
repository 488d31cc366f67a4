//! A small WebDriver client for the browser tests: Debian's `chromedriver` driving a
//! headless `chromium`, over the W3C WebDriver protocol (JSON over HTTP), with the
//! reqwest the crate already has. A crate (fantoccini, thirtyfour) would pull in its own
//! HTTP stack for the dozen calls the tests make; these are those calls.
//!
//! Every wait polls with a deadline and fails with what it waited for; nothing sleeps a
//! fixed time. Dropping the [`Browser`] ends the session (chromium quits) and kills
//! chromedriver's process group.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An executable on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A headless chromium driven through chromedriver.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
    shots: PathBuf,
    log: PathBuf,
}

impl Browser {
    /// Starts chromedriver on `port` and a headless chromium session; screenshots go
    /// to `shots`. Panics, saying what to install, when chromedriver or chromium is
    /// missing (the tests must not pass silently without a browser).
    pub fn start(port: u16, shots: &Path) -> Browser {
        let driver_exe = on_path("chromedriver").unwrap_or_else(|| {
            panic!(
                "chromedriver is not installed: the web UI tests drive a real browser. \
                 Install Debian's chromium and chromium-driver \
                 (apt-get install -y chromium chromium-driver; .ci/run does this)"
            )
        });
        let chromium = on_path("chromium").unwrap_or_else(|| {
            panic!("chromium is not installed: apt-get install -y chromium chromium-driver")
        });
        std::fs::create_dir_all(shots).unwrap();
        let log_path = shots.join(format!("chromedriver-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let driver = Command::new(driver_exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = orch_daemon::tls::http_client_builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut b = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http,
            rt,
            shots: shots.to_path_buf(),
            log: log_path,
        };
        b.wait_ready();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                // --ignore-certificate-errors: the TLS test's agent presents a
                // certificate of a throwaway CA the browser does not know.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1280,900", "--disable-dev-shm-usage",
                         "--ignore-certificate-errors"],
            },
        }}});
        let v = b
            .raw("POST", "/session", Some(caps))
            .expect("new WebDriver session");
        b.session = v["sessionId"].as_str().expect("sessionId").to_string();
        b
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(v) = self.raw("GET", "/status", None)
                && v["ready"] == true
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on {} within 30 s",
                self.base
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One WebDriver call: its `value`, or the driver's error as `Err`.
    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.rt.block_on(async {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = self.http.request(m, format!("{}{path}", self.base));
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.map_err(|e| e.to_string())?;
            let ok = r.status().is_success();
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            if ok {
                Ok(v["value"].clone())
            } else {
                Err(format!(
                    "{}: {}",
                    v["value"]["error"], v["value"]["message"]
                ))
            }
        })
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Loads `url` (waits for the document, not for the page's own requests).
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})))
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// The document's current URL.
    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The elements matching a CSS selector now.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .unwrap_or_default();
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
            .collect()
    }

    /// An element's rendered text (`None` when it went away meanwhile).
    pub fn text_of(&self, el: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// The text of every element matching `css`, joined by newlines.
    pub fn text(&self, css: &str) -> String {
        let parts: Vec<String> = self
            .find_all(css)
            .iter()
            .filter_map(|e| self.text_of(e))
            .collect();
        parts.join("\n")
    }

    /// Polls until `f` gives `Some`, or panics after `timeout` naming `what` (and
    /// saving a screenshot of how the page looked).
    pub fn wait<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            if let Some(v) = f(self) {
                if started.elapsed() > Duration::from_secs(5) {
                    eprintln!("slow: {what} took {:?}", started.elapsed());
                }
                return v;
            }
            if Instant::now() > deadline {
                let name = format!(
                    "timeout-{}",
                    what.replace(|c: char| !c.is_alphanumeric(), "-")
                );
                self.screenshot(&name);
                panic!(
                    "timed out after {timeout:?} waiting for {what} at {} (screenshot {name}.png); page text:\n{}",
                    self.url(),
                    self.text("body")
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until some element matches `css` and its text passes `pred`; its text.
    pub fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait(Duration::from_secs(60), what, |b| {
            let t = b.text(css);
            (!b.find_all(css).is_empty() && pred(&t)).then_some(t)
        })
    }

    /// [`Browser::wait_text`] for what a click the page just made shows: within 15 s
    /// (a write waiting for a free browser connection takes a blocking query's minute).
    pub fn wait_text_soon(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait(Duration::from_secs(15), what, |b| {
            let t = b.text(css);
            (!b.find_all(css).is_empty() && pred(&t)).then_some(t)
        })
    }

    /// Waits for an element matching `css` and clicks it (again when a live page
    /// redrew it between finding and clicking).
    pub fn click(&self, css: &str) {
        self.wait(Duration::from_secs(30), css, |b| {
            let el = b.find_all(css).into_iter().next()?;
            match b.cmd("POST", &format!("/element/{el}/click"), Some(json!({}))) {
                Ok(_) => Some(()),
                Err(e) if e.contains("stale element") => None,
                Err(e) => panic!("click {css}: {e}"),
            }
        });
    }

    /// Replaces the value of the field matching `css` with `text`, typed.
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.wait(Duration::from_secs(30), css, |b| {
            b.find_all(css).into_iter().next()
        });
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})))
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Runs a script in the page; its return value.
    pub fn exec(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Saves the viewport as `<shots>/<name>.png`; its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.shots.join(format!("{name}.png"));
        if let Ok(v) = self.cmd("GET", "/screenshot", None)
            && let Some(b64) = v.as_str()
        {
            let png = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            std::fs::write(&path, png).unwrap();
        }
        path
    }

    /// Resizes the window (for the README's screenshot).
    pub fn window_size(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .unwrap();
    }
}

impl Drop for Browser {
    /// Ends the session (chromium quits), then kills chromedriver and anything left in
    /// its process group; its log is kept only when the test failed.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        // SAFETY: kill has no memory preconditions; the group is chromedriver's own.
        unsafe {
            libc::kill(-(self.driver.id() as i32), libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}
