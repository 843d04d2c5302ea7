//! Stores for a run: the URLs the user gave, or throwaway servers started from local binaries.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use authbench_targets::config::redact;
use authbench_targets::spec::StoreKind;
use authbench_targets::throwaway::{Postgres, Redis, RedisCluster};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::model::results::{StoreOrigin, StoreOrigins};

/// How store CPU can be attributed.
pub enum CpuSource {
    /// A Redis we started: its current process (a fault case may restart it).
    Redis(Arc<Mutex<Redis>>),
    /// A PostgreSQL cluster we started: postmaster pid is read from its data directory.
    PostgresTree(PathBuf),
    /// A Redis Cluster we started: the sum over its nodes.
    RedisCluster(Arc<RedisCluster>),
    /// A server the user runs: its CPU is not visible from here.
    External,
}

/// One reachable store.
pub struct Endpoint {
    pub url: String,
    pub origin: StoreOrigin,
    pub version: Option<String>,
    pub cpu: CpuSource,
}

impl Endpoint {
    /// Current CPU of the store's processes in µs, where it can be seen.
    pub fn cpu_us(&self) -> Option<u64> {
        match &self.cpu {
            CpuSource::Redis(server) => {
                let pid = server.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pid()?;
                super::cpu::process_us(i32::try_from(pid).ok()?)
            }
            CpuSource::PostgresTree(dir) => {
                let pid =
                    std::fs::read_to_string(dir.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()?;
                super::cpu::tree_us(pid)
            }
            CpuSource::RedisCluster(cluster) => cluster
                .pids()
                .into_iter()
                .map(|pid| super::cpu::process_us(i32::try_from(pid).ok()?))
                .sum::<Option<u64>>(),
            CpuSource::External => None,
        }
    }
}

/// The stores of a run; throwaway servers stop when this is dropped.
pub struct Stores {
    pub postgres: Option<Endpoint>,
    pub redis: Option<Endpoint>,
    pub redis_cluster: Option<Endpoint>,
    /// Why a store is missing, for the run's summary and the results' skipped cases.
    pub missing: Vec<(StoreKind, String)>,
    pg_server: Option<Arc<Mutex<Postgres>>>,
    redis_server: Option<Arc<Mutex<Redis>>>,
}

/// A store server this run started, which fault cases may stop, freeze and restart.
#[derive(Clone)]
pub enum Server {
    Postgres(Arc<Mutex<Postgres>>),
    Redis(Arc<Mutex<Redis>>),
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
    let mut stores = Stores {
        postgres: None,
        redis: None,
        redis_cluster: None,
        missing: Vec::new(),
        pg_server: None,
        redis_server: None,
    };
    if need_postgres {
        match postgres(postgres_url).await {
            Ok((endpoint, server)) => {
                stores.postgres = Some(endpoint);
                stores.pg_server = server;
            }
            Err(why) => stores.missing.push((StoreKind::Postgres, redact(&why))),
        }
    }
    if need_redis {
        match redis(redis_url).await {
            Ok((endpoint, server)) => {
                stores.redis = Some(endpoint);
                stores.redis_server = server;
            }
            Err(why) => stores.missing.push((StoreKind::Redis, redact(&why))),
        }
    }
    stores
}

async fn postgres(url: Option<String>) -> Result<(Endpoint, Option<Arc<Mutex<Postgres>>>), String> {
    if let Some(url) = url {
        let version = postgres_version(&url)
            .await
            .ok_or_else(|| format!("PostgreSQL not reachable at {}: check --postgres-url", redact(&url)))?;
        let endpoint =
            Endpoint { url, origin: StoreOrigin::External, version: Some(version), cpu: CpuSource::External };
        return Ok((endpoint, None));
    }
    let pg = match tokio::task::spawn_blocking(Postgres::start).await {
        Ok(Ok(pg)) => pg,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(e) => return Err(format!("starting PostgreSQL panicked: {e}")),
    };
    let url = pg.url();
    let version = postgres_version(&url).await;
    let cpu = CpuSource::PostgresTree(pg.data_dir());
    Ok((Endpoint { url, origin: StoreOrigin::Throwaway, version, cpu }, Some(Arc::new(Mutex::new(pg)))))
}

async fn redis(url: Option<String>) -> Result<(Endpoint, Option<Arc<Mutex<Redis>>>), String> {
    if let Some(url) = url {
        let version = redis_version(&url)
            .await
            .ok_or_else(|| format!("Redis not reachable at {}: check --redis-url", redact(&url)))?;
        let endpoint =
            Endpoint { url, origin: StoreOrigin::External, version: Some(version), cpu: CpuSource::External };
        return Ok((endpoint, None));
    }
    let r = match tokio::task::spawn_blocking(Redis::start).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(e) => return Err(format!("starting Redis panicked: {e}")),
    };
    let url = r.url();
    let version = redis_version(&url).await;
    let server = Arc::new(Mutex::new(r));
    let cpu = CpuSource::Redis(Arc::clone(&server));
    Ok((Endpoint { url, origin: StoreOrigin::Throwaway, version, cpu }, Some(server)))
}

/// Where a given Redis Cluster is read from; without it a throwaway one is started.
pub const REDIS_CLUSTER_URL_VAR: &str = "AUTHBENCH_REDIS_CLUSTER_URL";

/// `redis://` URL of the node a `redis-cluster://` URL names first (its other nodes dropped).
fn first_node(url: &str) -> String {
    let single = url.replacen("redis-cluster://", "redis://", 1);
    single.split('?').next().unwrap_or_default().to_owned()
}

/// The Redis Cluster at AUTHBENCH_REDIS_CLUSTER_URL, or a throwaway three-master one. Its version
/// is that of the node the URL names first.
async fn redis_cluster(url: Option<String>) -> Result<Endpoint, String> {
    if let Some(url) = url {
        let version = redis_version(&first_node(&url))
            .await
            .ok_or_else(|| format!("Redis Cluster not reachable at {}: check {REDIS_CLUSTER_URL_VAR}", redact(&url)))?;
        return Ok(Endpoint { url, origin: StoreOrigin::External, version: Some(version), cpu: CpuSource::External });
    }
    let cluster = match tokio::task::spawn_blocking(RedisCluster::start).await {
        Ok(Ok(c)) => Arc::new(c),
        Ok(Err(e)) => return Err(e.to_string()),
        Err(e) => return Err(format!("starting a Redis Cluster panicked: {e}")),
    };
    let url = cluster.url();
    let version = redis_version(&first_node(&url)).await;
    Ok(Endpoint { url, origin: StoreOrigin::Throwaway, version, cpu: CpuSource::RedisCluster(cluster) })
}

impl Stores {
    /// Adds the Redis Cluster when the run needs one (see [`REDIS_CLUSTER_URL_VAR`]).
    pub async fn add_redis_cluster(&mut self, needed: bool) {
        if !needed {
            return;
        }
        match redis_cluster(std::env::var(REDIS_CLUSTER_URL_VAR).ok()).await {
            Ok(endpoint) => self.redis_cluster = Some(endpoint),
            Err(why) => self.missing.push((StoreKind::RedisCluster, redact(&why))),
        }
    }

    /// Stores at the given external URLs, without connecting: for unit tests of what uses them.
    #[cfg(test)]
    pub fn external_for_tests(postgres: Option<&str>, redis: Option<&str>) -> Stores {
        let endpoint = |url: &str| Endpoint {
            url: url.to_owned(),
            origin: StoreOrigin::External,
            version: None,
            cpu: CpuSource::External,
        };
        Stores {
            postgres: postgres.map(endpoint),
            redis: redis.map(endpoint),
            redis_cluster: None,
            missing: Vec::new(),
            pg_server: None,
            redis_server: None,
        }
    }

    /// The endpoint a store kind needs (None for the in-process memory store), or why it is unavailable.
    pub fn endpoint(&self, store: StoreKind) -> Result<Option<&Endpoint>, String> {
        let found = match store {
            StoreKind::Memory => return Ok(None),
            StoreKind::Postgres => self.postgres.as_ref(),
            StoreKind::Redis => self.redis.as_ref(),
            StoreKind::RedisCluster => self.redis_cluster.as_ref(),
        };
        found.map(Some).ok_or_else(|| self.why(store))
    }

    fn why(&self, store: StoreKind) -> String {
        self.missing
            .iter()
            .find(|(s, _)| *s == store)
            .map_or_else(|| format!("{store} was not provisioned"), |(_, why)| why.clone())
    }

    /// The server behind a store, when this run started it; otherwise why a fault cannot touch it.
    pub fn server(&self, store: StoreKind) -> Result<Server, String> {
        let found = match store {
            StoreKind::Postgres => self.pg_server.clone().map(Server::Postgres),
            StoreKind::Redis => self.redis_server.clone().map(Server::Redis),
            StoreKind::Memory => {
                return Err("the memory store lives inside the target: there is no server to fault".into())
            }
            StoreKind::RedisCluster => {
                return Err("faults are not run against a redis-cluster: its nodes fail over one by one, \
                            which none of the fault kinds models; fault a session-redis target instead"
                    .into())
            }
        };
        found.ok_or_else(|| {
            format!(
                "{store} was given with --{store}-url: authbench only faults servers it started itself; \
                 run without --{store}-url to let it start a throwaway {store}"
            )
        })
    }

    /// Where each store came from, for results.json.
    pub fn origins(&self) -> StoreOrigins {
        StoreOrigins {
            postgres: self.postgres.as_ref().map(|e| e.origin),
            redis: self.redis.as_ref().map(|e| e.origin),
            redis_cluster: self.redis_cluster.as_ref().map(|e| e.origin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_stores_are_reported_without_their_passwords() {
        let stores = provision(
            true,
            true,
            Some("postgres://authbench:s3cret@127.0.0.1:1/postgres".into()),
            Some("redis://:s3cret@127.0.0.1:1".into()),
        )
        .await;
        assert_eq!(stores.missing.len(), 2);
        for (store, why) in &stores.missing {
            assert!(!why.contains("s3cret"), "{store}: {why}");
            assert!(why.contains("127.0.0.1:1"), "{store}: the message should still say where: {why}");
        }
    }

    /// A given cluster is used as it is (its CPU unseen), a throwaway one is started and measured;
    /// an unreachable one is reported by the variable to fix, without its password.
    #[tokio::test]
    async fn a_redis_cluster_is_started_or_taken_from_its_url() {
        let started = redis_cluster(None).await.expect("a throwaway Redis Cluster");
        assert_eq!(started.origin, StoreOrigin::Throwaway);
        assert!(started.version.is_some() && started.cpu_us().is_some(), "{:?}", started.version);
        let given = redis_cluster(Some(started.url.clone())).await.expect("the same cluster, given by URL");
        assert_eq!((given.origin, given.version.is_some(), given.cpu_us()), (StoreOrigin::External, true, None));
        let why = redis_cluster(Some("redis-cluster://:s3cret@127.0.0.1:1?node=127.0.0.1:2".into())).await.err();
        let why = why.expect("nothing listens on port 1");
        assert!(why.contains(REDIS_CLUSTER_URL_VAR) && !why.contains("s3cret"), "{why}");
    }
}
