use super::*;

#[test]
fn orders_like_the_strings() {
    let long = "x".repeat(50);
    let mut ids = [
        "b",
        "a",
        "",
        "ab",
        long.as_str(),
        "8ba85cef-1234-5678-9abc-def012345678",
    ];
    let mut keys: Vec<Id> = ids.iter().map(|s| Id::new(s)).collect();
    keys.sort();
    ids.sort();
    let back: Vec<String> = keys
        .iter()
        .map(|k| String::from_utf8_lossy(k.as_bytes()).into_owned())
        .collect();
    assert_eq!(back, ids);
    assert_eq!(Id::new(&long), Id::new(&long));
    assert_ne!(Id::new("a"), Id::new("a\0"));
    assert_eq!(std::mem::size_of::<Id>(), 40);
}
