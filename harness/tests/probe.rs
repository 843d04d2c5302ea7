//! The security probe against real targets: windows match what each strategy promises.

use std::path::PathBuf;
use std::time::Duration;

use authbench_harness::run::provision::provision;
use authbench_harness::run::target::{Launch, TargetProcess};
use authbench_targets::spec::{Span, StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;

#[tokio::test]
async fn probe_measures_short_hybrid_windows_and_immediate_session_ones() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_authbench")).with_file_name("authbench-target");
    let stores = provision(false, true, None, std::env::var("AUTHBENCH_REDIS_URL").ok()).await;
    assert!(stores.missing.is_empty(), "{:?}", stores.missing);
    let dir = std::env::temp_dir().join(format!("authbench-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let launch = Launch {
        binary: &binary,
        out: &dir,
        stores: &stores,
        key_dir: &dir,
        log_dir: &dir,
        seed_users: 10,
        namespace: format!("probe{}", std::process::id()),
        store_url: None,
    };

    let mut hybrid = TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Hs256);
    hybrid.ttls.access = Span(Duration::from_secs(2));
    let t = TargetProcess::start(&hybrid, &launch, "hybrid").await.unwrap();
    let p = authbench_harness::run::probe::run(&t, &hybrid, 2, Duration::from_secs(10)).await.unwrap();
    t.stop().await;
    for (what, w) in [("revocation", &p.revocation), ("stale role", &p.stale_role)] {
        assert_eq!(w.bound_s, 3, "{what}: 2 s TTL + the second of exp");
        assert!(!w.still_accepted_at_cap, "{what}: {p:?}");
        assert!(w.accepted_after_change > 0, "{what}: a hybrid access token outlives the change: {p:?}");
        assert!(w.measured_s.unwrap() <= w.bound_s as f64 + 1.0, "{what}: {p:?}");
    }

    let session = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
    let t = TargetProcess::start(&session, &launch, "session").await.unwrap();
    let p = authbench_harness::run::probe::run(&t, &session, 2, Duration::from_secs(10)).await.unwrap();
    t.stop().await;
    for w in [&p.revocation, &p.stale_role] {
        assert_eq!(w.accepted_after_change, 0, "sessions change on the very next request: {p:?}");
        assert_eq!(w.bound_s, 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
