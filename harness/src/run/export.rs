//! Latency histograms in HdrHistogram's standard formats, so other tools can read them.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

/// Writes the `.hgrm` percentile distribution (HdrHistogram's text format, values in µs).
pub fn write_hgrm(h: &Histogram<u64>, path: &Path) -> std::io::Result<()> {
    let mut out = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 { format!("{:14.2}", 1.0 / (1.0 - q)) } else { String::from("           inf") };
        out.push_str(&format!("{:12.3} {:14.12} {:10} {}\n", v.value_iterated_to() as f64, q, total, inv));
    }
    out.push_str(&format!(
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]\n#[Buckets = {:12}, SubBuckets     = {:12}]\n",
        h.mean(),
        h.stdev(),
        h.max() as f64,
        h.len(),
        h.buckets(),
        h.distinct_values()
    ));
    std::fs::write(path, out)
}

/// Writes a one-interval HdrHistogram V2 log (`.hlog`), readable by HistogramLogProcessor.
pub fn write_hlog(
    h: &Histogram<u64>,
    start: SystemTime,
    window: Duration,
    tag: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder.add_comment("authbench latency, microseconds").with_start_time(start).with_base_time(start);
    let mut writer = builder.begin_log_with(&mut file, &mut serializer)?;
    let tag = hdrhistogram::serialization::interval_log::Tag::new(tag);
    writer
        .write_histogram(h, Duration::ZERO, window, tag)
        .map_err(|e| anyhow::anyhow!("writing the histogram log failed: {e:?}"))?;
    drop(writer);
    file.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_formats_hold_the_histogram() {
        let mut h = authbench_scenarios::recorder::new_histogram();
        for v in [10, 20, 30, 1000, 5000] {
            h.record(v).unwrap();
        }
        let dir = std::env::temp_dir().join(format!("authbench-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_hgrm(&h, &dir.join("x.hgrm")).unwrap();
        let text = std::fs::read_to_string(dir.join("x.hgrm")).unwrap();
        assert!(text.contains("Total count    =            5"), "{text}");
        write_hlog(&h, SystemTime::now(), Duration::from_secs(1), "case", &dir.join("x.hlog")).unwrap();
        let log = std::fs::read(dir.join("x.hlog")).unwrap();
        let n = hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log)
            .filter(|e| matches!(e, Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(_))))
            .count();
        assert_eq!(n, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
