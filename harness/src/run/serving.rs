//! The target a case or probe talks to: one the harness started (its /proc is readable), replicas
//! it started behind HAProxy (each one's /proc, summed), or deployed replicas it was pointed at
//! (everything comes from their /metrics).

use authbench_scenarios::client::ClientSpec;

use super::deployed::Deployed;
use super::replicas::Replicated;
use super::scrape::ScrapeAt;
use super::target::TargetProcess;
use crate::model::results::CpuSource;

/// A target under measurement, whoever started it.
#[derive(Clone, Copy)]
pub(crate) enum Serving<'t> {
    /// Started by the harness for this case: CPU and peak memory from its /proc.
    Started(&'t TargetProcess),
    /// Already running: CPU and memory from its /metrics, summed over the replicas.
    Deployed(&'t Deployed),
    /// Started by the harness as replicas behind a balancer: load through the balancer, CPU and
    /// memory from each replica's /proc, summed.
    Replicated(&'t Replicated),
}

/// Deployed targets are reached over plain HTTP ([`Deployed::connect`] refuses HTTPS).
static PLAIN: ClientSpec = ClientSpec::Plain;

impl Serving<'_> {
    /// Where the load goes: a balancer's base URL, or every replica's own (one for a started target).
    pub(crate) fn urls(&self) -> Vec<String> {
        match self {
            Serving::Started(t) => vec![t.url()],
            Serving::Deployed(d) => d.via.clone().map_or_else(|| d.urls.clone(), |via| vec![via]),
            Serving::Replicated(r) => vec![r.url()],
        }
    }

    /// Where the probe goes: the balancer's base URL, else the first replica's.
    pub(crate) fn url(&self) -> String {
        match self {
            Serving::Started(t) => t.url(),
            Serving::Deployed(d) => d.via.clone().unwrap_or_else(|| d.urls[0].clone()),
            Serving::Replicated(r) => r.url(),
        }
    }

    /// Where each replica's /metrics is scraped.
    pub(crate) fn scrape_at(&self) -> anyhow::Result<Vec<ScrapeAt>> {
        match self {
            Serving::Started(t) => Ok(vec![t.scrape_at()?]),
            Serving::Deployed(d) => Ok(d.addrs.iter().map(|a| ScrapeAt::plain(a)).collect()),
            Serving::Replicated(r) => r.replicas.iter().map(TargetProcess::scrape_at).collect(),
        }
    }

    pub(crate) fn control_key(&self) -> &str {
        match self {
            Serving::Started(t) => &t.control_key,
            Serving::Deployed(d) => &d.control_key,
            Serving::Replicated(r) => &r.control_key,
        }
    }

    /// How clients reach it.
    pub(crate) fn client(&self) -> &ClientSpec {
        match self {
            Serving::Started(t) => &t.client,
            Serving::Deployed(_) | Serving::Replicated(_) => &PLAIN,
        }
    }

    /// Where to look when it misbehaves.
    pub(crate) fn log(&self) -> String {
        match self {
            Serving::Started(t) => t.log_path.display().to_string(),
            Serving::Deployed(d) => format!("the logs of {}", d.urls.join(", ")),
            Serving::Replicated(r) => r.logs().iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        }
    }

    /// Where its CPU and memory are read.
    pub(crate) fn cpu_source(&self) -> CpuSource {
        match self {
            Serving::Started(_) | Serving::Replicated(_) => CpuSource::Proc,
            Serving::Deployed(_) => CpuSource::Metrics,
        }
    }

    /// The processes whose /proc this run reads for target CPU, in replica order; empty for deployed targets.
    pub(crate) fn pids(&self) -> Vec<i32> {
        match self {
            Serving::Started(t) => vec![t.pid],
            Serving::Deployed(_) => Vec::new(),
            Serving::Replicated(r) => r.replicas.iter().map(|t| t.pid).collect(),
        }
    }

    /// Each replica's own base URL when there are several, to ask every one of them directly.
    pub(crate) fn replica_urls(&self) -> Vec<String> {
        match self {
            Serving::Started(_) => Vec::new(),
            Serving::Deployed(d) if d.urls.len() > 1 || d.via.is_some() => d.urls.clone(),
            Serving::Deployed(_) => Vec::new(),
            Serving::Replicated(r) => r.replica_urls(),
        }
    }

    /// One target process's own base URL and host:port (the first replica's behind a balancer).
    pub(crate) fn first_process(&self) -> (String, String) {
        match self {
            Serving::Started(t) => (t.url(), t.addr.clone()),
            Serving::Deployed(d) => (d.urls[0].clone(), d.addrs[0].clone()),
            Serving::Replicated(r) => (r.replicas[0].url(), r.replicas[0].addr.clone()),
        }
    }
}
