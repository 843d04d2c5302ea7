//! `authbench`: parses the command line and dispatches; each command lives in its layer.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;

use authbench_harness::cli::{Cli, Command, DeployedArgs, PlanArgs, ReportInputs, RunArgs};
use authbench_harness::model::matrix::{self, Matrix};
use authbench_harness::model::results::{self, Overrides};
use authbench_harness::model::{histogram, merge};
use authbench_harness::report::{self, adr, compare, plan, tokens};
use authbench_harness::run;
use authbench_targets::spec::Transport;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    authbench_targets::logging::init();
    match cli.command {
        Command::Run(args) => run_command(&args),
        Command::Report { dir, inputs, print } => {
            let doc = report::render_document(&dir, &inputs.to_inputs())?;
            let written = format!(
                "authbench: report in {} and {}",
                dir.join("REPORT.md").display(),
                dir.join("report.html").display()
            );
            if print {
                // stdout carries the report alone, so it can be piped or saved.
                print!("{}", report::render::terminal::document(&doc, &dir));
                eprintln!("{written}");
            } else {
                println!("{written}");
            }
            Ok(())
        }
        Command::Plan(args) => plan_command(&args),
        Command::Adr { from, priority, title, out } => {
            let text = adr::render(&read(&from)?, &priority, &title)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
                    println!("authbench: ADR in {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Compare { before, after, threshold } => {
            let (text, worse) = compare::render(&read(&before)?, &read(&after)?, threshold);
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
        Command::Merge { dirs, out } => merge_command(&dirs, &out),
        // std threads and blocking I/O for µs-precise delays: it runs outside any tokio runtime.
        Command::Relay(args) => run::relay::serve(args.listen, args.upstream, args.rtt),
    }
}

fn read(dir: &Path) -> anyhow::Result<results::Results> {
    Ok(results::read(dir)?)
}

fn render_report(dir: &Path, inputs: &ReportInputs) -> anyhow::Result<()> {
    report::render(dir, &inputs.to_inputs())
}

/// The matrix as asked: the profile or file, narrowed by the filters, with what narrowed it.
fn matrix(args: &RunArgs) -> anyhow::Result<(String, Matrix, Overrides)> {
    let (name, m) = match &args.matrix {
        Some(path) => (path.display().to_string(), matrix::from_file(path)?),
        None => (args.profile.to_string(), args.profile.matrix()?),
    };
    let overrides = Overrides {
        strategies: args.strategies.clone(),
        stores: args.stores.clone(),
        algs: args.algs.clone(),
        scenarios: args.scenarios.clone(),
        users: args.users.map(|u| usize::try_from(u).unwrap_or(usize::MAX)),
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
        repetitions: args.repetitions.map(|r| u32::try_from(r).unwrap_or(u32::MAX)),
        slo: args.slo,
        postgres_url_given: args.postgres_url.is_some(),
        redis_url_given: args.redis_url.is_some(),
        target_urls: args.deployed.target_url.clone(),
    };
    let m = m.narrowed(&overrides).map_err(anyhow::Error::msg)?;
    Ok((name, m, overrides))
}

fn run_command(args: &RunArgs) -> anyhow::Result<()> {
    let (profile, matrix, overrides) = matrix(args)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string().replace([':', '-'], "");
        PathBuf::from("results").join(format!("{stamp}-{}", profile.replace(['/', '.'], "_")))
    });
    run::interrupt::install()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let dir = rt.block_on(async {
        let deployed = deployed(&args.deployed).await?;
        run::run(run::RunOptions {
            profile,
            matrix,
            overrides,
            out,
            target_bin: args.target_bin.clone().unwrap_or_else(run::target::default_binary),
            postgres_url: args.postgres_url.clone(),
            redis_url: args.redis_url.clone(),
            shard: args.shard,
            start_at: args.start_at,
            deployed,
        })
        .await
    })?;
    let done = if run::interrupt::is_set() { "interrupted; partial results" } else { "results" };
    println!("authbench: {done} in {}", dir.join("results.json").display());
    match render_report(&dir, &args.report) {
        Ok(()) => println!("authbench: report in {}", dir.join("REPORT.md").display()),
        Err(e) => eprintln!("authbench: the results are saved, but rendering the report failed: {e:#}"),
    }
    Ok(())
}

/// `authbench merge`: reads every shard, merges them and writes the merged results.json with
/// the merged histograms' standard-format copies beside it.
fn merge_command(dirs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let shards = dirs.iter().map(|d| read(d)).collect::<anyhow::Result<Vec<_>>>()?;
    let run_id = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "merged".into());
    let mut merged = merge::merge(&shards, run_id).context("cannot merge these shards")?;
    let histograms = out.join("histograms");
    std::fs::create_dir_all(&histograms).with_context(|| format!("cannot create {}", histograms.display()))?;
    for c in &mut merged.cases {
        write_histograms(c, out)?;
    }
    results::write(&merged, out)?;
    drift_warnings(&shards, &merged);
    let from = merged.config.merged.as_ref().map_or(0, |m| m.shards.len());
    println!("authbench: {from} shards merged into {}", out.join("results.json").display());
    println!("authbench: render it with authbench report {}", out.display());
    Ok(())
}

/// Says which cases' shard windows opened apart (no --start-at, or a shard late for its slot):
/// their throughput is over the span of all the windows, lower than the shards' own.
fn drift_warnings(shards: &[results::Results], merged: &results::Results) {
    for c in &merged.cases {
        let own = shards.iter().flat_map(|r| &r.cases).filter(|s| s.id == c.id).map(|s| s.window_s);
        let apart = c.window_s - own.fold(0.0, f64::max);
        if apart > 0.5 {
            eprintln!(
                "authbench: {}: the shards' windows opened up to {apart:.1} s apart; its throughput is over the {:.1} s they span",
                c.id, c.window_s
            );
        }
    }
}

/// A merged case's histogram in HdrHistogram's standard formats, under `out`'s histograms/
/// (named as the shards named theirs), and the case pointing at them.
fn write_histograms(c: &mut results::Case, out: &Path) -> anyhow::Result<()> {
    let h = histogram::decode(&c.histogram.data).with_context(|| format!("case {}", c.id))?;
    let stem = run::file_stem(&c.id);
    let (hgrm, hlog) =
        (PathBuf::from(format!("histograms/{stem}.hgrm")), PathBuf::from(format!("histograms/{stem}.hlog")));
    run::export::write_hgrm(&h, &out.join(&hgrm)).with_context(|| format!("cannot write {}", hgrm.display()))?;
    let opened = std::time::UNIX_EPOCH + std::time::Duration::from_millis(c.window_start_unix_ms.unwrap_or(0));
    let window = std::time::Duration::from_secs_f64(c.window_s);
    run::export::write_hlog(&h, opened, window, &stem, &out.join(&hlog))
        .with_context(|| format!("cannot write {}", hlog.display()))?;
    (c.histogram.hgrm, c.histogram.hlog) = (hgrm, hlog);
    Ok(())
}

/// The running targets `--target-url` and `--target-dns` name, read through their control key;
/// None without them.
async fn deployed(args: &DeployedArgs) -> anyhow::Result<Option<run::deployed::Deployed>> {
    if !args.any() {
        anyhow::ensure!(
            args.via.is_none() && args.control_key_file.is_none(),
            "--via and --control-key-file need the targets themselves: pass --target-url or --target-dns"
        );
        return Ok(None);
    }
    let key = match &args.control_key_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the control key from {}", path.display()))?
            .trim()
            .to_owned(),
        None => std::env::var("AUTHBENCH_CONTROL_KEY").map_err(|_| {
            anyhow::anyhow!("--target-url needs the targets' control key: pass --control-key-file PATH or set AUTHBENCH_CONTROL_KEY")
        })?,
    };
    let mut urls = args.target_url.clone();
    if let Some(name) = &args.target_dns {
        urls.extend(run::deployed::resolve(name).await?);
    }
    let d = run::deployed::Deployed::connect(&urls, args.via.as_deref(), key).await?;
    match &d.via {
        Some(via) => eprintln!("authbench: driving {} through {via}, replicas {}", d.info.id, d.urls.join(", ")),
        None => eprintln!("authbench: driving {} at {}", d.info.id, d.urls.join(", ")),
    }
    Ok(Some(d))
}

/// `authbench plan`; clap has already refused a rate, utilisation or price out of range.
fn plan_command(args: &PlanArgs) -> anyhow::Result<()> {
    let r = read(&args.from)?;
    let input = plan::PlanInput {
        rps: args.rps,
        active_sessions: args.active_sessions,
        utilization: args.utilization,
        egress_usd_per_gb: args.egress_usd_per_gb,
        store_rtt: args.store_rtt.map(|s| s.0),
    };
    print!("{}", plan::render(&r, &input));
    Ok(())
}
