//! The web UI in a real browser: headless chromium driven over WebDriver
//! (`common/webdriver.rs`) against the real `orch agent -dev`, clicking through a running
//! job, a failed placement, a live log, failing and promoting deployments and the
//! topology page, and signing in with an
//! ACL token. Screenshots of each step go to `target/ui-screenshots/`.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use common::{Agent, free_port, get, orch_parse, send, start, temp_dir, wait_for, wait_leader};
use serde_json::json;
use webdriver::Browser;

#[path = "ui/deployments.rs"]
mod deployments;
#[path = "ui/specs.rs"]
mod specs;
#[path = "ui/tls_cluster.rs"]
mod tls_cluster;

use deployments::{fail_a_deployment, promote_canaries};
use specs::*;
use tls_cluster::{stop_jobs, three_small_clients, tls_acl_agent, tls_call};

/// Where the screenshots go: `target/ui-screenshots`.
fn shots() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join("ui-screenshots")
}
fn register(agent: &Agent, hcl: &str) {
    let (status, body) = send(agent, "PUT", "/v1/jobs", json!({"Job": orch_parse(hcl)}));
    assert_eq!(status, 200, "register: {body}");
}
/// Clicks the first element matching `css` whose text is `text` (in the page, so a
/// redraw between finding and clicking cannot go stale).
fn click_link(b: &Browser, css: &str, text: &str) {
    let script = format!(
        "const a = [...document.querySelectorAll({css:?})].find((e) => e.textContent === {text:?}); \
         if (a) a.click(); return !!a;"
    );
    b.wait(Duration::from_secs(30), text, |b| {
        (b.exec(&script) == json!(true)).then_some(())
    });
}
/// How many `tick N` lines the page's log view holds.
fn ticks(b: &Browser) -> usize {
    b.text("#log")
        .lines()
        .filter(|l| l.starts_with("tick "))
        .count()
}
/// A running job from the list to its allocation, its log followed live, a failed
/// placement in words, and the topology of the node; one agent, one browser.
#[test]
fn jobs_allocation_live_log_placement_failure_and_topology() {
    let dir = temp_dir("ui");
    let agent = start(&dir, &["-dev"]);
    wait_leader(&agent);
    let b = Browser::start(free_port(), &shots());
    register(&agent, TICKER);
    register(&agent, IMPOSSIBLE);
    register(&agent, TOO_BIG);

    from_the_list_to_a_running_allocation(&agent, &b);
    a_live_log_usage_and_files(&b);
    placement_failures_in_words(&agent, &b);
    topology_of_the_node(&b);
    other_pages_render(&b);
    fail_a_deployment(&agent, &b);
    promote_canaries(&agent, &b);
    a_scaling_policy_and_its_last_event(&agent, &b);
}
/// A group with a `scaling` block: the scaling page lists its policy, and a scale of
/// the group shows there as its last event, without a reload.
fn a_scaling_policy_and_its_last_event(agent: &Agent, b: &Browser) {
    register(
        agent,
        r#"job "scaled" {
  update {
    min_healthy_time = "1s"
    healthy_deadline = "2m"
  }
  group "g" {
    count = 1
    scaling {
      min = 1
      max = 3
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "sleep 600"]
      }
      resources {
        cpu = 20
        memory = 16
      }
    }
  }
}"#,
    );
    b.click("#nav a[data-section=\"scaling\"]");
    b.wait_text("#scaling", "the group's policy", |t| {
        t.contains("scaled / g") && t.contains("1 – 3")
    });
    // Nomad refuses a scale while the group's deployment runs.
    wait_for(Duration::from_secs(120), "the scaled job deployed", || {
        let (_, d) = get(agent, "/v1/job/scaled/deployment");
        (d["Status"] == "successful").then_some(())
    });
    let (code, body) = send(
        agent,
        "POST",
        "/v1/job/scaled/scale",
        json!({"Count": 2, "Target": {"Group": "g"}, "Message": "by the ui test"}),
    );
    assert_eq!(code, 200, "{body}");
    b.wait_text_soon("#scaling", "the scaling event", |t| {
        t.contains("by the ui test (1 → 2)")
    });
    b.screenshot("scaling-policy");
}
/// The jobs list (reached from `/`), the job page where its allocation becomes running
/// without a reload, and `orch ui` naming that page.
fn from_the_list_to_a_running_allocation(agent: &Agent, b: &Browser) {
    b.goto(&format!("{}/", agent.http));
    b.wait_text(
        "tr.job-row[data-job=\"ticker\"]",
        "the ticker job in the list",
        |t| t.contains("running"),
    );
    b.wait_text(
        "tr.job-row[data-job=\"impossible\"]",
        "the impossible job",
        |t| t.contains("queued"),
    );
    assert!(b.url().ends_with("/ui/jobs"), "{}", b.url());
    b.screenshot("jobs");
    // The filter: only the jobs whose ID or name holds the text stay listed.
    b.type_into("#job-filter", "tick");
    b.wait(Duration::from_secs(15), "the filtered list", |b| {
        (b.find_all("tr.job-row").len() == 1 && b.text("#jobs").contains("ticker")).then_some(())
    });
    b.screenshot("jobs-filtered");
    b.exec(
        "const f = document.getElementById('job-filter'); f.value = ''; \
         f.dispatchEvent(new Event('input')); return null;",
    );
    b.wait(Duration::from_secs(15), "the whole list again", |b| {
        (b.find_all("tr.job-row").len() >= 3).then_some(())
    });

    // The job page: its allocation becomes running without a reload.
    b.click("tr.job-row[data-job=\"ticker\"] a.job-link");
    b.wait_text(
        "tr.alloc-row[data-status=\"running\"]",
        "a running allocation",
        |_| true,
    );
    assert!(b.url().ends_with("/ui/jobs/ticker@default"), "{}", b.url());
    b.wait_text("#task-groups", "the group's counts", |t| {
        t.contains("1 running")
    });
    b.screenshot("job");

    // `orch ui -show-url <job>` names this very page.
    let out = common::orch_cli(agent, &["ui", "-show-url", "ticker"]);
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        printed,
        format!("URL for web UI: {}", b.url()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    b.click("tr.alloc-row a.alloc-link");
    b.wait_text("#task-t .task-state", "task t running", |t| t == "running");
    // The task's events, as the client reported them.
    b.wait_text("#task-t table.events", "the task's events", |t| {
        t.contains("Received") && t.contains("Started")
    });
}
/// The allocation page: its log gains lines as the task prints (in the same document),
/// the usage chart gains samples, the files lead to the task's log file.
fn a_live_log_usage_and_files(b: &Browser) {
    b.wait_text("#task-t .task-state", "task t running", |t| t == "running");
    b.exec("window.__sameDocument = 'yes'; return null;");
    let first = b.wait(Duration::from_secs(30), "the first log lines", |b| {
        let n = ticks(b);
        (n >= 1).then_some(n)
    });
    let later = b.wait(Duration::from_secs(30), "new log lines", |b| {
        let n = ticks(b);
        (n >= first + 3).then_some(n)
    });
    assert!(later > first);
    assert_eq!(
        b.exec("return window.__sameDocument || null;"),
        json!("yes"),
        "the log grew by reloading the page"
    );
    // The usage chart gains samples as the page polls the stats.
    b.wait_text("#resource-usage", "two usage samples", |t| {
        t.split_whitespace()
            .zip(t.split_whitespace().skip(1))
            .any(|(n, w)| w.starts_with("samples") && n.parse::<u32>().is_ok_and(|n| n >= 2))
    });
    // The allocation directory, down to the task's log file.
    for (dir, next) in [("alloc/", "logs/"), ("logs/", "t.stdout.0")] {
        b.wait_text("#fs-list", dir, |t| t.contains(dir));
        click_link(b, "#fs-list a", dir);
        b.wait_text("#fs-list", next, |t| t.contains(next));
    }
    click_link(b, "#fs-list a", "t.stdout.0");
    b.wait_text("#fs-file", "the log file's text", |t| t.contains("tick 1"));
    b.screenshot("alloc");
    b.exec("document.getElementById('logs').scrollIntoView(); return null;");
    b.screenshot("alloc-log");
}
/// Failed placements, explained in words on the job page: a constraint no node meets,
/// memory no node has.
fn placement_failures_in_words(agent: &Agent, b: &Browser) {
    b.goto(&format!("{}/ui/jobs/impossible@default", agent.http));
    let why = b.wait_text("#placement-failures", "the placement failure", |t| {
        t.contains("could not be placed")
    });
    assert!(why.contains("2 allocations could not be placed"), "{why}");
    assert!(
        why.contains("1 node filtered by constraint ${attr.kernel.name} = windows"),
        "{why}"
    );
    b.screenshot("placement-failure");
    b.goto(&format!("{}/ui/jobs/too-big@default", agent.http));
    let why = b.wait_text("#placement-failures", "the memory failure", |t| {
        t.contains("could not be placed")
    });
    assert!(why.contains("Exhausted memory on 1 node"), "{why}");

    // A failure that goes away: once the node has the metadata, the blocked evaluation
    // places the job and the page drops the failure without a reload.
    register(agent, WAITS_FOR_META);
    b.goto(&format!("{}/ui/jobs/waits@default", agent.http));
    b.wait_text("#placement-failures", "the metadata failure", |t| {
        t.contains("filtered by constraint ${meta.ui_ready} = yes")
    });
    let (code, body) = send(
        agent,
        "POST",
        "/v1/client/metadata",
        json!({"Meta": {"ui_ready": "yes"}}),
    );
    assert_eq!(code, 200, "{body}");
    b.wait_text(
        "tr.alloc-row[data-status=\"running\"]",
        "the placed job",
        |_| true,
    );
    b.wait(Duration::from_secs(30), "no placement failure", |b| {
        b.find_all("#placement-failures").is_empty().then_some(())
    });
}
/// The topology: the node's box, its CPU bar filled by the allocations of the ticker
/// (300 MHz) and of the job that waited for metadata (50 MHz), one segment each.
fn topology_of_the_node(b: &Browser) {
    b.click("#nav a[data-section=\"topology\"]");
    b.wait_text(".node-box .usage-cpu", "the node's CPU bar", |t| {
        t.contains("350 /")
    });
    assert_eq!(b.find_all(".node-box").len(), 1);
    assert_eq!(b.find_all(".node-box .usage-cpu .alloc-seg").len(), 2);
    b.screenshot("topology");
}
/// The other pages draw their tables from the API (no script error leaves them at
/// "Loading…"); the client's page links its allocations.
fn other_pages_render(b: &Browser) {
    b.click("#nav a[data-section=\"clients\"]");
    b.wait_text("tr.node-row", "the node in the client list", |t| {
        t.contains("ready") && t.contains("eligible")
    });
    b.click("tr.node-row a.node-link");
    b.wait_text("#node-allocations", "the node's allocations", |t| {
        t.contains("ticker")
    });
    b.wait_text("#node-header", "the node's reserved bars", |t| {
        t.contains("CPU 350 /")
    });
    b.screenshot("client");
    b.click("#toggle-eligibility");
    b.wait_text_soon("#node-header", "the node marked ineligible", |t| {
        t.contains("Mark eligible") && t.contains("ineligible")
    });
    b.click("#toggle-eligibility");
    b.wait_text_soon("#toggle-eligibility", "the node eligible again", |t| {
        t == "Mark ineligible"
    });
    // A drain started and stopped from the page (the ticker is a batch job, so the
    // drain waits for its deadline and is still on when stopped).
    b.click("#drain-start");
    b.wait_text_soon("#node-header", "the node draining", |t| {
        t.contains("Stop drain") && t.contains("draining until")
    });
    b.screenshot("client-draining");
    b.click("#drain-stop");
    b.wait_text_soon("#node-header", "the drain stopped", |t| {
        t.contains("Mark ineligible") && !t.contains("Stop drain")
    });
    for (section, css, want) in [
        ("servers", "#raft-peers", "leader"),
        ("services", "#services", "No services"),
        ("csi", "#volumes", "No CSI volumes"),
        ("scaling", "#scaling", "No scaling policies"),
    ] {
        b.click(&format!("#nav a[data-section=\"{section}\"]"));
        b.wait_text(css, section, |t| t.contains(want));
        b.screenshot(section);
    }
    b.click("#nav a[data-section=\"csi\"]");
    b.click(".tabs a[href=\"/ui/csi/plugins\"]");
    b.wait_text("#plugins", "the plugin list", |t| {
        t.contains("No CSI plugins")
    });
}
/// The README's picture: the topology of a three-client cluster (one server) running
/// the example job, written to `docs/topology.png`. Run by hand:
/// `cargo test -p orch-daemon --test ui -- --ignored docs_topology`.
#[test]
#[ignore = "writes docs/topology.png; run by hand when the UI changes"]
fn docs_topology_screenshot() {
    let dir = temp_dir("ui-docs");
    let server = common::start_server(&dir, "server");
    let clients = three_small_clients(&dir, &server);
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web.nomad.hcl");
    let out = common::orch_cli(
        &server,
        &[
            "job",
            "run",
            "-detach",
            "-var",
            "replicas=5",
            example.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    register(&server, TICKER);
    wait_for(Duration::from_secs(90), "every allocation running", || {
        let running = |job: &str| {
            common::job_allocs(&server, job)
                .iter()
                .filter(|a| a["ClientStatus"] == "running")
                .count()
        };
        (running("web") == 5 && running("ticker") == 1).then_some(())
    });
    // A client-only agent serves the UI too (its API calls go on to the servers); the
    // picture is taken through it.
    let (code, page) = common::get_text(&clients[0], "/ui/topology");
    assert!(
        code == 200 && page.contains("/ui/assets/app.js"),
        "{code} {page}"
    );
    let b = Browser::start(free_port(), &shots());
    b.window_size(1280, 640);
    b.goto(&format!("{}/ui/topology", clients[0].http));
    b.wait_text("#topology-summary", "six allocations", |t| {
        t.contains("6 running")
    });
    assert_eq!(b.find_all(".node-box").len(), 3);
    let shot = b.screenshot("docs-topology");
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(shot, docs.join("topology.png")).unwrap();
    // Live through the client-only agent too: a stopped job leaves the picture.
    stop_jobs(&server, &["ticker"]);
    b.wait_text("#topology-summary", "five allocations", |t| {
        t.contains("5 running")
    });
    // Client-only agents leave their tasks running when they stop (they reattach on a
    // restart): stop the jobs first, so no task outlives the test.
    stop_jobs(&server, &["web", "ticker"]);
    drop(clients);
}
/// With ACLs on and the HTTP API over TLS, the UI asks for a token; the one entered is
/// kept and used (all of the UI's URLs are relative, so https needs nothing else).
#[test]
fn acl_login_with_a_token_over_tls() {
    let dir = temp_dir("ui-acl");
    let (agent, tls) = tls_acl_agent(&dir);
    let (status, body) = tls_call(&agent, &tls, "POST", "/v1/acl/bootstrap", None, json!({}));
    assert_eq!(status, 200, "bootstrap: {body}");
    let secret = serde_json::from_str::<serde_json::Value>(&body).unwrap()["SecretID"]
        .as_str()
        .unwrap()
        .to_string();
    let b = Browser::start(free_port(), &shots());

    b.goto(&format!("{}/ui/jobs", agent.http));
    b.wait_text("#login", "the login prompt", |t| t.contains("ACL token"));
    b.screenshot("acl-login");
    b.type_into("#token-secret", "00000000-0000-0000-0000-000000000000");
    b.click("#token-submit");
    b.wait_text("#login-message", "a refused token", |t| {
        t.contains("not valid")
    });

    b.type_into("#token-secret", &secret);
    b.click("#token-submit");
    b.wait_text("#jobs-table", "the jobs list", |t| {
        t.contains("No jobs yet")
    });
    b.wait_text("#whoami", "the signed-in token", |t| {
        t.starts_with("Token:")
    });

    // Kept across a reload; the list is live for the signed-in browser (the job
    // registered after the page drew its empty list appears in the same document).
    b.goto(&format!("{}/ui/jobs", agent.http));
    b.wait_text("#jobs-table", "the empty list after a reload", |t| {
        t.contains("No jobs yet")
    });
    b.exec("window.__sameDocument = 'yes'; return null;");
    let job = json!({"Job": orch_parse(TICKER)});
    let (code, body) = tls_call(&agent, &tls, "PUT", "/v1/jobs", Some(&secret), job);
    assert_eq!(code, 200, "{body}");
    b.wait_text(
        "tr.job-row[data-job=\"ticker\"]",
        "the job the token may see",
        |_| true,
    );
    b.screenshot("acl-jobs");
    assert_eq!(
        b.exec("return window.__sameDocument || null;"),
        json!("yes")
    );
    wait_for(Duration::from_secs(5), "no login prompt", || {
        b.find_all("#login").is_empty().then_some(())
    });
}
