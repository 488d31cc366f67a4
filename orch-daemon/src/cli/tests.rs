use super::hoist_global_flags;

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn global_flags_move_after_the_command() {
    assert_eq!(
        hoist_global_flags(&strs(&["-address", "http://x", "job", "status", "web"])),
        Some(strs(&["job", "status", "-address", "http://x", "web"]))
    );
    assert_eq!(
        hoist_global_flags(&strs(&["-json", "operator", "raft", "list-peers"])),
        Some(strs(&["operator", "raft", "list-peers", "-json"]))
    );
    assert_eq!(hoist_global_flags(&strs(&["job", "status"])), None);
}

#[test]
fn global_flags_move_after_acl_commands() {
    assert_eq!(
        hoist_global_flags(&strs(&["-token", "s", "acl", "token", "self", "-json"])),
        Some(strs(&["acl", "token", "self", "-token", "s", "-json"]))
    );
    assert_eq!(
        hoist_global_flags(&strs(&["-token=s", "acl", "bootstrap", "secret.txt"])),
        Some(strs(&["acl", "bootstrap", "-token=s", "secret.txt"]))
    );
}

#[test]
fn tls_flags_are_global_too() {
    assert_eq!(
        hoist_global_flags(&strs(&[
            "-address",
            "https://x",
            "-ca-cert",
            "ca.pem",
            "-tls-skip-verify",
            "-client-key=k.pem",
            "node",
            "status",
        ])),
        Some(strs(&[
            "node",
            "status",
            "-address",
            "https://x",
            "-ca-cert",
            "ca.pem",
            "-tls-skip-verify",
            "-client-key=k.pem",
        ]))
    );
    assert_eq!(
        hoist_global_flags(&strs(&[
            "-tls-server-name",
            "server.global.nomad",
            "tls",
            "cert",
            "create"
        ])),
        Some(strs(&[
            "tls",
            "cert",
            "create",
            "-tls-server-name",
            "server.global.nomad"
        ]))
    );
}

#[test]
fn nomads_other_general_flags_move_too() {
    assert_eq!(
        hoist_global_flags(&strs(&["-no-color", "-insecure", "job", "status"])),
        Some(strs(&["job", "status", "-no-color", "-insecure"]))
    );
    assert_eq!(
        hoist_global_flags(&strs(&["-ca-path", "/etc/ca", "node", "status"])),
        Some(strs(&["node", "status", "-ca-path", "/etc/ca"]))
    );
}
