//! A fresh `authbench-target` process per case, so CPU, memory and bytes are attributable to it.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use authbench_targets::spec::TargetSpec;

use super::provision::Stores;

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
}

impl TargetProcess {
    /// Starts a target and waits for its `listening on` line.
    pub async fn start(spec: &TargetSpec, launch: &Launch<'_>, log_name: &str) -> anyhow::Result<TargetProcess> {
        let control_key = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            authbench_targets::token::opaque::random_bytes::<18>(),
        );
        let log_path = launch.log_dir.join(format!("{log_name}.log"));
        let log = std::fs::File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut cmd = Command::new(launch.binary);
        cmd.args(spec.args())
            .args(["--seed-users", &launch.seed_users.to_string(), "--namespace", &launch.namespace])
            .arg("--key-dir")
            .arg(launch.key_dir)
            .env("AUTHBENCH_CONTROL_KEY", &control_key)
            .env_remove("AUTHBENCH_POSTGRES_URL")
            .env_remove("AUTHBENCH_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if let Some(pg) = &launch.stores.postgres {
            cmd.args(["--postgres-url", &pg.url]);
        }
        if let Some(r) = &launch.stores.redis {
            cmd.args(["--redis-url", &r.url]);
        }
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
                anyhow::bail!("target {} did not start: {}", spec.id(), log.trim());
            }
        };
        let addr = line
            .strip_prefix("listening on http://")
            .ok_or_else(|| anyhow::anyhow!("target printed {line:?} instead of its address"))?
            .to_owned();
        let pid =
            child.id().and_then(|p| i32::try_from(p).ok()).ok_or_else(|| anyhow::anyhow!("target exited at once"))?;
        Ok(TargetProcess { child, addr, pid, control_key })
    }

    /// Base URL for HTTP clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the target and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
