//! "Stores at a network distance": each PostgreSQL or Redis configuration's closed browse latency,
//! throughput and CPU per request at every store round trip the run measured, the relay's own CPU
//! apart (never charged to the target or the store).

use std::time::Duration;

use crate::model::pool::{self, StorePoint};
use crate::model::results::Results;
use crate::report::document::{num, opt, Block, Section};

const HEADING: &str = "Stores at a network distance";

fn ms(d: Duration) -> String {
    if d.is_zero() {
        "0".into()
    } else {
        format!("{} ms", num(d.as_secs_f64() * 1e3))
    }
}

fn row(p: &StorePoint<'_>) -> Vec<String> {
    let cpu = &p.case.cpu_us_per_request;
    vec![
        p.family.id(),
        p.load.users.to_string(),
        ms(p.rtt),
        p.pool.to_string(),
        format!("{:.0}", p.summary.p50_us.median),
        format!("{:.0}", p.summary.p99_us.median),
        num(p.summary.throughput_rps.median),
        format!("{:.1}", p.summary.target_cpu_us.median),
        opt(cpu.store, 1),
        opt(cpu.relay, 1),
        format!("{:.2}", p.case.store_ops_per_request),
        opt(p.case.store_op_latency_us, 0),
    ]
}

/// The section, when the run measured some store round trip above 0.
pub(crate) fn section(r: &Results) -> Option<Section> {
    let points = pool::store_points(r);
    if points.iter().all(|p| p.rtt.is_zero()) {
        return None;
    }
    let head = [
        "configuration",
        "users",
        "store RTT",
        "pool",
        "p50 µs",
        "p99 µs",
        "req/s",
        "target CPU µs/req",
        "store CPU µs/req",
        "relay CPU µs/req",
        "store ops/req",
        "store op µs",
    ];
    let intro = Block::paragraph(
        "Each configuration with its store reached directly (RTT 0) and through the delay relay at the round trips \
         the matrix asked for (see the method notes for how the relay adds them and how closely). Medians over the \
         repetitions for latency, req/s and target CPU; store and relay CPU from the repetition with the median \
         throughput. The relay is a process of its own: its CPU is shown apart and never counted in the target's \
         or the store's. Store operations per request do not depend on the distance; the time each one takes does, \
         and with it every request that waits for one.",
    );
    Some(Section::new(HEADING, vec![intro, Block::table(&head, points.iter().map(row).collect())]))
}
