use super::*;
use crate::state::Command;
use crate::state::testutil::{alloc, job, node, plan, register, register_node};

#[test]
fn a_stop_takes_over_an_update_of_the_same_allocation_and_unstop_restores_it() {
    let mut s = StateStore::new();
    s.apply(1, register_node(node("n1"))).unwrap();
    s.apply(2, register(job("web"))).unwrap();
    let mut a = alloc("a1", "web", "n1", 0);
    a.allocated_resources.tasks.insert(
        "server".into(),
        crate::model::AllocatedTaskResources {
            cpu: crate::model::AllocatedCpuResources {
                cpu_shares: 100,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    s.apply(3, Command::ApplyPlanResults(plan(vec![a.clone()])))
        .unwrap();
    let before = s.node_usage("n1");
    let mut ctx = PlanContext::new(&s, "default", "web", Plan::default());
    let mut followup = a.clone();
    followup.followup_eval_id = "f1".into();
    ctx.place(followup);
    assert_eq!(ctx.used("n1"), before);
    ctx.stop(&a, "alloc is being updated due to job update", None);
    assert!(ctx.plan.node_allocation.is_empty(), "the stop wins");
    assert_eq!(ctx.plan.node_update["n1"].len(), 1);
    assert_eq!(ctx.used("n1"), Usage::default());
    ctx.stop(&a, "again", None);
    assert_eq!(ctx.plan.node_update["n1"].len(), 1, "stopped once");
    ctx.unstop(&a);
    assert!(ctx.plan.node_update.is_empty());
    assert_eq!(ctx.plan.node_allocation["n1"][0].followup_eval_id, "f1");
    assert_eq!(ctx.used("n1"), before);
}
