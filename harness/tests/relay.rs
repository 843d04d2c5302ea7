//! The `authbench relay` process between real clients and real stores: every round trip pays at
//! least the added RTT (a lower bound; upper bounds would assert timing noise), bytes pass exactly,
//! the delay changes at run time, end of stream propagates and the process never outlives its handle.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use authbench_harness::run::relay::Relay;
use authbench_targets::throwaway::{Postgres, Redis};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_authbench"))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A minimal RESP client over a blocking socket: enough for PING, SET and GET.
struct Resp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Resp {
    fn connect(addr: impl std::net::ToSocketAddrs) -> Resp {
        let writer = TcpStream::connect(addr).expect("connecting to Redis or the relay");
        writer.set_nodelay(true).unwrap();
        writer.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Resp { reader: BufReader::new(writer.try_clone().unwrap()), writer }
    }

    /// Sends one command; returns the reply's payload (status text or bulk string).
    fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).unwrap();
        self.reply()
    }

    fn reply(&mut self) -> Vec<u8> {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        match line.split_at(1) {
            ("+", status) => status.as_bytes().to_vec(),
            ("$", len) => {
                let mut body = vec![0u8; len.parse::<usize>().unwrap() + 2];
                self.reader.read_exact(&mut body).unwrap();
                body.truncate(body.len() - 2);
                body
            }
            _ => panic!("unexpected Redis reply {line:?}"),
        }
    }

    /// How long one PING takes, start to PONG.
    fn timed_ping(&mut self) -> Duration {
        let t = Instant::now();
        assert_eq!(self.call(&[b"PING"]), b"PONG");
        t.elapsed()
    }
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split(['/', '?']).next().unwrap();
    authority.rsplit('@').next().unwrap().to_owned()
}

/// Bytes no compressor or pattern could fake (xorshift).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

#[tokio::test]
async fn redis_through_the_relay_pays_the_rtt_passes_bytes_exactly_and_obeys_a_new_rtt() {
    let redis = Redis::start().expect("redis-server is needed: apt-get install redis-server");
    let mut relay = Relay::start_with(exe(), &host_port(&redis.url()), ms(2)).await.unwrap();
    assert_eq!(host_port(&relay.through(&redis.url()).unwrap()), relay.addr().to_string());
    let mut c = Resp::connect(relay.addr());
    for i in 0..20 {
        let took = c.timed_ping();
        assert!(took >= ms(2), "PING {i} took {took:?}, less than the 2 ms round trip");
    }

    let value = random_bytes(1 << 20);
    assert_eq!(c.call(&[b"SET", b"relay:blob", &value]), b"OK");
    assert!(c.call(&[b"GET", b"relay:blob"]) == value, "1 MiB came back changed through the relay");
    let mut direct = Resp::connect(host_port(&redis.url()));
    assert!(direct.call(&[b"GET", b"relay:blob"]) == value, "1 MiB reached Redis changed");

    relay.set_rtt(ms(6)).await.unwrap();
    for _ in 0..3 {
        let took = c.timed_ping();
        assert!(took >= ms(6), "after set_rtt(6ms) a PING took {took:?}");
    }
    relay.set_rtt(Duration::ZERO).await.unwrap();
    c.timed_ping();
    assert!(Resp::connect(relay.addr()).call(&[b"GET", b"relay:blob"]) == value, "a new connection at RTT 0");
    relay.stop().await.unwrap();
}

#[tokio::test]
async fn postgres_through_the_relay_pays_the_rtt_per_round_trip() {
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap().expect("PostgreSQL is needed");
    let relay = Relay::start_with(exe(), &host_port(&pg.url()), ms(2)).await.unwrap();
    let url = relay.through(&pg.url()).unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(conn);
    for i in 0..10 {
        let t = Instant::now();
        // The simple protocol: one round trip per query.
        client.simple_query("SELECT 1").await.unwrap();
        let took = t.elapsed();
        assert!(took >= ms(2), "SELECT 1 number {i} took {took:?}, less than the 2 ms round trip");
    }
    drop(client);
    driver.await.unwrap().unwrap();
}

/// An upstream that reads to end of stream, answers how many bytes came, then closes.
fn counting_upstream() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(format!("got {}", got.len()).as_bytes()).unwrap();
    });
    (addr, server)
}

#[tokio::test]
async fn end_of_stream_crosses_the_relay_both_ways() {
    let (upstream, server) = counting_upstream();
    let relay = Relay::start_with(exe(), &upstream, ms(1)).await.unwrap();
    let mut c = TcpStream::connect(relay.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(&random_bytes(200_000)).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "got 200000", "the upstream saw the client's end of stream, the client the upstream's");
    server.join().unwrap();
}

/// An upstream that sends every byte back and half-closes when the client does.
fn echo_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::io::copy(&mut &s, &mut &s).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
    });
    addr
}

#[tokio::test]
async fn changing_the_rtt_mid_stream_keeps_every_byte_in_order() {
    let mut relay = Relay::start_with(exe(), &echo_upstream(), ms(6)).await.unwrap();
    let c = TcpStream::connect(relay.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let sent = random_bytes(400 * 1024);
    let (mut w, mut r) = (c.try_clone().unwrap(), c);
    let data = sent.clone();
    let writer = std::thread::spawn(move || {
        for piece in data.chunks(1024) {
            w.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_micros(50));
        }
        w.shutdown(Shutdown::Write).unwrap();
    });
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        got
    });
    for rtt in [0, 3, 0, 6, 1] {
        tokio::time::sleep(ms(4)).await;
        relay.set_rtt(ms(rtt)).await.unwrap();
    }
    writer.join().unwrap();
    let got = tokio::task::spawn_blocking(move || reader.join().unwrap()).await.unwrap();
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "bytes came back reordered or changed");
}

fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

async fn gone_within(pid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    while process_exists(pid) && start.elapsed() < limit {
        tokio::time::sleep(ms(20)).await;
    }
    !process_exists(pid)
}

#[tokio::test]
async fn the_relay_never_outlives_its_handle() {
    let relay = Relay::start_with(exe(), "127.0.0.1:9", ms(1)).await.unwrap();
    let pid = relay.pid();
    assert!(process_exists(pid));
    relay.stop().await.expect("closing stdin ends the relay with success");
    assert!(gone_within(pid, Duration::from_secs(5)).await, "relay {pid} still in /proc after stop");

    let relay = Relay::start_with(exe(), "127.0.0.1:9", ms(1)).await.unwrap();
    let pid = relay.pid();
    drop(relay);
    assert!(gone_within(pid, Duration::from_secs(5)).await, "relay {pid} still in /proc after its handle dropped");
}
