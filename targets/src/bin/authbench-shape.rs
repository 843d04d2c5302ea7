//! `authbench-shape`: the same-shape handlers a target is measured against. Each serves
//! `GET /api/me` doing only the work its strategy needs — verify an HS256 token with the same
//! claim checks, one Redis `GET` of the session key over one multiplexed client, one prepared
//! PostgreSQL primary-key select through a pool of 8, or nothing at all (`floor`) — and answers the
//! same small JSON body, with no metrics, no byte counting, no timeouts and no middleware. It reads
//! the keys and the store records a running `authbench-target` wrote, so one credential works on
//! both; `scripts/same-shape.sh` runs each beside its target and prints the ratios. Loopback
//! benchmarks only: it refuses any other listen address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use clap::{Parser, ValueEnum};
use fred::prelude::{Builder, ClientLike, Config as RedisConfig, KeysInterface, TcpConfig};
use serde::Serialize;

use authbench_targets::config::{AUDIENCE, ISSUER};
use authbench_targets::spec::Ttls;
use authbench_targets::token::alg::Alg;
use authbench_targets::token::jwt::{JwtCodec, TYP_JWT};
use authbench_targets::token::{keys, opaque, unix_now};

/// Which handler to serve.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    /// No credential check: the HTTP stack alone.
    Floor,
    /// HS256 verification with the jwt strategy's claim checks.
    Jwt,
    /// One Redis GET of the session record.
    Redis,
    /// One prepared PostgreSQL select of the session record.
    Postgres,
}

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum)]
    kind: Kind,
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where the target keeps its signing key (jwt).
    #[arg(long)]
    key_dir: Option<PathBuf>,
    /// The target's --namespace (redis, postgres).
    #[arg(long, default_value = "authbench")]
    namespace: String,
    #[arg(long, env = "AUTHBENCH_REDIS_URL")]
    redis_url: Option<String>,
    #[arg(long, env = "AUTHBENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

/// The body every handler answers, the shape of the targets' /api/me.
#[derive(Serialize)]
struct Me {
    id: u64,
    username: String,
    role: String,
}

enum Check {
    Floor,
    Jwt(Box<JwtCodec>),
    Redis { client: fred::clients::Client, prefix: String },
    Postgres { pool: deadpool_postgres::Pool, sql: String },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.listen.ip().is_loopback(), "--listen must be a loopback address: this is a benchmark fixture");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()
        .context("starting the async runtime failed")?
        .block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let check = Arc::new(connect(&args).await?);
    let app = Router::new().route("/api/me", get(me)).with_state(check);
    let listener = tokio::net::TcpListener::bind(args.listen).await.context("binding --listen failed")?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await.context("serving failed")
}

async fn connect(args: &Args) -> anyhow::Result<Check> {
    let need = |v: &Option<String>, flag: &str| v.clone().with_context(|| format!("--kind needs {flag}"));
    Ok(match args.kind {
        Kind::Floor => Check::Floor,
        Kind::Jwt => {
            let dir = args.key_dir.as_deref().context("--kind jwt needs --key-dir (the target's)")?;
            let material = keys::load_or_generate(dir, Alg::Hs256)?;
            Check::Jwt(Box::new(JwtCodec::new(Alg::Hs256, material, Ttls::TOKEN.secs(), 0, TYP_JWT, ISSUER, AUDIENCE)))
        }
        Kind::Redis => {
            let url = need(&args.redis_url, "--redis-url")?;
            // Nagle off, as the target has it (and any latency-minded client): with it on, replies
            // would batch into fewer packets and the comparison would measure the socket setting.
            let client = Builder::from_config(RedisConfig::from_url(&url)?)
                .with_connection_config(|c| c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() })
                .build()?;
            client.init().await.context("connecting to Redis failed")?;
            Check::Redis { client, prefix: format!("{}:s:", args.namespace) }
        }
        Kind::Postgres => {
            let url = need(&args.postgres_url, "--postgres-url")?;
            let cfg: tokio_postgres::Config = url.parse()?;
            let manager = deadpool_postgres::Manager::from_config(
                cfg,
                tokio_postgres::NoTls,
                deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
            );
            let pool = deadpool_postgres::Pool::builder(manager).max_size(8).build()?;
            let sql = format!(
                "SELECT user_id, username, role FROM {}.sessions WHERE token_hash = $1 AND expires_at > $2",
                args.namespace
            );
            Check::Postgres { pool, sql }
        }
    })
}

async fn me(State(check): State<Arc<Check>>, headers: HeaderMap) -> Result<Json<Me>, StatusCode> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let me = match &*check {
        Check::Floor => Me { id: 1, username: "user1".into(), role: "user".into() },
        Check::Jwt(codec) => {
            let (id, c) = codec.verify(token, unix_now()).map_err(|_| StatusCode::UNAUTHORIZED)?;
            Me { id, username: c.name, role: c.role.as_str().into() }
        }
        Check::Redis { client, prefix } => {
            let mut key = String::with_capacity(prefix.len() + 64);
            key.push_str(prefix);
            opaque::push_hex(&mut key, &opaque::hash_text(token).0);
            let v: Option<String> = client.get(key).await.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
            // "uid role exp deadline prev username", as the target stores it.
            let v = v.ok_or(StatusCode::UNAUTHORIZED)?;
            let f: Vec<&str> = v.splitn(6, ' ').collect();
            let (Some(id), Some(role), Some(name)) = (f.first(), f.get(1), f.get(5)) else {
                return Err(StatusCode::UNAUTHORIZED);
            };
            Me { id: id.parse().map_err(|_| StatusCode::UNAUTHORIZED)?, username: (*name).into(), role: (*role).into() }
        }
        Check::Postgres { pool, sql } => {
            let client = pool.get().await.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
            let stmt = client.prepare_cached(sql).await.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
            let hash = opaque::hash_text(token).0;
            let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
            let row = client
                .query_opt(&stmt, &[&&hash[..], &now])
                .await
                .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
                .ok_or(StatusCode::UNAUTHORIZED)?;
            let id: i64 = row.get(0);
            Me { id: u64::try_from(id).unwrap_or(0), username: row.get(1), role: row.get(2) }
        }
    };
    Ok(Json(me))
}
