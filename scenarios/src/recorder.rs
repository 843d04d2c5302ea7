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
/// The credential was refused: counted per second, and what makes a client log in again.
pub const UNAUTHORIZED: u16 = 401;
/// The target could not serve (e.g. its store is down): counted per second.
pub const UNAVAILABLE: u16 = 503;

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
    /// Sessions lost in the window: 401s that made the user log in again.
    pub sessions_lost: u64,
    /// Logins in the window that replaced a lost session and succeeded.
    pub relogins: u64,
    /// Logins in the window that replaced a lost session and failed (the next step retries).
    pub relogin_failures: u64,
    /// The timeline: index = whole seconds since the timeline's start.
    pub(crate) seconds: Vec<SecondBucket>,
}

impl UserRecording {
    fn new() -> UserRecording {
        UserRecording {
            histogram: new_histogram(),
            statuses: BTreeMap::new(),
            saturated: 0,
            sessions_lost: 0,
            relogins: 0,
            relogin_failures: 0,
            seconds: Vec::new(),
        }
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

/// One second of the timeline: requests completed in it, how many were errors (and which kind
/// a fault scenario cares about), their latencies.
#[derive(Clone)]
pub struct SecondBucket {
    pub requests: u64,
    /// Non-2xx answers and transport errors (status 0).
    pub errors: u64,
    /// 401 answers: credentials the target no longer accepts.
    pub unauthorized: u64,
    /// 503 answers: the target could not serve, e.g. its store was down.
    pub unavailable: u64,
    /// 401s that made a user log in again, so the timeline shows when sessions were lost.
    pub sessions_lost: u64,
    pub histogram: Histogram<u32>,
}

impl SecondBucket {
    fn new() -> SecondBucket {
        SecondBucket {
            requests: 0,
            errors: 0,
            unauthorized: 0,
            unavailable: 0,
            sessions_lost: 0,
            histogram: new_second_histogram(),
        }
    }

    fn record(&mut self, status: u16, micros: u64) {
        self.requests += 1;
        if !(200..300).contains(&status) {
            self.errors += 1;
        }
        match status {
            UNAUTHORIZED => self.unauthorized += 1,
            UNAVAILABLE => self.unavailable += 1,
            _ => {}
        }
        // Clamped into range, so recording cannot fail.
        let _ = self.histogram.record(micros.clamp(1, MAX_US));
    }

    fn add(&mut self, other: &SecondBucket) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.unauthorized += other.unauthorized;
        self.unavailable += other.unavailable;
        self.sessions_lost += other.sessions_lost;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }
}

/// What a measured window recorded across all users, and the timeline around it.
pub struct Window {
    pub histogram: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub saturated: u64,
    /// Sessions lost in the window: 401s that made a user log in again.
    pub sessions_lost: u64,
    /// Logins in the window that replaced a lost session and succeeded.
    pub relogins: u64,
    /// Logins in the window that replaced a lost session and failed.
    pub relogin_failures: u64,
    /// Every second from the timeline's start to its stop, by completion time; empty when the
    /// timeline never started.
    pub seconds: Vec<SecondBucket>,
}

impl Window {
    fn empty() -> Window {
        Window {
            histogram: new_histogram(),
            statuses: BTreeMap::new(),
            saturated: 0,
            sessions_lost: 0,
            relogins: 0,
            relogin_failures: 0,
            seconds: Vec::new(),
        }
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

    /// The timeline second `at` falls in, if the timeline runs in `phase` and has started by then.
    fn timeline_second(&self, phase: u8, at: Instant) -> Option<usize> {
        if phase & TIMELINE == 0 {
            return None;
        }
        let since = self.timeline_start.get().and_then(|s| at.checked_duration_since(*s))?;
        usize::try_from(since.as_secs()).ok()
    }

    /// [`Recorder::record`] for a request completed at `at`.
    fn record_at(&self, user: &mut UserRecording, status: u16, micros: u64, at: Instant) {
        let phase = self.phase.load(Ordering::Acquire);
        if let Some(t) = self.timeline_second(phase, at) {
            user.second(t).record(status, micros);
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

    /// Records that a 401 just cost a user its session: in the timeline's current second if it
    /// runs, in the window's count if it is open.
    pub fn session_lost(&self, user: &mut UserRecording) {
        self.session_lost_at(user, Instant::now());
    }

    /// [`Recorder::session_lost`] for a session lost at `at`.
    fn session_lost_at(&self, user: &mut UserRecording, at: Instant) {
        let phase = self.phase.load(Ordering::Acquire);
        if let Some(t) = self.timeline_second(phase, at) {
            user.second(t).sessions_lost += 1;
        }
        if phase & WINDOW != 0 {
            user.sessions_lost += 1;
        }
    }

    /// Records a login a user made in place of a scenario step because it had no working session
    /// (after a 401, or after a login that failed), `ok` if it succeeded; counted if the window is open.
    pub fn relogin(&self, user: &mut UserRecording, ok: bool) {
        if self.phase.load(Ordering::Acquire) & WINDOW == 0 {
            return;
        }
        if ok {
            user.relogins += 1;
        } else {
            user.relogin_failures += 1;
        }
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
        w.sessions_lost += user.sessions_lost;
        w.relogins += user.relogins;
        w.relogin_failures += user.relogin_failures;
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
        r.session_lost(&mut a);
        r.relogin(&mut a, true);
        r.set_recording(true);
        r.record(&mut a, 200, 100);
        r.record(&mut b, 401, 0);
        r.session_lost(&mut b);
        r.relogin(&mut b, false);
        r.relogin(&mut b, true);
        r.record(&mut b, 200, MAX_US * 2);
        r.session_lost(&mut a);
        r.relogin(&mut a, true);
        r.set_recording(false);
        r.record(&mut b, 200, 10);
        r.session_lost(&mut b);
        r.relogin(&mut b, false);
        r.merge(&a);
        r.merge(&b);
        let w = r.take();
        assert_eq!(w.histogram.len(), 3);
        assert_eq!(w.statuses.values().sum::<u64>(), w.histogram.len());
        assert_eq!(w.statuses[&200], 2);
        assert_eq!(w.saturated, 1);
        assert_eq!(w.histogram.min(), 1);
        assert_eq!((w.sessions_lost, w.relogins, w.relogin_failures), (2, 2, 1), "both users, window only");
        let empty = r.take();
        assert_eq!(empty.histogram.len(), 0);
        assert_eq!((empty.sessions_lost, empty.relogins, empty.relogin_failures), (0, 0, 0));
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
        r.record_at(&mut b, UNAUTHORIZED, 300, at(2.1));
        r.session_lost_at(&mut b, at(2.1));
        r.set_recording(true);
        r.record_at(&mut b, TRANSPORT_ERROR, 5_000, at(2.5));
        r.record_at(&mut a, 200, MAX_US * 2, at(2.6));
        r.record_at(&mut a, UNAVAILABLE, 400, at(3.1));
        r.record_at(&mut a, UNAUTHORIZED, 400, at(3.2));
        r.session_lost_at(&mut a, at(3.2));
        r.record_at(&mut b, UNAUTHORIZED, 400, at(3.3));
        r.session_lost_at(&mut b, at(3.3));
        r.set_recording(false);
        r.stop_timeline();
        r.record_at(&mut a, 200, 10, at(3.7));
        r.session_lost_at(&mut a, at(3.7));
        r.merge(&a);
        r.merge(&b);
        let w = r.take();
        let per_second = |f: fn(&SecondBucket) -> u64| w.seconds.iter().map(f).collect::<Vec<u64>>();
        assert_eq!(
            per_second(|s| s.requests),
            [3, 0, 3, 3],
            "second 1 had nothing, and nothing before the start or after the stop"
        );
        assert_eq!(per_second(|s| s.errors), [1, 0, 2, 3], "a 500, a 401, a transport error, a 503 and two 401s");
        assert_eq!(per_second(|s| s.unauthorized), [0, 0, 1, 2]);
        assert_eq!(per_second(|s| s.unavailable), [0, 0, 0, 1]);
        assert_eq!(per_second(|s| s.sessions_lost), [0, 0, 1, 2], "in their own second, summed over users");
        assert_eq!(w.sessions_lost, 2, "the one before the window opened is only in the timeline");
        assert_eq!(w.seconds.iter().map(|s| s.histogram.len()).sum::<u64>(), 9);
        assert_eq!(w.histogram.len(), 5, "the window histogram is unchanged by the timeline");
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
