//! A matrix's `[dimensions]`: store round trips and pool sizes to sweep without writing every
//! target configuration by hand. Expanded when the matrix is read, so ids, ladders, faults and the
//! command-line filters all see the configurations that will run.
//!
//! ```toml
//! [dimensions]
//! store_rtt = ["0", "1ms"]
//! pool_size = [8, 32]
//! targets = ["session-postgres"]   # default: every configuration with a PostgreSQL or Redis store
//! ```
//!
//! Several sweeps are written `[[dimensions]]`, each over the targets as written; a configuration
//! two sweeps select gets the variants of both (a round-trip sweep of every store and a pool sweep
//! at one round trip of one, without the product of the two).

use std::fmt;

use authbench_targets::spec::{Span, StoreKind, TargetSpec};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The values to sweep and which configurations to sweep them over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    /// Round trips the harness puts between each selected target and its store (`"0"`: direct).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub store_rtt: Vec<Span>,
    /// Store pool sizes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool_size: Vec<u32>,
    /// Ids of the `[[target]]`s to expand, as written; empty: every one with a PostgreSQL or Redis store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

impl Dimensions {
    /// Whether `spec` is one of the configurations this sweep expands.
    fn selects(&self, spec: &TargetSpec) -> bool {
        if self.targets.is_empty() {
            matches!(spec.needed_store(), Some(StoreKind::Postgres | StoreKind::Redis))
        } else {
            self.targets.contains(&spec.id())
        }
    }

    /// Every configuration of `spec` across the listed values (an empty list keeps the spec's own),
    /// round trips outermost so a pool sweep at one round trip stays together.
    fn variants(&self, spec: &TargetSpec) -> Vec<TargetSpec> {
        let rtts = if self.store_rtt.is_empty() { vec![spec.store_rtt] } else { self.store_rtt.clone() };
        let pools = if self.pool_size.is_empty() { vec![spec.pool_size] } else { self.pool_size.clone() };
        rtts.iter()
            .flat_map(|rtt| pools.iter().map(move |pool| TargetSpec { store_rtt: *rtt, pool_size: *pool, ..*spec }))
            .collect()
    }

    /// `targets` with every selected configuration replaced, in place, by its variants; a variant
    /// whose id is already in the list (written by hand, or from an earlier variant) is kept once.
    /// Refuses a sweep that names no value, an id that is not a target, a pool of 0, and a round
    /// trip on a configuration without a store outside the target.
    pub fn expand(&self, targets: &[TargetSpec]) -> Result<Vec<TargetSpec>, String> {
        expand_all(std::slice::from_ref(self), targets)
    }

    /// What the types cannot say about one sweep, against the targets as written.
    fn check(&self, targets: &[TargetSpec]) -> Result<(), String> {
        if self.store_rtt.is_empty() && self.pool_size.is_empty() {
            return Err(
                "[dimensions] lists no values: give store_rtt = [\"0\", \"1ms\"] and/or pool_size = [8, 32]".into()
            );
        }
        let ids: Vec<String> = targets.iter().map(TargetSpec::id).collect();
        if let Some(unknown) = self.targets.iter().find(|t| !ids.contains(t)) {
            return Err(format!(
                "[dimensions] target {unknown:?} is not a [[target]] of this matrix (ids: {})",
                ids.join(", ")
            ));
        }
        if !targets.iter().any(|t| self.selects(t)) {
            return Err("[dimensions] selects no configuration: none has a postgres or redis store".into());
        }
        Ok(())
    }
}

/// `targets` with every configuration some sweep selects replaced, in place, by the variants of
/// every sweep selecting it (in sweep order), each id kept once; see [`Dimensions::expand`].
pub fn expand_all(sweeps: &[Dimensions], targets: &[TargetSpec]) -> Result<Vec<TargetSpec>, String> {
    sweeps.iter().try_for_each(|d| d.check(targets))?;
    let mut out: Vec<TargetSpec> = Vec::new();
    for spec in targets {
        let selecting: Vec<&Dimensions> = sweeps.iter().filter(|d| d.selects(spec)).collect();
        let variants =
            if selecting.is_empty() { vec![*spec] } else { selecting.iter().flat_map(|d| d.variants(spec)).collect() };
        for v in variants {
            v.validate().map_err(|e| format!("[dimensions] make {}, which cannot run: {e}", v.id()))?;
            if !out.iter().any(|o| o.id() == v.id()) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Reads `[dimensions]` (one sweep) or `[[dimensions]]` (several) into a list, keeping serde's
/// messages for a misspelled key or value.
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Dimensions>, D::Error> {
    struct OneOrMany;

    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<Dimensions>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a [dimensions] table or [[dimensions]] tables")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<Dimensions>, A::Error> {
            Dimensions::deserialize(MapAccessDeserializer::new(map)).map(|d| vec![d])
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<Dimensions>, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }
    }

    d.deserialize_any(OneOrMany)
}

#[cfg(test)]
mod tests {
    use super::*;
    use authbench_targets::spec::StrategyKind;
    use authbench_targets::token::alg::Alg;
    use std::time::Duration;

    fn ids(v: &[TargetSpec]) -> Vec<String> {
        v.iter().map(TargetSpec::id).collect()
    }

    fn base() -> Vec<TargetSpec> {
        vec![
            TargetSpec::jwt(Alg::Hs256),
            TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256),
            TargetSpec::stored(StrategyKind::Session, StoreKind::Memory, Alg::Hs256),
            TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        ]
    }

    fn rtt(s: &str) -> Span {
        s.parse().unwrap()
    }

    #[test]
    fn every_remote_store_is_expanded_in_place_by_default() {
        let d = Dimensions { store_rtt: vec![rtt("0"), rtt("1ms")], ..Dimensions::default() };
        let out = d.expand(&base()).unwrap();
        assert_eq!(
            ids(&out),
            [
                "jwt-HS256",
                "session-postgres",
                "session-postgres-rtt1ms",
                "session-memory",
                "session-redis",
                "session-redis-rtt1ms"
            ]
        );
        assert_eq!(out[2].store_rtt.0, Duration::from_millis(1));
    }

    #[test]
    fn listed_targets_cross_round_trips_with_pool_sizes() {
        let d = Dimensions {
            store_rtt: vec![rtt("1ms")],
            pool_size: vec![4, 8, 32],
            targets: vec!["session-postgres".into()],
        };
        let out = d.expand(&base()).unwrap();
        assert_eq!(
            ids(&out),
            [
                "jwt-HS256",
                "session-postgres-pool4-rtt1ms",
                "session-postgres-rtt1ms",
                "session-postgres-pool32-rtt1ms",
                "session-memory",
                "session-redis"
            ]
        );
        assert!(out.iter().all(|t| t.validate().is_ok()));
    }

    #[test]
    fn a_variant_written_by_hand_too_runs_once() {
        let mut targets = base();
        let mut by_hand = targets[1];
        by_hand.pool_size = 16;
        targets.push(by_hand);
        let d =
            Dimensions { pool_size: vec![8, 16], targets: vec!["session-postgres".into()], ..Dimensions::default() };
        let out = ids(&d.expand(&targets).unwrap());
        assert_eq!(out.iter().filter(|i| *i == "session-postgres-pool16").count(), 1, "{out:?}");
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn two_sweeps_add_their_variants_without_their_product() {
        let rtts = Dimensions { store_rtt: vec![rtt("0"), rtt("3ms")], ..Dimensions::default() };
        let pools = Dimensions {
            store_rtt: vec![rtt("1ms")],
            pool_size: vec![4, 32],
            targets: vec!["session-postgres".into()],
        };
        let out = ids(&expand_all(&[rtts, pools], &base()).unwrap());
        assert_eq!(
            out,
            [
                "jwt-HS256",
                "session-postgres",
                "session-postgres-rtt3ms",
                "session-postgres-pool4-rtt1ms",
                "session-postgres-pool32-rtt1ms",
                "session-memory",
                "session-redis",
                "session-redis-rtt3ms"
            ]
        );
    }

    #[test]
    fn one_table_or_several_read_the_same() {
        #[derive(Deserialize)]
        struct M {
            #[serde(deserialize_with = "one_or_many")]
            dimensions: Vec<Dimensions>,
        }
        let one: M = toml::from_str("[dimensions]\npool_size = [4]\n").unwrap();
        let many: M =
            toml::from_str("[[dimensions]]\npool_size = [4]\n[[dimensions]]\nstore_rtt = [\"1ms\"]\n").unwrap();
        assert_eq!(one.dimensions, [Dimensions { pool_size: vec![4], ..Dimensions::default() }]);
        assert_eq!(many.dimensions.len(), 2);
        let typo = toml::from_str::<M>("[dimensions]\npool_sizes = [4]\n").err().unwrap().to_string();
        assert!(typo.contains("unknown field `pool_sizes`"), "{typo}");
    }

    #[test]
    fn sweeps_that_cannot_run_are_explained() {
        let cases = [
            (Dimensions::default(), "lists no values"),
            (
                Dimensions { pool_size: vec![8], targets: vec!["session-mysql".into()], ..Dimensions::default() },
                "not a [[target]]",
            ),
            (
                Dimensions {
                    store_rtt: vec![rtt("1ms")],
                    targets: vec!["session-memory".into()],
                    ..Dimensions::default()
                },
                "needs a store outside",
            ),
            (Dimensions { pool_size: vec![0], ..Dimensions::default() }, "at least 1"),
        ];
        for (d, expect) in cases {
            let err = d.expand(&base()).unwrap_err();
            assert!(err.contains(expect), "{d:?}: {err}");
        }
        let only_jwt = [TargetSpec::jwt(Alg::Hs256)];
        let d = Dimensions { pool_size: vec![8], ..Dimensions::default() };
        assert!(d.expand(&only_jwt).unwrap_err().contains("selects no configuration"));
    }
}
