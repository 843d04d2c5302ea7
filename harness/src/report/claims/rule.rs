//! The rules a claim can be judged by, each with its typed threshold.
//!
//! A claims file names a rule (`rule = "jwt_cost_us"`, a [`RuleName`]) and gives the threshold
//! that rule takes, if any (a [`Threshold`] such as `claimed_us = 970.0`); loading turns the two
//! into one [`Rule`]. Adding a rule means adding a `Rule` variant: [`Rule::name`], the loader's
//! [`Rule::build`] and the judge's dispatch all match exhaustively, so each place that must
//! handle it fails to compile until it does.

use std::fmt;

use serde::Deserialize;

/// A rule with the figure the claim states, where the rule compares against one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// JWT HS256 target CPU per request against the claimed request time.
    JwtCostUs { claimed_us: f64 },
    /// JWT HS256 requests per second per core of target CPU against the claimed rate.
    JwtReqPerCore { claimed_rps: f64 },
    /// Session on PostgreSQL: store vs target CPU per request, and throughput against jwt's (not
    /// measured when the load generator limited either case).
    SessionStoreBound,
    /// Mean Redis session_get latency seen by the target against the claimed lookup time.
    RedisLookupUs { claimed_us: f64 },
    /// Share of hybrid requests that touch the store against the claimed share.
    HybridStoreShare { claimed_share: f64 },
    /// Session requests per second per core against the claimed ceiling.
    SessionCapacity { claimed_rps: f64 },
    /// Extra cores session auth costs over jwt at the claimed rate.
    ExtraCoresAt { claimed_rps: f64 },
    /// Auth bytes per request: jwt vs session, RS256 vs HS256.
    JwtBytes,
    /// Security probe of jwt without denylist: the revocation window.
    JwtRevocation,
    /// Security probe of jwt without denylist: the stale-role window.
    JwtStaleRole,
    /// Store operations per request of jwt with a denylist.
    DenylistOps,
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
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
}

impl Threshold {
    /// Every threshold field.
    pub const ALL: &'static [Threshold] = &[Threshold::ClaimedUs, Threshold::ClaimedRps, Threshold::ClaimedShare];

    /// The field name in a claims file.
    pub fn as_str(self) -> &'static str {
        match self {
            Threshold::ClaimedUs => "claimed_us",
            Threshold::ClaimedRps => "claimed_rps",
            Threshold::ClaimedShare => "claimed_share",
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

impl Rule {
    /// The rule `name` with its threshold, asked of `take` (which refuses a missing one).
    pub fn build<E>(name: RuleName, mut take: impl FnMut(Threshold) -> Result<f64, E>) -> Result<Rule, E> {
        use Threshold::{ClaimedRps, ClaimedShare, ClaimedUs};
        Ok(match name {
            RuleName::JwtCostUs => Rule::JwtCostUs { claimed_us: take(ClaimedUs)? },
            RuleName::JwtReqPerCore => Rule::JwtReqPerCore { claimed_rps: take(ClaimedRps)? },
            RuleName::SessionStoreBound => Rule::SessionStoreBound,
            RuleName::RedisLookupUs => Rule::RedisLookupUs { claimed_us: take(ClaimedUs)? },
            RuleName::HybridStoreShare => Rule::HybridStoreShare { claimed_share: take(ClaimedShare)? },
            RuleName::SessionCapacity => Rule::SessionCapacity { claimed_rps: take(ClaimedRps)? },
            RuleName::ExtraCoresAt => Rule::ExtraCoresAt { claimed_rps: take(ClaimedRps)? },
            RuleName::JwtBytes => Rule::JwtBytes,
            RuleName::JwtRevocation => Rule::JwtRevocation,
            RuleName::JwtStaleRole => Rule::JwtStaleRole,
            RuleName::DenylistOps => Rule::DenylistOps,
        })
    }

    /// The name a claims file gives this rule.
    pub fn name(&self) -> RuleName {
        match self {
            Rule::JwtCostUs { .. } => RuleName::JwtCostUs,
            Rule::JwtReqPerCore { .. } => RuleName::JwtReqPerCore,
            Rule::SessionStoreBound => RuleName::SessionStoreBound,
            Rule::RedisLookupUs { .. } => RuleName::RedisLookupUs,
            Rule::HybridStoreShare { .. } => RuleName::HybridStoreShare,
            Rule::SessionCapacity { .. } => RuleName::SessionCapacity,
            Rule::ExtraCoresAt { .. } => RuleName::ExtraCoresAt,
            Rule::JwtBytes => RuleName::JwtBytes,
            Rule::JwtRevocation => RuleName::JwtRevocation,
            Rule::JwtStaleRole => RuleName::JwtStaleRole,
            Rule::DenylistOps => RuleName::DenylistOps,
        }
    }

    /// The threshold this rule takes, if any.
    pub fn threshold(name: RuleName) -> Option<Threshold> {
        let mut asked = None;
        let _ = Rule::build(name, |t| {
            asked = Some(t);
            Ok::<f64, ()>(1.0)
        });
        asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_the_rule_of_that_name() {
        for &name in RuleName::ALL {
            let rule = Rule::build(name, |_| Ok::<f64, ()>(1.0)).unwrap();
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
}
