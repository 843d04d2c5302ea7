//! The page the report opens with: each option's cores, p99, bytes, windows and money on one
//! table, then the options another beats on every criterion (figures from [`crate::report::findings`]).

use authbench_targets::spec::StoreKind;

use crate::model::results::Results;
use crate::model::stats::Estimate;
use crate::report::document::{Block, Section, Text};
use crate::report::findings::dominance::{self, Dominated, Outcome, Point};
use crate::report::findings::{cost, Candidate, Findings, PER_RPS};
use crate::report::plan::Window;

fn cores(c: &Candidate, utilization: f64) -> String {
    let part = |e: &Estimate| format!("{:.2}", Candidate::cores(e, utilization).median);
    let target = format!("{} target", part(&c.target_cpu_us));
    match (c.spec().needed_store(), &c.total_cpu_us, &c.store_cpu_us) {
        (None, _, _) => format!("{} (no store)", Candidate::cores(&c.target_cpu_us, utilization).show(2)),
        (Some(StoreKind::Memory), _, _) => {
            format!("{} (store in the target)", Candidate::cores(&c.target_cpu_us, utilization).show(2))
        }
        (Some(_), Some(total), Some(store)) => {
            format!("{} = {target} + {} store", Candidate::cores(total, utilization).show(2), part(store))
        }
        (Some(_), _, _) => format!("{target} + store not measured"),
    }
}

fn store_rtt(c: &Candidate) -> String {
    match c.spec().needed_store() {
        None | Some(StoreKind::Memory) => "—".into(),
        Some(_) => crate::report::document::rtt(c.spec().store_rtt),
    }
}

fn window(w: &Window) -> String {
    match w {
        Window::Measured { s, .. } => format!("{s:.2} s"),
        Window::Bound { bound_s, .. } => format!("up to {bound_s} s (bound)"),
        Window::Broken { cap_s, .. } => format!("at least {cap_s:.0} s (bound broken)"),
        Window::NotProbed => "not probed".into(),
        Window::NoAuth => "—".into(),
    }
}

fn bytes(c: &Candidate) -> String {
    let other = |b: Option<f64>| b.map_or_else(|| "—".into(), |b| format!("{b:.0}"));
    format!("{:.0} · {} · {}", c.bytes.median, other(c.bytes_by_protocol.tls), other(c.bytes_by_protocol.h2))
}

fn money(c: &Candidate) -> String {
    match c.cost {
        Some(m) => format!("{:.4} (CPU {:.4} + egress {:.4})", m.total(), m.cpu_usd, m.egress_usd),
        None => "not measured (store CPU)".into(),
    }
}

fn label(c: &Candidate) -> String {
    if c.is_floor() {
        format!("{} (floor, not an option)", c.case.target.id)
    } else {
        c.case.target.id.clone()
    }
}

fn row(c: &Candidate, f: &Findings) -> Vec<String> {
    vec![
        label(c),
        store_rtt(c),
        cores(c, f.economics.utilization),
        c.p99_us.as_ref().map_or_else(|| "not measured".into(), |e| e.show(0)),
        bytes(c),
        window(&c.revocation),
        window(&c.logout),
        window(&c.stale_role),
        money(c),
    ]
}

fn method(r: &Results, f: &Findings) -> String {
    let users = f.candidates.first().map_or_else(|| "its".into(), |c| c.case.load.users.to_string());
    let load = match f.equal_load_rps {
        Some(rate) => format!("p99 in µs at {rate:.0} req/s offered to every option (open model, browse)"),
        None => "p99 at an equal offered load is not measured: the run has no open-model browse load".into(),
    };
    format!(
        "Each option served the plain way (Bearer over HTTP/1.1 without TLS, default TTLs and pool; its cookie, TLS, \
         h2 and pool variants have sections of their own), on {} cores ({}). Cores per {PER_RPS:.0} req/s and money \
         read target and store CPU per request at closed-loop saturation of browse with {users} users (from /proc, \
         median of the repetitions with its 95 % interval in brackets), at {:.0} % utilization: at lower load a \
         request costs more CPU, which the capacity section and authbench plan read from the rate ladders. {load}. \
         Bytes per request both directions, plain HTTP/1.1 · TLS · h2 where the run served those twins. Windows from \
         the security probe: measured, or the TTL bound where the probe stopped waiting.",
        r.environment.cores.map_or_else(|| "an unknown number of".into(), |n| n.to_string()),
        r.environment.cpu_model.as_deref().unwrap_or("unknown CPU"),
        f.economics.utilization * 100.0,
    )
}

/// The findings table with how it was measured and the price formula.
pub fn section(r: &Results, f: &Findings) -> Section {
    let head = [
        "option",
        "store RTT",
        "cores per 10k req/s",
        "p99 µs at equal load",
        "bytes/req HTTP/1.1 · TLS · h2",
        "revoked user served",
        "logged-out credential served",
        "demoted admin served",
        "$ per million requests",
    ];
    let rows = f.candidates.iter().map(|c| row(c, f)).collect();
    Section::new(
        "Findings",
        vec![
            Block::paragraph(method(r, f)),
            Block::table(&head, rows),
            Block::paragraph(cost::formula(f.economics.utilization, &f.economics.prices)),
        ],
    )
}

/// Where the first dominating option is better, with both figures, and what it ties on.
fn how(points: &[Point]) -> String {
    let better: Vec<String> = points.iter().filter(|p| p.outcome == Outcome::Better).map(ToString::to_string).collect();
    let same: Vec<&str> = points.iter().filter(|p| p.outcome == Outcome::Same).map(|p| p.criterion.name()).collect();
    let tie = if same.is_empty() { String::new() } else { format!("; the same on {}", same.join(", ")) };
    format!("better on {}{tie}", better.join("; "))
}

fn dominated_row(d: &Dominated) -> Vec<String> {
    let by = d.by.iter().map(|(o, _)| o.case.target.id.clone()).collect::<Vec<_>>().join(", ");
    vec![d.option.case.target.id.clone(), by, d.by.first().map_or_else(String::new, |(_, p)| how(p))]
}

/// The options another option beats on some criterion and loses to on none.
pub fn dominated(f: &Findings, resolution_s: f64) -> Section {
    let found = dominance::find(&f.candidates, resolution_s);
    let rule = format!(
        "An option is dominated when another is better on at least one criterion and worse on none: CPU per request \
         (target + store), p99 at equal load, bytes per request, revocation, logout and stale-role windows, and whether \
         replicas share its state (an in-process store is one replica's own). CPU and p99 differ only when their 95 % \
         intervals do not overlap, so a single window (no interval) decides nothing; bytes differ by whole bytes; \
         windows only by more than {resolution_s:.2} s (two poll intervals of the probe); a criterion measured for \
         one of the two only leaves them undecided. Options \
         are compared at the same store round trip unless one keeps no store across the network; the floor is no \
         option."
    );
    let mut blocks = vec![Block::paragraph(rule)];
    if found.is_empty() {
        blocks.push(Block::paragraph(Text::plain("No option is dominated in this run.")));
    } else {
        let rows = found.iter().map(dominated_row).collect();
        blocks.push(Block::table(&["option", "dominated by", "how (against the first)"], rows));
    }
    Section::new("Dominated options", blocks)
}
