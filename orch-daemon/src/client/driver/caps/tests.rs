use super::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_default_set_is_nomads_mask() {
    // chown 0, dac_override 1, fowner 3, fsetid 4, kill 5, setgid 6, setuid 7, setpcap 8,
    // net_bind_service 10, sys_chroot 18, mknod 27, audit_write 29, setfcap 31.
    assert_eq!(CapSet::defaults().0, 0xa80405fb);
}

#[test]
fn names_parse_in_any_case_and_unknown_ones_name_the_field() {
    let s = CapSet::parse("cap_add", &names(&["NET_RAW", "cap_sys_time"])).unwrap();
    assert_eq!(s.names(), ["net_raw", "sys_time"]);
    let e = CapSet::parse("cap_add", &names(&["chown", "fly"])).unwrap_err();
    assert!(
        e.to_string()
            .contains("config.cap_add[1]: unknown capability \"fly\""),
        "{e}"
    );
    assert_eq!(CapSet::parse("x", &names(&["all"])).unwrap(), CapSet::ALL);
}

#[test]
fn task_sets_follow_nomads_calculation() {
    let d = CapSet::defaults();
    let none = CapSet(0);
    assert_eq!(CapSet::for_task(d, none, none).unwrap(), d);
    let drop_all = CapSet::ALL;
    let chown = CapSet::parse("a", &names(&["chown"])).unwrap();
    assert_eq!(CapSet::for_task(d, chown, drop_all).unwrap(), chown);
    let raw = CapSet::parse("a", &names(&["net_raw"])).unwrap();
    let e = CapSet::for_task(d, raw, none).unwrap_err().to_string();
    assert!(e.contains("does not allow net_raw"), "{e}");
    let allow = CapSet(d.0 | raw.0);
    assert_eq!(CapSet::for_task(allow, raw, none).unwrap(), allow);
    let small = CapSet::parse("a", &names(&["kill"])).unwrap();
    assert_eq!(CapSet::for_task(small, none, none).unwrap(), small);
}
