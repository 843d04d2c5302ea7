//! Every strategy x store against real PostgreSQL, Redis and Redis Cluster: the semantics of DESIGN.md's strategy table.

mod support;

use authbench_targets::contract::{self, metric, route, ADMIN_USER, CONTROL_KEY_HEADER};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec};
use authbench_targets::token::alg::Alg;
use reqwest::StatusCode;
use support::{spec, Target};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Jwt,
    JwtDenylist,
    Session,
    Hybrid,
    None,
}

impl Kind {
    fn of(spec: &TargetSpec) -> Kind {
        match (spec.strategy, spec.denylist) {
            (StrategyKind::Jwt, None) => Kind::Jwt,
            (StrategyKind::Jwt, Some(_)) => Kind::JwtDenylist,
            (StrategyKind::Session, _) => Kind::Session,
            (StrategyKind::Hybrid, _) => Kind::Hybrid,
            (StrategyKind::None, _) => Kind::None,
        }
    }
}

async fn store_ops_per_me(t: &Target, token: &str) -> f64 {
    let before = t.metric_sum(metric::STORE_OPERATIONS).await;
    for _ in 0..20 {
        assert_eq!(t.me(token).await, StatusCode::OK);
    }
    let after = t.metric_sum(metric::STORE_OPERATIONS).await;
    (after - before) / 20.0
}

async fn contract(t: Target) {
    let kind = Kind::of(&t.spec);
    // Login: bad credentials look the same whether the user exists or not.
    let wrong = t.login(&contract::username(1), "nope").await;
    let unknown = t.login("nobody", &contract::password(1)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));

    let user1 = t.login_ok(1).await.token();
    let me: serde_json::Value = t.get_bearer(route::ME, &user1).await.json().await.unwrap();
    assert_eq!(me, serde_json::json!({ "id": 1, "username": contract::username(1), "role": "user" }));
    assert_eq!(t.admin(&user1).await, StatusCode::FORBIDDEN);
    assert_eq!(t.me("").await, StatusCode::UNAUTHORIZED);

    // Store operations per authenticated request.
    let expected_ops = match kind {
        Kind::Jwt | Kind::Hybrid | Kind::None => 0.0,
        Kind::JwtDenylist | Kind::Session => 1.0,
    };
    assert_eq!(store_ops_per_me(&t, &user1).await, expected_ops, "{kind:?}");
    let info = t.info().await;
    assert!(info.describes(&t.spec), "{info:?}");
    assert_eq!(f64::from(info.capabilities.store_ops_per_request), expected_ops, "{info:?}");

    // Role change: sessions (and none, which reads the directory) see it on the next request,
    // issued JWTs keep the old role.
    let admin = t.login_ok(ADMIN_USER).await.token();
    assert_eq!(t.admin(&admin).await, StatusCode::OK);
    t.set_role(ADMIN_USER, "user").await;
    let expected = if matches!(kind, Kind::Session | Kind::None) { StatusCode::FORBIDDEN } else { StatusCode::OK };
    assert_eq!(t.admin(&admin).await, expected, "{kind:?}: admin after demotion");
    assert_eq!(
        t.admin(&t.login_ok(ADMIN_USER).await.token()).await,
        StatusCode::FORBIDDEN,
        "a new login carries the new role"
    );
    t.set_role(ADMIN_USER, "admin").await;

    // Revoke: immediate for session and denylist, impossible for plain jwt and none, access lives
    // on for hybrid.
    let hybrid_refresh = if kind == Kind::Hybrid { Some(t.login_ok(1).await.refresh_token()) } else { None };
    t.revoke(1).await;
    let expected = match kind {
        Kind::Session | Kind::JwtDenylist => StatusCode::UNAUTHORIZED,
        Kind::Jwt | Kind::Hybrid | Kind::None => StatusCode::OK,
    };
    assert_eq!(t.me(&user1).await, expected, "{kind:?}: me after revoke");
    if let Some(refresh) = hybrid_refresh {
        assert_eq!(t.refresh_body(&refresh).await.status(), StatusCode::UNAUTHORIZED, "refresh after revoke");
    }

    // Logout.
    let l = t.login_ok(2).await;
    let resp = match kind {
        Kind::Hybrid => t
            .client
            .post(t.at(route::LOGOUT))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "refresh_token": l.refresh_token() }).to_string())
            .send()
            .await
            .unwrap(),
        _ => t.client.post(t.at(route::LOGOUT)).bearer_auth(l.token()).send().await.unwrap(),
    };
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["server_side"], !matches!(kind, Kind::Jwt | Kind::None), "{body}");
    let expected = match kind {
        Kind::Session | Kind::JwtDenylist => StatusCode::UNAUTHORIZED,
        Kind::Jwt | Kind::Hybrid | Kind::None => StatusCode::OK,
    };
    assert_eq!(t.me(&l.token()).await, expected, "{kind:?}: me after logout");
    if kind == Kind::Hybrid {
        assert_eq!(t.refresh_body(&l.refresh_token()).await.status(), StatusCode::UNAUTHORIZED);
    }

    // Every request above was counted by route and status.
    let m = t.metrics().await;
    let me_ok = format!(r#"{}{{route="{}",status="200"}}"#, metric::HTTP_REQUESTS, route::ME);
    assert!(m.contains(&me_ok), "{m}");
    assert!(support::sum_metric(&m, metric::AUTH_FAILURES) >= 3.0, "{m}");
    assert!(support::sum_metric(&m, metric::BYTES_RECEIVED) > 0.0);
}

#[tokio::test]
async fn none_floor() {
    let t = spec(StrategyKind::None).start().await;
    // A credential naming nobody, or not a user id at all, is refused like a forged one.
    for bad in ["999999", "abc", "01"] {
        assert_eq!(t.me(bad).await, StatusCode::UNAUTHORIZED, "{bad}");
    }
    assert!(t.info().await.capabilities.revoke_window_bound_s.is_none(), "none has no revocation bound");
    contract(t).await;
}

#[tokio::test]
async fn jwt_hs256() {
    contract(spec(StrategyKind::Jwt).start().await).await;
}

#[tokio::test]
async fn jwt_rs256() {
    contract(spec(StrategyKind::Jwt).alg(Alg::Rs256).start().await).await;
}

#[tokio::test]
async fn jwt_es256_denylist_memory() {
    contract(spec(StrategyKind::Jwt).alg(Alg::Es256).denylist(StoreKind::Memory).start().await).await;
}

#[tokio::test]
async fn jwt_denylist_postgres() {
    contract(spec(StrategyKind::Jwt).denylist(StoreKind::Postgres).start().await).await;
}

#[tokio::test]
async fn jwt_eddsa_denylist_redis() {
    contract(spec(StrategyKind::Jwt).alg(Alg::EdDsa).denylist(StoreKind::Redis).start().await).await;
}

#[tokio::test]
async fn jwt_denylist_redis_cluster() {
    contract(spec(StrategyKind::Jwt).denylist(StoreKind::RedisCluster).start().await).await;
}

#[tokio::test]
async fn session_memory() {
    contract(spec(StrategyKind::Session).store(StoreKind::Memory).start().await).await;
}

#[tokio::test]
async fn session_postgres() {
    contract(spec(StrategyKind::Session).store(StoreKind::Postgres).start().await).await;
}

#[tokio::test]
async fn session_redis() {
    contract(spec(StrategyKind::Session).store(StoreKind::Redis).start().await).await;
}

#[tokio::test]
async fn session_redis_cluster() {
    contract(spec(StrategyKind::Session).store(StoreKind::RedisCluster).start().await).await;
}

#[tokio::test]
async fn hybrid_memory() {
    contract(spec(StrategyKind::Hybrid).store(StoreKind::Memory).start().await).await;
}

#[tokio::test]
async fn hybrid_postgres() {
    contract(spec(StrategyKind::Hybrid).alg(Alg::Es256).store(StoreKind::Postgres).start().await).await;
}

#[tokio::test]
async fn hybrid_redis() {
    contract(spec(StrategyKind::Hybrid).alg(Alg::Rs256).store(StoreKind::Redis).start().await).await;
}

#[tokio::test]
async fn hybrid_redis_cluster() {
    contract(spec(StrategyKind::Hybrid).alg(Alg::Es256).store(StoreKind::RedisCluster).start().await).await;
}

#[tokio::test]
async fn every_asymmetric_algorithm_publishes_a_usable_jwks() {
    // Every algorithm but the HMAC one (whose secret must stay private, checked below).
    for alg in Alg::ALL.into_iter().filter(|a| *a != Alg::Hs256) {
        let t = spec(StrategyKind::Jwt).alg(alg).start().await;
        let jwks: serde_json::Value = t.client.get(t.at(route::JWKS)).send().await.unwrap().json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{alg}: {jwks}");
        assert!(keys[0].get("d").is_none(), "{alg}: private key material published");
        let token = t.login_ok(3).await.token();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(keys[0].clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_audience(&["authbench-api"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap();
        assert_eq!(data.claims["sub"], "3", "{alg}");
    }
    let hs = spec(StrategyKind::Jwt).start().await;
    let jwks: serde_json::Value = hs.client.get(hs.at(route::JWKS)).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks, serde_json::json!({ "keys": [] }), "an HMAC secret must never be published");
}

#[tokio::test]
async fn session_refresh_rotates_the_id() {
    let t = spec(StrategyKind::Session).store(StoreKind::Redis).start().await;
    let old = t.login_ok(4).await.token();
    let r = t.client.post(t.at(route::REFRESH)).bearer_auth(&old).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let new = r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(t.me(&new).await, StatusCode::OK);
    assert_eq!(t.me(&old).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn control_api_requires_the_key() {
    let t = spec(StrategyKind::Session).store(StoreKind::Memory).start().await;
    let r = t.client.post(t.at(&route::revoke(1))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t.client.post(t.at(&route::revoke(1))).header(CONTROL_KEY_HEADER, "wrong").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t.control(&route::role(1), Some(serde_json::json!({ "role": "root" }))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = t.control(&route::revoke(999), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn seeding_is_idempotent_across_restarts_on_a_shared_store() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let t = spec(StrategyKind::Session)
            .store(StoreKind::Postgres)
            .key_dir(dir.path().to_owned())
            .seed_users(10_000)
            .start()
            .await;
        assert_eq!(t.info().await.users, 10_000);
        assert_eq!(t.me(&t.login_ok(9999).await.token()).await, StatusCode::OK);
    }
}
