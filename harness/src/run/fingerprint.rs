//! The environment a run measured: enough to know whether two runs are comparable.

use std::process::Command;

use crate::model::environment::{BuildProfile, Environment};

fn first_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_owned())
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned())
}

fn mem_total_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Collects the fingerprint; store versions come from the provisioned servers.
pub fn collect(postgres: Option<&str>, redis: Option<&str>) -> Environment {
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty());
    let kernel_file =
        |name: &str| std::fs::read_to_string(format!("/proc/sys/kernel/{name}")).ok().map(|s| s.trim().to_owned());
    Environment {
        cpu_model: cpu_model(),
        cores: std::thread::available_parallelism().map(|n| n.get()).ok(),
        memory_bytes: mem_total_bytes(),
        kernel: kernel_file("osrelease"),
        hostname: kernel_file("hostname"),
        rustc: first_line("rustc", &["--version"]),
        authbench_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        git_sha: first_line("git", &["rev-parse", "HEAD"]),
        git_dirty: dirty,
        postgres_version: postgres.map(str::to_owned),
        redis_version: redis.map(str::to_owned),
        build_profile: Some(if cfg!(debug_assertions) { BuildProfile::Debug } else { BuildProfile::Release }),
    }
}
