//! A store that goes away: requests that need it get 503 (never a hang), and the target recovers by itself.

mod support;

use std::time::{Duration, Instant};

use authbench_targets::throwaway::{Postgres, Redis};
use reqwest::StatusCode;
use support::{spec, Target};

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
    t.client.get(t.at("/healthz")).send().await.expect("healthz").status()
}

#[tokio::test]
async fn redis_outage_gives_503_and_recovers() {
    let mut redis = tokio::task::spawn_blocking(Redis::start)
        .await
        .unwrap()
        .expect("redis-server must be installed (scripts/install-deps.sh)");
    let t = spec("session").store_at("redis", &redis.url()).start().await;
    let token = t.login_ok(1).await.token();
    assert_eq!(t.me(&token).await, StatusCode::OK);

    redis.stop();
    let (status, took) = status_me(&t, &token).await;
    eprintln!("redis down: /api/me answered {status} in {took:?}");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health(&t).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(t.login("user2", "pass-2").await.status, StatusCode::SERVICE_UNAVAILABLE);
    let jwt = spec("jwt").start().await;
    assert_eq!(jwt.me(&jwt.login_ok(1).await.token()).await, StatusCode::OK, "a target without a store is unaffected");

    let mut redis =
        tokio::task::spawn_blocking(move || redis.resume().map(|()| redis)).await.unwrap().expect("restarting redis");
    // Redis kept nothing (no persistence): the old session is gone, new logins work again.
    assert!(wait_for(&t, &token, StatusCode::UNAUTHORIZED).await, "target did not reconnect to Redis");
    assert_eq!(health(&t).await, StatusCode::OK);
    let fresh = t.login_ok(2).await.token();
    assert_eq!(t.me(&fresh).await, StatusCode::OK);
    let m = t.metrics().await;
    assert!(m.contains(r#"authbench_auth_failures_total{reason="store_unavailable"}"#), "{m}");
    redis.stop();
}

#[tokio::test]
async fn postgres_outage_gives_503_and_recovers() {
    let mut pg =
        tokio::task::spawn_blocking(Postgres::start).await.unwrap().expect("PostgreSQL binaries must be installed");
    let t = spec("session").store_at("postgres", &pg.url()).start().await;
    let hybrid = spec("hybrid").store_at("postgres", &pg.url()).start().await;
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
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authbench-target"))
        .args(["--strategy", "session", "--store", "redis", "--redis-url", &format!("redis://127.0.0.1:{port}")])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Redis not reachable") && err.contains("scripts/services.sh up"), "{err}");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authbench-target"))
        .args(["--strategy", "session", "--store", "postgres"])
        .env_remove("AUTHBENCH_POSTGRES_URL")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--postgres-url"));
}
