use super::*;
use crate::model::{Evaluation, Job, eval_status};
use crate::state::{Command, JobDeregister, JobRegister};

const HOUR: i64 = 3_600_000_000_000;

fn store_with_stopped_job(at: i64) -> StateStore {
    let mut s = StateStore::new();
    let mut job = Job {
        id: "web".into(),
        ..Job::default()
    };
    crate::canonical::canonicalize_job(&mut job);
    let eval = Evaluation {
        id: "e1".into(),
        status: eval_status::COMPLETE.into(),
        modify_time: at,
        ..Evaluation::default()
    };
    let reg = JobRegister {
        job,
        eval: Some(eval),
        enforce_index: None,
        preserve_counts: false,
        now: at,
    };
    s.apply(1, Command::JobRegister(reg)).unwrap();
    let stop = JobDeregister {
        namespace: "default".into(),
        job_id: "web".into(),
        purge: false,
        eval: None,
        now: at,
    };
    s.apply(2, Command::JobDeregister(stop)).unwrap();
    s
}

#[test]
fn dead_jobs_are_collected_after_the_threshold_or_when_forced() {
    let cfg = GcConfig::default();
    let s = store_with_stopped_job(0);
    assert_eq!(s.job("default", "web").unwrap().status, job_status::DEAD);
    assert!(is_empty(&collect(&s, HOUR / 2, &cfg, false)));
    let b = collect(&s, 5 * HOUR, &cfg, false);
    assert_eq!(b.jobs.len(), 1);
    assert_eq!(b.evals, ["e1"]);
    assert_eq!(collect(&s, 0, &cfg, true).jobs.len(), 1);
}

#[test]
fn failed_evals_get_a_delayed_follow_up() {
    let e = Evaluation {
        id: "e1".into(),
        job_id: "web".into(),
        status: eval_status::PENDING.into(),
        ..Evaluation::default()
    };
    let [failed, next] = failed_with_followup(e, 3, Duration::from_secs(60), 10, "f".into());
    assert_eq!(failed.status, eval_status::FAILED);
    assert_eq!(failed.next_eval, "f");
    assert!(failed.status_description.contains("delivery limit (3)"));
    assert_eq!(next.triggered_by, trigger::FAILED_FOLLOW_UP);
    assert_eq!(next.previous_eval, "e1");
    assert_eq!(next.wait_until.0, 10 + 60_000_000_000);
    assert_eq!(next.status, eval_status::PENDING);
}

#[test]
fn expired_tokens_are_collected_an_hour_after_expiry_or_when_forced() {
    use crate::model::acl::{AclToken, token_type};
    use crate::state::AclTokenUpsert;
    let token = |id: &str, hash: char, expires: i64| AclToken {
        accessor_id: id.into(),
        secret_hash: std::iter::repeat_n(hash, 64).collect(),
        token_type: token_type::MANAGEMENT.into(),
        create_time: 1,
        expiration_time: expires,
        ..AclToken::default()
    };
    let hour = nanos(ACL_TOKEN_GC_THRESHOLD);
    let mut s = StateStore::new();
    let tokens = vec![token("forever", 'a', 0), token("soon", 'b', 10 * hour)];
    s.apply(1, Command::AclTokenUpsert(AclTokenUpsert { tokens }))
        .unwrap();
    assert!(
        expired_tokens(&s, 10 * hour, false).is_empty(),
        "just expired"
    );
    assert_eq!(expired_tokens(&s, 10 * hour, true), ["soon"]);
    assert_eq!(expired_tokens(&s, 11 * hour, false), ["soon"]);
    assert!(
        expired_tokens(&s, 5 * hour, true).is_empty(),
        "not expired yet"
    );
}
