//! A run as one shard of several (`--shard I/N`, `--start-at`): what a shard leaves out, the
//! check that it has a share of every load, and the wait for the common start.
//!
//! A shard runs the matrix's loads only. Rate ladders (each shard would bisect its own way),
//! fault cases (each shard would break its own store) and the load generator's ceiling are
//! single-host measurements: they are listed as skipped, so the shards' matrices, and the merged
//! run's, say what ran. `--start-at` starts a [`Schedule`]: every case's warm-up begins at its
//! slot on every shard, so the windows of one case open together on every host.

use std::time::{Duration, SystemTime};

use indicatif::ProgressBar;

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
pub(super) fn check_shares(m: &Matrix, shard: Shard) -> Result<(), ShardError> {
    m.loads.iter().try_for_each(|l| shard.share(&l.load).map(|_| ()))
}

/// Refuses a start time already passed beyond the tolerance; called before anything starts.
pub(super) fn check_start(at: StartAt) -> anyhow::Result<()> {
    match at.at(SystemTime::now()) {
        Start::TooLate(by) => anyhow::bail!(
            "--start-at {at} passed {:.0} s ago (more than {} s): give every shard a time a little in the future",
            by.as_secs_f64(),
            START_TOLERANCE.as_secs()
        ),
        Start::Wait(_) | Start::Late(_) => Ok(()),
    }
}

/// Time allowed between one case's window closing and the next one's warm-up: the target
/// stopped, the next one started and its users logged in. A case that needs longer begins late
/// and says so.
pub const CASE_GAP: Duration = Duration::from_secs(10);

/// When each matrix case's warm-up begins: the first at `--start-at`, each next one after the
/// previous case's warm-up, window and [`CASE_GAP`]. Every shard runs the same cases in the same
/// order, so case k's windows open together on every host, however long each host's targets
/// took to start; a one-time wait would let them drift apart case by case.
pub(super) struct Schedule {
    next: SystemTime,
}

impl Schedule {
    pub(super) fn new(at: StartAt) -> Schedule {
        Schedule { next: at.0 }
    }

    /// The next case's warm-up start; the one after follows this case's warm-up, window and gap.
    pub(super) fn slot(&mut self, warmup: Duration, duration: Duration) -> SystemTime {
        let at = self.next;
        self.next = at + warmup + duration + CASE_GAP;
        at
    }
}

/// Waits until a case's scheduled warm-up (its users already logged in and sending, so the wait
/// only lengthens the warm-up); false when Ctrl-C came first. A case behind its slot begins at
/// once and says by how much.
pub(super) async fn wait_until(at: SystemTime, id: &str, pb: &ProgressBar) -> bool {
    let slot = StartAt(at);
    match slot.at(SystemTime::now()) {
        Start::Wait(d) => {
            pb.suspend(|| {
                eprintln!("authbench: {id}: waiting {:.1} s for the shards' slot at {slot}", d.as_secs_f64())
            });
            pb.set_message(format!("{id}: waiting for the shards' common start"));
            let end = tokio::time::Instant::now() + d;
            while tokio::time::Instant::now() < end {
                if interrupt::is_set() {
                    return false;
                }
                let tick = tokio::time::Instant::now() + Duration::from_millis(100);
                tokio::time::sleep_until(end.min(tick)).await;
            }
            true
        }
        Start::Late(by) | Start::TooLate(by) => {
            if by > Duration::from_millis(100) {
                pb.suspend(|| {
                    eprintln!(
                        "authbench: {id} begins {:.1} s after its slot at {slot}: its window opens after the other shards'",
                        by.as_secs_f64()
                    )
                });
            }
            true
        }
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

    #[test]
    fn every_case_has_its_slot_after_the_previous_window_and_gap() {
        let at: StartAt = "2026-11-26T09:00:00Z".parse().unwrap();
        let mut s = Schedule::new(at);
        let (w, d) = (Duration::from_secs(1), Duration::from_secs(3));
        assert_eq!(s.slot(w, d), at.0);
        assert_eq!(s.slot(w, Duration::from_secs(8)), at.0 + w + d + CASE_GAP);
        assert_eq!(s.slot(w, d), at.0 + 2 * w + d + Duration::from_secs(8) + 2 * CASE_GAP);
    }
}
