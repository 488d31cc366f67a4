use super::*;

#[test]
fn nomads_quota_file_becomes_the_api_shape() {
    let v = parse_hcl(
        r#"
name = "q"
description = "d"
limit {
  region = "global"
  region_limit {
    cpu = 2500
    memory = 1000
  }
  variables_limit = 10
}
limit {
  region = "europe"
  region_limit { cores = 2 }
}
"#,
    )
    .unwrap();
    assert_eq!(v["Limits"][0]["RegionLimit"]["CPU"], 2500);
    assert_eq!(v["Limits"][0]["VariablesLimit"], 10);
    assert_eq!(v["Limits"][1]["RegionLimit"]["Cores"], 2);
    let one = parse_hcl("name = \"q\"\nlimit {\n region = \"global\"\n}\n").unwrap();
    assert_eq!(one["Limits"][0]["Region"], "global");
    let e = parse_hcl("name = \"q\"\nlimit {\n region = \"g\"\n region_limit { disk = 1 }\n}\n")
        .unwrap_err();
    assert!(e.contains("region_limit"), "{e}");
}
