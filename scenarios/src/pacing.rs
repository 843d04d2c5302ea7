//! Intended-send-time pacing for the open model.

use std::time::Duration;

use tokio::time::Instant;

/// One user's schedule: request k is intended at `first + k * interval`, whatever happened before.
#[derive(Clone)]
pub struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    /// Starts the schedule after `offset`, so users do not fire in lockstep.
    pub fn new(interval: Duration, offset: Duration) -> Pacer {
        Pacer {
            interval,
            next: Instant::now() + offset,
        }
    }

    /// Waits for the next intended send time and returns it; late requests go at once and keep
    /// their original intended time, so queueing delay is counted rather than omitted.
    pub async fn wait(&mut self) -> Instant {
        let intended = self.next;
        self.next += self.interval;
        tokio::time::sleep_until(intended).await;
        intended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn schedule_does_not_drift_after_a_stall() {
        let mut p = Pacer::new(Duration::from_millis(10), Duration::ZERO);
        let t0 = p.wait().await;
        tokio::time::advance(Duration::from_millis(35)).await;
        let late = p.wait().await;
        assert_eq!(
            late - t0,
            Duration::from_millis(10),
            "intended time is kept for a late request"
        );
        let next = p.wait().await;
        assert_eq!(next - t0, Duration::from_millis(20));
    }
}
