//! What both benchmark binaries share: a private key directory, criterion defaults,
//! and cleaning up on Ctrl-C.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use criterion::Criterion;

/// What must not outlive the benchmark process: throwaway servers and key directories.
static OWNED: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());

/// Holds `owned` until `release` — at the end of main or on Ctrl-C — then drops it, which stops a
/// throwaway server or deletes a directory.
pub fn keep_until_exit<T: Send + 'static>(owned: T) {
    OWNED.lock().unwrap_or_else(PoisonError::into_inner).push(Box::new(owned));
}

/// Drops everything `keep_until_exit` holds.
pub fn release() {
    let owned = std::mem::take(&mut *OWNED.lock().unwrap_or_else(PoisonError::into_inner));
    drop(owned);
}

/// On Ctrl-C or SIGTERM: stop throwaway servers, delete keys, exit 130. Criterion keeps what it
/// finished in target/criterion.
pub fn release_on_interrupt(bench: &'static str) {
    let installed = ctrlc::set_handler(move || {
        eprintln!("{bench} bench: interrupted; stopping throwaway servers and deleting keys");
        release();
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("{bench} bench: cannot catch Ctrl-C ({e}); an interrupted run may leave throwaway servers running");
    }
}

/// A key directory private to this process (created 0700 by tempfile, never one that already
/// existed), deleted at exit; keys are generated once per process.
pub fn key_dir(bench: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(&format!("authbench-bench-{bench}-keys-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("{bench} bench: cannot create a private key directory: {e}"));
    let path = dir.path().to_owned();
    keep_until_exit(dir);
    path
}

/// Shorter than criterion's 3 s + 5 s so the whole suite fits in a few minutes; flags still override.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}
