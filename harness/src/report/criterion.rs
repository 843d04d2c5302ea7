//! Criterion's estimates read back from its output directory, so a report can cite the microbenchmarks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

/// Why criterion's output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CriterionError {
    #[error("cannot read criterion output {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("criterion file {path} is not in the expected format: {source} (re-run cargo bench -p authbench-targets)")]
    Format { path: PathBuf, source: serde_json::Error },
}

/// One benchmark's time per iteration, in nanoseconds, with criterion's 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub ns: f64,
    pub lower_ns: f64,
    pub upper_ns: f64,
    /// Samples criterion took: 100 by default, 2 with --quick; None when its sample.json is missing.
    pub samples: Option<usize>,
}

/// Every estimate found under one criterion directory, by full id ("request_auth/jwt-HS256").
#[derive(Debug, Clone)]
pub struct Estimates {
    pub by_id: BTreeMap<String, Estimate>,
    /// When the newest estimate was written, RFC 3339: benchmarks may predate the load test.
    pub written: String,
}

impl Estimates {
    /// Microseconds for a benchmark, if it was run.
    pub fn us(&self, id: &str) -> Option<f64> {
        self.by_id.get(id).map(|e| e.ns / 1000.0)
    }
}

#[derive(Deserialize)]
struct BenchmarkFile {
    full_id: String,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct Point {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct EstimatesFile {
    mean: Point,
    slope: Option<Point>,
}

#[derive(Deserialize)]
struct SampleFile {
    iters: Vec<f64>,
}

fn json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CriterionError> {
    let text = std::fs::read(path).map_err(|source| CriterionError::Io { path: path.to_owned(), source })?;
    serde_json::from_slice(&text).map_err(|source| CriterionError::Format { path: path.to_owned(), source })
}

/// Reads `dir` (criterion's output, e.g. target/criterion); None when it does not exist or holds nothing.
pub fn read(dir: &Path) -> Result<Option<Estimates>, CriterionError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut by_id = BTreeMap::new();
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| CriterionError::Io { path: d.clone(), source })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            // The latest measurement lives in "new"; "base" and "change" are comparisons with older runs.
            if path.file_name().is_some_and(|n| n == "new") && path.join("estimates.json").is_file() {
                let bench: BenchmarkFile = json(&path.join("benchmark.json"))?;
                let est: EstimatesFile = json(&path.join("estimates.json"))?;
                let samples = json::<SampleFile>(&path.join("sample.json")).map(|s| s.iters.len()).ok();
                let typical = est.slope.unwrap_or(est.mean);
                by_id.insert(
                    bench.full_id,
                    Estimate {
                        ns: typical.point_estimate,
                        lower_ns: typical.confidence_interval.lower_bound,
                        upper_ns: typical.confidence_interval.upper_bound,
                        samples,
                    },
                );
                if let Ok(m) = std::fs::metadata(path.join("estimates.json")).and_then(|m| m.modified()) {
                    newest = newest.max(m);
                }
            } else if path.file_name().is_none_or(|n| n != "report") {
                pending.push(path);
            }
        }
    }
    if by_id.is_empty() {
        return Ok(None);
    }
    Ok(Some(Estimates { by_id, written: humantime::format_rfc3339_seconds(newest).to_string() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_bench(root: &Path, id: &str, mean: f64, slope: Option<f64>) {
        let dir = root.join(id).join("new");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("benchmark.json"), format!(r#"{{"group_id":"g","full_id":"{id}"}}"#)).unwrap();
        let point = |v: f64| {
            format!(
                r#"{{"point_estimate":{v},"confidence_interval":{{"lower_bound":{},"upper_bound":{}}}}}"#,
                v - 1.0,
                v + 1.0
            )
        };
        let slope = slope.map_or("null".to_owned(), point);
        std::fs::write(dir.join("estimates.json"), format!(r#"{{"mean":{},"slope":{slope}}}"#, point(mean))).unwrap();
        std::fs::write(dir.join("sample.json"), r#"{"sampling_mode":"Linear","iters":[1,2],"times":[5,10]}"#).unwrap();
        // An older measurement beside it must not be picked up.
        let base = root.join(id).join("base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("estimates.json"), "{}").unwrap();
    }

    #[test]
    fn reads_slope_when_present_else_mean() {
        let root = std::env::temp_dir().join(format!("authbench-criterion-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write_bench(&root, "request_auth/jwt-HS256", 3000.0, Some(2900.0));
        write_bench(&root, "jwt_signature/sign-cached-key/RS256", 357_000.0, None);
        let e = read(&root).unwrap().unwrap();
        assert_eq!(e.by_id.len(), 2);
        assert_eq!(e.us("request_auth/jwt-HS256"), Some(2.9));
        let rsa = e.by_id["jwt_signature/sign-cached-key/RS256"];
        assert_eq!((rsa.ns, rsa.lower_ns, rsa.upper_ns, rsa.samples), (357_000.0, 356_999.0, 357_001.0, Some(2)));
        std::fs::remove_dir_all(&root).unwrap();
        assert!(read(&root).unwrap().is_none(), "a missing directory is no estimates, not an error");
    }

    #[test]
    fn a_damaged_file_names_itself() {
        let root = std::env::temp_dir().join(format!("authbench-criterion-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write_bench(&root, "opaque_token/hash", 80.0, None);
        std::fs::write(root.join("opaque_token/hash/new/estimates.json"), "{").unwrap();
        let e = read(&root).unwrap_err().to_string();
        assert!(e.contains("opaque_token/hash/new/estimates.json"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
