//! One case: a fresh target, goose users logging in, a warm-up, the measured window between two
//! edge readings, and the target stopped again.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use authbench_scenarios::{Plan, Recorder};
use authbench_targets::spec::TargetSpec;
use goose::config::GooseConfiguration;
use goose::metrics::GooseMetrics;
use goose::GooseAttack;
use indicatif::ProgressBar;
use tokio::task::JoinHandle;

use super::measure::{build_case, CaseFiles, Edge, Measured};
use super::progress::{bar, sleep_watching};
use super::replicas::Replicated;
use super::serving::Serving;
use super::target::{Launch, TargetProcess};
use super::timeline::Sampler;
use super::{cpu, interrupt, Timing};
use crate::model::matrix::LoadSpec;
use crate::model::results::{Case, CaseRole};

pub(super) type Attack = JoinHandle<Result<GooseMetrics, goose::GooseError>>;

/// The case's place in the run, for the progress bar.
pub struct Position {
    pub n: usize,
    pub total: usize,
}

/// What identifies a case in results.json: its id, which repetition and why it ran.
#[derive(Clone, Copy)]
pub struct CaseKey<'a> {
    pub id: &'a str,
    pub repetition: u32,
    pub role: CaseRole,
}

/// Makes a case id safe as a file name.
pub fn file_stem(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// Starts goose's users against `host` (each user moves to its replica in the scenario's start).
pub(super) fn start_attack(host: String, plan: &Arc<Plan>, files: &CaseFiles<'_>) -> anyhow::Result<Attack> {
    let mut cfg = GooseConfiguration::default();
    cfg.host = Some(host);
    cfg.users = Some(plan.users);
    cfg.increase_rate = Some(super::population::hatch_rate(plan));
    cfg.run_time = Some("3600".into());
    cfg.quiet = 1;
    cfg.no_print_metrics = true;
    cfg.no_error_summary = true;
    cfg.no_telnet = true;
    cfg.report_file = vec![files.goose_report.to_string_lossy().into_owned()];
    let attack =
        GooseAttack::initialize_with_config(cfg)?.register_scenario(authbench_scenarios::scenario(Arc::clone(plan)));
    Ok(tokio::spawn(attack.execute()))
}

/// Waits until every user has logged in and hands the attack back; None when Ctrl-C came first.
pub(super) async fn users_ready(
    handle: Attack,
    recorder: &Recorder,
    users: usize,
    log: &str,
) -> anyhow::Result<Option<Attack>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while recorder.ready() < users {
        if handle.is_finished() || interrupt::is_set() || Instant::now() > deadline {
            goose::trigger_killswitch("authbench: users could not start");
            let outcome = handle.await;
            if interrupt::is_set() {
                return Ok(None);
            }
            let detail = match outcome {
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
                Ok(Ok(_)) => format!("only {} of {users} users logged in", recorder.ready()),
            };
            anyhow::bail!("load generator did not start: {detail} (target log: {log})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Some(handle))
}

/// Warm-up, then the window between two edge readings, the timeline running from the warm-up's
/// start to the window's close; None when Ctrl-C cut either short.
async fn measure_window(
    target: Serving<'_>,
    launch: &Launch<'_>,
    spec: &TargetSpec,
    timing: &Timing,
    recorder: &Recorder,
    pb: &ProgressBar,
) -> anyhow::Result<Option<Measured>> {
    if let Some(at) = timing.begin_at {
        if !super::shard::wait_until(at, &spec.id(), pb).await {
            return Ok(None);
        }
    }
    pb.set_message(format!("{}: warm-up", spec.id()));
    let sampler = Sampler::start(&target.scrape_at()?, target.control_key(), recorder.start_timeline());
    if !sleep_watching(timing.warmup, pb).await {
        return Ok(None);
    }
    pb.set_message(format!("{}: measuring", spec.id()));
    let before = sampler.open(Edge::open(target, launch.stores, spec)).await?;
    recorder.set_recording(true);
    let started = Instant::now();
    let wall_start = SystemTime::now();
    let complete = sleep_watching(timing.duration, pb).await;
    recorder.set_recording(false);
    recorder.stop_timeline();
    let window = started.elapsed();
    let (after, sampled) = sampler.close(started, Edge::close(target, launch.stores, spec)).await?;
    Ok(complete.then_some(Measured { before, after, window, wall_start, sampled }))
}

/// Runs one case; None when Ctrl-C interrupted it before its window completed. A fresh target is
/// started for it, unless the run drives deployed targets ([`Launch::deployed`]).
pub async fn run_case(
    key: CaseKey<'_>,
    spec: &TargetSpec,
    load: &LoadSpec,
    launch: &Launch<'_>,
    timing: &Timing,
    at: Position,
) -> anyhow::Result<Option<Case>> {
    let id = key.id;
    let pb = bar(timing.warmup + timing.duration, id, at.n, at.total);
    let stem = file_stem(id);
    let files =
        CaseFiles { out: launch.out, key, goose_report: launch.out.join("goose").join(format!("{stem}.json")), stem };
    // A shard drives its share of the load; the case records the whole load, as the merge does.
    let share = launch.shard.map_or(Ok(*load), |s| s.share(load))?;
    let loads = Loads { whole: load, share: &share };
    let outcome = match launch.deployed {
        Some(d) => drive(Serving::Deployed(d), spec, loads, launch, timing, &files, &pb).await,
        None => {
            // A population's time scale shortens the access TTL the target runs with; the case keeps `spec`.
            let run_spec = super::population::run_spec(spec, load)?;
            if run_spec.replicas > 1 {
                let replicas = Replicated::start(&run_spec, launch, &files.stem).await?;
                let outcome = drive(Serving::Replicated(&replicas), spec, loads, launch, timing, &files, &pb).await;
                replicas.stop().await;
                return finish(pb, outcome);
            }
            let target = TargetProcess::start(&run_spec, launch, &files.stem).await?;
            let outcome = drive(Serving::Started(&target), spec, loads, launch, timing, &files, &pb).await;
            target.stop().await;
            outcome
        }
    };
    finish(pb, outcome)
}

fn finish(pb: ProgressBar, outcome: anyhow::Result<Option<Case>>) -> anyhow::Result<Option<Case>> {
    pb.finish_and_clear();
    outcome
}

/// The peak resident memory of the case's target: a started one's high-water mark (VmHWM), summed
/// over replicas the harness started (the memory the deployment needs, an upper bound of its peak
/// at one instant); for deployed replicas the highest sum of their resident memory at the window's
/// edges, a lower bound of their peak (their /metrics has no high-water mark).
fn peak_rss(target: Serving<'_>, m: Option<&Measured>) -> Option<u64> {
    match target {
        Serving::Started(t) => cpu::peak_rss_bytes(t.pid),
        Serving::Replicated(_) => target.pids().into_iter().map(cpu::peak_rss_bytes).sum(),
        Serving::Deployed(_) => {
            let m = m?;
            let edges = [m.before.metrics.resident_bytes, m.after.metrics.resident_bytes];
            edges.into_iter().flatten().reduce(f64::max).map(|b| b as u64)
        }
    }
}

/// The load a case records and the part of it this run drives (all of it, unless it is a shard).
#[derive(Clone, Copy)]
struct Loads<'l> {
    whole: &'l LoadSpec,
    share: &'l LoadSpec,
}

/// Logs the users in on `target`, measures the window and builds the case.
async fn drive(
    target: Serving<'_>,
    spec: &TargetSpec,
    loads: Loads<'_>,
    launch: &Launch<'_>,
    timing: &Timing,
    files: &CaseFiles<'_>,
    pb: &ProgressBar,
) -> anyhow::Result<Option<Case>> {
    let id = files.key.id;
    let load = loads.share;
    let recorder = Recorder::for_users(load.users);
    let urls = target.urls();
    let plan = Arc::new(Plan {
        kind: load.scenario,
        model: load.model,
        users: load.users,
        transport: spec.transport,
        seeded_users: launch.seed_users,
        strategy: spec.strategy,
        recorder: Arc::clone(&recorder),
        population: super::population::users(load, timing.warmup),
        client: target.client().clone(),
        replicas: if urls.len() > 1 { urls } else { Vec::new() },
    });
    let handle = start_attack(target.url(), &plan, files)?;
    pb.set_message(format!("{id}: users logging in"));
    let Some(handle) = users_ready(handle, &recorder, load.users, &target.log()).await? else {
        return Ok(None);
    };
    let measured = measure_window(target, launch, spec, timing, &recorder, pb).await;
    goose::trigger_killswitch("authbench: window complete");
    let goose_outcome = handle.await;
    let rss = peak_rss(target, measured.as_ref().ok().and_then(Option::as_ref));
    goose_outcome.context("load generator task failed")?.context("goose failed")?;
    let Some(m) = measured? else {
        return Ok(None);
    };
    if let Serving::Deployed(d) = target {
        d.same_processes(&m.before.metrics, &m.after.metrics)?;
    }
    build_case(spec, loads.whole, timing, &recorder.take(), &m, files, rss).map(Some)
}
