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
        "8ba85cef-1234-5678-9abc-def012345679",
        "8ba85cef-1234-5678-9abc-def01234567",
        "8BA85CEF-1234-5678-9abc-def012345678",
        "8ba85cef-1234-5678-9abc-def012345678x",
        "8ba85cef-1234-5678-9abc-def01234567g",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "8ba85cef_1234-5678-9abc-def012345678",
    ];
    let mut keys: Vec<Id> = ids.iter().map(|s| Id::new(s)).collect();
    keys.sort();
    ids.sort();
    let back: Vec<String> = keys.iter().map(Id::to_string).collect();
    assert_eq!(back, ids);
    assert_eq!(Id::new(&long), Id::new(&long));
    assert_ne!(Id::new("a"), Id::new("a\0"));
    assert_eq!(std::mem::size_of::<Id>(), 24);
}

#[test]
fn every_pair_compares_as_its_strings() {
    let words = [
        "",
        "a",
        "a\0",
        "0",
        "8ba85cef-1234-5678-9abc-def012345678",
        "8ba85cef-1234-5678-9abc-def012345678\0",
        "8ba85cef-1234-5678-9abc-def0123456",
        "8ba85cef-1234-5678-9abc-def012345677",
        "8ba85cef-1234-5678-9abc-def01234567-",
        "9",
        "ffffffff-ffff-ffff-ffff-fffffffffffg",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "g",
    ];
    for x in words {
        for y in words {
            assert_eq!(Id::new(x).cmp(&Id::new(y)), x.cmp(y), "{x:?} vs {y:?}");
            assert_eq!(Id::new(x) == Id::new(y), x == y, "{x:?} == {y:?}");
        }
    }
}

#[test]
fn a_uuid_round_trips_through_its_bytes() {
    let s = "0123abcd-4567-89ef-fedc-ba9876543210";
    assert!(matches!(Id::new(s).0, Repr::Uuid(_)));
    assert_eq!(Id::new(s).to_string(), s);
    assert_eq!(format!("{:?}", Id::new(s)), format!("{s:?}"));
}
