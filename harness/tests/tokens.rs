//! `authbench tokens` as a user runs it: every strategy and algorithm, sizes that follow from the
//! algorithms, and a clear error for a transport that does not exist.

use std::process::Command;

use serde_json::Value;

fn authbench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_authbench")).args(args).output().expect("running authbench")
}

#[test]
fn json_lists_every_strategy_and_algorithm_with_structural_sizes() {
    let out = authbench(&["tokens", "--transport", "cookie", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    assert_eq!(rows.len(), 11, "5 jwt + 1 session + 5 hybrid");
    let sig = |strategy: &str, alg: &str| {
        rows.iter()
            .find(|r| r["strategy"] == strategy && r["alg"] == alg)
            .and_then(|r| r["signature_bytes"].as_u64())
            .unwrap_or_else(|| panic!("no {strategy} {alg} row"))
    };
    for strategy in ["jwt", "hybrid"] {
        assert_eq!(sig(strategy, "HS256"), 32);
        assert_eq!(sig(strategy, "RS256"), 256);
        assert_eq!(sig(strategy, "RS256-4096"), 512);
        assert_eq!(sig(strategy, "ES256"), 64);
        assert_eq!(sig(strategy, "EdDSA"), 64);
    }
    for r in &rows {
        assert_eq!(r["transport"], "cookie");
        let token = r["access_token_chars"].as_u64().unwrap();
        // Cookie mode: the token travels in Set-Cookie, never in the body.
        assert!(r["login_set_cookie_bytes"].as_u64().unwrap() > token, "{r}");
    }
}

#[test]
fn table_has_a_row_per_configuration_and_transport() {
    let out = authbench(&["tokens"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("strategy") && lines[0].contains("API request header B"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + 22, "header + 11 rows per transport:\n{text}");
    assert_eq!(lines.iter().filter(|l| l.contains(" bearer ")).count(), 11);
    assert_eq!(lines.iter().filter(|l| l.contains(" cookie ")).count(), 11);
}

#[test]
fn an_unknown_transport_is_refused_with_the_choices() {
    let out = authbench(&["tokens", "--transport", "carrier-pigeon"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cookie") && err.contains("bearer"), "{err}");
}
