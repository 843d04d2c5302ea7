//! The security probe against real targets: windows match what each strategy promises.

use std::path::PathBuf;
use std::time::Duration;

use authbench_harness::matrix::TargetSpec;
use authbench_harness::provision::provision;
use authbench_harness::target::{Launch, TargetProcess};

fn spec(strategy: &str, store: Option<&str>, access_ttl: Option<&str>) -> TargetSpec {
    TargetSpec {
        strategy: strategy.into(),
        store: store.map(Into::into),
        denylist: None,
        alg: "HS256".into(),
        transport: "bearer".into(),
        token_ttl: None,
        access_ttl: access_ttl.map(Into::into),
        refresh_ttl: None,
        session_ttl: None,
    }
}

#[tokio::test]
async fn probe_measures_short_hybrid_windows_and_immediate_session_ones() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_authbench")).with_file_name("authbench-target");
    let stores = provision(false, true, None, std::env::var("AUTHBENCH_REDIS_URL").ok()).await;
    assert!(stores.missing.is_empty(), "{:?}", stores.missing);
    let dir = std::env::temp_dir().join(format!("authbench-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let launch = Launch {
        binary: &binary,
        stores: &stores,
        key_dir: &dir,
        log_dir: &dir,
        seed_users: 10,
        namespace: format!("probe{}", std::process::id()),
    };

    let hybrid = spec("hybrid", Some("redis"), Some("2s"));
    let t = TargetProcess::start(&hybrid, &launch, "hybrid").await.unwrap();
    let p = authbench_harness::probe::run(&t, &hybrid.id(), "bearer", 2, Duration::from_secs(10)).await.unwrap();
    t.stop().await;
    for (what, w) in [("revocation", &p.revocation), ("stale role", &p.stale_role)] {
        assert_eq!(w.bound_s, 3, "{what}: 2 s TTL + the second of exp");
        assert!(!w.still_accepted_at_cap, "{what}: {p:?}");
        assert!(w.accepted_after_change > 0, "{what}: a hybrid access token outlives the change: {p:?}");
        assert!(w.measured_s.unwrap() <= w.bound_s as f64 + 1.0, "{what}: {p:?}");
    }

    let session = spec("session", Some("redis"), None);
    let t = TargetProcess::start(&session, &launch, "session").await.unwrap();
    let p = authbench_harness::probe::run(&t, &session.id(), "bearer", 2, Duration::from_secs(10)).await.unwrap();
    t.stop().await;
    for w in [&p.revocation, &p.stale_role] {
        assert_eq!(w.accepted_after_change, 0, "sessions change on the very next request: {p:?}");
        assert_eq!(w.bound_s, 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
