//! The security probe against real targets: windows match what each strategy promises, and the
//! refresh checks record what each strategy's /auth/refresh actually does.

use std::path::PathBuf;
use std::time::Duration;

use authbench_harness::model::probe::{
    Answer, Applicability, LiftedHeader, ProbeResult, RefreshAfterRevoke, Reuse, ReuseOutcome, SameSite, Skip,
    WindowResult,
};
use authbench_harness::run::provision::provision;
use authbench_harness::run::target::{Launch, TargetProcess};
use authbench_targets::spec::{Span, StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::token::alg::Alg;

fn measured<T: std::fmt::Debug>(a: &Option<Applicability<T>>) -> &T {
    match a {
        Some(Applicability::Measured(m)) => m,
        other => panic!("expected a measurement, got {other:?}"),
    }
}

fn after(p: &ProbeResult) -> &RefreshAfterRevoke {
    measured(&p.refresh_after_revoke)
}

fn reuse(p: &ProbeResult) -> &Reuse {
    measured(&p.reuse)
}

fn logout(p: &ProbeResult) -> &WindowResult {
    p.logout.as_ref().expect("the logout window is measured")
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
        out: &dir,
        stores: &stores,
        key_dir: &dir,
        log_dir: &dir,
        seed_users: 10,
        namespace: format!("probe{}", std::process::id()),
        store_url: None,
        shard: None,
        deployed: None,
    };
    let probe = |spec: TargetSpec, cap: u64| {
        let launch = &launch;
        async move {
            let t = TargetProcess::start(&spec, launch, &spec.id()).await.unwrap();
            let p = authbench_harness::run::probe::run(&t, &spec, 2, Duration::from_secs(cap)).await.unwrap();
            t.stop().await;
            eprintln!(
                "{}: logout {:?}\n  refresh after revoke {:?}\n  reuse {:?}",
                p.target.id, p.logout, p.refresh_after_revoke, p.reuse
            );
            p
        }
    };

    let mut hybrid = TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Redis, Alg::Hs256);
    hybrid.ttls.access = Span(Duration::from_secs(2));
    let p = probe(hybrid, 10).await;
    for (what, w) in [("revocation", &p.revocation), ("stale role", &p.stale_role), ("logout", logout(&p))] {
        assert_eq!(w.bound_s, 3, "{what}: 2 s TTL + the second of exp");
        assert!(!w.still_accepted_at_cap, "{what}: {p:?}");
        assert!(w.accepted_after_change > 0, "{what}: a hybrid access token outlives the change: {p:?}");
        assert!(w.measured_s.unwrap() <= w.bound_s as f64 + 1.0, "{what}: {p:?}");
    }
    assert_eq!(after(&p).reply.answer, Answer::Refused, "a revoked user's refresh token is dead at once: {p:?}");
    assert!(after(&p).refused_after_s.is_some());
    assert_eq!(reuse(&p).outcome(), ReuseOutcome::FamilyRevoked, "hybrid revokes the family on a replay: {p:?}");

    // In cookies the refresh token travels in its own cookie, as the load's clients send it.
    hybrid.transport = Transport::Cookie;
    let p = probe(hybrid, 10).await;
    assert!(!logout(&p).still_accepted_at_cap, "{p:?}");
    assert_eq!(after(&p).reply.answer, Answer::Refused, "{p:?}");
    assert_eq!(reuse(&p).outcome(), ReuseOutcome::FamilyRevoked, "{p:?}");
    let seen = p.exposure.as_ref().expect("the exposure step ran");
    assert_eq!(seen.lifted, Some(LiftedHeader::Cookie), "a plain cookie is read off the wire: {seen:?}");
    assert!(seen.replay_served(), "and serves the observer: {seen:?}");
    let names: Vec<&str> = seen.set_cookies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 2, "access and refresh cookies: {seen:?}");
    for c in &seen.set_cookies {
        assert!(c.http_only && c.secure && c.same_site == Some(SameSite::Strict), "{c:?}");
        assert!(c.attribute_bytes > 0, "{c:?}");
    }

    let session = probe(TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256), 10).await;
    for w in [&session.revocation, &session.stale_role, logout(&session)] {
        assert_eq!(w.accepted_after_change, 0, "sessions change on the very next request: {session:?}");
        assert_eq!(w.bound_s, 0);
    }
    let skip = Skip::NoRefreshToken;
    assert_eq!(session.refresh_after_revoke, Some(Applicability::NotApplicable(skip)));
    assert_eq!(session.reuse, Some(Applicability::NotApplicable(skip)));

    // Without a denylist nothing ends a token before its exp: a short cap is enough to see it.
    let jwt = probe(TargetSpec::jwt(Alg::Hs256), 1).await;
    let jwt_logout = logout(&jwt);
    assert!(jwt_logout.still_accepted_at_cap && jwt_logout.measured_s.is_none(), "{jwt:?}");
    let session_logout = logout(&session).measured_s.expect("a session's logout is measured");
    assert!(session_logout < jwt_logout.bound_s as f64, "a session ends at logout, well inside jwt's bound");
    assert_eq!(after(&jwt).reply.answer, Answer::Accepted, "a revoked jwt user can still refresh: {jwt:?}");
    assert_eq!(reuse(&jwt).outcome(), ReuseOutcome::SpentAccepted, "a refreshed jwt token stays valid: {jwt:?}");
    let seen = jwt.exposure.as_ref().expect("the exposure step ran");
    assert_eq!(seen.lifted, Some(LiftedHeader::Authorization), "{seen:?}");
    assert!(seen.replay_served() && seen.set_cookies.is_empty(), "{seen:?}");

    // Over TLS the observer holds records, not a request.
    let tls = probe(TargetSpec { tls: true, ..TargetSpec::jwt(Alg::Hs256) }, 1).await;
    let hidden = tls.exposure.as_ref().expect("the exposure step ran");
    assert_eq!((hidden.lifted, hidden.replay), (None, None), "{hidden:?}");
    assert!(hidden.captured_bytes > 200, "the handshake and the request's records crossed the observer: {hidden:?}");

    let mut denied = TargetSpec::jwt(Alg::Hs256);
    denied.denylist = Some(StoreKind::Memory);
    let p = probe(denied, 1).await;
    assert!(!logout(&p).still_accepted_at_cap && logout(&p).accepted_after_change == 0, "{p:?}");
    assert_eq!(after(&p).reply.answer, Answer::Refused, "{p:?}");
    assert_eq!(reuse(&p).outcome(), ReuseOutcome::SpentRefused, "a denylist spends the old token only: {p:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
