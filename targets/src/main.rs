//! `authbench-target`: serves one strategy on one store behind the authbench HTTP contract.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use authbench_targets::config::{redact, Config};
use authbench_targets::http::{router, App};
use authbench_targets::metrics::Metrics;
use authbench_targets::net::{Counters, Limits};
use authbench_targets::strategy::Auth;
use authbench_targets::tls::Tls;
use authbench_targets::{info, token};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Store errors quote the URL they were given; its password stays out of logs.
            eprintln!("Error: {}", redact(&format!("{e:?}")));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cfg = Config::parse();
    cfg.validate().map_err(|msg| anyhow::anyhow!(msg))?;
    authbench_targets::logging::init();
    let workers = cfg.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("starting the async runtime failed")?
        .block_on(serve(cfg, workers))
}

async fn serve(cfg: Config, workers: usize) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let auth = Auth::build(&cfg, Arc::clone(&metrics), workers).await?;
    let info = info::render(&cfg, auth.users.len(), workers);
    let app = Arc::new(App {
        auth,
        metrics: Arc::clone(&metrics),
        transport: cfg.spec.transport,
        control_key: cfg.control_key.clone(),
        request_timeout: cfg.request_timeout,
        info,
    });

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}: pick another --listen address or port 0", cfg.listen))?;
    let addr = listener.local_addr().context("reading the bound address failed")?;
    // The certificate file is written before the address is announced, so a client never misses it.
    let tls = match cfg.spec.tls {
        true => Some(Arc::new(Tls::new(&cfg, Arc::clone(&metrics)).context("setting up --tls failed")?)),
        false => None,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}://{addr}", cfg.spec.scheme())
        .and_then(|()| out.flush())
        .context("writing to stdout failed")?;
    drop(out);

    let sweeper_app = Arc::clone(&app);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Some(store) = sweeper_app.auth.store() {
                if let Err(e) = store.sweep(token::unix_now()).await {
                    tracing::warn!(error = %e, "sweeping expired records failed; will retry");
                }
            }
        }
    });

    let counters = Counters {
        received: metrics.bytes_received.clone(),
        sent: metrics.bytes_sent.clone(),
        connections: metrics.connections.clone(),
    };
    let limits =
        Limits { max_connections: cfg.max_connections, header_timeout: cfg.header_timeout, drain: cfg.request_timeout };
    authbench_targets::net::serve(listener, router(app), counters, limits, tls, shutdown())
        .await
        .context("HTTP server failed")
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
