//! A store that goes away: requests that need it get 503 (never a hang), and the target recovers by itself.

mod support;

use std::time::{Duration, Instant};

use authbench_targets::contract::{self, metric, route};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::throwaway::{Postgres, Redis};
use authbench_targets::token::alg::Alg;
use reqwest::StatusCode;
use support::{spec, store_url_flag, Target};

async fn status_me(t: &Target, token: &str) -> (StatusCode, Duration) {
    let start = Instant::now();
    let s = t.me(token).await;
    (s, start.elapsed())
}

async fn wait_for(t: &Target, token: &str, want: StatusCode) -> bool {
    for _ in 0..100 {
        if t.me(token).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

async fn health(t: &Target) -> StatusCode {
    t.client.get(t.at(route::HEALTHZ)).send().await.expect("healthz").status()
}

#[tokio::test]
async fn redis_outage_gives_503_and_recovers() {
    let mut redis = tokio::task::spawn_blocking(Redis::start)
        .await
        .unwrap()
        .expect("redis-server must be installed (scripts/install-deps.sh)");
    let t = spec(StrategyKind::Session).store_at(StoreKind::Redis, &redis.url()).start().await;
    let token = t.login_ok(1).await.token();
    assert_eq!(t.me(&token).await, StatusCode::OK);

    redis.stop();
    let (status, took) = status_me(&t, &token).await;
    eprintln!("redis down: /api/me answered {status} in {took:?}");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health(&t).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(t.login(&contract::username(2), &contract::password(2)).await.status, StatusCode::SERVICE_UNAVAILABLE);
    let jwt = spec(StrategyKind::Jwt).start().await;
    assert_eq!(jwt.me(&jwt.login_ok(1).await.token()).await, StatusCode::OK, "a target without a store is unaffected");

    let mut redis =
        tokio::task::spawn_blocking(move || redis.resume().map(|()| redis)).await.unwrap().expect("restarting redis");
    // Redis kept nothing (no persistence): the old session is gone, new logins work again.
    assert!(wait_for(&t, &token, StatusCode::UNAUTHORIZED).await, "target did not reconnect to Redis");
    assert_eq!(health(&t).await, StatusCode::OK);
    let fresh = t.login_ok(2).await.token();
    assert_eq!(t.me(&fresh).await, StatusCode::OK);
    let m = t.metrics().await;
    assert!(m.contains(&format!(r#"{}{{reason="store_unavailable"}}"#, metric::AUTH_FAILURES)), "{m}");
    redis.stop();
}

#[tokio::test]
async fn postgres_outage_gives_503_and_recovers() {
    let mut pg =
        tokio::task::spawn_blocking(Postgres::start).await.unwrap().expect("PostgreSQL binaries must be installed");
    let t = spec(StrategyKind::Session).store_at(StoreKind::Postgres, &pg.url()).start().await;
    let hybrid = spec(StrategyKind::Hybrid).store_at(StoreKind::Postgres, &pg.url()).start().await;
    let token = t.login_ok(1).await.token();
    let pair = hybrid.login_ok(1).await;
    assert_eq!(t.me(&token).await, StatusCode::OK);

    let mut pg =
        tokio::task::spawn_blocking(move || pg.stop().map(|()| pg)).await.unwrap().expect("stopping PostgreSQL");
    let (status, took) = status_me(&t, &token).await;
    eprintln!("postgres down: /api/me answered {status} in {took:?}");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health(&t).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(hybrid.me(&pair.token()).await, StatusCode::OK, "hybrid access tokens need no store");
    assert_eq!(hybrid.refresh_body(&pair.refresh_token()).await.status(), StatusCode::SERVICE_UNAVAILABLE);

    let pg =
        tokio::task::spawn_blocking(move || pg.resume().map(|()| pg)).await.unwrap().expect("restarting PostgreSQL");
    // PostgreSQL keeps its data: the same session works again once the pool reconnects.
    assert!(wait_for(&t, &token, StatusCode::OK).await, "target did not reconnect to PostgreSQL");
    assert_eq!(health(&t).await, StatusCode::OK);
    assert_eq!(hybrid.refresh_body(&pair.refresh_token()).await.status(), StatusCode::OK);
    drop(pg);
}

#[tokio::test]
async fn unreachable_store_at_start_is_a_clear_error() {
    let port = authbench_targets::throwaway::free_port().unwrap();
    let redis_session = TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authbench-target"))
        .args(redis_session.args())
        .args([store_url_flag(StoreKind::Redis), format!("redis://127.0.0.1:{port}")])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Redis not reachable") && err.contains("scripts/services.sh up"), "{err}");
    let postgres_session = TargetSpec::stored(StrategyKind::Session, StoreKind::Postgres, Alg::Hs256);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authbench-target"))
        .args(postgres_session.args())
        .env_remove("AUTHBENCH_POSTGRES_URL")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&store_url_flag(StoreKind::Postgres)));
}
