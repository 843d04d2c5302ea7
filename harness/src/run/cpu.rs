//! CPU time and memory of processes, from /proc.

use procfs::process::Process;

/// Microseconds per clock tick (usually 10 000: /proc reports CPU in 10 ms ticks).
fn us_per_tick() -> u64 {
    1_000_000 / procfs::ticks_per_second().max(1)
}

fn stat_us(p: &Process) -> Option<u64> {
    let s = p.stat().ok()?;
    Some((s.utime + s.stime) * us_per_tick())
}

/// User + system CPU of one process, in µs.
pub fn process_us(pid: i32) -> Option<u64> {
    stat_us(&Process::new(pid).ok()?)
}

/// CPU of this process: the load generator (goose users and the harness around them).
pub fn self_us() -> Option<u64> {
    stat_us(&Process::myself().ok()?)
}

/// CPU of a process tree: the root, its live children, and the children it already reaped
/// (PostgreSQL forks a backend per connection; all of them count as store CPU).
pub fn tree_us(root: i32) -> Option<u64> {
    let r = Process::new(root).ok()?.stat().ok()?;
    let reaped = u64::try_from(r.cutime + r.cstime).unwrap_or(0);
    let mut total = r.utime + r.stime + reaped;
    if let Ok(all) = procfs::process::all_processes() {
        for p in all.flatten() {
            if let Ok(s) = p.stat() {
                if s.ppid == root {
                    total += s.utime + s.stime;
                }
            }
        }
    }
    Some(total * us_per_tick())
}

/// Peak resident set size (VmHWM) in bytes.
pub fn peak_rss_bytes(pid: i32) -> Option<u64> {
    Process::new(pid).ok()?.status().ok()?.vmhwm.map(|kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_grows_with_work() {
        let before = self_us().unwrap();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(100) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert!(x != 1);
        assert!(self_us().unwrap() > before);
        let me = i32::try_from(std::process::id()).unwrap();
        // Read the process first: other test threads keep adding CPU, so a later read is never smaller.
        let own = process_us(me).unwrap();
        assert!(tree_us(me).unwrap() >= own);
        assert!(peak_rss_bytes(me).unwrap() > 0);
    }
}
