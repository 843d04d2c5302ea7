//! A configuration served by several target processes behind one HAProxy ([`Balancer`]), as a
//! deployment with replicas is: the load and the probe go through the balancer, each replica's
//! counters and CPU are read on their own and summed. The replicas share the key directory (so
//! each verifies the others' tokens), the stores and one control key; each keeps its own memory,
//! which is what a memory-backed store or denylist cannot share.

use std::path::PathBuf;

use authbench_targets::spec::TargetSpec;

use super::balancer::Balancer;
use super::target::{Launch, TargetProcess};

/// The replicas and their balancer; every process is killed when this drops.
pub(crate) struct Replicated {
    pub replicas: Vec<TargetProcess>,
    pub balancer: Balancer,
    pub control_key: String,
}

impl Replicated {
    /// Starts `spec.replicas` targets of `spec` and HAProxy in front of them.
    pub async fn start(spec: &TargetSpec, launch: &Launch<'_>, log_name: &str) -> anyhow::Result<Replicated> {
        let control_key = TargetProcess::new_control_key();
        let mut replicas = Vec::new();
        for i in 0..spec.replicas {
            let name = format!("{log_name}-replica{i}");
            replicas.push(TargetProcess::start_with_key(spec, launch, &name, control_key.clone()).await?);
        }
        let backends: Vec<String> = replicas.iter().map(|r| r.addr.clone()).collect();
        let balancer = Balancer::start(&backends, launch.log_dir, log_name).await?;
        Ok(Replicated { replicas, balancer, control_key })
    }

    /// The balancer's base URL: where the load and the probe go.
    pub fn url(&self) -> String {
        format!("http://{}", self.balancer.addr)
    }

    /// Each replica's base URL, to ask every one of them directly.
    pub fn replica_urls(&self) -> Vec<String> {
        self.replicas.iter().map(TargetProcess::url).collect()
    }

    /// The replicas' logs and the balancer's.
    pub fn logs(&self) -> Vec<PathBuf> {
        let mut logs: Vec<PathBuf> = self.replicas.iter().map(|r| r.log_path.clone()).collect();
        logs.push(self.balancer.log_path.clone());
        logs
    }

    /// Stops the balancer and every replica.
    pub async fn stop(self) {
        self.balancer.stop().await;
        for r in self.replicas {
            r.stop().await;
        }
    }
}
