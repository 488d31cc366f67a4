//! Browser steps on a job's deployments: failing a running one, promoting canaries.

use super::*;

/// The job page's Fail button fails a running deployment.
pub(super) fn fail_a_deployment(agent: &Agent, b: &Browser) {
    register(agent, SLOW_SERVICE);
    b.goto(&format!("{}/ui/jobs/svc@default", agent.http));
    b.wait_text("#deployments .deployment", "a running deployment", |t| {
        t.contains("running")
    });
    b.click("#deployments .deployment button.fail");
    b.wait_text_soon("#deployments .deployment", "the failed deployment", |t| {
        t.contains("failed")
    });
    b.screenshot("deployment-failed");
}

/// The job page's "Promote canaries" button promotes a deployment waiting on its
/// healthy canary, which then completes.
pub(super) fn promote_canaries(agent: &Agent, b: &Browser) {
    let deployment = |want: &str| {
        wait_for(Duration::from_secs(120), want, || {
            let (_, d) = get(agent, "/v1/job/canary/deployment");
            (d["Status"] == want).then(|| d.clone())
        })
    };
    register(agent, &canary_job(1));
    deployment("successful");
    register(agent, &canary_job(2));
    wait_for(Duration::from_secs(120), "a healthy canary", || {
        let (_, d) = get(agent, "/v1/job/canary/deployment");
        let g = &d["TaskGroups"]["g"];
        (d["Status"] == "running" && g["HealthyAllocs"].as_u64() >= Some(1)).then_some(())
    });
    b.goto(&format!("{}/ui/jobs/canary@default", agent.http));
    b.wait_text(
        "#deployments .deployment",
        "the deployment awaiting promotion",
        |t| t.contains("Promote canaries"),
    );
    b.screenshot("deployment-canary");
    b.click("#deployments .deployment button.promote");
    let done = deployment("successful");
    assert_eq!(done["TaskGroups"]["g"]["Promoted"], true, "{done}");
    b.wait_text_soon("#deployments .deployment", "the promoted deployment", |t| {
        t.contains("successful")
    });
    b.screenshot("deployment-promoted");
    // The versions, the newest open with its diff against the one before: the changed
    // environment variable, old and new value.
    let diff = b.wait_text(
        "#versions .version[open]",
        "the newest version's diff",
        |t| t.contains("VERSION"),
    );
    assert!(
        diff.contains("Task: \"t\"") && diff.contains('1') && diff.contains('2'),
        "{diff}"
    );
    b.exec("document.getElementById('versions').scrollIntoView(); return null;");
    b.screenshot("job-versions");
}
