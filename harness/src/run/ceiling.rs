//! The load generator's own ceiling: goose closed-loop on the `none` floor's /api/me (the same
//! server and response as every strategy, no auth work, no store), then wrk on the same endpoint
//! with the same credential and connections, so a case that "saturated" can be told from a load
//! generator that did.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use authbench_scenarios::{bare, LoadModel, Recorder};
use authbench_targets::contract::{self, route};
use authbench_targets::spec::{StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use goose::config::GooseConfiguration;
use goose::GooseAttack;
use indicatif::ProgressBar;

use super::case::users_ready;
use super::progress::sleep_watching;
use super::target::{Launch, TargetProcess};
use super::{cpu, Runner, Timing};
use crate::model::matrix::Matrix;
use crate::model::results::{self, LoadgenCeiling, Skipped};

/// The id the ceiling has among skipped entries when it did not finish.
pub(super) const ID: &str = "loadgen-ceiling";

/// What `wrk_note` says when wrk is not on the PATH.
const WRK_MISSING: &str = "wrk not installed: scripts/install-deps.sh installs it";

/// Measures the ceiling and records it, or why it did not finish, then rewrites results.json.
pub(super) async fn record(runner: &mut Runner<'_>, launch: &Launch<'_>) -> anyhow::Result<()> {
    match measure(runner.m, launch, runner.timing).await {
        Ok(Some(c)) => {
            eprintln!("{}", summary(&c));
            runner.results.loadgen_ceiling = Some(c);
        }
        Ok(None) => runner
            .results
            .skipped
            .push(Skipped { id: ID.into(), reason: "interrupted before its window completed".into() }),
        Err(e) => {
            eprintln!("authbench: load generator ceiling failed: {e:#}");
            runner.results.skipped.push(Skipped { id: ID.into(), reason: format!("failed: {e:#}") });
        }
    }
    Ok(results::write(runner.results, launch.out)?)
}

/// The one-line summary printed when the ceiling is measured.
fn summary(c: &LoadgenCeiling) -> String {
    let wrk = match (c.wrk_rps, &c.wrk_note) {
        (Some(rps), _) => format!("wrk {rps:.0} req/s"),
        (None, Some(note)) => format!("wrk not measured ({note})"),
        (None, None) => "wrk not measured".to_owned(),
    };
    format!(
        "✓ load generator ceiling on {} with {} connections: authbench {:.0} req/s at {:.2} of a core; {wrk}",
        c.endpoint, c.connections, c.authbench_rps, c.authbench_loadgen_share
    )
}

/// Connections for both generators: the users of the matrix's first closed load (a population's
/// users think between requests: not a connection count to saturate with).
fn connections(m: &Matrix) -> anyhow::Result<usize> {
    m.loads
        .iter()
        .map(|l| &l.load)
        .find(|l| l.model == LoadModel::Closed && l.population.is_none())
        .map(|l| l.users)
        .filter(|n| *n > 0)
        .context("the matrix has no closed load to take the number of connections from")
}

/// The header the ceiling's requests carry: the floor's credential for the admin, whom every
/// target seeds.
fn credential() -> (&'static str, String) {
    ("authorization", format!("Bearer {}", contract::ADMIN_USER))
}

/// The ceiling on a fresh `none` target; None when Ctrl-C cut the goose window short.
async fn measure(m: &Matrix, launch: &Launch<'_>, timing: &Timing) -> anyhow::Result<Option<LoadgenCeiling>> {
    let connections = connections(m)?;
    let floor = TargetSpec { strategy: StrategyKind::None, ..TargetSpec::jwt(Alg::Hs256) };
    let target = TargetProcess::start(&floor, launch, ID).await?;
    let pb = ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(200));
    let ceiling = goose_then_wrk(&target, connections, timing, &pb).await;
    pb.finish_and_clear();
    target.stop().await;
    ceiling
}

/// Goose's window, then wrk for as long with as many connections.
async fn goose_then_wrk(
    target: &TargetProcess,
    connections: usize,
    timing: &Timing,
    pb: &ProgressBar,
) -> anyhow::Result<Option<LoadgenCeiling>> {
    pb.set_message(format!("load generator ceiling: authbench, {connections} connections on {}", route::ME));
    let Some(g) = drive_goose(target, connections, timing, pb).await? else {
        return Ok(None);
    };
    pb.set_message(format!("load generator ceiling: wrk, {connections} connections on {}", route::ME));
    let (wrk_rps, wrk_note) = wrk(target, connections, timing.duration).await;
    let seconds = g.window.as_secs_f64();
    Ok(Some(LoadgenCeiling {
        endpoint: route::ME.to_owned(),
        connections,
        duration_s: seconds,
        authbench_rps: g.requests as f64 / seconds,
        authbench_loadgen_share: g.cpu_us as f64 / (seconds * 1e6),
        wrk_rps,
        wrk_note,
    }))
}

/// What goose reached in its window.
struct GooseWindow {
    requests: u64,
    /// The harness process's CPU over the window, µs.
    cpu_us: u64,
    window: Duration,
}

fn goose_config(target: &TargetProcess, connections: usize) -> GooseConfiguration {
    let mut cfg = GooseConfiguration::default();
    cfg.host = Some(target.url());
    cfg.users = Some(connections);
    cfg.increase_rate = Some(format!("{}", (connections * 4).max(1)));
    cfg.run_time = Some("3600".into());
    cfg.quiet = 1;
    cfg.no_print_metrics = true;
    cfg.no_error_summary = true;
    cfg.no_telnet = true;
    cfg
}

/// Goose users GET the endpoint back to back: warm-up, then the window between two readings of
/// this process's CPU. None when Ctrl-C came first.
async fn drive_goose(
    target: &TargetProcess,
    connections: usize,
    timing: &Timing,
    pb: &ProgressBar,
) -> anyhow::Result<Option<GooseWindow>> {
    let recorder = Recorder::new();
    let scenario = bare::scenario(route::ME, Some(credential()), Arc::clone(&recorder));
    let attack = GooseAttack::initialize_with_config(goose_config(target, connections))?.register_scenario(scenario);
    let log = target.log_path.display().to_string();
    let Some(handle) = users_ready(tokio::spawn(attack.execute()), &recorder, connections, &log).await? else {
        return Ok(None);
    };
    let window = window(&recorder, timing, pb).await;
    goose::trigger_killswitch("authbench: ceiling window complete");
    handle.await.context("load generator task failed")?.context("goose failed")?;
    let Some((window, cpu_us)) = window? else {
        return Ok(None);
    };
    let w = recorder.take();
    let failed: u64 = w.statuses.iter().filter(|(s, _)| !(200..300).contains(*s)).map(|(_, n)| n).sum();
    anyhow::ensure!(!w.histogram.is_empty(), "no request to {} completed in the window", route::ME);
    anyhow::ensure!(failed == 0, "{failed} of {} requests to {} failed", w.histogram.len(), route::ME);
    Ok(Some(GooseWindow { requests: w.histogram.len(), cpu_us, window }))
}

/// The warm-up, then the recorded window: its length and this process's CPU over it.
async fn window(recorder: &Recorder, timing: &Timing, pb: &ProgressBar) -> anyhow::Result<Option<(Duration, u64)>> {
    if !sleep_watching(timing.warmup, pb).await {
        return Ok(None);
    }
    let self_cpu = || cpu::self_us().context("reading this process's CPU time from /proc failed");
    let before = self_cpu()?;
    recorder.set_recording(true);
    let started = Instant::now();
    let complete = sleep_watching(timing.duration, pb).await;
    recorder.set_recording(false);
    let window = started.elapsed();
    let after = self_cpu()?;
    Ok(complete.then_some((window, after.saturating_sub(before))))
}

/// wrk on the same endpoint and connections for the same duration: its req/s, or a note why not.
async fn wrk(target: &TargetProcess, connections: usize, duration: Duration) -> (Option<f64>, Option<String>) {
    let seconds = duration.as_secs_f64().ceil().max(1.0);
    let url = format!("{}{}", target.url(), route::ME);
    let (name, value) = credential();
    let header = format!("{name}: {value}");
    let run = tokio::process::Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-H", &header, &url])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(Duration::from_secs_f64(seconds + 30.0), run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return (None, Some(WRK_MISSING.into())),
        Ok(Err(e)) => return (None, Some(format!("wrk could not start: {e}"))),
        Err(_) => return (None, Some(format!("wrk did not finish within {:.0} s", seconds + 30.0))),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return (None, Some(format!("wrk failed ({}): {}", out.status, err.lines().next().unwrap_or_default())));
    }
    read_wrk(&String::from_utf8_lossy(&out.stdout))
}

/// Requests/sec from wrk's output, and a note naming the errors wrk counted, if any.
fn read_wrk(out: &str) -> (Option<f64>, Option<String>) {
    let lines = || out.lines().map(str::trim);
    let rps = lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse::<f64>().ok());
    let errors: Vec<&str> =
        lines().filter(|l| l.starts_with("Socket errors:") || l.starts_with("Non-2xx or 3xx responses:")).collect();
    let note = match (rps, errors.is_empty()) {
        (None, _) => Some("wrk printed no Requests/sec line".to_owned()),
        (Some(_), true) => None,
        (Some(_), false) => Some(format!("wrk counted {}", errors.join("; "))),
    };
    (rps, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wrk 4.1's output for `wrk -t1 -c8 -d3s --latency`.
    const WRK_SAMPLE: &str = "Running 3s test @ http://127.0.0.1:40111/.well-known/jwks.json
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   103.12us   48.20us   2.14ms   91.37%
    Req/Sec    71.52k     3.10k   75.40k    80.00%
  Latency Distribution
     50%   96.00us
     75%  112.00us
     90%  135.00us
     99%  261.00us
  213548 requests in 3.00s, 64.99MB read
Requests/sec:  71180.52
Transfer/sec:     21.66MB
";

    #[test]
    fn wrk_requests_per_second_are_read_from_its_output() {
        assert_eq!(read_wrk(WRK_SAMPLE), (Some(71180.52), None));
    }

    #[test]
    fn wrk_errors_are_noted_and_a_missing_figure_is_not_zero() {
        let with_errors = WRK_SAMPLE.replace(
            "Requests/sec:",
            "  Socket errors: connect 0, read 2, write 0, timeout 0\n  Non-2xx or 3xx responses: 5\nRequests/sec:",
        );
        let (rps, note) = read_wrk(&with_errors);
        assert_eq!(rps, Some(71180.52));
        assert_eq!(
            note.as_deref(),
            Some("wrk counted Socket errors: connect 0, read 2, write 0, timeout 0; Non-2xx or 3xx responses: 5")
        );
        assert_eq!(read_wrk("unable to connect to 127.0.0.1:1 Connection refused\n").0, None);
        assert!(read_wrk("").1.is_some_and(|n| n.contains("no Requests/sec")));
    }

    #[test]
    fn connections_are_the_first_closed_loads_users() {
        let m = crate::model::matrix::Profile::Standard.matrix().unwrap();
        let first_closed = m.loads.iter().find(|l| l.load.model == LoadModel::Closed).unwrap().load.users;
        assert_eq!(connections(&m).unwrap(), first_closed);
        let open_only =
            Matrix { loads: m.loads.iter().filter(|l| l.load.model != LoadModel::Closed).cloned().collect(), ..m };
        assert!(connections(&open_only).unwrap_err().to_string().contains("no closed load"));
    }
}
