//! The agent's counters and timing samples (Nomad's go-metrics `Counters` and
//! `Samples`): HTTP and RPC requests, scheduler invocations, plan application and Raft
//! commits record here, and `/v1/metrics` reports them beside its gauges.
//!
//! One registry per process, as go-metrics' global sink is: every layer records
//! without threading a handle through. Figures are cumulative since the process
//! started (Prometheus counters and summaries are too); `Rate` is the sum per second
//! over that time. Names and label sets are fixed by the code, never by input, so the
//! number of series is bounded; a label value an input could choose (a route) is the
//! route's pattern, not the path.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Labels of one series, in order.
pub type Labels = Vec<(&'static str, String)>;

/// Most series kept per metric name: a bound on memory whatever the traffic (beyond
/// it new label combinations are folded into one `other` series).
const MAX_SERIES_PER_NAME: usize = 512;

/// A counter's or a sample's aggregate (go-metrics' `AggregateSample`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Aggregate {
    /// Values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Sum of squares, for the standard deviation.
    pub sum_sq: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Aggregate {
    fn record(&mut self, v: f64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        if self.count == 0 || v > self.max {
            self.max = v;
        }
        self.count += 1;
        self.sum += v;
        self.sum_sq += v * v;
    }

    /// The mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The sample standard deviation (0 with fewer than two values).
    pub fn stddev(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = self.count as f64;
        let var = (self.sum_sq - self.sum * self.sum / n) / (n - 1.0);
        var.max(0.0).sqrt()
    }
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<&'static str, BTreeMap<Labels, Aggregate>>,
    samples: BTreeMap<&'static str, BTreeMap<Labels, Aggregate>>,
}

fn registry() -> &'static (Instant, Mutex<Registry>) {
    static REGISTRY: OnceLock<(Instant, Mutex<Registry>)> = OnceLock::new();
    REGISTRY.get_or_init(|| (Instant::now(), Mutex::new(Registry::default())))
}

fn record(
    kind: fn(&mut Registry) -> &mut BTreeMap<&'static str, BTreeMap<Labels, Aggregate>>,
    name: &'static str,
    labels: Labels,
    v: f64,
) {
    let mut r = registry().1.lock().unwrap_or_else(|e| e.into_inner());
    let series = kind(&mut r).entry(name).or_default();
    let labels = if series.len() >= MAX_SERIES_PER_NAME && !series.contains_key(&labels) {
        vec![("series", "other".to_string())]
    } else {
        labels
    };
    series.entry(labels).or_default().record(v);
}

/// Adds `n` to a counter.
pub fn incr(name: &'static str, labels: Labels, n: u64) {
    record(|r| &mut r.counters, name, labels, n as f64);
}

/// Records a duration, in milliseconds, in a sample (go-metrics' `MeasureSince`).
pub fn measure(name: &'static str, labels: Labels, took: Duration) {
    record(
        |r| &mut r.samples,
        name,
        labels,
        took.as_secs_f64() * 1000.0,
    );
}

/// One series as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name (`nomad.http.request`).
    pub name: &'static str,
    /// Its labels.
    pub labels: Labels,
    /// What was recorded.
    pub value: Aggregate,
}

/// Every counter and every sample, in name and label order, and the seconds the
/// process has recorded for (`Rate`'s denominator).
pub fn snapshot() -> (Vec<Series>, Vec<Series>, f64) {
    let (started, r) = registry();
    let r = r.lock().unwrap_or_else(|e| e.into_inner());
    let flat = |m: &BTreeMap<&'static str, BTreeMap<Labels, Aggregate>>| {
        m.iter()
            .flat_map(|(name, series)| {
                series.iter().map(|(labels, value)| Series {
                    name,
                    labels: labels.clone(),
                    value: *value,
                })
            })
            .collect::<Vec<_>>()
    };
    let secs = started.elapsed().as_secs_f64().max(1.0);
    (flat(&r.counters), flat(&r.samples), secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_count_sum_extremes_and_spread() {
        let mut a = Aggregate::default();
        for v in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            a.record(v);
        }
        assert_eq!((a.count, a.sum, a.min, a.max), (8, 40.0, 2.0, 9.0));
        assert_eq!(a.mean(), 5.0);
        assert!((a.stddev() - 2.138).abs() < 0.001, "{}", a.stddev());
    }

    #[test]
    fn series_are_bounded_per_name() {
        for i in 0..(MAX_SERIES_PER_NAME + 10) {
            incr("orch.test.bounded", vec![("i", i.to_string())], 1);
        }
        let (counters, _, _) = snapshot();
        let mine: Vec<&Series> = counters
            .iter()
            .filter(|s| s.name == "orch.test.bounded")
            .collect();
        assert_eq!(mine.len(), MAX_SERIES_PER_NAME + 1);
        let other = mine
            .iter()
            .find(|s| s.labels == vec![("series", "other".to_string())])
            .expect("an overflow series");
        assert_eq!(other.value.count, 10);
    }
}
