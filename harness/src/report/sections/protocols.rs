//! "TLS and HTTP/2": bytes per request by protocol (plain HTTP/1.1, HTTP/1.1 over TLS, h2) and
//! credential transport (Bearer, cookie), the credential's share against the rest, per client, and
//! a TLS handshake's bytes per new connection. Only what the run measured: a run without TLS
//! configurations has no such section, and a figure a client did not measure is a dash.

use std::collections::BTreeMap;

use authbench_targets::spec::{Protocol, TargetSpec, Transport};

use crate::model::protocol::{ClientKind, ClientRun, ProtocolCheck, Shape};
use crate::model::results::{Case, CaseRole, Results};
use crate::report::document::{num, opt, Block, Section, Text};

const HEADING: &str = "TLS and HTTP/2";

/// How a configuration reaches clients, as the tables name it.
fn protocol_name(spec: &TargetSpec) -> &'static str {
    match (spec.tls, spec.protocol) {
        (false, _) => "HTTP/1.1",
        (true, Protocol::Http1) => "HTTP/1.1 + TLS",
        (true, Protocol::H2) => "h2 (TLS)",
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Bearer => "Bearer",
        Transport::Cookie => "cookie",
    }
}

/// The configuration without its protocol: what plain, TLS and h2 variants of it share.
fn family(spec: &TargetSpec) -> String {
    TargetSpec { tls: false, protocol: Protocol::Http1, ..*spec }.id()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The matrix cases of one (configuration, load), over its repetitions.
struct Group<'a> {
    spec: TargetSpec,
    load_id: String,
    cases: Vec<&'a Case>,
}

/// Matrix cases of configurations that have a TLS variant in the run (the plain ones included,
/// to compare against), grouped by (configuration, load), ordered by family, load and protocol.
fn groups(r: &Results) -> Vec<Group<'_>> {
    let tls_families: Vec<String> = r.config.matrix.targets.iter().filter(|t| t.tls).map(family).collect();
    let mut out: Vec<Group<'_>> = Vec::new();
    for case in r.cases.iter().filter(|c| c.role == CaseRole::Matrix && tls_families.contains(&family(&c.target.spec)))
    {
        let load_id = case.load.id();
        match out.iter_mut().find(|g| g.spec == case.target.spec && g.load_id == load_id) {
            Some(g) => g.cases.push(case),
            None => out.push(Group { spec: case.target.spec, load_id, cases: vec![case] }),
        }
    }
    out.sort_by_key(|g| (family(&g.spec), g.load_id.clone(), g.spec.tls, g.spec.protocol));
    out
}

/// What the credential costs goose's client on the wire per request: exactly its header line over
/// plain HTTP/1.1; over TLS the cross-check's difference with and without it; None when unmeasured.
fn credential_on_wire(spec: &TargetSpec, auth_received: f64, checks: &[ProtocolCheck]) -> Option<f64> {
    if !spec.tls {
        return Some(auth_received);
    }
    checks.iter().find(|c| c.target.spec == *spec).and_then(|c| c.credential_on_wire(ClientKind::Reqwest))
}

fn case_rows(r: &Results) -> Vec<Vec<String>> {
    groups(r)
        .iter()
        .map(|g| {
            let m = |f: fn(&Case) -> f64| median(g.cases.iter().map(|c| f(c)).collect());
            let (received, sent) = (m(|c| c.bytes_per_request.received), m(|c| c.bytes_per_request.sent));
            let text = m(|c| c.bytes_per_request.auth_received);
            let wire = credential_on_wire(&g.spec, text, &r.h2load);
            vec![
                family(&g.spec),
                g.load_id.clone(),
                protocol_name(&g.spec).to_owned(),
                transport_name(g.spec.transport).to_owned(),
                num(received),
                num(sent),
                num(text),
                opt(wire, 0),
                opt(wire.map(|w| received - w), 0),
                format!("{:.1}", m(|c| c.cpu_us_per_request.target)),
            ]
        })
        .collect()
}

const CASE_HEAD: [&str; 10] = [
    "configuration",
    "load",
    "protocol",
    "credential",
    "B/req received",
    "B/req sent",
    "credential, as header text",
    "credential on the wire",
    "rest received",
    "target CPU µs/req",
];

fn keep_alive(s: &Shape) -> bool {
    matches!(s, Shape::KeepAlive { .. })
}

fn new_connections(s: &Shape) -> bool {
    matches!(s, Shape::NewConnections)
}

/// One row per client of a cross-check.
fn check_rows(c: &ProtocolCheck) -> Vec<Vec<String>> {
    [ClientKind::Reqwest, ClientKind::H2load]
        .into_iter()
        .filter_map(|client| {
            let kept = c.run(client, keep_alive, true);
            let fresh = c.run(client, new_connections, true);
            if kept.is_none() && fresh.is_none() {
                return None;
            }
            let wire = c.credential_on_wire(client);
            let received = kept.map(|k| k.per_request.received);
            let traffic = kept.and_then(|k| k.h2load_traffic.map(|t| t.total));
            let framing = kept.zip(traffic).map(|(k, t)| k.per_request.sent - t);
            let hs = fresh.and_then(|f| f.handshakes.as_ref());
            let groups = hs.map_or("—".to_owned(), |h| h.groups.keys().cloned().collect::<Vec<_>>().join(", "));
            Some(vec![
                c.target.id.clone(),
                protocol_name(&c.target.spec).to_owned(),
                transport_name(c.target.spec.transport).to_owned(),
                client.label().to_owned(),
                opt(received, 0),
                opt(kept.map(|k| k.per_request.sent), 0),
                opt(wire, 0),
                opt(received.zip(wire).map(|(r, w)| r - w), 0),
                opt(traffic, 0),
                opt(framing, 0),
                opt(hs.map(|h| h.received_per), 0),
                opt(hs.map(|h| h.sent_per), 0),
                groups,
                opt(kept.map(|k| k.target_cpu_us_per_request), 1),
                opt(fresh.map(|f| f.target_cpu_us_per_request), 0),
            ])
        })
        .collect()
}

const CHECK_HEAD: [&str; 15] = [
    "configuration",
    "protocol",
    "credential",
    "client",
    "B/req received",
    "B/req sent",
    "credential on the wire",
    "rest received",
    "h2load's count received (decrypted)",
    "TLS framing sent",
    "handshake B received",
    "handshake B sent",
    "key exchange",
    "target CPU µs/req",
    "target CPU µs per new connection + request",
];

/// How each cross-check run was made, and the runs that were not measured.
fn runs_list(checks: &[ProtocolCheck]) -> Vec<Text> {
    let mut out = Vec::new();
    for c in checks {
        for r in &c.runs {
            let mut t = Text::plain(format!("{} — {}, {}", c.target.id, r.client.label(), run_words(r)));
            if let Some(cmd) = &r.command {
                t = t.and(": ").code(cmd.clone());
            }
            if let Some(tls) = &r.tls {
                t = t.and(format!(" ({tls})"));
            }
            out.push(t);
        }
        for n in &c.not_measured {
            let with = if n.credential { "with the credential" } else { "without the credential" };
            out.push(Text::plain(format!(
                "{} — {}, {}, {with}: not measured: {}",
                c.target.id,
                n.client.label(),
                n.shape,
                n.reason
            )));
        }
    }
    out
}

fn run_words(r: &ClientRun) -> String {
    let with = if r.credential { "with the credential" } else { "without the credential (answered 401)" };
    let failed = if r.failed > 0 && r.credential { format!(", {} failed", r.failed) } else { String::new() };
    format!("{}, {with}: {} requests{failed}", r.shape, r.requests)
}

/// The key exchange groups the target negotiated across the cross-checks, with their handshakes.
fn groups_seen(checks: &[ProtocolCheck]) -> BTreeMap<String, u64> {
    let mut seen = BTreeMap::new();
    for h in checks.iter().flat_map(|c| &c.runs).filter_map(|r| r.handshakes.as_ref()) {
        for (g, n) in &h.groups {
            *seen.entry(g.clone()).or_insert(0) += n;
        }
    }
    seen
}

const HOW: &str = "Bytes are counted by the target at its sockets, under TLS: every TLS record, header and \
authentication tag included, each handshake counted apart from the requests that follow it (its own rows; the \
per-request figures leave handshakes out). The credential's share is measured, not assumed: over plain HTTP/1.1 \
it is its header line; over TLS and h2 it is the difference in bytes received per request between the same \
requests with and without it (the latter answered 401), which is what it costs after HPACK. The target also \
counts the header as HTTP/1.1 text whatever the protocol; on h2 that count is not what crosses the wire.";

const CLIENTS: &str = "Two clients, and the figures differ by client: goose's users send with reqwest on hyper, \
Rust's h2 and rustls; the cross-check adds h2load (nghttp2 on OpenSSL). Rust's h2 never puts `authorization` or \
`cookie` in the HPACK table, so both go out in full (Huffman-coded) on every request; nghttp2 never indexes \
`authorization` but indexes cookies of 20 bytes or more, after which a cookie costs a byte or two per request. \
h2load's count is what it received after decryption, so the target's bytes sent minus it is TLS framing (and the \
other client's frames are its own). Handshakes are full TLS 1.3 handshakes: the target issues no session tickets, \
so no client resumes; a ClientHello's size is the client's (key shares, extensions).";

/// The section, when the run had a TLS configuration.
pub(crate) fn section(r: &Results) -> Option<Section> {
    let cases = case_rows(r);
    if cases.is_empty() && r.h2load.is_empty() {
        return None;
    }
    let mut blocks = vec![Block::paragraph(HOW)];
    if !cases.is_empty() {
        blocks.push(Block::paragraph(
            "The matrix cases, goose's users over long-lived connections (median over repetitions):",
        ));
        blocks.push(Block::table(&CASE_HEAD, cases));
    }
    if !r.h2load.is_empty() {
        blocks.push(Block::paragraph(CLIENTS));
        blocks.push(Block::table(&CHECK_HEAD, r.h2load.iter().flat_map(check_rows).collect()));
        let seen = groups_seen(&r.h2load);
        if !seen.is_empty() {
            let list: Vec<String> = seen.iter().map(|(g, n)| format!("{g} ({n} handshakes)")).collect();
            blocks.push(Block::paragraph(format!("Key exchange negotiated in the cross-checks: {}.", list.join(", "))));
        }
        blocks.push(Block::List(runs_list(&r.h2load)));
    }
    Some(Section::new(HEADING, blocks))
}
