//! The environment a run measured: enough to know whether two runs are comparable.

use std::process::Command;

use crate::model::environment::{BuildProfile, Environment, CRYPTO_FLAGS};

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

/// Which of [`CRYPTO_FLAGS`] the first `flags` line of /proc/cpuinfo lists, in that order; None
/// when there is no such line (not an x86 processor, or no /proc).
fn crypto_flags(cpuinfo: &str) -> Option<Vec<String>> {
    let line = cpuinfo.lines().find(|l| l.split(':').next().is_some_and(|k| k.trim() == "flags"))?;
    let present: Vec<&str> = line.split_once(':')?.1.split_whitespace().collect();
    Some(CRYPTO_FLAGS.iter().filter(|f| present.contains(f)).map(|f| (*f).to_owned()).collect())
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
        cpu_flags: std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| crypto_flags(&t)),
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

#[cfg(test)]
mod tests {
    use super::crypto_flags;

    #[test]
    fn crypto_flags_are_read_from_the_flags_line_in_a_fixed_order() {
        let info = "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 adx aes avx2 sha_ni bmi2 avx512fx\nbugs\t\t: spectre\n";
        assert_eq!(
            crypto_flags(info),
            Some(vec!["avx2".into(), "sha_ni".into(), "aes".into(), "bmi2".into(), "adx".into()])
        );
        assert_eq!(crypto_flags("processor\t: 0\nflags\t\t: fpu sse2\n"), Some(vec![]));
        assert_eq!(crypto_flags("processor\t: 0\nFeatures\t: fp asimd aes sha2\n"), None, "no x86 flags line: unknown");
    }
}
