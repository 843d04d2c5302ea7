//! The rules a claim can be judged by, each with its typed threshold.
//!
//! A claims file names a rule (`rule = "jwt_cost_us"`, a [`RuleName`]) and gives the threshold
//! that rule takes, if any (a [`Threshold`] such as `claimed_us = 970.0`); loading turns the two
//! into one [`Rule`]. Optional [`Setting`]s (`tolerance`, `percentile`, `at_rps`,
//! `max_extra_cores`, `max_throughput_ratio`, `max_error_share`, `logged_out_share`) refine how a rule reads the run and default when absent. Adding a rule means adding a `Rule` variant: [`Rule::name`], the loader's
//! [`Rule::build`] and the judge's dispatch all match exhaustively, so each place that must
//! handle it fails to compile until it does.

use std::fmt;

use serde::Deserialize;

use crate::model::fault::RECOVERED_ERROR_SHARE;
use crate::model::ladder::Percentile;
use crate::report::claims::verdict::DEFAULT_TOLERANCE;

/// A rule with the figure the claim states, where the rule compares against one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// JWT HS256 target CPU per request against a claimed CPU cost.
    JwtCostUs { claimed_us: f64 },
    /// JWT HS256 measured latency (a percentile, closed browse or the ladder step at or below
    /// `at_rps`) against the claimed request time.
    JwtLatencyUs { claimed_us: f64, percentile: Percentile, at_rps: Option<f64> },
    /// JWT HS256 requests per second per core of target CPU against the claimed rate.
    JwtReqPerCore { claimed_rps: f64 },
    /// Session on PostgreSQL: store vs target CPU per request, and throughput under
    /// `max_throughput_ratio` of jwt's (not measured when the load generator limited either case).
    SessionStoreBound { max_throughput_ratio: f64 },
    /// Mean Redis session_get latency seen by the target against the claimed lookup time.
    RedisLookupUs { claimed_us: f64 },
    /// Share of hybrid requests that touch the store against the claimed share.
    HybridStoreShare { claimed_share: f64 },
    /// Session requests per second per core against the claimed ceiling.
    SessionCapacity { claimed_rps: f64 },
    /// The rate at which sessions cost `max_extra_cores` more than jwt, against the claimed rate.
    ExtraCoresAt { claimed_rps: f64, max_extra_cores: f64 },
    /// Auth bytes per request: jwt vs session, RS256 vs HS256.
    JwtBytes,
    /// Security probe of jwt without denylist: the revocation window.
    JwtRevocation,
    /// Security probe of jwt without denylist: the stale-role window.
    JwtStaleRole,
    /// Store operations per request of jwt with a denylist.
    DenylistOps,
    /// Store outage fault cases: jwt without denylist's error share during the outage against
    /// `max_error_share`, beside the store-backed session configurations' shares.
    JwtServesInOutage { max_error_share: f64 },
    /// Store restart without persistence: sessions lost per user of the load against `logged_out_share`.
    RestartLogsOut { logged_out_share: f64 },
    /// Store outage fault cases: each hybrid configuration's error share against `max_error_share`.
    HybridServesInOutage { max_error_share: f64 },
    /// Security probe of each hybrid access TTL: the revocation window against the claimed seconds.
    HybridWindowS { claimed_s: f64 },
    /// Dollars per million requests jwt's bytes add over sessions against the CPU dollars it saves.
    JwtBytesCost,
    /// Hybrid on Redis against sessions on Redis, target + store CPU per request, per store round trip.
    HybridBeatsSession,
    /// Store operations per hybrid refresh: storage is needed once refresh tokens are.
    RefreshNeedsStore,
    /// Logout probe: jwt without a denylist keeps a logged-out token working, jwt with one does not.
    LogoutNeedsList,
    /// Reuse probe: replaying a spent hybrid refresh token revokes its successor too.
    ReuseRevokesFamily,
    /// The share of target CPU per request TLS adds on kept-alive HTTP/1.1 connections.
    TlsCpuShare { claimed_share: f64 },
    /// Exposure probe: a credential read off a plain connection serves the observer, a TLS one is unreadable.
    CleartextReplay,
    /// Exposure probe of the cookie configurations: the attributes set, and what a cookie read off a
    /// plain connection (which Secure keeps a browser from sending) got the observer.
    CookieFlags,
    /// The dominated-options comparison: more than one option left undominated at each store round trip.
    NoSingleWinner,
}

macro_rules! rule_names {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A rule as the claims file names it, before its threshold is attached.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
        pub enum RuleName {
            $(#[serde(rename = $name)] $variant),+
        }

        impl RuleName {
            /// Every rule, in the order the built-in claims use them.
            pub const ALL: &'static [RuleName] = &[$(RuleName::$variant),+];

            /// The name as written in a claims file.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleName::$variant => $name),+
                }
            }
        }
    };
}

rule_names! {
    JwtCostUs => "jwt_cost_us",
    JwtLatencyUs => "jwt_latency_us",
    JwtReqPerCore => "jwt_req_per_core",
    SessionStoreBound => "session_store_bound",
    RedisLookupUs => "redis_lookup_us",
    HybridStoreShare => "hybrid_store_share",
    SessionCapacity => "session_capacity",
    ExtraCoresAt => "extra_cores_at",
    JwtBytes => "jwt_bytes",
    JwtRevocation => "jwt_revocation",
    JwtStaleRole => "jwt_stale_role",
    DenylistOps => "denylist_ops",
    JwtServesInOutage => "jwt_serves_in_outage",
    RestartLogsOut => "restart_logs_out",
    HybridServesInOutage => "hybrid_serves_in_outage",
    HybridWindowS => "hybrid_window_s",
    JwtBytesCost => "jwt_bytes_cost",
    HybridBeatsSession => "hybrid_beats_session",
    RefreshNeedsStore => "refresh_needs_store",
    LogoutNeedsList => "logout_needs_list",
    ReuseRevokesFamily => "reuse_revokes_family",
    TlsCpuShare => "tls_cpu_share",
    CleartextReplay => "cleartext_replay",
    CookieFlags => "cookie_flags",
    NoSingleWinner => "no_single_winner",
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of figure a claim states (`states = "latency"`): its rule must judge that kind, so a
/// latency claim is never decided on CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Latency,
    Throughput,
    Cpu,
    Bytes,
    Cost,
    Window,
    StoreShare,
    /// Errors or lost sessions while a store or target fails.
    Availability,
    /// What a target does with a credential after a security event (a replay, a revocation).
    Behaviour,
    /// Several figures at once: whether one option is best on all of them.
    Tradeoff,
}

impl MetricKind {
    /// The name as written in a claims file.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Latency => "latency",
            MetricKind::Throughput => "throughput",
            MetricKind::Cpu => "cpu",
            MetricKind::Bytes => "bytes",
            MetricKind::Cost => "cost",
            MetricKind::Window => "window",
            MetricKind::StoreShare => "store_share",
            MetricKind::Availability => "availability",
            MetricKind::Behaviour => "behaviour",
            MetricKind::Tradeoff => "tradeoff",
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RuleName {
    /// The kind of figure the rule judges.
    pub fn judges(self) -> MetricKind {
        match self {
            RuleName::JwtLatencyUs | RuleName::RedisLookupUs => MetricKind::Latency,
            RuleName::JwtReqPerCore | RuleName::SessionStoreBound | RuleName::SessionCapacity => MetricKind::Throughput,
            RuleName::JwtCostUs | RuleName::ExtraCoresAt | RuleName::TlsCpuShare => MetricKind::Cpu,
            RuleName::JwtBytes => MetricKind::Bytes,
            RuleName::JwtRevocation | RuleName::JwtStaleRole | RuleName::HybridWindowS | RuleName::LogoutNeedsList => {
                MetricKind::Window
            }
            RuleName::ReuseRevokesFamily | RuleName::CleartextReplay | RuleName::CookieFlags => MetricKind::Behaviour,
            RuleName::NoSingleWinner => MetricKind::Tradeoff,
            RuleName::HybridStoreShare | RuleName::DenylistOps | RuleName::RefreshNeedsStore => MetricKind::StoreShare,
            RuleName::JwtBytesCost => MetricKind::Cost,
            RuleName::HybridBeatsSession => MetricKind::Cpu,
            RuleName::JwtServesInOutage | RuleName::RestartLogsOut | RuleName::HybridServesInOutage => {
                MetricKind::Availability
            }
        }
    }
}

/// A figure a claim states, as a claims file field: the unit is in the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Threshold {
    /// Microseconds (`claimed_us = 970.0`).
    ClaimedUs,
    /// Requests per second (`claimed_rps = 5527.0`).
    ClaimedRps,
    /// A share of requests as a fraction (`claimed_share = 0.01` for 1 %).
    ClaimedShare,
    /// Seconds (`claimed_s = 300.0`).
    ClaimedS,
}

impl Threshold {
    /// Every threshold field.
    pub const ALL: &'static [Threshold] =
        &[Threshold::ClaimedUs, Threshold::ClaimedRps, Threshold::ClaimedShare, Threshold::ClaimedS];

    /// The field name in a claims file.
    pub fn as_str(self) -> &'static str {
        match self {
            Threshold::ClaimedUs => "claimed_us",
            Threshold::ClaimedRps => "claimed_rps",
            Threshold::ClaimedShare => "claimed_share",
            Threshold::ClaimedS => "claimed_s",
        }
    }

    /// What the field holds, for messages.
    pub fn meaning(self) -> &'static str {
        match self {
            Threshold::ClaimedUs => "the time the claim states, in microseconds (e.g. claimed_us = 970.0)",
            Threshold::ClaimedRps => "the rate the claim states, in requests per second (e.g. claimed_rps = 5527.0)",
            Threshold::ClaimedShare => {
                "the share of requests the claim states, as a fraction (e.g. claimed_share = 0.01 for 1 %)"
            }
            Threshold::ClaimedS => "the time the claim states, in seconds (e.g. claimed_s = 300.0)",
        }
    }

    /// Refuses a value no claim can mean: every figure is positive and finite, a share at most 1.
    pub fn check(self, value: f64) -> Result<f64, String> {
        let ok = value.is_finite() && value > 0.0 && (self != Threshold::ClaimedShare || value <= 1.0);
        if ok {
            Ok(value)
        } else if self == Threshold::ClaimedShare {
            Err(format!("{self} must be a fraction above 0 and at most 1 (0.01 for 1 %), not {value}"))
        } else {
            Err(format!("{self} must be a positive number, not {value}"))
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An optional field of a claim: how a rule reads the run, with a default when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    /// The tolerance factor of the verdict rule (`tolerance = 2.0`), every rule with a figure.
    Tolerance,
    /// The latency percentile a latency claim is read at (`percentile = "p50"`).
    Percentile,
    /// The offered rate a latency claim is read at, on the jwt HS256 rate ladder (`at_rps = 1000.0`).
    AtRps,
    /// The extra cores below which sessions count as "fine" (`max_extra_cores = 1.0`).
    MaxExtraCores,
    /// Session throughput as a share of jwt's under which it "falls" (`max_throughput_ratio = 0.75`).
    MaxThroughputRatio,
    /// The error share during a fault up to which a configuration "keeps serving" (`max_error_share = 0.01`).
    MaxErrorShare,
    /// The share of the load's users whose sessions must be lost for "everyone" (`logged_out_share = 0.9`).
    LoggedOutShare,
}

impl Setting {
    /// Every optional field.
    pub const ALL: &'static [Setting] = &[
        Setting::Tolerance,
        Setting::Percentile,
        Setting::AtRps,
        Setting::MaxExtraCores,
        Setting::MaxThroughputRatio,
        Setting::MaxErrorShare,
        Setting::LoggedOutShare,
    ];

    /// The field name in a claims file.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Tolerance => "tolerance",
            Setting::Percentile => "percentile",
            Setting::AtRps => "at_rps",
            Setting::MaxExtraCores => "max_extra_cores",
            Setting::MaxThroughputRatio => "max_throughput_ratio",
            Setting::MaxErrorShare => "max_error_share",
            Setting::LoggedOutShare => "logged_out_share",
        }
    }

    /// Whether rule `name` reads this field.
    pub fn taken_by(self, name: RuleName) -> bool {
        match self {
            Setting::Tolerance => Rule::threshold(name).is_some() || Rule::judged_by_figure(name),
            Setting::Percentile | Setting::AtRps => name == RuleName::JwtLatencyUs,
            Setting::MaxExtraCores => name == RuleName::ExtraCoresAt,
            Setting::MaxThroughputRatio => name == RuleName::SessionStoreBound,
            Setting::MaxErrorShare => {
                matches!(name, RuleName::JwtServesInOutage | RuleName::HybridServesInOutage)
            }
            Setting::LoggedOutShare => name == RuleName::RestartLogsOut,
        }
    }

    /// Whether the value is a share of something, so at most 1.
    fn is_share(self) -> bool {
        matches!(self, Setting::MaxErrorShare | Setting::LoggedOutShare)
    }

    /// Refuses a value no claim can mean: a tolerance of at least 1, rates and cores above 0, shares
    /// above 0 and at most 1.
    pub fn check(self, value: f64) -> Result<f64, String> {
        let ok = value.is_finite()
            && match self {
                Setting::Tolerance => value >= 1.0,
                s if s.is_share() => value > 0.0 && value <= 1.0,
                _ => value > 0.0,
            };
        match (ok, self) {
            (true, _) => Ok(value),
            (false, Setting::Tolerance) => {
                Err(format!("tolerance must be a factor of at least 1 (2.0 reads ~X as X/2 to 2X), not {value}"))
            }
            (false, s) if s.is_share() => {
                Err(format!("{self} must be a fraction above 0 and at most 1 (0.01 for 1 %), not {value}"))
            }
            (false, _) => Err(format!("{self} must be a positive number, not {value}")),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The optional fields of a claim after defaults: what a rule reads besides its threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// The verdict rule's tolerance factor, at least 1.
    pub tolerance: f64,
    /// The latency percentile `jwt_latency_us` reads.
    pub percentile: Percentile,
    /// The offered rate `jwt_latency_us` reads on the ladder; None for the closed browse case.
    pub at_rps: Option<f64>,
    /// The extra cores `extra_cores_at` takes as "sessions are fine".
    pub max_extra_cores: f64,
    /// The share of jwt's throughput under which `session_store_bound` calls session throughput fallen.
    pub max_throughput_ratio: f64,
    /// The error share during a fault up to which the outage rules say a configuration kept serving.
    pub max_error_share: f64,
    /// The share of users whose sessions `restart_logs_out` needs lost to say everyone was logged out.
    pub logged_out_share: f64,
}

impl Default for Settings {
    /// Tolerance 2×, the median, the closed browse case, one core, three quarters of jwt's
    /// throughput, errors within the band a fault case counts as served normally (1 %), 90 % of users.
    fn default() -> Settings {
        Settings {
            tolerance: DEFAULT_TOLERANCE,
            percentile: Percentile::P50,
            at_rps: None,
            max_extra_cores: 1.0,
            max_throughput_ratio: 0.75,
            max_error_share: RECOVERED_ERROR_SHARE,
            logged_out_share: 0.9,
        }
    }
}

impl Rule {
    /// The rule `name` with its threshold, asked of `take` (which refuses a missing one), and the
    /// settings it reads from `settings`.
    pub fn build<E>(
        name: RuleName,
        mut take: impl FnMut(Threshold) -> Result<f64, E>,
        settings: &Settings,
    ) -> Result<Rule, E> {
        use Threshold::{ClaimedRps, ClaimedS, ClaimedShare, ClaimedUs};
        Ok(match name {
            RuleName::JwtCostUs => Rule::JwtCostUs { claimed_us: take(ClaimedUs)? },
            RuleName::JwtLatencyUs => Rule::JwtLatencyUs {
                claimed_us: take(ClaimedUs)?,
                percentile: settings.percentile,
                at_rps: settings.at_rps,
            },
            RuleName::JwtReqPerCore => Rule::JwtReqPerCore { claimed_rps: take(ClaimedRps)? },
            RuleName::SessionStoreBound => {
                Rule::SessionStoreBound { max_throughput_ratio: settings.max_throughput_ratio }
            }
            RuleName::RedisLookupUs => Rule::RedisLookupUs { claimed_us: take(ClaimedUs)? },
            RuleName::HybridStoreShare => Rule::HybridStoreShare { claimed_share: take(ClaimedShare)? },
            RuleName::SessionCapacity => Rule::SessionCapacity { claimed_rps: take(ClaimedRps)? },
            RuleName::ExtraCoresAt => {
                Rule::ExtraCoresAt { claimed_rps: take(ClaimedRps)?, max_extra_cores: settings.max_extra_cores }
            }
            RuleName::JwtBytes => Rule::JwtBytes,
            RuleName::JwtRevocation => Rule::JwtRevocation,
            RuleName::JwtStaleRole => Rule::JwtStaleRole,
            RuleName::DenylistOps => Rule::DenylistOps,
            RuleName::JwtServesInOutage => Rule::JwtServesInOutage { max_error_share: settings.max_error_share },
            RuleName::RestartLogsOut => Rule::RestartLogsOut { logged_out_share: settings.logged_out_share },
            RuleName::HybridServesInOutage => Rule::HybridServesInOutage { max_error_share: settings.max_error_share },
            RuleName::HybridWindowS => Rule::HybridWindowS { claimed_s: take(ClaimedS)? },
            RuleName::JwtBytesCost => Rule::JwtBytesCost,
            RuleName::HybridBeatsSession => Rule::HybridBeatsSession,
            RuleName::RefreshNeedsStore => Rule::RefreshNeedsStore,
            RuleName::LogoutNeedsList => Rule::LogoutNeedsList,
            RuleName::ReuseRevokesFamily => Rule::ReuseRevokesFamily,
            RuleName::TlsCpuShare => Rule::TlsCpuShare { claimed_share: take(ClaimedShare)? },
            RuleName::CleartextReplay => Rule::CleartextReplay,
            RuleName::CookieFlags => Rule::CookieFlags,
            RuleName::NoSingleWinner => Rule::NoSingleWinner,
        })
    }

    /// Whether a rule without a threshold still judges a figure by the verdict rule (so reads `tolerance`).
    fn judged_by_figure(name: RuleName) -> bool {
        matches!(
            name,
            RuleName::DenylistOps
                | RuleName::JwtServesInOutage
                | RuleName::RestartLogsOut
                | RuleName::HybridServesInOutage
                | RuleName::RefreshNeedsStore
        )
    }

    /// The name a claims file gives this rule.
    pub fn name(&self) -> RuleName {
        match self {
            Rule::JwtCostUs { .. } => RuleName::JwtCostUs,
            Rule::JwtLatencyUs { .. } => RuleName::JwtLatencyUs,
            Rule::JwtReqPerCore { .. } => RuleName::JwtReqPerCore,
            Rule::SessionStoreBound { .. } => RuleName::SessionStoreBound,
            Rule::RedisLookupUs { .. } => RuleName::RedisLookupUs,
            Rule::HybridStoreShare { .. } => RuleName::HybridStoreShare,
            Rule::SessionCapacity { .. } => RuleName::SessionCapacity,
            Rule::ExtraCoresAt { .. } => RuleName::ExtraCoresAt,
            Rule::JwtBytes => RuleName::JwtBytes,
            Rule::JwtRevocation => RuleName::JwtRevocation,
            Rule::JwtStaleRole => RuleName::JwtStaleRole,
            Rule::DenylistOps => RuleName::DenylistOps,
            Rule::JwtServesInOutage { .. } => RuleName::JwtServesInOutage,
            Rule::RestartLogsOut { .. } => RuleName::RestartLogsOut,
            Rule::HybridServesInOutage { .. } => RuleName::HybridServesInOutage,
            Rule::HybridWindowS { .. } => RuleName::HybridWindowS,
            Rule::JwtBytesCost => RuleName::JwtBytesCost,
            Rule::HybridBeatsSession => RuleName::HybridBeatsSession,
            Rule::RefreshNeedsStore => RuleName::RefreshNeedsStore,
            Rule::LogoutNeedsList => RuleName::LogoutNeedsList,
            Rule::ReuseRevokesFamily => RuleName::ReuseRevokesFamily,
            Rule::TlsCpuShare { .. } => RuleName::TlsCpuShare,
            Rule::CleartextReplay => RuleName::CleartextReplay,
            Rule::CookieFlags => RuleName::CookieFlags,
            Rule::NoSingleWinner => RuleName::NoSingleWinner,
        }
    }

    /// The threshold this rule takes, if any.
    pub fn threshold(name: RuleName) -> Option<Threshold> {
        let mut asked = None;
        let _ = Rule::build(
            name,
            |t| {
                asked = Some(t);
                Ok::<f64, ()>(1.0)
            },
            &Settings::default(),
        );
        asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_the_rule_of_that_name() {
        for &name in RuleName::ALL {
            let rule = Rule::build(name, |_| Ok::<f64, ()>(1.0), &Settings::default()).unwrap();
            assert_eq!(rule.name(), name);
        }
    }

    #[test]
    fn names_are_the_serde_names() {
        for &name in RuleName::ALL {
            let parsed: RuleName = serde_json::from_value(serde_json::Value::String(name.as_str().into())).unwrap();
            assert_eq!(parsed, name);
        }
    }

    #[test]
    fn thresholds_refuse_what_no_claim_means() {
        assert_eq!(Threshold::ClaimedUs.check(970.0), Ok(970.0));
        assert!(Threshold::ClaimedRps.check(0.0).unwrap_err().contains("claimed_rps must be a positive number"));
        assert!(Threshold::ClaimedUs.check(f64::INFINITY).is_err());
        assert!(Threshold::ClaimedShare.check(1.5).unwrap_err().contains("at most 1"));
        assert_eq!(Rule::threshold(RuleName::JwtBytes), None);
        assert_eq!(Rule::threshold(RuleName::HybridStoreShare), Some(Threshold::ClaimedShare));
    }

    #[test]
    fn settings_refuse_what_no_claim_means_and_belong_to_their_rules() {
        assert_eq!(Setting::Tolerance.check(1.0), Ok(1.0));
        assert!(Setting::Tolerance.check(0.5).unwrap_err().contains("at least 1"));
        assert!(Setting::AtRps.check(0.0).unwrap_err().contains("at_rps must be a positive number"));
        assert!(Setting::Tolerance.taken_by(RuleName::JwtLatencyUs));
        assert!(!Setting::Tolerance.taken_by(RuleName::JwtBytes));
        assert!(Setting::Percentile.taken_by(RuleName::JwtLatencyUs));
        assert!(!Setting::Percentile.taken_by(RuleName::JwtCostUs));
        assert!(Setting::MaxExtraCores.taken_by(RuleName::ExtraCoresAt));
        assert!(Setting::Tolerance.taken_by(RuleName::RestartLogsOut));
        assert!(Setting::MaxErrorShare.taken_by(RuleName::HybridServesInOutage));
        assert!(!Setting::MaxErrorShare.taken_by(RuleName::RestartLogsOut));
        assert!(Setting::LoggedOutShare.check(1.5).unwrap_err().contains("logged_out_share must be a fraction"));
        assert_eq!(Setting::MaxErrorShare.check(0.05), Ok(0.05));
    }
}
