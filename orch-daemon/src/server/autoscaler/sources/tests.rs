use serde_json::json;

use super::*;

#[test]
fn prometheus_results() {
    let v = json!({"resultType": "vector", "result": [{"metric": {}, "value": [1.0, "42.5"]}]});
    assert_eq!(parse_result(&v, "q").unwrap(), 42.5);
    let v = json!({"resultType": "scalar", "result": [1.0, "7"]});
    assert_eq!(parse_result(&v, "q").unwrap(), 7.0);
    let v = json!({"resultType": "matrix", "result": [{"values": [[1.0, "1"], [2.0, "3"]]}]});
    assert_eq!(parse_result(&v, "q").unwrap(), 3.0);
    let v = json!({"resultType": "vector", "result": []});
    assert!(matches!(parse_result(&v, "q"), Err(SourceError::NoData(_))));
    let v = json!({"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]});
    assert!(
        parse_result(&v, "q")
            .unwrap_err()
            .to_string()
            .contains("2 series")
    );
    let v = json!({"resultType": "scalar", "result": [1.0, "NaN"]});
    assert!(parse_result(&v, "q").is_err());
}
