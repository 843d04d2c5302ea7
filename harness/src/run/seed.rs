//! Seeded sessions (`seed_sessions` in a matrix): before the first case, each PostgreSQL or Redis
//! session and hybrid configuration gets that many sessions or refresh families in its namespace,
//! so lookups meet a deployment-sized table or keyspace instead of the few rows the case's own
//! users log in. Targets start fresh per case, but the namespace's data stays in the store for the
//! whole run, so each configuration is seeded once. The store's size before and after gives the
//! bytes one stored session costs at that size.

use std::time::{Duration, Instant};

use anyhow::Context;
use authbench_targets::contract::{route, CONTROL_KEY_HEADER};
use authbench_targets::http::control::MAX_SEED;
use authbench_targets::spec::{Span, StoreKind, StrategyKind, TargetSpec};
use indicatif::ProgressBar;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::case::file_stem;
use super::provision::Stores;
use super::store_link::host_port;
use super::target::{Launch, TargetProcess};
use super::{interrupt, Runner};
use crate::model::results::{self, Skipped};
use crate::model::seed::{SeedRecord, StoreSize};

/// Longest one seed call (up to a million records) may take.
const SEED_CALL_TIMEOUT: Duration = Duration::from_secs(600);

/// The table (PostgreSQL) or key kind (Redis) holding one record of what the strategy stores per
/// login; None for configurations whose records cannot be seeded outside the target.
fn layout(spec: &TargetSpec) -> Option<(StoreKind, &'static str, &'static str)> {
    let store = match spec.needed_store()? {
        s @ (StoreKind::Postgres | StoreKind::Redis | StoreKind::RedisCluster) => s,
        StoreKind::Memory => return None,
    };
    match spec.strategy {
        StrategyKind::Session => Some((store, "sessions", "s")),
        StrategyKind::Hybrid => Some((store, "refresh_tokens", "f")),
        StrategyKind::Jwt | StrategyKind::None => None,
    }
}

/// Whether a configuration is seeded when the matrix asks for seeded sessions.
pub(super) fn seeds(spec: &TargetSpec) -> bool {
    layout(spec).is_some()
}

impl Runner<'_> {
    /// Seeds every configuration that keeps sessions or refresh families in PostgreSQL, Redis or a
    /// Redis Cluster, one after the other (Redis's memory is the whole server's); a failure is
    /// listed as skipped and the run goes on with that namespace unseeded.
    pub(super) async fn seed_namespaces(&mut self, ready: &[(&TargetSpec, &Launch<'_>)]) -> anyhow::Result<()> {
        let count = self.m.seed_sessions;
        if count == 0 {
            return Ok(());
        }
        for (spec, launch) in ready.iter().filter(|(s, _)| seeds(s)) {
            if interrupt::is_set() {
                return Ok(());
            }
            match seed(spec, launch, count).await {
                Ok(record) => {
                    eprintln!("{}", line(&record));
                    self.results.seeds.push(record);
                }
                Err(e) => {
                    eprintln!("authbench: seeding {} failed: {e:#}", spec.id());
                    let reason = format!("failed: {e:#}; its cases ran on an unseeded namespace");
                    self.results.skipped.push(Skipped { id: format!("{}/seed", spec.id()), reason });
                }
            }
            results::write(self.results, launch.out)?;
        }
        Ok(())
    }
}

/// Seeds one configuration's namespace through a fresh target reaching the store directly (the
/// data is the same whatever the round trip) and reads the store's size around it.
async fn seed(spec: &TargetSpec, launch: &Launch<'_>, count: u64) -> anyhow::Result<SeedRecord> {
    let (store, table, _) = layout(spec).context("this configuration keeps no seedable records")?;
    let direct = TargetSpec { store_rtt: Span(Duration::ZERO), ..*spec };
    let target = TargetProcess::start(&direct, launch, &format!("{}_seed", file_stem(&spec.id()))).await?;
    let pb = ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(200));
    pb.set_message(format!("{}: seeding {count} {} into its namespace", spec.id(), records_word(spec)));
    let url = store_url(launch.stores, store)?;
    let ns = &launch.namespace;
    let before = size(store, &url, ns, table).await;
    let started = Instant::now();
    let sent = post_seeds(&target, count, &pb).await;
    let seconds = started.elapsed().as_secs_f64();
    pb.finish_and_clear();
    target.stop().await;
    sent?;
    let after = size(store, &url, ns, table).await;
    let counted = counted(spec, &url, ns).await;
    Ok(SeedRecord {
        target: spec.into(),
        records: count,
        seconds,
        bytes_per_record: SeedRecord::per_record(before.as_ref().ok().copied(), after.as_ref().ok().copied(), count),
        note: note(store, &before, &after, &counted),
        before: before.ok(),
        after: after.ok(),
        counted: counted.ok(),
    })
}

fn records_word(spec: &TargetSpec) -> &'static str {
    if spec.strategy.has_refresh_token() {
        "refresh-token families"
    } else {
        "sessions"
    }
}

fn store_url(stores: &Stores, store: StoreKind) -> anyhow::Result<String> {
    let endpoint = stores.endpoint(store).map_err(anyhow::Error::msg)?;
    endpoint.map(|e| e.url.clone()).with_context(|| format!("{store} has no server to seed"))
}

/// Asks the target for `count` records, at most [`MAX_SEED`] per call.
async fn post_seeds(target: &TargetProcess, count: u64, pb: &ProgressBar) -> anyhow::Result<()> {
    let http = super::client::http(target, SEED_CALL_TIMEOUT)?;
    let mut done = 0;
    while done < count {
        let n = (count - done).min(MAX_SEED);
        let r = http
            .post(format!("{}{}", target.url(), route::SEED))
            .header(CONTROL_KEY_HEADER, &target.control_key)
            .header("content-type", "application/json")
            .body(format!(r#"{{"count":{n}}}"#))
            .send()
            .await
            .context("the seed call got no answer (see the target's _seed log)")?;
        anyhow::ensure!(r.status() == 200, "seeding {n} records answered {} (see the target's _seed log)", r.status());
        done += n;
        pb.set_message(format!("seeded {done} of {count}"));
    }
    Ok(())
}

/// How the sizes were read, and what could not be.
fn note(
    store: StoreKind,
    before: &anyhow::Result<StoreSize>,
    after: &anyhow::Result<StoreSize>,
    counted: &anyhow::Result<u64>,
) -> String {
    let how = match store {
        StoreKind::Redis => "Redis INFO memory used_memory (the whole server's) before and after",
        StoreKind::RedisCluster => "seeded; size and count not measured (a Redis Cluster spreads them over its nodes)",
        _ => "pg_table_size and pg_indexes_size of the namespace's table before and after",
    };
    let problems: Vec<String> = [("size before", before.as_ref().err()), ("size after", after.as_ref().err())]
        .into_iter()
        .chain([("count", counted.as_ref().err())])
        .filter_map(|(what, e)| e.map(|e| format!("{what} not read: {e:#}")))
        .collect();
    if problems.is_empty() {
        how.to_owned()
    } else {
        format!("{how}; {}", problems.join("; "))
    }
}

async fn size(store: StoreKind, url: &str, ns: &str, table: &str) -> anyhow::Result<StoreSize> {
    match store {
        StoreKind::Redis => {
            let info = super::provision::redis_info(url, "memory").await.context("Redis INFO memory failed")?;
            let used = info.lines().find_map(|l| l.strip_prefix("used_memory:")).context("no used_memory in INFO")?;
            Ok(StoreSize::Redis { used_memory: used.trim().parse().context("used_memory is not a number")? })
        }
        StoreKind::RedisCluster => anyhow::bail!("a Redis Cluster's size is spread over its nodes: not measured"),
        StoreKind::Postgres | StoreKind::Memory => {
            let sql = format!("SELECT pg_table_size('{ns}.{table}'), pg_indexes_size('{ns}.{table}')");
            let row = pg_row(url, &sql).await?;
            let (table, indexes): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            Ok(StoreSize::Postgres { table: u64::try_from(table)?, indexes: u64::try_from(indexes)? })
        }
    }
}

async fn pg_row(url: &str, sql: &str) -> anyhow::Result<tokio_postgres::Row> {
    let (client, conn) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("cannot reach PostgreSQL")?;
    tokio::spawn(conn);
    client.query_one(sql, &[]).await.with_context(|| format!("{sql} failed"))
}

/// Records in the namespace: rows of its table, or its session / family keys.
async fn counted(spec: &TargetSpec, url: &str, ns: &str) -> anyhow::Result<u64> {
    let (store, table, key) = layout(spec).context("nothing to count")?;
    match store {
        StoreKind::Redis => redis_count_keys(url, &format!("{ns}:{key}:*")).await,
        StoreKind::RedisCluster => anyhow::bail!("a Redis Cluster's keys are spread over its nodes: not counted"),
        StoreKind::Postgres | StoreKind::Memory => {
            let row = pg_row(url, &format!("SELECT count(*) FROM {ns}.{table}")).await?;
            Ok(u64::try_from(row.try_get::<_, i64>(0)?)?)
        }
    }
}

/// Walks the keyspace with SCAN inside one script (the run writes nothing else meanwhile) and
/// counts the keys matching `pattern`.
const COUNT_KEYS: &str =
    "local n, c = 0, '0' repeat local r = redis.call('SCAN', c, 'MATCH', ARGV[1], 'COUNT', 10000) \
     c = r[1] n = n + #r[2] until c == '0' return n";

async fn redis_count_keys(url: &str, pattern: &str) -> anyhow::Result<u64> {
    let hostport = host_port(url).context("no host:port in the Redis URL")?;
    let mut s =
        tokio::net::TcpStream::connect(&hostport).await.with_context(|| format!("cannot reach Redis at {hostport}"))?;
    s.write_all(&resp(&["EVAL", COUNT_KEYS, "0", pattern])).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    while !buf.ends_with(b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut chunk))
            .await
            .context("Redis did not answer")??;
        anyhow::ensure!(n > 0, "Redis closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
    let reply = String::from_utf8_lossy(&buf);
    let n = reply
        .trim()
        .strip_prefix(':')
        .with_context(|| format!("Redis answered {:?} to the key count", reply.trim()))?;
    Ok(n.parse()?)
}

/// A command in Redis's wire format.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n{a}\r\n", a.len()).into_bytes());
    }
    out
}

/// The line a finished seeding prints.
fn line(r: &SeedRecord) -> String {
    let rate = r.records as f64 / r.seconds.max(1e-9);
    let per = r.bytes_per_record.map_or("not measured".to_owned(), |b| format!("{b:.0} B per record"));
    format!("✓ {}/seed: {} records in {:.1} s ({rate:.0}/s), {per}", r.target.id, r.records, r.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_targets::token::alg::Alg;

    #[test]
    fn only_stored_sessions_and_families_outside_the_target_are_seeded() {
        let stored = |strategy, store| TargetSpec::stored(strategy, store, Alg::Hs256);
        assert!(seeds(&stored(StrategyKind::Session, StoreKind::Postgres)));
        assert!(seeds(&stored(StrategyKind::Hybrid, StoreKind::Redis)));
        assert!(seeds(&stored(StrategyKind::Session, StoreKind::RedisCluster)));
        assert!(!seeds(&stored(StrategyKind::Session, StoreKind::Memory)), "lives and dies with each target");
        let deny = TargetSpec { denylist: Some(StoreKind::Redis), ..TargetSpec::jwt(Alg::Hs256) };
        assert!(!seeds(&deny), "a denylist holds no sessions");
        assert_eq!(layout(&stored(StrategyKind::Hybrid, StoreKind::Postgres)).map(|l| l.1), Some("refresh_tokens"));
    }

    #[test]
    fn commands_are_written_in_redis_wire_format() {
        assert_eq!(resp(&["EVAL", "return 1", "0"]), b"*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n0\r\n".to_vec());
    }
}
