//! Refresh racing revocation, on every store: a refresh (session id rotation, refresh-token
//! rotation) in flight while revoke-all, logout, a role change or a refresh-token replay lands must
//! never leave a credential alive (or a session with the old role) once both have answered.
//!
//! Each test runs many short rounds against an in-process `Auth` (strategy plus real store, no HTTP),
//! the two operations started together on a multi-threaded runtime with a varying head start.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use authbench_targets::contract;
use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::strategy::Auth;
use authbench_targets::users::Role;

/// Rounds per test: enough to land the second operation inside the first one's store calls many
/// times over, few enough that every test takes well under a few seconds.
const ROUNDS: u64 = 200;

/// The memory store's windows are sub-microsecond and its rounds cheap: more of them.
fn rounds(store: StoreKind) -> u64 {
    if store == StoreKind::Memory {
        5 * ROUNDS
    } else {
        ROUNDS
    }
}

/// What races the refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rival {
    /// Revoke-all for the user ("log out everywhere").
    RevokeAll,
    /// Logout with the very credential being refreshed.
    Logout,
    /// Session only: the user's role changes (alternately to admin and back).
    RoleChange,
    /// Hybrid only: the refresh token the racing refresh replaced is replayed (reuse detection).
    Replay,
}

/// Starts a refresh and its rival at the same instant on two threads (each spins until the other has
/// arrived), then holds one of them back by a varying fraction of the time a refresh takes, so over the
/// rounds the rival lands at every point of the refresh's store calls, even the sub-microsecond ones
/// of the memory store.
struct Racer {
    /// How long an uncontended refresh takes through this same path; it scales the head starts.
    typical: Duration,
}

impl Racer {
    /// Runs `samples` uncontended refreshes through the same threads (each future logs in, then
    /// times its refresh alone) and keeps the median, so head starts scale to a refresh that works.
    async fn calibrated<F, Fut>(samples: usize, mut timed_refresh: F) -> Racer
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Duration> + Send + 'static,
    {
        let mut racer = Racer { typical: Duration::ZERO };
        let mut took = Vec::with_capacity(samples);
        for _ in 0..samples {
            let (t, _, ()) = racer.run(true, Duration::ZERO, Duration::ZERO, timed_refresh(), async {}).await;
            took.push(t);
        }
        took.sort();
        racer.typical = took[samples / 2];
        racer
    }

    async fn race<A, B>(&mut self, round: u64, refresh: A, rival: B) -> (A::Output, B::Output)
    where
        A: std::future::Future + Send + 'static,
        B: std::future::Future + Send + 'static,
        A::Output: Send + 'static,
        B::Output: Send + 'static,
    {
        // A fraction in [0, 1.5) of a refresh, scrambled so neighbouring rounds differ; odd rounds
        // hold the rival back, even ones the refresh.
        let fraction = (round.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64 / (1u64 << 24) as f64 * 1.5;
        let hold = self.typical.mul_f64(fraction);
        let (hold_refresh, hold_rival) =
            if round.is_multiple_of(2) { (hold, Duration::ZERO) } else { (Duration::ZERO, hold) };
        // On a loaded machine the thread that reaches the start line first tends to lose its CPU
        // while it waits, so which one is spawned first alternates too.
        let (a, _, b) = self.run((round / 2).is_multiple_of(2), hold_refresh, hold_rival, refresh, rival).await;
        (a, b)
    }

    async fn run<A, B>(
        &self,
        refresh_first: bool,
        hold_refresh: Duration,
        hold_rival: Duration,
        refresh: A,
        rival: B,
    ) -> (A::Output, Duration, B::Output)
    where
        A: std::future::Future + Send + 'static,
        B: std::future::Future + Send + 'static,
        A::Output: Send + 'static,
        B::Output: Send + 'static,
    {
        let arrived = Arc::new(AtomicU32::new(0));
        let handle = tokio::runtime::Handle::current();
        let (arrived_b, handle_b) = (Arc::clone(&arrived), handle.clone());
        let a = move || {
            start_line(&arrived, hold_refresh);
            let start = Instant::now();
            let out = handle.block_on(refresh);
            (out, start.elapsed())
        };
        let b = move || {
            start_line(&arrived_b, hold_rival);
            handle_b.block_on(rival)
        };
        let (ta, tb) = if refresh_first {
            let ta = tokio::task::spawn_blocking(a);
            (ta, tokio::task::spawn_blocking(b))
        } else {
            let tb = tokio::task::spawn_blocking(b);
            (tokio::task::spawn_blocking(a), tb)
        };
        let ((a, took), b) = (ta.await.expect("racing thread"), tb.await.expect("racing thread"));
        (a, took, b)
    }
}

/// Spins until both racers have arrived, then `hold` longer.
fn start_line(arrived: &AtomicU32, hold: Duration) {
    arrived.fetch_add(1, Ordering::AcqRel);
    let mut spins = 0u32;
    while arrived.load(Ordering::Acquire) < 2 {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(4096) {
            std::thread::yield_now();
        }
        std::hint::spin_loop();
    }
    let until = Instant::now() + hold;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// One race at a time in this binary: spinning threads of parallel tests would starve each other
/// and blur the timing the races depend on.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Outcome of one kind of race over all its rounds.
struct Tally {
    /// Rounds in which the refresh itself succeeded (the rival landed after or around it).
    refreshed: u64,
    /// Rounds after which a credential still worked (or a session kept the old role).
    survivors: Vec<String>,
    /// How long an uncontended refresh took.
    typical: Duration,
}

async fn login(auth: &Auth, user: u64) -> (String, Option<String>) {
    let g = auth.login(contract::username(user), contract::password(user)).await.expect("login");
    (g.access, g.refresh.map(|(r, _)| r))
}

async fn session_rounds(store: StoreKind, rival: Rival) -> Tally {
    let auth = Arc::new(support::in_process(StrategyKind::Session, store, &[]).await.auth);
    let user = 3;
    let mut racer = Racer::calibrated(9, || {
        let a = Arc::clone(&auth);
        async move {
            let (t, _) = login(&a, user).await;
            let start = Instant::now();
            a.refresh(&t).await.expect("uncontended refresh");
            start.elapsed()
        }
    })
    .await;
    let mut tally = Tally { refreshed: 0, survivors: Vec::new(), typical: racer.typical };
    for round in 0..rounds(store) {
        let (t0, _) = login(&auth, user).await;
        let role = if round.is_multiple_of(2) { Role::Admin } else { Role::User };
        let (a, b, t) = (Arc::clone(&auth), Arc::clone(&auth), t0.clone());
        let refresh = async move { a.refresh(&t).await.ok().map(|g| g.access) };
        let (t1, rival_ok) = match rival {
            Rival::RevokeAll => racer.race(round, refresh, async move { b.revoke_user(user).await.is_ok() }).await,
            Rival::Logout => {
                let t = t0.clone();
                racer.race(round, refresh, async move { b.logout(&t).await.is_ok() }).await
            }
            Rival::RoleChange => racer.race(round, refresh, async move { b.set_role(user, role).await.is_ok() }).await,
            Rival::Replay => unreachable!("sessions have no reuse detection"),
        };
        assert!(rival_ok, "{store} {rival:?} failed");
        tally.refreshed += u64::from(t1.is_some());
        for (name, token) in [("presented", Some(&t0)), ("rotated", t1.as_ref())] {
            let Some(token) = token else { continue };
            match (rival, auth.authenticate(token).await) {
                (Rival::RoleChange, Ok(p)) if p.role != role => {
                    tally.survivors.push(format!("round {round}: {name} session kept role {:?}", p.role))
                }
                (Rival::RoleChange, _) | (_, Err(_)) => {}
                (_, Ok(_)) => tally.survivors.push(format!("round {round}: {name} session still authenticates")),
            }
        }
        if rival == Rival::RoleChange {
            // Leave no session behind for the next round to trip over.
            auth.revoke_user(user).await.expect("revoke");
        }
    }
    tally
}

async fn hybrid_rounds(store: StoreKind, rival: Rival) -> Tally {
    let auth = Arc::new(support::in_process(StrategyKind::Hybrid, store, &[]).await.auth);
    let user = 4;
    let mut racer = Racer::calibrated(9, || {
        let a = Arc::clone(&auth);
        async move {
            let (_, r) = login(&a, user).await;
            let start = Instant::now();
            a.refresh(&r.expect("refresh token")).await.expect("uncontended refresh");
            start.elapsed()
        }
    })
    .await;
    let mut tally = Tally { refreshed: 0, survivors: Vec::new(), typical: racer.typical };
    for round in 0..rounds(store) {
        let (_, first) = login(&auth, user).await;
        let first = first.expect("hybrid login returns a refresh token");
        // For a replay race the family first moves on by one rotation, so `first` is spent.
        let (presented, spent) = if rival == Rival::Replay {
            let g = auth.refresh(&first).await.expect("first rotation");
            (g.refresh.expect("rotated refresh token").0, Some(first))
        } else {
            (first, None)
        };
        let (a, b, r) = (Arc::clone(&auth), Arc::clone(&auth), presented.clone());
        let refresh = async move { a.refresh(&r).await.ok().and_then(|g| g.refresh).map(|(r, _)| r) };
        let (next, rival_ok) = match rival {
            Rival::RevokeAll => racer.race(round, refresh, async move { b.revoke_user(user).await.is_ok() }).await,
            Rival::Logout => {
                let r = presented.clone();
                racer.race(round, refresh, async move { b.logout(&r).await.is_ok() }).await
            }
            Rival::Replay => {
                let r = spent.clone().expect("spent token");
                // The replay is refused either way; what matters is that it takes the family down.
                racer.race(round, refresh, async move { b.refresh(&r).await.is_err() }).await
            }
            Rival::RoleChange => unreachable!("hybrid refresh reads the role from the directory"),
        };
        assert!(rival_ok, "{store} {rival:?} did not do its part");
        tally.refreshed += u64::from(next.is_some());
        // Newest first: presenting an older, spent token would revoke the family and hide a survivor.
        for (name, token) in [("rotated", next.as_ref()), ("presented", Some(&presented))] {
            let Some(token) = token else { continue };
            if auth.refresh(token).await.is_ok() {
                tally.survivors.push(format!("round {round}: {name} refresh token still rotates"));
            }
        }
    }
    tally
}

async fn check(strategy: StrategyKind, store: StoreKind, rival: Rival) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let start = Instant::now();
    let tally = match strategy {
        StrategyKind::Session => session_rounds(store, rival).await,
        StrategyKind::Hybrid => hybrid_rounds(store, rival).await,
        StrategyKind::Jwt | StrategyKind::None => unreachable!("{strategy} keeps no server-side credential to race"),
    };
    eprintln!(
        "races: {strategy} {store} vs {rival:?}: {} rounds in {:?} (a refresh takes {:?}), refresh won {} times, {} survivors",
        rounds(store),
        start.elapsed(),
        tally.typical,
        tally.refreshed,
        tally.survivors.len()
    );
    assert!(
        tally.survivors.is_empty(),
        "{strategy} on {store}, refresh racing {rival:?}: {} of {} rounds left a credential alive: {:?}",
        tally.survivors.len(),
        rounds(store),
        &tally.survivors[..tally.survivors.len().min(5)]
    );
}

macro_rules! races {
    ($($name:ident: $strategy:ident $store:ident $rival:ident;)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                check(StrategyKind::$strategy, StoreKind::$store, Rival::$rival).await;
            }
        )+
    };
}

races! {
    session_refresh_vs_revoke_all_memory: Session Memory RevokeAll;
    session_refresh_vs_revoke_all_postgres: Session Postgres RevokeAll;
    session_refresh_vs_revoke_all_redis: Session Redis RevokeAll;
    session_refresh_vs_revoke_all_redis_cluster: Session RedisCluster RevokeAll;
    session_refresh_vs_logout_memory: Session Memory Logout;
    session_refresh_vs_logout_postgres: Session Postgres Logout;
    session_refresh_vs_logout_redis: Session Redis Logout;
    session_refresh_vs_logout_redis_cluster: Session RedisCluster Logout;
    session_refresh_vs_role_change_memory: Session Memory RoleChange;
    session_refresh_vs_role_change_postgres: Session Postgres RoleChange;
    session_refresh_vs_role_change_redis: Session Redis RoleChange;
    session_refresh_vs_role_change_redis_cluster: Session RedisCluster RoleChange;
    hybrid_refresh_vs_revoke_all_memory: Hybrid Memory RevokeAll;
    hybrid_refresh_vs_revoke_all_postgres: Hybrid Postgres RevokeAll;
    hybrid_refresh_vs_revoke_all_redis: Hybrid Redis RevokeAll;
    hybrid_refresh_vs_revoke_all_redis_cluster: Hybrid RedisCluster RevokeAll;
    hybrid_refresh_vs_logout_memory: Hybrid Memory Logout;
    hybrid_refresh_vs_logout_postgres: Hybrid Postgres Logout;
    hybrid_refresh_vs_logout_redis: Hybrid Redis Logout;
    hybrid_refresh_vs_logout_redis_cluster: Hybrid RedisCluster Logout;
    hybrid_refresh_vs_replay_memory: Hybrid Memory Replay;
    hybrid_refresh_vs_replay_postgres: Hybrid Postgres Replay;
    hybrid_refresh_vs_replay_redis: Hybrid Redis Replay;
    hybrid_refresh_vs_replay_redis_cluster: Hybrid RedisCluster Replay;
}

/// Refreshing every second keeps a login alive only up to its absolute lifetime (3 s here), however
/// short each renewed lifetime (2 s) and however often it is renewed.
async fn absolute_lifetime(strategy: StrategyKind, store: StoreKind) {
    let flags = ["--absolute-ttl", "3s", "--session-ttl", "2s", "--refresh-ttl", "2s"];
    let auth = support::in_process(strategy, store, &flags).await.auth;
    let (access, refresh) = login(&auth, 5).await;
    let mut current = refresh.unwrap_or(access);
    let start = Instant::now();
    let mut renewed = 0;
    let stopped = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match auth.refresh(&current).await {
            Ok(g) => {
                renewed += 1;
                let (token, lifetime) = match g.refresh {
                    Some(refresh) => refresh,
                    None => (g.access, g.expires_in),
                };
                assert!(lifetime <= 3, "{strategy} {store}: renewed for {lifetime} s, past the absolute lifetime");
                current = token;
            }
            Err(_) => break start.elapsed(),
        }
        assert!(
            start.elapsed() < Duration::from_secs(6),
            "{strategy} {store}: still renewing after {renewed} refreshes"
        );
    };
    eprintln!("absolute lifetime: {strategy} {store}: {renewed} refreshes, refused after {stopped:?}");
    assert!(renewed >= 1, "{strategy} {store}: the first refresh, 1 s after login, must work");
    assert!(stopped < Duration::from_millis(4_500), "{strategy} {store}: refused only after {stopped:?}");
}

#[tokio::test]
async fn session_refresh_stops_at_the_absolute_lifetime() {
    futures_util::future::join_all(StoreKind::ALL.iter().map(|&s| absolute_lifetime(StrategyKind::Session, s))).await;
}

#[tokio::test]
async fn hybrid_refresh_stops_at_the_absolute_lifetime() {
    futures_util::future::join_all(StoreKind::ALL.iter().map(|&s| absolute_lifetime(StrategyKind::Hybrid, s))).await;
}

/// Many rotations of one login leave Redis's indexes (per-user and per-family sets) at the size of
/// what is live, not of what was ever issued; a revoke-all empties them. On one server and in a cluster.
#[tokio::test]
async fn redis_indexes_stay_bounded_under_rotation() {
    for (strategy, store) in [StrategyKind::Session, StrategyKind::Hybrid]
        .into_iter()
        .flat_map(|s| [(s, StoreKind::Redis), (s, StoreKind::RedisCluster)])
    {
        let t = support::in_process(strategy, store, &[]).await;
        let (access, refresh) = login(&t.auth, 6).await;
        let mut current = refresh.clone().unwrap_or(access);
        for _ in 0..100 {
            let g = t.auth.refresh(&current).await.expect("rotation");
            current = if refresh.is_some() { g.refresh.expect("refresh token").0 } else { g.access };
        }
        let members = support::redis_index_members(store, &t.namespace).await;
        eprintln!("{store} {strategy}: {members} index members after 100 rotations of one login");
        assert!(members <= 2, "{store} {strategy}: {members} index members for one live login");
        t.auth.revoke_user(6).await.expect("revoke");
        let left = support::redis_index_members(store, &t.namespace).await;
        assert_eq!(left, 0, "{store} {strategy}: indexes left after revoke-all");
    }
}

/// A jwt target with a denylist on `store`, in process.
async fn jwt_with_denylist(store: StoreKind, keys: &std::path::Path) -> Auth {
    use clap::Parser as _;
    let mut args: Vec<String> = ["authbench-target", "--strategy", "jwt", "--denylist", store.as_str()]
        .into_iter()
        .chain(["--seed-users", "4", "--argon2-m-kib", "256", "--argon2-t", "1"])
        .map(String::from)
        .collect();
    args.extend(["--key-dir".into(), keys.display().to_string(), "--namespace".into(), support::unique("d")]);
    if store != StoreKind::Memory {
        args.extend([support::store_url_flag(store), support::store_url(store)]);
    }
    let cfg = authbench_targets::config::Config::try_parse_from(&args).expect("test target configuration");
    let metrics = Arc::new(authbench_targets::metrics::Metrics::new());
    Auth::build(&cfg, metrics, 4).await.expect("building the strategy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jwt_is_refreshed_once_when_refreshes_race_over_a_denylist() {
    let keys = tempfile::tempdir().expect("key directory");
    for &store in StoreKind::ALL {
        let auth = Arc::new(jwt_with_denylist(store, keys.path()).await);
        for round in 0..20 {
            let grant = auth.login(contract::username(1), contract::password(1)).await.expect("login");
            let token = Arc::new(grant.access);
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    let (auth, token) = (Arc::clone(&auth), Arc::clone(&token));
                    tokio::spawn(async move { auth.refresh(&token).await.is_ok() })
                })
                .collect();
            let mut won = 0;
            for r in racers {
                won += u32::from(r.await.expect("refresh task"));
            }
            assert_eq!(won, 1, "{store}, round {round}: one token refreshed {won} times");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_role_changes_leave_sessions_with_the_directorys_role() {
    for &store in StoreKind::ALL {
        let target = Arc::new(support::in_process(StrategyKind::Session, store, &[]).await);
        let (token, _) = login(&target.auth, 1).await;
        for round in 0..50 {
            let changes: Vec<_> = [Role::Admin, Role::User, Role::Admin, Role::User]
                .into_iter()
                .map(|role| {
                    let target = Arc::clone(&target);
                    tokio::spawn(async move { target.auth.set_role(1, role).await.expect("role change") })
                })
                .collect();
            for c in changes {
                c.await.expect("role change task");
            }
            let directory = target.auth.users.get(1).expect("user 1").role();
            let session = target.auth.authenticate(&token).await.expect("session still valid").role;
            assert_eq!(
                session, directory,
                "{store}, round {round}: the session kept a role the directory no longer has"
            );
        }
    }
}

#[tokio::test]
async fn an_earlier_revoke_all_landing_late_does_not_move_the_cut_off_back() {
    for &store in StoreKind::ALL {
        let target = support::in_process(StrategyKind::Session, store, &[]).await;
        let denylist = target.auth.store().expect("a store");
        denylist.deny_user(1, 2_000).await.expect("revoke-all");
        denylist.deny_user(1, 1_000).await.expect("an older revoke-all, late");
        assert!(denylist.is_denied("no-such-jti", 1, 1_500).await.expect("denylist check"), "{store}");
    }
}
