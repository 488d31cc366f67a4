use super::*;

#[test]
fn address_precedence() {
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        resolve_address(Some("http://a:1"), s("http://b:2"), s("http://c:3")),
        "http://a:1"
    );
    assert_eq!(
        resolve_address(None, s("http://b:2/"), s("http://c:3")),
        "http://b:2"
    );
    assert_eq!(resolve_address(None, s(""), s("c:3")), "http://c:3");
    assert_eq!(resolve_address(None, None, None), DEFAULT_ADDR);
}

#[test]
fn encodes_components() {
    assert_eq!(encode("web app/1"), "web%20app%2F1");
    assert_eq!(encode("abc-1_2.3~"), "abc-1_2.3~");
    assert_eq!(encode("a=b&c?d#é"), "a%3Db%26c%3Fd%23%C3%A9");
}
