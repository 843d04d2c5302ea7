//! How each figure of a run is measured, in words: written into results.json so every report
//! states the method of the run it shows.

use std::collections::BTreeMap;

use crate::model::results::{LOADGEN_BOUND_SHARE, STEAL_WARNING_SHARE};

/// The method notes every results file carries.
pub fn notes() -> BTreeMap<String, String> {
    [
        ("latency_us", "Every request timed by the load generator from send (closed model) or from its intended send time (open model: a request sent late because an earlier response was slow counts from its intended send time, correcting coordinated omission as wrk2 does; one sent on schedule counts from its actual send, so timer wake-up lateness is not charged to the target) until the response body was read; recorded in per-user HdrHistograms at 1 µs resolution (3 significant digits) and merged exactly."),
        ("throughput_rps", "Requests recorded in the measured window divided by the window's length, timed by the harness."),
        ("bytes_per_request", "Delta of the target's socket byte counters (a wrapper around every accepted TCP stream) over the window, minus the exact bytes of the /metrics scrapes inside it (the two edges and the timeline's), divided by target_requests. auth counts Authorization/Cookie header lines received plus Set-Cookie lines and token strings sent."),
        ("store_ops_per_request", "Delta of the target's store operation counter (all kinds except health pings) divided by target_requests."),
        ("cpu_us_per_request", "Delta of utime+stime from /proc over the window (10 ms ticks) for the target process, the store processes (Redis server; PostgreSQL postmaster, its backends and reaped children) and this process (the load generator), divided by target_requests. Store CPU is 0 when there is no separate store process (jwt without denylist; the memory store runs inside the target, so its work is in target CPU) and null when the store is external."),
        ("req_per_core_s", "1e6 / target CPU µs per request: requests per second one core of target CPU sustains. On a machine where load generator, target and stores share cores, this is the figure that transfers."),
        ("peak_rss_bytes", "VmHWM of the target process read at the end of the case: its high-water mark since start, login phase (argon2id buffers) included."),
        ("windows", "Each case runs on a freshly started target: users log in, a warm-up runs (recorded only in the timeline), then the measured window; /metrics is scraped at both edges."),
        ("timeline", "Each case second by second from the start of its warm-up (second 0) to the second its window closed in, warm-up included; window_start_s is the warm-up as actually waited. A second is a whole second of the harness's clock from the warm-up's start; a request belongs to the second it completed in. requests, errors (non-2xx or no answer) and p50/p99 (per-second HdrHistograms at 2 significant digits) come from the same per-user recording as the window's figures; a second without requests counts 0 with no percentiles, and the last second ends where the window closed, so it is partial. store_ops: the target's /metrics scraped once a second by the harness for the store-operation counter, the difference of the readings at two consecutive whole seconds, a reading counting only when its scrape was sent and answered within 200 ms of its second (null when either is missing). These scrapes cost the target one small request per second (its CPU is in the window's target CPU; their bytes are taken out of bytes_per_request exactly, the scrapes never overlapping the edges' own)."),
        ("repetitions", "Each matrix case runs `repetitions` times, repetition by repetition across all configurations (A B C A B C), so slow drift of the machine spreads over every configuration instead of landing on one. Headline figures (summaries) are the median of the repetitions with a 95 % interval: Student's t around the mean for 2-5 repetitions (assumes roughly normal repetitions; with 3 it is wide, t = 4.30), distribution-free order statistics around the median for 6 or more; one repetition has no interval. Charts and per-case figures use the repetition whose throughput is the median."),
        ("ladder", "Rate ladder: the open model (browse) at each listed offered rate, given as fractions of the configuration's median closed-loop browse throughput measured earlier in the same run (its saturation) or as explicit rates, each on a fresh target with the matrix's warm-up and window. Utilization = achieved rate / saturation. Capacity at the SLO: the highest offered rate whose step met the SLO (the percentile at or under its bound and zero errors) below the lowest offered rate whose step did not, refined by bisection between the two until they are within 2 % or the refinement budget is spent; a pass above a failure never counts."),
        ("security", "See each probe's method."),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain(bottleneck_notes())
    .collect()
}

/// Who limited each window, and whether the machine was honest about its CPU.
fn bottleneck_notes() -> [(String, String); 4] {
    [
        ("shares", "Each process group's CPU over the measured window (the utime+stime deltas of cpu_us_per_request, 10 ms ticks) divided by the time between the two edges' CPU readings (a few ms wider than the recorded window): the share of one core it kept busy, 1.0 being a whole core and more than 1.0 several. Store is 0 without a separate store process and null when the store is external.".to_owned()),
        ("loadgen_bound", format!("A case is load-generator bound when the load generator (this process: goose users and the harness around them) used at least {LOADGEN_BOUND_SHARE} of a core over the window while the target used less: the generator then worked harder than what it measured, so the window's req/s says more about the generator than the target. Claims that judge saturation throughput answer \"not measured\" for such a case; CPU per request and req/core·s still describe the target.")),
        ("steal", format!("Steal time from the machine's cpu line in /proc/stat at both edges: Δsteal / Δ(user+nice+system+idle+iowait+irq+softirq+steal; guest time is already inside user and nice). It is CPU the hypervisor gave to other guests while this one wanted it; above {:.0} % a window's latencies and rates are suspect. Null when /proc/stat could not be read.", STEAL_WARNING_SHARE * 100.0)),
        ("loadgen_ceiling", "When the matrix sets loadgen_ceiling: after the ladders, a fresh jwt HS256 target serves its JWKS document (no auth, no store) to goose users back to back, as many as the first closed load's users, for the matrix's warm-up and window; req/s and this process's CPU share are read as for a case. Then wrk -t1 drives the same endpoint with the same connections for the same duration and its Requests/sec line is recorded. A case whose req/s nears authbench's ceiling measured the load generator; wrk's figure shows how much of the ceiling is goose's cost rather than the target's.".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
}
