//! "Store pools at a distance": per store × round trip × pool size, the closed browse throughput
//! beside the ceiling a pool puts on it, pool_size ÷ (RTT + service time), and what limited it.

use std::time::Duration;

use authbench_targets::spec::StoreKind;

use crate::model::pool::{self, PoolUse, ServiceTime, StorePoint};
use crate::model::results::{Results, Shares};
use crate::report::document::{num, opt, Block, Section};

const HEADING: &str = "Store pools at a distance";

/// The pool's connections busy at least this share of the window: the pool was the limit.
const POOL_BOUND_SHARE: f64 = 0.9;
/// The machine's cores at least this busy (every process group together): CPU was the limit.
const CPU_BOUND_SHARE: f64 = 0.8;

/// What held a configuration's closed-loop throughput where it was.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Limit {
    /// The pool's connections were checked out at least [`POOL_BOUND_SHARE`] of the window.
    Pool,
    /// The machine's CPU: every process group together kept `busy` of `cores` cores busy.
    Cpu { busy: f64, cores: usize },
    /// Both: the pool was busy all along, but because waiting for CPU kept each connection longer
    /// than its round trip and service time.
    CpuThroughPool { busy: f64, cores: usize, held_us: f64, expected_us: f64 },
    /// Neither: the users, the round trip itself, or what the run did not measure.
    Neither,
    /// Shares or the ceiling were not measured.
    NotMeasured,
}

impl Limit {
    fn words(self) -> String {
        match self {
            Limit::Pool => "pool".into(),
            Limit::Cpu { busy, cores } => format!("CPU ({busy:.2} of {cores} cores busy)"),
            Limit::CpuThroughPool { busy, cores, held_us, expected_us } => format!(
                "CPU ({busy:.2} of {cores} cores busy), through the pool: connections held {held_us:.0} µs per \
                 operation, not {expected_us:.0}"
            ),
            Limit::Neither => "neither pool nor CPU (< 80 % of the cores)".into(),
            Limit::NotMeasured => "not measured".into(),
        }
    }
}

/// The ceiling a pool puts on requests a second, for stores whose client holds a connection per
/// operation; None when it does not apply or its inputs were not measured.
pub(crate) fn ceiling_rps(p: &StorePoint<'_>, service: Option<&ServiceTime>) -> Option<f64> {
    if PoolUse::of(p.store) != Some(PoolUse::OneAtATime) || p.case.store_ops_per_request <= 0.0 {
        return None;
    }
    Some(pool::ceiling_ops_s(p.pool, p.rtt, service?.us) / p.case.store_ops_per_request)
}

/// Every process group's CPU share together.
fn busy(s: &Shares) -> Option<f64> {
    Some(s.target + s.store? + s.loadgen + s.relay.unwrap_or(0.0))
}

/// Held longer than this multiple of round trip plus service time, a connection was waiting for CPU.
const HELD_SLACK: f64 = 1.25;

/// The pool when its connections were busy nearly all the window (the target's own counter) for
/// about their round trip and service time each; the CPU when the run's processes kept most cores
/// busy (through the pool when that is what kept connections longer); else neither.
pub(crate) fn limit(p: &StorePoint<'_>, service: Option<&ServiceTime>, cores: Option<usize>) -> Limit {
    let pool_busy = p.case.pool.filter(|b| b.share >= POOL_BOUND_SHARE);
    let cpu = p.case.shares.as_ref().and_then(busy).zip(cores).filter(|(b, c)| *b >= CPU_BOUND_SHARE * *c as f64);
    let expected_us = service.map(|s| p.rtt.as_secs_f64() * 1e6 + s.us);
    match (pool_busy, cpu) {
        (Some(b), Some((busy, cores))) => match (b.held_us_per_op, expected_us) {
            (Some(held_us), Some(expected_us)) if held_us > HELD_SLACK * expected_us => {
                Limit::CpuThroughPool { busy, cores, held_us, expected_us }
            }
            _ => Limit::Pool,
        },
        (Some(_), None) => Limit::Pool,
        (None, Some((busy, cores))) => Limit::Cpu { busy, cores },
        (None, None) if p.case.shares.is_none() || cores.is_none() => Limit::NotMeasured,
        (None, None) => Limit::Neither,
    }
}

fn ms(d: Duration) -> String {
    if d.is_zero() {
        "0".into()
    } else {
        format!("{} ms", num(d.as_secs_f64() * 1e3))
    }
}

fn row(r: &Results, p: &StorePoint<'_>) -> Vec<String> {
    let service = pool::service_time(r, &p.case.target.spec);
    let ceiling = ceiling_rps(p, service.as_ref());
    let rps = p.summary.throughput_rps.median;
    let ceiling_cell = match (PoolUse::of(p.store), ceiling) {
        (Some(PoolUse::Pipelined), _) => "none (pipelined)".to_owned(),
        (_, Some(c)) => num(c),
        (_, None) => "not measured".to_owned(),
    };
    vec![
        p.family.id(),
        p.load.users.to_string(),
        ms(p.rtt),
        p.pool.to_string(),
        num(rps),
        ceiling_cell,
        ceiling.map_or("—".into(), |c| format!("{:.0} %", rps / c * 100.0)),
        opt(service.as_ref().map(|s| s.us), 0),
        opt(p.case.pool.and_then(|b| b.held_us_per_op), 0),
        p.case.pool.map_or("—".into(), |b| format!("{:.0} %", b.share * 100.0)),
        opt(p.case.store_op_latency_us, 0),
        limit(p, service.as_ref(), r.environment.cores).words(),
    ]
}

/// The section, when the run measured a store round trip or a pool size other than the default.
pub(crate) fn section(r: &Results) -> Option<Section> {
    let points = pool::store_points(r);
    let varied = points.iter().any(|p| !p.rtt.is_zero() || p.pool != authbench_targets::spec::TargetSpec::POOL);
    if !varied {
        return None;
    }
    let rows = points.iter().map(|p| row(r, p)).collect();
    let head = [
        "configuration",
        "users",
        "store RTT",
        "pool",
        "req/s (median)",
        "pool ceiling req/s",
        "of ceiling",
        "service µs at RTT 0",
        "connection µs/op here",
        "pool busy",
        "store op µs here",
        "limit",
    ];
    let redis = points.iter().any(|p| p.store == StoreKind::Redis);
    let mut blocks = vec![Block::paragraph(
        "A PostgreSQL connection serves one query at a time (deadpool checks it out for the whole query), so a pool \
         of N connections carries at most N ÷ (RTT + service time) store operations a second, whatever the target's \
         CPU: the ceiling below, divided by the store operations per request. Service time is the lowest \
         connection time per operation this run measured for the configuration at RTT 0 (the target counts how long \
         each connection is checked out of its pool; under load that includes waiting for CPU, so the ceiling is \
         conservative). Pool busy is that counter over the window ÷ (window × pool size); a store operation's own \
         latency also includes waiting for a free connection. A row whose pool was busy 90 % of the window was \
         limited by the pool, and one whose processes (target, store, relay, load generator) kept 80 % of the \
         machine's cores busy, by CPU; when both, by CPU through the pool if waiting for CPU kept each connection \
         over 1.25 × its round trip and service time.",
    )];
    if redis {
        blocks.push(Block::paragraph(
            "Redis rows have no ceiling: fred pipelines commands on each pooled connection (it writes the next \
             command without waiting for the previous answer), so a round trip adds latency to each lookup but \
             the pool size does not cap the rate.",
        ));
    }
    blocks.push(Block::table(&head, rows));
    Some(Section::new(HEADING, blocks))
}
