//! Microsecond latency and status recording: per-user histograms, merged once per user, and a
//! per-second timeline from the start of the warm-up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use hdrhistogram::Histogram;

/// Highest latency tracked: 60 s in microseconds; slower requests are clamped into the top bucket
/// and counted in `saturated` so the report can say so.
pub const MAX_US: u64 = 60_000_000;

/// Status key for a request that got no HTTP response at all.
pub const TRANSPORT_ERROR: u16 = 0;

/// Phase bit: the measured window is open.
const WINDOW: u8 = 1;
/// Phase bit: the timeline is recording (from the warm-up's start to the window's close).
const TIMELINE: u8 = 2;

/// One user's private recording; no synchronisation on the hot path.
#[derive(Clone)]
pub struct UserRecording {
    pub histogram: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub saturated: u64,
    /// The timeline: index = whole seconds since the timeline's start.
    pub(crate) seconds: Vec<SecondBucket>,
}

impl UserRecording {
    fn new() -> UserRecording {
        UserRecording { histogram: new_histogram(), statuses: BTreeMap::new(), saturated: 0, seconds: Vec::new() }
    }

    /// The bucket of second `t`, created (with any seconds before it) on first use.
    fn second(&mut self, t: usize) -> &mut SecondBucket {
        if self.seconds.len() <= t {
            self.seconds.resize_with(t + 1, SecondBucket::new);
        }
        &mut self.seconds[t]
    }
}

/// 1 µs .. 60 s at 3 significant digits: the resolution the differences under study need.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("constant histogram bounds are valid")
}

/// 1 µs .. 60 s at 2 significant digits with 32-bit counts: enough for a second's p50 and p99 at
/// about 10 KB, since every user keeps one per second.
fn new_second_histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, MAX_US, 2).expect("constant histogram bounds are valid")
}

/// One second of the timeline: requests completed in it, how many were errors, their latencies.
#[derive(Clone)]
pub struct SecondBucket {
    pub requests: u64,
    /// Non-2xx answers and transport errors (status 0).
    pub errors: u64,
    pub histogram: Histogram<u32>,
}

impl SecondBucket {
    fn new() -> SecondBucket {
        SecondBucket { requests: 0, errors: 0, histogram: new_second_histogram() }
    }

    fn record(&mut self, status: u16, micros: u64) {
        self.requests += 1;
        if !(200..300).contains(&status) {
            self.errors += 1;
        }
        // Clamped into range, so recording cannot fail.
        let _ = self.histogram.record(micros.clamp(1, MAX_US));
    }

    fn add(&mut self, other: &SecondBucket) {
        self.requests += other.requests;
        self.errors += other.errors;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }
}

/// What a measured window recorded across all users, and the timeline around it.
pub struct Window {
    pub histogram: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub saturated: u64,
    /// Every second from the timeline's start to its stop, by completion time; empty when the
    /// timeline never started.
    pub seconds: Vec<SecondBucket>,
}

impl Window {
    fn empty() -> Window {
        Window { histogram: new_histogram(), statuses: BTreeMap::new(), saturated: 0, seconds: Vec::new() }
    }
}

/// Shared by all users of one run: the on/off switches of the measured window and of the
/// timeline, and the merged result.
pub struct Recorder {
    /// [`WINDOW`] and [`TIMELINE`] bits in one word, so one load decides both.
    phase: AtomicU8,
    timeline_start: OnceLock<Instant>,
    ready: AtomicUsize,
    merged: Mutex<Window>,
}

impl Recorder {
    /// A recorder that is not yet recording (warm-up).
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            phase: AtomicU8::new(0),
            timeline_start: OnceLock::new(),
            ready: AtomicUsize::new(0),
            merged: Mutex::new(Window::empty()),
        })
    }

    /// Opens or closes the measured window.
    pub fn set_recording(&self, on: bool) {
        if on {
            self.phase.fetch_or(WINDOW, Ordering::AcqRel);
        } else {
            self.phase.fetch_and(!WINDOW, Ordering::AcqRel);
        }
    }

    /// Starts the timeline (at the warm-up's start) and returns its second 0; a second call keeps
    /// the first start. Call before opening the window, so every window request is in it.
    pub fn start_timeline(&self) -> Instant {
        let start = *self.timeline_start.get_or_init(Instant::now);
        self.phase.fetch_or(TIMELINE, Ordering::AcqRel);
        start
    }

    /// Stops the timeline; call after closing the window, so its last second ends there.
    pub fn stop_timeline(&self) {
        self.phase.fetch_and(!TIMELINE, Ordering::AcqRel);
    }

    /// Called by a user once it has logged in and is about to loop.
    pub fn user_ready(&self) {
        self.ready.fetch_add(1, Ordering::AcqRel);
    }

    /// Users that are logged in and looping; warm-up starts when all are.
    pub fn ready(&self) -> usize {
        self.ready.load(Ordering::Acquire)
    }

    /// A fresh per-user recording.
    pub fn user(&self) -> UserRecording {
        UserRecording::new()
    }

    /// Records one request completed now: in the timeline if it runs, in the window if it is open.
    pub fn record(&self, user: &mut UserRecording, status: u16, micros: u64) {
        self.record_at(user, status, micros, Instant::now());
    }

    /// [`Recorder::record`] for a request completed at `at`.
    fn record_at(&self, user: &mut UserRecording, status: u16, micros: u64, at: Instant) {
        let phase = self.phase.load(Ordering::Acquire);
        if phase & TIMELINE != 0 {
            let since = self.timeline_start.get().and_then(|s| at.checked_duration_since(*s));
            if let Some(t) = since.and_then(|d| usize::try_from(d.as_secs()).ok()) {
                user.second(t).record(status, micros);
            }
        }
        if phase & WINDOW == 0 {
            return;
        }
        let v = micros.max(1);
        if v > MAX_US {
            user.saturated += 1;
        }
        // Clamped into range, so recording cannot fail.
        let _ = user.histogram.record(v.min(MAX_US));
        *user.statuses.entry(status).or_default() += 1;
    }

    /// Folds a stopping user's recording into the shared window.
    pub fn merge(&self, user: &UserRecording) {
        let mut w = self.merged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Same bounds on both sides: adding cannot fail.
        let _ = w.histogram.add(&user.histogram);
        for (status, n) in &user.statuses {
            *w.statuses.entry(*status).or_default() += n;
        }
        w.saturated += user.saturated;
        if w.seconds.len() < user.seconds.len() {
            w.seconds.resize_with(user.seconds.len(), SecondBucket::new);
        }
        for (into, from) in w.seconds.iter_mut().zip(&user.seconds) {
            into.add(from);
        }
    }

    /// Takes the merged window, leaving an empty one.
    pub fn take(&self) -> Window {
        let mut w = self.merged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *w, Window::empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_the_open_window_is_recorded_and_users_merge_exactly() {
        let r = Recorder::new();
        let mut a = r.user();
        let mut b = r.user();
        r.record(&mut a, 200, 50);
        r.set_recording(true);
        r.record(&mut a, 200, 100);
        r.record(&mut b, 401, 0);
        r.record(&mut b, 200, MAX_US * 2);
        r.set_recording(false);
        r.record(&mut b, 200, 10);
        r.merge(&a);
        r.merge(&b);
        let w = r.take();
        assert_eq!(w.histogram.len(), 3);
        assert_eq!(w.statuses.values().sum::<u64>(), w.histogram.len());
        assert_eq!(w.statuses[&200], 2);
        assert_eq!(w.saturated, 1);
        assert_eq!(w.histogram.min(), 1);
        assert_eq!(r.take().histogram.len(), 0);
    }

    #[test]
    fn the_timeline_counts_every_request_from_its_start_to_its_stop_by_second() {
        let r = Recorder::new();
        let (mut a, mut b) = (r.user(), r.user());
        r.record(&mut a, 200, 10);
        let start = r.start_timeline();
        assert_eq!(r.start_timeline(), start, "a second start keeps the first");
        let at = |s: f64| start + Duration::from_secs_f64(s);
        r.record_at(&mut a, 200, 100, at(0.1));
        r.record_at(&mut a, 500, 300, at(0.7));
        r.record_at(&mut b, 200, 200, at(0.9));
        r.set_recording(true);
        r.record_at(&mut b, TRANSPORT_ERROR, 5_000, at(2.5));
        r.record_at(&mut a, 200, MAX_US * 2, at(2.6));
        r.set_recording(false);
        r.stop_timeline();
        r.record_at(&mut a, 200, 10, at(2.7));
        r.merge(&a);
        r.merge(&b);
        let w = r.take();
        let requests: Vec<u64> = w.seconds.iter().map(|s| s.requests).collect();
        let errors: Vec<u64> = w.seconds.iter().map(|s| s.errors).collect();
        assert_eq!(requests, [3, 0, 2], "second 1 had nothing, and nothing before the start or after the stop");
        assert_eq!(errors, [1, 0, 1], "a 500 and a transport error");
        assert_eq!(w.seconds.iter().map(|s| s.histogram.len()).sum::<u64>(), 5);
        assert_eq!(w.histogram.len(), 2, "the window histogram is unchanged by the timeline");
        let s0 = &w.seconds[0].histogram;
        assert!(s0.value_at_quantile(0.5) <= s0.value_at_quantile(0.99));
        assert!(w.seconds[2].histogram.max() >= MAX_US, "clamped at the ceiling, not dropped");
    }

    #[test]
    fn without_a_start_the_timeline_stays_empty() {
        let r = Recorder::new();
        let mut a = r.user();
        r.set_recording(true);
        r.record(&mut a, 200, 100);
        r.merge(&a);
        let w = r.take();
        assert_eq!(w.histogram.len(), 1);
        assert!(w.seconds.is_empty());
    }
}
