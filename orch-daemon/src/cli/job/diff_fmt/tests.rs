use serde_json::json;

#[test]
fn prints_like_nomad() {
    let d = json!({"Type": "Edited", "ID": "example", "Fields": [], "Objects": [],
            "TaskGroups": [{"Type": "Edited", "Name": "cache", "Objects": [],
                "Fields": [{"Type": "Edited", "Name": "Count", "Old": "1", "New": "3"}],
                "Tasks": [{"Type": "Edited", "Name": "redis", "Fields": [], "Objects": [
                    {"Type": "Edited", "Name": "Resources", "Objects": [], "Fields": [
                        {"Type": "None", "Name": "CPU", "Old": "500", "New": "500"},
                        {"Type": "Edited", "Name": "MemoryMB", "Old": "256", "New": "512"}]}]}]}]});
    let text = super::format_job_diff(&d, false);
    assert_eq!(
        text,
        [
            "+/- Job: \"example\"",
            "+/- Task Group: \"cache\"",
            "  +/- Count: \"1\" => \"3\"",
            "  +/- Task: \"redis\"",
            "    +/- Resources {",
            "          CPU: \"500\"",
            "      +/- MemoryMB: \"256\" => \"512\"",
            "        }",
        ]
        .join("\n")
    );
}
