//! Hardening of the reference services against hostile clients and careless deployments: the
//! control key, server limits, cookie-mode CSRF, information leaks and the services script.
//! Every check is loopback only and bounded; counts and statuses are asserted, never tight timings.

mod support;

use std::time::{Duration, Instant};

use authbench_targets::contract::{self, metric, route, ACCESS_COOKIE, CONTROL_KEY_HEADER};
use authbench_targets::spec::{StoreKind, StrategyKind, Transport};
use authbench_targets::throwaway::Redis;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::{spec, sum_metric, try_start, Target, CONTROL_KEY, FAST_ARGON2};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn args<'a>(base: &[&'a str]) -> Vec<&'a str> {
    let mut v = base.to_vec();
    v.extend(FAST_ARGON2);
    v
}

/// A client that opens a new connection for every request, so connection caps see each one.
fn fresh_client() -> Client {
    Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(5)).build().unwrap()
}

/// Reads until the peer closes or `within` passes; (closed, bytes read).
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> (bool, Vec<u8>) {
    let mut out = Vec::new();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (false, out);
        }
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (true, out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (false, out),
        }
    }
}

// ---- 4: the control key ----

#[tokio::test]
async fn control_keys_shorter_than_16_bytes_are_refused_at_startup() {
    let short = "fifteen-bytes!!";
    type Env<'a> = Vec<(&'a str, &'a str)>;
    let cases: [(&str, Vec<&str>, Env); 4] = [
        ("empty --control-key", vec!["--control-key", ""], vec![]),
        ("15-byte --control-key", vec!["--control-key", short], vec![]),
        ("empty AUTHBENCH_CONTROL_KEY", vec![], vec![("AUTHBENCH_CONTROL_KEY", "")]),
        ("15-byte AUTHBENCH_CONTROL_KEY", vec![], vec![("AUTHBENCH_CONTROL_KEY", short)]),
    ];
    for (what, extra, envs) in cases {
        let mut a = args(&["--strategy", "jwt", "--seed-users", "2"]);
        a.extend(extra);
        match try_start(&a, &envs).await {
            Err(stderr) => {
                assert!(stderr.contains("16 bytes"), "{what}: the refusal does not say what to do: {stderr}");
                assert!(!stderr.contains(short), "{what}: the refusal echoes the key: {stderr}");
            }
            Ok(t) => {
                let r = t.client.post(t.at(&route::revoke(1))).send().await.unwrap();
                panic!("{what}: target started; POST {} without any key answered {}", route::revoke(1), r.status());
            }
        }
    }
}

#[tokio::test]
async fn without_a_control_key_control_and_metrics_answer_403() {
    let t = try_start(&args(&["--strategy", "session", "--store", "memory", "--seed-users", "2"]), &[]).await.unwrap();
    for key in [None, Some(""), Some(CONTROL_KEY)] {
        for path in [route::INFO, route::METRICS] {
            assert_eq!(t.get_with_key(path, key).await.status(), StatusCode::FORBIDDEN, "GET {path} with {key:?}");
        }
        for (path, body) in [
            (route::revoke(1), None),
            (route::role(1), Some(json!({"role": "admin"}))),
            (route::SEED.to_owned(), Some(json!({"count": 1}))),
        ] {
            let mut req = t.client.post(t.at(&path)).header("content-type", "application/json");
            if let Some(k) = key {
                req = req.header(CONTROL_KEY_HEADER, k);
            }
            if let Some(b) = body {
                req = req.body(b.to_string());
            }
            assert_eq!(req.send().await.unwrap().status(), StatusCode::FORBIDDEN, "POST {path} with {key:?}");
        }
    }
    // The target still serves its users.
    let token = t.login_ok(1).await.token();
    assert_eq!(t.me(&token).await, StatusCode::OK);
}

// ---- 7: what an unauthenticated client can learn ----

#[tokio::test]
async fn metrics_and_info_need_the_control_key() {
    let t = spec(StrategyKind::Jwt).start().await;
    assert_eq!(t.me("forged").await, StatusCode::UNAUTHORIZED);
    for path in [route::METRICS, route::INFO] {
        for key in [None, Some(""), Some("wrong-wrong-wrong-wrong")] {
            let r = t.get_with_key(path, key).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "GET {path} with {key:?}");
            let body = r.text().await.unwrap();
            assert!(!body.contains(metric::PREFIX), "GET {path} with {key:?} leaked {body}");
        }
        assert_eq!(t.get_with_key(path, Some(CONTROL_KEY)).await.status(), StatusCode::OK, "GET {path} with the key");
    }
    // The refusals are still counted, for whoever holds the key.
    let m = t.get_with_key(route::METRICS, Some(CONTROL_KEY)).await.text().await.unwrap();
    assert!(sum_metric(&m, &format!("{}{{reason=\"control_denied\"}}", metric::AUTH_FAILURES)) >= 6.0, "{m}");
    assert!(sum_metric(&m, &format!("{}{{reason=\"malformed\"}}", metric::AUTH_FAILURES)) >= 1.0, "{m}");
}

#[tokio::test]
async fn healthz_does_not_echo_store_errors() {
    let mut redis = tokio::task::spawn_blocking(Redis::start)
        .await
        .unwrap()
        .expect("redis-server must be installed (scripts/install-deps.sh)");
    let t = spec(StrategyKind::Session).store_at(StoreKind::Redis, &redis.url()).start().await;
    let ok: Value = t.client.get(t.at(route::HEALTHZ)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ok, json!({"status": "ok", "store": "redis"}));
    redis.stop();
    let r = t.client.get(t.at(route::HEALTHZ)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"status": "degraded", "store": "redis", "error": "store unavailable"}));
}

#[tokio::test]
async fn store_passwords_stay_out_of_startup_errors() {
    let secret = "s3cret-pw-do-not-print";
    let pg = format!("postgres://authbench:{secret}@127.0.0.1:1/postgres");
    let kv = format!("host=127.0.0.1 port=1 user=authbench password={secret} dbname=postgres");
    let redis = format!("redis://:{secret}@127.0.0.1:1");
    let cases = [
        ("--postgres-url", "postgres", vec!["--postgres-url", pg.as_str()], vec![]),
        ("AUTHBENCH_POSTGRES_URL", "postgres", vec![], vec![("AUTHBENCH_POSTGRES_URL", pg.as_str())]),
        ("key=value conninfo", "postgres", vec!["--postgres-url", kv.as_str()], vec![]),
        ("--redis-url", "redis", vec!["--redis-url", redis.as_str()], vec![]),
    ];
    for (what, store, extra, envs) in cases {
        let mut a = args(&["--strategy", "session", "--store", store, "--seed-users", "2"]);
        a.extend(extra);
        let stderr = match try_start(&a, &envs).await {
            Err(stderr) => stderr,
            Ok(_) => panic!("{what}: target started against a closed port"),
        };
        assert!(!stderr.trim().is_empty(), "{what}: no error printed");
        assert!(!stderr.contains(secret), "{what}: password printed: {stderr}");
    }
}

// ---- 5: server limits ----

#[tokio::test]
async fn a_slow_header_client_is_disconnected_while_others_are_served() {
    let t = try_start(&args(&["--strategy", "jwt", "--seed-users", "2", "--header-timeout", "1s"]), &[]).await.unwrap();
    let addr = t.addr();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let a = addr.clone();
    let trickle = tokio::spawn(async move {
        let mut s = TcpStream::connect(&a).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            // One header line every 200 ms: always busy, never finished.
            if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return true;
            }
            match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {} // an error response; the close follows
                Err(_) => {}
            }
        }
        false
    });
    let client = fresh_client();
    for _ in 0..5 {
        let r = client.get(t.at(route::HEALTHZ)).send().await.expect("a normal client is served meanwhile");
        assert_eq!(r.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(trickle.await.unwrap(), "a client trickling headers kept its connection for 20 s (--header-timeout 1s)");
    let (closed, _) = read_until_closed(&mut silent, Duration::from_secs(20)).await;
    assert!(closed, "a silent connection stayed open for 20 s (--header-timeout 1s)");
    let r = client.get(t.at(route::HEALTHZ)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_gets_503() {
    let t =
        try_start(&args(&["--strategy", "jwt", "--seed-users", "2", "--request-timeout", "1s"]), &[]).await.unwrap();
    let mut s = TcpStream::connect(t.addr()).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user",
        route::LOGIN
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (_, got) = read_until_closed(&mut s, Duration::from_secs(20)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "a stalled body got {text:?} within 20 s (--request-timeout 1s)");
    assert_eq!(t.login_ok(1).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_connection_flood_beyond_the_cap_is_refused_and_clients_are_served_after_it() {
    const CAP: usize = 8;
    const FLOOD: usize = 40;
    let t = try_start(
        &args(&["--strategy", "jwt", "--seed-users", "2", "--max-connections", "8", "--header-timeout", "60s"]),
        &[],
    )
    .await
    .unwrap();
    let addr = t.addr();
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Connections over the cap are answered 503 (or just closed) at once; those under it stay open,
    // since the header timeout is long.
    let mut watchers = tokio::task::JoinSet::new();
    for mut s in flood {
        watchers.spawn(async move {
            let (closed, got) = read_until_closed(&mut s, Duration::from_secs(5)).await;
            (closed, String::from_utf8_lossy(&got).starts_with("HTTP/1.1 503"), s)
        });
    }
    // During the flood a well-behaved client is refused, not left hanging.
    let during = fresh_client().get(t.at(route::HEALTHZ)).send().await;
    match &during {
        Ok(r) => assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "during the flood"),
        Err(e) => assert!(!e.is_timeout(), "during the flood a client hung: {e}"),
    }
    let mut closed = 0;
    let mut with_503 = 0;
    let mut held = Vec::new();
    while let Some(r) = watchers.join_next().await {
        let (c, got_503, s) = r.unwrap();
        closed += usize::from(c);
        with_503 += usize::from(got_503);
        held.push(s);
    }
    assert!(closed >= FLOOD - CAP, "only {closed} of {FLOOD} flood connections were refused with a cap of {CAP}");
    assert!(with_503 >= 1, "no flood connection was told 503");
    drop(held);
    // After the flood ends, the client is served again.
    let client = fresh_client();
    let mut served = false;
    for _ in 0..40 {
        if let Ok(r) = client.get(t.at(route::HEALTHZ)).send().await {
            if r.status() == StatusCode::OK {
                served = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(served, "not served within 10 s of the flood's end");
    assert_eq!(t.me(&t.login_ok(1).await.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn a_login_flood_gets_503_with_retry_after_and_the_target_recovers() {
    // One hashing slot, two waiting logins, and a hash slow enough for the flood to pile up.
    let t = try_start(
        &[
            "--strategy",
            "jwt",
            "--seed-users",
            "2",
            "--workers",
            "1",
            "--max-pending-logins",
            "2",
            "--argon2-m-kib",
            "32768",
            "--argon2-t",
            "2",
        ],
        &[],
    )
    .await
    .unwrap();
    let client = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (client, url) = (client.clone(), t.at(route::LOGIN));
        logins.spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .body(contract::login_body(1))
                .send()
                .await
                .expect("login during the flood");
            (r.status(), r.headers().get("retry-after").is_some())
        });
    }
    let (mut ok, mut busy) = (0, 0);
    while let Some(r) = logins.join_next().await {
        let (status, retry_after) = r.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                assert!(retry_after, "{status} without Retry-After");
                busy += 1;
            }
            other => panic!("login flood answered {other}"),
        }
    }
    assert!(busy >= 1, "40 simultaneous logins with 1 slot and 2 waiting places: all {ok} were queued");
    assert!(ok >= 1, "no login of the flood succeeded");
    let token = t.login_ok(1).await.token();
    assert_eq!(t.me(&token).await, StatusCode::OK);
}

// ---- 6: cookie mode and CSRF ----

async fn login_with(t: &Target, content_type: Option<&str>, headers: &[(&str, &str)]) -> (StatusCode, Option<String>) {
    let mut req = t.client.post(t.at(route::LOGIN)).body(contract::login_body(1));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let prefix = format!("{ACCESS_COOKIE}=");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&prefix))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    (r.status(), cookie)
}

#[tokio::test]
async fn json_endpoints_refuse_other_content_types() {
    let bearer = spec(StrategyKind::Jwt).start().await;
    let cookie = spec(StrategyKind::Session).store(StoreKind::Memory).transport(Transport::Cookie).start().await;
    for t in [&bearer, &cookie] {
        for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json"] {
            let (status, set) = login_with(t, Some(ct), &[]).await;
            assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{:?} login as {ct}", t.spec.transport);
            assert!(set.is_none());
        }
        for ct in ["application/json", "application/json; charset=utf-8", "Application/JSON"] {
            assert_eq!(login_with(t, Some(ct), &[]).await.0, StatusCode::OK, "{:?} login as {ct}", t.spec.transport);
        }
        let r = t
            .client
            .post(t.at(&route::role(1)))
            .header(CONTROL_KEY_HEADER, CONTROL_KEY)
            .header("content-type", "text/plain")
            .body(json!({"role": "admin"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "role change as text/plain");
    }
    // Browsers are the clients of cookie mode: an unlabelled body is not taken for JSON there.
    assert_eq!(login_with(&cookie, None, &[]).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn cookie_mode_refuses_cross_site_logins_refreshes_and_logouts() {
    let t = spec(StrategyKind::Session).store(StoreKind::Memory).transport(Transport::Cookie).start().await;
    let same_origin = format!("http://{}", t.addr());
    let json = Some("application/json");
    for refused in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("origin", "http://127.0.0.1.evil.example")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site"), ("origin", same_origin.as_str())],
    ] {
        let (status, cookie) = login_with(&t, json, &refused).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "login with {refused:?}");
        assert!(cookie.is_none(), "login with {refused:?} set a cookie");
    }
    for allowed in [
        vec![],
        vec![("origin", same_origin.as_str())],
        vec![("sec-fetch-site", "same-origin")],
        vec![("sec-fetch-site", "none")],
        vec![("sec-fetch-site", "same-origin"), ("origin", same_origin.as_str())],
    ] {
        assert_eq!(login_with(&t, json, &allowed).await.0, StatusCode::OK, "login with {allowed:?}");
    }
    let cookie = login_with(&t, json, &[]).await.1.expect("access cookie");
    let me = |c: &str| t.client.get(t.at(route::ME)).header("cookie", c.to_owned()).send();
    for path in [route::REFRESH, route::LOGOUT] {
        for hostile in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
            let r =
                t.client.post(t.at(path)).header("cookie", &cookie).header(hostile.0, hostile.1).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {hostile:?}");
            assert!(r.headers().get("set-cookie").is_none(), "{path} with {hostile:?} touched the cookies");
        }
    }
    assert_eq!(me(&cookie).await.unwrap().status(), StatusCode::OK, "a refused logout logged the user out");
    let r = t
        .client
        .post(t.at(route::LOGOUT))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(me(&cookie).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Bearer targets carry no ambient credential, so the rule does not apply to them.
    let bearer = spec(StrategyKind::Jwt).start().await;
    assert_eq!(login_with(&bearer, json, &[("origin", "https://evil.example")]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn duplicate_credential_cookies_are_401() {
    let t = spec(StrategyKind::Hybrid).store(StoreKind::Memory).transport(Transport::Cookie).start().await;
    let login = t.login_ok(1).await;
    let pair = |name: &str| {
        login
            .set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", login.set_cookies))
            .to_owned()
    };
    let access = pair(ACCESS_COOKIE);
    let refresh = pair(contract::REFRESH_COOKIE);
    let get = |headers: Vec<String>| {
        let mut req = t.client.get(t.at(route::ME));
        for h in headers {
            req = req.header("cookie", h);
        }
        req.send()
    };
    assert_eq!(get(vec![access.clone()]).await.unwrap().status(), StatusCode::OK);
    let other = format!("{ACCESS_COOKIE}=attacker-planted");
    for headers in [
        vec![format!("{access}; {access}")],
        vec![format!("{access}; {other}")],
        vec![format!("{other}; {access}")],
        vec![access.clone(), other.clone()],
        vec![other.clone(), access.clone()],
    ] {
        assert_eq!(get(headers.clone()).await.unwrap().status(), StatusCode::UNAUTHORIZED, "{headers:?}");
    }
    let other_refresh = format!("{}=attacker-planted", contract::REFRESH_COOKIE);
    let r = t
        .client
        .post(t.at(route::REFRESH))
        .header("cookie", format!("{other_refresh}; {refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "two refresh cookies");
    let r = t.client.post(t.at(route::REFRESH)).header("cookie", refresh.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the refresh cookie alone still works");
}

// ---- 8: scripts/services.sh ----

fn services(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/services.sh");
    std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .env_remove("AUTHBENCH_SERVICES_DIR")
        .envs(envs.iter().copied())
        .output()
        .expect("running scripts/services.sh")
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn services_default_to_a_fresh_private_directory() {
    let up = services(&["up"], &[]);
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    assert!(up.status.success(), "services.sh up failed: {stderr}");
    let dir = stderr
        .lines()
        .find_map(|l| l.strip_prefix("services.sh: directory "))
        .unwrap_or_else(|| panic!("services.sh up did not say which directory it made: {stderr}"))
        .trim()
        .to_owned();
    let down = services(&["down", "--dir", &dir], &[]);
    assert!(down.status.success(), "services.sh down failed: {}", String::from_utf8_lossy(&down.stderr));
    assert_ne!(dir, "/tmp/authbench-services", "a fixed, guessable directory");
    let up_again = services(&["up"], &[]);
    let stderr2 = String::from_utf8_lossy(&up_again.stderr).into_owned();
    let dir2 = stderr2.lines().find_map(|l| l.strip_prefix("services.sh: directory ")).unwrap_or_default().trim();
    assert!(up_again.status.success(), "{stderr2}");
    let private = mode(std::path::Path::new(dir2));
    let _ = services(&["down", "--dir", dir2], &[]);
    assert_ne!(dir, dir2, "two runs shared a directory");
    assert_eq!(private, 0o700, "{dir2} is readable by others");
    // down and status need to be told which directory.
    assert!(!services(&["status"], &[]).status.success());
}

#[test]
fn services_under_a_private_parent_start_or_say_why_not() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::Builder::new().prefix("authbench-private").tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = parent.path().join("svc");
    let dir = dir.to_str().unwrap();
    let up = services(&["up", "--dir", dir], &[]);
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    let down = services(&["down", "--dir", dir], &[]);
    assert!(up.status.success(), "services.sh up under a 0700 parent failed: {stderr}");
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    let env = String::from_utf8_lossy(&up.stdout);
    assert!(env.contains("AUTHBENCH_POSTGRES_URL=postgres://"), "{env}");
}

#[test]
fn services_refuse_a_directory_someone_else_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let shared = parent.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let up = services(&["up", "--dir", shared.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    if up.status.success() {
        let _ = services(&["down", "--dir", shared.to_str().unwrap()], &[]);
        panic!("services.sh used a world-writable directory: {stderr}");
    }
    assert!(stderr.contains("writable"), "{stderr}");
}
