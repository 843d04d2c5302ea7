//! The network distance between a target and its store. When a configuration names a store round
//! trip (`store_rtt`), or a fault will slow its store, the target reaches the store through a
//! delay relay ([`super::relay`]) started with it and kept for its whole life, restarts included;
//! the relay is a process of its own, so its CPU is read as its own component.

use std::time::Duration;

use anyhow::Context;
use authbench_targets::spec::{StoreKind, TargetSpec};

use super::relay::Relay;
use super::target::Launch;

/// A relay in front of the store `spec` needs, adding `rtt` to every round trip; the store's kind
/// goes with it so the target's launch can be routed through it.
pub(super) async fn start(spec: &TargetSpec, launch: &Launch<'_>, rtt: Duration) -> anyhow::Result<(StoreKind, Relay)> {
    let kind = remote_store(spec)?;
    let url = store_url(kind, launch)?;
    let upstream = host_port(&url).with_context(|| format!("no host:port in the {kind} URL"))?;
    let relay = Relay::start(&upstream, rtt)
        .await
        .with_context(|| format!("{}: cannot put a relay before {kind}", spec.id()))?;
    Ok((kind, relay))
}

/// `launch` with the store reached through `relay` instead of directly.
pub(super) fn routed<'l>(launch: &Launch<'l>, kind: StoreKind, relay: &Relay) -> anyhow::Result<Launch<'l>> {
    let url = store_url(kind, launch)?;
    Ok(launch.with_store_url(kind, relay.through(&url)?))
}

fn remote_store(spec: &TargetSpec) -> anyhow::Result<StoreKind> {
    match spec.needed_store() {
        Some(kind @ (StoreKind::Postgres | StoreKind::Redis)) => Ok(kind),
        Some(StoreKind::Memory) | None => {
            anyhow::bail!("{} keeps no store outside the target: there is no round trip to add", spec.id())
        }
        Some(StoreKind::RedisCluster) => {
            anyhow::bail!(
                "{}: a relay cannot sit before a Redis Cluster, whose nodes clients reach directly",
                spec.id()
            )
        }
    }
}

fn store_url(kind: StoreKind, launch: &Launch<'_>) -> anyhow::Result<String> {
    let endpoint = launch.stores.endpoint(kind).map_err(anyhow::Error::msg)?;
    endpoint.map(|e| e.url.clone()).with_context(|| format!("{kind} has no server to relay to"))
}

/// `host:port` of a `redis://` or `postgres://` URL.
pub(super) fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    Some(authority.rsplit('@').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_targets::token::alg::Alg;

    #[test]
    fn store_urls_give_their_host_and_port() {
        assert_eq!(host_port("redis://127.0.0.1:6379").as_deref(), Some("127.0.0.1:6379"));
        assert_eq!(host_port("redis://:pw@127.0.0.1:6379/0").as_deref(), Some("127.0.0.1:6379"));
        assert_eq!(host_port("postgres://a:b@localhost:5432/db?sslmode=disable").as_deref(), Some("localhost:5432"));
        assert_eq!(host_port("nonsense"), None);
    }

    #[test]
    fn only_stores_outside_the_target_get_a_relay() {
        let memory = TargetSpec::stored(authbench_targets::spec::StrategyKind::Session, StoreKind::Memory, Alg::Hs256);
        assert!(remote_store(&memory).unwrap_err().to_string().contains("no store outside"));
        assert!(remote_store(&TargetSpec::jwt(Alg::Hs256)).is_err());
        let deny = TargetSpec { denylist: Some(StoreKind::Redis), ..TargetSpec::jwt(Alg::Hs256) };
        assert_eq!(remote_store(&deny).unwrap(), StoreKind::Redis);
    }
}
