//! A target served inside the calling process on a loopback port, for tests of clients (the
//! scenarios' HTTP client, the harness's scrape) that need a real server, TLS included, without a
//! child process. It is the binary's server: same router, socket counting and TLS layer.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::http::{router, App};
use crate::metrics::Metrics;
use crate::net::{Counters, Limits};
use crate::strategy::Auth;
use crate::tls::Tls;

/// A running in-process target; stops serving when dropped.
pub struct LocalTarget {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    _stop: oneshot::Sender<()>,
}

impl LocalTarget {
    /// Base URL for clients.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

/// Starts a target parsed from `args` (the binary's flags without the program name; give
/// `--key-dir`, and a store-less strategy unless a store URL is given) on a free loopback port.
pub async fn start(args: &[&str]) -> anyhow::Result<LocalTarget> {
    let argv = ["authbench-target", "--listen", "127.0.0.1:0"].into_iter().chain(args.iter().copied());
    let cfg = Config::try_parse_from(argv)?;
    cfg.validate().map_err(|msg| anyhow::anyhow!(msg))?;
    let metrics = Arc::new(Metrics::new());
    let auth = Auth::build(&cfg, Arc::clone(&metrics), 1).await?;
    let info = crate::info::render(&cfg, auth.users.len(), 1);
    let app = Arc::new(App {
        auth,
        metrics: Arc::clone(&metrics),
        transport: cfg.spec.transport,
        control_key: cfg.control_key.clone(),
        request_timeout: cfg.request_timeout,
        info,
    });
    let tls = if cfg.spec.tls { Some(Arc::new(Tls::new(&cfg, Arc::clone(&metrics))?)) } else { None };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let counters = Counters {
        received: metrics.bytes_received.clone(),
        sent: metrics.bytes_sent.clone(),
        connections: metrics.connections.clone(),
    };
    let limits =
        Limits { max_connections: cfg.max_connections, header_timeout: cfg.header_timeout, drain: cfg.request_timeout };
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    tokio::spawn(crate::net::serve(listener, router(app), counters, limits, tls, shutdown));
    Ok(LocalTarget { addr, scheme: cfg.spec.scheme(), _stop: stop })
}
