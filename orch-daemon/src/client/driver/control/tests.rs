#[test]
fn signal_names() {
    assert_eq!(super::parse_signal("SIGHUP").ok(), Some(libc::SIGHUP));
    assert_eq!(super::parse_signal("usr1").ok(), Some(libc::SIGUSR1));
    assert_eq!(super::parse_signal("INT").ok(), Some(libc::SIGINT));
    let e = super::parse_signal("SIGNOPE").err().map(|e| e.to_string());
    assert!(e.is_some_and(|e| e.contains("SIGNOPE") && e.contains("SIGTERM")));
}
