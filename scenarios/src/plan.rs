//! What a scenario run is asked to do.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use authbench_targets::spec::{StrategyKind, Transport};

use crate::client::ClientSpec;
use crate::population::Population;
use crate::recorder::Recorder;

/// The request mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// Log in once, then GET /api/me back to back (user0 also calls /api/admin).
    Browse,
    /// Nothing but logins: argon2id included, as a real login pays it.
    Login,
    /// Refresh-token rotation on every step: POST /auth/refresh (the old refresh token is spent,
    /// the new access and refresh tokens adopted), then one GET /api/me with the new access token,
    /// so half the requests are rotations whatever the access TTL. At the end each user presents
    /// its last spent refresh token once and counts whether the target refused it.
    Refresh,
    /// Browse with a periodic refresh and a logout/login cycle.
    Mixed,
    /// Users like real users: each arrives, logs in, makes requests with exponential think time
    /// between them (hybrid clients refresh first when their access token is at 80 % of its
    /// lifetime), logs out after a geometric number of requests, thinks, and logs in again.
    Population,
}

impl ScenarioKind {
    /// Name used in results and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::Browse => "browse",
            ScenarioKind::Login => "login",
            ScenarioKind::Refresh => "refresh",
            ScenarioKind::Mixed => "mixed",
            ScenarioKind::Population => "population",
        }
    }
}

impl std::fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How load is offered.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub enum LoadModel {
    /// N users back to back, no think time: measures saturation throughput.
    Closed,
    /// A fixed arrival rate: each user sends on an intended schedule and latency counts from the
    /// intended send time, so a stall is charged to every request it delays (wrk2's correction).
    Open { rate_rps: f64 },
}

/// Everything the scenario steps need, shared by all users.
pub struct Plan {
    pub kind: ScenarioKind,
    pub model: LoadModel,
    pub users: usize,
    pub transport: Transport,
    /// Users the target seeded (user0 is the admin).
    pub seeded_users: u64,
    /// The strategy under test: hybrid clients refresh their access token before it expires.
    pub strategy: StrategyKind,
    pub recorder: Arc<Recorder>,
    /// Think time and session length of the population scenario (already time-scaled); None otherwise.
    pub population: Option<Population>,
    /// How users reach the target: plain HTTP, or TLS (HTTP/1.1 or h2) trusting its certificate.
    pub client: ClientSpec,
    /// Base URLs of several replicas of one target: user i is served by replica i mod n. Empty:
    /// every user stays on goose's host.
    pub replicas: Vec<String>,
}

impl Plan {
    /// Gap between one user's requests under the open model.
    pub fn interval(&self) -> Option<Duration> {
        match self.model {
            LoadModel::Closed => None,
            LoadModel::Open { rate_rps } if rate_rps > 0.0 => {
                Some(Duration::from_secs_f64(self.users as f64 / rate_rps))
            }
            LoadModel::Open { .. } => None,
        }
    }

    /// Whether clients hold a refresh token that renews a short-lived access token.
    pub fn refreshes_access(&self) -> bool {
        self.strategy.has_refresh_token()
    }

    /// The replica goose user `index` is sent to; None when there is one target (goose's host).
    pub fn replica(&self, index: usize) -> Option<&str> {
        (!self.replicas.is_empty()).then(|| self.replicas[index % self.replicas.len()].as_str())
    }

    /// Which seeded account goose user `index` logs in as: index 0 is the admin, the rest spread over users.
    pub fn account(&self, index: usize) -> u64 {
        if index == 0 || self.seeded_users < 2 {
            authbench_targets::contract::ADMIN_USER
        } else {
            1 + (index as u64 - 1) % (self.seeded_users - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(model: LoadModel, users: usize, seeded: u64) -> Plan {
        Plan {
            kind: ScenarioKind::Browse,
            model,
            users,
            transport: Transport::Bearer,
            seeded_users: seeded,
            strategy: StrategyKind::Jwt,
            recorder: Recorder::new(),
            population: None,
            client: ClientSpec::Plain,
            replicas: Vec::new(),
        }
    }

    #[test]
    fn users_spread_over_replicas_in_turn() {
        let mut p = plan(LoadModel::Closed, 5, 10);
        assert_eq!(p.replica(3), None, "one target: goose's host");
        p.replicas = vec!["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()];
        let got: Vec<_> = (0..5).map(|i| p.replica(i).unwrap()).collect();
        assert_eq!(
            got,
            [
                "http://127.0.0.1:1",
                "http://127.0.0.1:2",
                "http://127.0.0.1:1",
                "http://127.0.0.1:2",
                "http://127.0.0.1:1"
            ]
        );
    }

    #[test]
    fn open_model_spreads_the_rate_over_users() {
        let p = plan(LoadModel::Open { rate_rps: 1000.0 }, 10, 100);
        assert_eq!(p.interval(), Some(Duration::from_millis(10)));
        assert_eq!(plan(LoadModel::Closed, 10, 100).interval(), None);
    }

    #[test]
    fn accounts_cover_the_seeded_users_and_only_index_zero_is_admin() {
        let p = plan(LoadModel::Closed, 50, 10);
        assert_eq!(p.account(0), 0);
        let ids: Vec<u64> = (1..50).map(|i| p.account(i)).collect();
        assert!(ids.iter().all(|id| (1..10).contains(id)));
        assert!((1..10).all(|id| ids.contains(&id)));
    }
}
