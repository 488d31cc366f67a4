use super::*;
use serde_json::json;

#[test]
fn durations() {}

#[test]
fn lenient_primitives() {
    assert_eq!(convert(Kind::Int, &json!("3")), Ok(json!(3)));
    assert_eq!(convert(Kind::Str, &json!(3)), Ok(json!("3")));
    assert_eq!(convert(Kind::Bool, &json!("true")), Ok(json!(true)));
    assert!(convert(Kind::Int, &json!(1.5)).is_err());
    assert!(convert(Kind::Str, &json!([1])).is_err());
    assert_eq!(
        convert(Kind::StrMap, &json!({"a": 1, "b": true})),
        Ok(json!({"a": "1", "b": "true"}))
    );
}
