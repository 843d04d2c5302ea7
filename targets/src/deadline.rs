//! Coarse deadlines for the request path: a request's timeout and its store operation's timeout
//! without a timer of the runtime each. tokio keeps every timer in one wheel behind one mutex;
//! with two workers registering and cancelling two timers per request, that mutex cost a session
//! lookup ~8 % of its throughput (measured against the same-shape handler: 0.84 with the timers,
//! 0.90 without). Here a deadline is an entry in one of a few sharded slabs, each behind its own
//! mutex that workers rarely meet, and one task per runtime counts [`TICK`]s and fires the entries
//! that are due: a deadline is kept in ticks (no clock read to set one) and fires at most two
//! ticks late, never early, which a 800 ms or 10 s bound does not notice.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use slab::Slab;

/// How often due deadlines are fired: the most a deadline can be late.
pub const TICK: Duration = Duration::from_millis(10);

/// Shards of the deadline set; each thread registers in its own (threads take them in turn), so
/// a worker's registrations stay in its core's cache and two workers rarely meet at one mutex.
const SHARDS: usize = 8;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

struct Entry {
    /// The tick at which it fires.
    at: u64,
    waker: Waker,
    fired: bool,
}

/// The deadlines of one runtime, fired by a task that lives as long as they do.
#[derive(Debug)]
pub struct Deadlines {
    shards: [Mutex<Slab<Entry>>; SHARDS],
    /// Ticks counted so far; consecutive ticks are at least [`TICK`] apart.
    ticks: AtomicU64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("at", &self.at).field("fired", &self.fired).finish()
    }
}

/// A bounded future outlived its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl Deadlines {
    /// A deadline set and its firing task on the current tokio runtime; the task ends when the
    /// set is dropped.
    pub fn start() -> Arc<Deadlines> {
        let shards = std::array::from_fn(|_| Mutex::new(Slab::new()));
        let d = Arc::new(Deadlines { shards, ticks: AtomicU64::new(0) });
        let weak = Arc::downgrade(&d);
        tokio::spawn(fire_while_alive(weak));
        d
    }

    /// `fut`, or [`Elapsed`] once `limit` has passed since its first poll (give or take a [`TICK`]).
    pub fn bound<F: Future>(&self, limit: Duration, fut: F) -> Bounded<&Deadlines, F> {
        Bounded { deadlines: self, limit, fut, slot: None }
    }

    /// The tick at which a deadline of `limit` set now fires: the next tick comes after now and
    /// each later one at least a tick after the one before, so it fires no earlier than `limit`.
    fn due(&self, limit: Duration) -> u64 {
        let ticks = u64::try_from(limit.as_nanos().div_ceil(TICK.as_nanos())).unwrap_or(u64::MAX);
        self.ticks.load(Ordering::Relaxed).saturating_add(1).saturating_add(ticks)
    }

    /// Counts one tick and fires every entry then due; returns how many fired.
    fn fire(&self) -> usize {
        let now = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fired = 0;
        for shard in &self.shards {
            let Ok(mut entries) = shard.lock() else { continue };
            for (_, e) in entries.iter_mut().filter(|(_, e)| !e.fired && e.at <= now) {
                e.fired = true;
                e.waker.wake_by_ref();
                fired += 1;
            }
        }
        fired
    }
}

async fn fire_while_alive(deadlines: Weak<Deadlines>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match deadlines.upgrade() {
            Some(d) => d.fire(),
            None => return,
        };
    }
}

pin_project_lite::pin_project! {
    /// A future with a deadline; see [`Deadlines::bound`]. `D` reaches the deadlines: a reference
    /// within a request, an `Arc` for a sleep that hyper keeps.
    pub struct Bounded<D: Deref<Target = Deadlines>, F> {
        deadlines: D,
        limit: Duration,
        #[pin]
        fut: F,
        // (shard, key) of its entry once registered.
        slot: Option<(usize, usize)>,
    }

    impl<D: Deref<Target = Deadlines>, F> PinnedDrop for Bounded<D, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some((shard, key)) = this.slot.take() {
                if let Ok(mut entries) = this.deadlines.shards[shard].lock() {
                    entries.try_remove(key);
                }
            }
        }
    }
}

impl<D: Deref<Target = Deadlines>, F: Future> Future for Bounded<D, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let d: &Deadlines = this.deadlines;
        let Some((shard, key)) = *this.slot else {
            let shard = SHARD.with(|s| *s);
            let entry = Entry { at: d.due(*this.limit), waker: cx.waker().clone(), fired: false };
            // A poisoned shard cannot hold the deadline: fail rather than wait unbounded.
            let Ok(mut entries) = d.shards[shard].lock() else { return Poll::Ready(Err(Elapsed)) };
            *this.slot = Some((shard, entries.insert(entry)));
            return Poll::Pending;
        };
        let Ok(mut entries) = d.shards[shard].lock() else { return Poll::Ready(Err(Elapsed)) };
        match entries.get_mut(key) {
            Some(e) if !e.fired => {
                if !e.waker.will_wake(cx.waker()) {
                    e.waker = cx.waker().clone();
                }
                Poll::Pending
            }
            _ => Poll::Ready(Err(Elapsed)),
        }
    }
}

/// hyper's timer (the header-read deadline of every keep-alive request) on these deadlines rather
/// than the runtime's wheel, whose mutex each reset would take.
#[derive(Clone, Debug)]
pub struct Timer(pub Arc<Deadlines>);

/// A sleep on the deadlines: done once its deadline fired.
pub struct Sleep(Bounded<Arc<Deadlines>, std::future::Pending<()>>);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl hyper::rt::Sleep for Sleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, limit: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let d = Arc::clone(&self.0);
        Box::pin(Sleep(Bounded { deadlines: d, limit, fut: std::future::pending(), slot: None }))
    }

    fn sleep_until(&self, at: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep(at.saturating_duration_since(std::time::Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_future_that_finishes_in_time_is_answered_and_leaves_no_entry() {
        let d = Deadlines::start();
        let v = d.bound(Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        });
        assert_eq!(v.await, Ok(7));
        assert!(d.shards.iter().all(|s| s.lock().unwrap().is_empty()));
    }

    #[tokio::test]
    async fn a_future_that_never_finishes_is_cut_off_after_its_limit() {
        let d = Deadlines::start();
        let started = std::time::Instant::now();
        let r = d.bound(Duration::from_millis(50), std::future::pending::<()>()).await;
        assert_eq!(r, Err(Elapsed));
        assert!(started.elapsed() >= Duration::from_millis(50), "never before the limit");
        assert!(d.shards.iter().all(|s| s.lock().unwrap().is_empty()), "the entry went with the future");
    }

    #[tokio::test]
    async fn a_dropped_future_takes_its_entry_with_it() {
        let d = Deadlines::start();
        let mut pending = Box::pin(d.bound(Duration::from_secs(60), std::future::pending::<()>()));
        assert!(pending.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
        assert_eq!(d.shards.iter().map(|s| s.lock().unwrap().len()).sum::<usize>(), 1);
        drop(pending);
        assert!(d.shards.iter().all(|s| s.lock().unwrap().is_empty()));
    }

    #[tokio::test]
    async fn a_deadline_is_the_ticks_of_its_limit_after_the_next_tick() {
        let d = Deadlines::start();
        d.ticks.store(5, Ordering::Relaxed);
        assert_eq!(d.due(TICK * 3), 5 + 1 + 3);
        assert_eq!(d.due(TICK * 3 - Duration::from_nanos(1)), 5 + 1 + 3, "a part tick counts whole");
        assert_eq!(d.due(Duration::ZERO), 5 + 1);
    }

    #[tokio::test]
    async fn hypers_sleep_ends_after_its_duration() {
        use hyper::rt::Timer as _;
        let timer = Timer(Deadlines::start());
        let started = std::time::Instant::now();
        timer.sleep(Duration::from_millis(30)).await;
        assert!(started.elapsed() >= Duration::from_millis(30));
        let mut s = timer.sleep_until(std::time::Instant::now() + Duration::from_secs(60));
        assert!(s.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
        timer.reset(&mut s, std::time::Instant::now());
        s.await;
    }

    #[tokio::test]
    async fn the_firing_task_ends_with_the_deadlines() {
        let d = Deadlines::start();
        let weak = Arc::downgrade(&d);
        drop(d);
        tokio::time::sleep(TICK * 3).await;
        assert!(weak.upgrade().is_none());
    }
}
