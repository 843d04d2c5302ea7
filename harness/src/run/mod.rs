//! `authbench run`: every case of the matrix on a fresh target, repetition by repetition, the TLS
//! configurations' cross-check with h2load ([`h2load`]), then the rate ladders, the load
//! generator's ceiling, the fault cases and the security probe per target configuration;
//! results.json is rewritten after each so nothing finished is lost.
//!
//! [`provision`] gets the stores, [`target`] starts targets, [`case`] drives one case and
//! [`measure`] turns its counters into figures ([`scrape`], [`cpu`], [`timeline`]); [`ladder`]
//! climbs a configuration's rates, [`ceiling`] measures the load generator on a bare endpoint;
//! [`probe`] and [`storage`] measure security windows and bytes per stored record, [`tap`] is the
//! probe's observer on the path;
//! [`fingerprint`] records the machine; [`relay`] adds a network round trip in front of a store;
//! [`client`] builds the HTTP clients of a target (TLS-aware) other than goose's users.
//! [`deployed`] reads targets that were already running (`--target-url`: their /control/info,
//! CPU and memory from their /metrics) and runs only their configuration's cases and probe;
//! [`serving`] is what a case or probe talks to, a started target or those replicas.

mod balancer;
mod case;
mod ceiling;
mod client;
mod cpu;
pub mod deployed;
pub mod export;
mod fault;
mod fingerprint;
mod h2load;
pub mod interrupt;
mod ladder;
mod measure;
mod method;
mod population;
pub mod probe;
mod progress;
pub mod provision;
pub mod relay;
mod replicas;
mod scrape;
mod seed;
mod serving;
mod shard;
mod storage;
mod store_link;
mod tap;
pub mod target;
mod timeline;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use indicatif::ProgressBar;

pub use self::case::file_stem;
use self::case::{run_case, CaseKey, Position};
use self::provision::{provision, Stores};
use self::target::{Launch, TargetProcess};
use crate::model::ladder::LadderSpec;
use crate::model::matrix::{LoadSpec, Matrix};
use crate::model::probe::ProbeResult;
use crate::model::results::{
    self, Case, CaseRole, CpuSource, Overrides, Results, RunConfig, RunStatus, Skipped, Summary,
};
use crate::model::shard::{Shard, ShardRecord, ShardTargets, StartAt};

/// Everything `authbench run` was asked for.
pub struct RunOptions {
    /// The profile name or the matrix file's path.
    pub profile: String,
    pub matrix: Matrix,
    pub overrides: Overrides,
    pub out: PathBuf,
    pub target_bin: PathBuf,
    pub postgres_url: Option<String>,
    pub redis_url: Option<String>,
    /// `--shard I/N`: run this shard's share of every load; None for a whole run.
    pub shard: Option<Shard>,
    /// `--start-at`: when this shard's first case begins, the same for every shard.
    pub start_at: Option<StartAt>,
    /// Drive these running targets instead of starting targets and stores (`--target-url`).
    pub deployed: Option<deployed::Deployed>,
}

/// The matrix's durations.
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
    pub probe_cap: Duration,
    /// A shard's slot: when the warm-up begins, the users already sending; None: at once.
    pub begin_at: Option<SystemTime>,
}

/// A private directory for the run's signing keys, outside the results directory (which gets
/// shared and committed), deleted however the run ends.
fn key_dir() -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("authbench-keys-").tempdir().context("cannot create a directory for signing keys")
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn prepare(opts: &RunOptions) -> anyhow::Result<()> {
    for sub in ["histograms", "goose", "logs"] {
        let dir = opts.out.join(sub);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    anyhow::ensure!(
        opts.deployed.is_some() || opts.target_bin.exists(),
        "target binary {} not found: build it with cargo build --release -p authbench-targets or pass --target-bin",
        opts.target_bin.display()
    );
    Ok(())
}

fn new_results(opts: &RunOptions, stores: &Stores) -> Results {
    Results {
        schema: results::SCHEMA.into(),
        run_id: opts.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        status: RunStatus::Running,
        started_at: now_rfc3339(),
        finished_at: None,
        profile: opts.profile.clone(),
        environment: fingerprint::collect(
            stores.postgres.as_ref().and_then(|e| e.version.as_deref()),
            stores.redis.as_ref().and_then(|e| e.version.as_deref()),
        ),
        config: RunConfig {
            matrix: opts.matrix.clone(),
            cli: opts.overrides.clone(),
            stores: stores.origins(),
            shard: opts.shard.map(|s| ShardRecord {
                index: s.index,
                count: s.count,
                start_at: opts.start_at,
                // Shards driving deployed targets all see the same targets' counters.
                targets: if opts.deployed.is_some() { ShardTargets::Shared } else { ShardTargets::Own },
            }),
            merged: None,
        },
        method: method::notes(if opts.deployed.is_some() { CpuSource::Metrics } else { CpuSource::Proc }),
        cases: Vec::new(),
        summaries: Vec::new(),
        ladders: Vec::new(),
        loadgen_ceiling: None,
        probes: Vec::new(),
        skipped: Vec::new(),
        seeds: Vec::new(),
        h2load: Vec::new(),
    }
}

/// goose logs every failed request at WARN; a run counts failures by status and by second
/// already, so only goose's errors reach the terminal (a store outage would print thousands of lines).
struct GooseErrorsOnly;

impl log::Log for GooseErrorsOnly {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Error
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("authbench: load generator: {}", r.args());
        }
    }

    fn flush(&self) {}
}

static GOOSE_LOG: GooseErrorsOnly = GooseErrorsOnly;

/// Runs the matrix; returns the results directory.
pub async fn run(mut opts: RunOptions) -> anyhow::Result<PathBuf> {
    // Installed before goose's own logger, which then stays out (it only logs that it could not).
    if log::set_logger(&GOOSE_LOG).is_ok() {
        log::set_max_level(log::LevelFilter::Error);
    }
    let single_host = match opts.shard {
        Some(s) => {
            shard::check_shares(&opts.matrix, s)?;
            shard::narrow(&mut opts.matrix)
        }
        None => Vec::new(),
    };
    if let Some(at) = opts.start_at {
        anyhow::ensure!(opts.shard.is_some(), "--start-at aligns shards: give --shard I/N with it");
        shard::check_start(at)?;
    }
    let m = &opts.matrix;
    let timing = Timing { warmup: m.warmup.0, duration: m.duration.0, probe_cap: m.probe_cap.0, begin_at: None };
    if let Some(d) = &opts.deployed {
        d.check_matrix(&m.targets)?;
    }
    prepare(&opts)?;
    let keys = key_dir()?;
    // A deployed target brings its own store: nothing to provision.
    let uses = |s: StoreKind| opts.deployed.is_none() && m.targets.iter().any(|t| t.needed_store() == Some(s));
    if opts.deployed.is_none() {
        eprintln!("authbench: provisioning stores");
    }
    let mut stores =
        provision(uses(StoreKind::Postgres), uses(StoreKind::Redis), opts.postgres_url.clone(), opts.redis_url.clone())
            .await;
    stores.add_redis_cluster(uses(StoreKind::RedisCluster)).await;
    for (store, why) in &stores.missing {
        eprintln!("authbench: {store} unavailable, its cases are skipped: {why}");
    }
    let mut results = new_results(&opts, &stores);
    results.skipped.extend(single_host);
    results::write(&results, &opts.out)?;
    let log_dir = opts.out.join("logs");
    let launches: Vec<Launch<'_>> = (0..m.targets.len())
        .map(|ti| Launch {
            binary: &opts.target_bin,
            out: &opts.out,
            stores: &stores,
            key_dir: keys.path(),
            log_dir: &log_dir,
            seed_users: opts.deployed.as_ref().map_or(m.seed_users, deployed::Deployed::seeded_users),
            namespace: format!("ab{}_{ti}", std::process::id()),
            store_url: None,
            shard: opts.shard,
            deployed: opts.deployed.as_ref(),
        })
        .collect();
    let total = planned_cases(m);
    let schedule = opts.start_at.map(shard::Schedule::new);
    let mut runner = Runner { m, timing: &timing, results: &mut results, done: 0, total, schedule };
    runner.run_all(&launches).await?;
    results.status = if interrupt::is_set() { RunStatus::Interrupted } else { RunStatus::Complete };
    results.finished_at = Some(now_rfc3339());
    results::write(&results, &opts.out)?;
    drop(stores);
    Ok(opts.out)
}

/// Cases the progress bars count towards: the matrix times its repetitions, plus the listed
/// ladder steps and their refinements.
fn planned_cases(m: &Matrix) -> usize {
    let matrix: usize = m.targets.iter().map(|t| loads_of(m, t)).sum();
    let ladder = m.ladder.as_ref().map_or(0, |l| {
        let climbing = m.targets.iter().filter(|t| l.includes(&t.id())).count();
        climbing * l.planned_steps()
    });
    matrix + ladder + fault::planned(&m.faults, &m.targets)
}

/// Matrix cases of one configuration over every repetition: each load that includes it, as many
/// times as the load repeats.
fn loads_of(m: &Matrix, t: &TargetSpec) -> usize {
    let id = t.id();
    m.loads.iter().filter(|l| l.includes(&id)).map(|l| l.repetitions_in(m.repetitions) as usize).sum()
}

/// The order matrix cases run in: (repetition, configuration index), every configuration once per
/// repetition before the next repetition starts (A B C A B C, never A A B B C C).
fn interleaved(repetitions: u32, configurations: usize) -> impl Iterator<Item = (u32, usize)> {
    (1..=repetitions).flat_map(move |r| (0..configurations).map(move |i| (r, i)))
}

/// The run in progress: the matrix, where the counts stand and the results being written.
struct Runner<'r> {
    m: &'r Matrix,
    timing: &'r Timing,
    results: &'r mut Results,
    done: usize,
    total: usize,
    /// A shard's slots: when each matrix case's warm-up begins, the same on every shard.
    schedule: Option<shard::Schedule>,
}

impl Runner<'_> {
    /// The matrix repetition by repetition (A B C A B C, so drift spreads over every
    /// configuration), then the ladders, the load generator's ceiling when the matrix asks for it,
    /// then the probes; Ctrl-C stops between cases.
    async fn run_all(&mut self, launches: &[Launch<'_>]) -> anyhow::Result<()> {
        let m = self.m;
        if let Some(d) = launches.first().and_then(|l| l.deployed) {
            return self.run_deployed(d, launches).await;
        }
        let ready: Vec<(&TargetSpec, &Launch<'_>)> =
            m.targets.iter().zip(launches).filter(|(spec, launch)| self.store_available(spec, launch)).collect();
        self.seed_namespaces(&ready).await?;
        for (repetition, i) in interleaved(m.repetitions, ready.len()) {
            let (spec, launch) = ready[i];
            self.matrix_cases(spec, launch, repetition).await?;
        }
        self.protocol_checks(&ready).await?;
        if let Some(ladder) = &m.ladder {
            self.skip_unready_ladders(ladder, &ready);
            for (spec, launch) in ready.iter().filter(|(s, _)| ladder.includes(&s.id())) {
                if interrupt::is_set() {
                    return Ok(());
                }
                let before = self.done;
                let climbed = ladder::climb(spec, launch, ladder, self).await?;
                // The bars counted the whole refinement budget; give back what the climb did not use.
                let used = self.done - before;
                self.total = self.total.saturating_sub(ladder.planned_steps().saturating_sub(used));
                self.results.ladders.extend(climbed);
                results::write(self.results, launch.out)?;
            }
        }
        if let Some(launch) = launches.first().filter(|_| m.loadgen_ceiling && !interrupt::is_set()) {
            ceiling::record(self, launch).await?;
        }
        self.fault_cases(&ready).await?;
        for (spec, launch) in &ready {
            if interrupt::is_set() {
                return Ok(());
            }
            self.probe(spec, launch).await?;
        }
        Ok(())
    }

    /// Lists the ladder of every configuration that climbs one but whose store is missing.
    fn skip_unready_ladders(&mut self, ladder: &LadderSpec, ready: &[(&TargetSpec, &Launch<'_>)]) {
        for spec in self.m.targets.iter().filter(|t| ladder.includes(&t.id())) {
            if !ready.iter().any(|(r, _)| r.id() == spec.id()) {
                let reason = "its store is not available (see the configuration's other skipped cases)".into();
                self.results.skipped.push(Skipped { id: format!("{}/ladder", spec.id()), reason });
                self.total = self.total.saturating_sub(ladder.planned_steps());
            }
        }
    }

    /// False (and every case of the configuration listed as skipped) when its store is missing.
    fn store_available(&mut self, spec: &TargetSpec, launch: &Launch<'_>) -> bool {
        let Some(Err(why)) = spec.needed_store().map(|s| launch.stores.endpoint(s)) else {
            return true;
        };
        let tid = spec.id();
        for entry in self.m.loads.iter().filter(|l| l.includes(&tid)) {
            self.results.skipped.push(Skipped { id: format!("{tid}/{}", entry.load.id()), reason: why.clone() });
        }
        self.results.skipped.push(Skipped { id: format!("{tid}/probe"), reason: why });
        self.total = self.total.saturating_sub(loads_of(self.m, spec));
        false
    }

    /// Every load of the matrix that includes one configuration and runs in this repetition, once.
    async fn matrix_cases(&mut self, spec: &TargetSpec, launch: &Launch<'_>, repetition: u32) -> anyhow::Result<()> {
        let tid = spec.id();
        for entry in self.m.loads.iter().filter(|l| l.includes(&tid) && l.runs_in(repetition)) {
            if interrupt::is_set() {
                return Ok(());
            }
            let load = &entry.load;
            let base = format!("{tid}/{}", load.id());
            if let Some(why) =
                load.incompatible_with(spec).map(str::to_owned).or_else(|| deployed_mismatch(spec, load, launch))
            {
                self.done += 1;
                if repetition == 1 {
                    self.results.skipped.push(Skipped { id: base, reason: why });
                }
                continue;
            }
            let id = if self.m.repetitions > 1 { format!("{base}/r{repetition}") } else { base };
            let (warmup, duration) = (
                entry.warmup.map_or(self.timing.warmup, |w| w.0),
                entry.duration.map_or(self.timing.duration, |d| d.0),
            );
            let begin_at = self.schedule.as_mut().map(|s| s.slot(warmup, duration));
            let timing = Timing { warmup, duration, probe_cap: self.timing.probe_cap, begin_at };
            let key = CaseKey { id: &id, repetition, role: CaseRole::Matrix };
            self.case_timed(key, spec, load, launch, &timing).await?;
        }
        Ok(())
    }

    /// Runs one case with the matrix's window and records it, or why it did not finish; the case
    /// when it did.
    async fn case(
        &mut self,
        key: CaseKey<'_>,
        spec: &TargetSpec,
        load: &LoadSpec,
        launch: &Launch<'_>,
    ) -> anyhow::Result<Option<Case>> {
        let timing = self.timing;
        self.case_timed(key, spec, load, launch, timing).await
    }

    /// [`Runner::case`] with its own warm-up and window.
    async fn case_timed(
        &mut self,
        key: CaseKey<'_>,
        spec: &TargetSpec,
        load: &LoadSpec,
        launch: &Launch<'_>,
        timing: &Timing,
    ) -> anyhow::Result<Option<Case>> {
        self.done += 1;
        let at = Position { n: self.done, total: self.total.max(self.done) };
        let id = key.id.to_owned();
        let outcome = match run_case(key, spec, load, launch, timing, at).await {
            Ok(Some(case)) => {
                eprintln!("{}", progress::summary(&case));
                self.results.cases.push(case.clone());
                self.results.summaries = Summary::of_cases(&self.results.cases);
                Some(case)
            }
            Ok(None) => {
                self.results.skipped.push(Skipped { id, reason: "interrupted before its window completed".into() });
                None
            }
            Err(e) => {
                eprintln!("authbench: case {id} failed: {e:#}");
                self.results.skipped.push(Skipped { id, reason: format!("failed: {e:#}") });
                None
            }
        };
        results::write(self.results, launch.out)?;
        Ok(outcome)
    }

    async fn probe(&mut self, spec: &TargetSpec, launch: &Launch<'_>) -> anyhow::Result<()> {
        if spec.strategy == StrategyKind::None {
            let reason = "none checks no credential: there is nothing to revoke or demote (the floor, not an option)";
            self.results.skipped.push(Skipped { id: format!("{}/probe", spec.id()), reason: reason.into() });
            return Ok(results::write(self.results, launch.out)?);
        }
        match run_probe(spec, launch, self.m, self.timing).await {
            Ok(p) => {
                eprintln!("{}", progress::probe_summary(&p));
                self.results.probes.push(p);
            }
            Err(e) => {
                eprintln!("authbench: probe of {} failed: {e:#}", spec.id());
                self.results
                    .skipped
                    .push(Skipped { id: format!("{}/probe", spec.id()), reason: format!("failed: {e:#}") });
            }
        }
        Ok(results::write(self.results, launch.out)?)
    }
}

/// Bytes per stored record, for the strategies that store something per login.
async fn measure_storage(
    target: &TargetProcess,
    spec: &TargetSpec,
    launch: &Launch<'_>,
    records: u64,
    pb: &ProgressBar,
) -> Option<crate::model::probe::Storage> {
    match spec.strategy {
        StrategyKind::Jwt | StrategyKind::None => return None,
        StrategyKind::Session | StrategyKind::Hybrid => {}
    }
    pb.set_message(format!("{}: measuring storage per record", spec.id()));
    storage::measure(target, spec, launch.stores, &launch.namespace, records)
        .await
        .inspect_err(|e| eprintln!("authbench: storage measurement of {} failed: {e:#}", spec.id()))
        .ok()
}

/// Why a case cannot run on the deployed target although its configuration matches: a population's
/// time scale runs the target at a shorter access TTL than the deployed one has. None when it can,
/// or when the harness starts its targets.
fn deployed_mismatch(spec: &TargetSpec, load: &LoadSpec, launch: &Launch<'_>) -> Option<String> {
    let d = launch.deployed?;
    match population::run_spec(spec, load) {
        Ok(run_spec) => d.serves(&run_spec).err().map(|why| format!("its time scale needs another access TTL: {why}")),
        Err(e) => Some(format!("{e:#}")),
    }
}

async fn run_probe(spec: &TargetSpec, launch: &Launch<'_>, m: &Matrix, timing: &Timing) -> anyhow::Result<ProbeResult> {
    let id = spec.id();
    let users = m.probe_users.min(u32::try_from(launch.seed_users.saturating_sub(1)).unwrap_or(u32::MAX)).max(1);
    if let Some(d) = launch.deployed {
        // Bytes per stored record need the store's own size readings, which a deployment keeps to itself.
        return probe::run_on(serving::Serving::Deployed(d), spec, users, timing.probe_cap).await;
    }
    if spec.replicas > 1 {
        let r = replicas::Replicated::start(spec, launch, &format!("{}_probe", file_stem(&id))).await?;
        let probed = probe::run_on(serving::Serving::Replicated(&r), spec, users, timing.probe_cap).await;
        r.stop().await;
        return probed;
    }
    let target = TargetProcess::start(spec, launch, &format!("{}_probe", file_stem(&id))).await?;
    let pb = ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(200));
    let storage = measure_storage(&target, spec, launch, m.storage_records, &pb).await;
    pb.set_message(format!("{id}: security probe (cap {:.0} s)", timing.probe_cap.as_secs_f64()));
    let r = probe::run(&target, spec, users, timing.probe_cap).await.map(|p| ProbeResult { storage, ..p });
    pb.finish_and_clear();
    target.stop().await;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitions_are_interleaved_across_configurations() {
        let order: Vec<(u32, usize)> = interleaved(3, 2).collect();
        assert_eq!(order, [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]);
        let order: Vec<(u32, usize)> = interleaved(4, 5).collect();
        assert_eq!(order.len(), 20);
        for (k, chunk) in order.chunks(5).enumerate() {
            let want = u32::try_from(k).unwrap() + 1;
            assert!(chunk.iter().all(|(r, _)| *r == want), "repetition {want} ran as one block: {chunk:?}");
            let mut seen: Vec<usize> = chunk.iter().map(|(_, i)| *i).collect();
            seen.sort_unstable();
            assert_eq!(seen, [0, 1, 2, 3, 4], "every configuration once per repetition");
        }
        assert_eq!(interleaved(1, 0).count(), 0);
    }
}
