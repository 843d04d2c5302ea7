//! `authbench run`: every case of the matrix on a fresh target, then the security probe per
//! target configuration; results.json is rewritten after each so nothing finished is lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use authbench_scenarios::recorder::Window;
use authbench_scenarios::{LoadModel, Plan, Recorder, ScenarioKind, Transport};
use goose::config::GooseConfiguration;
use goose::GooseAttack;
use indicatif::{ProgressBar, ProgressStyle};

use crate::matrix::{duration, LoadSpec, Matrix, TargetSpec};
use crate::provision::{provision, Stores};
use crate::results::{self, Bytes, Case, Cpu, HistogramData, Latency, Load, Results, Skipped, TargetInfo};
use crate::scrape::{scrape, Snapshot};
use crate::target::{Launch, TargetProcess};
use crate::{cpu, export, fingerprint, interrupt, probe};

/// Everything `authbench run` was asked for.
pub struct RunOptions {
    pub profile: String,
    pub matrix: Matrix,
    pub out: PathBuf,
    pub target_bin: PathBuf,
    pub postgres_url: Option<String>,
    pub redis_url: Option<String>,
    pub cli: serde_json::Value,
}

/// Deletes the run's signing keys however the run ends.
struct KeyDirGuard(PathBuf);

impl Drop for KeyDirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Timing {
    warmup: Duration,
    duration: Duration,
    probe_cap: Duration,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn file_name(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

fn target_info(t: &TargetSpec) -> TargetInfo {
    let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_owned());
    TargetInfo {
        id: t.id(),
        strategy: t.strategy.clone(),
        store: t.store.clone(),
        denylist: t.denylist.clone(),
        alg: (t.strategy != "session").then(|| t.alg.clone()),
        transport: t.transport.clone(),
        ttls: serde_json::json!({
            "token": or(&t.token_ttl, "7d"),
            "access": or(&t.access_ttl, "15m"),
            "refresh": or(&t.refresh_ttl, "30d"),
            "session": or(&t.session_ttl, "7d"),
        }),
    }
}

fn scenario_kind(name: &str) -> ScenarioKind {
    match name {
        "login" => ScenarioKind::Login,
        "refresh" => ScenarioKind::Refresh,
        "mixed" => ScenarioKind::Mixed,
        _ => ScenarioKind::Browse,
    }
}

/// Runs the matrix; returns the results directory.
pub async fn run(opts: RunOptions) -> anyhow::Result<PathBuf> {
    let m = &opts.matrix;
    let timing = Timing {
        warmup: duration("warmup", &m.warmup).map_err(anyhow::Error::msg)?,
        duration: duration("duration", &m.duration).map_err(anyhow::Error::msg)?,
        probe_cap: duration("probe_cap", &m.probe_cap).map_err(anyhow::Error::msg)?,
    };
    for sub in ["histograms", "goose", "logs"] {
        std::fs::create_dir_all(opts.out.join(sub))
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", opts.out.join(sub).display()))?;
    }
    anyhow::ensure!(
        opts.target_bin.exists(),
        "target binary {} not found: build it with cargo build --release -p authbench-targets or pass --target-bin",
        opts.target_bin.display()
    );

    // Signing keys live outside the results directory, which gets shared and committed.
    let key_dir = std::env::temp_dir().join(format!("authbench-keys-{}", std::process::id()));
    let _keys = KeyDirGuard(key_dir.clone());
    let uses = |s: &str| m.targets.iter().any(|t| t.store_needed() == Some(s));
    eprintln!("authbench: provisioning stores");
    let stores = provision(uses("postgres"), uses("redis"), opts.postgres_url.clone(), opts.redis_url.clone()).await;
    for (store, why) in &stores.missing {
        eprintln!("authbench: {store} unavailable, its cases are skipped: {why}");
    }
    let mut results = Results {
        schema: results::SCHEMA.into(),
        run_id: opts.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        status: "running".into(),
        started_at: now_rfc3339(),
        finished_at: None,
        profile: opts.profile.clone(),
        environment: fingerprint::collect(
            stores.postgres.as_ref().and_then(|e| e.version.as_deref()),
            stores.redis.as_ref().and_then(|e| e.version.as_deref()),
        ),
        config: serde_json::json!({ "matrix": m, "cli": opts.cli, "stores": {
            "postgres": stores.postgres.as_ref().map(|e| e.origin),
            "redis": stores.redis.as_ref().map(|e| e.origin),
        }}),
        method: results::method(),
        cases: Vec::new(),
        probes: Vec::new(),
        skipped: Vec::new(),
    };
    results::write(&results, &opts.out)?;

    let total = m.targets.len() * m.loads.len();
    let mut done = 0;
    for (ti, spec) in m.targets.iter().enumerate() {
        if interrupt::is_set() {
            break;
        }
        let tid = spec.id();
        if let Some(store) = spec.store_needed() {
            if let Err(why) = stores.endpoint(store) {
                for load in &m.loads {
                    results.skipped.push(Skipped { id: format!("{tid}/{}", load.id()), reason: why.clone() });
                }
                results.skipped.push(Skipped { id: format!("{tid}/probe"), reason: why });
                done += m.loads.len();
                results::write(&results, &opts.out)?;
                continue;
            }
        }
        let launch = Launch {
            binary: &opts.target_bin,
            stores: &stores,
            key_dir: &key_dir,
            log_dir: &opts.out.join("logs"),
            seed_users: m.seed_users,
            namespace: format!("ab{}_{ti}", std::process::id()),
        };
        for load in &m.loads {
            done += 1;
            let id = format!("{tid}/{}", load.id());
            if interrupt::is_set() {
                break;
            }
            if let Some(why) = load.incompatible_with(spec) {
                results.skipped.push(Skipped { id, reason: why });
                continue;
            }
            match run_case(&id, spec, load, &launch, &stores, &timing, &opts.out, done, total).await {
                Ok(Some(case)) => {
                    eprintln!("{}", summary(&case));
                    results.cases.push(case);
                }
                Ok(None) => {
                    results.skipped.push(Skipped { id, reason: "interrupted before its window completed".into() })
                }
                Err(e) => {
                    eprintln!("authbench: case {id} failed: {e:#}");
                    results.skipped.push(Skipped { id, reason: format!("failed: {e:#}") });
                }
            }
            results::write(&results, &opts.out)?;
        }
        if interrupt::is_set() {
            break;
        }
        match run_probe(spec, &launch, m, &timing).await {
            Ok(p) => {
                eprintln!("{}", probe_summary(&p));
                results.probes.push(p);
            }
            Err(e) => {
                eprintln!("authbench: probe of {tid} failed: {e:#}");
                results.skipped.push(Skipped { id: format!("{tid}/probe"), reason: format!("failed: {e:#}") });
            }
        }
        results::write(&results, &opts.out)?;
    }
    results.status = if interrupt::is_set() { "interrupted" } else { "complete" }.into();
    results.finished_at = Some(now_rfc3339());
    results::write(&results, &opts.out)?;
    drop(stores);
    Ok(opts.out)
}

async fn snapshot(
    addr: &str,
    target_pid: i32,
    stores: &Stores,
    spec: &TargetSpec,
) -> anyhow::Result<(Snapshot, u64, Option<u64>, u64)> {
    let s = scrape(addr).await?;
    let target = cpu::process_us(target_pid).ok_or_else(|| anyhow::anyhow!("target process {target_pid} vanished"))?;
    let store = match spec.store_needed() {
        Some("memory") | None => Some(0),
        Some(name) => stores.endpoint(name).ok().flatten().and_then(|e| e.cpu_us()),
    };
    Ok((s, target, store, cpu::self_us()))
}

fn bar(len_s: f64, id: &str, n: usize, total: usize) -> ProgressBar {
    let pb = ProgressBar::new((len_s * 10.0) as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9} {bar:30.cyan/blue} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(format!("[{n}/{total}]"));
    pb.set_message(format!("{id}: starting"));
    pb
}

async fn sleep_watching(d: Duration, pb: &ProgressBar) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if interrupt::is_set() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100).min(end.saturating_duration_since(Instant::now()))).await;
        pb.inc(1);
    }
    true
}

#[allow(clippy::too_many_arguments)]
async fn run_case(
    id: &str,
    spec: &TargetSpec,
    load: &LoadSpec,
    launch: &Launch<'_>,
    stores: &Stores,
    timing: &Timing,
    out: &Path,
    n: usize,
    total: usize,
) -> anyhow::Result<Option<Case>> {
    let pb = bar((timing.warmup + timing.duration).as_secs_f64(), id, n, total);
    let fname = file_name(id);
    let target = TargetProcess::start(spec, launch, &fname).await?;
    let recorder = Recorder::new();
    let model = match load.rate_rps {
        Some(rate_rps) => LoadModel::Open { rate_rps },
        None => LoadModel::Closed,
    };
    let plan = Arc::new(Plan {
        kind: scenario_kind(&load.scenario),
        model,
        users: load.users,
        transport: if spec.transport == "cookie" { Transport::Cookie } else { Transport::Bearer },
        seeded_users: launch.seed_users,
        hybrid: spec.strategy == "hybrid",
        recorder: Arc::clone(&recorder),
    });
    let goose_report = out.join("goose").join(format!("{fname}.json"));
    let mut cfg = GooseConfiguration::default();
    cfg.host = Some(target.url());
    cfg.users = Some(load.users);
    cfg.increase_rate = Some(format!("{}", (load.users * 4).max(1)));
    cfg.run_time = Some("3600".into());
    cfg.quiet = 1;
    cfg.no_print_metrics = true;
    cfg.no_error_summary = true;
    cfg.no_telnet = true;
    cfg.report_file = vec![goose_report.to_string_lossy().into_owned()];
    let attack =
        GooseAttack::initialize_with_config(cfg)?.register_scenario(authbench_scenarios::scenario(Arc::clone(&plan)));
    let handle = tokio::spawn(attack.execute());

    pb.set_message(format!("{id}: users logging in"));
    let login_deadline = Instant::now() + Duration::from_secs(120);
    while recorder.ready() < load.users {
        if handle.is_finished() || interrupt::is_set() || Instant::now() > login_deadline {
            goose::trigger_killswitch("authbench: users could not start");
            let outcome = handle.await;
            pb.finish_and_clear();
            if interrupt::is_set() {
                return Ok(None);
            }
            let detail = match outcome {
                Ok(Err(e)) => format!("{e}"),
                Err(e) => format!("{e}"),
                Ok(Ok(_)) => format!("only {} of {} users logged in", recorder.ready(), load.users),
            };
            anyhow::bail!(
                "load generator did not start: {detail} (target log: {})",
                launch.log_dir.join(format!("{fname}.log")).display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pb.set_message(format!("{id}: warm-up"));
    let warm = sleep_watching(timing.warmup, &pb).await;
    let mut measured = None;
    if warm {
        let before = snapshot(&target.addr, target.pid, stores, spec).await?;
        recorder.set_recording(true);
        let started = Instant::now();
        let wall_start = SystemTime::now();
        pb.set_message(format!("{id}: measuring"));
        let complete = sleep_watching(timing.duration, &pb).await;
        recorder.set_recording(false);
        let window = started.elapsed();
        let after = snapshot(&target.addr, target.pid, stores, spec).await?;
        if complete {
            measured = Some((before, after, window, wall_start));
        }
    }
    goose::trigger_killswitch("authbench: window complete");
    let goose_outcome = handle.await;
    let rss = cpu::peak_rss_bytes(target.pid);
    target.stop().await;
    pb.finish_and_clear();
    goose_outcome
        .map_err(|e| anyhow::anyhow!("load generator task failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("goose: {e}"))?;
    let Some((before, after, window, wall_start)) = measured else {
        return Ok(None);
    };
    let w = recorder.take();
    build_case(id, spec, load, timing, out, &fname, &w, &before, &after, window, wall_start, rss, &goose_report)
        .map(Some)
}

type Snap = (Snapshot, u64, Option<u64>, u64);

#[allow(clippy::too_many_arguments)]
fn build_case(
    id: &str,
    spec: &TargetSpec,
    load: &LoadSpec,
    timing: &Timing,
    out: &Path,
    fname: &str,
    w: &Window,
    before: &Snap,
    after: &Snap,
    window: Duration,
    wall_start: SystemTime,
    rss: Option<u64>,
    goose_report: &Path,
) -> anyhow::Result<Case> {
    let (b, bt, bs, bl) = before;
    let (a, at, as_, al) = after;
    let h = &w.histogram;
    let requests = h.len();
    anyhow::ensure!(requests > 0, "no request completed in the measured window (see the target log)");
    let served = (a.served() - b.served()).max(1.0);
    let per = |x: f64| x / served;
    let received = a.bytes_received - b.bytes_received - a.request_len as f64;
    let sent = a.bytes_sent - b.bytes_sent - b.response_len as f64;
    let (auth_in, auth_out) = (a.auth_received - b.auth_received, a.auth_sent - b.auth_sent);
    let store_ops = a.store_ops_total() - b.store_ops_total();
    let store_seconds: f64 = a
        .store_seconds
        .iter()
        .filter(|(op, _)| op.as_str() != "ping")
        .map(|(op, s)| s - b.store_seconds.get(op).copied().unwrap_or(0.0))
        .sum();
    let target_cpu = per(at.saturating_sub(*bt) as f64);
    let hgrm = out.join("histograms").join(format!("{fname}.hgrm"));
    let hlog = out.join("histograms").join(format!("{fname}.hlog"));
    export::write_hgrm(h, &hgrm)?;
    export::write_hlog(h, wall_start, window, &file_name(id), &hlog)?;
    let rel = |p: &Path| p.strip_prefix(out).unwrap_or(p).to_string_lossy().into_owned();
    Ok(Case {
        id: id.to_owned(),
        target: target_info(spec),
        scenario: load.scenario.clone(),
        load: Load {
            model: load.model.clone(),
            users: load.users,
            rate_rps: load.rate_rps,
            duration_s: timing.duration.as_secs_f64(),
            warmup_s: timing.warmup.as_secs_f64(),
        },
        window_s: window.as_secs_f64(),
        requests,
        errors: w.statuses.iter().filter(|(s, _)| !(200..300).contains(*s)).map(|(s, n)| (s.to_string(), *n)).collect(),
        throughput_rps: requests as f64 / window.as_secs_f64(),
        latency_us: Latency::from_histogram(h),
        latency_saturated: w.saturated,
        histogram: HistogramData {
            unit: "microseconds".into(),
            encoding: "HdrHistogram V2 deflate, base64".into(),
            data: export::encode(h)?,
            hgrm: rel(&hgrm),
            hlog: rel(&hlog),
        },
        target_requests: served,
        bytes_per_request: Bytes {
            received: per(received),
            sent: per(sent),
            auth: per(auth_in + auth_out),
            auth_received: per(auth_in),
            auth_sent: per(auth_out),
        },
        store_ops_per_request: per(store_ops),
        store_op_latency_us: (store_ops > 0.0).then(|| store_seconds * 1e6 / store_ops),
        cpu_us_per_request: Cpu {
            target: target_cpu,
            store: match (bs, as_) {
                (Some(x), Some(y)) => Some(per(y.saturating_sub(*x) as f64)),
                _ => None,
            },
            loadgen: per(al.saturating_sub(*bl) as f64),
        },
        req_per_core_s: (target_cpu > 0.0).then(|| 1e6 / target_cpu),
        peak_rss_bytes: rss,
        goose_report: rel(goose_report),
    })
}

async fn run_probe(
    spec: &TargetSpec,
    launch: &Launch<'_>,
    m: &Matrix,
    timing: &Timing,
) -> anyhow::Result<probe::ProbeResult> {
    let id = spec.id();
    let target = TargetProcess::start(spec, launch, &format!("{}_probe", file_name(&id))).await?;
    let pb = ProgressBar::new_spinner();
    pb.set_message(format!("{id}: security probe (cap {:.0} s)", timing.probe_cap.as_secs_f64()));
    pb.enable_steady_tick(Duration::from_millis(200));
    let users = m.probe_users.min(u32::try_from(m.seed_users.saturating_sub(1)).unwrap_or(u32::MAX)).max(1);
    let storage = if matches!(spec.strategy.as_str(), "session" | "hybrid") {
        pb.set_message(format!("{id}: measuring storage per record"));
        match crate::storage::measure(&target, spec, launch.stores, &launch.namespace, m.storage_records).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("authbench: storage measurement of {id} failed: {e:#}");
                None
            }
        }
    } else {
        None
    };
    pb.set_message(format!("{id}: security probe (cap {:.0} s)", timing.probe_cap.as_secs_f64()));
    let r = probe::run(&target, &id, &spec.transport, users, timing.probe_cap)
        .await
        .map(|p| probe::ProbeResult { storage, ..p });
    pb.finish_and_clear();
    target.stop().await;
    r
}

fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// The one-line summary printed for each finished case.
pub fn summary(c: &Case) -> String {
    let errors: u64 = c.errors.values().sum();
    format!(
        "✓ {}: {:.0} req/s, p50 {} p99 {}, {:.2} store ops/req, target {:.1} µs CPU/req{}, {} B/req on the wire ({:.0} auth), {} errors",
        c.id,
        c.throughput_rps,
        fmt_us(c.latency_us.p50 as f64),
        fmt_us(c.latency_us.p99 as f64),
        c.store_ops_per_request,
        c.cpu_us_per_request.target,
        c.req_per_core_s.map(|r| format!(" ({r:.0} req/core·s)")).unwrap_or_default(),
        (c.bytes_per_request.received + c.bytes_per_request.sent).round(),
        c.bytes_per_request.auth,
        errors
    )
}

fn window_text(w: &probe::WindowResult, cap: f64) -> String {
    match w.measured_s {
        Some(s) => format!("{s:.2} s (bound {} s)", w.bound_s),
        None => format!("still accepted after {cap:.0} s (bound {} s)", w.bound_s),
    }
}

fn probe_summary(p: &probe::ProbeResult) -> String {
    format!(
        "✓ {}/probe: revoked user served for {}; demoted admin for {}",
        p.target,
        window_text(&p.revocation, p.cap_s),
        window_text(&p.stale_role, p.cap_s)
    )
}
