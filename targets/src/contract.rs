//! The HTTP contract every target serves, declared once: routes, cookie and header names, the
//! seeded credentials, metric names and the /control/info document. Clients (scenarios, probe,
//! scrape) read these instead of repeating literals.

use serde::{Deserialize, Serialize};

use crate::spec::{StoreKind, StrategyKind, TargetSpec, Transport};
use crate::token::alg::Alg;

/// Routes, as axum matches them and as metrics label them.
pub mod route {
    pub const LOGIN: &str = "/auth/login";
    pub const REFRESH: &str = "/auth/refresh";
    pub const LOGOUT: &str = "/auth/logout";
    pub const ME: &str = "/api/me";
    pub const ADMIN: &str = "/api/admin";
    pub const JWKS: &str = "/.well-known/jwks.json";
    pub const HEALTHZ: &str = "/healthz";
    pub const METRICS: &str = "/metrics";
    pub const REVOKE: &str = "/control/users/{id}/revoke";
    pub const ROLE: &str = "/control/users/{id}/role";
    pub const INFO: &str = "/control/info";
    pub const SEED: &str = "/control/sessions/seed";

    /// Every route, for labelling requests by the route they matched.
    pub const ALL: [&str; 12] = [LOGIN, REFRESH, LOGOUT, ME, ADMIN, JWKS, HEALTHZ, METRICS, REVOKE, ROLE, INFO, SEED];

    /// Whether a matched route is part of the control API.
    pub fn is_control(matched: &str) -> bool {
        matched.starts_with("/control/")
    }

    /// The revoke route for one user.
    pub fn revoke(user: u64) -> String {
        REVOKE.replace("{id}", &user.to_string())
    }

    /// The role route for one user.
    pub fn role(user: u64) -> String {
        ROLE.replace("{id}", &user.to_string())
    }
}

/// Access credential cookie; `__Host-` pins it to this origin, path `/`, Secure.
pub const ACCESS_COOKIE: &str = "__Host-authbench";

/// Hybrid refresh cookie; scoped to /auth so it is not sent with every API call, hence `__Secure-`.
pub const REFRESH_COOKIE: &str = "__Secure-authbench-refresh";

/// The value a `Set-Cookie` header gives cookie `name`, if it sets that cookie to something.
pub fn set_cookie_value<'a>(set_cookie: &'a str, name: &str) -> Option<&'a str> {
    let (n, v) = set_cookie.split(';').next()?.split_once('=')?;
    (n.trim() == name && !v.is_empty()).then_some(v)
}

/// Header that carries the control key on /control routes.
pub const CONTROL_KEY_HEADER: &str = "x-control-key";

/// Seeded user 0 is the admin; every other seeded user has role `user`.
pub const ADMIN_USER: u64 = 0;

/// Username of seeded user `id`.
pub fn username(id: u64) -> String {
    format!("user{id}")
}

/// Password of seeded user `id` (benchmark fixtures, never real accounts).
pub fn password(id: u64) -> String {
    format!("pass-{id}")
}

/// The JSON body a client posts to log seeded user `id` in.
pub fn login_body(id: u64) -> String {
    format!(r#"{{"username":"{}","password":"{}"}}"#, username(id), password(id))
}

/// Prometheus names as served on /metrics (counters carry the `_total` suffix).
pub mod metric {
    pub const PREFIX: &str = "authbench";
    pub const HTTP_REQUESTS: &str = "authbench_http_requests_total";
    pub const AUTH_FAILURES: &str = "authbench_auth_failures_total";
    pub const STORE_OPERATIONS: &str = "authbench_store_operations_total";
    pub const STORE_SECONDS_SUM: &str = "authbench_store_operation_duration_seconds_sum";
    /// Seconds PostgreSQL connections were checked out of the target's pool (Redis's are shared).
    pub const STORE_POOL_HELD_SECONDS: &str = "authbench_store_pool_held_seconds_total";
    pub const BYTES_RECEIVED: &str = "authbench_http_bytes_received_total";
    pub const BYTES_SENT: &str = "authbench_http_bytes_sent_total";
    pub const CONNECTIONS: &str = "authbench_http_connections_total";
    pub const AUTH_BYTES_RECEIVED: &str = "authbench_auth_bytes_received_total";
    pub const AUTH_BYTES_SENT: &str = "authbench_auth_bytes_sent_total";
    /// TLS handshakes completed, labelled by the key exchange `group` negotiated (`--tls` only).
    pub const TLS_HANDSHAKES: &str = "authbench_tls_handshakes_total";
    /// Socket bytes of completed TLS handshakes, `direction` = received or sent (`--tls` only).
    pub const TLS_HANDSHAKE_BYTES: &str = "authbench_tls_handshake_bytes_total";
    /// User + system CPU seconds of the target process (the Prometheus process-collector name,
    /// unprefixed), so a harness that did not start the target still reads its CPU.
    pub const PROCESS_CPU_SECONDS: &str = "process_cpu_seconds_total";
    /// Resident memory of the target process in bytes (the Prometheus process-collector name).
    pub const PROCESS_RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
    /// When the target process started, seconds since the Unix epoch (the process-collector name):
    /// two scrapes that read different values reached different processes.
    pub const PROCESS_START_TIME: &str = "process_start_time_seconds";
    /// The store operation a health check makes; not part of any request's cost.
    pub const PING_OP: &str = "ping";
}

/// How long a revoked user, or a demoted admin, can still be served, and at what per-request cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Store operations an ordinary authenticated request costs.
    pub store_ops_per_request: u32,
    /// What logout invalidates.
    pub logout: String,
    /// When a revoke-all takes effect.
    pub revoke: String,
    /// Upper bound, in seconds, of the window in which a revoked credential is still accepted;
    /// None when there is none (the `none` strategy never refuses a credential).
    pub revoke_window_bound_s: Option<u64>,
    /// Upper bound, in seconds, of the window in which an old role is still honoured.
    pub role_change_window_bound_s: Option<u64>,
    /// Upper bound, in seconds, of the window in which a logged-out credential is still accepted;
    /// None when there is none (`none`). Absent in documents of older targets.
    #[serde(default)]
    pub logout_window_bound_s: Option<u64>,
    /// What /auth/refresh does for this strategy.
    pub refresh: String,
    /// Whether replicas of this configuration behind a balancer agree on a credential; None in
    /// documents of older targets.
    #[serde(default)]
    pub replicas: Option<crate::spec::ReplicaState>,
}

/// Lifetimes in seconds as /control/info reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoTtls {
    pub token: u64,
    pub access: u64,
    pub refresh: u64,
    pub session: u64,
    pub absolute: u64,
    pub session_idle: u64,
    pub leeway: u64,
}

/// Argon2id parameters of the password hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

/// The /control/info document: what a running target is and what it guarantees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub id: String,
    pub strategy: StrategyKind,
    pub store: Option<StoreKind>,
    pub denylist: Option<StoreKind>,
    pub alg: Option<Alg>,
    pub transport: Transport,
    pub ttls_s: InfoTtls,
    pub capabilities: Capabilities,
    pub argon2id: Argon2Params,
    pub users: usize,
    pub workers: usize,
    pub namespace: String,
    pub version: String,
}

impl Info {
    /// Whether this document describes `spec` (the harness checks it started what it asked for);
    /// the store round trip is added outside the target, which cannot see it, so it is left out.
    pub fn describes(&self, spec: &TargetSpec) -> bool {
        // Neither the store round trip nor the replicas around it are the process's own settings.
        let one = TargetSpec { store_rtt: crate::spec::Span(std::time::Duration::ZERO), replicas: 1, ..*spec };
        self.id == one.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_routes_fill_in_the_user() {
        assert_eq!(route::revoke(7), "/control/users/7/revoke");
        assert_eq!(route::role(0), "/control/users/0/role");
        assert_eq!(login_body(3), r#"{"username":"user3","password":"pass-3"}"#);
        let header = "__Host-authbench=tok; Path=/; Secure; HttpOnly";
        assert_eq!(set_cookie_value(header, ACCESS_COOKIE), Some("tok"));
        assert_eq!(set_cookie_value(header, REFRESH_COOKIE), None);
        assert_eq!(set_cookie_value("__Host-authbench=; Max-Age=0", ACCESS_COOKIE), None);
    }
}
