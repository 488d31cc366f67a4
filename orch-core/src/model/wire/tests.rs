use super::*;

#[test]
fn timestamp_round_trips_as_rfc3339_and_binary() {
    let t = Timestamp(1_700_000_000_123_456_789);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(json, "\"2023-11-14T22:13:20.123456789Z\"");
    assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    let bin = postcard::to_allocvec(&t).unwrap();
    assert_eq!(postcard::from_bytes::<Timestamp>(&bin).unwrap(), t);
    assert_eq!(
        serde_json::to_string(&Timestamp(0)).unwrap(),
        "\"0001-01-01T00:00:00Z\""
    );
    assert_eq!(
        serde_json::from_str::<Timestamp>("\"0001-01-01T00:00:00Z\"").unwrap(),
        Timestamp(0)
    );
}

#[test]
fn free_form_survives_postcard() {
    let mut m = BTreeMap::new();
    m.insert("command".to_string(), serde_json::json!("/bin/sleep"));
    m.insert("args".to_string(), serde_json::json!(["10", {"a": 1.5}]));
    let f = FreeForm(m);
    let bin = postcard::to_allocvec(&f).unwrap();
    assert_eq!(postcard::from_bytes::<FreeForm>(&bin).unwrap(), f);
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["command"], "/bin/sleep");
}

#[test]
fn nulls_are_stripped_deeply() {
    let mut v = serde_json::json!({"a": null, "b": [{"c": null, "d": 1}]});
    strip_nulls(&mut v);
    assert_eq!(v, serde_json::json!({"b": [{"d": 1}]}));
}
