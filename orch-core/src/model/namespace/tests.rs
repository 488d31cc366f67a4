use super::*;

#[test]
fn names_follow_nomads_pattern() {
    assert!(validate_name("namespace", "team-a1").is_ok());
    assert!(validate_name("namespace", "").is_err());
    assert!(validate_name("namespace", &"a".repeat(129)).is_err());
    let e = validate_name("namespace", "a_b").unwrap_err();
    assert!(e.contains("'_'"), "{e}");
}

#[test]
fn exceeds_names_each_dimension_in_nomads_words() {
    let used = QuotaResources {
        cpu: 400,
        ..Default::default()
    };
    let ask = QuotaResources {
        cpu: 200,
        memory_mb: 10,
        ..Default::default()
    };
    let limit = QuotaResources {
        cpu: 500,
        ..Default::default()
    };
    assert_eq!(
        used.exceeds(&ask, &limit),
        vec!["cpu exhausted (600 needed > 500 limit)".to_string()]
    );
    // Zero is unlimited.
    assert!(used.exceeds(&ask, &QuotaResources::default()).is_empty());
}

#[test]
fn quota_spec_validation_reports_every_problem() {
    let q = QuotaSpec {
        name: "bad name".into(),
        limits: vec![
            QuotaLimit {
                region: "global".into(),
                ..Default::default()
            },
            QuotaLimit {
                region: "global".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let e = q.validate().unwrap_err();
    assert!(e.contains("Name:") && e.contains("Limits[1].Region"), "{e}");
}

#[test]
fn limit_hash_is_stable_and_changes_with_the_limit() {
    let mut l = QuotaLimit {
        region: "global".into(),
        ..Default::default()
    };
    let a = limit_hash(&l);
    assert_eq!(a, limit_hash(&l));
    l.region_limit.cpu = 1;
    assert_ne!(a, limit_hash(&l));
}

#[test]
fn capabilities_enable_and_disable_drivers() {
    let c = NamespaceCapabilities {
        enabled_task_drivers: vec!["raw_exec".into(), "exec".into()],
        disabled_task_drivers: vec!["exec".into()],
    };
    assert!(c.allows("raw_exec"));
    assert!(!c.allows("exec"));
    assert!(!c.allows("docker"));
    assert!(NamespaceCapabilities::default().allows("docker"));
}

#[test]
fn weight_is_a_json_field_and_rides_in_meta_in_postcard() {
    let ns: Namespace = serde_json::from_str(r#"{"Name": "a"}"#).unwrap();
    assert_eq!(ns.weight, 1, "Nomad's namespaces get weight 1");
    let mut ns: Namespace = serde_json::from_str(r#"{"Name": "a", "Weight": 3}"#).unwrap();
    assert_eq!(ns.weight, 3);
    ns.meta.insert("team".into(), "x".into());
    let json = serde_json::to_value(&ns).unwrap();
    assert_eq!(json["Weight"], 3);
    assert_eq!(json["Meta"], serde_json::json!({"team": "x"}));

    let bytes = postcard::to_allocvec(&ns).unwrap();
    let back: Namespace = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, ns);
    // Weight 1 encodes exactly as before the field existed.
    let plain = Namespace {
        name: "a".into(),
        ..Namespace::default()
    };
    let old_layout = postcard::to_allocvec(&(
        "a",
        "",
        "",
        None::<NamespaceCapabilities>,
        std::collections::BTreeMap::<String, String>::new(),
        0u64,
        0u64,
    ))
    .unwrap();
    assert_eq!(postcard::to_allocvec(&plain).unwrap(), old_layout);
}

#[test]
fn weight_and_reserved_meta_keys_are_checked() {
    let mut ns = Namespace {
        name: "a".into(),
        weight: 0,
        ..Namespace::default()
    };
    assert!(
        ns.validate()
            .unwrap_err()
            .contains("Weight: 0 is out of range")
    );
    ns.weight = 1001;
    assert!(ns.validate().is_err());
    ns.weight = 1000;
    assert!(ns.validate().is_ok());
    ns.meta.insert(WEIGHT_META_KEY.into(), "5".into());
    assert!(ns.validate().unwrap_err().contains("NUL"));
}
