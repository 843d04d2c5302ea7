//! Fault cases (`[[fault]]` in a matrix): one configuration under one load while the harness
//! freezes, restarts or slows the store it started, or restarts the target, inside the measured
//! window. The case records when the fault was performed, and its timeline what the clients saw.
//!
//! Only servers this run started are touched: with `--redis-url` or `--postgres-url` a store fault
//! is refused, never performed on someone else's server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use authbench_scenarios::{Plan, Recorder};
use authbench_targets::spec::{StoreKind, TargetSpec};
use indicatif::ProgressBar;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::case::{file_stem, start_attack, users_ready, CaseKey};
use super::measure::{build_case, CaseFiles, Edge, Measured};
use super::progress::{bar, sleep_watching};
use super::provision::Server;
use super::scrape::{scrape, Snapshot};
use super::serving::Serving;
use super::target::{Launch, TargetProcess};
use super::timeline::Sampler;
use super::{cpu, interrupt, Runner, Timing};
use crate::model::fault::{
    DataAfterRestart, Fault, FaultOutcome, FaultRecord, FaultSpec, FaultSubject, TargetHealth, TimelineFigures,
};
use crate::model::results::{Case, CaseRole, Skipped};

/// Fault cases planned for the progress count.
pub(super) fn planned(faults: &[FaultSpec], targets: &[TargetSpec]) -> usize {
    faults.iter().map(|f| targets.iter().filter(|t| f.includes(&t.id())).count()).sum()
}

impl Runner<'_> {
    /// Every fault case of the matrix, after the speed cases; a case that cannot run is listed as
    /// skipped with the reason, and the run goes on.
    pub(super) async fn fault_cases(&mut self, ready: &[(&TargetSpec, &Launch<'_>)]) -> anyhow::Result<()> {
        for f in &self.m.faults {
            for (spec, launch) in ready.iter().filter(|(s, _)| f.includes(&s.id())) {
                if interrupt::is_set() {
                    return Ok(());
                }
                let id = format!("{}/{}", spec.id(), f.id());
                self.done += 1;
                match self.fault_case(&id, spec, f, launch).await {
                    Ok(Some(case)) => {
                        eprintln!("{}", outcome_line(&case));
                        self.results.cases.push(case);
                    }
                    Ok(None) => self.skip(id, "interrupted before its window completed".into()),
                    Err(e) => {
                        eprintln!("authbench: fault case {id} failed: {e:#}");
                        self.skip(id, format!("failed: {e:#}"));
                    }
                }
                crate::model::results::write(self.results, launch.out)?;
            }
        }
        Ok(())
    }

    fn skip(&mut self, id: String, reason: String) {
        self.results.skipped.push(Skipped { id, reason });
    }

    async fn fault_case(
        &mut self,
        id: &str,
        spec: &TargetSpec,
        f: &FaultSpec,
        launch: &Launch<'_>,
    ) -> anyhow::Result<Option<Case>> {
        if let Some(why) = f.load.incompatible_with(spec) {
            anyhow::bail!("{why}");
        }
        let subject = subject(spec, &f.fault, launch)?;
        let timing = Timing {
            warmup: self.timing.warmup,
            duration: f.duration.0,
            probe_cap: self.timing.probe_cap,
            begin_at: None,
        };
        let at = super::case::Position { n: self.done, total: self.total.max(self.done) };
        let pb = bar(timing.warmup + timing.duration, id, at.n, at.total);
        let r = run(id, spec, f, &subject, launch, &timing, &pb).await;
        pb.finish_and_clear();
        r
    }
}

/// What the fault acts on for this configuration: its store's server (refused for external stores),
/// the target, or nothing when the configuration keeps no store outside its process.
fn subject(spec: &TargetSpec, fault: &Fault, launch: &Launch<'_>) -> anyhow::Result<Subject> {
    if !fault.on_store() {
        return Ok(Subject::Target);
    }
    match spec.needed_store() {
        None | Some(StoreKind::Memory) => Ok(Subject::Control),
        Some(kind) => {
            let server = launch.stores.server(kind).map_err(|why| anyhow::anyhow!("fault refused: {why}"))?;
            Ok(Subject::Store(kind, server))
        }
    }
}

enum Subject {
    Store(StoreKind, Server),
    Target,
    Control,
}

impl Subject {
    fn record(&self) -> FaultSubject {
        match self {
            Subject::Store(store, _) => FaultSubject::Store { store: *store },
            Subject::Target => FaultSubject::Target,
            Subject::Control => FaultSubject::Control,
        }
    }
}

/// The fault case itself: a fresh target (behind a relay for a slow-store fault), users logged
/// in, warm-up, then the window with the fault performed inside it.
async fn run(
    id: &str,
    spec: &TargetSpec,
    f: &FaultSpec,
    subject: &Subject,
    launch: &Launch<'_>,
    timing: &Timing,
    pb: &ProgressBar,
) -> anyhow::Result<Option<Case>> {
    let stem = file_stem(id);
    let key = CaseKey { id, repetition: 1, role: CaseRole::Fault };
    let files =
        CaseFiles { out: launch.out, key, goose_report: launch.out.join("goose").join(format!("{stem}.json")), stem };
    let mut target = if slows_the_store(&f.fault, subject) {
        TargetProcess::start_relayed(spec, launch, &files.stem).await?
    } else {
        TargetProcess::start(spec, launch, &files.stem).await?
    };
    let recorder = Recorder::new();
    let plan = Arc::new(Plan {
        kind: f.load.scenario,
        model: f.load.model,
        users: f.load.users,
        transport: spec.transport,
        seeded_users: launch.seed_users,
        strategy: spec.strategy,
        recorder: Arc::clone(&recorder),
        population: None,
        client: target.client.clone(),
        replicas: Vec::new(),
    });
    let handle = start_attack(target.url(), &plan, &files)?;
    pb.set_message(format!("{id}: users logging in"));
    let log = target.log_path.display().to_string();
    let Some(handle) = users_ready(handle, &recorder, f.load.users, &log).await? else {
        return Ok(None);
    };
    let mut actor = Actor { fault: f.fault, subject, spec, launch };
    let window = window(&mut target, &mut actor, &files.stem, timing, &recorder, pb).await;
    goose::trigger_killswitch("authbench: fault window complete");
    let goose_outcome = handle.await;
    let healthz_after = healthz(&target).await;
    target.stop().await;
    goose_outcome.context("load generator task failed")?.context("goose failed")?;
    let Some((m, performed)) = window? else {
        return Ok(None);
    };
    let w = recorder.take();
    let mut case = build_case(spec, &f.load, timing, &w, &m, &files, None)?;
    let figures = case.timeline.as_ref().map(|t| TimelineFigures::of(t, performed.start_s, performed.end_s));
    let figures = figures.context("the fault case has no timeline")?;
    if matches!(subject, Subject::Store(..)) && matches!(f.fault, Fault::StoreRestart { .. }) {
        // The store's process was replaced inside the window: its CPU over the window is unknown.
        case.cpu_us_per_request.store = None;
        if let Some(s) = case.shares.as_mut() {
            s.store = None;
        }
    }
    case.fault = Some(FaultRecord {
        fault: f.fault,
        subject: subject.record(),
        start_s: performed.start_s,
        end_s: performed.end_s,
        outcome: FaultOutcome {
            first_error_s: figures.first_error_s,
            error_share: figures.error_share,
            availability: figures.availability,
            worst_p99_us: figures.worst_p99_us,
            recovery: figures.recovery,
            sessions_lost: w.sessions_lost,
            relogins: w.relogins,
            relogin_failures: w.relogin_failures,
            health: TargetHealth {
                alive: performed.alive,
                rss_before_bytes: performed.rss_before,
                rss_after_bytes: performed.rss_after,
                healthz_after,
            },
        },
    });
    Ok(Some(case))
}

/// Whether the fault slows the store: then the target reaches it through a relay from the start
/// (at the configuration's own round trip until the fault).
fn slows_the_store(fault: &Fault, subject: &Subject) -> bool {
    matches!((fault, subject), (Fault::StoreSlow { .. }, Subject::Store(..)))
}

/// What performing the fault measured: when it began and ended on the timeline's clock, and the
/// target's state around it.
struct Performed {
    start_s: f64,
    end_s: f64,
    alive: bool,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
}

/// Performs the fault on its subject.
struct Actor<'a> {
    fault: Fault,
    subject: &'a Subject,
    spec: &'a TargetSpec,
    launch: &'a Launch<'a>,
}

/// Counters and CPU of a target process retired by a restart inside the window, added to the
/// closing edge so the window's figures span both processes.
#[derive(Default)]
struct Retired {
    metrics: Option<Snapshot>,
    cpu_us: u64,
}

/// Warm-up, then the window with the fault inside it; None when Ctrl-C cut the window short
/// (the fault is undone first either way).
async fn window(
    target: &mut TargetProcess,
    actor: &mut Actor<'_>,
    stem: &str,
    timing: &Timing,
    recorder: &Recorder,
    pb: &ProgressBar,
) -> anyhow::Result<Option<(Measured, Performed)>> {
    let launch = actor.launch;
    let spec = actor.spec;
    pb.set_message(format!("{}: warm-up", spec.id()));
    let clock = recorder.start_timeline();
    let sampler = Sampler::start(&[target.scrape_at()?], &target.control_key, clock);
    if !sleep_watching(timing.warmup, pb).await {
        return Ok(None);
    }
    pb.set_message(format!("{}: measuring, {}", spec.id(), actor.fault));
    let before = sampler.open(Edge::open(Serving::Started(target), launch.stores, spec)).await?;
    recorder.set_recording(true);
    let started = Instant::now();
    let wall_start = std::time::SystemTime::now();
    let mut retired = Retired::default();
    let (complete, performed) = tokio::join!(
        sleep_watching(timing.duration, pb),
        actor.perform(target, &sampler, started, clock, stem, &mut retired)
    );
    let performed = performed?;
    recorder.set_recording(false);
    recorder.stop_timeline();
    let window = started.elapsed();
    let (mut after, sampled) =
        sampler.close(started, Edge::close(Serving::Started(target), launch.stores, spec)).await?;
    if let Some(old) = &retired.metrics {
        absorb(&mut after.metrics, old);
        after.target_cpu_us += retired.cpu_us;
    }
    let performed = Performed { alive: cpu::process_us(target.pid).is_some(), rss_after: rss(target.pid), ..performed };
    Ok(complete.then_some((Measured { before, after, window, wall_start, sampled }, performed)))
}

impl Actor<'_> {
    /// Waits for the fault's time, performs it, holds it, undoes it; Ctrl-C shortens the waits but
    /// never skips the undoing.
    async fn perform(
        &mut self,
        target: &mut TargetProcess,
        sampler: &Sampler,
        opened: Instant,
        clock: Instant,
        stem: &str,
        retired: &mut Retired,
    ) -> anyhow::Result<Performed> {
        wait_until(opened + self.fault.at()).await;
        let rss_before = rss(target.pid);
        let start_s = clock.elapsed().as_secs_f64();
        match (&self.fault, self.subject) {
            (_, Subject::Control) => wait_until(Instant::now() + self.fault.held()).await,
            (Fault::TargetRestart { .. }, _) => {
                let log = format!("{stem}_restarted");
                sampler.pause(restart_target(target, self.spec, self.launch, &log, retired)).await?;
            }
            (fault, Subject::Store(_, server)) => self.on_store(*fault, server, target).await?,
            (_, Subject::Target) => anyhow::bail!("a store fault was aimed at the target"),
        }
        let end_s = clock.elapsed().as_secs_f64();
        Ok(Performed { start_s, end_s, alive: true, rss_before, rss_after: None })
    }

    async fn on_store(&mut self, fault: Fault, server: &Server, target: &mut TargetProcess) -> anyhow::Result<()> {
        let held = Instant::now() + fault.held();
        match fault {
            Fault::StoreOutage { .. } => {
                let pids = server_pids(server);
                signal_all(&pids, Signal::SIGSTOP)?;
                wait_until(held).await;
                signal_all(&pids, Signal::SIGCONT)
            }
            Fault::StoreRestart { data, .. } => {
                blocking(server, move |s| s.stop(data)).await?;
                wait_until(held).await;
                blocking(server, Server::start_again).await
            }
            Fault::StoreSlow { rtt, .. } => {
                let relay = target.relay_mut().context("a slow-store fault without its relay")?;
                relay.set_rtt(self.spec.store_rtt.0 + rtt.0).await?;
                wait_until(held).await;
                relay.set_rtt(self.spec.store_rtt.0).await
            }
            Fault::TargetRestart { .. } => anyhow::bail!("a target fault was aimed at the store"),
        }
    }
}

/// Sleeps until `t`, or until Ctrl-C.
async fn wait_until(t: Instant) {
    while Instant::now() < t && !interrupt::is_set() {
        tokio::time::sleep(Duration::from_millis(20).min(t.saturating_duration_since(Instant::now()))).await;
    }
}

/// Reads the old process's counters and CPU, then restarts it on the same address.
async fn restart_target(
    target: &mut TargetProcess,
    spec: &TargetSpec,
    launch: &Launch<'_>,
    log: &str,
    retired: &mut Retired,
) -> anyhow::Result<()> {
    retired.metrics = Some(scrape(&target.scrape_at()?, &target.control_key).await?);
    retired.cpu_us = cpu::process_us(target.pid).context("the target vanished before its restart")?;
    target.restart(spec, launch, log).await
}

/// Adds a retired process's counters to the live one's.
fn absorb(into: &mut Snapshot, old: &Snapshot) {
    for (k, v) in &old.requests {
        *into.requests.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &old.store_ops {
        *into.store_ops.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &old.store_seconds {
        *into.store_seconds.entry(k.clone()).or_default() += v;
    }
    into.pool_held_seconds += old.pool_held_seconds;
    into.bytes_received += old.bytes_received;
    into.bytes_sent += old.bytes_sent;
    into.auth_received += old.auth_received;
    into.auth_sent += old.auth_sent;
}

impl Server {
    /// Kills the server: Redis with its snapshot kept or deleted, PostgreSQL at once (it always
    /// keeps its data).
    fn stop(&mut self, data: DataAfterRestart) -> anyhow::Result<()> {
        match (self, data) {
            (Server::Redis(r), DataAfterRestart::Kept) => Ok(lock(r).shutdown_saving()?),
            (Server::Redis(r), DataAfterRestart::Lost) => {
                lock(r).kill_forgetting();
                Ok(())
            }
            (Server::Postgres(p), _) => Ok(lock(p).stop()?),
        }
    }

    fn start_again(&mut self) -> anyhow::Result<()> {
        match self {
            Server::Redis(r) => Ok(lock(r).resume()?),
            Server::Postgres(p) => Ok(lock(p).resume()?),
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a blocking server operation (pg_ctl, process waits) off the async workers.
async fn blocking(
    server: &Server,
    op: impl FnOnce(&mut Server) -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut s = server.clone();
    tokio::task::spawn_blocking(move || op(&mut s)).await.context("a store fault's server operation panicked")?
}

/// The server's processes: Redis's one, PostgreSQL's postmaster and its children.
fn server_pids(server: &Server) -> Vec<i32> {
    let root = match server {
        Server::Redis(r) => lock(r).pid().and_then(|p| i32::try_from(p).ok()),
        Server::Postgres(p) => lock(p).postmaster_pid(),
    };
    let Some(root) = root else {
        return Vec::new();
    };
    let children = procfs::process::all_processes()
        .map(|all| all.flatten().filter_map(|p| p.stat().ok()).filter(|s| s.ppid == root).map(|s| s.pid).collect())
        .unwrap_or_else(|_| Vec::new());
    std::iter::once(root).chain(children).collect()
}

fn signal_all(pids: &[i32], sig: Signal) -> anyhow::Result<()> {
    anyhow::ensure!(!pids.is_empty(), "the store's processes were not found");
    for &p in pids {
        kill(Pid::from_raw(p), sig).with_context(|| format!("cannot send {sig} to store process {p}"))?;
    }
    Ok(())
}

/// Resident memory of a process now.
fn rss(pid: i32) -> Option<u64> {
    procfs::process::Process::new(pid).ok()?.status().ok()?.vmrss.map(|kib| kib * 1024)
}

/// The target's /healthz status after the window, or None when it did not answer.
async fn healthz(target: &TargetProcess) -> Option<u16> {
    let client = super::client::http(target, Duration::from_secs(3)).ok()?;
    let url = format!("{}{}", target.url(), authbench_targets::contract::route::HEALTHZ);
    client.get(url).send().await.ok().map(|r| r.status().as_u16())
}

/// The one line a finished fault case prints.
fn outcome_line(c: &Case) -> String {
    let Some(f) = &c.fault else {
        return format!("✓ {}", c.id);
    };
    let o = &f.outcome;
    format!(
        "✓ {}: {}; errors during the fault {}, recovery {}, sessions lost {}, target {}",
        c.id,
        f.fault,
        o.error_share.map_or("n/a".into(), |s| format!("{:.1} %", s * 100.0)),
        match o.recovery {
            crate::model::fault::Recovery::Undisturbed => "not needed".to_owned(),
            crate::model::fault::Recovery::After { s } => format!("{s:.1} s after"),
            crate::model::fault::Recovery::NotWithinWindow => "not within the window".to_owned(),
        },
        o.sessions_lost,
        if o.health.alive { "alive" } else { "gone" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_process_counts_towards_the_window() {
        let mut live = Snapshot::default();
        live.requests.insert(("/api/me".into(), 200), 10.0);
        live.bytes_sent = 100.0;
        let mut old = Snapshot::default();
        old.requests.insert(("/api/me".into(), 200), 5.0);
        old.requests.insert(("/api/me".into(), 503), 1.0);
        old.bytes_sent = 50.0;
        absorb(&mut live, &old);
        assert_eq!(live.served(), 16.0);
        assert_eq!(live.bytes_sent, 150.0);
    }
}
