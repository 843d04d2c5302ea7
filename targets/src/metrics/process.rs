//! The process's own CPU seconds, resident memory and start time under the Prometheus
//! process-collector names, read from /proc/self/stat when /metrics is rendered (no background thread), so a harness
//! that did not start the target, and cannot read its /proc, still gets its CPU and memory.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::contract::metric;

/// What /proc/self/stat says of this process now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessReading {
    /// User + system CPU, in seconds (whole clock ticks).
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// When the process started, in seconds since the Unix epoch (whole clock ticks): a reader
    /// that gets another value at its next scrape is talking to another process.
    pub start_time_seconds: f64,
}

impl ProcessReading {
    /// This process now; None where /proc cannot be read (the metrics are then left out, never 0).
    pub fn now() -> Option<ProcessReading> {
        let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
        let ticks = procfs::ticks_per_second().max(1) as f64;
        let boot = procfs::boot_time_secs().ok()?;
        Some(ProcessReading {
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
            resident_bytes: stat.rss.saturating_mul(procfs::page_size()),
            start_time_seconds: boot as f64 + stat.starttime as f64 / ticks,
        })
    }
}

/// Encodes a [`ProcessReading`] at every scrape.
#[derive(Debug, Default)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(now) = ProcessReading::now() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(now.cpu_seconds);
        let name = metric::PROCESS_CPU_SECONDS.trim_end_matches("_total");
        cpu.encode(encoder.encode_descriptor(
            name,
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let rss = ConstGauge::new(i64::try_from(now.resident_bytes).unwrap_or(i64::MAX));
        let help = "Resident memory size in bytes";
        rss.encode(encoder.encode_descriptor(metric::PROCESS_RESIDENT_MEMORY, help, None, rss.metric_type())?)?;
        let start = ConstGauge::new(now.start_time_seconds);
        let help = "Start time of the process since unix epoch in seconds";
        start.encode(encoder.encode_descriptor(metric::PROCESS_START_TIME, help, None, start.metric_type())?)?;
        Ok(())
    }
}
