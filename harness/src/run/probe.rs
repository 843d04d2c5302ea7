//! The security probe: how long a logged-out or revoked user, or a demoted admin, is still served,
//! and what /auth/refresh does with a revoked user's or a spent refresh credential.

use std::time::{Duration, Instant};

use anyhow::Context;

use authbench_targets::contract::{self, route, Info, CONTROL_KEY_HEADER};
use authbench_targets::spec::{TargetSpec, Transport};

use super::client::{Credential, Grant};
use super::serving::Serving;
use super::tap::Tap;
use super::target::TargetProcess;
use crate::model::probe::{
    Agreement, Answer, Applicability, CookieFlags, Exposure, LiftedHeader, ProbeResult, RefreshAfterRevoke,
    RefreshCredential, Reply, Reuse, WindowResult,
};

/// Pause between polls of the credentials under test.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    transport: Transport,
    control_key: String,
    /// Each replica's own base URL behind the balancer at `base`; empty for a single target.
    replicas: Vec<String>,
}

impl Client {
    async fn login(&self, id: u64) -> anyhow::Result<Grant> {
        super::client::login_grant(&self.http, &self.base, self.transport, id).await.context("probe login")
    }

    /// The answer to `cred` on `path`; behind a balancer, every replica is asked and a credential
    /// any of them still accepts counts as accepted (200), since a client may land on that one.
    async fn status(&self, path: &str, cred: &Credential) -> anyhow::Result<u16> {
        if self.replicas.is_empty() {
            return self.status_at(&self.base, path, cred).await;
        }
        let answers = self.each_replica(path, cred).await?;
        Ok(answers.iter().map(|r| r.status).find(|&s| s == 200).unwrap_or(answers[0].status))
    }

    async fn status_at(&self, base: &str, path: &str, cred: &Credential) -> anyhow::Result<u16> {
        Ok(self.http.get(format!("{base}{path}")).header(cred.0, &cred.1).send().await?.status().as_u16())
    }

    /// Each replica's answer to `cred` on `path`, asked directly, in replica order.
    async fn each_replica(&self, path: &str, cred: &Credential) -> anyhow::Result<Vec<Reply>> {
        let mut out = Vec::with_capacity(self.replicas.len());
        for base in &self.replicas {
            out.push(Reply::of(self.status_at(base, path, cred).await?));
        }
        Ok(out)
    }

    /// Posts what refresh and logout are shown for `grant`, as the scenarios' users post it.
    async fn present(&self, path: &str, grant: &Grant) -> anyhow::Result<reqwest::Response> {
        let (header, body) = super::client::presented(grant, self.transport);
        let req = self.http.post(format!("{}{path}", self.base)).header(header.0, header.1);
        Ok(req.body(body.unwrap_or_default()).send().await?)
    }

    async fn refresh(&self, grant: &Grant) -> anyhow::Result<Reply> {
        Ok(Reply::of(self.present(route::REFRESH, grant).await?.status().as_u16()))
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

    async fn info(&self) -> anyhow::Result<Info> {
        let url = format!("{}{}", self.base, route::INFO);
        let r = self.http.get(url).header(CONTROL_KEY_HEADER, &self.control_key).send().await?;
        r.json().await.context("reading /control/info")
    }

    /// Logs users `ids` in and checks each is served on /api/me.
    async fn served(&self, ids: impl Iterator<Item = u64>) -> anyhow::Result<Vec<Grant>> {
        let mut out = Vec::new();
        for id in ids {
            let g = self.login(id).await?;
            let ok = self.status(route::ME, &g.access).await? == 200;
            anyhow::ensure!(ok, "{} not served after its login", contract::username(id));
            out.push(g);
        }
        Ok(out)
    }
}

async fn watch(
    client: &Client,
    path: &str,
    creds: &[Credential],
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

fn access(grants: &[Grant]) -> Vec<Credential> {
    grants.iter().map(|g| g.access.clone()).collect()
}

/// Users log out with their own credential; their old access credentials are polled on /api/me.
async fn logout_window(client: &Client, users: u32, cap: Duration, bound_s: u64) -> anyhow::Result<WindowResult> {
    let grants = client.served(1..=u64::from(users)).await?;
    let t0 = Instant::now();
    for g in &grants {
        let status = client.present(route::LOGOUT, g).await?.status();
        anyhow::ensure!(status == 200, "logout answered {status}");
    }
    watch(client, route::ME, &access(&grants), cap, t0, bound_s).await
}

/// Refresh once (R0 → R1), replay the spent R0, then present R1: was the family revoked?
async fn reuse(client: &Client, credential: RefreshCredential) -> anyhow::Result<Reuse> {
    let r0 = client.served(std::iter::once(1)).await?.remove(0);
    let first = client.present(route::REFRESH, &r0).await?;
    anyhow::ensure!(first.status() == 200, "the first refresh answered {}", first.status());
    let r1 = super::client::grant(first, client.transport).await?;
    let replay = client.refresh(&r0).await?;
    let successor = client.refresh(&r1).await?;
    Ok(Reuse { credential, replay, successor })
}

/// Revokes users `1..=users` and polls their access credentials; right after the revoke calls, the
/// first user's pre-revoke refresh credential is presented once when the strategy has one.
async fn revocation(
    client: &Client,
    credential: Option<RefreshCredential>,
    users: u32,
    cap: Duration,
    bound_s: u64,
) -> anyhow::Result<(WindowResult, Option<RefreshAfterRevoke>)> {
    let grants = client.served(1..=u64::from(users)).await?;
    let t0 = Instant::now();
    for id in 1..=u64::from(users) {
        client.control(&route::revoke(id), None).await?;
    }
    let mut after = None;
    if let (Some(credential), Some(first)) = (credential, grants.first()) {
        let reply = client.refresh(first).await?;
        let refused_after_s = (reply.answer == Answer::Refused).then(|| t0.elapsed().as_secs_f64());
        after = Some(RefreshAfterRevoke { credential, reply, refused_after_s });
    }
    let window = watch(client, route::ME, &access(&grants), cap, t0, bound_s).await?;
    Ok((window, after))
}

/// Demotes the admin and polls its credential on /api/admin.
async fn stale_role(client: &Client, cap: Duration, bound_s: u64) -> anyhow::Result<WindowResult> {
    // Logged in only now: with a short access TTL an earlier token could expire before the demotion.
    let admin_id = contract::ADMIN_USER;
    let admin = client.login(admin_id).await?;
    let is_admin = client.status(route::ADMIN, &admin.access).await? == 200;
    anyhow::ensure!(is_admin, "{} is not admin before the demotion", contract::username(admin_id));
    let t1 = Instant::now();
    client.control(&route::role(admin_id), Some(r#"{"role":"user"}"#.into())).await?;
    watch(client, route::ADMIN, std::slice::from_ref(&admin.access), cap, t1, bound_s).await
}

/// Logs user 1 in (keeping the login answer's Set-Cookie lines), sends one authenticated request
/// through an observer on the path, and presents whatever credential header the observer read in
/// the captured bytes on a connection of its own. Behind a balancer it watches the first replica:
/// what crosses the wire does not depend on which replica answers, and a replica that does not
/// share the others' memory would refuse a credential another one issued.
async fn exposure(client: &Client, target: Serving<'_>) -> anyhow::Result<Exposure> {
    let (base, addr) = target.first_process();
    let client = &Client { base, replicas: Vec::new(), ..client.clone() };
    let login = client.http.post(format!("{}{}", client.base, route::LOGIN));
    let r = login.header("content-type", "application/json").body(contract::login_body(1)).send().await?;
    anyhow::ensure!(r.status() == 200, "exposure probe: login answered {}", r.status());
    let set_cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(CookieFlags::parse)
        .collect();
    let grant = super::client::grant(r, client.transport).await?;
    let tap = Tap::start(&addr).await.context("starting the observer's relay")?;
    let via = target.client().builder()?.timeout(Duration::from_secs(5)).build()?;
    let url = format!("{}://{}{}", target.client().scheme(), tap.addr, route::ME);
    let status = via.get(url).header(grant.access.0, &grant.access.1).send().await?.status();
    drop(via);
    let captured = tap.captured();
    anyhow::ensure!(status == 200, "exposure probe: the credential was not served through the observer ({status})");
    let lifted = LiftedHeader::find(&captured);
    let replay = match &lifted {
        Some((header, value)) => Some(Reply::of(client.status(route::ME, &(header.as_str(), value.clone())).await?)),
        None => None,
    };
    Ok(Exposure { captured_bytes: captured.len() as u64, lifted: lifted.map(|l| l.0), replay, set_cookies })
}

/// Behind a balancer: user 1 logs in and out through it, and every replica is asked about the
/// credential right after each.
async fn agreement(client: &Client) -> anyhow::Result<Agreement> {
    let grant = client.login(1).await?;
    let after_login = client.each_replica(route::ME, &grant.access).await?;
    let r = client.present(route::LOGOUT, &grant).await?;
    anyhow::ensure!(r.status().is_success(), "agreement probe: logout answered {}", r.status());
    let after_logout = client.each_replica(route::ME, &grant.access).await?;
    Ok(Agreement { after_login, after_logout })
}

/// Runs the probes against a target (a fresh one, or the first deployed replica): the observer on
/// the path, logout, reuse, revocation (with the refresh after it), then the demotion, so no user
/// is logged in again after its revocation; the admin gets its role back after, so a deployed
/// target can be probed again.
pub async fn run(target: &TargetProcess, spec: &TargetSpec, users: u32, cap: Duration) -> anyhow::Result<ProbeResult> {
    run_on(Serving::Started(target), spec, users, cap).await
}

/// [`run`] on a started or a deployed target.
pub(crate) async fn run_on(
    target: Serving<'_>,
    spec: &TargetSpec,
    users: u32,
    cap: Duration,
) -> anyhow::Result<ProbeResult> {
    let http = target.client().builder()?.timeout(Duration::from_secs(5)).build();
    let client = Client {
        http: http.with_context(|| format!("building an HTTP client for the target at {} failed", target.url()))?,
        base: target.url(),
        transport: spec.transport,
        control_key: target.control_key().to_owned(),
        replicas: target.replica_urls(),
    };
    let info = client.info().await?;
    anyhow::ensure!(info.describes(spec), "target answered as {} where {} was started", info.id, spec.id());
    let caps = &info.capabilities;
    let bound = |b: Option<u64>, what: &str| b.with_context(|| format!("{} promises no {what} bound", spec.id()));

    let exposure = exposure(&client, target).await?;
    let agreement = match client.replicas.is_empty() {
        true => None,
        false => Some(agreement(&client).await?),
    };
    let logout = logout_window(&client, users, cap, bound(caps.logout_window_bound_s, "logout")?).await?;
    let refresh = RefreshCredential::of(spec.strategy);
    let reuse = match refresh {
        Ok(credential) => Applicability::Measured(reuse(&client, credential).await?),
        Err(skip) => Applicability::NotApplicable(skip),
    };
    let revoke_bound = bound(caps.revoke_window_bound_s, "revocation")?;
    let (revocation, after) = revocation(&client, refresh.ok(), users, cap, revoke_bound).await?;
    let refresh_after_revoke = match (after, refresh) {
        (Some(a), _) => Applicability::Measured(a),
        (None, Err(skip)) => Applicability::NotApplicable(skip),
        (None, Ok(_)) => anyhow::bail!("no user to present a refresh credential after the revoke"),
    };
    let stale_role = stale_role(&client, cap, bound(caps.role_change_window_bound_s, "role change")?).await?;
    client.control(&route::role(contract::ADMIN_USER), Some(r#"{"role":"admin"}"#.into())).await?;

    Ok(ProbeResult {
        storage: None,
        exposure: Some(exposure),
        agreement,
        target: spec.into(),
        users,
        cap_s: cap.as_secs_f64(),
        poll_interval_ms: POLL_INTERVAL.as_millis() as u64,
        revocation,
        stale_role,
        logout: Some(logout),
        refresh_after_revoke: Some(refresh_after_revoke),
        reuse: Some(reuse),
        method: method(users, cap),
    })
}

fn method(users: u32, cap: Duration) -> String {
    format!(
        "Each probe logs its users in and checks they are served first. Exposure: {user1} logged in (the Set-Cookie \
         lines of its login answer parsed for their attributes) and sent one GET {me} through a loopback relay that \
         kept the bytes the client sent, as an observer on the path would; a credential header read in clear in them \
         was presented on {me} from a connection of the observer's own. Logout: {users} users posted their own \
         credential to {logout} as the load's clients do (hybrid its refresh token, otherwise the access credential), \
         then each old access credential was polled on {me} every {poll} ms until refused or {cap:.0} s passed. \
         Reuse (jwt and hybrid): {user1} refreshed once (R0 to R1), presented the spent R0 to {refresh} again, then R1; \
         R1 refused as well means the replay revoked the family. Revocation: {users} users were revoked at t0 through \
         POST {revoke} and polled on {me} the same way; right after the revoke calls {user1}'s pre-revoke refresh \
         credential (jwt: its token) was presented once to {refresh}, a refusal timed from t0. The demoted admin ({admin}) was polled on {adm} \
         the same way. Windows are the time from the first logout or control call to the last refusal; a session's \
         token is its only credential, so the refresh probes do not apply to it.",
        logout = route::LOGOUT,
        me = route::ME,
        poll = POLL_INTERVAL.as_millis(),
        cap = cap.as_secs_f64(),
        user1 = contract::username(1),
        refresh = route::REFRESH,
        revoke = route::REVOKE,
        admin = contract::username(contract::ADMIN_USER),
        adm = route::ADMIN,
    )
}
