//! Stores for a run: the URLs the user gave, or throwaway servers started from local binaries.

use std::path::PathBuf;

use authbench_targets::throwaway::{Postgres, Redis};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How store CPU can be attributed.
pub enum CpuSource {
    /// A local process we started: its pid.
    Process(i32),
    /// A PostgreSQL cluster we started: postmaster pid is read from its data directory.
    PostgresTree(PathBuf),
    /// A server the user runs: its CPU is not visible from here.
    External,
}

/// One reachable store.
pub struct Endpoint {
    pub url: String,
    pub origin: &'static str,
    pub version: Option<String>,
    pub cpu: CpuSource,
}

impl Endpoint {
    /// Current CPU of the store's processes in µs, where it can be seen.
    pub fn cpu_us(&self) -> Option<u64> {
        match &self.cpu {
            CpuSource::Process(pid) => crate::cpu::process_us(*pid),
            CpuSource::PostgresTree(dir) => {
                let pid =
                    std::fs::read_to_string(dir.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()?;
                crate::cpu::tree_us(pid)
            }
            CpuSource::External => None,
        }
    }
}

/// The stores of a run; throwaway servers stop when this is dropped.
pub struct Stores {
    pub postgres: Option<Endpoint>,
    pub redis: Option<Endpoint>,
    /// Why a store is missing, for the run's summary and the results' skipped cases.
    pub missing: Vec<(String, String)>,
    _pg: Option<Postgres>,
    _redis: Option<Redis>,
}

async fn postgres_version(url: &str) -> Option<String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(conn);
    client.query_one("SHOW server_version", &[]).await.ok().map(|r| r.get::<_, String>(0))
}

/// One section of Redis INFO, read over a plain connection (no password support: local servers).
pub async fn redis_info(url: &str, section: &str) -> Option<String> {
    let hostport = url.strip_prefix("redis://")?.rsplit('@').next()?.split('/').next()?.to_owned();
    let mut s = tokio::net::TcpStream::connect(hostport).await.ok()?;
    let cmd = format!("*2\r\n$4\r\nINFO\r\n${}\r\n{section}\r\n", section.len());
    s.write_all(cmd.as_bytes()).await.ok()?;
    let mut buf = vec![0u8; 16384];
    let n = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

async fn redis_version(url: &str) -> Option<String> {
    let text = redis_info(url, "server").await?;
    text.lines().find_map(|l| l.strip_prefix("redis_version:")).map(|v| v.trim().to_owned())
}

/// Provisions the stores a run needs.
pub async fn provision(
    need_postgres: bool,
    need_redis: bool,
    postgres_url: Option<String>,
    redis_url: Option<String>,
) -> Stores {
    let mut stores = Stores { postgres: None, redis: None, missing: Vec::new(), _pg: None, _redis: None };
    if need_postgres {
        match postgres_url {
            Some(url) => {
                let version = postgres_version(&url).await;
                if version.is_none() {
                    stores
                        .missing
                        .push(("postgres".into(), format!("PostgreSQL not reachable at {url}: check --postgres-url")));
                } else {
                    stores.postgres = Some(Endpoint { url, origin: "external", version, cpu: CpuSource::External });
                }
            }
            None => match tokio::task::spawn_blocking(Postgres::start).await {
                Ok(Ok(pg)) => {
                    let url = pg.url();
                    let version = postgres_version(&url).await;
                    stores.postgres = Some(Endpoint {
                        url,
                        origin: "throwaway",
                        version,
                        cpu: CpuSource::PostgresTree(pg.data_dir()),
                    });
                    stores._pg = Some(pg);
                }
                Ok(Err(e)) => stores.missing.push(("postgres".into(), format!("{e}"))),
                Err(e) => stores.missing.push(("postgres".into(), format!("starting PostgreSQL panicked: {e}"))),
            },
        }
    }
    if need_redis {
        match redis_url {
            Some(url) => {
                let version = redis_version(&url).await;
                if version.is_none() {
                    stores.missing.push(("redis".into(), format!("Redis not reachable at {url}: check --redis-url")));
                } else {
                    stores.redis = Some(Endpoint { url, origin: "external", version, cpu: CpuSource::External });
                }
            }
            None => match tokio::task::spawn_blocking(Redis::start).await {
                Ok(Ok(r)) => {
                    let url = r.url();
                    let version = redis_version(&url).await;
                    let cpu =
                        r.pid().and_then(|p| i32::try_from(p).ok()).map_or(CpuSource::External, CpuSource::Process);
                    stores.redis = Some(Endpoint { url, origin: "throwaway", version, cpu });
                    stores._redis = Some(r);
                }
                Ok(Err(e)) => stores.missing.push(("redis".into(), format!("{e}"))),
                Err(e) => stores.missing.push(("redis".into(), format!("starting Redis panicked: {e}"))),
            },
        }
    }
    stores
}

impl Stores {
    /// The endpoint a target spec needs, or why it is unavailable.
    pub fn endpoint(&self, store: &str) -> Result<Option<&Endpoint>, String> {
        match store {
            "memory" => Ok(None),
            "postgres" => self.postgres.as_ref().map(Some).ok_or_else(|| self.why("postgres")),
            "redis" => self.redis.as_ref().map(Some).ok_or_else(|| self.why("redis")),
            other => Err(format!("unknown store {other}")),
        }
    }

    fn why(&self, store: &str) -> String {
        self.missing
            .iter()
            .find(|(s, _)| s == store)
            .map_or_else(|| format!("{store} was not provisioned"), |(_, why)| why.clone())
    }
}
