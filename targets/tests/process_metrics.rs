//! The target's own CPU seconds and resident memory on /metrics agree with /proc/PID of the same
//! process read by this test: what a harness that did not start the target reads instead of /proc.

mod support;

use authbench_targets::contract::metric;
use authbench_targets::spec::StrategyKind;
use procfs::process::Process;
use support::{spec, sum_metric};

/// The target's CPU in clock ticks and its peak resident set in bytes, as /proc says.
fn proc_reading(pid: i32) -> (u64, u64) {
    let p = Process::new(pid).expect("the target's /proc entry");
    let stat = p.stat().expect("/proc/PID/stat");
    let peak = p.status().expect("/proc/PID/status").vmhwm.expect("VmHWM") * 1024;
    (stat.utime + stat.stime, peak)
}

#[tokio::test]
async fn metrics_cpu_seconds_lie_between_two_proc_readings_of_the_same_process() {
    let t = spec(StrategyKind::Jwt).seed_users(4).start().await;
    let pid = i32::try_from(t.pid().expect("target running")).expect("pid fits i32");
    // Logins hash passwords (argon2) and requests verify signatures: CPU enough to pass some ticks.
    for round in 0..40 {
        let login = t.login_ok(round % 4).await;
        for _ in 0..20 {
            assert_eq!(t.me(&login.token()).await, reqwest::StatusCode::OK);
        }
    }
    let ticks = procfs::ticks_per_second() as f64;
    let (before, _) = proc_reading(pid);
    let text = t.metrics().await;
    let (after, peak_after) = proc_reading(pid);
    let cpu_s = sum_metric(&text, &format!("{} ", metric::PROCESS_CPU_SECONDS));
    // Whole ticks on both sides, so the comparison is exact after rounding away float noise.
    let cpu_ticks = (cpu_s * ticks).round() as u64;
    assert!(before > 0, "the target used no CPU tick serving 40 logins and 800 requests");
    assert!(
        before <= cpu_ticks && cpu_ticks <= after,
        "/proc {before} <= /metrics {cpu_ticks} <= /proc {after} ticks\n{text}"
    );
    let started = Process::new(pid).unwrap().stat().unwrap().starttime as f64 / ticks;
    let start_metric = sum_metric(&text, &format!("{} ", metric::PROCESS_START_TIME));
    let boot = procfs::boot_time_secs().unwrap() as f64;
    assert_eq!(start_metric, boot + started, "the start time identifies this process\n{text}");
    let rss = sum_metric(&text, &format!("{} ", metric::PROCESS_RESIDENT_MEMORY));
    assert!(rss > 0.0 && rss <= peak_after as f64, "resident {rss} B must be within the peak {peak_after} B\n{text}");
}
