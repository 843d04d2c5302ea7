//! The security probe: how long a revoked user, or a demoted admin, is still served.

use std::time::{Duration, Instant};

use anyhow::Context;

use authbench_targets::contract::{self, route, Info, CONTROL_KEY_HEADER};
use authbench_targets::spec::{TargetSpec, Transport};

use super::client::Credential;
use super::target::TargetProcess;
use crate::model::probe::{ProbeResult, WindowResult};

/// Pause between polls of the credentials under test.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

struct Client {
    http: reqwest::Client,
    base: String,
    transport: Transport,
    control_key: String,
}

impl Client {
    async fn login(&self, id: u64) -> anyhow::Result<Credential> {
        super::client::login(&self.http, &self.base, self.transport, id).await.context("probe login")
    }

    async fn status(&self, path: &str, cred: &Credential) -> anyhow::Result<u16> {
        Ok(self.http.get(format!("{}{path}", self.base)).header(cred.0, &cred.1).send().await?.status().as_u16())
    }

    async fn control(&self, path: &str, body: Option<String>) -> anyhow::Result<()> {
        let mut req = self.http.post(format!("{}{path}", self.base)).header(CONTROL_KEY_HEADER, &self.control_key);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
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
pub async fn run(target: &TargetProcess, spec: &TargetSpec, users: u32, cap: Duration) -> anyhow::Result<ProbeResult> {
    let client = Client {
        http: super::client::http(target, Duration::from_secs(5))?,
        base: target.url(),
        transport: spec.transport,
        control_key: target.control_key.clone(),
    };
    let info: Info = client
        .http
        .get(format!("{}{}", client.base, route::INFO))
        .header(CONTROL_KEY_HEADER, &client.control_key)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(info.describes(spec), "target answered as {} where {} was started", info.id, spec.id());
    let caps = &info.capabilities;

    let mut creds = Vec::new();
    for id in 1..=u64::from(users) {
        let c = client.login(id).await?;
        let served = client.status(route::ME, &c).await? == 200;
        anyhow::ensure!(served, "{} not served before the revoke", contract::username(id));
        creds.push(c);
    }
    let t0 = Instant::now();
    for id in 1..=u64::from(users) {
        client.control(&route::revoke(id), None).await?;
    }
    let bound = |b: Option<u64>, what: &str| b.with_context(|| format!("{} promises no {what} bound", spec.id()));
    let revocation =
        watch(&client, route::ME, &creds, cap, t0, bound(caps.revoke_window_bound_s, "revocation")?).await?;

    // Logged in only now: with a short access TTL an earlier token could expire before the demotion.
    let admin_id = contract::ADMIN_USER;
    let admin = client.login(admin_id).await?;
    let is_admin = client.status(route::ADMIN, &admin).await? == 200;
    anyhow::ensure!(is_admin, "{} is not admin before the demotion", contract::username(admin_id));
    let t1 = Instant::now();
    client.control(&route::role(admin_id), Some(r#"{"role":"user"}"#.into())).await?;
    let admin_creds = std::slice::from_ref(&admin);
    let role_bound = bound(caps.role_change_window_bound_s, "role change")?;
    let stale_role = watch(&client, route::ADMIN, admin_creds, cap, t1, role_bound).await?;

    Ok(ProbeResult {
        storage: None,
        target: spec.into(),
        users,
        cap_s: cap.as_secs_f64(),
        poll_interval_ms: POLL_INTERVAL.as_millis() as u64,
        revocation,
        stale_role,
        method: method(users, cap),
    })
}

fn method(users: u32, cap: Duration) -> String {
    format!(
        "{users} users logged in and verified; at t0 all were revoked through POST {}, then each credential was polled \
         on {} every {} ms until refused or {:.0} s passed. The demoted admin ({}) was polled on {} the same way. \
         measured_s is the time from the first control call to the last refusal.",
        route::REVOKE,
        route::ME,
        POLL_INTERVAL.as_millis(),
        cap.as_secs_f64(),
        contract::username(contract::ADMIN_USER),
        route::ADMIN,
    )
}
