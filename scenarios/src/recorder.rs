//! Microsecond latency and status recording: per-user histograms, merged once per user.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;

/// Highest latency tracked: 60 s in microseconds; slower requests are clamped into the top bucket
/// and counted in `saturated` so the report can say so.
pub const MAX_US: u64 = 60_000_000;

/// Status key for a request that got no HTTP response at all.
pub const TRANSPORT_ERROR: u16 = 0;

/// One user's private recording; no synchronisation on the hot path.
#[derive(Clone)]
pub struct UserRecording {
    pub histogram: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub saturated: u64,
}

impl UserRecording {
    fn new() -> UserRecording {
        UserRecording { histogram: new_histogram(), statuses: BTreeMap::new(), saturated: 0 }
    }
}

/// 1 µs .. 60 s at 3 significant digits: the resolution the differences under study need.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("constant histogram bounds are valid")
}

/// What a measured window recorded across all users.
pub struct Window {
    pub histogram: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub saturated: u64,
}

/// Shared by all users of one run: the on/off switch of the measured window and the merged result.
pub struct Recorder {
    recording: AtomicBool,
    ready: AtomicUsize,
    merged: Mutex<Window>,
}

impl Recorder {
    /// A recorder that is not yet recording (warm-up).
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            recording: AtomicBool::new(false),
            ready: AtomicUsize::new(0),
            merged: Mutex::new(Window { histogram: new_histogram(), statuses: BTreeMap::new(), saturated: 0 }),
        })
    }

    /// Opens or closes the measured window.
    pub fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::Release);
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

    /// Records one request if the window is open.
    pub fn record(&self, user: &mut UserRecording, status: u16, micros: u64) {
        if !self.recording.load(Ordering::Acquire) {
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
    }

    /// Takes the merged window, leaving an empty one.
    pub fn take(&self) -> Window {
        let mut w = self.merged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *w, Window { histogram: new_histogram(), statuses: BTreeMap::new(), saturated: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
