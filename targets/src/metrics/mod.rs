//! Prometheus counters the harness scrapes before and after each measured window; the cells the
//! request path adds to (sharded per thread) are in `cells`.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::contract::route;

mod cells;
mod process;
pub use cells::{Count, Latency, Seconds};
pub use process::ProcessReading;

/// Labels of `authbench_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub status: u16,
}

/// Labels of `authbench_auth_failures_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

/// Labels of the store operation metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub op: &'static str,
}

/// Labels of `authbench_tls_handshakes_total`: the key exchange group, which decides most of a
/// handshake's size.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    pub group: &'static str,
}

/// Labels of `authbench_tls_handshake_bytes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    pub direction: &'static str,
}

/// Statuses whose request counters are kept in lock-free slots; others go through the family.
const HOT_STATUSES: [u16; 6] = [200, 204, 401, 403, 429, 503];

/// Store operations whose counters are kept in lock-free slots (every one the store layer names).
const HOT_OPS: [&str; 15] = [
    "session_get",
    "session_put",
    "session_rotate",
    "session_delete",
    "session_revoke_user",
    "session_set_role",
    "session_seed",
    "refresh_put",
    "refresh_rotate",
    "refresh_revoke_family",
    "refresh_revoke_user",
    "refresh_seed",
    "denylist_get",
    "denylist_put",
    "ping",
];

/// Handles to a family's hot label sets, each filled on its first use, so a request reads a slot
/// instead of taking the family's lock and hashing its labels; /metrics still shows only the label
/// sets that occurred.
struct Slots<M>(Box<[OnceLock<M>]>);

impl<M: Clone> Slots<M> {
    fn new(n: usize) -> Slots<M> {
        Slots((0..n).map(|_| OnceLock::new()).collect())
    }

    fn get(&self, i: usize, create: impl FnOnce() -> M) -> Option<&M> {
        self.0.get(i).map(|slot| slot.get_or_init(create))
    }
}

/// Every counter a target exposes; cheap to update from the hot path.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Count>,
    auth_failures: Family<ReasonLabels, Count>,
    store_ops: Family<OpLabels, Count>,
    store_latency: Family<OpLabels, Latency>,
    /// Bytes read from accepted sockets, counted in the stream wrapper.
    pub bytes_received: Count,
    /// Bytes written to accepted sockets, counted in the stream wrapper.
    pub bytes_sent: Count,
    /// Connections accepted.
    pub connections: Count,
    /// Bytes of Authorization and Cookie header lines in requests.
    pub auth_bytes_received: Count,
    /// Bytes of Set-Cookie header lines and token strings in response bodies.
    pub auth_bytes_sent: Count,
    tls_handshakes: Family<GroupLabels, Count>,
    tls_handshake_bytes: Family<DirectionLabels, Count>,
    /// Seconds store connections were checked out of the pool (PostgreSQL, whose connections serve
    /// one query at a time): divided by the window and the pool size, how busy the pool was.
    pool_held_seconds: Seconds,
    hot_requests: Slots<Count>,
    hot_ops: Slots<(Count, Latency)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers all metrics.
    pub fn new() -> Metrics {
        // The process collector's names are the standard unprefixed ones; everything else is ours.
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let registry = root.sub_registry_with_prefix(crate::contract::metric::PREFIX);
        let requests = Family::<RequestLabels, Count>::default();
        let auth_failures = Family::<ReasonLabels, Count>::default();
        let store_ops = Family::<OpLabels, Count>::default();
        let store_latency = Family::<OpLabels, Latency>::default();
        let (bytes_received, bytes_sent, connections) = (Count::default(), Count::default(), Count::default());
        let (auth_bytes_received, auth_bytes_sent) = (Count::default(), Count::default());
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("auth_failures", "Refused requests by reason", auth_failures.clone());
        registry.register("store_operations", "Store operations by kind", store_ops.clone());
        registry.register("store_operation_duration_seconds", "Store operation latency by kind", store_latency.clone());
        registry.register("http_bytes_received", "Bytes read from client sockets", bytes_received.clone());
        registry.register("http_bytes_sent", "Bytes written to client sockets", bytes_sent.clone());
        registry.register("http_connections", "Client connections accepted", connections.clone());
        registry.register(
            "auth_bytes_received",
            "Bytes of Authorization and Cookie header lines received",
            auth_bytes_received.clone(),
        );
        registry.register(
            "auth_bytes_sent",
            "Bytes of Set-Cookie header lines and token strings sent",
            auth_bytes_sent.clone(),
        );
        let tls_handshakes = Family::<GroupLabels, Count>::default();
        let tls_handshake_bytes = Family::<DirectionLabels, Count>::default();
        registry.register("tls_handshakes", "TLS handshakes completed by key exchange group", tls_handshakes.clone());
        registry.register(
            "tls_handshake_bytes",
            "Socket bytes of completed TLS handshakes by direction",
            tls_handshake_bytes.clone(),
        );
        let pool_held_seconds = Seconds::default();
        registry.register(
            "store_pool_held_seconds",
            "Seconds store connections were checked out of the pool",
            pool_held_seconds.clone(),
        );
        Metrics {
            registry: root,
            requests,
            auth_failures,
            store_ops,
            store_latency,
            bytes_received,
            bytes_sent,
            connections,
            auth_bytes_received,
            auth_bytes_sent,
            tls_handshakes,
            tls_handshake_bytes,
            pool_held_seconds,
            hot_requests: Slots::new((route::ALL.len() + 1) * HOT_STATUSES.len()),
            hot_ops: Slots::new(HOT_OPS.len()),
        }
    }

    /// Adds the time one store connection was checked out of the pool.
    pub fn pool_held(&self, took: Duration) {
        self.pool_held_seconds.add(took);
    }

    /// Counts one completed TLS handshake and its socket bytes, apart from the requests that follow.
    pub fn tls_handshake(&self, group: &'static str, received: u64, sent: u64) {
        self.tls_handshakes.get_or_create(&GroupLabels { group }).inc();
        self.tls_handshake_bytes.get_or_create(&DirectionLabels { direction: "received" }).inc_by(received);
        self.tls_handshake_bytes.get_or_create(&DirectionLabels { direction: "sent" }).inc_by(sent);
    }

    /// Counts one served request.
    pub fn request(&self, route: &'static str, status: u16) {
        let labels = || RequestLabels { route, status };
        let r = route::ALL.iter().position(|r| *r == route).unwrap_or(route::ALL.len());
        let hot = HOT_STATUSES.iter().position(|s| *s == status).map(|s| r * HOT_STATUSES.len() + s);
        match hot.and_then(|i| self.hot_requests.get(i, || self.requests.get_or_create(&labels()).clone())) {
            Some(counter) => counter.inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
    }

    /// Counts one refused request.
    pub fn failure(&self, reason: &'static str) {
        self.auth_failures.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts and times one store operation.
    pub fn store_op(&self, op: &'static str, took: Duration) {
        let create = || {
            let labels = OpLabels { op };
            (self.store_ops.get_or_create(&labels).clone(), self.store_latency.get_or_create(&labels).clone())
        };
        match HOT_OPS.iter().position(|o| *o == op).and_then(|i| self.hot_ops.get(i, create)) {
            Some((count, latency)) => {
                count.inc();
                latency.observe(took);
            }
            None => {
                self.store_ops.get_or_create(&OpLabels { op }).inc();
                self.store_latency.get_or_create(&OpLabels { op }).observe(took);
            }
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_the_contract_gives_clients_is_rendered() {
        use crate::contract::metric;
        let m = Metrics::new();
        m.request("/api/me", 200);
        m.failure("expired");
        m.store_op("session_get", Duration::from_micros(30));
        m.tls_handshake("X25519", 300, 900);
        let text = m.render();
        for name in [
            metric::HTTP_REQUESTS,
            metric::AUTH_FAILURES,
            metric::STORE_OPERATIONS,
            metric::STORE_SECONDS_SUM,
            metric::BYTES_RECEIVED,
            metric::BYTES_SENT,
            metric::CONNECTIONS,
            metric::AUTH_BYTES_RECEIVED,
            metric::AUTH_BYTES_SENT,
            metric::TLS_HANDSHAKES,
            metric::TLS_HANDSHAKE_BYTES,
        ] {
            assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing from:\n{text}");
        }
    }

    #[test]
    fn process_cpu_and_memory_are_rendered_unprefixed_and_read_at_scrape_time() {
        use crate::contract::metric;
        let text = Metrics::new().render();
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} in\n{text}"));
            line.rsplit_once(' ').unwrap().1.parse().unwrap()
        };
        let before = ProcessReading::now().unwrap();
        assert!(value(metric::PROCESS_RESIDENT_MEMORY) > 0.0);
        assert!(text.contains("# TYPE process_cpu_seconds counter"), "{text}");
        assert!(text.contains("# TYPE process_resident_memory_bytes gauge"), "{text}");
        assert_eq!(value(metric::PROCESS_START_TIME), before.start_time_seconds, "{text}");
        // Rendered before `before` was read, in whole ticks: never above it.
        assert!(value(metric::PROCESS_CPU_SECONDS) <= before.cpu_seconds, "{text}");
        assert!(!text.contains("authbench_process"), "{text}");
    }

    #[test]
    fn store_latency_buckets_are_cumulative_and_the_sum_exact() {
        let m = Metrics::new();
        for us in [3, 7, 3_000_000] {
            m.store_op("session_get", Duration::from_micros(us));
        }
        let text = m.render();
        let line = |suffix: &str| format!("authbench_store_operation_duration_seconds_{suffix}");
        for (want, why) in [
            (line(r#"bucket{le="0.000005",op="session_get"} 1"#), "3 µs"),
            (line(r#"bucket{le="0.00001",op="session_get"} 2"#), "3 and 7 µs"),
            (line(r#"bucket{le="+Inf",op="session_get"} 3"#), "all"),
            (line(r#"sum{op="session_get"} 3.00001"#), "exact sum"),
            (line(r#"count{op="session_get"} 3"#), "count"),
        ] {
            assert!(text.contains(&want), "{why}: {want} not in\n{text}");
        }
        m.pool_held(Duration::from_millis(1500));
        m.pool_held(Duration::from_nanos(1));
        let held = format!("{} 1.500000001", crate::contract::metric::STORE_POOL_HELD_SECONDS);
        assert!(m.render().contains(&held), "{}", m.render());
    }

    #[test]
    fn renders_counts_with_labels() {
        let m = Metrics::new();
        m.request("/api/me", 200);
        m.request("/api/me", 200);
        m.failure("expired");
        m.store_op("session_get", Duration::from_micros(30));
        m.bytes_received.inc_by(123);
        let text = m.render();
        assert!(text.contains(r#"authbench_http_requests_total{route="/api/me",status="200"} 2"#), "{text}");
        assert!(!text.contains("status=\"401\""), "a status that never occurred is not shown: {text}");
        m.request("other", 418);
        m.request("other", 418);
        assert!(m.render().contains(r#"authbench_http_requests_total{route="other",status="418"} 2"#));
        assert!(text.contains(r#"authbench_auth_failures_total{reason="expired"} 1"#), "{text}");
        assert!(text.contains(r#"authbench_store_operations_total{op="session_get"} 1"#), "{text}");
        assert!(text.contains("authbench_http_bytes_received_total 123"), "{text}");
        assert!(text.contains(r#"authbench_store_operation_duration_seconds_count{op="session_get"} 1"#), "{text}");
        m.tls_handshake("X25519", 300, 900);
        let text = m.render();
        assert!(text.contains(r#"authbench_tls_handshakes_total{group="X25519"} 1"#), "{text}");
        assert!(text.contains(r#"authbench_tls_handshake_bytes_total{direction="received"} 300"#), "{text}");
        assert!(text.contains(r#"authbench_tls_handshake_bytes_total{direction="sent"} 900"#), "{text}");
    }
}
