//! What each goose user does: log in, then run its scenario's step in a loop; every request is
//! timed in microseconds, from its intended send time under the open model.

use std::time::Duration;

use goose::prelude::{GooseMethod, GooseRequest, GooseUser, TransactionError, TransactionResult};
use tokio::time::Instant;

use crate::pacing::Pacer;
use authbench_targets::contract::{self, route, ACCESS_COOKIE, REFRESH_COOKIE};
use authbench_targets::spec::Transport;

use crate::plan::{Plan, ScenarioKind};
use crate::recorder::{UserRecording, TRANSPORT_ERROR};

/// Mixed scenario: one refresh every this many steps.
pub const MIXED_REFRESH_EVERY: u64 = 50;
/// Mixed scenario: one logout + login every this many steps.
pub const MIXED_RELOGIN_EVERY: u64 = 200;
/// Browse: user0 calls /api/admin on every this many steps.
pub const ADMIN_EVERY: u64 = 4;

/// A user's credentials and private recording, kept in goose session data (goose requires Clone).
#[derive(Clone)]
struct UserState {
    account: u64,
    /// Header that carries the access credential: (name, value).
    access: (&'static str, String),
    /// Hybrid refresh token.
    refresh: Option<String>,
    /// When a hybrid client refreshes: at 80 % of the access token's lifetime, as clients do.
    refresh_at: Option<Instant>,
    pacer: Option<Pacer>,
    rec: UserRecording,
    steps: u64,
}

struct Reply {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
}

fn custom(msg: String) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(msg))
}

async fn send(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    header: Option<(&'static str, &str)>,
    body: Option<String>,
) -> Result<Reply, Box<TransactionError>> {
    let mut rb = user.get_request_builder(&method, path)?;
    if let Some((name, value)) = header {
        rb = rb.header(name, value);
    }
    if let Some(b) = body {
        rb = rb.header("content-type", "application/json").body(b);
    }
    let req = GooseRequest::builder().method(method).path(path).set_request_builder(rb).build();
    let resp = user.request(req).await?;
    match resp.response {
        Ok(r) => {
            let status = r.status().as_u16();
            let set_cookies =
                r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
            let body = r.text().await.unwrap_or_default();
            Ok(Reply { status, body, set_cookies })
        }
        Err(_) => Ok(Reply { status: TRANSPORT_ERROR, body: String::new(), set_cookies: Vec::new() }),
    }
}

fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies.iter().find_map(|c| contract::set_cookie_value(c, name)).map(str::to_owned)
}

/// Credentials a login or refresh handed out.
struct Grant {
    access: (&'static str, String),
    refresh: Option<String>,
    expires: Option<Duration>,
}

/// Credentials from a login or refresh reply.
fn grant(plan: &Plan, reply: &Reply) -> Result<Grant, Box<TransactionError>> {
    let json: serde_json::Value =
        serde_json::from_str(&reply.body).map_err(|e| custom(format!("grant body is not JSON: {e}")))?;
    let expires = json["expires_in"].as_u64().map(Duration::from_secs);
    match plan.transport {
        Transport::Bearer => {
            let access = json["access_token"].as_str().ok_or_else(|| custom(format!("no access_token in {json}")))?;
            let refresh = json["refresh_token"].as_str().map(str::to_owned);
            Ok(Grant { access: ("authorization", format!("Bearer {access}")), refresh, expires })
        }
        Transport::Cookie => {
            let access =
                cookie_value(&reply.set_cookies, ACCESS_COOKIE).ok_or_else(|| custom("no access cookie".into()))?;
            let refresh = cookie_value(&reply.set_cookies, REFRESH_COOKIE);
            Ok(Grant { access: ("cookie", format!("{ACCESS_COOKIE}={access}")), refresh, expires })
        }
    }
}

fn apply(plan: &Plan, s: &mut UserState, reply: &Reply) -> Result<(), Box<TransactionError>> {
    let Grant { access, refresh, expires } = grant(plan, reply)?;
    s.access = access;
    if refresh.is_some() {
        s.refresh = refresh;
    }
    s.refresh_at = if plan.refreshes_access() { expires.map(|e| Instant::now() + e.mul_f64(0.8)) } else { None };
    Ok(())
}

fn login_body(account: u64) -> String {
    contract::login_body(account)
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// On start: log in (outside any measured window) and set up pacing.
pub async fn start(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let index = user.weighted_users_index;
    let account = plan.account(index);
    let pacer = plan.interval().map(|i| Pacer::new(i, i.mul_f64(index as f64 / plan.users.max(1) as f64)));
    let mut state = UserState {
        account,
        access: ("authorization", String::new()),
        refresh: None,
        refresh_at: None,
        pacer,
        rec: plan.recorder.user(),
        steps: 0,
    };
    if plan.kind != ScenarioKind::Login {
        let reply = send(user, GooseMethod::Post, route::LOGIN, None, Some(login_body(account))).await?;
        if reply.status != 200 {
            return Err(custom(format!(
                "login of {} answered {}: {}",
                contract::username(account),
                reply.status,
                reply.body
            )));
        }
        apply(plan, &mut state, &reply)?;
    }
    user.set_session_data(state);
    plan.recorder.user_ready();
    Ok(())
}

/// On stop: hand the user's recording to the shared recorder.
pub fn stop(user: &mut GooseUser, plan: &Plan) {
    if let Some(s) = user.get_session_data::<UserState>() {
        plan.recorder.merge(&s.rec);
    }
}

async fn pace(user: &mut GooseUser) -> Instant {
    match user.get_session_data_mut::<UserState>().and_then(|s| s.pacer.as_mut()) {
        Some(p) => p.wait().await,
        None => Instant::now(),
    }
}

fn state(user: &mut GooseUser) -> Result<&mut UserState, Box<TransactionError>> {
    user.get_session_data_mut::<UserState>().ok_or_else(|| custom("user has no session: its login failed".into()))
}

/// Sends one timed request and records it.
async fn timed(
    user: &mut GooseUser,
    plan: &Plan,
    intended: Instant,
    method: GooseMethod,
    path: &str,
    header: Option<(&'static str, String)>,
    body: Option<String>,
) -> Result<Reply, Box<TransactionError>> {
    let reply = send(user, method, path, header.as_ref().map(|(n, v)| (*n, v.as_str())), body).await?;
    let us = elapsed_us(intended);
    let s = state(user)?;
    plan.recorder.record(&mut s.rec, reply.status, us);
    Ok(reply)
}

/// What /auth/refresh and /auth/logout are shown: hybrid's refresh token, otherwise the access credential.
fn presented(plan: &Plan, s: &UserState) -> (Option<(&'static str, String)>, Option<String>) {
    match (plan.refreshes_access(), plan.transport, &s.refresh) {
        (true, Transport::Bearer, Some(r)) => (None, Some(format!(r#"{{"refresh_token":"{r}"}}"#))),
        (true, Transport::Cookie, Some(r)) => (Some(("cookie", format!("{REFRESH_COOKIE}={r}"))), None),
        _ => (Some(s.access.clone()), None),
    }
}

async fn refresh(user: &mut GooseUser, plan: &Plan, intended: Instant) -> TransactionResult {
    let (header, body) = presented(plan, state(user)?);
    let reply = timed(user, plan, intended, GooseMethod::Post, route::REFRESH, header, body).await?;
    if reply.status == 200 {
        apply(plan, state(user)?, &reply)?;
    }
    Ok(())
}

async fn relogin(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let s = state(user)?;
    let ((header, body), account) = (presented(plan, s), s.account);
    timed(user, plan, Instant::now(), GooseMethod::Post, route::LOGOUT, header, body).await?;
    let reply =
        timed(user, plan, Instant::now(), GooseMethod::Post, route::LOGIN, None, Some(login_body(account))).await?;
    if reply.status == 200 {
        apply(plan, state(user)?, &reply)?;
    }
    Ok(())
}

/// One iteration of the plan's scenario.
pub async fn step(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let intended = pace(user).await;
    if plan.kind == ScenarioKind::Login {
        let account = plan.account(user.weighted_users_index);
        timed(user, plan, intended, GooseMethod::Post, route::LOGIN, None, Some(login_body(account))).await?;
        return Ok(());
    }
    let (n, due, access, account) = {
        let s = state(user)?;
        s.steps += 1;
        let due = s.refresh_at.is_some_and(|at| Instant::now() >= at);
        (s.steps, due, s.access.clone(), s.account)
    };
    if plan.kind == ScenarioKind::Mixed && n % MIXED_RELOGIN_EVERY == 0 {
        return relogin(user, plan).await;
    }
    if due || (plan.kind == ScenarioKind::Mixed && n % MIXED_REFRESH_EVERY == 0) {
        return refresh(user, plan, intended).await;
    }
    let path = if account == contract::ADMIN_USER && n % ADMIN_EVERY == 0 { route::ADMIN } else { route::ME };
    timed(user, plan, intended, GooseMethod::Get, path, Some(access), None).await?;
    Ok(())
}
