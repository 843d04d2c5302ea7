//! Microsecond latency and status recording, and a per-second timeline from the start of the
//! warm-up. With few users each keeps a private tally, merged once when it stops (no lock on the
//! hot path); with many (a population of thousands) users share a few mutexed shards instead, so
//! memory stays flat: a private tally costs ~140 KB plus ~10 KB per timeline second.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
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

/// Users above this many record into shared shards instead of private tallies.
pub const SHARED_ABOVE_USERS: usize = 256;
/// Shards of a shared recorder: enough that users rarely wait on one another's lock.
const SHARDS: usize = 16;

/// Where one user's requests are counted: a private tally, or the shared shard it was given.
#[derive(Clone)]
pub struct UserRecording(Slot);

#[derive(Clone)]
enum Slot {
    Own(Box<Window>),
    Shard(usize),
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
#[derive(Clone)]
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
    /// Spent refresh tokens presented again when the refresh scenario stopped, and how many of
    /// them the target refused (after the window: counted whenever it happens).
    pub spent_replayed: u64,
    pub spent_refused: u64,
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
            spent_replayed: 0,
            spent_refused: 0,
        }
    }

    /// The bucket of second `t`, created (with any seconds before it) on first use.
    fn second(&mut self, t: usize) -> &mut SecondBucket {
        if self.seconds.len() <= t {
            self.seconds.resize_with(t + 1, SecondBucket::new);
        }
        &mut self.seconds[t]
    }

    /// One request: in timeline second `second` if the timeline runs, in the window if `window`.
    fn record(&mut self, second: Option<usize>, window: bool, status: u16, micros: u64) {
        if let Some(t) = second {
            self.second(t).record(status, micros);
        }
        if !window {
            return;
        }
        let v = micros.max(1);
        if v > MAX_US {
            self.saturated += 1;
        }
        // Clamped into range, so recording cannot fail.
        let _ = self.histogram.record(v.min(MAX_US));
        *self.statuses.entry(status).or_default() += 1;
    }

    /// Adds another tally: every count, histogram and second.
    fn add(&mut self, other: &Window) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        self.saturated += other.saturated;
        self.sessions_lost += other.sessions_lost;
        self.relogins += other.relogins;
        self.relogin_failures += other.relogin_failures;
        if self.seconds.len() < other.seconds.len() {
            self.seconds.resize_with(other.seconds.len(), SecondBucket::new);
        }
        for (into, from) in self.seconds.iter_mut().zip(&other.seconds) {
            into.add(from);
        }
        self.spent_replayed += other.spent_replayed;
        self.spent_refused += other.spent_refused;
    }
}

/// A mutex's value even if a panicking user poisoned it: counts stay usable.
fn lock(m: &Mutex<Window>) -> std::sync::MutexGuard<'_, Window> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shared by all users of one run: the on/off switches of the measured window and of the
/// timeline, and the merged result.
pub struct Recorder {
    /// [`WINDOW`] and [`TIMELINE`] bits in one word, so one load decides both.
    phase: AtomicU8,
    timeline_start: OnceLock<Instant>,
    ready: AtomicUsize,
    merged: Mutex<Window>,
    /// Shared tallies users record into directly; empty when each user keeps its own.
    shards: Vec<Mutex<Window>>,
    /// The shard the next user gets.
    next_shard: AtomicUsize,
    spent_replayed: AtomicU64,
    spent_refused: AtomicU64,
}

impl Recorder {
    /// A recorder that is not yet recording (warm-up), each user keeping a private tally.
    pub fn new() -> Arc<Recorder> {
        Recorder::with_shards(0)
    }

    /// A recorder for `users` users: private tallies up to [`SHARED_ABOVE_USERS`], shared shards
    /// above, so memory does not grow with the population.
    pub fn for_users(users: usize) -> Arc<Recorder> {
        Recorder::with_shards(if users > SHARED_ABOVE_USERS { SHARDS } else { 0 })
    }

    fn with_shards(shards: usize) -> Arc<Recorder> {
        Arc::new(Recorder {
            phase: AtomicU8::new(0),
            timeline_start: OnceLock::new(),
            ready: AtomicUsize::new(0),
            merged: Mutex::new(Window::empty()),
            shards: (0..shards).map(|_| Mutex::new(Window::empty())).collect(),
            next_shard: AtomicUsize::new(0),
            spent_replayed: AtomicU64::new(0),
            spent_refused: AtomicU64::new(0),
        })
    }

    /// Whether users share shards rather than keep private tallies.
    pub fn is_shared(&self) -> bool {
        !self.shards.is_empty()
    }

    /// Runs `f` on the tally `user` records into: its own, or its shard under the shard's lock.
    fn tally<R>(&self, user: &mut UserRecording, f: impl FnOnce(&mut Window) -> R) -> R {
        match &mut user.0 {
            Slot::Own(w) => f(w),
            Slot::Shard(i) => f(&mut lock(&self.shards[*i])),
        }
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

    /// A fresh per-user recording: a private tally, or the next shard in turn.
    pub fn user(&self) -> UserRecording {
        if self.shards.is_empty() {
            return UserRecording(Slot::Own(Box::new(Window::empty())));
        }
        UserRecording(Slot::Shard(self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len()))
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
        let second = self.timeline_second(phase, at);
        if second.is_none() && phase & WINDOW == 0 {
            return;
        }
        self.tally(user, |w| w.record(second, phase & WINDOW != 0, status, micros));
    }

    /// Records that a 401 just cost a user its session: in the timeline's current second if it
    /// runs, in the window's count if it is open.
    pub fn session_lost(&self, user: &mut UserRecording) {
        self.session_lost_at(user, Instant::now());
    }

    /// [`Recorder::session_lost`] for a session lost at `at`.
    fn session_lost_at(&self, user: &mut UserRecording, at: Instant) {
        let phase = self.phase.load(Ordering::Acquire);
        let second = self.timeline_second(phase, at);
        self.tally(user, |w| {
            if let Some(t) = second {
                w.second(t).sessions_lost += 1;
            }
            if phase & WINDOW != 0 {
                w.sessions_lost += 1;
            }
        });
    }

    /// Records a login a user made in place of a scenario step because it had no working session
    /// (after a 401, or after a login that failed), `ok` if it succeeded; counted if the window is open.
    pub fn relogin(&self, user: &mut UserRecording, ok: bool) {
        if self.phase.load(Ordering::Acquire) & WINDOW == 0 {
            return;
        }
        self.tally(user, |w| {
            if ok {
                w.relogins += 1;
            } else {
                w.relogin_failures += 1;
            }
        });
    }

    /// Records a spent refresh token presented again, `refused` if the target refused it.
    pub fn spent_replayed(&self, refused: bool) {
        self.spent_replayed.fetch_add(1, Ordering::AcqRel);
        if refused {
            self.spent_refused.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Folds a stopping user's private tally into the shared window (a shard needs no folding).
    pub fn merge(&self, user: &UserRecording) {
        if let Slot::Own(own) = &user.0 {
            lock(&self.merged).add(own);
        }
    }

    /// Takes the merged window and every shard, leaving them empty.
    pub fn take(&self) -> Window {
        let mut w = std::mem::replace(&mut *lock(&self.merged), Window::empty());
        for shard in &self.shards {
            w.add(&std::mem::replace(&mut *lock(shard), Window::empty()));
        }
        w.spent_replayed += self.spent_replayed.swap(0, Ordering::AcqRel);
        w.spent_refused += self.spent_refused.swap(0, Ordering::AcqRel);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The same behaviour is expected of private tallies and of shared shards.
    fn both_kinds() -> [Arc<Recorder>; 2] {
        [Recorder::new(), Recorder::with_shards(2)]
    }

    #[test]
    fn only_the_open_window_is_recorded_and_users_merge_exactly() {
        for r in both_kinds() {
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
    }

    #[test]
    fn the_timeline_counts_every_request_from_its_start_to_its_stop_by_second() {
        for r in both_kinds() {
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

    #[test]
    fn large_populations_share_shards_and_small_ones_keep_private_tallies() {
        assert!(!Recorder::for_users(SHARED_ABOVE_USERS).is_shared());
        let r = Recorder::for_users(SHARED_ABOVE_USERS + 1);
        assert!(r.is_shared());
        let mut users: Vec<UserRecording> = (0..1000).map(|_| r.user()).collect();
        assert!(users.iter().all(|u| matches!(u.0, Slot::Shard(i) if i < SHARDS)), "no user owns a tally");
        r.set_recording(true);
        for (i, u) in users.iter_mut().enumerate() {
            r.record(u, if i % 10 == 0 { 500 } else { 200 }, 100 + i as u64);
        }
        users.iter().for_each(|u| r.merge(u));
        let w = r.take();
        assert_eq!(w.histogram.len(), 1000);
        assert_eq!((w.statuses[&200], w.statuses[&500]), (900, 100));
        assert_eq!(r.take().histogram.len(), 0, "taking empties the shards");
    }

    #[test]
    fn spent_token_replays_are_counted_whenever_they_happen() {
        let r = Recorder::new();
        r.spent_replayed(true);
        r.spent_replayed(true);
        r.spent_replayed(false);
        let w = r.take();
        assert_eq!((w.spent_replayed, w.spent_refused), (3, 2));
        assert_eq!(r.take().spent_replayed, 0);
    }
}
