#[test]
fn own_stat_is_readable() {
    let me = std::process::id() as i32;
    let s = super::stat(me);
    assert!(s.is_some_and(|s| s.start_time > 0));
    assert!(super::is_same_process(
        me,
        super::start_time(me).unwrap_or(0)
    ));
    assert!(!super::is_same_process(me, 1));
}
