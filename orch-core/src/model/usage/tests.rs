use super::*;
use crate::model::{AllocatedTaskResources, Task, client_status};

#[test]
fn fits_reports_first_exhausted_dimension() {
    let cap = Usage {
        cpu_mhz: 1000,
        cores: 0,
        memory_mb: 1000,
        disk_mb: 1000,
    };
    let used = Usage {
        cpu_mhz: 900,
        ..Usage::default()
    };
    let ask = Usage {
        cpu_mhz: 200,
        memory_mb: 2000,
        ..Usage::default()
    };
    assert_eq!(cap.fits(&used, &ask), Err(dimension::CPU));
    assert_eq!(cap.fits(&Usage::default(), &ask), Err(dimension::MEMORY));
    assert_eq!(
        cap.fits(
            &used,
            &Usage {
                cpu_mhz: 100,
                ..Usage::default()
            }
        ),
        Ok(())
    );
}

#[test]
fn terminal_allocations_hold_nothing() {
    let mut a = Allocation {
        desired_status: "run".into(),
        client_status: "running".into(),
        ..Allocation::default()
    };
    let mut t = AllocatedTaskResources::default();
    t.cpu.cpu_shares = 250;
    t.memory.memory_mb = 64;
    a.allocated_resources.tasks.insert("t".into(), t);
    assert_eq!(a.usage().cpu_mhz, 250);
    a.client_status = client_status::COMPLETE.into();
    assert_eq!(a.usage(), Usage::default());
}

#[test]
fn group_ask_sums_tasks_and_disk() {
    let mut g = TaskGroup::default();
    g.tasks.push(Task::default());
    g.tasks.push(Task::default());
    g.tasks[1].resources.cores = 2;
    let ask = g.ask();
    assert_eq!(
        (ask.cpu_mhz, ask.cores, ask.memory_mb, ask.disk_mb),
        (100, 2, 600, 300)
    );
}
