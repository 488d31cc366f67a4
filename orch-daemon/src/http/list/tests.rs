use super::*;
use crate::http::query::RawParams;
use serde_json::json;

fn opts(q: &[(&str, &str)]) -> ListOpts {
    let raw = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ListOpts::parse(RawParams::open(raw)).unwrap().1
}

fn items() -> impl Iterator<Item = (String, Value)> {
    ["a", "b", "c", "d", "e"]
        .into_iter()
        .map(|id| (id.to_string(), json!({"ID": id, "Odd": "ace".contains(id)})))
}

#[test]
fn pages_follow_tokens_and_count_only_matches() {
    let o = opts(&[("per_page", "2")]);
    let (page, next) = o.page_by_id(items());
    assert_eq!(page.len(), 2);
    assert_eq!(next.as_deref(), Some("c"));
    let o = opts(&[("per_page", "2"), ("next_token", "c")]);
    let (page, next) = o.page_by_id(items());
    assert_eq!(page[0]["ID"], "c");
    assert_eq!(next.as_deref(), Some("e"));
    let o = opts(&[("per_page", "2"), ("filter", "Odd == true")]);
    let (page, next) = o.page_by_id(items());
    assert_eq!(
        page,
        vec![
            json!({"ID": "a", "Odd": true}),
            json!({"ID": "c", "Odd": true})
        ]
    );
    assert_eq!(next.as_deref(), Some("e"));
}

#[test]
fn bad_filters_and_page_sizes_are_400s() {
    let raw = |k: &str, v: &str| {
        RawParams::open(std::collections::BTreeMap::from([(k.to_string(), v.to_string())]))
    };
    let e = ListOpts::parse(raw("filter", "Status = x")).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("column 8"), "{}", e.message);
    assert_eq!(
        ListOpts::parse(raw("per_page", "-1")).unwrap_err().status,
        400
    );
}
