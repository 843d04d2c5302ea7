//! Tokens by algorithm: issue and verify through the targets' codec, and what jsonwebtoken's
//! per-call key parsing adds over keys parsed once.

use authbench_targets::token::alg::Alg;

use crate::report::criterion::Estimates;
use crate::report::document::{num, opt_num, Block, Text};

/// Whether a signature is made or checked.
#[derive(Clone, Copy)]
enum Op {
    Sign,
    Verify,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Sign => "sign",
            Op::Verify => "verify",
        }
    }
}

/// How the key reaches the signature code.
#[derive(Clone, Copy)]
enum Keys {
    /// jsonwebtoken: keys as bytes, parsed on every call.
    PerCall,
    /// aws-lc-rs keys parsed once.
    Cached,
}

/// The `jwt_signature` benchmark of one operation, key handling and algorithm.
fn signature(e: &Estimates, op: Op, keys: Keys, alg: Alg) -> Option<&crate::report::criterion::Estimate> {
    let how = match keys {
        Keys::PerCall => "jsonwebtoken",
        Keys::Cached => "cached-key",
    };
    e.by_id.get(&format!("jwt_signature/{}-{how}/{alg}", op.as_str()))
}

/// "RS256 +2.90 µs (+15 %)" for one algorithm measured both ways; "within noise" when criterion's
/// confidence intervals overlap.
fn parsing_cost(e: &Estimates, op: Op, alg: Alg) -> Option<String> {
    let per_call = signature(e, op, Keys::PerCall, alg)?;
    let cached = signature(e, op, Keys::Cached, alg)?;
    if per_call.lower_ns <= cached.upper_ns && cached.lower_ns <= per_call.upper_ns {
        return Some(format!("{alg} within noise"));
    }
    let d = (per_call.ns - cached.ns) / 1000.0;
    let sign = if d >= 0.0 { "+" } else { "" };
    let pct = match 100.0 * (per_call.ns - cached.ns) / cached.ns {
        p if !p.is_finite() => String::new(),
        p => format!(" ({p:+.0} %)"),
    };
    Some(format!("{alg} {sign}{} µs{pct}", num(d)))
}

/// Every algorithm's parsing cost for `op`, or "not measured".
fn parsing_costs(e: &Estimates, op: Op) -> String {
    let parts: Vec<String> = Alg::ALL.iter().filter_map(|&alg| parsing_cost(e, op, alg)).collect();
    if parts.is_empty() {
        "not measured".into()
    } else {
        parts.join(", ")
    }
}

const HEAD: [&str; 7] = [
    "alg",
    "issue µs",
    "verify µs",
    "sign, jsonwebtoken µs",
    "sign, key parsed once µs",
    "verify, jsonwebtoken µs",
    "verify, key parsed once µs",
];

fn row(e: &Estimates, alg: Alg) -> Vec<String> {
    let sig = |op, keys| opt_num(signature(e, op, keys, alg).map(|s| s.ns / 1000.0));
    vec![
        alg.to_string(),
        opt_num(e.us(&format!("jwt_issue/{alg}"))),
        opt_num(e.us(&format!("jwt_verify/{alg}"))),
        sig(Op::Sign, Keys::PerCall),
        sig(Op::Sign, Keys::Cached),
        sig(Op::Verify, Keys::PerCall),
        sig(Op::Verify, Keys::Cached),
    ]
}

fn codec_measured(e: &Estimates, alg: Alg) -> bool {
    e.us(&format!("jwt_verify/{alg}")).is_some() || e.us(&format!("jwt_issue/{alg}")).is_some()
}

/// The explanation, the table by algorithm and the parsing costs; nothing when no codec was benchmarked.
pub fn blocks(e: &Estimates) -> Vec<Block> {
    let rows: Vec<Vec<String>> =
        Alg::ALL.iter().filter(|&&alg| codec_measured(e, alg)).map(|&alg| row(e, alg)).collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let intro = Text::plain("Tokens by algorithm, through the targets' ").code("JwtCodec").and(
        ": issue (claims, header, signature) and verify (signature, algorithm, type, issuer, audience, lifetime). \
         The signature columns sign and verify the same input with jsonwebtoken, which takes keys as bytes and \
         parses them on every call, and with aws-lc-rs keys parsed once.",
    );
    let costs = format!(
        "What jsonwebtoken's per-call key parsing adds — per signature (each login and refresh): {}; per \
         verification (every request): {}. Differences of a few percent, of either sign, are within the drift \
         between benchmarks run one after another on a shared machine. The targets use jsonwebtoken as its users \
         do, so the load test includes this cost.",
        parsing_costs(e, Op::Sign),
        parsing_costs(e, Op::Verify)
    );
    vec![Block::Paragraph(intro), Block::table(&HEAD, rows), Block::paragraph(costs)]
}
