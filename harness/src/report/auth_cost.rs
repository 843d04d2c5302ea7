//! "Where the time goes": criterion's microbenchmarks of the per-request auth work beside the load
//! test's CPU per request, what jsonwebtoken's per-call key parsing costs, and bytes per credential.

use std::path::Path;

use authbench_targets::sizes::WireSizes;
use authbench_targets::spec::Transport;

use super::charts::{self, Bar};
use super::criterion::Estimates;
use super::tokens;
use crate::model::results::Results;

/// A piece of the section, rendered to Markdown and HTML by the report.
pub enum Block {
    Text(String),
    Table(Vec<String>, Vec<Vec<String>>),
    /// A chart's file stem under charts/.
    Chart(String),
}

const ALGS: [&str; 5] = ["HS256", "RS256", "RS256-4096", "ES256", "EdDSA"];

fn us(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), charts::fmt_num)
}

fn table(head: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table(head.iter().map(|h| (*h).to_owned()).collect(), rows)
}

/// Whether a configuration (by its `configuration_id`) asks a store over the network on every request:
/// sessions and jwt denylists on Redis or PostgreSQL; hybrid verifies locally.
fn store_round_trip(id: &str) -> bool {
    let remote = id.contains("-redis") || id.contains("-postgres");
    remote && (id.starts_with("session-") || id.contains("-denylist-"))
}

/// One configuration's per-request auth work and, when the run had it, the whole request's CPU.
struct PerRequest {
    id: String,
    cpu_us: Option<f64>,
    /// CPU per request with 16 lookups in flight (store round-trip configurations only).
    in_flight_cpu_us: Option<f64>,
    wall_us: Option<f64>,
    load_test_us: Option<f64>,
    round_trip: bool,
}

impl PerRequest {
    /// The auth CPU comparable with a loaded target's: with lookups in flight when a store is asked.
    fn comparable_cpu_us(&self) -> Option<f64> {
        if self.round_trip {
            self.in_flight_cpu_us
        } else {
            self.cpu_us
        }
    }
}

fn per_request(r: &Results, e: &Estimates) -> Vec<PerRequest> {
    let closed = r.closed_browse();
    let mut ids: Vec<String> = closed.iter().map(|c| c.target.id.clone()).collect();
    for id in e.by_id.keys().filter_map(|k| k.strip_prefix("request_auth_cpu/")) {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
    ids.into_iter()
        .filter_map(|id| {
            let cpu_us = e.us(&format!("request_auth_cpu/{id}"));
            let in_flight_cpu_us = e.us(&format!("request_auth_cpu_16/{id}"));
            let wall_us = e.us(&format!("request_auth/{id}"));
            cpu_us.or(wall_us)?;
            let case = closed.iter().find(|c| c.target.id == id);
            let round_trip = store_round_trip(&id);
            Some(PerRequest {
                load_test_us: case.map(|c| c.cpu_us_per_request.target),
                id,
                cpu_us,
                in_flight_cpu_us,
                wall_us,
                round_trip,
            })
        })
        .collect()
}

fn per_request_blocks(r: &Results, e: &Estimates, charts_dir: &Path, out: &mut Vec<Block>) -> anyhow::Result<()> {
    let rows = per_request(r, e);
    if rows.is_empty() {
        return Ok(());
    }
    out.push(Block::Text(
        "Auth work per request: reading the credential header plus the strategy's `Auth::authenticate` — JWT \
         verification with every claim check, or the hashed-token store lookup — on a current-thread runtime. CPU \
         is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so the store client's work counts and the \
         store's does not: the same split as the load test's target CPU per request, which the table repeats \
         from this run's closed browse case. One call at a time, a store lookup pays its own wake-ups and system \
         calls; a loaded target shares them among the requests in flight, so rows that ask a store are also \
         measured with 16 lookups in flight, and that figure gives their share."
            .into(),
    ));
    let head = [
        "configuration",
        "auth CPU µs, one at a time",
        "auth CPU µs, 16 in flight",
        "auth wall µs, one at a time",
        "store round trip",
        "whole request in the load test, target CPU µs",
        "auth share of the request",
    ];
    let body = rows
        .iter()
        .map(|p| {
            let share = match (p.comparable_cpu_us(), p.load_test_us) {
                (Some(a), Some(t)) if t > 0.0 => format!("{:.0} %", 100.0 * a / t),
                _ => "—".to_owned(),
            };
            vec![
                p.id.clone(),
                us(p.cpu_us),
                us(p.in_flight_cpu_us),
                us(p.wall_us),
                if p.round_trip { "yes" } else { "no" }.to_owned(),
                us(p.load_test_us),
                share,
            ]
        })
        .collect();
    out.push(table(&head, body));
    let bars: Vec<Bar> = rows
        .iter()
        .filter_map(|p| {
            Some(Bar {
                label: p.id.clone(),
                auth: p.comparable_cpu_us()?,
                round_trip: p.round_trip,
                whole: p.load_test_us,
            })
        })
        .collect();
    if !bars.is_empty() {
        let name = "auth_cost";
        charts::auth_cost(&bars, &format!("run {}", r.run_id), charts_dir, name)?;
        out.push(Block::Chart(name.into()));
    }
    Ok(())
}

/// "RS256 +2.90 µs (+15 %)" for each algorithm measured both ways; "within noise" when criterion's
/// confidence intervals overlap.
fn parsing_costs(e: &Estimates, op: &str) -> String {
    let parts: Vec<String> = ALGS
        .iter()
        .filter_map(|alg| {
            let per_call = e.by_id.get(&format!("jwt_signature/{op}-jsonwebtoken/{alg}"))?;
            let cached = e.by_id.get(&format!("jwt_signature/{op}-cached-key/{alg}"))?;
            if per_call.lower_ns <= cached.upper_ns && cached.lower_ns <= per_call.upper_ns {
                return Some(format!("{alg} within noise"));
            }
            let d = (per_call.ns - cached.ns) / 1000.0;
            let sign = if d >= 0.0 { "+" } else { "" };
            let pct = match 100.0 * (per_call.ns - cached.ns) / cached.ns {
                p if !p.is_finite() => String::new(),
                p => format!(" ({p:+.0} %)"),
            };
            Some(format!("{alg} {sign}{} µs{pct}", charts::fmt_num(d)))
        })
        .collect();
    if parts.is_empty() {
        "not measured".into()
    } else {
        parts.join(", ")
    }
}

fn token_blocks(e: &Estimates, out: &mut Vec<Block>) {
    let rows: Vec<Vec<String>> = ALGS
        .iter()
        .filter(|alg| e.us(&format!("jwt_verify/{alg}")).is_some() || e.us(&format!("jwt_issue/{alg}")).is_some())
        .map(|alg| {
            let sig = |what: &str| us(e.us(&format!("jwt_signature/{what}/{alg}")));
            vec![
                (*alg).to_owned(),
                us(e.us(&format!("jwt_issue/{alg}"))),
                us(e.us(&format!("jwt_verify/{alg}"))),
                sig("sign-jsonwebtoken"),
                sig("sign-cached-key"),
                sig("verify-jsonwebtoken"),
                sig("verify-cached-key"),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push(Block::Text(
        "Tokens by algorithm, through the targets' `JwtCodec`: issue (claims, header, signature) and verify \
         (signature, algorithm, type, issuer, audience, lifetime). The signature columns sign and verify the same \
         input with jsonwebtoken, which takes keys as bytes and parses them on every call, and with aws-lc-rs keys \
         parsed once."
            .into(),
    ));
    out.push(table(
        &[
            "alg",
            "issue µs",
            "verify µs",
            "sign, jsonwebtoken µs",
            "sign, key parsed once µs",
            "verify, jsonwebtoken µs",
            "verify, key parsed once µs",
        ],
        rows,
    ));
    out.push(Block::Text(format!(
        "What jsonwebtoken's per-call key parsing adds — per signature (each login and refresh): {}; per \
         verification (every request): {}. Differences of a few percent, of either sign, are within the drift \
         between benchmarks run one after another on a shared machine. The targets use jsonwebtoken as its users \
         do, so the load test includes this cost.",
        parsing_costs(e, "sign"),
        parsing_costs(e, "verify")
    )));
}

fn piece_blocks(e: &Estimates, out: &mut Vec<Block>) {
    let pieces = [
        ("opaque_token/generate", "opaque token: 256 random bits, base64url, SHA-256"),
        ("opaque_token/hash", "opaque token: SHA-256 of a presented token"),
        ("credential_header/bearer", "read the Authorization: Bearer header"),
        ("credential_header/cookie", "find the access cookie among three cookies"),
        ("session_lookup/memory", "session lookup, memory store"),
        ("session_lookup/redis", "session lookup round trip, Redis"),
        ("session_lookup/postgres", "session lookup round trip, PostgreSQL"),
        ("hybrid_refresh/memory", "hybrid refresh (rotate + sign HS256), memory store"),
        ("hybrid_refresh/redis", "hybrid refresh (rotate + sign HS256), Redis"),
        ("hybrid_refresh/postgres", "hybrid refresh (rotate + sign HS256), PostgreSQL"),
    ];
    let rows: Vec<Vec<String>> = pieces
        .iter()
        .filter_map(|(id, what)| {
            let est = e.by_id.get(*id)?;
            Some(vec![
                (*what).to_owned(),
                charts::fmt_num(est.ns / 1000.0),
                format!("{} – {}", charts::fmt_num(est.lower_ns / 1000.0), charts::fmt_num(est.upper_ns / 1000.0)),
                (*id).to_owned(),
            ])
        })
        .collect();
    if !rows.is_empty() {
        out.push(Block::Text("The other pieces, wall time per call:".into()));
        out.push(table(&["piece", "µs", "95 % interval µs", "benchmark"], rows));
    }
}

fn size_blocks(sizes: &[WireSizes], out: &mut Vec<Block>) {
    out.push(Block::Text(
        "Bytes per credential, from tokens issued, sent and refreshed through the targets' own code when this \
         report was rendered (`authbench tokens`; default TTLs; user `user1`, id 1 — a JWT grows by the base64url \
         of any longer name or id, so a run's users average a few bytes more). Header figures are whole lines as they cross the \
         wire (`name: value` and CRLF); a cookie-mode refresh carries both cookies, as a browser sends them to \
         /auth."
            .into(),
    ));
    out.push(table(&tokens::HEAD, tokens::rows(sizes)));
}

/// The section's blocks: microbenchmarks when `criterion_dir` holds estimates, token sizes always.
pub fn blocks(r: &Results, criterion_dir: &Path, charts_dir: &Path) -> anyhow::Result<Vec<Block>> {
    let mut out = Vec::new();
    match super::criterion::read(criterion_dir)? {
        Some(e) => {
            let fewest = e.by_id.values().filter_map(|v| v.samples).min();
            let samples = fewest.map_or_else(
                || "sample counts not recorded".to_owned(),
                |n| format!("at least {n} samples per benchmark"),
            );
            let quick = if fewest.is_some_and(|n| n < 10) {
                " Some benchmarks have fewer than 10 samples (criterion --quick): treat their figures as rough and their \
                 intervals as meaningless."
            } else {
                ""
            };
            out.push(Block::Text(format!(
                "Microbenchmarks of the targets' own code (`cargo bench -p authbench-targets`, criterion), read from \
                 `{}`, newest written {}; {samples}. Each figure is criterion's \
                 estimate of one call (the slope of time against iterations), measured on its own, not during the \
                 load test.{quick}",
                criterion_dir.display(),
                e.written
            )));
            per_request_blocks(r, &e, charts_dir, &mut out)?;
            token_blocks(&e, &mut out);
            piece_blocks(&e, &mut out);
        }
        None => out.push(Block::Text(format!(
            "No criterion estimates at `{}`: run `cargo bench -p authbench-targets` (append `-- --quick` for a fast \
             pass), then `authbench report <this directory> --criterion {}`.",
            criterion_dir.display(),
            criterion_dir.display()
        ))),
    }
    let mut transports: Vec<Transport> = Vec::new();
    for c in &r.cases {
        let t = c.target.spec.transport;
        if !transports.contains(&t) {
            transports.push(t);
        }
    }
    if transports.is_empty() {
        transports.push(Transport::Bearer);
    }
    size_blocks(&tokens::measure(&transports)?, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_remote_stores_asked_per_request_count_as_round_trips() {
        assert!(store_round_trip("session-redis"));
        assert!(store_round_trip("session-postgres-cookie"));
        assert!(store_round_trip("jwt-denylist-postgres-HS256"));
        assert!(!store_round_trip("session-memory"));
        assert!(!store_round_trip("jwt-denylist-memory-HS256"));
        assert!(!store_round_trip("hybrid-redis-ES256"), "hybrid verifies locally on every request");
        assert!(!store_round_trip("jwt-RS256"));
    }
}
