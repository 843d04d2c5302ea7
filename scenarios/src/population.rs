//! The population scenario's users: each arrives and logs in, makes requests with think time
//! between them, logs out after a session of a random number of requests, thinks, and logs in
//! again, so users come and go over the run while the population stays the same size.
//!
//! Per user the cycle is: login, then K × (think, request), then think, logout, think, login …
//! Think times are exponential with the configured mean (requests of one user form a Poisson
//! process) and K is geometric on 1, 2, … with the configured mean (each request ends the session
//! with probability 1/mean). A hybrid client refreshes before a request whenever its access token
//! is at 80 % of its lifetime (see `steps`). This module holds the state machine and the random
//! draws; `steps` sends the requests.

use std::time::Duration;

use tokio::time::Instant;

/// How a population's users behave; times already divided by the load's time scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Population {
    /// Mean pause before each of a user's requests (exponential).
    pub think: Duration,
    /// Mean API requests per login (geometric on 1, 2, …), at least 1.
    pub session_requests: u32,
    /// Users arrive spread evenly over this span (goose's hatch rate), not all at once.
    pub arrivals: Duration,
}

/// A thinking user sleeps in slices no longer than this and returns to goose in between, which
/// stops a user only between transactions: a stopping run waits at most this long for it.
pub const THINK_SLICE: Duration = Duration::from_millis(500);

/// SplitMix64: small, fast and seedable; each user owns one, so drawing takes no lock.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for user `index`: users draw different sequences, runs differ by the clock.
    pub(crate) fn for_user(index: usize) -> Rng {
        let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Rng((clock as u64) ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1]: never 0, so its logarithm is finite.
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// An exponential duration with mean `mean`.
    pub(crate) fn exponential(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(-self.unit().ln())
    }

    /// A geometric count on 1, 2, … with mean `mean`: P(K > k) = (1 − 1/mean)^k.
    pub(crate) fn geometric(&mut self, mean: u32) -> u32 {
        if mean <= 1 {
            return 1;
        }
        let stay = 1.0 - 1.0 / f64::from(mean);
        let k = (self.unit().ln() / stay.ln()).floor() + 1.0;
        if k >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            k as u32
        }
    }
}

/// What a population user does when its think time is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Log in (it left after its last session, or its last login failed).
    Login,
    /// One request of the session (a hybrid client may refresh first).
    Request,
    /// The session's requests are done: log out.
    Logout,
}

/// Whether the user acts now or keeps thinking for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Now(Action),
    /// Sleep this long (at most [`THINK_SLICE`]) and ask again.
    Wait(Duration),
}

/// Where a user is in its visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Logged in with this many requests of the session left.
    Session { left: u32 },
    /// Logged out (or its login failed): the next action is a login.
    Away,
}

/// One population user's state: its generator, where it is, and when its think time ends.
#[derive(Clone, Debug)]
pub(crate) struct Visitor {
    config: Population,
    rng: Rng,
    phase: Phase,
    next_at: Instant,
}

impl Visitor {
    /// A user that has just logged in on arrival: its first session starts, and it thinks first.
    pub(crate) fn arrived(config: Population, index: usize, now: Instant) -> Visitor {
        Visitor::with_rng(config, Rng::for_user(index), now)
    }

    fn with_rng(config: Population, mut rng: Rng, now: Instant) -> Visitor {
        let left = rng.geometric(config.session_requests);
        let next_at = now + rng.exponential(config.think);
        Visitor { config, rng, phase: Phase::Session { left }, next_at }
    }

    /// The next action if the think time is over at `now`, else how long to sleep first.
    pub(crate) fn due(&self, now: Instant) -> Due {
        if now < self.next_at {
            return Due::Wait((self.next_at - now).min(THINK_SLICE));
        }
        Due::Now(match self.phase {
            Phase::Away => Action::Login,
            Phase::Session { left: 0 } => Action::Logout,
            Phase::Session { .. } => Action::Request,
        })
    }

    /// Records that `action` finished at `now` (`ok`: a login succeeded) and starts the next think.
    pub(crate) fn done(&mut self, action: Action, ok: bool, now: Instant) {
        self.phase = match (action, self.phase) {
            (Action::Login, _) if ok => Phase::Session { left: self.rng.geometric(self.config.session_requests) },
            (Action::Login, _) | (Action::Logout, _) => Phase::Away,
            (Action::Request, Phase::Session { left }) => Phase::Session { left: left.saturating_sub(1) },
            (Action::Request, Phase::Away) => Phase::Away,
        };
        self.next_at = now + self.rng.exponential(self.config.think);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAWS: u32 = 200_000;

    #[test]
    fn draws_have_the_configured_means() {
        let mut rng = Rng(7);
        let mean = Duration::from_millis(500);
        let total: f64 = (0..DRAWS).map(|_| rng.exponential(mean).as_secs_f64()).sum();
        let got = total / f64::from(DRAWS);
        assert!((got / 0.5 - 1.0).abs() < 0.02, "exponential mean {got}");
        for want in [1u32, 2, 50] {
            let total: f64 = (0..DRAWS).map(|_| f64::from(rng.geometric(want))).sum();
            let got = total / f64::from(DRAWS);
            assert!((got / f64::from(want) - 1.0).abs() < 0.02, "geometric mean {got}, want {want}");
        }
        assert!((0..1000).all(|_| rng.geometric(5) >= 1), "a session has at least one request");
    }

    #[test]
    fn a_visit_cycles_through_login_requests_and_logout() {
        let config =
            Population { think: Duration::from_millis(10), session_requests: 3, arrivals: Duration::from_secs(1) };
        let t0 = Instant::now();
        let mut v = Visitor::with_rng(config, Rng(1), t0);
        assert!(matches!(v.due(t0), Due::Wait(d) if d <= THINK_SLICE), "a user thinks before its first request");
        let far = t0 + Duration::from_secs(3600);
        let (mut requests, mut logins, mut logouts) = (0u32, 0u32, 0u32);
        for _ in 0..10_000 {
            let Due::Now(action) = v.due(far) else { panic!("the think is over at {far:?}") };
            match action {
                Action::Request => requests += 1,
                Action::Logout => logouts += 1,
                Action::Login => logins += 1,
            }
            // Every fifth login fails: the user stays away and tries again.
            let ok = action != Action::Login || logins % 5 != 0;
            v.done(action, ok, t0);
        }
        let succeeded: u32 = logins - logins / 5;
        assert!(logouts > 100 && succeeded.abs_diff(logouts) <= 1, "{logins} logins, {logouts} logouts");
        let per_session = f64::from(requests) / f64::from(logouts);
        assert!((per_session / 3.0 - 1.0).abs() < 0.1, "{per_session} requests per session");
    }
}
