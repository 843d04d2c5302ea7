//! Ctrl-C and SIGTERM: finish cleanly, keep every finished case.
//!
//! goose installs its own Ctrl-C handler on its first attack and resets its kill switch when it
//! cannot; installing ours first makes the harness the one owner, and ours stops a running attack
//! through goose's public kill switch.

use anyhow::Context;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler; call once, before any attack.
pub fn install() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nauthbench: still stopping; finished cases are already on disk");
        } else {
            eprintln!("\nauthbench: interrupted, stopping after the current step (finished cases are kept)");
        }
        goose::trigger_killswitch("authbench interrupted");
    })
    .context("cannot install the Ctrl-C handler")
}

/// True once Ctrl-C or SIGTERM arrived.
pub fn is_set() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
