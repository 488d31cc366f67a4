use super::*;

#[test]
fn on_the_wire_a_str_is_a_string() {
    for text in ["", "default", "8ba85cef-1234-5678-9abc-def012345678"] {
        let s = Str::from(text);
        let owned = text.to_string();
        assert_eq!(
            serde_json::to_string(&s).ok(),
            serde_json::to_string(&owned).ok()
        );
        assert_eq!(
            postcard::to_allocvec(&s).ok(),
            postcard::to_allocvec(&owned).ok()
        );
        let back: Option<Str> = postcard::to_allocvec(&owned)
            .ok()
            .and_then(|b| postcard::from_bytes(&b).ok());
        assert_eq!(back.as_ref().map(Str::as_str), Some(text));
        let json: Option<Str> = serde_json::from_str(&format!("{text:?}")).ok();
        assert_eq!(json.as_ref().map(Str::as_str), Some(text));
    }
}

#[test]
fn compares_and_orders_as_its_text() {
    let (a, b) = (Str::from("a"), Str::from("b"));
    assert!(a < b);
    assert_eq!(a, "a");
    assert_eq!("a", a);
    assert_eq!(a, "a".to_string());
    assert_eq!("a".to_string(), a);
    assert_eq!(Str::default(), "");
    assert_eq!(Str::from(""), Str::default());
    assert!(Str::default() < a);
}

#[test]
fn share_keeps_one_copy_of_equal_text() {
    let first = Str::from("web");
    let mut second = Str::from("web".to_string());
    assert!(!first.ptr_eq(&second));
    second.share(&first);
    assert!(first.ptr_eq(&second));
    let mut other = Str::from("db");
    other.share(&first);
    assert_eq!(other, "db");
}
