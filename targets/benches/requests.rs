//! The auth work of one request, end to end through the strategies' own code and against real stores:
//! credential header parsing plus `Auth::authenticate` per configuration (wall time, and the calling
//! thread's CPU time — the figure comparable with a load test's target CPU per request; for store
//! lookups also with 16 requests in flight), one session lookup round trip per store, and one hybrid
//! refresh (rotate + sign) per store.
//!
//! Stores: AUTHBENCH_POSTGRES_URL / AUTHBENCH_REDIS_URL when set, otherwise throwaway servers started
//! the way the tests start them. A store that cannot be had is reported and its benchmarks skipped.
//! Everything runs on one current-thread tokio runtime, so the store clients' work lands on the
//! measured thread.

mod support;

use std::cell::RefCell;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authbench_targets::config::Config;
use authbench_targets::contract;
use authbench_targets::http::credentials::access_credential;
use authbench_targets::metrics::Metrics;
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::strategy::Auth;
use authbench_targets::throwaway;
use authbench_targets::token::alg::Alg;
use authbench_targets::token::unix_now;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};
use clap::Parser;
use criterion::Criterion;
use tokio::runtime::Runtime;

/// Every configuration of the standard profile but its short-TTL variant, as `TargetSpec`s, so
/// their ids are exactly the ones `authbench run` records and reports can join them.
fn setups() -> Vec<TargetSpec> {
    use StoreKind::{Memory, Postgres, Redis};
    let mut v: Vec<TargetSpec> = Alg::ALL.iter().map(|&alg| TargetSpec::jwt(alg)).collect();
    for s in [Memory, Redis, Postgres] {
        v.push(TargetSpec { denylist: Some(s), ..TargetSpec::jwt(Alg::Hs256) });
    }
    for strategy in [StrategyKind::Session, StrategyKind::Hybrid] {
        for s in [Memory, Redis, Postgres] {
            v.push(TargetSpec::stored(strategy, s, Alg::Hs256));
        }
    }
    for alg in [Alg::Rs256, Alg::Es256, Alg::EdDsa] {
        v.push(TargetSpec::stored(StrategyKind::Hybrid, Redis, alg));
    }
    v
}

/// Store URLs; throwaway servers behind them are held by `support::keep_until_exit`.
struct Stores {
    postgres: Option<String>,
    redis: Option<String>,
}

/// The URL in `var`, else a throwaway server of our own; neither is a loud skip, never a silent one.
fn store<S: Send + 'static>(
    name: &str,
    var: &str,
    start: impl FnOnce() -> Result<S, throwaway::ServiceError>,
    url: impl Fn(&S) -> String,
) -> Option<String> {
    if let Ok(given) = std::env::var(var) {
        return Some(given);
    }
    match start() {
        Ok(server) => {
            let u = url(&server);
            support::keep_until_exit(server);
            Some(u)
        }
        Err(e) => {
            eprintln!("requests bench: SKIPPING every {name} benchmark: {e}; or set {var} to a running server");
            None
        }
    }
}

impl Stores {
    fn provision() -> Stores {
        let postgres =
            store("PostgreSQL", "AUTHBENCH_POSTGRES_URL", throwaway::Postgres::start, throwaway::Postgres::url);
        let redis = store("Redis", "AUTHBENCH_REDIS_URL", throwaway::Redis::start, throwaway::Redis::url);
        Stores { postgres, redis }
    }

    fn url(&self, kind: StoreKind) -> Option<Option<&str>> {
        match kind {
            StoreKind::Memory => Some(None),
            StoreKind::Postgres => self.postgres.as_deref().map(Some),
            StoreKind::Redis => self.redis.as_deref().map(Some),
            // Not among the setups: a cluster's lookup is a single-server lookup plus routing.
            StoreKind::RedisCluster => None,
        }
    }
}

/// A built strategy with a user logged in: the access credential as a request header, and the
/// refresh token for hybrid.
struct Ready {
    auth: Auth,
    headers: HeaderMap,
    access: String,
    refresh: Option<String>,
}

async fn ready(setup: &TargetSpec, stores: &Stores, keys: &Path) -> Option<Ready> {
    let mut args: Vec<String> = vec!["authbench-target".into()];
    args.extend(["--key-dir".into(), keys.display().to_string(), "--seed-users".into(), "2".into()]);
    // Login is not measured here; a cheap password hash keeps setup fast.
    args.extend(["--argon2-m-kib", "1024", "--argon2-t", "1"].map(String::from));
    args.extend(["--namespace".into(), format!("bench_{}", std::process::id())]);
    if let Some(kind) = setup.needed_store() {
        if let Some(url) = stores.url(kind)? {
            args.extend([format!("--{kind}-url"), url.to_owned()]);
        }
    }
    let mut cfg = Config::try_parse_from(&args).expect("benchmark configuration");
    cfg.spec = *setup;
    let auth = Auth::build(&cfg, Arc::new(Metrics::new()), 1).await.expect("building the strategy");
    let grant = auth.login(contract::username(1), contract::password(1)).await.expect("logging in");
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {}", grant.access)).expect("header value");
    headers.insert(AUTHORIZATION, bearer);
    Some(Ready { auth, headers, access: grant.access, refresh: grant.refresh.map(|(r, _)| r) })
}

/// CPU time the calling thread has used: its user and system time, from the kernel.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on every Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

async fn authenticate(r: &Ready) -> u64 {
    let credential = access_credential(&r.headers, Transport::Bearer).expect("credential header");
    r.auth.authenticate(credential).await.expect("a valid credential must authenticate").id
}

fn request_auth(c: &mut Criterion, rt: &Runtime, id: &str, r: &Ready) {
    assert_eq!(rt.block_on(authenticate(r)), 1, "{id}: the logged-in user must come back");
    c.benchmark_group("request_auth").bench_function(id, |b| b.to_async(rt).iter(|| authenticate(r)));
    c.benchmark_group("request_auth_cpu").bench_function(id, |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let start = thread_cpu();
            for _ in 0..iters {
                black_box(authenticate(r).await);
            }
            thread_cpu() - start
        })
    });
}

/// Requests in flight for the concurrent measurement: about what each of a loaded target's worker
/// threads juggles in the standard profile (32 closed-loop users, 2 workers).
const IN_FLIGHT: u64 = 16;

/// CPU per request with IN_FLIGHT lookups outstanding, so the store client batches writes and wakes
/// once for many answers, as it does under load.
fn request_auth_in_flight(c: &mut Criterion, rt: &Runtime, id: &str, r: &Ready) {
    c.benchmark_group("request_auth_cpu_16").bench_function(id, |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let start = thread_cpu();
            let mut left = iters;
            while left > 0 {
                let n = left.min(IN_FLIGHT);
                black_box(futures_util::future::join_all((0..n).map(|_| authenticate(r))).await);
                left -= n;
            }
            thread_cpu() - start
        })
    });
}

fn session_lookup(c: &mut Criterion, rt: &Runtime, store: &str, r: &Ready) {
    let Some(s) = r.auth.store() else { return };
    let hash = s.hash_token(&r.access);
    let now = unix_now();
    let found = rt.block_on(s.get_session(&hash, now)).expect("session lookup");
    assert!(found.is_some(), "{store}: the logged-in session must be found");
    c.benchmark_group("session_lookup").bench_function(store, |b| b.to_async(rt).iter(|| s.get_session(&hash, now)));
}

fn hybrid_refresh(c: &mut Criterion, rt: &Runtime, store: &str, r: &Ready) {
    // Each refresh spends the token it presents, so the chain carries the newest one forward.
    let current = RefCell::new(r.refresh.clone().expect("hybrid login returns a refresh token"));
    c.benchmark_group("hybrid_refresh").bench_function(store, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let current = &current;
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let presented = current.take();
                    let grant = r.auth.refresh(&presented).await.expect("rotating a live refresh token");
                    *current.borrow_mut() = grant.refresh.expect("a rotated refresh token").0;
                }
                start.elapsed()
            }
        })
    });
}

fn main() {
    support::release_on_interrupt("requests");
    let keys = support::key_dir("requests");
    let stores = Stores::provision();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let mut c = support::criterion();
    for setup in setups() {
        let id = setup.id();
        let Some(r) = rt.block_on(ready(&setup, &stores, &keys)) else {
            eprintln!("requests bench: skipped {id}: its store is not available (see above)");
            continue;
        };
        request_auth(&mut c, &rt, &id, &r);
        let remote = matches!(setup.needed_store(), Some(StoreKind::Redis | StoreKind::Postgres));
        if remote && setup.strategy != StrategyKind::Hybrid {
            request_auth_in_flight(&mut c, &rt, &id, &r);
        }
        match (setup.strategy, setup.store) {
            (StrategyKind::Session, Some(store)) => session_lookup(&mut c, &rt, store.as_str(), &r),
            (StrategyKind::Hybrid, Some(store)) if setup.alg == Alg::Hs256 => {
                hybrid_refresh(&mut c, &rt, store.as_str(), &r)
            }
            (StrategyKind::Jwt | StrategyKind::Session | StrategyKind::Hybrid | StrategyKind::None, _) => {}
        }
    }
    c.final_summary();
    support::release();
}
