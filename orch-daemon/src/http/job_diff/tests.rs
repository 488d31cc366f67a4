use super::*;

fn job(json: Value) -> Job {
    serde_json::from_value(json).expect("test job decodes")
}

#[test]
fn diff_of_two_versions() {
    let base = serde_json::json!({
        "ID": "web", "Name": "web", "Type": "service", "Datacenters": ["dc1"],
        "Meta": {"owner": "a"}, "Version": 0,
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [
            {"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"},
             "Resources": {"CPU": 100, "MemoryMB": 64}}]}]
    });
    let mut next = base.clone();
    next["Version"] = 1.into();
    next["Datacenters"] = serde_json::json!(["dc1", "dc2"]);
    next["Meta"]["owner"] = "b".into();
    next["TaskGroups"][0]["Count"] = 3.into();
    next["TaskGroups"][0]["Tasks"][0]["Resources"]["MemoryMB"] = 128.into();
    let d = diff_jobs(Some(&job(base.clone())), Some(&job(next)));
    assert_eq!(d.kind, DiffType::Edited);
    assert_eq!(d.id, "web");
    // Version is bookkeeping, not a change.
    assert!(d.fields.iter().all(|f| f.name != "Version"));
    let owner = d.fields.iter().find(|f| f.name == "Meta[owner]").unwrap();
    assert_eq!(
        (owner.kind, owner.old.as_str(), owner.new.as_str()),
        (DiffType::Edited, "a", "b")
    );
    let dcs = d.objects.iter().find(|o| o.name == "Datacenters").unwrap();
    assert_eq!(dcs.kind, DiffType::Edited);
    assert!(
        dcs.fields
            .iter()
            .any(|f| f.kind == DiffType::Added && f.new == "dc2")
    );
    assert!(
        dcs.fields
            .iter()
            .any(|f| f.kind == DiffType::None && f.old == "dc1")
    );
    let g = &d.task_groups[0];
    assert_eq!((g.kind, g.name.as_str()), (DiffType::Edited, "g"));
    let count = g.fields.iter().find(|f| f.name == "Count").unwrap();
    assert_eq!(
        (count.kind, count.old.as_str(), count.new.as_str()),
        (DiffType::Edited, "1", "3")
    );
    let t = &g.tasks[0];
    assert_eq!(t.kind, DiffType::Edited);
    let res = t.objects.iter().find(|o| o.name == "Resources").unwrap();
    let mem = res.fields.iter().find(|f| f.name == "MemoryMB").unwrap();
    assert_eq!(
        (mem.kind, mem.old.as_str(), mem.new.as_str()),
        (DiffType::Edited, "64", "128")
    );
    // Contextual: the unchanged CPU is listed too.
    let cpu = res.fields.iter().find(|f| f.name == "CPU").unwrap();
    assert_eq!((cpu.kind, cpu.new.as_str()), (DiffType::None, "100"));

    let same = diff_jobs(Some(&job(base.clone())), Some(&job(base.clone())));
    assert_eq!(same.kind, DiffType::None);
    assert!(same.objects.is_empty());
    assert_eq!(diff_jobs(None, Some(&job(base))).kind, DiffType::Added);
}
