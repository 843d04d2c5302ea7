//! Hybrid refresh-token rotation on every store: single use, reuse detection, races, revocation.

mod support;

use std::time::Duration;

use authbench_targets::contract::{metric, route};
use authbench_targets::spec::{StoreKind, StrategyKind};
use reqwest::StatusCode;
use support::{spec, Target};

async fn refresh_ok(t: &Target, token: &str) -> String {
    let r = t.refresh_body(token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["access_token"].is_string());
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn rotation(store: StoreKind) {
    let t = spec(StrategyKind::Hybrid).store(store).start().await;
    let first = t.login_ok(1).await.refresh_token();
    let second = refresh_ok(&t, &first).await;
    let third = refresh_ok(&t, &second).await;
    assert_ne!(second, third);
    // Replaying a spent token revokes the whole family, including the live descendant.
    assert_eq!(t.refresh_body(&first).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(t.refresh_body(&third).await.status(), StatusCode::UNAUTHORIZED, "{store}: family must be revoked");
    let m = t.metrics().await;
    assert!(m.contains(&format!(r#"{}{{reason="refresh_reused"}} 1"#, metric::AUTH_FAILURES)), "{m}");
    // Other families of the same user are untouched.
    let other = t.login_ok(1).await.refresh_token();
    refresh_ok(&t, &other).await;
    // Garbage refresh tokens are 401.
    for bad in ["", "short", &"A".repeat(43), &"x".repeat(5000)] {
        assert_eq!(t.refresh_body(bad).await.status(), StatusCode::UNAUTHORIZED, "{bad:.10}");
    }
}

async fn race(store: StoreKind) {
    let t = spec(StrategyKind::Hybrid).store(store).start().await;
    for round in 0..5 {
        let token = t.login_ok(2).await.refresh_token();
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (client, url, body) =
                (t.client.clone(), t.at(route::REFRESH), serde_json::json!({ "refresh_token": token }).to_string());
            attempts.spawn(async move {
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("refresh")
                    .status()
            });
        }
        let statuses: Vec<StatusCode> = attempts.join_all().await;
        let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(wins, 1, "{store} round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    }
}

#[tokio::test]
async fn rotation_memory() {
    rotation(StoreKind::Memory).await;
}

#[tokio::test]
async fn rotation_postgres() {
    rotation(StoreKind::Postgres).await;
}

#[tokio::test]
async fn rotation_redis() {
    rotation(StoreKind::Redis).await;
}

#[tokio::test]
async fn concurrent_refresh_exactly_one_wins_memory() {
    race(StoreKind::Memory).await;
}

#[tokio::test]
async fn concurrent_refresh_exactly_one_wins_postgres() {
    race(StoreKind::Postgres).await;
}

#[tokio::test]
async fn concurrent_refresh_exactly_one_wins_redis() {
    race(StoreKind::Redis).await;
}

#[tokio::test]
async fn revoked_access_token_dies_at_its_exp() {
    let t = spec(StrategyKind::Hybrid).store(StoreKind::Redis).access_ttl(Duration::from_secs(2)).start().await;
    let l = t.login_ok(3).await;
    t.revoke(3).await;
    assert_eq!(t.refresh_body(&l.refresh_token()).await.status(), StatusCode::UNAUTHORIZED, "refresh dies at once");
    assert_eq!(t.me(&l.token()).await, StatusCode::OK, "access token outlives the revoke");
    let bound = t.info().await.capabilities.revoke_window_bound_s;
    assert_eq!(bound, Some(2 + 1), "access TTL plus the second of exp itself (leeway 0)");
    // Poll until refused; the cap is generous because this asserts behaviour, not timing.
    let mut refused = false;
    for _ in 0..60 {
        if t.me(&l.token()).await == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(refused, "access token still accepted 15 s after a 2 s TTL");
}

#[tokio::test]
async fn idle_sessions_expire_and_active_ones_slide() {
    for &store in StoreKind::ALL {
        let t = spec(StrategyKind::Session).store(store).arg("--session-idle", "2s").start().await;
        let idle = t.login_ok(1).await.token();
        let active = t.login_ok(2).await.token();
        for _ in 0..7 {
            assert_eq!(t.me(&active).await, StatusCode::OK, "{store}: active session expired");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(
            t.me(&idle).await,
            StatusCode::UNAUTHORIZED,
            "{store}: idle session survived 3.5 s with a 2 s idle timeout"
        );
    }
}
