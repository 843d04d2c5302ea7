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

/// The machine's CPU time in ticks since boot, from the `cpu ` line of /proc/stat: all of it,
/// and the part the hypervisor gave to other guests (steal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MachineTicks {
    pub(crate) total: u64,
    pub(crate) steal: u64,
}

impl MachineTicks {
    /// Every state once: guest and guest_nice are already inside user and nice, so they are not
    /// added again. None when the kernel does not report steal.
    fn of(t: &procfs::CpuTime) -> Option<MachineTicks> {
        let steal = t.steal?;
        let optional = [t.iowait, t.irq, t.softirq].iter().flatten().sum::<u64>();
        Some(MachineTicks { total: t.user + t.nice + t.system + t.idle + optional + steal, steal })
    }

    /// Parses /proc/stat text; None when it has no `cpu ` line with a steal field.
    fn parse(text: &str) -> Option<MachineTicks> {
        use procfs::FromReadSI;
        let info = procfs::ExplicitSystemInfo {
            boot_time_secs: 0,
            ticks_per_second: procfs::ticks_per_second().max(1),
            page_size: 4096,
            is_little_endian: cfg!(target_endian = "little"),
        };
        let stats = procfs::KernelStats::from_read(text.as_bytes(), &info).ok()?;
        MachineTicks::of(&stats.total)
    }
}

/// The machine's CPU ticks now; None when /proc/stat cannot be read or lacks steal.
pub(crate) fn machine_ticks() -> Option<MachineTicks> {
    MachineTicks::parse(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Steal between two readings as a share of all the machine's CPU time between them; None when
/// either reading is missing or no tick passed.
pub(crate) fn steal_share(before: Option<MachineTicks>, after: Option<MachineTicks>) -> Option<f64> {
    let (b, a) = before.zip(after)?;
    let total = a.total.checked_sub(b.total).filter(|t| *t > 0)?;
    Some(a.steal.saturating_sub(b.steal) as f64 / total as f64)
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

    /// Two /proc/stat samples of a guest: user nice system idle iowait irq softirq steal guest
    /// guest_nice.
    const STAT_BEFORE: &str =
        "cpu  1000 10 500 8000 40 0 20 30 200 0\ncpu0 500 5 250 4000 20 0 10 15 100 0\nctxt 1\nbtime 1\nprocesses 1\n";
    const STAT_AFTER: &str =
        "cpu  1050 10 520 8100 40 0 20 35 220 0\ncpu0 525 5 260 4050 20 0 10 18 110 0\nctxt 2\nbtime 1\nprocesses 2\n";

    #[test]
    fn steal_is_the_eighth_value_and_guest_is_not_counted_twice() {
        let b = MachineTicks::parse(STAT_BEFORE).unwrap();
        assert_eq!(b, MachineTicks { steal: 30, total: 1000 + 10 + 500 + 8000 + 40 + 20 + 30 });
        let a = MachineTicks::parse(STAT_AFTER).unwrap();
        // 50 user + 20 system + 100 idle + 5 steal.
        assert_eq!(steal_share(Some(b), Some(a)), Some(5.0 / 175.0));
    }

    #[test]
    fn an_unreadable_or_old_proc_stat_gives_no_steal_never_zero() {
        assert_eq!(MachineTicks::parse("intr 1\n"), None);
        assert_eq!(MachineTicks::parse("cpu  1000 10 500 8000 40 0 20\nctxt 1\nbtime 1\nprocesses 1\n"), None);
        let b = MachineTicks::parse(STAT_BEFORE);
        assert_eq!(steal_share(b, None), None);
        assert_eq!(steal_share(b, b), None, "no tick passed: nothing to divide by");
        assert!(machine_ticks().is_some(), "this Linux machine reports steal in /proc/stat");
    }
}
