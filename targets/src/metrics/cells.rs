//! The metric cells the request path updates: a counter, a counter of seconds and a latency
//! histogram, each split into per-thread shards on their own cache lines. Every request adds to
//! several of them from whichever worker serves it; one shared atomic per figure made the workers
//! pass its cache line back and forth on every add. A shard is picked once per thread, the figure
//! read at a scrape is the exact sum of its shards, and Prometheus sees plain counters and
//! histograms.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Shards per cell: more than the threads that serve requests on this machine's sizes.
const SHARDS: usize = 8;

/// The shard of the calling thread, picked round-robin on its first use.
fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS);
    SHARD.with(|s| *s)
}

/// One atomic alone on its cache line (two lines: adjacent-line prefetch pairs them).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

/// A counter: [`Count::inc_by`] adds to the calling thread's shard.
#[derive(Clone, Debug, Default)]
pub struct Count(Arc<[Padded; SHARDS]>);

impl Count {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0[shard()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total over every shard.
    pub fn get(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for Count {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Count {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// A counter of seconds kept in whole nanoseconds, so its sum is exact.
#[derive(Clone, Debug, Default)]
pub struct Seconds(Count);

impl Seconds {
    /// Adds a duration.
    pub fn add(&self, took: Duration) {
        self.0.inc_by(nanos(took));
    }
}

impl TypedMetric for Seconds {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Seconds {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&(self.0.get() as f64 / 1e9), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Upper bounds of the latency buckets, seconds: 5 µs doubling to ~2.6 s, an in-process map
/// lookup up to a store timing out.
const LATENCY_BOUNDS: [f64; 20] = {
    let mut b = [0.000_005; 20];
    let mut i = 1;
    while i < 20 {
        b[i] = b[i - 1] * 2.0;
        i += 1;
    }
    b
};

/// One thread's share of a histogram: per bucket (then one above the last bound), count and sum.
#[derive(Debug, Default)]
#[repr(align(128))]
struct LatencyShard {
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

/// A Prometheus histogram of seconds; an observation is three relaxed adds to the calling
/// thread's shard, where the client library's histogram takes a write lock.
#[derive(Clone, Debug, Default)]
pub struct Latency(Arc<[LatencyShard; SHARDS]>);

impl Latency {
    /// Counts one observation.
    pub fn observe(&self, took: Duration) {
        let s = &self.0[shard()];
        let secs = took.as_secs_f64();
        let i = LATENCY_BOUNDS.iter().position(|b| secs <= *b).unwrap_or(LATENCY_BOUNDS.len());
        s.buckets[i].fetch_add(1, Ordering::Relaxed);
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum_ns.fetch_add(nanos(took), Ordering::Relaxed);
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let total = |f: &dyn Fn(&LatencyShard) -> &AtomicU64| -> u64 {
            self.0.iter().map(|s| f(s).load(Ordering::Relaxed)).sum()
        };
        let bounds = LATENCY_BOUNDS.iter().copied().chain(std::iter::once(f64::MAX));
        let buckets: Vec<(f64, u64)> = bounds.enumerate().map(|(i, b)| (b, total(&|s| &s.buckets[i]))).collect();
        let sum = total(&|s| &s.sum_ns) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, total(&|s| &s.count), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_from_many_threads_sum_exactly() {
        let (c, l) = (Count::default(), Latency::default());
        std::thread::scope(|s| {
            for _ in 0..12 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        c.inc_by(3);
                        l.observe(Duration::from_nanos(7));
                    }
                });
            }
        });
        assert_eq!(c.get(), 12 * 1000 * 3);
        let count: u64 = l.0.iter().map(|s| s.count.load(Ordering::Relaxed)).sum();
        let sum: u64 = l.0.iter().map(|s| s.sum_ns.load(Ordering::Relaxed)).sum();
        assert_eq!((count, sum), (12_000, 12_000 * 7));
    }
}
