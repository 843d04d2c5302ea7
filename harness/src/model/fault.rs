//! Failure modes as measured cases: which fault a matrix asks for ([`FaultSpec`], [`Fault`]),
//! when the harness performed it ([`FaultRecord`]) and what the per-second timeline says the
//! clients saw ([`FaultOutcome`]): time to the first error, error share during the fault, time
//! to recovery, sessions lost.

use std::fmt;
use std::time::Duration;

use authbench_targets::spec::{Span, StoreKind, TargetSpec};
use serde::{Deserialize, Serialize};

use super::matrix::LoadSpec;
use super::results::{Second, Timeline};

/// What a store keeps across a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataAfterRestart {
    /// Redis saves on shutdown and reloads its snapshot; PostgreSQL replays its log.
    Kept,
    /// Redis killed without persistence, as a cache usually runs: every session is gone.
    Lost,
}

/// A fault the harness performs on a store or target it started itself, timed from the opening of
/// the measured window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The store stops answering for `lasting` (its processes frozen, as in a network partition:
    /// connections stay open, nothing comes back), then resumes with its data.
    StoreOutage { at: Span, lasting: Span },
    /// The store is killed, stays down for `down`, and starts again with or without its data.
    StoreRestart { at: Span, down: Span, data: DataAfterRestart },
    /// The relay between target and store adds `rtt` to every round trip for `lasting`.
    StoreSlow { at: Span, lasting: Span, rtt: Span },
    /// The target process is killed and started again on the same address at once.
    TargetRestart { at: Span },
}

impl Fault {
    /// When the fault starts, from the opening of the measured window.
    pub fn at(&self) -> Duration {
        match self {
            Fault::StoreOutage { at, .. }
            | Fault::StoreRestart { at, .. }
            | Fault::StoreSlow { at, .. }
            | Fault::TargetRestart { at } => at.0,
        }
    }

    /// How long the fault is held before the harness undoes it (a restarted target is back as
    /// soon as it listens: zero).
    pub fn held(&self) -> Duration {
        match self {
            Fault::StoreOutage { lasting, .. } | Fault::StoreSlow { lasting, .. } => lasting.0,
            Fault::StoreRestart { down, .. } => down.0,
            Fault::TargetRestart { .. } => Duration::ZERO,
        }
    }

    /// Whether the fault acts on the target's store (rather than on the target).
    pub fn on_store(&self) -> bool {
        match self {
            Fault::StoreOutage { .. } | Fault::StoreRestart { .. } | Fault::StoreSlow { .. } => true,
            Fault::TargetRestart { .. } => false,
        }
    }

    /// Short name for ids and file names.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::StoreOutage { .. } => "store_outage",
            Fault::StoreRestart { data: DataAfterRestart::Kept, .. } => "store_restart_kept",
            Fault::StoreRestart { data: DataAfterRestart::Lost, .. } => "store_restart_lost",
            Fault::StoreSlow { .. } => "store_slow",
            Fault::TargetRestart { .. } => "target_restart",
        }
    }
}

impl fmt::Display for Fault {
    /// What a reader of the report needs: what happened, when and for how long.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::StoreOutage { at, lasting } => write!(f, "store unreachable for {lasting} from {at}"),
            Fault::StoreRestart { at, down, data: DataAfterRestart::Kept } => {
                write!(f, "store restarted at {at}, down {down}, data kept")
            }
            Fault::StoreRestart { at, down, data: DataAfterRestart::Lost } => {
                write!(f, "store restarted at {at}, down {down}, data lost")
            }
            Fault::StoreSlow { at, lasting, rtt } => {
                write!(f, "store {rtt} slower per round trip for {lasting} from {at}")
            }
            Fault::TargetRestart { at } => write!(f, "target process restarted at {at}"),
        }
    }
}

/// Fault cases: one load and one fault against the listed configurations, each run once after the
/// speed cases, with a window long enough for the fault and the recovery after it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Configuration ids of the matrix; empty: every configuration.
    #[serde(default)]
    pub targets: Vec<String>,
    pub load: LoadSpec,
    pub fault: Fault,
    /// Measured window of these cases.
    pub duration: Span,
}

/// Time the clients get after the fault ends to show recovery, at least.
pub const MIN_RECOVERY_WINDOW: Duration = Duration::from_secs(2);

impl FaultSpec {
    /// The load and the fault, as a case id's tail ("browse-open-16u-1000rps/store_outage").
    pub fn id(&self) -> String {
        format!("{}/{}", self.load.id(), self.fault.kind())
    }

    /// Whether a configuration gets this fault case.
    pub fn includes(&self, target_id: &str) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t == target_id)
    }

    /// What the types cannot say: the fault and two seconds of recovery fit in the window, and no
    /// PostgreSQL is asked to forget its data.
    pub fn validate(&self, targets: &[TargetSpec]) -> Result<(), String> {
        let ids: Vec<String> = targets.iter().map(TargetSpec::id).collect();
        if let Some(unknown) = self.targets.iter().find(|t| !ids.contains(t)) {
            return Err(format!(
                "fault target {unknown:?} is not a [[target]] of this matrix (ids: {})",
                ids.join(", ")
            ));
        }
        let needed = self.fault.at() + self.fault.held() + MIN_RECOVERY_WINDOW;
        if self.duration.0 < needed {
            return Err(format!(
                "{}: duration {} is too short; the fault ends at {:.1} s and recovery needs {} s more",
                self.id(),
                self.duration,
                (self.fault.at() + self.fault.held()).as_secs_f64(),
                MIN_RECOVERY_WINDOW.as_secs()
            ));
        }
        let forgets = matches!(self.fault, Fault::StoreRestart { data: DataAfterRestart::Lost, .. });
        let on_postgres =
            targets.iter().filter(|t| self.includes(&t.id())).find(|t| t.needed_store() == Some(StoreKind::Postgres));
        match on_postgres {
            Some(t) if forgets => Err(format!(
                "{}: PostgreSQL keeps its data across a restart (it replays its write-ahead log); use data = \"kept\" \
                 or leave {} out of this fault's targets",
                self.id(),
                t.id()
            )),
            _ => Ok(()),
        }
    }
}

/// What the harness acted on in a fault case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultSubject {
    /// The target's own store.
    Store { store: StoreKind },
    /// The target process.
    Target,
    /// Nothing: the configuration has no store outside its process, so its case is the control
    /// (the same load over the same window, nothing touched).
    Control,
}

/// How the clients came back after the fault.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recovery {
    /// No second from the fault's start on had more than 1 % errors.
    Undisturbed,
    /// The first second wholly after the fault with at least 99 % successes started this long
    /// after the fault ended (1 s resolution).
    After { s: f64 },
    /// No such second before the window closed.
    NotWithinWindow,
}

/// Whether the target process came through the fault in good health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetHealth {
    /// The process (the restarted one, after a target restart) was still running at the window's close.
    pub alive: bool,
    /// Resident memory when the fault started and when the window closed.
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    /// Status of GET /healthz after the window; None when it did not answer.
    pub healthz_after: Option<u16>,
}

/// What the clients saw, from the case's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultOutcome {
    /// Whole seconds from the fault's start to the first second with an error; None: none.
    pub first_error_s: Option<u32>,
    /// Errors per answer in the seconds the fault covered; None without answers. Blocked clients
    /// send less, so read it with `availability`.
    pub error_share: Option<f64>,
    /// Successful answers per second during the fault over those per second in the window before
    /// it: how much of the normal service the clients still got. None without a baseline.
    pub availability: Option<f64>,
    /// The highest per-second p99 among those seconds, µs: what a slow store does to latency.
    /// None in files written before it was recorded, or without answers.
    #[serde(default)]
    pub worst_p99_us: Option<u64>,
    pub recovery: Recovery,
    /// 401s that sent a client back to log in: sessions the fault destroyed (whole window).
    pub sessions_lost: u64,
    /// Logins those clients completed, and attempts that failed (whole window).
    pub relogins: u64,
    pub relogin_failures: u64,
    pub health: TargetHealth,
}

/// A fault case's fault: what was done, when, and what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub fault: Fault,
    pub subject: FaultSubject,
    /// When the harness began and finished the fault, seconds on the timeline's clock (from the
    /// warm-up's start), as performed rather than as planned.
    pub start_s: f64,
    pub end_s: f64,
    pub outcome: FaultOutcome,
}

/// At most this share of errors in a second counts as served normally.
pub const RECOVERED_ERROR_SHARE: f64 = 0.01;

/// The timeline figures of a fault that ran from `start_s` to `end_s` on the timeline's clock.
pub struct TimelineFigures {
    pub first_error_s: Option<u32>,
    pub error_share: Option<f64>,
    pub availability: Option<f64>,
    pub worst_p99_us: Option<u64>,
    pub recovery: Recovery,
}

impl TimelineFigures {
    /// Reads the figures off a timeline; seconds are whole, so every figure has 1 s resolution.
    /// The seconds "during" the fault are those whose middle lies inside it (at least the second
    /// it started in); the baseline is the window's seconds before the fault started.
    pub fn of(t: &Timeline, start_s: f64, end_s: f64) -> TimelineFigures {
        let first = start_s.floor() as u32;
        let after: Vec<&Second> = t.seconds.iter().filter(|s| s.t_s >= first).collect();
        let bad = |s: &Second| s.requests > 0 && s.errors as f64 > RECOVERED_ERROR_SHARE * s.requests as f64;
        let first_error_s = after.iter().find(|s| s.errors > 0).map(|s| s.t_s - first);
        let mid = |s: &Second| f64::from(s.t_s) + 0.5;
        let during: Vec<&Second> =
            after.iter().copied().filter(|s| s.t_s == first || mid(s) <= end_s.max(start_s)).collect();
        let (errors, requests) = during.iter().fold((0, 0), |(e, r), s| (e + s.errors, r + s.requests));
        let error_share = (requests > 0).then(|| errors as f64 / requests as f64);
        let recovery = if !after.iter().any(|s| bad(s)) {
            Recovery::Undisturbed
        } else {
            // The last second is partial (the window closed in it): it cannot show recovery.
            let whole = &after[..after.len().saturating_sub(1)];
            whole
                .iter()
                .find(|s| f64::from(s.t_s) >= end_s && s.requests > 0 && !bad(s))
                .map_or(Recovery::NotWithinWindow, |s| Recovery::After { s: f64::from(s.t_s) - end_s })
        };
        let baseline: Vec<&Second> =
            t.seconds.iter().filter(|s| f64::from(s.t_s) >= t.window_start_s.ceil() && s.t_s < first).collect();
        let availability = successes_per_second(&during)
            .zip(successes_per_second(&baseline))
            .and_then(|(during, before)| (before > 0.0).then(|| during / before));
        let worst_p99_us = during.iter().filter_map(|s| s.p99_us).max();
        TimelineFigures { first_error_s, error_share, availability, worst_p99_us, recovery }
    }
}

/// Mean successful answers per second over some seconds; None for none.
fn successes_per_second(seconds: &[&Second]) -> Option<f64> {
    let ok: u64 = seconds.iter().map(|s| s.requests - s.errors.min(s.requests)).sum();
    (!seconds.is_empty()).then(|| ok as f64 / seconds.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(per_second: &[(u64, u64)]) -> Timeline {
        let seconds = per_second
            .iter()
            .enumerate()
            .map(|(t, &(requests, errors))| Second {
                t_s: u32::try_from(t).unwrap(),
                requests,
                errors,
                p50_us: None,
                p99_us: None,
                store_ops: None,
                unauthorized: 0,
                unavailable: 0,
                sessions_lost: 0,
            })
            .collect();
        Timeline { window_start_s: 1.0, seconds }
    }

    #[test]
    fn an_outage_is_read_off_the_timeline() {
        // Fault from 3.2 s to 5.4 s; errors from second 3, back to normal in second 7.
        let t = timeline(&[(100, 0), (100, 0), (100, 0), (100, 20), (10, 10), (8, 8), (400, 4), (100, 0), (50, 0)]);
        let f = TimelineFigures::of(&t, 3.2, 5.6);
        assert_eq!(f.first_error_s, Some(0));
        assert_eq!(f.error_share, Some(38.0 / 118.0), "seconds 3, 4 and 5 have their middle in the fault");
        assert_eq!(f.availability, Some(80.0 / 3.0 / 100.0), "baseline: seconds 1 and 2 of the window");
        assert_eq!(f.recovery, Recovery::After { s: 6.0 - 5.6 }, "second 6 caught up within 1 %");
        let short = TimelineFigures::of(&t, 3.2, 3.3);
        assert_eq!(short.error_share, Some(0.2), "a fault shorter than a second: the second it started in");
    }

    #[test]
    fn a_target_that_never_noticed_is_undisturbed_and_one_that_never_recovers_says_so() {
        let calm = timeline(&[(100, 0), (100, 0), (100, 1), (100, 0), (100, 0)]);
        let f = TimelineFigures::of(&calm, 1.5, 2.5);
        assert_eq!(f.recovery, Recovery::Undisturbed, "one error in 100 is within the 1 % band");
        assert_eq!(f.first_error_s, Some(1));
        let down = timeline(&[(100, 0), (100, 50), (100, 100), (100, 100), (10, 0)]);
        let f = TimelineFigures::of(&down, 1.0, 2.0);
        assert_eq!(f.recovery, Recovery::NotWithinWindow, "the last, partial second does not count");
    }

    #[test]
    fn faults_that_do_not_fit_or_ask_postgres_to_forget_are_refused() {
        use authbench_scenarios::{LoadModel, ScenarioKind};
        use authbench_targets::spec::StrategyKind;
        use authbench_targets::token::alg::Alg;
        let load = LoadSpec {
            scenario: ScenarioKind::Browse,
            model: LoadModel::Open { rate_rps: 100.0 },
            users: 4,
            population: None,
        };
        let s = |secs| Span(Duration::from_secs(secs));
        let pg = TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256);
        let redis = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
        let lost = Fault::StoreRestart { at: s(2), down: s(1), data: DataAfterRestart::Lost };
        let spec = FaultSpec { targets: vec![], load, fault: lost, duration: s(10) };
        assert!(spec.validate(&[redis]).is_ok());
        assert!(spec.validate(&[redis, pg]).unwrap_err().contains("PostgreSQL keeps its data"));
        let only_redis = FaultSpec { targets: vec!["session-redis".into()], ..spec.clone() };
        assert!(only_redis.validate(&[redis, pg]).is_ok());
        let short = FaultSpec { duration: s(4), ..spec.clone() };
        assert!(short.validate(&[redis]).unwrap_err().contains("too short"));
        let unknown = FaultSpec { targets: vec!["jwt-HS512".into()], ..spec };
        assert!(unknown.validate(&[redis]).unwrap_err().contains("not a [[target]]"));
    }
}
