//! Cookie transport and the byte accounting the harness relies on.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use authbench_targets::contract::{self, metric, route, ACCESS_COOKIE, REFRESH_COOKIE};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::token::alg::Alg;
use reqwest::StatusCode;
use support::{spec, sum_metric, Spec};

fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[tokio::test]
async fn cookie_transport_sets_secure_cookies_and_clears_them() {
    let access_prefix = format!("{ACCESS_COOKIE}=");
    let refresh_prefix = format!("{REFRESH_COOKIE}=");
    for target in [
        TargetSpec::stored(StrategyKind::Session, StoreKind::Redis, Alg::Hs256),
        TargetSpec::stored(StrategyKind::Hybrid, StoreKind::Postgres, Alg::Hs256),
        TargetSpec::jwt(Alg::Hs256),
    ] {
        let strategy = target.strategy;
        let t = Spec::from(target).transport(Transport::Cookie).start().await;
        let l = t.login_ok(1).await;
        assert!(l.body.get("access_token").is_none(), "cookie transport must not put tokens in the body: {}", l.body);
        let access = l.set_cookies.iter().find(|c| c.starts_with(&access_prefix)).expect("access cookie");
        for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(access.contains(attr), "{access} lacks {attr}");
        }
        let r = t.client.get(t.at(route::ME)).header("cookie", cookie_pair(access)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{strategy}");
        let r = t
            .client
            .get(t.at(route::ME))
            .bearer_auth(cookie_pair(access).split_once('=').unwrap().1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{strategy}: bearer must not work on a cookie target");
        let mut cookies = cookie_pair(access).to_owned();
        if strategy == StrategyKind::Hybrid {
            let refresh = l.set_cookies.iter().find(|c| c.starts_with(&refresh_prefix)).expect("refresh cookie");
            assert!(
                refresh.contains("Path=/auth") && refresh.contains("HttpOnly") && refresh.contains("Secure"),
                "{refresh}"
            );
            cookies = format!("{cookies}; {}", cookie_pair(refresh));
            let r = t.client.post(t.at(route::REFRESH)).header("cookie", &cookies).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let next: Vec<String> =
                r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
            let refresh = next.iter().find(|c| c.starts_with(&refresh_prefix)).expect("rotated refresh cookie");
            cookies = format!("{}; {}", cookie_pair(access), cookie_pair(refresh));
        }
        let r = t.client.post(t.at(route::LOGOUT)).header("cookie", &cookies).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cleared: Vec<String> =
            r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert!(
            cleared.iter().any(|c| c.starts_with(&format!("{ACCESS_COOKIE}=;")) && c.contains("Max-Age=0")),
            "{cleared:?}"
        );
        let m = t.metrics().await;
        assert!(sum_metric(&m, metric::AUTH_BYTES_SENT) > 0.0);
        assert!(sum_metric(&m, metric::AUTH_BYTES_RECEIVED) > 0.0);
    }
}

fn raw_exchange(addr: &str, request: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

fn counter(text: &[u8], name: &str) -> u64 {
    let text = String::from_utf8_lossy(text);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    sum_metric(&body, name) as u64
}

#[tokio::test]
async fn socket_bytes_are_counted_exactly() {
    let t = spec(StrategyKind::Jwt).start().await;
    let token = t.login_ok(1).await.token();
    let addr = t.url.trim_start_matches("http://").to_owned();
    let scrape = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\n{}: {}\r\nConnection: close\r\n\r\n",
        route::METRICS,
        contract::CONTROL_KEY_HEADER,
        support::CONTROL_KEY
    );
    let me = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        route::ME
    );
    let (a, s) = (addr.clone(), scrape.clone());
    let (first, me_resp, second) = tokio::task::spawn_blocking(move || {
        let first = raw_exchange(&a, &s);
        let me_resp = raw_exchange(&a, &me);
        let second = raw_exchange(&a, &s);
        (first, me_resp, second)
    })
    .await
    .unwrap();
    assert!(String::from_utf8_lossy(&me_resp).starts_with("HTTP/1.1 200"));
    // A scrape's own request is counted before it renders; its response is counted after.
    let me_len = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        route::ME
    )
    .len() as u64;
    let received = counter(&second, metric::BYTES_RECEIVED) - counter(&first, metric::BYTES_RECEIVED);
    assert_eq!(received, me_len + scrape.len() as u64);
    let sent = counter(&second, metric::BYTES_SENT) - counter(&first, metric::BYTES_SENT);
    assert_eq!(sent, first.len() as u64 + me_resp.len() as u64);
    let auth = counter(&second, metric::AUTH_BYTES_RECEIVED) - counter(&first, metric::AUTH_BYTES_RECEIVED);
    assert_eq!(auth, format!("Authorization: Bearer {token}\r\n").len() as u64);
}
