//! What both benchmark binaries share: every algorithm, a private key directory, criterion defaults.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use authbench_targets::config::Alg;
use criterion::Criterion;

/// Every algorithm a target can be started with, in the order reports list them.
pub const ALGS: [Alg; 5] = [Alg::Hs256, Alg::Rs256, Alg::Rs256_4096, Alg::Es256, Alg::EdDsa];

/// A key directory private to this process; keys are generated once and reused by every benchmark.
pub struct KeyDir(pub PathBuf);

impl KeyDir {
    pub fn new(bench: &str) -> KeyDir {
        KeyDir(std::env::temp_dir().join(format!("authbench-bench-{bench}-keys-{}", std::process::id())))
    }
}

impl Drop for KeyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Shorter than criterion's 3 s + 5 s so the whole suite fits in a few minutes; flags still override.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}
