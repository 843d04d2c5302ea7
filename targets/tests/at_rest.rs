//! What the stores hold: only SHA-256 hashes of opaque tokens, never the tokens themselves.

mod support;

use authbench_targets::contract::route;
use authbench_targets::spec::{StoreKind, StrategyKind};
use fred::prelude::*;
use fred::types::CustomCommand;
use support::{spec, store_url, Login, Target};

async fn namespace(t: &Target) -> String {
    t.info().await.namespace
}

/// The opaque token the store keeps: the session id, or the hybrid refresh token.
fn stored_token(strategy: StrategyKind, l: &Login) -> String {
    match strategy {
        StrategyKind::Session => l.token(),
        StrategyKind::Hybrid => l.refresh_token(),
        StrategyKind::Jwt => panic!("jwt targets store no tokens"),
    }
}

#[tokio::test]
async fn redis_holds_hashes_not_tokens() {
    let client = Builder::from_config(Config::from_url(&store_url(StoreKind::Redis)).unwrap()).build().unwrap();
    client.init().await.unwrap();
    for strategy in [StrategyKind::Session, StrategyKind::Hybrid] {
        let t = spec(strategy).store(StoreKind::Redis).start().await;
        let l = t.login_ok(1).await;
        let token = stored_token(strategy, &l);
        let pattern = format!("{}:*", namespace(&t).await);
        let (_, keys): (String, Vec<String>) = client
            .custom(CustomCommand::new_static("SCAN", None, false), vec!["0", "MATCH", &pattern, "COUNT", "100000"])
            .await
            .unwrap();
        let hash = authbench_targets::token::opaque::hash_text(&token).to_hex();
        assert!(keys.iter().any(|k| k.ends_with(&hash)), "{strategy}: hash of a live token not found in {keys:?}");
        for k in &keys {
            assert!(!k.contains(&token), "{strategy}: raw token used in key {k}");
            if k.contains(":s:") || k.contains(":r:") {
                let v: Option<String> = client.get(k.as_str()).await.unwrap();
                assert!(!v.unwrap_or_default().contains(&token), "{strategy}: raw token stored under {k}");
            }
        }
    }
}

#[tokio::test]
async fn postgres_holds_hashes_not_tokens() {
    let (client, conn) = tokio_postgres::connect(&store_url(StoreKind::Postgres), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    for (strategy, table) in [(StrategyKind::Session, "sessions"), (StrategyKind::Hybrid, "refresh_tokens")] {
        let t = spec(strategy).store(StoreKind::Postgres).start().await;
        let l = t.login_ok(1).await;
        let token = stored_token(strategy, &l);
        let hash = authbench_targets::token::opaque::hash_text(&token).0.to_vec();
        let sql = format!(
            "SELECT count(*) FILTER (WHERE token_hash = $1), count(*) FILTER (WHERE position($2::bytea in token_hash) > 0), count(*) FROM {}.{table}",
            namespace(&t).await
        );
        let row = client.query_one(sql.as_str(), &[&hash, &token.as_bytes()]).await.unwrap();
        let (by_hash, by_raw, all): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!((by_hash, by_raw, all), (1, 0, 1), "{table}: expected exactly the hash of the one live token");
    }
}

#[tokio::test]
async fn seeding_records_creates_exactly_that_many() {
    let (client, conn) = tokio_postgres::connect(&store_url(StoreKind::Postgres), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    for (strategy, table) in [(StrategyKind::Session, "sessions"), (StrategyKind::Hybrid, "refresh_tokens")] {
        let t = spec(strategy).store(StoreKind::Postgres).start().await;
        let r = t.control(route::SEED, Some(serde_json::json!({ "count": 250 }))).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["created"], 250);
        let row = client
            .query_one(format!("SELECT count(*) FROM {}.{table}", namespace(&t).await).as_str(), &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 250, "{strategy}");
    }
    let jwt = spec(StrategyKind::Jwt).start().await;
    assert_eq!(jwt.control(route::SEED, Some(serde_json::json!({ "count": 5 }))).await.status(), 400);
    let s = spec(StrategyKind::Session).store(StoreKind::Memory).start().await;
    assert_eq!(s.control(route::SEED, Some(serde_json::json!({ "count": 0 }))).await.status(), 400);
    let no_key = s.client.post(s.at(route::SEED)).body(r#"{"count":5}"#).send().await.unwrap();
    assert_eq!(no_key.status(), 403);
}
