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
        StrategyKind::Jwt | StrategyKind::None => panic!("{strategy} targets store no tokens"),
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

/// Keys of a namespace matching `pattern` (after the namespace's prefix), counted with SCAN.
async fn redis_keys(client: &Client, ns: &str, pattern: &str) -> usize {
    let (mut cursor, mut n) = ("0".to_owned(), 0);
    let pattern = format!("{ns}:{pattern}");
    loop {
        let args = vec![cursor.as_str(), "MATCH", pattern.as_str(), "COUNT", "10000"];
        let (next, keys): (String, Vec<String>) =
            client.custom(CustomCommand::new_static("SCAN", None, false), args).await.unwrap();
        n += keys.len();
        if next == "0" {
            return n;
        }
        cursor = next;
    }
}

const SEEDED: u64 = 10_000;

#[tokio::test]
async fn seeding_records_creates_exactly_that_many() {
    let (client, conn) = tokio_postgres::connect(&store_url(StoreKind::Postgres), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    for (strategy, table) in [(StrategyKind::Session, "sessions"), (StrategyKind::Hybrid, "refresh_tokens")] {
        let t = spec(strategy).store(StoreKind::Postgres).seed_users(50).start().await;
        let r = t.control(route::SEED, Some(serde_json::json!({ "count": SEEDED }))).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["created"], SEEDED);
        let ns = namespace(&t).await;
        let sql = format!(
            "SELECT count(*), count(DISTINCT token_hash), count(*) FILTER (WHERE user_id = 1) FROM {ns}.{table}"
        );
        let row = client.query_one(sql.as_str(), &[]).await.unwrap();
        let (all, distinct, user1): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!((all, distinct), (10_000, 10_000), "{strategy}: rows in the namespace");
        // 10,000 records over the 49 seeded users besides the admin: 204 or 205 each.
        assert!(user1 >= 204, "{strategy}: user 1 has {user1}");
        // Seeded records are the user's like any other: revoking the user removes every one.
        t.control(&route::revoke(1), None).await;
        let row = client.query_one(sql.as_str(), &[]).await.unwrap();
        assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(2)), (10_000 - user1, 0), "{strategy}: after revoke");
    }
    let redis = Builder::from_config(Config::from_url(&store_url(StoreKind::Redis)).unwrap()).build().unwrap();
    redis.init().await.unwrap();
    for (strategy, record, index) in [(StrategyKind::Session, "s:*", "ss:*"), (StrategyKind::Hybrid, "f:*", "fu:*")] {
        let t = spec(strategy).store(StoreKind::Redis).seed_users(50).start().await;
        let r = t.control(route::SEED, Some(serde_json::json!({ "count": SEEDED }))).await;
        assert_eq!(r.status(), 200);
        let ns = namespace(&t).await;
        assert_eq!(redis_keys(&redis, &ns, record).await, 10_000, "{strategy}: record keys");
        assert_eq!(redis_keys(&redis, &ns, index).await, 49, "{strategy}: one index per seeded user");
        if strategy == StrategyKind::Hybrid {
            assert_eq!(redis_keys(&redis, &ns, "r:*").await, 10_000, "one live refresh token per family");
        }
        let key = format!("{ns}:{}:1", &index[..index.len() - 2]);
        let in_index: i64 = redis.custom(CustomCommand::new_static("ZCARD", None, false), vec![key]).await.unwrap();
        assert!(in_index >= 204, "{strategy}: user 1's index holds {in_index}");
        t.control(&route::revoke(1), None).await;
        assert_eq!(redis_keys(&redis, &ns, record).await, 10_000 - usize::try_from(in_index).unwrap(), "{strategy}");
    }
    let jwt = spec(StrategyKind::Jwt).start().await;
    assert_eq!(jwt.control(route::SEED, Some(serde_json::json!({ "count": 5 }))).await.status(), 400);
    let s = spec(StrategyKind::Session).store(StoreKind::Memory).start().await;
    assert_eq!(s.control(route::SEED, Some(serde_json::json!({ "count": 0 }))).await.status(), 400);
    let no_key = s.client.post(s.at(route::SEED)).body(r#"{"count":5}"#).send().await.unwrap();
    assert_eq!(no_key.status(), 403);
}
