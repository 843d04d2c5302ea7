//! The target a case or probe talks to: one the harness started (its /proc is readable) or
//! deployed replicas it was pointed at (everything comes from their /metrics).

use authbench_scenarios::client::ClientSpec;

use super::deployed::Deployed;
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
}

/// Deployed targets are reached over plain HTTP ([`Deployed::connect`] refuses HTTPS).
static PLAIN: ClientSpec = ClientSpec::Plain;

impl Serving<'_> {
    /// Every replica's base URL (one for a started target).
    pub(crate) fn urls(&self) -> Vec<String> {
        match self {
            Serving::Started(t) => vec![t.url()],
            Serving::Deployed(d) => d.urls.clone(),
        }
    }

    /// The first replica's base URL.
    pub(crate) fn url(&self) -> String {
        match self {
            Serving::Started(t) => t.url(),
            Serving::Deployed(d) => d.urls[0].clone(),
        }
    }

    /// The first replica's host:port.
    pub(crate) fn addr(&self) -> String {
        match self {
            Serving::Started(t) => t.addr.clone(),
            Serving::Deployed(d) => d.addrs[0].clone(),
        }
    }

    /// Where each replica's /metrics is scraped.
    pub(crate) fn scrape_at(&self) -> anyhow::Result<Vec<ScrapeAt>> {
        match self {
            Serving::Started(t) => Ok(vec![t.scrape_at()?]),
            Serving::Deployed(d) => Ok(d.addrs.iter().map(|a| ScrapeAt::plain(a)).collect()),
        }
    }

    pub(crate) fn control_key(&self) -> &str {
        match self {
            Serving::Started(t) => &t.control_key,
            Serving::Deployed(d) => &d.control_key,
        }
    }

    /// How clients reach it.
    pub(crate) fn client(&self) -> &ClientSpec {
        match self {
            Serving::Started(t) => &t.client,
            Serving::Deployed(_) => &PLAIN,
        }
    }

    /// Where to look when it misbehaves.
    pub(crate) fn log(&self) -> String {
        match self {
            Serving::Started(t) => t.log_path.display().to_string(),
            Serving::Deployed(d) => format!("the logs of {}", d.urls.join(", ")),
        }
    }

    /// Where its CPU and memory are read.
    pub(crate) fn cpu_source(&self) -> CpuSource {
        match self {
            Serving::Started(_) => CpuSource::Proc,
            Serving::Deployed(_) => CpuSource::Metrics,
        }
    }
}
