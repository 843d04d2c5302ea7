//! How each figure of a run is measured, in words: written into results.json so every report
//! states the method of the run it shows.

use std::collections::BTreeMap;

/// The method notes every results file carries.
pub fn notes() -> BTreeMap<String, String> {
    [
        ("latency_us", "Every request timed by the load generator from send (closed model) or from its intended send time (open model: a request sent late because an earlier response was slow counts from its intended send time, correcting coordinated omission as wrk2 does; one sent on schedule counts from its actual send, so timer wake-up lateness is not charged to the target) until the response body was read; recorded in per-user HdrHistograms at 1 µs resolution (3 significant digits) and merged exactly."),
        ("throughput_rps", "Requests recorded in the measured window divided by the window's length, timed by the harness."),
        ("bytes_per_request", "Delta of the target's socket byte counters (a wrapper around every accepted TCP stream) over the window, minus the exact bytes of the two /metrics scrapes, divided by target_requests. auth counts Authorization/Cookie header lines received plus Set-Cookie lines and token strings sent."),
        ("store_ops_per_request", "Delta of the target's store operation counter (all kinds except health pings) divided by target_requests."),
        ("cpu_us_per_request", "Delta of utime+stime from /proc over the window (10 ms ticks) for the target process, the store processes (Redis server; PostgreSQL postmaster, its backends and reaped children) and this process (the load generator), divided by target_requests. Store CPU is 0 when there is no separate store process (jwt without denylist; the memory store runs inside the target, so its work is in target CPU) and null when the store is external."),
        ("req_per_core_s", "1e6 / target CPU µs per request: requests per second one core of target CPU sustains. On a machine where load generator, target and stores share cores, this is the figure that transfers."),
        ("peak_rss_bytes", "VmHWM of the target process read at the end of the case: its high-water mark since start, login phase (argon2id buffers) included."),
        ("windows", "Each case runs on a freshly started target: users log in, a warm-up runs unrecorded, then the measured window; /metrics is scraped at both edges."),
        ("security", "See each probe's method."),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
