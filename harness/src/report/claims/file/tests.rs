//! Loading: the built-in file and its documented example load; every kind of mistake is refused
//! at load time with its name and line.

use super::*;
use crate::report::claims::DEFAULT_TOLERANCE;

const HEAD: &str = "[[claim]]\nid = \"x\"\nclaim = \"c\"\nsource = \"s\"\nmetric = \"m\"\n";

/// A one-claim file whose claim ends with `tail` (its lines start at line 6), then the condition
/// and the metric kind its rule judges (an unknown rule: latency).
fn one(tail: &str) -> Result<Vec<Claim>, ClaimsError> {
    parse(&format!("{HEAD}{tail}{}", closing(tail)), "team.toml")
}

fn closing(tail: &str) -> String {
    let rule = tail.lines().find_map(|l| l.strip_prefix("rule = ")).map(|r| r.trim_matches('"'));
    let judges = RuleName::ALL.iter().find(|n| Some(n.as_str()) == rule).map_or(MetricKind::Latency, |n| n.judges());
    format!("condition = \"unstated\"\nstates = \"{judges}\"\n")
}

fn refused(tail: &str) -> String {
    one(tail).expect_err("should be refused").to_string()
}

#[test]
fn the_builtin_file_loads_the_twenty_five_claims() {
    let claims = builtin().unwrap();
    let got: Vec<(&str, Rule)> = claims.iter().map(|c| (c.id.as_str(), c.rule)).collect();
    assert_eq!(
        got,
        [
            ("jwt-latency", Rule::JwtLatencyUs { claimed_us: 970.0, percentile: Percentile::P50, at_rps: None }),
            ("jwt-throughput", Rule::JwtReqPerCore { claimed_rps: 5527.0 }),
            ("session-db-bound", Rule::SessionStoreBound { max_throughput_ratio: 0.75 }),
            ("redis-lookup", Rule::RedisLookupUs { claimed_us: 2000.0 }),
            ("hybrid-one-percent", Rule::HybridStoreShare { claimed_share: 0.01 }),
            ("sessions-below-10rps", Rule::SessionCapacity { claimed_rps: 10.0 }),
            ("jwt-pays-off-10k", Rule::ExtraCoresAt { claimed_rps: 10000.0, max_extra_cores: 1.0 }),
            ("jwt-bloat", Rule::JwtBytes),
            ("jwt-bytes-cost", Rule::JwtBytesCost),
            ("jwt-revocation", Rule::JwtRevocation),
            ("jwt-stale-role", Rule::JwtStaleRole),
            ("denylist-lookup", Rule::DenylistOps),
            ("access-five-minutes", Rule::HybridWindowS { claimed_s: 300.0 }),
            ("access-fifteen-refresh-thirty", Rule::HybridWindowS { claimed_s: 900.0 }),
            ("shared-redis-hybrid-wins", Rule::HybridBeatsSession),
            ("refresh-means-storage", Rule::RefreshNeedsStore),
            ("logout-needs-list", Rule::LogoutNeedsList),
            ("refresh-reuse-detection", Rule::ReuseRevokesFamily),
            ("https-costs-little", Rule::TlsCpuShare { claimed_share: 0.01 }),
            ("https-required", Rule::CleartextReplay),
            ("cookies-secure-samesite", Rule::CookieFlags),
            ("decision-criteria", Rule::NoSingleWinner),
            ("jwt-store-outage", Rule::JwtServesInOutage { max_error_share: 0.01 }),
            ("session-restart-logout", Rule::RestartLogsOut { logged_out_share: 0.9 }),
            ("hybrid-store-outage", Rule::HybridServesInOutage { max_error_share: 0.01 }),
        ]
    );
    assert!(claims.iter().all(|c| !c.claim.is_empty() && !c.source.is_empty() && !c.metric.is_empty()));
    let tolerance = |id: &str| claims.iter().find(|c| c.id == id).map(|c| c.tolerance);
    assert_eq!(tolerance("jwt-latency"), Some(2.0));
    assert_eq!(tolerance("denylist-lookup"), Some(1.05));
    assert_eq!(tolerance("session-restart-logout"), Some(1.0));
}

#[test]
fn the_fault_settings_default_and_belong_to_their_rules() {
    let claims = one("rule = \"restart_logs_out\"\n").unwrap();
    assert_eq!(claims[0].rule, Rule::RestartLogsOut { logged_out_share: 0.9 });
    let claims = one("rule = \"jwt_serves_in_outage\"\nmax_error_share = 0.05\ntolerance = 1\n").unwrap();
    assert_eq!(claims[0].rule, Rule::JwtServesInOutage { max_error_share: 0.05 });
    let e = refused("rule = \"restart_logs_out\"\nmax_error_share = 0.01\n");
    assert!(e.contains("line 7") && e.contains("rule `restart_logs_out` does not read `max_error_share`"), "{e}");
    let e = refused("rule = \"hybrid_serves_in_outage\"\nmax_error_share = 5\n");
    assert!(e.contains("line 7") && e.contains("max_error_share must be a fraction"), "{e}");
}

#[test]
fn settings_are_read_with_their_defaults() {
    let claims =
        one("rule = \"jwt_latency_us\"\nclaimed_us = 970\npercentile = \"p99\"\nat_rps = 1000\ntolerance = 3\n")
            .unwrap();
    assert_eq!(
        claims[0].rule,
        Rule::JwtLatencyUs { claimed_us: 970.0, percentile: Percentile::P99, at_rps: Some(1000.0) }
    );
    assert_eq!(claims[0].tolerance, 3.0);
    let claims = one("rule = \"extra_cores_at\"\nclaimed_rps = 10000\n").unwrap();
    assert_eq!(claims[0].rule, Rule::ExtraCoresAt { claimed_rps: 10000.0, max_extra_cores: 1.0 });
    assert_eq!(claims[0].tolerance, DEFAULT_TOLERANCE);
}

#[test]
fn a_setting_the_rule_does_not_read_or_a_bad_value_is_refused() {
    let e = refused("rule = \"jwt_cost_us\"\nclaimed_us = 970\npercentile = \"p50\"\n");
    assert!(e.contains("line 8") && e.contains("rule `jwt_cost_us` does not read `percentile`"), "{e}");
    let e = refused("rule = \"jwt_bytes\"\ntolerance = 2\n");
    assert!(e.contains("line 7") && e.contains("does not read `tolerance`"), "{e}");
    let e = refused("rule = \"jwt_latency_us\"\nclaimed_us = 970\ntolerance = 0.5\n");
    assert!(e.contains("line 8") && e.contains("tolerance must be a factor of at least 1"), "{e}");
    let e = refused("rule = \"jwt_latency_us\"\nclaimed_us = 970\npercentile = \"p42\"\n");
    assert!(e.contains("line 8") && e.contains("unknown variant `p42`"), "{e}");
}

/// The commented lines of claims.toml's header from `# {start}` up to `# {end}`, uncommented.
fn header_block(start: &str, end: &str) -> Vec<String> {
    BUILTIN
        .lines()
        .skip_while(|l| !l.starts_with(&format!("# {start}")))
        .skip(1)
        .take_while(|l| !l.starts_with(&format!("# {end}")))
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')).to_owned())
        .collect()
}

#[test]
fn the_documented_example_loads() {
    let example = header_block("example:", "end of example").join("\n");
    let claims = parse(&example, "example").unwrap();
    assert_eq!(claims[0].rule, Rule::RedisLookupUs { claimed_us: 500.0 });
    assert_eq!(claims[1].rule, Rule::JwtRevocation);
}

#[test]
fn the_documented_rule_table_matches_the_rules() {
    let table = header_block("  rule ", "The file is checked");
    for &name in RuleName::ALL {
        let row = table.iter().find(|l| l.split_whitespace().next() == Some(name.as_str()));
        let row = row.unwrap_or_else(|| panic!("claims.toml's table lacks {name}"));
        let threshold = row.split_whitespace().nth(1).unwrap();
        assert_eq!(threshold, Rule::threshold(name).map_or("—", Threshold::as_str), "{row}");
    }
}

#[test]
fn a_misspelled_rule_is_refused_with_its_name_and_line() {
    let e = refused("rule = \"jwt_cost_ms\"\nclaimed_us = 970.0\n");
    assert!(e.contains("claims file team.toml is not valid"), "{e}");
    assert!(e.contains("line 6, column 8") && e.contains("unknown variant `jwt_cost_ms`"), "{e}");
    assert!(e.contains("`jwt_cost_us`"), "the message lists the rules: {e}");
}

#[test]
fn an_unknown_field_is_refused_with_its_name_and_line() {
    let e = refused("rule = \"jwt_cost_us\"\nvalue = 970.0\n");
    assert!(e.contains("line 7, column 1") && e.contains("unknown field `value`"), "{e}");
    assert!(e.contains("`claimed_us`"), "the message lists the fields: {e}");
    let e = parse("[[claims]]\n", "team.toml").unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("unknown field `claims`"), "{e}");
}

#[test]
fn a_missing_threshold_is_refused_at_the_rule() {
    let e = one("rule = \"session_capacity\"\n").unwrap_err();
    match &e {
        ClaimsError::Claim { at, problem, .. } => {
            assert_eq!((at.line, at.column), (6, 8));
            let want = Problem::MissingThreshold { rule: RuleName::SessionCapacity, threshold: Threshold::ClaimedRps };
            assert_eq!(problem, &want);
        }
        other => panic!("{other}"),
    }
    let e = e.to_string();
    assert!(e.contains("line 6, column 8") && e.contains("rule `session_capacity` needs `claimed_rps`"), "{e}");
    assert!(e.contains("6 | rule = \"session_capacity\""), "the line is shown: {e}");
}

#[test]
fn a_missing_field_is_refused() {
    let e = parse("[[claim]]\nid = \"x\"\nrule = \"jwt_bytes\"\n", "team.toml").unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("missing field `claim`"), "{e}");
}

#[test]
fn a_threshold_the_rule_does_not_take_is_refused() {
    let e = refused("rule = \"jwt_bytes\"\nclaimed_us = 1.0\n");
    assert!(
        e.contains("line 7, column 14") && e.contains("`jwt_bytes` takes no threshold: remove `claimed_us`"),
        "{e}"
    );
    let e = refused("rule = \"jwt_cost_us\"\nclaimed_rps = 970.0\n");
    assert!(e.contains("line 7") && e.contains("`jwt_cost_us` takes `claimed_us`, not `claimed_rps`"), "{e}");
}

#[test]
fn a_threshold_no_claim_means_is_refused() {
    assert!(one("rule = \"hybrid_store_share\"\nclaimed_share = 1\n").is_ok(), "1 is a share");
    let e = refused("rule = \"hybrid_store_share\"\nclaimed_share = 5.0\n");
    assert!(e.contains("line 7") && e.contains("claimed_share must be a fraction"), "{e}");
    let e = refused("rule = \"jwt_req_per_core\"\nclaimed_rps = -3\n");
    assert!(e.contains("line 7") && e.contains("claimed_rps must be a positive number, not -3"), "{e}");
}

#[test]
fn integers_are_accepted_as_thresholds() {
    let claims = one("rule = \"extra_cores_at\"\nclaimed_rps = 10000\n").unwrap();
    assert_eq!(claims[0].rule, Rule::ExtraCoresAt { claimed_rps: 10000.0, max_extra_cores: 1.0 });
}

#[test]
fn a_repeated_id_is_refused() {
    let (a, b) = ("rule = \"jwt_bytes\"\n", "rule = \"denylist_ops\"\n");
    let text = format!("{HEAD}{a}{}\n{HEAD}{b}{}", closing(a), closing(b));
    let e = parse(&text, "team.toml").unwrap_err().to_string();
    assert!(e.contains("line 11") && e.contains("claim id `x` is already used at line 2"), "{e}");
}

#[test]
fn a_claim_whose_rule_judges_another_kind_of_figure_is_refused() {
    let text =
        format!("{HEAD}rule = \"jwt_cost_us\"\nclaimed_us = 970\ncondition = \"unstated\"\nstates = \"latency\"\n");
    let e = parse(&text, "team.toml").unwrap_err().to_string();
    assert!(
        e.contains("line 9") && e.contains("rule `jwt_cost_us` judges a cpu figure, but the claim states latency"),
        "{e}"
    );
    let claims = builtin().unwrap();
    assert!(claims.iter().all(|c| c.states == c.rule.name().judges() && !c.condition.is_empty()));
}

#[test]
fn a_file_without_claims_is_refused() {
    let e = parse("# nothing yet\n", "team.toml").unwrap_err().to_string();
    assert!(e.contains("team.toml has no [[claim]] table"), "{e}");
}

#[test]
fn an_unreadable_file_says_which_and_what_to_do() {
    let e = from_file(Path::new("/nonexistent/claims.toml")).unwrap_err().to_string();
    assert!(e.contains("cannot read claims file /nonexistent/claims.toml") && e.contains("--claims"), "{e}");
}
