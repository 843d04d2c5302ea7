//! The Redis Cluster store's key layout: every key a user's scripts touch shares one hash tag, the
//! tag travels in the opaque token, and it is keyed by a secret, so it names no user.
//! (The store contract and the refresh races run on the cluster in contract.rs and races.rs.)

mod support;

use std::collections::BTreeSet;

use authbench_targets::contract;
use authbench_targets::spec::{StoreKind, StrategyKind};
use authbench_targets::strategy::Auth;
use authbench_targets::token::opaque::{self, TOKEN_TEXT_LEN};

async fn login(auth: &Auth, user: u64) -> (String, Option<String>) {
    let g = auth.login(contract::username(user), contract::password(user)).await.expect("login");
    (g.access, g.refresh.map(|(r, _)| r))
}

/// The hash tag of a key (what Redis hashes to pick its slot): the text between its first `{` and
/// the next `}`, or None when it has none.
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    Some(&key[open + 1..open + 1 + close]).filter(|t| !t.is_empty())
}

/// The opaque credential a strategy stores: the session token, or the hybrid refresh token.
async fn stored_credential(auth: &Auth, user: u64) -> String {
    let (access, refresh) = login(auth, user).await;
    refresh.unwrap_or(access)
}

#[tokio::test]
async fn a_users_keys_share_the_tag_its_tokens_carry() {
    for strategy in [StrategyKind::Session, StrategyKind::Hybrid] {
        let t = support::in_process(strategy, StoreKind::RedisCluster, &[]).await;
        let first = stored_credential(&t.auth, 3).await;
        let second = stored_credential(&t.auth, 3).await;
        let rotated = t.auth.refresh(&second).await.expect("rotation");
        let rotated = rotated.refresh.map_or(rotated.access, |(r, _)| r);
        for token in [&first, &second, &rotated] {
            assert_eq!(token.len(), TOKEN_TEXT_LEN, "{strategy}: same shape as an untagged token");
        }
        let tag = opaque::tag_of(&first).expect("a tagged token").to_hex();
        assert_eq!(opaque::tag_of(&second).map(|t| t.to_hex()).as_ref(), Some(&tag), "{strategy}: one tag per user");
        assert_eq!(opaque::tag_of(&rotated).map(|t| t.to_hex()).as_ref(), Some(&tag), "{strategy}: rotation keeps it");

        let keys = support::redis_keys(StoreKind::RedisCluster, &t.namespace).await;
        let tags: BTreeSet<Option<&str>> =
            keys.iter().filter(|k| **k != format!("{}:tag-key", t.namespace)).map(|k| hash_tag(k)).collect();
        assert_eq!(tags, BTreeSet::from([Some(tag.as_str())]), "{strategy}: every key of user 3 on its slot: {keys:?}");
        // Keys kinds: records found from the token and the index found from the user, together.
        let index = if strategy == StrategyKind::Session { "ss:3" } else { "fu:3" };
        assert!(keys.iter().any(|k| k.ends_with(index)), "{strategy}: {keys:?}");

        // Another user's keys land under another tag (4 random-looking bytes: equal only by a
        // one-in-four-billion chance), and revoke-all still finds every one of user 3's logins.
        let other = stored_credential(&t.auth, 4).await;
        assert_ne!(opaque::tag_of(&other).map(|t| t.to_hex()), Some(tag.clone()), "{strategy}");
        let revoked = t.auth.revoke_user(3).await.expect("revoke-all");
        eprintln!("{strategy}: revoke-all of user 3: {revoked:?}");
        for token in [&first, &rotated] {
            assert!(t.auth.refresh(token).await.is_err(), "{strategy}: a login of user 3 outlived revoke-all");
        }
        assert!(t.auth.refresh(&other).await.is_ok(), "{strategy}: user 4 was not revoked");
    }
}

/// The tag is HMAC(store key, user id): two stores (namespaces, each with its own random key) give
/// one user different tags, so a tag cannot be computed from a user id, nor a user id read from it.
#[tokio::test]
async fn the_tag_is_keyed_by_a_secret_not_the_user_id() {
    let a = support::in_process(StrategyKind::Session, StoreKind::RedisCluster, &[]).await;
    let b = support::in_process(StrategyKind::Session, StoreKind::RedisCluster, &[]).await;
    let tag = |t: String| opaque::tag_of(&t).expect("a tagged token");
    let in_a: Vec<_> = futures_util::future::join_all((1..=3).map(|u| stored_credential(&a.auth, u))).await;
    let in_b: Vec<_> = futures_util::future::join_all((1..=3).map(|u| stored_credential(&b.auth, u))).await;
    let (in_a, in_b): (Vec<_>, Vec<_>) = (in_a.into_iter().map(tag).collect(), in_b.into_iter().map(tag).collect());
    assert_ne!(in_a, in_b, "the same users got the same tags under two different keys");
    for (user, t) in (1u64..).zip(&in_a) {
        assert_ne!(t.0[..], user.to_be_bytes()[4..], "user {user}'s tag is their id");
        assert_ne!(t.0[..], user.to_le_bytes()[..4], "user {user}'s tag is their id");
    }
}

/// A token presented with a tag that is not its user's (here: an untagged, all-random token) is
/// just unknown: looked up on its own slot, where nothing is stored.
#[tokio::test]
async fn a_token_from_another_slot_is_unknown() {
    let t = support::in_process(StrategyKind::Session, StoreKind::RedisCluster, &[]).await;
    let real = stored_credential(&t.auth, 2).await;
    let foreign = opaque::generate().text;
    assert!(t.auth.refresh(&foreign).await.is_err(), "an unknown token was rotated");
    assert!(t.auth.refresh(&real).await.is_ok(), "the real session rotates");
}

/// A cluster store refuses a single-server URL (and the other way round), saying what to pass.
#[tokio::test]
async fn cluster_and_single_server_urls_are_not_mixed_up() {
    use clap::Parser as _;
    let keys = tempfile::tempdir().expect("key directory");
    let build = |store: StoreKind, url: String| {
        let args: Vec<String> = ["authbench-target", "--strategy", "session", "--store", store.as_str()]
            .into_iter()
            .map(String::from)
            .chain(["--seed-users".into(), "2".into(), "--key-dir".into(), keys.path().display().to_string()])
            .chain([support::store_url_flag(store), url])
            .collect();
        let cfg = authbench_targets::config::Config::try_parse_from(&args).expect("configuration");
        async move { Auth::build(&cfg, std::sync::Arc::new(authbench_targets::metrics::Metrics::new()), 2).await }
    };
    let err = build(StoreKind::RedisCluster, support::store_url(StoreKind::Redis)).await.err().expect("refused");
    assert!(format!("{err:#}").contains("redis-cluster://"), "{err:#}");
    let err = build(StoreKind::Redis, support::store_url(StoreKind::RedisCluster)).await.err().expect("refused");
    assert!(format!("{err:#}").contains("--store redis-cluster"), "{err:#}");
}

/// The throwaway cluster the harness starts (three masters on loopback) serves a target.
#[tokio::test]
async fn a_throwaway_cluster_serves_a_target() {
    let cluster = tokio::task::spawn_blocking(authbench_targets::throwaway::RedisCluster::start)
        .await
        .expect("the start did not panic")
        .unwrap_or_else(|e| panic!("starting a throwaway Redis Cluster: {e}"));
    assert_eq!(cluster.pids().len(), authbench_targets::throwaway::RedisCluster::NODES);
    let url = cluster.url();
    assert!(url.starts_with("redis-cluster://127.0.0.1:") && url.matches("node=127.0.0.1:").count() == 2, "{url}");
    let t = support::spec(StrategyKind::Session).store_at(StoreKind::RedisCluster, &url).start().await;
    let token = t.login_ok(1).await.token();
    assert_eq!(t.me(&token).await, reqwest::StatusCode::OK);
    t.revoke(1).await;
    assert_eq!(t.me(&token).await, reqwest::StatusCode::UNAUTHORIZED);
}

/// A bulk seed spreads over many slots (one script per user's tag) and leaves every record under
/// its user's tag, where revoke-all finds it.
#[tokio::test]
async fn bulk_seeds_land_on_each_users_slot() {
    for strategy in [StrategyKind::Session, StrategyKind::Hybrid] {
        let t = support::in_process(strategy, StoreKind::RedisCluster, &[]).await;
        assert_eq!(t.auth.seed_records(70).await.expect("seeding"), 70, "{strategy}");
        let keys = support::redis_keys(StoreKind::RedisCluster, &t.namespace).await;
        let record = if strategy == StrategyKind::Session { ":s:" } else { ":r:" };
        let records: Vec<&String> = keys.iter().filter(|k| k.contains(record)).collect();
        assert_eq!(records.len(), 70, "{strategy}: {keys:?}");
        let tags: BTreeSet<&str> = records.iter().filter_map(|k| hash_tag(k)).collect();
        assert!(tags.len() > 1, "{strategy}: the seeded users (7) should not all share one tag: {tags:?}");
        for user in 1..=7u64 {
            let index = if strategy == StrategyKind::Session { format!(":ss:{user}") } else { format!(":fu:{user}") };
            let tag = keys.iter().find(|k| k.ends_with(&index)).and_then(|k| hash_tag(k));
            assert!(tag.is_some(), "{strategy}: no index for user {user}");
        }
        for user in 1..=7u64 {
            t.auth.revoke_user(user).await.expect("revoke-all");
        }
        let left = support::redis_keys(StoreKind::RedisCluster, &t.namespace).await;
        assert!(!left.iter().any(|k| k.contains(record)), "{strategy}: seeded records outlived revoke-all: {left:?}");
    }
}

/// After the cluster lost its data another target re-creates the tag key (simulated: the key is
/// replaced). A target still holding the old key follows it, so its logins land where another
/// target's revoke-all looks; the one login that was issued under the old tag is refused, not
/// stored where no revoke-all would find it.
#[tokio::test]
async fn a_changed_tag_key_is_followed_so_revoke_all_reaches_every_login() {
    use fred::prelude::*;
    let a = support::in_process(StrategyKind::Session, StoreKind::RedisCluster, &[]).await;
    let before = stored_credential(&a.auth, 3).await;
    let config = Config::from_url(&support::store_url(StoreKind::RedisCluster)).expect("cluster URL");
    let client = Builder::from_config(config).build().expect("cluster client");
    client.init().await.expect("connecting to the cluster");
    let _: () = client
        .set(format!("{}:tag-key", a.namespace), "another target's fresh key", None, None, false)
        .await
        .expect("replacing the tag key");
    let _ = client.quit().await;

    let refused = a.auth.login(contract::username(3), contract::password(3)).await;
    assert!(refused.is_err(), "a token tagged under the old key was stored");
    let after = stored_credential(&a.auth, 3).await;
    assert_ne!(opaque::tag_of(&after), opaque::tag_of(&before), "the new key gives user 3 a new tag");

    let b = support::in_process_at(StrategyKind::Session, StoreKind::RedisCluster, &a.namespace, &[]).await;
    b.auth.revoke_user(3).await.expect("revoke-all through the other target");
    assert!(a.auth.refresh(&after).await.is_err(), "a login after the key change outlived revoke-all");
}
