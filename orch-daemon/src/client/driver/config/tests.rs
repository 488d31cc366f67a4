use super::*;
use serde_json::json;

#[test]
fn command_config_errors_name_the_field() {
    let ok = CommandConfig::parse(&json!({"command": "/bin/sh", "args": ["-c", "x"]}));
    assert_eq!(ok.ok().map(|c| c.args.len()), Some(2));
    let e = |v| CommandConfig::parse(&v).err().map(|e| e.to_string());
    assert_eq!(
        e(json!({"args": []})).as_deref(),
        Some("config.command: is required (a non-empty string)")
    );
    assert_eq!(
        e(json!({"command": "x", "args": ["a", 1]})).as_deref(),
        Some("config.args[1]: must be a string")
    );
    assert!(e(json!({"command": "x", "image": "y"})).is_some_and(|m| m.contains("image")));
}

#[test]
fn resolves_commands_and_users() {
    let sh = resolve_command("sh", Path::new("/nonexistent"), DEFAULT_PATH);
    assert!(sh.is_some_and(|p| p.ends_with("sh")));
    assert_eq!(
        resolve_command("nope-xyz", Path::new("/"), DEFAULT_PATH),
        None
    );
    assert_eq!(lookup_user("root").ok(), Some(UserIds { uid: 0, gid: 0 }));
    assert!(lookup_user("no-such-user-xyz").is_err());
}
