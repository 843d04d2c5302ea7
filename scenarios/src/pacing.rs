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
        Pacer { interval, next: Instant::now() + offset }
    }

    /// Waits for the next send and returns the instant its latency counts from.
    ///
    /// Behind schedule (a slow response made this request late), latency counts from the intended
    /// send time, so the queueing delay is charged rather than omitted, as wrk2 does. On schedule,
    /// it counts from the actual send: the timer's own wake-up lateness (tokio timers have 1 ms
    /// granularity) is the load generator's, not the target's.
    pub async fn wait(&mut self) -> Instant {
        let intended = self.next;
        self.next += self.interval;
        if Instant::now() >= intended {
            return intended;
        }
        tokio::time::sleep_until(intended).await;
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn late_requests_count_from_their_intended_time_and_the_schedule_does_not_drift() {
        let mut p = Pacer::new(Duration::from_millis(10), Duration::ZERO);
        let t0 = p.wait().await;
        tokio::time::advance(Duration::from_millis(35)).await;
        let late = p.wait().await;
        assert_eq!(late - t0, Duration::from_millis(10), "a late request keeps its intended time");
        let still_late = p.wait().await;
        assert_eq!(still_late - t0, Duration::from_millis(20));
        let _ = p.wait().await;
        let on_time = p.wait().await;
        assert_eq!(on_time - t0, Duration::from_millis(40), "back on schedule: sent at its slot");
    }
}
