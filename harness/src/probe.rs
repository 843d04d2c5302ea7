//! The security probe: how long a revoked user, or a demoted admin, is still served.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::target::TargetProcess;

/// Pause between polls of the credentials under test.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// One measured window beside the bound the TTLs imply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WindowResult {
    /// Seconds from the control call until the last credential under test was refused; None when
    /// some credential was still accepted at the cap.
    pub measured_s: Option<f64>,
    pub still_accepted_at_cap: bool,
    /// Upper bound implied by the configuration (from /control/info).
    pub bound_s: u64,
    /// Requests that were still answered 200 after the control call.
    pub accepted_after_change: u64,
}

/// Both windows for one target configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeResult {
    pub target: String,
    pub users: u32,
    pub cap_s: f64,
    pub poll_interval_ms: u64,
    pub revocation: WindowResult,
    pub stale_role: WindowResult,
    pub method: String,
    /// Bytes one stored session or refresh family costs the store (session and hybrid only).
    #[serde(default)]
    pub storage: Option<crate::storage::Storage>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    transport: String,
    control_key: String,
}

impl Client {
    async fn login(&self, id: u32) -> anyhow::Result<(&'static str, String)> {
        let r = self
            .http
            .post(format!("{}/auth/login", self.base))
            .body(format!(r#"{{"username":"user{id}","password":"pass-{id}"}}"#))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "probe login of user{id} answered {}", r.status());
        if self.transport == "cookie" {
            let cookie = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|c| c.starts_with("__Host-authbench="))
                .and_then(|c| c.split(';').next())
                .ok_or_else(|| anyhow::anyhow!("no access cookie in the probe login"))?
                .to_owned();
            Ok(("cookie", cookie))
        } else {
            let body: serde_json::Value = r.json().await?;
            let token = body["access_token"].as_str().ok_or_else(|| anyhow::anyhow!("no access_token in {body}"))?;
            Ok(("authorization", format!("Bearer {token}")))
        }
    }

    async fn status(&self, path: &str, cred: &(&'static str, String)) -> anyhow::Result<u16> {
        Ok(self.http.get(format!("{}{path}", self.base)).header(cred.0, &cred.1).send().await?.status().as_u16())
    }

    async fn control(&self, path: &str, body: Option<String>) -> anyhow::Result<()> {
        let mut req = self.http.post(format!("{}{path}", self.base)).header("x-control-key", &self.control_key);
        if let Some(b) = body {
            req = req.body(b);
        }
        let r = req.send().await?;
        anyhow::ensure!(r.status() == 200, "control call {path} answered {}", r.status());
        Ok(())
    }
}

async fn watch(
    client: &Client,
    path: &str,
    creds: &[(&'static str, String)],
    cap: Duration,
    start: Instant,
    bound_s: u64,
) -> anyhow::Result<WindowResult> {
    let mut refused_at: Vec<Option<Duration>> = vec![None; creds.len()];
    let mut accepted = 0;
    loop {
        for (i, c) in creds.iter().enumerate() {
            if refused_at[i].is_none() {
                if client.status(path, c).await? == 200 {
                    accepted += 1;
                } else {
                    refused_at[i] = Some(start.elapsed());
                }
            }
        }
        if refused_at.iter().all(Option::is_some) || start.elapsed() >= cap {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let all = refused_at.iter().all(Option::is_some);
    Ok(WindowResult {
        measured_s: if all { refused_at.iter().flatten().max().map(Duration::as_secs_f64) } else { None },
        still_accepted_at_cap: !all,
        bound_s,
        accepted_after_change: accepted,
    })
}

/// Runs the probe against a fresh target.
pub async fn run(
    target: &TargetProcess,
    id: &str,
    transport: &str,
    users: u32,
    cap: Duration,
) -> anyhow::Result<ProbeResult> {
    let client = Client {
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
        base: target.url(),
        transport: transport.to_owned(),
        control_key: target.control_key.clone(),
    };
    let info: serde_json::Value = client.http.get(format!("{}/control/info", client.base)).send().await?.json().await?;
    let caps = &info["capabilities"];
    let (revoke_bound, role_bound) =
        (caps["revoke_window_bound_s"].as_u64().unwrap_or(0), caps["role_change_window_bound_s"].as_u64().unwrap_or(0));

    let mut creds = Vec::new();
    for id in 1..=users {
        let c = client.login(id).await?;
        anyhow::ensure!(client.status("/api/me", &c).await? == 200, "user{id} not served before the revoke");
        creds.push(c);
    }
    let t0 = Instant::now();
    for id in 1..=users {
        client.control(&format!("/control/users/{id}/revoke"), None).await?;
    }
    let revocation = watch(&client, "/api/me", &creds, cap, t0, revoke_bound).await?;

    // Logged in only now: with a short access TTL an earlier token could expire before the demotion.
    let admin = client.login(0).await?;
    anyhow::ensure!(client.status("/api/admin", &admin).await? == 200, "user0 is not admin before the demotion");
    let t1 = Instant::now();
    client.control("/control/users/0/role", Some(r#"{"role":"user"}"#.into())).await?;
    let stale_role = watch(&client, "/api/admin", std::slice::from_ref(&admin), cap, t1, role_bound).await?;

    Ok(ProbeResult {
        storage: None,
        target: id.to_owned(),
        users,
        cap_s: cap.as_secs_f64(),
        poll_interval_ms: POLL_INTERVAL.as_millis() as u64,
        revocation,
        stale_role,
        method: format!(
            "{users} users logged in and verified; at t0 all were revoked through POST /control/users/{{id}}/revoke, then each \
             credential was polled on /api/me every {} ms until refused or {:.0} s passed. The demoted admin (user0) was polled on \
             /api/admin the same way. measured_s is the time from the first control call to the last refusal.",
            POLL_INTERVAL.as_millis(),
            cap.as_secs_f64()
        ),
    })
}
