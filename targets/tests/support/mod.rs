//! Starts real `authbench-target` processes against real stores and talks HTTP to them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const CONTROL_KEY: &str = "test-control-key";

/// Store URL from the environment that scripts/test.sh sets up; a missing one is a failure, not a skip.
pub fn store_url(store: &str) -> String {
    let var = match store {
        "postgres" => "AUTHBENCH_POSTGRES_URL",
        "redis" => "AUTHBENCH_REDIS_URL",
        other => panic!("no URL for store {other}"),
    };
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests with scripts/test.sh, or `scripts/services.sh up` and source the env it prints")
    })
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A running target process, killed on drop.
pub struct Target {
    child: Child,
    pub url: String,
    pub key_dir: PathBuf,
    pub client: Client,
    /// The target's own key directory, deleted with it; None when the test shares one.
    _own_keys: Option<tempfile::TempDir>,
}

/// Builder for a target's command line.
pub struct Spec {
    args: Vec<String>,
    key_dir: Option<PathBuf>,
}

pub fn spec(strategy: &str) -> Spec {
    Spec { args: vec!["--strategy".into(), strategy.into()], key_dir: None }
}

impl Spec {
    pub fn store(mut self, store: &str) -> Self {
        self.args.extend(["--store".into(), store.into()]);
        self.with_url(store)
    }

    /// A store at a specific URL (a dedicated throwaway server).
    pub fn store_at(mut self, store: &str, url: &str) -> Self {
        self.args.extend(["--store".into(), store.into(), format!("--{store}-url"), url.into()]);
        self
    }

    pub fn denylist(mut self, store: &str) -> Self {
        self.args.extend(["--denylist".into(), store.into()]);
        self.with_url(store)
    }

    fn with_url(mut self, store: &str) -> Self {
        match store {
            "postgres" => self.args.extend(["--postgres-url".into(), store_url("postgres")]),
            "redis" => self.args.extend(["--redis-url".into(), store_url("redis")]),
            _ => {}
        }
        self
    }

    pub fn arg(mut self, k: &str, v: &str) -> Self {
        self.args.extend([k.into(), v.into()]);
        self
    }

    pub fn key_dir(mut self, dir: PathBuf) -> Self {
        self.key_dir = Some(dir);
        self
    }

    pub async fn start(self) -> Target {
        let (key_dir, own_keys) = match self.key_dir {
            Some(dir) => (dir, None),
            None => {
                let t = tempfile::Builder::new().prefix("authbench_keys").tempdir().expect("temporary key directory");
                (t.path().to_owned(), Some(t))
            }
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_authbench-target"))
            .args(&self.args)
            .args(if self.args.iter().any(|a| a == "--seed-users") { &[][..] } else { &["--seed-users", "10"][..] })
            .args(["--control-key", CONTROL_KEY, "--argon2-m-kib", "256", "--argon2-t", "1"])
            .args(["--namespace", &unique("t")])
            .arg("--key-dir")
            .arg(&key_dir)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawning authbench-target");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("target did not print its address within 30 s")
            .expect("reading target stdout")
            .unwrap_or_else(|| panic!("target exited before listening; args {:?}", self.args));
        let url =
            first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {first:?}")).to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let client = Client::builder().timeout(Duration::from_secs(10)).build().expect("http client");
        Target { child, url, key_dir, client, _own_keys: own_keys }
    }
}

/// A login's outcome.
pub struct Login {
    pub status: StatusCode,
    pub body: Value,
    pub set_cookies: Vec<String>,
}

impl Login {
    pub fn token(&self) -> String {
        self.body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token in {}", self.body)).to_owned()
    }

    pub fn refresh_token(&self) -> String {
        self.body["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh_token in {}", self.body)).to_owned()
    }
}

impl Target {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn login(&self, user: &str, password: &str) -> Login {
        let r = self
            .client
            .post(self.at("/auth/login"))
            .body(serde_json::json!({ "username": user, "password": password }).to_string())
            .send()
            .await
            .expect("login request");
        let status = r.status();
        let set_cookies = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let body = r.json().await.unwrap_or(Value::Null);
        Login { status, body, set_cookies }
    }

    pub async fn login_ok(&self, id: u32) -> Login {
        let l = self.login(&format!("user{id}"), &format!("pass-{id}")).await;
        assert_eq!(l.status, StatusCode::OK, "login user{id}: {}", l.body);
        l
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client.get(self.at(path)).bearer_auth(token).send().await.expect("GET")
    }

    pub async fn me(&self, token: &str) -> StatusCode {
        self.get_bearer("/api/me", token).await.status()
    }

    pub async fn admin(&self, token: &str) -> StatusCode {
        self.get_bearer("/api/admin", token).await.status()
    }

    pub async fn control(&self, path: &str, body: Option<Value>) -> Response {
        let mut req = self.client.post(self.at(path)).header("x-control-key", CONTROL_KEY);
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        req.send().await.expect("control request")
    }

    pub async fn revoke(&self, id: u32) {
        let r = self.control(&format!("/control/users/{id}/revoke"), None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub async fn set_role(&self, id: u32, role: &str) {
        let r = self.control(&format!("/control/users/{id}/role"), Some(serde_json::json!({ "role": role }))).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub async fn refresh_body(&self, refresh: &str) -> Response {
        self.client
            .post(self.at("/auth/refresh"))
            .body(serde_json::json!({ "refresh_token": refresh }).to_string())
            .send()
            .await
            .expect("refresh")
    }

    pub async fn metrics(&self) -> String {
        self.client.get(self.at("/metrics")).send().await.expect("metrics").text().await.expect("metrics body")
    }

    /// Sum of every sample of a metric family whose line starts with `prefix`.
    pub async fn metric_sum(&self, prefix: &str) -> f64 {
        sum_metric(&self.metrics().await, prefix)
    }

    pub async fn info(&self) -> Value {
        self.client.get(self.at("/control/info")).send().await.expect("info").json().await.expect("info json")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

pub fn sum_metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}
