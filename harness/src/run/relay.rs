//! A TCP relay that puts a network round trip between a target and its store.
//!
//! The kernel here has no netem qdisc, so authbench adds the delay itself: `authbench relay`
//! accepts TCP connections, connects each one to the store and forwards both directions with half
//! the round trip added to every chunk, bytes in order, end of stream included. It runs as a
//! process of its own so its CPU is measured as its own component, never charged to the target or
//! the store.
//!
//! Precision: tokio's timers tick in whole milliseconds, so the relay uses std I/O on threads, one
//! per direction of each connection. A direction's thread waits in `ppoll` (nanosecond timeout)
//! for whichever comes first, bytes to read or a little before the next chunk is due (a low
//! estimate of how late its waits wake), and spins the rest, so a chunk leaves within some 10 µs
//! of due. It asks the kernel for 1 ns of timer slack (instead of 50 µs). A chunk is stamped when
//! the thread wakes for it, so the kernel's wake-up (tens of µs on a VM) comes on top, and a loaded
//! machine adds its scheduling delay, as a busy host would. A 200 µs round trip works. Connection
//! setup is not delayed (the targets' pools connect once).
//!
//! CPU: one wake-up to read a chunk and one to write it when due (a reader and a separate writer
//! thread per direction took a third: the hand-over between them); at RTT 0 a chunk is written as
//! soon as it is read.
//!
//! [`serve`] is the process; [`Relay`] is the harness's handle on one.

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Most bytes one read takes; a chunk is what one read returned.
const CHUNK: usize = 64 * 1024;
/// Stack of each forwarding thread; the read buffer lives on the heap.
const STACK: usize = 128 * 1024;
/// Longest a direction wakes before a chunk is due, however late its waits have been waking.
const MAX_EARLY: Duration = Duration::from_micros(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const START_TIMEOUT: Duration = Duration::from_secs(10);
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
const LISTENING: &str = "relay listening on ";

/// Runs the relay process: accepts on `listen`, relays to `upstream` with `rtt` added, prints
/// `relay listening on ADDR` once bound and obeys `rtt DURATION` lines on stdin until stdin closes.
pub fn serve(listen: SocketAddr, upstream: String, rtt: Duration) -> anyhow::Result<()> {
    lower_timer_slack();
    let targets: Arc<[SocketAddr]> = resolve(&upstream)?.into();
    let listener = TcpListener::bind(listen)
        .with_context(|| format!("relay cannot listen on {listen}: pick a free address with --listen"))?;
    let bound = listener.local_addr().context("relay cannot read its own listening address")?;
    let half = Arc::new(AtomicU64::new(half_nanos(rtt)));
    let shared = Arc::clone(&half);
    spawn("relay-accept", move || accept_loop(&listener, &targets, &shared))
        .context("relay cannot start its accepting thread")?;
    say(&format!("{LISTENING}{bound}"))?;
    control(&half)
}

/// Timer slack of 1 ns makes sleeps wake ~35 µs late instead of ~85 µs; threads inherit it from
/// their creator, so this runs before any is spawned. Best effort: without it the relay still works.
fn lower_timer_slack() {
    let _ = std::fs::write("/proc/self/timerslack_ns", "1");
}

fn resolve(upstream: &str) -> anyhow::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = upstream
        .to_socket_addrs()
        .with_context(|| format!("relay cannot resolve upstream {upstream:?}: pass it as HOST:PORT"))?
        .collect();
    anyhow::ensure!(!addrs.is_empty(), "upstream {upstream:?} resolves to no address: pass it as HOST:PORT");
    Ok(addrs)
}

/// One line on stdout, flushed: the parent reads it at once.
fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).context("relay cannot write to stdout (its parent is gone?)")
}

/// Obeys `rtt DURATION` lines until stdin closes (a read error counts as closed).
fn control(half: &AtomicU64) -> anyhow::Result<()> {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let reply = match parse_command(&line) {
            Ok(rtt) => {
                half.store(half_nanos(rtt), Ordering::Relaxed);
                format!("ok rtt {}", format_rtt(rtt))
            }
            Err(why) => format!("err {why}"),
        };
        say(&reply)?;
    }
    Ok(())
}

fn parse_command(line: &str) -> Result<Duration, String> {
    let value = line.trim().strip_prefix("rtt ").ok_or_else(|| format!("{line:?} is not a command: send rtt 2ms"))?;
    parse_rtt(value)
}

/// A round trip like `1ms`, `200us` or `0`.
pub(crate) fn parse_rtt(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?} is not a round trip like 1ms, 200us or 0: {e}"))
}

/// The form `parse_rtt` reads back: `200us`, `1ms 500us`, `0s`.
fn format_rtt(rtt: Duration) -> String {
    humantime::format_duration(rtt).to_string()
}

fn half_nanos(rtt: Duration) -> u64 {
    u64::try_from((rtt / 2).as_nanos()).unwrap_or(u64::MAX)
}

/// Spawns a named thread with a small stack.
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new().name(name.into()).stack_size(STACK).spawn(f).map(drop)
}

fn accept_loop(listener: &TcpListener, upstream: &Arc<[SocketAddr]>, half: &Arc<AtomicU64>) {
    for client in listener.incoming() {
        match client {
            Ok(client) => {
                let (upstream, half) = (Arc::clone(upstream), Arc::clone(half));
                if let Err(e) = spawn("relay-open", move || open(client, &upstream, half)) {
                    eprintln!("relay: cannot start a thread for a connection, dropped it: {e}");
                }
            }
            Err(e) => {
                // Out of descriptors, most likely: wait rather than spin on the error.
                eprintln!("relay: accept failed: {e}; retrying");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Connects a new client to the store and starts both directions; closes the client on failure.
fn open(client: TcpStream, upstream: &[SocketAddr], half: Arc<AtomicU64>) {
    let store = match connect(upstream) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("relay: cannot connect to the store at {upstream:?}: {e}; closed the client connection");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = store.set_nodelay(true);
    let (client, store) = (Arc::new(client), Arc::new(store));
    let there = Direction::new(Arc::clone(&client), Arc::clone(&store));
    let back = Direction::new(store, client);
    for (name, direction) in [("to-store", there), ("to-client", back)] {
        if let Err(e) = pipe(name, direction, Arc::clone(&half)) {
            eprintln!("relay: cannot start the {name} threads, closed the connection: {e}");
        }
    }
}

fn connect(upstream: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::other("no address");
    for addr in upstream {
        match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// One direction of a connection: bytes read from `from` are written to `to` when due.
struct Direction {
    from: Arc<TcpStream>,
    to: Arc<TcpStream>,
}

impl Direction {
    fn new(from: Arc<TcpStream>, to: Arc<TcpStream>) -> Direction {
        Direction { from, to }
    }

    /// An error on either side closes both, as a broken link would.
    fn close(&self) {
        let _ = self.from.shutdown(Shutdown::Both);
        let _ = self.to.shutdown(Shutdown::Both);
    }

    /// Writes a chunk on; the empty chunk (end of stream) half-closes. False once the direction is done.
    fn put(&self, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            let _ = self.to.shutdown(Shutdown::Write);
            return false;
        }
        let written = (&*self.to).write_all(bytes).is_ok();
        if !written {
            self.close();
        }
        written
    }
}

/// Bytes read at one instant and when they are due on the other side; empty means end of stream.
struct Chunk {
    due: Instant,
    bytes: Vec<u8>,
}

/// One direction on its own thread.
fn pipe(name: &str, direction: Direction, half: Arc<AtomicU64>) -> std::io::Result<()> {
    let close = (Arc::clone(&direction.from), Arc::clone(&direction.to));
    spawn(&format!("relay-{name}"), move || Forwarder::new(direction).run(&half)).inspect_err(|_| {
        let _ = close.0.shutdown(Shutdown::Both);
        let _ = close.1.shutdown(Shutdown::Both);
    })
}

/// What waking up found.
enum Woke {
    /// Bytes (or the end of the stream, or an error) are waiting to be read.
    Readable,
    /// The wait ran out: the next chunk is nearly due.
    TimedOut,
}

/// A direction's loop: reads and stamps chunks as they come, writes each when due, on one thread.
struct Forwarder {
    d: Direction,
    queue: VecDeque<Chunk>,
    pacer: Pacer,
    buf: Vec<u8>,
    prev: Option<Instant>,
    /// False once the source ended or failed: only the queue is left to deliver.
    reading: bool,
}

impl Forwarder {
    fn new(d: Direction) -> Forwarder {
        Forwarder {
            d,
            queue: VecDeque::new(),
            pacer: Pacer::default(),
            buf: vec![0u8; CHUNK],
            prev: None,
            reading: true,
        }
    }

    fn run(mut self, half: &AtomicU64) {
        while self.deliver_due() {
            if !self.reading {
                let Some(due) = self.queue.front().map(|c| c.due) else { return };
                self.pacer.wait_until(due);
                continue;
            }
            match self.wait() {
                Ok(Woke::Readable) => {
                    if !self.read(half) {
                        return;
                    }
                }
                Ok(Woke::TimedOut) => {}
                Err(_) => return self.d.close(),
            }
        }
    }

    /// Writes every chunk due now (spinning the last few µs to its due time); false once done.
    fn deliver_due(&mut self) -> bool {
        while let Some(c) = self.queue.front() {
            if c.due > Instant::now() + self.pacer.early {
                break;
            }
            self.pacer.spin_until(c.due);
            let going_on = self.d.put(&c.bytes);
            self.queue.pop_front();
            if !going_on {
                return false;
            }
        }
        true
    }

    /// Waits for bytes, or until a little before the next chunk is due.
    fn wait(&mut self) -> nix::Result<Woke> {
        let aim = self.queue.front().map(|c| c.due.checked_sub(self.pacer.early).unwrap_or(c.due));
        let timeout = aim.map(|a| TimeSpec::from_duration(a.saturating_duration_since(Instant::now())));
        let mut fds = [PollFd::new(self.d.from.as_fd(), PollFlags::POLLIN)];
        let ready = loop {
            match ppoll(&mut fds, timeout, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r?,
            }
        };
        if ready > 0 {
            return Ok(Woke::Readable);
        }
        if let Some(aim) = aim {
            self.pacer.learn(Instant::now().saturating_duration_since(aim));
        }
        Ok(Woke::TimedOut)
    }

    /// Reads what is there and stamps it; due already with nothing queued ahead (RTT 0), writes it
    /// at once. False once the direction is done.
    fn read(&mut self, half: &AtomicU64) -> bool {
        let n = match (&*self.d.from).read(&mut self.buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return true,
            Err(_) => {
                self.d.close();
                return false;
            }
        };
        let now = Instant::now();
        let due = next_deadline(now, Duration::from_nanos(half.load(Ordering::Relaxed)), self.prev);
        self.prev = Some(due);
        self.reading = n > 0;
        if due <= now && self.queue.is_empty() {
            return self.d.put(&self.buf[..n]);
        }
        // The queued copy must outlive `buf`, which the next read reuses: the one copy needed.
        self.queue.push_back(Chunk { due, bytes: self.buf[..n].to_vec() });
        true
    }
}

/// Due time of a chunk read at `now`: `half` later, but never before the previous chunk, so a
/// shorter delay set at run time never reorders bytes.
fn next_deadline(now: Instant, half: Duration, prev: Option<Instant>) -> Instant {
    let own = now + half;
    prev.map_or(own, |p| own.max(p))
}

/// Waits until an instant precisely: sleeps until `early` before it, then spins.
#[derive(Default)]
struct Pacer {
    /// How early to stop sleeping: a low estimate of how late sleeps wake.
    early: Duration,
}

impl Pacer {
    fn wait_until(&mut self, due: Instant) {
        let now = Instant::now();
        if due > now + self.early {
            let aim = due - self.early;
            std::thread::sleep(aim - now);
            self.learn(Instant::now().saturating_duration_since(aim));
        }
        self.spin_until(due);
    }

    /// Spins the last few µs to `due`: a sleep that short would wake late.
    fn spin_until(&self, due: Instant) {
        while Instant::now() < due {
            std::hint::spin_loop();
        }
    }

    /// Quick to come down, slow to go up: `early` settles near the low end of how late sleeps
    /// wake, so the spin stays short and a rare late wake costs a little precision, not CPU.
    fn learn(&mut self, late: Duration) {
        let late = late.min(MAX_EARLY);
        self.early = if late < self.early { (self.early * 3 + late) / 4 } else { (self.early * 31 + late) / 32 };
    }
}

/// The harness's handle on an `authbench relay` process; the process is killed when this drops.
pub struct Relay {
    child: Child,
    stdin: ChildStdin,
    replies: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
    pid: i32,
}

impl Relay {
    /// Starts a relay to `upstream` (host:port) with `rtt` added, run by this same executable.
    pub async fn start(upstream: &str, rtt: Duration) -> anyhow::Result<Relay> {
        let exe = std::env::current_exe().context("cannot find the authbench executable to run a relay")?;
        Relay::start_with(&exe, upstream, rtt).await
    }

    /// Starts a relay run by `exe` (an `authbench` binary), for tests that are not `authbench`.
    pub async fn start_with(exe: &Path, upstream: &str, rtt: Duration) -> anyhow::Result<Relay> {
        let mut child = Command::new(exe)
            .args(["relay", "--upstream", upstream, "--rtt", &format_rtt(rtt)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the relay {}: build authbench or pass its path", exe.display()))?;
        let stdin = child.stdin.take().context("relay stdin was not captured")?;
        let stdout = child.stdout.take().context("relay stdout was not captured")?;
        let mut replies = BufReader::new(stdout).lines();
        let addr = listening_addr(&mut replies).await.with_context(|| format!("relay to {upstream} did not start"))?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).context("relay exited at once (see its stderr)")?;
        Ok(Relay { child, stdin, replies, addr, pid })
    }

    /// Where clients connect instead of the store.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Process id, so the relay's CPU is read from /proc as its own component.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Changes the added round trip (a "slow store" fault); chunks read from now on use it.
    pub async fn set_rtt(&mut self, rtt: Duration) -> anyhow::Result<()> {
        let asked = format_rtt(rtt);
        let line = format!("rtt {asked}\n");
        let sent = self.stdin.write_all(line.as_bytes()).await.and(self.stdin.flush().await);
        sent.context("cannot reach the relay's stdin (did it exit? see its stderr)")?;
        let reply = next_reply(&mut self.replies, ACK_TIMEOUT).await?;
        anyhow::ensure!(reply == format!("ok rtt {asked}"), "relay answered {reply:?} to rtt {asked}");
        Ok(())
    }

    /// `store_url` (redis:// or postgres://) with its host:port replaced by the relay's address.
    pub fn through(&self, store_url: &str) -> anyhow::Result<String> {
        via(store_url, self.addr)
    }

    /// Closes the relay's stdin and waits for it to exit on its own.
    pub async fn stop(self) -> anyhow::Result<()> {
        let Relay { mut child, stdin, .. } = self;
        drop(stdin);
        let status = tokio::time::timeout(ACK_TIMEOUT, child.wait())
            .await
            .context("relay did not exit within 5 s of its stdin closing; killed it")?
            .context("cannot wait for the relay")?;
        anyhow::ensure!(status.success(), "relay exited with {status} (see its stderr)");
        Ok(())
    }
}

async fn listening_addr(replies: &mut Lines<BufReader<ChildStdout>>) -> anyhow::Result<SocketAddr> {
    let line = next_reply(replies, START_TIMEOUT).await?;
    let addr =
        line.strip_prefix(LISTENING).with_context(|| format!("relay printed {line:?} instead of its address"))?;
    addr.parse().with_context(|| format!("relay printed {addr:?}, not an address"))
}

async fn next_reply(replies: &mut Lines<BufReader<ChildStdout>>, within: Duration) -> anyhow::Result<String> {
    match tokio::time::timeout(within, replies.next_line()).await {
        Ok(Ok(Some(line))) => Ok(line),
        Ok(Ok(None)) => anyhow::bail!("relay exited (see its stderr above)"),
        Ok(Err(e)) => Err(e).context("cannot read the relay's stdout"),
        Err(_) => anyhow::bail!("relay gave no answer within {within:?}"),
    }
}

/// Replaces the host:port of a redis:// or postgres:// URL with `addr`, keeping user, password,
/// database and parameters; refuses URLs whose traffic would not go to that host:port.
fn via(url: &str, addr: SocketAddr) -> anyhow::Result<String> {
    let shown = authbench_targets::config::redact(url);
    let (scheme, rest) = url.split_once("://").with_context(|| format!("{shown} is not a URL"))?;
    anyhow::ensure!(
        matches!(scheme, "redis" | "rediss" | "postgres" | "postgresql"),
        "{shown}: the relay rewrites redis:// and postgres:// URLs only"
    );
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host_at = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_at..];
    anyhow::ensure!(!host.is_empty() && !host.contains(','), "{shown}: name exactly one host:port to relay to");
    let query = tail.split_once('?').map_or("", |(_, q)| q);
    let overrides = query.split('&').any(|p| ["host=", "hostaddr=", "port="].iter().any(|k| p.starts_with(k)));
    anyhow::ensure!(!overrides, "{shown}: drop the host/port parameters so the connection goes through the relay");
    Ok(format!("{scheme}://{}{addr}{tail}", &authority[..host_at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_addr() -> SocketAddr {
        "127.0.0.1:40001".parse().unwrap()
    }

    #[test]
    fn redis_urls_keep_everything_but_the_host() {
        let a = relay_addr();
        assert_eq!(via("redis://127.0.0.1:6379", a).unwrap(), "redis://127.0.0.1:40001");
        assert_eq!(via("redis://cache:6379/2", a).unwrap(), "redis://127.0.0.1:40001/2");
        assert_eq!(via("redis://:s3cr@t@cache:6379/0", a).unwrap(), "redis://:s3cr@t@127.0.0.1:40001/0");
        assert_eq!(via("rediss://user:pw@[::1]:6380", a).unwrap(), "rediss://user:pw@127.0.0.1:40001");
    }

    #[test]
    fn postgres_urls_keep_everything_but_the_host() {
        let a = relay_addr();
        assert_eq!(
            via("postgres://authbench@127.0.0.1:5432/postgres", a).unwrap(),
            "postgres://authbench@127.0.0.1:40001/postgres"
        );
        assert_eq!(
            via("postgresql://u:p%40ss@db.example:5433/app?sslmode=disable", a).unwrap(),
            "postgresql://u:p%40ss@127.0.0.1:40001/app?sslmode=disable"
        );
    }

    #[test]
    fn urls_the_relay_cannot_carry_are_refused_without_their_password() {
        let a = relay_addr();
        for url in [
            "mysql://u:hunter2@db:3306/x",
            "postgres://u:hunter2@/db",
            "postgres://u:hunter2@h1:5432,h2:5432/db",
            "postgres://u:hunter2@db:5432/app?host=/run/postgresql",
            "127.0.0.1:6379",
        ] {
            let err = format!("{:#}", via(url, a).unwrap_err());
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_shorter_delay_never_reorders_chunks() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let first = next_deadline(t0, ms(10), None);
        assert_eq!(first, t0 + ms(10));
        // Read 1 ms later with the delay cut to 1 ms: it waits for the chunk before it.
        let second = next_deadline(t0 + ms(1), ms(1), Some(first));
        assert_eq!(second, first);
        // Read later still: its own due time wins again.
        let third = next_deadline(t0 + ms(20), ms(1), Some(second));
        assert_eq!(third, t0 + ms(21));
        assert!(first <= second && second <= third);
    }

    #[test]
    fn round_trips_parse_and_format_back() {
        for (text, want) in [("0", 0), ("200us", 200), ("1ms", 1000), ("1ms 500us", 1500), ("0s", 0)] {
            let rtt = parse_rtt(text).unwrap();
            assert_eq!(rtt, Duration::from_micros(want), "{text}");
            assert_eq!(parse_rtt(&format_rtt(rtt)).unwrap(), rtt);
        }
        assert!(parse_rtt("soon").is_err());
        assert_eq!(parse_command("rtt 20ms").unwrap(), Duration::from_millis(20));
        assert!(parse_command("delay 20ms").unwrap_err().contains("rtt 2ms"));
    }

    #[test]
    fn the_pacer_aims_near_the_low_end_of_late_wakes() {
        let mut pacer = Pacer::default();
        for i in 0..2000 {
            // Sleeps wake 30-39 µs late, one in ten 150 µs late.
            let late = if i % 10 == 9 { 150 } else { 30 + i % 10 };
            pacer.learn(Duration::from_micros(late));
        }
        let early = pacer.early.as_micros();
        assert!((25..=40).contains(&early), "early {early} µs: spins long or wakes late");
    }

    #[test]
    fn the_pacer_never_returns_early() {
        let mut pacer = Pacer::default();
        for _ in 0..50 {
            let due = Instant::now() + Duration::from_micros(300);
            pacer.wait_until(due);
            assert!(Instant::now() >= due);
        }
        assert!(pacer.early <= MAX_EARLY);
    }
}
