#[test]
fn keyed_values() {
    let t = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
    assert_eq!(super::keyed(t, "oom_kill"), Some(3));
    assert_eq!(super::keyed(t, "missing"), None);
}
