//! The `authbench` command line: clap types only. Values are typed, so clap refuses a bad name
//! with the list of allowed ones before anything runs.

use std::path::PathBuf;

use authbench_scenarios::ScenarioKind;
use authbench_targets::spec::{Span, StrategyKind, Transport};
use authbench_targets::token::alg::Alg;
use clap::{Args, Parser, Subcommand};

use crate::model::ladder::Slo;
use crate::model::matrix::{Profile, StoreFilter};
use crate::model::shard::{Shard, StartAt};
use crate::report::adr::{Priorities, PriorityError};
use crate::report::findings::cost::Prices;
use crate::report::findings::Economics;

/// Measure what JWT, sessions and hybrid auth cost and buy.
#[derive(Parser)]
#[command(name = "authbench", version, about = "Measure what JWT, sessions and hybrid auth cost and buy")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What `authbench` can do.
#[derive(Subcommand)]
pub enum Command {
    /// Run a profile or matrix: every case on a fresh target, then the security probe per target.
    Run(Box<RunArgs>),
    /// Render charts, REPORT.md and report.html from DIR/results.json and criterion's estimates.
    Report {
        /// A results directory (holding results.json).
        dir: PathBuf,
        #[command(flatten)]
        inputs: ReportInputs,
        /// Also print the report as plain text (aligned tables, charts listed by file) to stdout.
        #[arg(long)]
        print: bool,
    },
    /// Bytes on the wire per strategy and algorithm: token length, request header, login and refresh answers.
    Tokens {
        /// Only this transport (default: both).
        #[arg(long, value_enum)]
        transport: Option<Transport>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Turn a run into a capacity plan for a target request rate.
    Plan(PlanArgs),
    /// Write an architecture decision record (MADR) from a run and your priorities.
    Adr {
        /// Results directory to decide from.
        #[arg(long = "from")]
        from: PathBuf,
        /// Weighted drivers, each once: revocation, cpu, latency, bandwidth, simplicity = high|medium|low
        /// (a driver without a level weighs high).
        #[arg(
            long,
            default_value = "revocation=high,cpu=medium,latency=medium,simplicity=low,bandwidth=low",
            value_parser = parse_priorities
        )]
        priority: Priorities,
        /// Title of the decision.
        #[arg(long, default_value = "How API requests are authenticated")]
        title: String,
        /// Write the ADR here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Diff two runs; exits with 3 on a regression: worse beyond the threshold, intervals disjoint (for CI).
    Compare {
        /// Baseline results directory.
        before: PathBuf,
        /// New results directory.
        after: PathBuf,
        /// Relative change that counts: 5% or 0.05.
        #[arg(long, default_value = "5%", value_parser = parse_threshold)]
        threshold: f64,
    },
    /// Combine the results of shards (authbench run --shard I/N on several hosts) into one run:
    /// histograms added exactly, counts summed, windows aligned by wall clock.
    Merge {
        /// Every shard's results directory (each holding results.json), in any order.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Directory for the merged results.json (created; report, plan, adr and compare read it).
        #[arg(long)]
        out: PathBuf,
    },
    /// Relay TCP to a store with an added round trip (the harness starts one per store when a matrix
    /// sets store_rtt); stops when stdin closes.
    Relay(RelayArgs),
}

/// Inputs of `authbench relay`.
#[derive(Args)]
pub struct RelayArgs {
    /// Address to accept on; port 0 picks a free one, printed as `relay listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// The store to relay to, HOST:PORT.
    #[arg(long)]
    pub upstream: String,
    /// Round trip to add, half each way: 1ms, 200us, 0; change it later with `rtt 20ms` on stdin.
    #[arg(long, value_parser = crate::run::relay::parse_rtt)]
    pub rtt: std::time::Duration,
}

/// What a report is rendered from besides results.json.
#[derive(Args, Clone)]
pub struct ReportInputs {
    /// Criterion's output, for the "Where the time goes" section (fill it with cargo bench -p authbench-targets).
    #[arg(long, default_value = "target/criterion")]
    pub criterion: PathBuf,
    /// Your own claims file (TOML, same format as harness/claims.toml) instead of the built-in claims.
    #[arg(long)]
    pub claims: Option<PathBuf>,
    /// Prices of the findings page's money per million requests, e.g. cpu-hour=0.04,egress-gb=0.09
    /// (dollars per core-hour and per GB sent; a price left out keeps its default).
    #[arg(long, default_value_t = Prices::default())]
    pub price: Prices,
    /// Share of each core the findings page's cores and money assume in use, above 0 and at most 1.
    #[arg(long, default_value_t = crate::report::plan::DEFAULT_UTILIZATION, value_parser = parse_utilization)]
    pub utilization: f64,
}

impl ReportInputs {
    /// The report's inputs as the library takes them.
    pub fn to_inputs(&self) -> crate::report::Inputs {
        crate::report::Inputs {
            criterion: self.criterion.clone(),
            claims: self.claims.clone(),
            economics: Economics { prices: self.price, utilization: self.utilization },
        }
    }
}

/// Inputs of `authbench plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// Results directory to plan from.
    #[arg(long = "from")]
    pub from: PathBuf,
    /// Requests per second to plan for.
    #[arg(long, value_parser = parse_rate)]
    pub rps: f64,
    /// Concurrently active sessions (sizes session storage).
    #[arg(long, default_value_t = 100_000)]
    pub active_sessions: u64,
    /// Share of each core the plan may use, above 0 and at most 1.
    #[arg(long, default_value_t = crate::report::plan::DEFAULT_UTILIZATION, value_parser = parse_utilization)]
    pub utilization: f64,
    /// Price of egress per GB, for the bandwidth cost line.
    #[arg(long, default_value_t = 0.09, value_parser = parse_price)]
    pub egress_usd_per_gb: f64,
    /// Round trip between app and store in the deployment (e.g. 500us, 1ms), for sizing PostgreSQL
    /// pools; default: each configuration's own round trip in the run (0 unless measured at one).
    #[arg(long)]
    pub store_rtt: Option<Span>,
}

/// Inputs of `authbench run`.
#[derive(Args)]
pub struct RunArgs {
    /// Built-in profile: smoke (CI, <1 min), quick (~3 min), standard (~50 min), full (sweeps).
    #[arg(long, value_enum, default_value_t = Profile::Quick)]
    pub profile: Profile,
    /// Your own run matrix (TOML, same format as scenarios/profiles/*.toml); overrides --profile.
    #[arg(long)]
    pub matrix: Option<PathBuf>,
    /// Keep only these strategies.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub strategies: Vec<StrategyKind>,
    /// Keep only targets on these stores (none: targets without a store).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub stores: Vec<StoreFilter>,
    /// Keep only these algorithms (jwt and hybrid targets; session targets have none).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub algs: Vec<Alg>,
    /// Keep only these scenarios.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scenarios: Vec<ScenarioKind>,
    /// Users for every load.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub users: Option<u64>,
    /// Arrival rate for every open-model load, requests per second.
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Measured window per case, e.g. 30s.
    #[arg(long)]
    pub duration: Option<Span>,
    /// Warm-up per case, e.g. 5s.
    #[arg(long)]
    pub warmup: Option<Span>,
    /// Run each case this many times, interleaved across configurations (A B C A B C).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub repetitions: Option<u64>,
    /// Objective for capacity on the rate ladder, e.g. 'p99<=10ms' (errors must be 0 too).
    #[arg(long)]
    pub slo: Option<Slo>,
    /// Run shard I of N (0-based), e.g. 1/3: I's share of every load's users (split as evenly as
    /// possible) and 1/N of every open rate; ladders, faults and the generator's ceiling are left
    /// out. Combine the shards with authbench merge.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// With --shard: begin the first case at this wall-clock time, RFC 3339 in UTC
    /// (e.g. 2026-11-26T09:00:00Z), the same for every shard.
    #[arg(long, requires = "shard")]
    pub start_at: Option<StartAt>,
    /// Results directory (default results/<time>-<profile>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// authbench-target binary (default: next to this binary).
    #[arg(long)]
    pub target_bin: Option<PathBuf>,
    /// Use this PostgreSQL instead of starting a throwaway one.
    #[arg(long, env = "AUTHBENCH_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Use this Redis instead of starting a throwaway one.
    #[arg(long, env = "AUTHBENCH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    #[command(flatten)]
    pub deployed: DeployedArgs,
    #[command(flatten)]
    pub report: ReportInputs,
}

/// Inputs of `authbench run` against targets that are already running.
#[derive(Args, Clone, Default)]
pub struct DeployedArgs {
    /// Drive these running authbench targets instead of starting targets and stores: replicas of one
    /// configuration (read from their /control/info); only the matrix's cases of that configuration
    /// run, their CPU and memory from the targets' /metrics.
    #[arg(long, value_delimiter = ',', value_name = "URL")]
    pub target_url: Vec<String>,
    /// Replicas by name: every address HOST resolves to is one replica on PORT (a Kubernetes
    /// headless Service, or a compose service scaled to N), added to --target-url's.
    #[arg(long, value_name = "HOST:PORT")]
    pub target_dns: Option<String>,
    /// A balancer in front of the replicas: the load and the probe go through it, while each
    /// replica is still scraped and asked on its own address.
    #[arg(long, value_name = "URL")]
    pub via: Option<String>,
    /// File holding the targets' control key (else the AUTHBENCH_CONTROL_KEY variable); never on the
    /// command line, which `ps` shows to every user.
    #[arg(long, value_name = "PATH")]
    pub control_key_file: Option<PathBuf>,
}

impl DeployedArgs {
    /// Whether the run drives running targets.
    pub fn any(&self) -> bool {
        !self.target_url.is_empty() || self.target_dns.is_some()
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a positive rate in requests per second")),
    }
}

fn parse_priorities(s: &str) -> Result<Priorities, PriorityError> {
    s.parse()
}

fn parse_utilization(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(u) if u > 0.0 && u <= 1.0 => Ok(u),
        _ => Err(format!("{s:?} is not a share of a core: use a number above 0 and at most 1, e.g. 0.6")),
    }
}

fn parse_price(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!("{s:?} is not a price: use a number of dollars per GB, 0 or more, e.g. 0.09")),
    }
}

fn parse_threshold(s: &str) -> Result<f64, String> {
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => s.trim().parse::<f64>(),
    }
    .map_err(|_| format!("{s:?} is not a threshold like 5% or 0.05"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("threshold {s:?} must not be negative"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_refused_with_the_allowed_list() {
        let err = Cli::try_parse_from(["authbench", "run", "--scenarios", "brwose"]).err().unwrap().to_string();
        assert!(err.contains("browse") && err.contains("refresh"), "{err}");
        let err = Cli::try_parse_from(["authbench", "run", "--stores", "mongo"]).err().unwrap().to_string();
        assert!(err.contains("postgres") && err.contains("none"), "{err}");
        assert!(Cli::try_parse_from(["authbench", "run", "--duration", "soon"]).is_err());
        assert!(Cli::try_parse_from(["authbench", "run", "--rate", "-3"]).is_err());
        assert!(Cli::try_parse_from(["authbench", "run", "--users", "0"]).is_err());
        assert!(Cli::try_parse_from(["authbench", "run", "--repetitions", "0"]).is_err());
        let err = Cli::try_parse_from(["authbench", "run", "--slo", "p99<10ms"]).err().unwrap().to_string();
        assert!(err.contains("p99<=10ms"), "{err}");
        let err = Cli::try_parse_from(["authbench", "run", "--shard", "2/2"]).err().unwrap().to_string();
        assert!(err.contains("below the count"), "{err}");
        let start = ["authbench", "run", "--start-at", "2026-11-26T09:00:00Z"];
        assert!(Cli::try_parse_from(start).is_err(), "--start-at needs --shard");
    }

    #[test]
    fn thresholds_read_percent_or_fraction() {
        assert_eq!(parse_threshold("5%"), Ok(0.05));
        assert_eq!(parse_threshold("0.1"), Ok(0.1));
        assert!(parse_threshold("-1").is_err());
    }
}
