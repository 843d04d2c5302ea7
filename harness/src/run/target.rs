//! A fresh `authbench-target` process per case, so CPU, memory and bytes are attributable to it.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use authbench_scenarios::client::ClientSpec;
use authbench_targets::config::redact;
use authbench_targets::spec::{StoreKind, TargetSpec};

use super::deployed::Deployed;
use super::provision::Stores;
use super::relay::Relay;
use super::scrape::ScrapeAt;
use super::store_link;

/// Where the target binary is: next to `authbench` (same cargo profile), unless told otherwise.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("authbench-target")))
        .unwrap_or_else(|| PathBuf::from("authbench-target"))
}

/// A running target; killed when dropped.
pub struct TargetProcess {
    child: Child,
    /// host:port
    pub addr: String,
    pub pid: i32,
    pub control_key: String,
    /// Where its stderr goes.
    pub log_path: PathBuf,
    /// The delay relay between the target and its store, when the configuration has a store round
    /// trip or a fault slows its store; it outlives restarts and is killed when this drops.
    relay: Option<Relay>,
    /// How clients reach it: plain HTTP, or TLS trusting the certificate it wrote to the key directory.
    pub client: ClientSpec,
}

/// Inputs common to every target of a run.
pub struct Launch<'a> {
    pub binary: &'a Path,
    /// The results directory.
    pub out: &'a Path,
    pub stores: &'a Stores,
    pub key_dir: &'a Path,
    pub log_dir: &'a Path,
    pub seed_users: u64,
    pub namespace: String,
    /// A store reached at another URL than the run's (through a relay), for this launch only.
    pub store_url: Option<(StoreKind, String)>,
    /// The shard this run is: its cases drive the shard's share of each load; None for a whole run.
    pub shard: Option<crate::model::shard::Shard>,
    /// Deployed targets to drive instead of starting one (`--target-url`); None: start them.
    pub deployed: Option<&'a Deployed>,
}

impl<'a> Launch<'a> {
    /// The same launch with `store` reached at `url`.
    pub fn with_store_url(&self, store: StoreKind, url: String) -> Launch<'a> {
        Launch { namespace: self.namespace.clone(), store_url: Some((store, url)), ..*self }
    }
}

/// Logins a target queues for argon2 before answering 503: at least the seeded users, so a case's
/// users all get in whatever their number.
const MIN_PENDING_LOGINS: u64 = 4096;

/// The control key and store URLs (which may hold passwords) go to the target through its
/// environment, readable only by its user, never on its command line, which `ps` shows to all.
fn secrets_in_env(cmd: &mut Command, control_key: &str, stores: &Stores, via: Option<&(StoreKind, String)>) {
    cmd.env("AUTHBENCH_CONTROL_KEY", control_key);
    let stores = [
        (StoreKind::Postgres, "AUTHBENCH_POSTGRES_URL", &stores.postgres),
        (StoreKind::Redis, "AUTHBENCH_REDIS_URL", &stores.redis),
        (StoreKind::RedisCluster, super::provision::REDIS_CLUSTER_URL_VAR, &stores.redis_cluster),
    ];
    for (kind, var, endpoint) in stores {
        match (via.filter(|(k, _)| *k == kind), endpoint) {
            (Some((_, url)), _) => cmd.env(var, url),
            (None, Some(e)) => cmd.env(var, &e.url),
            (None, None) => cmd.env_remove(var),
        };
    }
}

impl TargetProcess {
    /// Starts a target and waits for its `listening on` line; with a store round trip in its
    /// configuration, behind a relay that adds it.
    pub async fn start(spec: &TargetSpec, launch: &Launch<'_>, log_name: &str) -> anyhow::Result<TargetProcess> {
        TargetProcess::start_maybe_relayed(spec, launch, log_name, !spec.store_rtt.0.is_zero()).await
    }

    /// Starts a target behind a relay even at no added round trip, so the round trip can change
    /// while it runs (a slow-store fault; [`TargetProcess::relay_mut`]).
    pub async fn start_relayed(
        spec: &TargetSpec,
        launch: &Launch<'_>,
        log_name: &str,
    ) -> anyhow::Result<TargetProcess> {
        TargetProcess::start_maybe_relayed(spec, launch, log_name, true).await
    }

    async fn start_maybe_relayed(
        spec: &TargetSpec,
        launch: &Launch<'_>,
        log_name: &str,
        relayed: bool,
    ) -> anyhow::Result<TargetProcess> {
        let relay = if relayed { Some(store_link::start(spec, launch, spec.store_rtt.0).await?.1) } else { None };
        TargetProcess::start_on(spec, launch, log_name, TargetProcess::new_control_key(), None, relay).await
    }

    /// A fresh control key of 144 random bits.
    pub(crate) fn new_control_key() -> String {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            authbench_targets::token::opaque::random_bytes::<18>(),
        )
    }

    /// Starts one replica of a configuration: no relay, the replicas' common control key.
    pub(crate) async fn start_with_key(
        spec: &TargetSpec,
        launch: &Launch<'_>,
        log_name: &str,
        control_key: String,
    ) -> anyhow::Result<TargetProcess> {
        TargetProcess::start_on(spec, launch, log_name, control_key, None, None).await
    }

    /// The relay's process id, so its CPU is read as its own component; None without a relay.
    pub fn relay_pid(&self) -> Option<i32> {
        self.relay.as_ref().map(Relay::pid)
    }

    /// The relay, to change its round trip while the target runs; None without a relay.
    pub fn relay_mut(&mut self) -> Option<&mut Relay> {
        self.relay.as_mut()
    }

    /// Kills the process and starts the same configuration on the same address (a fault case's
    /// target restart), logging to `log_name`; same signing keys, control key and namespace, so issued tokens and
    /// stored sessions stay valid where the strategy keeps them outside the process.
    pub async fn restart(&mut self, spec: &TargetSpec, launch: &Launch<'_>, log_name: &str) -> anyhow::Result<()> {
        let _ = self.child.kill().await;
        let key = self.control_key.clone();
        let relay = self.relay.take();
        let next = TargetProcess::start_on(spec, launch, log_name, key, Some(&self.addr), relay).await?;
        *self = next;
        Ok(())
    }

    async fn start_on(
        spec: &TargetSpec,
        launch: &Launch<'_>,
        log_name: &str,
        control_key: String,
        listen: Option<&str>,
        relay: Option<Relay>,
    ) -> anyhow::Result<TargetProcess> {
        let routed = match (&relay, spec.needed_store()) {
            (Some(r), Some(kind)) => Some(store_link::routed(launch, kind, r)?),
            _ => None,
        };
        let launch = routed.as_ref().unwrap_or(launch);
        let log_path = launch.log_dir.join(format!("{log_name}.log"));
        let log = std::fs::File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut cmd = Command::new(launch.binary);
        cmd.args(spec.args())
            .args(["--seed-users", &launch.seed_users.to_string(), "--namespace", &launch.namespace])
            // Every virtual user logs in at the start of a case, by design; the flood guard is
            // exercised by the targets' own tests, not by the benchmark.
            .args(["--max-pending-logins", &launch.seed_users.max(MIN_PENDING_LOGINS).to_string()])
            .arg("--key-dir")
            .arg(launch.key_dir)
            .args(listen.map(|a| ["--listen", a]).into_iter().flatten())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        secrets_in_env(&mut cmd, &control_key, launch.stores, launch.store_url.as_ref());
        let mut child = cmd.spawn().map_err(|e| {
            anyhow::anyhow!(
                "cannot start {}: {e} (build it with cargo build --release -p authbench-targets, or pass --target-bin)",
                launch.binary.display()
            )
        })?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("target stdout not captured"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
        let line = match first {
            Ok(Ok(Some(l))) => l,
            _ => {
                let _ = child.kill().await;
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                anyhow::bail!("target {} did not start: {}", spec.id(), redact(log.trim()));
            }
        };
        let addr = line
            .strip_prefix(&format!("listening on {}://", spec.scheme()))
            .ok_or_else(|| anyhow::anyhow!("target printed {line:?} instead of its {} address", spec.scheme()))?
            .to_owned();
        let pid =
            child.id().and_then(|p| i32::try_from(p).ok()).ok_or_else(|| anyhow::anyhow!("target exited at once"))?;
        // Written by the target before it printed its address.
        let client = ClientSpec::for_target(spec, launch.key_dir)?;
        Ok(TargetProcess { child, addr, pid, control_key, log_path, relay, client })
    }

    /// Base URL for HTTP clients: `https://` for a TLS target.
    pub fn url(&self) -> String {
        format!("{}://{}", self.client.scheme(), self.addr)
    }

    /// Where its /metrics is scraped, over TLS when it serves TLS.
    pub fn scrape_at(&self) -> anyhow::Result<ScrapeAt> {
        ScrapeAt::new(&self.addr, &self.client)
    }

    /// Stops the target and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_and_the_key_stay_off_the_command_line() {
        let pg = "postgres://authbench:s3cret@127.0.0.1:5432/postgres";
        let stores = Stores::external_for_tests(Some(pg), None);
        let mut cmd = Command::new("authbench-target");
        secrets_in_env(&mut cmd, "k".repeat(24).as_str(), &stores, None);
        let std = cmd.as_std();
        assert!(std.get_args().all(|a| !a.to_string_lossy().contains("s3cret")));
        let envs: Vec<(String, Option<String>)> = std
            .get_envs()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_string_lossy().into_owned())))
            .collect();
        assert!(envs.contains(&("AUTHBENCH_POSTGRES_URL".into(), Some(pg.into()))), "{envs:?}");
        assert!(envs.contains(&("AUTHBENCH_REDIS_URL".into(), None)), "an inherited Redis URL must be removed");
        assert!(envs.contains(&("AUTHBENCH_CONTROL_KEY".into(), Some("k".repeat(24)))));
    }
}
