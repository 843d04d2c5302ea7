//! Starts real `authbench-target` processes against real stores and talks HTTP to them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use authbench_targets::contract::{self, route, Info, CONTROL_KEY_HEADER};
use authbench_targets::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use authbench_targets::token::alg::Alg;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const CONTROL_KEY: &str = "test-control-key";

/// Users seeded when a test does not ask for a number.
const DEFAULT_SEED_USERS: u64 = 10;

/// Store URL from the environment that scripts/test.sh sets up; a missing one is a failure, not a skip.
pub fn store_url(store: StoreKind) -> String {
    let var = match store {
        StoreKind::Postgres => "AUTHBENCH_POSTGRES_URL",
        StoreKind::Redis => "AUTHBENCH_REDIS_URL",
        StoreKind::RedisCluster => "AUTHBENCH_REDIS_CLUSTER_URL",
        StoreKind::Memory => panic!("no URL for store {store}"),
    };
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests with scripts/test.sh, or `scripts/services.sh up` and source the env it prints")
    })
}

/// The flag that points a target at a store's server.
pub fn store_url_flag(store: StoreKind) -> String {
    format!("--{store}-url")
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A running target process, killed on drop.
pub struct Target {
    child: Child,
    /// The configuration it was started with.
    pub spec: TargetSpec,
    pub url: String,
    pub key_dir: PathBuf,
    pub client: Client,
    /// The target's own key directory, deleted with it; None when the test shares one.
    _own_keys: Option<tempfile::TempDir>,
}

/// Builder for a target process: a [`TargetSpec`] plus the flags that only concern the process.
pub struct Spec {
    /// What the target serves; its flags come from [`TargetSpec::args`].
    pub target: TargetSpec,
    /// Store URLs given explicitly (a dedicated throwaway server) instead of from the environment.
    urls: Vec<(StoreKind, String)>,
    /// Process-only flags (`--session-idle`, `--leeway`, ...).
    extra: Vec<String>,
    seed_users: u64,
    key_dir: Option<PathBuf>,
}

/// A target of `strategy` with every other setting at its default; session and hybrid need [`Spec::store`].
pub fn spec(strategy: StrategyKind) -> Spec {
    Spec::from(TargetSpec { strategy, ..TargetSpec::jwt(Alg::Hs256) })
}

impl From<TargetSpec> for Spec {
    fn from(target: TargetSpec) -> Spec {
        Spec { target, urls: Vec::new(), extra: Vec::new(), seed_users: DEFAULT_SEED_USERS, key_dir: None }
    }
}

impl Spec {
    pub fn store(mut self, store: StoreKind) -> Self {
        self.target.store = Some(store);
        self
    }

    /// A store at a specific URL (a dedicated throwaway server).
    pub fn store_at(mut self, store: StoreKind, url: &str) -> Self {
        self.urls.push((store, url.to_owned()));
        self.store(store)
    }

    pub fn denylist(mut self, store: StoreKind) -> Self {
        self.target.denylist = Some(store);
        self
    }

    pub fn alg(mut self, alg: Alg) -> Self {
        self.target.alg = alg;
        self
    }

    pub fn transport(mut self, transport: Transport) -> Self {
        self.target.transport = transport;
        self
    }

    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.target.ttls.access.0 = ttl;
        self
    }

    pub fn seed_users(mut self, n: u64) -> Self {
        self.seed_users = n;
        self
    }

    /// A process-only flag; what the target serves is set through the typed methods above.
    pub fn arg(mut self, k: &str, v: &str) -> Self {
        let spec_flags =
            TargetSpec { store: Some(StoreKind::Memory), denylist: Some(StoreKind::Memory), ..self.target };
        assert!(
            !spec_flags.args().iter().any(|a| a == k) && !k.ends_with("-url") && k != "--seed-users",
            "{k} has a typed setter on support::Spec"
        );
        self.extra.extend([k.into(), v.into()]);
        self
    }

    pub fn key_dir(mut self, dir: PathBuf) -> Self {
        self.key_dir = Some(dir);
        self
    }

    /// Everything on the target's command line except the key directory.
    fn args(&self) -> Vec<String> {
        let mut args = self.target.args();
        for store in [self.target.store, self.target.denylist].into_iter().flatten() {
            if store == StoreKind::Memory {
                continue;
            }
            let url = match self.urls.iter().find(|(s, _)| *s == store) {
                Some((_, url)) => url.clone(),
                None => store_url(store),
            };
            args.extend([store_url_flag(store), url]);
        }
        args.extend(self.extra.iter().cloned());
        args.extend(["--seed-users".into(), self.seed_users.to_string()]);
        args.extend(["--control-key", CONTROL_KEY, "--argon2-m-kib", "256", "--argon2-t", "1"].map(String::from));
        args.extend(["--namespace".into(), unique("t")]);
        args
    }

    pub async fn start(self) -> Target {
        self.target.validate().unwrap_or_else(|e| panic!("test asks for an impossible target {:?}: {e}", self.target));
        let args = self.args();
        let (key_dir, own_keys) = match self.key_dir {
            Some(dir) => (dir, None),
            None => {
                let t = tempfile::Builder::new().prefix("authbench_keys").tempdir().expect("temporary key directory");
                (t.path().to_owned(), Some(t))
            }
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_authbench-target"))
            .args(&args)
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
            .unwrap_or_else(|| panic!("target exited before listening; args {args:?}"));
        let url =
            first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {first:?}")).to_owned();
        assert!(url.starts_with(&format!("{}://127.0.0.1:", self.target.scheme())), "{url}");
        let client = client_for(&self.target, &key_dir).timeout(Duration::from_secs(10)).build().expect("http client");
        Target { child, spec: self.target, url, key_dir, client, _own_keys: own_keys }
    }
}

/// A client builder for a target: over TLS it trusts only the certificate the target wrote to its
/// key directory and speaks the configured protocol (HTTP/1.1 only, or h2 offered by ALPN).
pub fn client_for(spec: &TargetSpec, key_dir: &std::path::Path) -> reqwest::ClientBuilder {
    let builder = Client::builder();
    if !spec.tls {
        return builder;
    }
    let path = key_dir.join(authbench_targets::tls::CERT_FILE);
    let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cert = reqwest::Certificate::from_pem(&pem).expect("the target's certificate is PEM");
    let builder = builder.tls_certs_only([cert]);
    match spec.protocol {
        authbench_targets::spec::Protocol::Http1 => builder.http1_only(),
        authbench_targets::spec::Protocol::H2 => builder,
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
            .post(self.at(route::LOGIN))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "username": user, "password": password }).to_string())
            .send()
            .await
            .expect("login request");
        let status = r.status();
        let set_cookies = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let body = r.json().await.unwrap_or(Value::Null);
        Login { status, body, set_cookies }
    }

    /// Logs seeded user `id` in with its seeded password and expects success.
    pub async fn login_ok(&self, id: u64) -> Login {
        let l = self.login(&contract::username(id), &contract::password(id)).await;
        assert_eq!(l.status, StatusCode::OK, "login {}: {}", contract::username(id), l.body);
        l
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client.get(self.at(path)).bearer_auth(token).send().await.expect("GET")
    }

    pub async fn me(&self, token: &str) -> StatusCode {
        self.get_bearer(route::ME, token).await.status()
    }

    pub async fn admin(&self, token: &str) -> StatusCode {
        self.get_bearer(route::ADMIN, token).await.status()
    }

    pub async fn control(&self, path: &str, body: Option<Value>) -> Response {
        let mut req = self.client.post(self.at(path)).header(CONTROL_KEY_HEADER, CONTROL_KEY);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        req.send().await.expect("control request")
    }

    pub async fn revoke(&self, id: u64) {
        let r = self.control(&route::revoke(id), None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub async fn set_role(&self, id: u64, role: &str) {
        let r = self.control(&route::role(id), Some(serde_json::json!({ "role": role }))).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub async fn refresh_body(&self, refresh: &str) -> Response {
        self.client
            .post(self.at(route::REFRESH))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "refresh_token": refresh }).to_string())
            .send()
            .await
            .expect("refresh")
    }

    pub async fn metrics(&self) -> String {
        let req = self.client.get(self.at(route::METRICS)).header(CONTROL_KEY_HEADER, CONTROL_KEY);
        req.send().await.expect("metrics").text().await.expect("metrics body")
    }

    /// Sum of every sample of a metric family whose line starts with `prefix`.
    pub async fn metric_sum(&self, prefix: &str) -> f64 {
        sum_metric(&self.metrics().await, prefix)
    }

    pub async fn info(&self) -> Info {
        let req = self.client.get(self.at(route::INFO)).header(CONTROL_KEY_HEADER, CONTROL_KEY);
        req.send().await.expect("info").json().await.expect("info json")
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

/// Lifetimes without a typed setter above, for tests of expiry, leeway and the absolute cap.
impl Spec {
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.target.ttls.token.0 = ttl;
        self
    }

    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.target.ttls.refresh.0 = ttl;
        self
    }

    pub fn absolute_ttl(mut self, ttl: Duration) -> Self {
        self.target.ttls.absolute.0 = ttl;
        self
    }
}

impl Target {
    /// POSTs to `path` with the token as the bearer credential (jwt refresh and logout).
    pub async fn post_bearer(&self, path: &str, token: &str) -> Response {
        self.client.post(self.at(path)).bearer_auth(token).send().await.expect("POST")
    }

    /// The access token of a successful jwt refresh.
    pub async fn refresh_bearer_ok(&self, token: &str) -> String {
        let r = self.post_bearer(route::REFRESH, token).await;
        assert_eq!(r.status(), StatusCode::OK, "refresh");
        let body: Value = r.json().await.expect("refresh body");
        body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token in {body}")).to_owned()
    }
}

/// The payload of a JWT, unverified: for asserting what a target put into the tokens it issued.
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap_or_else(|| panic!("not a JWT: {token:.40}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// The header of a JWT, unverified.
pub fn jwt_header(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64url header");
    serde_json::from_slice(&bytes).expect("JSON header")
}

/// A target started with exactly `args` (plus a temporary key directory and a unique namespace) and
/// `envs`, without AUTHBENCH_CONTROL_KEY from the test's environment; or, when it refused to start,
/// what it printed on stderr.
pub async fn try_start(args: &[&str], envs: &[(&str, &str)]) -> Result<Target, String> {
    use std::sync::{Arc, Mutex};
    let keys = tempfile::Builder::new().prefix("authbench_keys").tempdir().expect("temporary key directory");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authbench-target"));
    cmd.args(args)
        .arg("--key-dir")
        .arg(keys.path())
        .args(["--namespace".to_owned(), unique("h")])
        .env_remove("AUTHBENCH_CONTROL_KEY")
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()))
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawning authbench-target");
    let captured = Arc::new(Mutex::new(String::new()));
    let mut err_lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
    let sink = Arc::clone(&captured);
    let drain = tokio::spawn(async move {
        while let Ok(Some(line)) = err_lines.next_line().await {
            eprintln!("target: {line}");
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("target neither listened nor exited within 30 s")
        .expect("reading target stdout");
    let Some(first) = first else {
        let _ = child.wait().await;
        let _ = drain.await;
        let text = captured.lock().unwrap().clone();
        return Err(text);
    };
    let url =
        first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {first:?}")).to_owned();
    let argv = std::iter::once("authbench-target").chain(args.iter().copied());
    let spec = <authbench_targets::config::Config as clap::Parser>::try_parse_from(argv)
        .map(|c| c.spec)
        .unwrap_or_else(|_| TargetSpec::jwt(Alg::Hs256));
    let client = client_for(&spec, keys.path()).timeout(Duration::from_secs(10)).build().expect("http client");
    Ok(Target { child, spec, url, key_dir: keys.path().to_owned(), client, _own_keys: Some(keys) })
}

/// Cheap argon2 settings for targets started with [`try_start`].
pub const FAST_ARGON2: [&str; 4] = ["--argon2-m-kib", "256", "--argon2-t", "1"];

impl Target {
    /// GET with the control key in its header.
    pub async fn get_with_key(&self, path: &str, key: Option<&str>) -> Response {
        let mut req = self.client.get(self.at(path));
        if let Some(k) = key {
            req = req.header(CONTROL_KEY_HEADER, k);
        }
        req.send().await.expect("GET")
    }

    /// host:port the target listens on.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").trim_start_matches("https://").to_owned()
    }
}

/// A strategy built in this process (no HTTP, no child process) by [`in_process`].
pub struct InProcess {
    pub auth: authbench_targets::strategy::Auth,
    /// Its namespace: the PostgreSQL schema and the prefix of its Redis keys.
    pub namespace: String,
    _keys: tempfile::TempDir,
}

/// A strategy built in this process on a fresh namespace of `store`, for tests that drive the store
/// through `Auth` directly: races, lifetimes, index sizes. `extra` are further target flags
/// (`--absolute-ttl 3s`, ...).
pub async fn in_process(strategy: StrategyKind, store: StoreKind, extra: &[&str]) -> InProcess {
    in_process_at(strategy, store, &unique("r"), extra).await
}

/// [`in_process`] on a given namespace: a second target sharing the first one's records.
pub async fn in_process_at(strategy: StrategyKind, store: StoreKind, namespace: &str, extra: &[&str]) -> InProcess {
    use clap::Parser as _;
    let keys = tempfile::Builder::new().prefix("authbench_keys").tempdir().expect("temporary key directory");
    let mut args: Vec<String> = ["authbench-target", "--strategy", strategy.as_str(), "--store", store.as_str()]
        .into_iter()
        .chain(["--seed-users", "8", "--argon2-m-kib", "256", "--argon2-t", "1"])
        .map(String::from)
        .collect();
    let namespace = namespace.to_owned();
    args.extend(["--key-dir".into(), keys.path().display().to_string(), "--namespace".into(), namespace.clone()]);
    if store != StoreKind::Memory {
        args.extend([store_url_flag(store), store_url(store)]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let cfg = authbench_targets::config::Config::try_parse_from(&args).expect("test target configuration");
    let metrics = std::sync::Arc::new(authbench_targets::metrics::Metrics::new());
    let auth = authbench_targets::strategy::Auth::build(&cfg, metrics, 4).await.expect("building the strategy");
    InProcess { auth, namespace, _keys: keys }
}

/// A plain client to each server behind a Redis or Redis Cluster store URL (in a cluster, each
/// node, which answers for the keys of its slots).
async fn redis_nodes(store: StoreKind) -> Vec<fred::prelude::Client> {
    use fred::prelude::*;
    let url = store_url(store);
    let config = Config::from_url(&url).expect("a Redis URL");
    let servers: Vec<Server> = match config.server {
        ServerConfig::Clustered { hosts, .. } => hosts,
        ServerConfig::Centralized { server } => vec![server],
        other => panic!("unexpected Redis server config {other:?}"),
    };
    let mut clients = Vec::new();
    for server in servers {
        let node = Config { server: ServerConfig::Centralized { server }, ..Config::default() };
        let client = Builder::from_config(node).build().expect("a Redis client");
        client.init().await.expect("connecting to a Redis node");
        clients.push(client);
    }
    clients
}

/// Every key under `namespace` on the servers behind `store` (Redis or Redis Cluster).
pub async fn redis_keys(store: StoreKind, namespace: &str) -> Vec<String> {
    use fred::prelude::*;
    use fred::types::CustomCommand;
    let pattern = format!("{namespace}:*");
    let mut all = Vec::new();
    for client in redis_nodes(store).await {
        let (_, keys): (String, Vec<String>) = client
            .custom(CustomCommand::new_static("SCAN", None, false), vec!["0", "MATCH", &pattern, "COUNT", "100000"])
            .await
            .unwrap();
        all.extend(keys);
        let _ = client.quit().await;
    }
    all
}

/// Members of every Redis set and sorted set under `namespace`: the indexes a store keeps beside
/// its records (on every node of a cluster).
pub async fn redis_index_members(store: StoreKind, namespace: &str) -> u64 {
    use fred::prelude::*;
    use fred::types::CustomCommand;
    let pattern = format!("{namespace}:*");
    let mut members = 0;
    for client in redis_nodes(store).await {
        let (_, keys): (String, Vec<String>) = client
            .custom(CustomCommand::new_static("SCAN", None, false), vec!["0", "MATCH", &pattern, "COUNT", "100000"])
            .await
            .unwrap();
        for k in keys {
            let kind: String =
                client.custom(CustomCommand::new_static("TYPE", None, false), vec![k.as_str()]).await.unwrap();
            let count = match kind.as_str() {
                "set" => "SCARD",
                "zset" => "ZCARD",
                _ => continue,
            };
            let n: u64 = client.custom(CustomCommand::new_static(count, None, false), vec![k.as_str()]).await.unwrap();
            members += n;
        }
        let _ = client.quit().await;
    }
    members
}
