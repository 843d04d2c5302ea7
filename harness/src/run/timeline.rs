//! A case second by second, from the warm-up's start to the window's close: requests, errors and
//! latency from the recorder's per-second buckets, store operations from the target's /metrics
//! read once a second by a [`Sampler`].
//!
//! The sampler's scrapes and the window's edge scrapes take turns on one lock, so each sampler
//! scrape lies wholly before, inside or after the window; the bytes of those inside are known
//! exactly and taken out of the window's byte counts like the edges' own.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authbench_scenarios::recorder::{SecondBucket, Window};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::scrape::{scrape_all, ScrapeAt, Snapshot};
use crate::model::results::{Second, Timeline};

/// How often the target's store-operation counter is read.
const PERIOD: Duration = Duration::from_secs(1);
/// A reading whose scrape started or ended further than this from its whole second is not used:
/// the seconds on either side get no store-operation figure rather than a count over a stretched
/// interval.
const TOLERANCE: Duration = Duration::from_millis(200);

/// Where the sampler stands relative to the measured window.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    WarmUp,
    Window,
    Closed,
}

/// Bytes of the sampler's scrapes that fell inside the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ScrapeBytes {
    /// Their requests, received by the target.
    pub request: u64,
    /// Their responses, sent by the target.
    pub response: u64,
}

/// The target's cumulative store operations, read by a scrape sent and answered between `from`
/// and `to` (since the timeline's start).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    from: Duration,
    to: Duration,
    ops: f64,
}

impl Reading {
    /// The whole second the reading marks, if the scrape lay within [`TOLERANCE`] of one.
    fn boundary(&self) -> Option<u64> {
        let k = ((self.from + self.to) / 2).as_secs_f64().round();
        let off = |d: Duration| (d.as_secs_f64() - k).abs();
        (off(self.from).max(off(self.to)) <= TOLERANCE.as_secs_f64()).then_some(k as u64)
    }
}

/// What the sampler task and the edges share, behind the lock that serialises their scrapes.
struct State {
    phase: Phase,
    readings: Vec<Reading>,
    in_window: ScrapeBytes,
    /// Why a scrape inside the window failed: its bytes, and so the window's, are then unknown.
    failed_in_window: Option<String>,
}

impl State {
    /// Keeps a reading; a scrape inside the window also adds its bytes.
    fn reading(&mut self, from: Duration, s: &Snapshot, to: Duration) {
        self.readings.push(Reading { from, to, ops: s.store_ops_total() });
        if self.phase == Phase::Window {
            self.in_window.request += s.request_len;
            self.in_window.response += s.response_len;
        }
    }
}

/// Reads the target's store-operation counter once a second until the window closes; stopped
/// when dropped.
pub(super) struct Sampler {
    start: Instant,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

/// What the sampler measured.
pub(super) struct Sampled {
    /// From the timeline's start to the window's opening: the warm-up as actually waited.
    pub window_start: Duration,
    readings: Vec<Reading>,
    /// The sampler's scrapes inside the window, to take out of its byte counts.
    pub window_bytes: ScrapeBytes,
}

impl Sampler {
    /// Starts reading the target's /metrics at `start` (the timeline's second 0) and every second after.
    /// Several replicas are read in turn each second and summed.
    pub(super) fn start(at: &[ScrapeAt], control_key: &str, start: Instant) -> Sampler {
        let state = Arc::new(Mutex::new(State {
            phase: Phase::WarmUp,
            readings: Vec::new(),
            in_window: ScrapeBytes::default(),
            failed_in_window: None,
        }));
        let task = tokio::spawn(sample(at.to_vec(), control_key.to_owned(), start, Arc::clone(&state)));
        Sampler { start, state, task }
    }

    /// Runs the opening edge between two of the sampler's scrapes; later scrapes are inside the window.
    pub(super) async fn open<T>(&self, edge: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        let mut s = self.state.lock().await;
        let read = edge.await?;
        s.phase = Phase::Window;
        Ok(read)
    }

    /// Runs `work` between two of the sampler's scrapes, so none of them lands in it (a target
    /// restart, during which a scrape would fail).
    pub(super) async fn pause<T>(&self, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        let _turn = self.state.lock().await;
        work.await
    }

    /// Stops sampling and runs the closing edge; `opened` is when the window opened. Fails when a
    /// scrape inside the window failed, since the window's bytes would then not be exact.
    pub(super) async fn close<T>(
        self,
        opened: Instant,
        edge: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<(T, Sampled)> {
        let mut s = self.state.lock().await;
        s.phase = Phase::Closed;
        let read = edge.await?;
        if let Some(e) = s.failed_in_window.take() {
            anyhow::bail!("a timeline scrape inside the window failed, so its bytes are unknown: {e}");
        }
        let sampled = Sampled {
            window_start: opened.saturating_duration_since(self.start),
            readings: std::mem::take(&mut s.readings),
            window_bytes: s.in_window,
        };
        Ok((read, sampled))
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sampler task: one scrape per whole second under the lock, until the window closes or a
/// scrape fails (the seconds after it then have no store-operation figure).
async fn sample(at: Vec<ScrapeAt>, control_key: String, start: Instant, state: Arc<Mutex<State>>) {
    let mut tick = tokio::time::interval_at(start.into(), PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let mut s = state.lock().await;
        if s.phase == Phase::Closed {
            return;
        }
        let from = start.elapsed();
        match scrape_all(&at, &control_key).await {
            Ok(snapshot) => s.reading(from, &snapshot, start.elapsed()),
            Err(e) => {
                if s.phase == Phase::Window {
                    s.failed_in_window = Some(format!("{e:#}"));
                }
                return;
            }
        }
    }
}

/// Cumulative store operations by whole second, from the readings taken close enough to one.
fn boundaries(readings: &[Reading]) -> BTreeMap<u64, f64> {
    readings.iter().filter_map(|r| Some((r.boundary()?, r.ops))).collect()
}

/// Second `t` from its bucket (None: nothing completed in it) and the store-operation readings.
fn second(t: usize, bucket: Option<&SecondBucket>, boundaries: &BTreeMap<u64, f64>) -> Second {
    let h = bucket.map(|b| &b.histogram).filter(|h| !h.is_empty());
    let k = t as u64;
    Second {
        t_s: u32::try_from(t).unwrap_or(u32::MAX),
        requests: bucket.map_or(0, |b| b.requests),
        errors: bucket.map_or(0, |b| b.errors),
        unauthorized: bucket.map_or(0, |b| b.unauthorized),
        unavailable: bucket.map_or(0, |b| b.unavailable),
        sessions_lost: bucket.map_or(0, |b| b.sessions_lost),
        p50_us: h.map(|h| h.value_at_quantile(0.5)),
        p99_us: h.map(|h| h.value_at_quantile(0.99)),
        // A counter that went down belongs to a restarted target: that second's count is unknown.
        store_ops: boundaries.get(&k).zip(boundaries.get(&(k + 1))).map(|(a, b)| b - a).filter(|d| *d >= 0.0),
    }
}

/// The case's timeline: every second from the warm-up's start to the one the window closed in,
/// a second without requests included as 0 (a stall, not a gap).
pub(super) fn build(w: &Window, sampled: &Sampled, window: Duration) -> Timeline {
    let end = (sampled.window_start + window).as_secs_f64();
    let n = w.seconds.len().max(end.ceil() as usize);
    let ops = boundaries(&sampled.readings);
    Timeline {
        window_start_s: sampled.window_start.as_secs_f64(),
        seconds: (0..n).map(|t| second(t, w.seconds.get(t), &ops)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::scrape::scrape;

    use std::sync::atomic::{AtomicU64, Ordering};

    use authbench_scenarios::recorder::MAX_US;
    use authbench_targets::contract::metric;
    use hdrhistogram::Histogram;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    fn bucket(latencies: &[u64], errors: u64) -> SecondBucket {
        let mut histogram = Histogram::new_with_bounds(1, MAX_US, 2).unwrap();
        for v in latencies {
            histogram.record(*v).unwrap();
        }
        SecondBucket {
            requests: latencies.len() as u64,
            errors,
            unauthorized: 0,
            unavailable: 0,
            sessions_lost: 0,
            histogram,
        }
    }

    fn window(seconds: Vec<SecondBucket>) -> Window {
        Window {
            histogram: authbench_scenarios::recorder::new_histogram(),
            statuses: BTreeMap::new(),
            saturated: 0,
            sessions_lost: 0,
            relogins: 0,
            relogin_failures: 0,
            seconds,
            spent_replayed: 0,
            spent_refused: 0,
        }
    }

    fn sampled(window_start_s: f64, readings: &[(f64, f64, f64)]) -> Sampled {
        Sampled {
            window_start: Duration::from_secs_f64(window_start_s),
            readings: readings
                .iter()
                .map(|(from, to, ops)| Reading {
                    from: Duration::from_secs_f64(*from),
                    to: Duration::from_secs_f64(*to),
                    ops: *ops,
                })
                .collect(),
            window_bytes: ScrapeBytes::default(),
        }
    }

    #[test]
    fn seconds_run_from_zero_to_the_one_the_window_closed_in_and_a_stall_is_zero() {
        let w = window(vec![bucket(&[100, 200, 9_000], 1), bucket(&[], 0), bucket(&[50], 0)]);
        let t = build(&w, &sampled(1.3, &[]), Duration::from_secs_f64(3.4));
        assert_eq!(t.window_start_s, 1.3);
        let ts: Vec<u32> = t.seconds.iter().map(|s| s.t_s).collect();
        assert_eq!(ts, [0, 1, 2, 3, 4], "the window closed at 4.7 s");
        let requests: Vec<u64> = t.seconds.iter().map(|s| s.requests).collect();
        assert_eq!(requests, [3, 0, 1, 0, 0]);
        assert_eq!(t.seconds[0].errors, 1);
        for s in &t.seconds {
            assert_eq!(s.p50_us.is_some(), s.requests > 0, "{s:?}");
            assert!(s.p50_us <= s.p99_us, "{s:?}");
            assert_eq!(s.store_ops, None, "nothing sampled, nothing invented");
        }
        assert!(t.seconds[0].p99_us.unwrap() >= 9_000);
    }

    #[test]
    fn fault_counts_are_carried_into_their_seconds() {
        let mut faulty = bucket(&[100, 200, 300, 400], 3);
        (faulty.unauthorized, faulty.unavailable, faulty.sessions_lost) = (2, 1, 2);
        let w = window(vec![bucket(&[100], 0), faulty]);
        let t = build(&w, &sampled(0.5, &[]), Duration::from_secs_f64(2.0));
        let counts: Vec<(u64, u64, u64)> =
            t.seconds.iter().map(|s| (s.unauthorized, s.unavailable, s.sessions_lost)).collect();
        assert_eq!(counts, [(0, 0, 0), (2, 1, 2), (0, 0, 0)], "a second without a bucket counts none");
    }

    #[test]
    fn store_ops_are_differences_of_readings_taken_at_whole_seconds() {
        let w = window(vec![bucket(&[100], 0); 4]);
        let readings = [
            (0.01, 0.02, 5.0),
            (1.02, 1.03, 15.0),
            (2.01, 2.35, 30.0),
            (3.0, 3.001, 45.0),
            (3.99, 3.995, 50.0),
            (4.6, 4.9, 70.0),
        ];
        let t = build(&w, &sampled(1.0, &readings), Duration::from_secs_f64(3.5));
        let ops: Vec<Option<f64>> = t.seconds.iter().map(|s| s.store_ops).collect();
        // The scrape at 2 s was answered too late to mark it: seconds 1 and 2 have no figure, and
        // the last reading is near no whole second.
        assert_eq!(ops, [Some(10.0), None, None, Some(5.0), None]);
    }

    /// Counts bytes as the target does: a request when read, before its response is rendered; a
    /// response when written, before the connection closes.
    #[derive(Default)]
    struct FakeTarget {
        received: AtomicU64,
        sent: AtomicU64,
        scrapes: AtomicU64,
    }

    impl FakeTarget {
        async fn answer(&self, mut s: TcpStream) {
            let mut request = Vec::new();
            let mut chunk = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                match s.read(&mut chunk).await {
                    Ok(n) if n > 0 => request.extend_from_slice(&chunk[..n]),
                    _ => return,
                }
            }
            let received = self.received.fetch_add(request.len() as u64, Ordering::SeqCst) + request.len() as u64;
            let n = self.scrapes.fetch_add(1, Ordering::SeqCst) + 1;
            let body = format!(
                "{} {received}\n{} {}\n{}{{op=\"session_get\"}} {}\n",
                metric::BYTES_RECEIVED,
                metric::BYTES_SENT,
                self.sent.load(Ordering::SeqCst),
                metric::STORE_OPERATIONS,
                n * 10
            );
            let response =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            s.write_all(response.as_bytes()).await.unwrap();
            self.sent.fetch_add(response.len() as u64, Ordering::SeqCst);
            s.shutdown().await.unwrap();
        }
    }

    async fn serve(listener: TcpListener, fake: Arc<FakeTarget>) {
        while let Ok((s, _)) = listener.accept().await {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move { fake.answer(s).await });
        }
    }

    #[tokio::test]
    async fn scrapes_inside_the_window_are_taken_out_of_its_bytes_exactly() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let fake = Arc::new(FakeTarget::default());
        tokio::spawn(serve(listener, Arc::clone(&fake)));
        let at = ScrapeAt::plain(&addr);
        let sampler = Sampler::start(std::slice::from_ref(&at), "key", Instant::now());
        let before = sampler.open(scrape(&at, "key")).await.unwrap();
        let opened = Instant::now();
        let at_open = fake.scrapes.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(30);
        while fake.scrapes.load(Ordering::SeqCst) == at_open {
            assert!(Instant::now() < deadline, "the sampler never scraped inside the window");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (after, sampled) = sampler.close(opened, scrape(&at, "key")).await.unwrap();
        assert!(sampled.window_bytes.request > 0 && sampled.window_bytes.response > 0);
        // No other traffic: once every scrape's own bytes are out, nothing may remain.
        let received = after.bytes_received - before.bytes_received;
        let sent = after.bytes_sent - before.bytes_sent;
        assert_eq!(received as u64, after.request_len + sampled.window_bytes.request);
        assert_eq!(sent as u64, before.response_len + sampled.window_bytes.response);
        assert!(!sampled.readings.is_empty());
        assert!(sampled.readings.iter().all(|r| r.from <= r.to));
        assert!(sampled.readings.windows(2).all(|r| r[0].to <= r[1].from && r[0].ops < r[1].ops));
        let scrapes = fake.scrapes.load(Ordering::SeqCst);
        tokio::time::sleep(PERIOD * 2).await;
        assert_eq!(fake.scrapes.load(Ordering::SeqCst), scrapes, "no scrape after the window closed");
    }
}
