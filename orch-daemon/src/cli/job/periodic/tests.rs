use super::*;

#[test]
fn next_periodic_launch_reads_as_nomads() {
    // 2024-03-09 00:00:00.5 UTC.
    let now = 1_709_942_400 * NANOS + NANOS / 2;
    let utc =
        json!({"Enabled": true, "Spec": "*/15 * * * *", "SpecType": "cron", "TimeZone": "UTC"});
    assert_eq!(
        next_periodic_launch(&utc, now).as_deref(),
        Some("2024-03-09T00:15:00Z (15m0s from now)")
    );
    let ny = json!({"Enabled": true, "Spec": "30 9 * * *", "TimeZone": "America/New_York"});
    assert_eq!(
        next_periodic_launch(&ny, now).as_deref(),
        Some("2024-03-09T09:30:00-05:00 (14h30m0s from now)")
    );
    let off = json!({"Enabled": false, "Spec": "* * * * *"});
    assert_eq!(next_periodic_launch(&off, now), None);
    assert_eq!(next_periodic_launch(&Value::Null, now), None);
}
