//! A run as one shard of several (`--shard I/N`, `--start-at`): what a shard leaves out, the
//! check that it has a share of every load, and the wait for the common start.
//!
//! A shard runs the matrix's loads only. Rate ladders (each shard would bisect its own way),
//! fault cases (each shard would break its own store) and the load generator's ceiling are
//! single-host measurements: they are listed as skipped, so the shards' matrices, and the merged
//! run's, say what ran. `--start-at` is waited for once, right before the first case, after the
//! stores are up and seeded: the first windows open together; later ones drift by the targets'
//! start-up times, which the merge's wall-clock window and timelines absorb.

use std::time::SystemTime;

use crate::model::matrix::Matrix;
use crate::model::results::Skipped;
use crate::model::shard::{Shard, ShardError, Start, StartAt, START_TOLERANCE};

use super::interrupt;

/// Drops what a shard does not run from the matrix; what was dropped, as skipped entries.
pub(super) fn narrow(m: &mut Matrix) -> Vec<Skipped> {
    let why =
        |what: &str| format!("{what} is a single-host measurement; a shard (--shard) runs the matrix's loads only");
    let mut skipped = Vec::new();
    if let Some(l) = m.ladder.take() {
        let ids: Vec<String> =
            if l.targets.is_empty() { m.targets.iter().map(|t| t.id()).collect() } else { l.targets.clone() };
        skipped.extend(ids.into_iter().map(|id| Skipped { id: format!("{id}/ladder"), reason: why("a rate ladder") }));
    }
    for f in m.faults.drain(..) {
        skipped.push(Skipped { id: f.id(), reason: why("a fault case") });
    }
    if std::mem::take(&mut m.loadgen_ceiling) {
        skipped.push(Skipped { id: "loadgen-ceiling".into(), reason: why("the load generator's ceiling") });
    }
    skipped
}

/// Every load of the matrix leaves this shard at least one user.
pub fn check_shares(m: &Matrix, shard: Shard) -> Result<(), ShardError> {
    m.loads.iter().try_for_each(|l| shard.share(&l.load).map(|_| ()))
}

/// Refuses a start time already passed beyond the tolerance; called before anything starts.
pub fn check_start(at: StartAt) -> anyhow::Result<()> {
    match at.at(SystemTime::now()) {
        Start::TooLate(by) => anyhow::bail!(
            "--start-at {at} passed {:.0} s ago (more than {} s): give every shard a time a little in the future",
            by.as_secs_f64(),
            START_TOLERANCE.as_secs()
        ),
        Start::Wait(_) | Start::Late(_) => Ok(()),
    }
}

/// Waits until `at`, saying so; false when Ctrl-C came first. Refuses a start that passed beyond
/// the tolerance while the stores were prepared: this shard's windows would open long after the
/// others'.
pub(super) async fn wait_for(at: StartAt) -> anyhow::Result<bool> {
    match at.at(SystemTime::now()) {
        Start::Wait(d) => {
            eprintln!("authbench: shard waiting {:.1} s for --start-at {at}", d.as_secs_f64());
            let end = tokio::time::Instant::now() + d;
            while tokio::time::Instant::now() < end {
                if interrupt::is_set() {
                    return Ok(false);
                }
                let tick = tokio::time::Instant::now() + std::time::Duration::from_millis(100);
                tokio::time::sleep_until(end.min(tick)).await;
            }
            Ok(true)
        }
        Start::Late(by) => {
            eprintln!("authbench: --start-at {at} passed {:.1} s ago; starting now", by.as_secs_f64());
            Ok(true)
        }
        Start::TooLate(by) => anyhow::bail!(
            "--start-at {at} passed {:.0} s ago while this shard prepared its stores: give every shard a later time",
            by.as_secs_f64()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::matrix::Profile;

    #[test]
    fn a_shard_runs_the_loads_only_and_says_what_it_left_out() {
        let mut m = Profile::Smoke.matrix().unwrap();
        let loads = m.loads.clone();
        let skipped = narrow(&mut m);
        assert!(m.ladder.is_none() && m.faults.is_empty() && !m.loadgen_ceiling);
        assert_eq!(m.loads, loads);
        assert_eq!(skipped.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["jwt-HS256/ladder"]);
        assert!(check_shares(&m, Shard::new(7, 8).unwrap()).is_ok());
        assert!(check_shares(&m, Shard::new(8, 9).unwrap()).is_err(), "8 users over 9 shards");
    }
}
