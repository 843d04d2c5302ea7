//! `authbench`: run the benchmark matrix against real targets and stores.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use authbench_harness::{adr, compare, interrupt, matrix, plan, report, results, run, target, tokens};
use authbench_targets::config::Transport;

#[derive(Parser)]
#[command(name = "authbench", version, about = "Measure what JWT, sessions and hybrid auth cost and buy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a profile or matrix: every case on a fresh target, then the security probe per target.
    Run(Box<RunArgs>),
    /// Render charts, REPORT.md and report.html from DIR/results.json and criterion's estimates.
    Report {
        /// A results directory (holding results.json).
        dir: PathBuf,
        /// Criterion's output, for the "Where the time goes" section (fill it with cargo bench -p authbench-targets).
        #[arg(long, default_value = "target/criterion")]
        criterion: PathBuf,
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
    Plan {
        /// Results directory to plan from.
        #[arg(long = "from")]
        from: PathBuf,
        /// Requests per second to plan for.
        #[arg(long)]
        rps: f64,
        /// Concurrently active sessions (sizes session storage).
        #[arg(long, default_value_t = 100_000)]
        active_sessions: u64,
        /// Share of each core the plan may use.
        #[arg(long, default_value_t = 0.6)]
        utilization: f64,
        /// Price of egress per GB, for the bandwidth cost line.
        #[arg(long, default_value_t = 0.09)]
        egress_usd_per_gb: f64,
    },
    /// Write an architecture decision record (MADR) from a run and your priorities.
    Adr {
        /// Results directory to decide from.
        #[arg(long = "from")]
        from: PathBuf,
        /// Weighted drivers: revocation, cpu, latency, bandwidth, simplicity = high|medium|low.
        #[arg(long, default_value = "revocation=high,cpu=medium,latency=medium,simplicity=low,bandwidth=low")]
        priority: String,
        /// Title of the decision.
        #[arg(long, default_value = "How API requests are authenticated")]
        title: String,
        /// Write the ADR here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Diff two runs; exits with 3 when a figure got worse by more than the threshold (for CI).
    Compare {
        /// Baseline results directory.
        before: PathBuf,
        /// New results directory.
        after: PathBuf,
        /// Relative change that counts: 5% or 0.05.
        #[arg(long, default_value = "5%", value_parser = parse_threshold)]
        threshold: f64,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Built-in profile: smoke (CI, <1 min), quick (~3 min), standard (~10 min), full (sweeps).
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Your own run matrix (TOML, same format as scenarios/profiles/*.toml); overrides --profile.
    #[arg(long)]
    matrix: Option<PathBuf>,
    /// Keep only these strategies (jwt, session, hybrid).
    #[arg(long, value_delimiter = ',')]
    strategies: Vec<String>,
    /// Keep only targets on these stores (postgres, redis, memory, none).
    #[arg(long, value_delimiter = ',')]
    stores: Vec<String>,
    /// Keep only these algorithms (jwt and hybrid targets; session targets have none).
    #[arg(long, value_delimiter = ',')]
    algs: Vec<String>,
    /// Keep only these scenarios (browse, login, refresh, mixed).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Users for every load.
    #[arg(long)]
    users: Option<usize>,
    /// Arrival rate for every open-model load, requests per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Measured window per case, e.g. 30s.
    #[arg(long)]
    duration: Option<String>,
    /// Warm-up per case, e.g. 5s.
    #[arg(long)]
    warmup: Option<String>,
    /// Results directory (default results/<time>-<profile>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// authbench-target binary (default: next to this binary).
    #[arg(long)]
    target_bin: Option<PathBuf>,
    /// Use this PostgreSQL instead of starting a throwaway one.
    #[arg(long, env = "AUTHBENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Use this Redis instead of starting a throwaway one.
    #[arg(long, env = "AUTHBENCH_REDIS_URL")]
    redis_url: Option<String>,
    /// Criterion's output, for the report's "Where the time goes" section.
    #[arg(long, default_value = "target/criterion")]
    criterion: PathBuf,
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

fn filtered(args: &RunArgs) -> anyhow::Result<(String, matrix::Matrix)> {
    let (name, mut m) = match &args.matrix {
        Some(path) => (path.display().to_string(), matrix::from_file(&path.to_string_lossy())?),
        None => (args.profile.clone(), matrix::builtin(&args.profile)?),
    };
    let keep = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
    m.targets.retain(|t| {
        keep(&args.strategies, &t.strategy)
            && keep(&args.stores, t.store_needed().unwrap_or("none"))
            && (t.strategy == "session" || keep(&args.algs, &t.alg))
    });
    m.loads.retain(|l| keep(&args.scenarios, &l.scenario));
    anyhow::ensure!(!m.targets.is_empty(), "no target configuration left after --strategies/--stores/--algs");
    anyhow::ensure!(!m.loads.is_empty(), "no load left after --scenarios");
    for l in &mut m.loads {
        if let Some(u) = args.users {
            anyhow::ensure!(u > 0, "--users must be at least 1");
            l.users = u;
        }
        if let (Some(r), Some(_)) = (args.rate, l.rate_rps) {
            anyhow::ensure!(r > 0.0, "--rate must be positive");
            l.rate_rps = Some(r);
        }
    }
    if let Some(d) = &args.duration {
        matrix::duration("--duration", d).map_err(anyhow::Error::msg)?;
        m.duration = d.clone();
    }
    if let Some(w) = &args.warmup {
        matrix::duration("--warmup", w).map_err(anyhow::Error::msg)?;
        m.warmup = w.clone();
    }
    Ok((name, m))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    authbench_targets::logging::init();
    match cli.command {
        Command::Run(args) => {
            let (profile, matrix) = filtered(&args)?;
            let out = args.out.clone().unwrap_or_else(|| {
                let stamp =
                    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string().replace([':', '-'], "");
                PathBuf::from("results").join(format!("{stamp}-{}", profile.replace(['/', '.'], "_")))
            });
            let cli_echo = serde_json::json!({
                "profile": profile, "users": args.users, "rate": args.rate, "duration": args.duration, "warmup": args.warmup,
                "strategies": args.strategies, "stores": args.stores, "algs": args.algs, "scenarios": args.scenarios,
                "postgres_url_given": args.postgres_url.is_some(), "redis_url_given": args.redis_url.is_some(),
            });
            interrupt::install()?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let dir = rt.block_on(run::run(run::RunOptions {
                profile,
                matrix,
                out,
                target_bin: args.target_bin.clone().unwrap_or_else(target::default_binary),
                postgres_url: args.postgres_url.clone(),
                redis_url: args.redis_url.clone(),
                cli: cli_echo,
            }))?;
            let done = if interrupt::is_set() { "interrupted; partial results" } else { "results" };
            println!("authbench: {done} in {}", dir.join("results.json").display());
            match report::render(&dir, &args.criterion) {
                Ok(()) => println!("authbench: report in {}", dir.join("REPORT.md").display()),
                Err(e) => eprintln!("authbench: the results are saved, but rendering the report failed: {e:#}"),
            }
            Ok(())
        }
        Command::Plan { from, rps, active_sessions, utilization, egress_usd_per_gb } => {
            anyhow::ensure!(rps > 0.0, "--rps must be positive");
            anyhow::ensure!(utilization > 0.0 && utilization <= 1.0, "--utilization must be in (0, 1]");
            let r = results::read(&from)?;
            let input = plan::PlanInput { rps, active_sessions, utilization, egress_usd_per_gb };
            print!("{}", plan::render(&r, &input));
            Ok(())
        }
        Command::Adr { from, priority, title, out } => {
            let text = adr::render(&results::read(&from)?, &adr::parse_priorities(&priority)?, &title)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    println!("authbench: ADR in {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Compare { before, after, threshold } => {
            let (text, worse) = compare::render(&results::read(&before)?, &results::read(&after)?, threshold);
            print!("{text}");
            if worse {
                std::process::exit(3);
            }
            Ok(())
        }
        Command::Tokens { transport, json } => {
            let transports = transport.map_or_else(|| vec![Transport::Bearer, Transport::Cookie], |t| vec![t]);
            let sizes = tokens::measure(&transports)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sizes)?);
            } else {
                print!("{}", tokens::text_table(&tokens::HEAD, &tokens::rows(&sizes)));
            }
            Ok(())
        }
        Command::Report { dir, criterion } => {
            report::render(&dir, &criterion)?;
            println!(
                "authbench: report in {} and {}",
                dir.join("REPORT.md").display(),
                dir.join("report.html").display()
            );
            Ok(())
        }
    }
}
