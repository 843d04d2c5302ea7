//! The users' HTTP client against the real server, served in-process on loopback: it trusts the
//! target's own certificate, speaks the protocol the configuration names (the negotiated version
//! is checked), and sends the same request whatever the protocol.

use authbench_scenarios::client::{ClientSpec, USER_AGENT};
use authbench_targets::contract::route;
use authbench_targets::local::LocalTarget;
use authbench_targets::spec::{Protocol, TargetSpec};
use authbench_targets::token::alg::Alg;
use reqwest::Version;

const CONTROL_KEY: &str = "scenarios-client-test-key";

/// A jwt target with `spec`'s TLS and protocol, its key directory, and the client for it.
async fn target(spec: &TargetSpec) -> (LocalTarget, tempfile::TempDir, reqwest::Client) {
    let keys = tempfile::tempdir().unwrap();
    let mut args = spec.args();
    args.extend(["--key-dir".into(), keys.path().display().to_string(), "--control-key".into(), CONTROL_KEY.into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = authbench_targets::local::start(&args).await.unwrap();
    let client = ClientSpec::for_target(spec, keys.path()).unwrap().build().unwrap();
    (t, keys, client)
}

fn spec(tls: bool, protocol: Protocol) -> TargetSpec {
    TargetSpec { tls, protocol, ..TargetSpec::jwt(Alg::Hs256) }
}

#[tokio::test]
async fn each_protocol_is_negotiated_as_configured() {
    for (tls, protocol, want) in [
        (false, Protocol::Http1, Version::HTTP_11),
        (true, Protocol::Http1, Version::HTTP_11),
        (true, Protocol::H2, Version::HTTP_2),
    ] {
        let s = spec(tls, protocol);
        let (t, _keys, client) = target(&s).await;
        assert_eq!(t.scheme, ClientSpec::for_target(&s, _keys.path()).unwrap().scheme());
        let r = client.get(format!("{}{}", t.url(), route::HEALTHZ)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", s.id());
        assert_eq!(r.version(), want, "{}", s.id());
    }
}

#[tokio::test]
async fn a_client_trusts_only_its_targets_certificate() {
    let (a, _a_keys, _) = target(&spec(true, Protocol::H2)).await;
    let (_b, b_keys, _) = target(&spec(true, Protocol::H2)).await;
    let other = ClientSpec::for_target(&spec(true, Protocol::H2), b_keys.path()).unwrap().build().unwrap();
    let r = other.get(format!("{}{}", a.url(), route::HEALTHZ)).send().await;
    assert!(r.is_err(), "a certificate from another key directory must not be trusted");
}

#[tokio::test]
async fn the_request_is_the_same_whatever_the_protocol() {
    // The target counts Authorization and Cookie header lines as HTTP/1.1 text, whatever the
    // protocol: the same credential gives the same count, and the user agent is goose's.
    let mut counted = Vec::new();
    for (tls, protocol) in [(false, Protocol::Http1), (true, Protocol::Http1), (true, Protocol::H2)] {
        let (t, _keys, client) = target(&spec(tls, protocol)).await;
        let r =
            client.get(format!("{}{}", t.url(), route::ME)).header("authorization", "Bearer x").send().await.unwrap();
        assert_eq!(r.status(), 401);
        let metrics = client
            .get(format!("{}{}", t.url(), route::METRICS))
            .header(authbench_targets::contract::CONTROL_KEY_HEADER, CONTROL_KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = metrics.lines().find(|l| l.starts_with(authbench_targets::contract::metric::AUTH_BYTES_RECEIVED));
        counted.push(line.unwrap().to_owned());
    }
    assert!(counted.windows(2).all(|w| w[0] == w[1]), "{counted:?}");
    assert!(USER_AGENT.starts_with("goose/"));
}
