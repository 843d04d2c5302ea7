//! Users like real users: what a population load asks for ([`PopulationSpec`]), how a case's
//! clocks were scaled ([`TimeScaling`]), how often a hybrid target really touched its store
//! ([`StoreTouch`], from the target's own counters) and what the client's policy predicts for it
//! ([`Analytic`]).
//!
//! # The analytic share
//!
//! A population user cycles: login, then K × (think, request), think, logout, think, login …,
//! with think times exponential of mean t (its requests form a Poisson process of rate 1/t) and K
//! geometric on 1, 2, … of mean k (each request ends the session with probability p = 1/k). A
//! hybrid client refreshes just before the first request at or after 80 % of its access token's
//! lifetime, D = 0.8 · TTL after the token was issued. Requests that end the session form a
//! Poisson process of rate p/t, independent of the others, so:
//!
//! - the first refresh happens iff no session-ending request falls within D of the login:
//!   q = exp(−p·D/t);
//! - after each refresh the session goes on iff that request did not end it (1 − p) and no
//!   ending request falls in the next D (q again);
//! - refreshes per session R: E[R] = Σ P(R ≥ n) = q / (1 − (1 − p)·q).
//!
//! Per session the target serves k API requests, E[R] refreshes, one login and one logout, so
//! (renewal–reward: ratios of the expectations per cycle)
//!
//! - refresh share = E[R] / (k + 2 + E[R]);
//! - store-touching share = (E[R] + 2) / (k + 2 + E[R]).
//!
//! For long sessions (k → ∞) refreshes per API request tend to t / (D + t) = 1 / (1 + 0.8·TTL/t),
//! the simple formula; since each refresh is a request of its own, placed before the API request
//! it serves, the refresh share of all requests then tends to 1 / (2 + 0.8·TTL/t). Only the ratio
//! D/t matters, which is why scaling TTL and think time by the same factor leaves
//! the shares unchanged. Request latency is taken as negligible beside t.

use std::time::Duration;

use authbench_scenarios::steps::REFRESH_AT;
use authbench_scenarios::{LoadModel, ScenarioKind};
use authbench_targets::spec::{Span, TargetSpec};
use serde::{Deserialize, Serialize};

/// A population load as written: think time, session length and time scale.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PopulationSpec {
    /// Mean think time before each request (exponential), as real users would pause.
    pub think_time: Span,
    /// Mean API requests per login (geometric on 1, 2, …).
    pub session_requests: u32,
    /// Divides the hybrid access TTL and the think time, so a 15-minute lifetime fits a window.
    pub time_scale: f64,
}

/// Why a load's population fields cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PopulationError {
    #[error("think_time, session_requests and time_scale shape population loads only; remove them from this {0} load")]
    NotPopulation(ScenarioKind),
    #[error(
        "population loads are closed (users with think time between requests): use model = \"closed\"; the rate \
         follows from users / think_time"
    )]
    Open,
    #[error("think_time must be longer than 0s")]
    NoThinkTime,
    #[error("session_requests must be at least 1")]
    NoSessionRequests,
    #[error("time_scale must be a number of at least 1 (it divides the access TTL and the think time)")]
    TimeScale,
}

/// Access TTLs shorter than this after scaling are refused: tokens count whole seconds, and the
/// client refreshes at 80 % of the lifetime.
pub const MIN_SCALED_ACCESS_S: u64 = 2;

impl PopulationSpec {
    /// Default mean think time: half a minute between a user's requests.
    pub const THINK_TIME: Span = Span(Duration::from_secs(30));
    /// Default mean session: 50 requests (25 minutes at the default think time).
    pub const SESSION_REQUESTS: u32 = 50;

    /// The population a load's written fields describe: Some (defaults filled in) for the
    /// population scenario, None for the others, which must not carry the fields.
    pub fn from_fields(
        scenario: ScenarioKind,
        model: LoadModel,
        think_time: Option<Span>,
        session_requests: Option<u32>,
        time_scale: Option<f64>,
    ) -> Result<Option<PopulationSpec>, PopulationError> {
        if scenario != ScenarioKind::Population {
            let given = think_time.is_some() || session_requests.is_some() || time_scale.is_some();
            return if given { Err(PopulationError::NotPopulation(scenario)) } else { Ok(None) };
        }
        if model != LoadModel::Closed {
            return Err(PopulationError::Open);
        }
        let spec = PopulationSpec {
            think_time: think_time.unwrap_or(PopulationSpec::THINK_TIME),
            session_requests: session_requests.unwrap_or(PopulationSpec::SESSION_REQUESTS),
            time_scale: time_scale.unwrap_or(1.0),
        };
        if spec.think_time.0.is_zero() {
            return Err(PopulationError::NoThinkTime);
        }
        if spec.session_requests == 0 {
            return Err(PopulationError::NoSessionRequests);
        }
        if !(spec.time_scale.is_finite() && spec.time_scale >= 1.0) {
            return Err(PopulationError::TimeScale);
        }
        Ok(Some(spec))
    }

    /// Refuses the first configuration whose access token this scale would make unusable.
    pub fn check_targets<'a>(&self, mut targets: impl Iterator<Item = &'a TargetSpec>) -> Result<(), String> {
        targets.try_for_each(|t| {
            if !t.strategy.has_refresh_token() {
                return Ok(());
            }
            self.scaled_access(t.ttls.access).map(|_| ()).map_err(|e| format!("on {}: {e}", t.id()))
        })
    }

    /// The think time the users run with: divided by the time scale, to whole microseconds.
    pub fn scaled_think(&self) -> Span {
        let us = self.think_time.0.as_secs_f64() * 1e6 / self.time_scale;
        Span(Duration::from_micros(us.round() as u64))
    }

    /// The access TTL a target runs with under this scale; refused unless it is a whole number
    /// of seconds and at least [`MIN_SCALED_ACCESS_S`].
    pub fn scaled_access(&self, access: Span) -> Result<Span, String> {
        let s = access.0.as_secs_f64() / self.time_scale;
        let whole = s.round();
        if (s - whole).abs() > 1e-9 {
            return Err(format!(
                "time_scale {} makes the access TTL {access} {s:.3}s; tokens count whole seconds (JWT exp): pick a \
                 time_scale that divides {}s",
                self.time_scale,
                access.0.as_secs()
            ));
        }
        if (whole as u64) < MIN_SCALED_ACCESS_S {
            let most = access.0.as_secs_f64() / MIN_SCALED_ACCESS_S as f64;
            return Err(format!(
                "time_scale {} makes the access TTL {access} {whole}s, under {MIN_SCALED_ACCESS_S}s: JWT exp has 1 s \
                 resolution and the client refreshes at 80 % of the lifetime; use a time_scale of at most {most}",
                self.time_scale
            ));
        }
        Ok(Span(Duration::from_secs(whole as u64)))
    }

    /// The part of a load id that names the population: "think30s-50req", "-x60" when scaled.
    pub fn id_part(&self) -> String {
        let scale = if self.time_scale == 1.0 { String::new() } else { format!("-x{}", self.time_scale) };
        format!("think{}-{}req{scale}", self.think_time, self.session_requests)
    }
}

/// A value as configured and as it ran after time scaling.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaled {
    pub configured: Span,
    pub run: Span,
}

/// How a case's clocks were scaled: only the hybrid access TTL and the think time, the clocks a
/// client's behaviour within a window depends on; refresh, session and jwt token lifetimes
/// (days) stay as configured, far beyond any window either way.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeScaling {
    pub factor: f64,
    pub think_time: Scaled,
    /// None when the strategy has no access token to scale.
    pub access_ttl: Option<Scaled>,
}

impl TimeScaling {
    /// "time-scaled ×60: access TTL 15m → 15s, think time 30s → 500ms"; None at scale 1.
    pub fn note(&self) -> Option<String> {
        if self.factor == 1.0 {
            return None;
        }
        let access = self.access_ttl.map(|a| format!("access TTL {} → {}, ", a.configured, a.run)).unwrap_or_default();
        Some(format!(
            "time-scaled ×{}: {access}think time {} → {}",
            self.factor, self.think_time.configured, self.think_time.run
        ))
    }
}

/// The shares the client's refresh policy predicts (see the module's derivation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analytic {
    /// Expected refreshes per login.
    pub refreshes_per_session: f64,
    /// (refreshes + logins + logouts) / all requests.
    pub store_share: f64,
    /// Refreshes / all requests.
    pub refresh_share: f64,
}

impl Analytic {
    /// The shares for an access TTL, a mean think time and a mean session length in requests.
    pub fn of(access_ttl: Duration, think: Duration, session_requests: u32) -> Option<Analytic> {
        let t = think.as_secs_f64();
        if t <= 0.0 || session_requests == 0 {
            return None;
        }
        let due = REFRESH_AT * access_ttl.as_secs_f64();
        let p = 1.0 / f64::from(session_requests);
        let q = (-p * due / t).exp();
        let refreshes = q / (1.0 - (1.0 - p) * q);
        let per_cycle = f64::from(session_requests) + 2.0 + refreshes;
        Some(Analytic {
            refreshes_per_session: refreshes,
            store_share: (refreshes + 2.0) / per_cycle,
            refresh_share: refreshes / per_cycle,
        })
    }
}

/// What a population case simulated beyond its load: the clocks it ran with and, for a hybrid
/// target, the shares the formula predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PopulationRecord {
    pub scaling: TimeScaling,
    /// None when the strategy keeps no refresh token.
    pub analytic: Option<Analytic>,
}

impl PopulationRecord {
    /// The record of a population load against a target whose access TTL ran as `access_ttl`
    /// (None: the strategy has no access token).
    pub fn of(spec: &PopulationSpec, access_ttl: Option<Scaled>) -> PopulationRecord {
        let think = Scaled { configured: spec.think_time, run: spec.scaled_think() };
        let analytic = access_ttl.and_then(|a| Analytic::of(a.run.0, think.run.0, spec.session_requests));
        PopulationRecord { scaling: TimeScaling { factor: spec.time_scale, think_time: think, access_ttl }, analytic }
    }
}

/// Spent refresh tokens presented again when the refresh scenario stopped, and how many the
/// target refused: rotation works when every one is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    pub presented: u64,
    pub refused: u64,
}

/// How often a hybrid target touched its store over the window, by route, from its own counters
/// (every status: a refused refresh still looked its token up).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreTouch {
    /// Requests the target served in the window (every route but /metrics).
    pub requests: f64,
    pub logins: f64,
    pub refreshes: f64,
    pub logouts: f64,
    /// (logins + refreshes + logouts) / requests.
    pub store_share: f64,
    /// refreshes / requests.
    pub refresh_share: f64,
    /// The refresh scenario's replay of spent refresh tokens; None for other scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

impl StoreTouch {
    /// The shares of `requests` served; None when the target served nothing.
    pub fn of(requests: f64, logins: f64, refreshes: f64, logouts: f64) -> Option<StoreTouch> {
        (requests > 0.0).then(|| StoreTouch {
            requests,
            logins,
            refreshes,
            logouts,
            store_share: (logins + refreshes + logouts) / requests,
            refresh_share: refreshes / requests,
            replay: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(think: &str, k: u32, scale: f64) -> PopulationSpec {
        PopulationSpec { think_time: think.parse().unwrap(), session_requests: k, time_scale: scale }
    }

    #[test]
    fn long_sessions_approach_the_simple_formula() {
        let (ttl, think) = (Duration::from_secs(900), Duration::from_secs(30));
        let k = 1_000_000;
        let a = Analytic::of(ttl, think, k).unwrap();
        let per_api_request = a.refreshes_per_session / f64::from(k);
        let simple = 1.0 / (1.0 + 0.8 * 900.0 / 30.0);
        assert!((per_api_request / simple - 1.0).abs() < 1e-3, "{per_api_request} vs {simple}");
        let share = 1.0 / (2.0 + 0.8 * 900.0 / 30.0);
        assert!((a.refresh_share / share - 1.0).abs() < 1e-3, "{} vs {share}", a.refresh_share);
        assert!(a.store_share > a.refresh_share);
        let short = Analytic::of(ttl, think, 10).unwrap();
        assert!(short.refresh_share < a.refresh_share, "short sessions end before most refreshes");
        assert!(short.store_share > a.store_share, "but log in and out more often");
        assert!(Analytic::of(ttl, Duration::ZERO, 10).is_none());
    }

    #[test]
    fn scaling_keeps_the_ratio_so_the_shares_do_not_move() {
        let s = spec("30s", 50, 60.0);
        assert_eq!(s.scaled_think(), Span(Duration::from_millis(500)));
        let access = s.scaled_access("15m".parse().unwrap()).unwrap();
        assert_eq!(access, Span(Duration::from_secs(15)));
        let scaled = Analytic::of(access.0, s.scaled_think().0, 50).unwrap();
        let real = Analytic::of(Duration::from_secs(900), Duration::from_secs(30), 50).unwrap();
        assert!((scaled.store_share / real.store_share - 1.0).abs() < 1e-9);
        let err = s.scaled_access("1m".parse().unwrap()).unwrap_err();
        assert!(err.contains("under 2s") && err.contains("at most 30"), "{err}");
        let err = spec("30s", 50, 7.0).scaled_access("15m".parse().unwrap()).unwrap_err();
        assert!(err.contains("whole seconds") && err.contains("divides 900s"), "{err}");
        let record = PopulationRecord::of(&s, Some(Scaled { configured: "15m".parse().unwrap(), run: access }));
        let note = record.scaling.note().unwrap();
        assert_eq!(note, "time-scaled ×60: access TTL 15m → 15s, think time 30s → 500ms");
        assert_eq!(PopulationRecord::of(&spec("30s", 50, 1.0), None).scaling.note(), None);
        assert_eq!(s.id_part(), "think30s-50req-x60");
    }

    /// A Monte Carlo run of the client's policy in virtual time agrees with the closed form.
    #[test]
    fn the_formula_matches_a_simulation_of_the_policy() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut unit = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 1.0) / (1u64 << 53) as f64
        };
        for (ttl, think, k) in [(15.0, 0.5, 50u32), (2.0, 0.5, 20), (5.0, 0.1, 200)] {
            let due = REFRESH_AT * ttl;
            let (mut requests, mut refreshes, mut touches) = (0u64, 0u64, 0u64);
            for _ in 0..100_000 {
                let (mut now, mut refresh_at) = (0.0, due);
                touches += 2;
                requests += 2;
                let stay = 1.0 - 1.0 / f64::from(k);
                let n = (unit().ln() / stay.ln()).floor() as u64 + 1;
                for _ in 0..n {
                    now += -think * unit().ln();
                    if now >= refresh_at {
                        refreshes += 1;
                        refresh_at = now + due;
                    }
                    requests += 1;
                }
            }
            requests += refreshes;
            touches += refreshes;
            let a = Analytic::of(Duration::from_secs_f64(ttl), Duration::from_secs_f64(think), k).unwrap();
            let share = touches as f64 / requests as f64;
            assert!((share / a.store_share - 1.0).abs() < 0.02, "{ttl}/{think}/{k}: {share} vs {}", a.store_share);
            let rs = refreshes as f64 / requests as f64;
            assert!((rs / a.refresh_share - 1.0).abs() < 0.03, "{ttl}/{think}/{k}: {rs} vs {}", a.refresh_share);
        }
    }

    #[test]
    fn store_touch_shares_are_of_the_requests_served() {
        let t = StoreTouch::of(1000.0, 10.0, 30.0, 10.0).unwrap();
        assert_eq!((t.store_share, t.refresh_share), (0.05, 0.03));
        assert!(StoreTouch::of(0.0, 0.0, 0.0, 0.0).is_none(), "nothing served: not measured, not 0");
    }
}
