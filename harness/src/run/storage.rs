//! What one stored session or refresh record costs the store, measured by creating many of them.

use authbench_targets::contract::{route, CONTROL_KEY_HEADER};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};

use super::provision::Stores;
use super::target::TargetProcess;
use crate::model::probe::Storage;

async fn size(spec: &TargetSpec, stores: &Stores, namespace: &str, pid: i32) -> anyhow::Result<(f64, &'static str)> {
    let table = match spec.strategy {
        StrategyKind::Session => "sessions",
        StrategyKind::Hybrid => "refresh_tokens",
        StrategyKind::Jwt | StrategyKind::None => anyhow::bail!("{} targets store no sessions", spec.strategy),
    };
    match spec.store {
        Some(StoreKind::Redis) => {
            let url = &stores.redis.as_ref().ok_or_else(|| anyhow::anyhow!("no Redis"))?.url;
            let info = super::provision::redis_info(url, "memory")
                .await
                .ok_or_else(|| anyhow::anyhow!("Redis INFO memory failed"))?;
            let used = info
                .lines()
                .find_map(|l| l.strip_prefix("used_memory:"))
                .ok_or_else(|| anyhow::anyhow!("no used_memory in INFO"))?;
            Ok((used.trim().parse()?, "growth of Redis used_memory"))
        }
        Some(StoreKind::RedisCluster) => {
            anyhow::bail!("the per-record size of a Redis Cluster is not measured (its memory is spread over nodes)")
        }
        Some(StoreKind::Postgres) => {
            let url = &stores.postgres.as_ref().ok_or_else(|| anyhow::anyhow!("no PostgreSQL"))?.url;
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            let row = client
                .query_one(format!("SELECT pg_total_relation_size('{namespace}.{table}')::float8").as_str(), &[])
                .await?;
            Ok((row.get(0), "growth of pg_total_relation_size (table, indexes, TOAST)"))
        }
        Some(StoreKind::Memory) => {
            let kib = procfs::process::Process::new(pid)?.status()?.vmrss.ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
            Ok(((kib * 1024) as f64, "growth of the target's resident memory (VmRSS)"))
        }
        None => anyhow::bail!("{} has no store to measure", spec.id()),
    }
}

/// Creates `records` sessions or refresh families through the control API and measures the growth.
pub async fn measure(
    target: &TargetProcess,
    spec: &TargetSpec,
    stores: &Stores,
    namespace: &str,
    records: u64,
) -> anyhow::Result<Storage> {
    let before = size(spec, stores, namespace, target.pid).await?.0;
    let http = super::client::http(target, std::time::Duration::from_secs(300))?;
    let r = http
        .post(format!("{}{}", target.url(), route::SEED))
        .header(CONTROL_KEY_HEADER, &target.control_key)
        .header("content-type", "application/json")
        .body(format!(r#"{{"count":{records}}}"#))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "seeding {records} records answered {}", r.status());
    let (after, how) = size(spec, stores, namespace, target.pid).await?;
    Ok(Storage {
        records,
        bytes_per_record: (after - before) / records as f64,
        measured_as: format!(
            "{how} after creating {records} records through POST /control/sessions/seed, divided by {records}"
        ),
    })
}
