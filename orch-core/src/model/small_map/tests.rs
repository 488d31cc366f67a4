use std::collections::BTreeMap;

use super::*;

#[test]
fn behaves_and_serializes_like_a_btreemap() {
    let pairs = [("b", 2), ("a", 1), ("c", 3), ("a", 4)];
    let small: SmallMap<String, i32> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let btree: BTreeMap<String, i32> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(
        small.iter().collect::<Vec<_>>(),
        btree.iter().collect::<Vec<_>>()
    );
    assert_eq!(
        serde_json::to_string(&small).ok(),
        serde_json::to_string(&btree).ok()
    );
    assert_eq!(
        postcard::to_allocvec(&small).ok(),
        postcard::to_allocvec(&btree).ok()
    );
    let back: SmallMap<String, i32> =
        serde_json::from_str(r#"{"z":1,"y":2,"z":3}"#).unwrap_or_default();
    assert_eq!(
        back.iter().collect::<Vec<_>>(),
        [(&"y".to_string(), &2), (&"z".to_string(), &3)]
    );
    let mut m = small.clone();
    assert_eq!(m.remove("b"), Some(2));
    *m.get_or_insert_with("d".into(), || 0) += 5;
    assert_eq!((m["d"], m.len(), m.contains_key("b")), (5, 3, false));
    assert_eq!(format!("{:?}", SmallMap::from([(1, 2)])), "{1: 2}");
}

#[test]
fn a_clone_shares_until_one_side_writes() {
    let a: SmallMap<String, u64> = [("dc1".to_string(), 3), ("dc2".to_string(), 4)].into();
    let mut b = a.clone();
    assert!(a.ptr_eq(&b));
    *b.get_or_insert_with("dc1".into(), || 0) += 1;
    assert!(!a.ptr_eq(&b));
    assert_eq!(a.get("dc1"), Some(&3));
    assert_eq!(b.get("dc1"), Some(&4));
    let mut c = a.clone();
    assert_eq!(c.remove("dc1"), Some(3));
    assert_eq!(c.remove("dc2"), Some(4));
    assert!(c.is_empty());
    assert_eq!(c, SmallMap::default());
    assert_eq!(a.len(), 2);
    let owned: Vec<(String, u64)> = a.clone().into_iter().collect();
    assert_eq!(owned.len(), 2);
}
