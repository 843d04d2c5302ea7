//! Targets the harness did not start (`authbench run --target-url URL[,URL…]`): their
//! configuration is read from `/control/info`, their CPU and memory from their own `/metrics`
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`), since their /proc is not ours
//! to read. Several URLs are replicas of one configuration: the load is spread over them by user,
//! or sent through a balancer in front of them (`--via`), and their counters and CPU are summed;
//! `--target-dns` names them by a host that resolves to each replica's address.

use std::time::Duration;

use authbench_targets::contract::{route, Info, CONTROL_KEY_HEADER};
use authbench_targets::spec::TargetSpec;

use super::scrape::Snapshot;
use super::target::Launch;
use super::{ceiling, h2load, interleaved, interrupt, loads_of, seed, Runner};
use crate::model::results::Skipped;

/// Why deployed targets cannot be used; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DeployedError {
    #[error("--target-url needs at least one URL")]
    NoUrl,
    #[error("{url:?} is not a target URL like http://127.0.0.1:8080: {why}")]
    BadUrl { url: String, why: String },
    #[error(
        "{url}: HTTPS targets are not supported with --target-url yet (the harness trusts only a certificate it \
         generated); point it at the target's plain-HTTP listener"
    )]
    Tls { url: String },
    #[error("cannot read {url}/control/info: {source}; is the target running and reachable from here?")]
    Unreachable { url: String, source: reqwest::Error },
    #[error(
        "{url}/control/info answered {status}: pass the target's control key (--control-key-file or \
         AUTHBENCH_CONTROL_KEY)"
    )]
    Refused { url: String, status: u16 },
    #[error("{url}/control/info is not an authbench target's document: {source}")]
    NotInfo { url: String, source: reqwest::Error },
    #[error("--target-dns {name}: {why} (give HOST:PORT, a name that resolves to every replica's address)")]
    Dns { name: String, why: String },
    #[error(
        "the URLs are not replicas of one configuration: {first} serves {first_id}, {url} serves {id}; run each \
         configuration separately"
    )]
    Mixed { first: String, first_id: String, url: String, id: String },
    #[error(
        "{url} serves {serves}, which is none of the matrix's configurations ({configurations}): choose a --profile \
         or --matrix that has it, or filters that keep it"
    )]
    NoMatch { url: String, serves: String, configurations: String },
}

/// Replicas of one configuration that were running before the harness started.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// Each replica's base URL, as given, without a trailing slash.
    pub urls: Vec<String>,
    /// The balancer in front of them, where the load and the probe go; None to spread the load
    /// over the replicas' own URLs.
    pub via: Option<String>,
    /// Each replica's host:port, where its /metrics is scraped.
    pub addrs: Vec<String>,
    /// What the first replica's /control/info says (every replica said the same configuration).
    pub info: Info,
    /// The key /control and /metrics answer to.
    pub control_key: String,
}

/// Why a configuration of the matrix does not run on the deployed target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("the target at {url} serves {serves}, not this configuration")]
    Other { url: String, serves: String },
    #[error(
        "its store round trip is added by a relay the harness starts with the target; a deployed target reaches its \
         store at the deployment's own round trip"
    )]
    StoreRtt,
}

impl Deployed {
    /// Reads every URL's /control/info (and the balancer's, `via`) with `control_key`; refuses URLs
    /// that do not answer alike.
    pub async fn connect(urls: &[String], via: Option<&str>, control_key: String) -> Result<Deployed, DeployedError> {
        let first = urls.first().ok_or(DeployedError::NoUrl)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| DeployedError::Unreachable { url: first.clone(), source })?;
        let mut replicas = Vec::new();
        for url in urls {
            let (base, addr) = parse(url)?;
            let info = read_info(&http, &base, &control_key).await?;
            replicas.push((base, addr, info));
        }
        // The balancer must answer as the replicas do, but it is not one of them.
        let balancer = match via {
            Some(url) => {
                let (base, _) = parse(url)?;
                let info = read_info(&http, &base, &control_key).await?;
                Some((base, info))
            }
            None => None,
        };
        let (first_url, _, info) = replicas[0].clone();
        let mut answers = replicas.iter().map(|(u, _, i)| (u, i)).chain(balancer.iter().map(|(u, i)| (u, i)));
        if let Some((url, other)) = answers.find(|(_, i)| i.id != info.id) {
            return Err(DeployedError::Mixed {
                first: first_url,
                first_id: info.id,
                url: url.clone(),
                id: other.id.clone(),
            });
        }
        let via = balancer.map(|(base, _)| base);
        let (urls, addrs) = replicas.into_iter().map(|(u, a, _)| (u, a)).unzip();
        Ok(Deployed { urls, via, addrs, info, control_key })
    }

    /// Whether `spec` is what the replicas serve (as [`Info::describes`]), and why not.
    pub fn serves(&self, spec: &TargetSpec) -> Result<(), Mismatch> {
        if !spec.store_rtt.0.is_zero() {
            return Err(Mismatch::StoreRtt);
        }
        if self.info.describes(spec) {
            Ok(())
        } else {
            Err(Mismatch::Other { url: self.urls[0].clone(), serves: self.info.id.clone() })
        }
    }

    /// Refuses a matrix none of whose configurations the replicas serve.
    pub fn check_matrix(&self, targets: &[TargetSpec]) -> Result<(), DeployedError> {
        if targets.iter().any(|t| self.serves(t).is_ok()) {
            return Ok(());
        }
        let configurations = targets.iter().map(TargetSpec::id).collect::<Vec<_>>().join(", ");
        Err(DeployedError::NoMatch { url: self.urls[0].clone(), serves: self.info.id.clone(), configurations })
    }

    /// Refuses a window whose two edges reached different processes: a replica restarted, or a
    /// balancer answered for several (its counters would then mix processes).
    pub(crate) fn same_processes(&self, before: &Snapshot, after: &Snapshot) -> anyhow::Result<()> {
        anyhow::ensure!(
            before.process_starts == after.process_starts,
            "the scrapes at the window's edges reached different processes of {} (process_start_time_seconds {:?}, then \
             {:?}): a target restarted, or a balancer answered for several replicas; give each replica's own URL to \
             --target-url (or --target-dns) and the balancer's to --via",
            self.urls.join(", "),
            before.process_starts,
            after.process_starts
        );
        Ok(())
    }

    /// Users the target seeded, as its /control/info says.
    pub fn seeded_users(&self) -> u64 {
        self.info.users as u64
    }
}

/// One replica URL per address `name` (HOST:PORT) resolves to, in the resolver's order, repeats dropped.
pub async fn resolve(name: &str) -> Result<Vec<String>, DeployedError> {
    let dns = |why: String| DeployedError::Dns { name: name.to_owned(), why };
    let mut urls: Vec<String> = Vec::new();
    for addr in tokio::net::lookup_host(name).await.map_err(|e| dns(e.to_string()))? {
        let url = format!("http://{addr}");
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    if urls.is_empty() {
        return Err(dns("it resolves to no address".into()));
    }
    Ok(urls)
}

/// A target URL's base (no trailing slash) and host:port; plain HTTP only.
fn parse(url: &str) -> Result<(String, String), DeployedError> {
    let bad = |why: &str| DeployedError::BadUrl { url: url.to_owned(), why: why.to_owned() };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match parsed.scheme() {
        "http" => {}
        "https" => return Err(DeployedError::Tls { url: url.to_owned() }),
        other => return Err(bad(&format!("scheme {other} is not http"))),
    }
    if parsed.path() != "/" || parsed.query().is_some() {
        return Err(bad("give the target's root, without a path or query"));
    }
    let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
    let port = parsed.port_or_known_default().ok_or_else(|| bad("no port"))?;
    let addr = format!("{host}:{port}");
    Ok((format!("http://{addr}"), addr))
}

async fn read_info(http: &reqwest::Client, base: &str, key: &str) -> Result<Info, DeployedError> {
    let url = base.to_owned();
    let r = http
        .get(format!("{base}{}", route::INFO))
        .header(CONTROL_KEY_HEADER, key)
        .send()
        .await
        .map_err(|source| DeployedError::Unreachable { url: url.clone(), source })?;
    if r.status() != 200 {
        return Err(DeployedError::Refused { url, status: r.status().as_u16() });
    }
    r.json().await.map_err(|source| DeployedError::NotInfo { url, source })
}

/// Parts of a run that start, stop or slow targets and stores themselves, so they need targets the
/// harness started: why each is left out of a run on deployed targets.
const LADDER: &str = "a rate ladder is not run with --target-url: its steps each start a fresh target";
const FAULT: &str =
    "fault cases are not run with --target-url: they kill, restart or slow targets and stores the harness started";
const CEILING: &str = "the load generator's ceiling is not measured with --target-url: it starts its own none target";
const H2LOAD: &str = "the TLS cross-check is not run with --target-url: it needs TLS targets the harness started";
const PROBE_ON_SHARD_0: &str =
    "shard 0 probes the deployed target: shards probing one target at once would revoke and \
     demote each other's users";
const SEED: &str = "seed_sessions is not applied with --target-url: seeding starts a target on the run's own store";

impl Runner<'_> {
    /// The run on deployed targets: the matrix cases of the configuration they serve, repetition by
    /// repetition, then its probe; every other configuration and every part that needs targets the
    /// harness started is listed as skipped with the reason.
    pub(super) async fn run_deployed(&mut self, d: &Deployed, launches: &[Launch<'_>]) -> anyhow::Result<()> {
        let m = self.m;
        let mut ready = Vec::new();
        for (spec, launch) in m.targets.iter().zip(launches) {
            match d.serves(spec) {
                Ok(()) => ready.push((spec, launch)),
                Err(why) => self.skip_configuration(spec, &why.to_string()),
            }
        }
        self.skip_harness_only(&ready);
        self.total = ready.iter().map(|(spec, _)| loads_of(m, spec)).sum();
        for (repetition, i) in interleaved(m.repetitions, ready.len()) {
            let (spec, launch) = ready[i];
            self.matrix_cases(spec, launch, repetition).await?;
        }
        for (spec, launch) in &ready {
            if interrupt::is_set() {
                return Ok(());
            }
            if launch.shard.is_some_and(|s| s.index > 0) {
                let id = format!("{}/probe", spec.id());
                self.results.skipped.push(Skipped { id, reason: PROBE_ON_SHARD_0.to_owned() });
                continue;
            }
            self.probe(spec, launch).await?;
        }
        Ok(())
    }

    /// Lists every case and the probe of a configuration the deployed target does not serve.
    fn skip_configuration(&mut self, spec: &TargetSpec, why: &str) {
        let tid = spec.id();
        eprintln!("authbench: {tid} skipped: {why}");
        for entry in self.m.loads.iter().filter(|l| l.includes(&tid)) {
            self.results.skipped.push(Skipped { id: format!("{tid}/{}", entry.load.id()), reason: why.to_owned() });
        }
        self.results.skipped.push(Skipped { id: format!("{tid}/probe"), reason: why.to_owned() });
    }

    /// Lists the ladders, fault cases, ceiling, TLS cross-check and seeding the matrix asks of the
    /// served configuration.
    fn skip_harness_only(&mut self, ready: &[(&TargetSpec, &Launch<'_>)]) {
        let m = self.m;
        let specs: Vec<TargetSpec> = m.targets.clone();
        let mut skip = |id: String, reason: &str| self.results.skipped.push(Skipped { id, reason: reason.to_owned() });
        for (spec, _) in ready {
            let tid = spec.id();
            if m.ladder.as_ref().is_some_and(|l| l.includes(&tid)) {
                skip(format!("{tid}/ladder"), LADDER);
            }
            for f in m.faults.iter().filter(|f| f.includes(&tid)) {
                skip(format!("{tid}/{}", f.id()), FAULT);
            }
            if h2load::compared(spec, &specs) {
                skip(format!("{tid}/h2load"), H2LOAD);
            }
            if m.seed_sessions > 0 && seed::seeds(spec) {
                skip(format!("{tid}/seed_sessions"), SEED);
            }
        }
        if m.loadgen_ceiling {
            skip(ceiling::ID.to_owned(), CEILING);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_plain_http_roots() {
        assert_eq!(parse("http://127.0.0.1:8080").unwrap(), ("http://127.0.0.1:8080".into(), "127.0.0.1:8080".into()));
        assert_eq!(parse("http://127.0.0.1:8080/").unwrap().1, "127.0.0.1:8080");
        assert_eq!(parse("http://localhost").unwrap().1, "localhost:80");
        assert!(matches!(parse("https://127.0.0.1:8443"), Err(DeployedError::Tls { .. })));
        assert!(matches!(parse("127.0.0.1:8080"), Err(DeployedError::BadUrl { .. })));
        assert!(matches!(parse("http://127.0.0.1:8080/api"), Err(DeployedError::BadUrl { .. })));
    }

    fn deployed(args: &[&str]) -> Deployed {
        use clap::Parser;
        let cfg = authbench_targets::config::Config::parse_from(std::iter::once("t").chain(args.iter().copied()));
        let info = authbench_targets::info::describe(&cfg, 10, 1);
        Deployed {
            urls: vec!["http://127.0.0.1:1".into()],
            via: None,
            addrs: vec!["127.0.0.1:1".into()],
            info,
            control_key: "k".into(),
        }
    }

    #[tokio::test]
    async fn a_name_resolves_to_one_replica_per_address() {
        let urls = resolve("127.0.0.1:8080").await.unwrap();
        assert_eq!(urls, ["http://127.0.0.1:8080"]);
        assert!(matches!(resolve("no-port-given").await, Err(DeployedError::Dns { .. })));
    }

    #[test]
    fn a_window_whose_edges_reached_other_processes_is_refused() {
        let d = deployed(&["--strategy", "session", "--store", "memory"]);
        let at = |starts: &[f64]| Snapshot { process_starts: starts.to_vec(), ..Snapshot::default() };
        assert!(d.same_processes(&at(&[7.0, 9.0]), &at(&[7.0, 9.0])).is_ok());
        let err = d.same_processes(&at(&[7.0]), &at(&[9.0])).unwrap_err().to_string();
        assert!(err.contains("balancer") && err.contains("--via"), "{err}");
    }

    #[test]
    fn configurations_match_by_id_and_never_at_a_harness_made_round_trip() {
        use authbench_targets::spec::{Span, StoreKind, StrategyKind};
        use authbench_targets::token::alg::Alg;
        let d = deployed(&["--strategy", "session", "--store", "redis"]);
        let jwt = TargetSpec::jwt(Alg::Hs256);
        let spec = TargetSpec { strategy: StrategyKind::Session, store: Some(StoreKind::Redis), ..jwt };
        assert_eq!(d.serves(&spec), Ok(()));
        let relayed = TargetSpec { store_rtt: Span(Duration::from_millis(1)), ..spec };
        assert_eq!(d.serves(&relayed), Err(Mismatch::StoreRtt));
        assert!(matches!(d.serves(&jwt), Err(Mismatch::Other { .. })));
        assert!(matches!(d.check_matrix(&[jwt]), Err(DeployedError::NoMatch { .. })));
        assert!(d.check_matrix(&[jwt, spec]).is_ok());
    }
}
