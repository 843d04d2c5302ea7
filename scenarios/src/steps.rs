//! What each goose user does: log in, then run its scenario's step in a loop; every request is
//! timed in microseconds, from its intended send time under the open model.
//!
//! Users behave like real clients when the target fails: a credential refused with 401 is
//! dropped and the next step logs in afresh (retrying until a login succeeds); a 503 or no answer
//! at all leaves the credential in use, since it may still be good.

use std::time::Duration;

use goose::prelude::{GooseMethod, GooseRequest, GooseUser, TransactionError, TransactionResult};
use hyper::Method;
use tokio::time::Instant;

use crate::pacing::Pacer;
use authbench_targets::contract::{self, route, ACCESS_COOKIE, REFRESH_COOKIE};
use authbench_targets::spec::Transport;

use crate::plan::{Plan, ScenarioKind};
use crate::population::{Action, Due, Visitor};
use crate::recorder::{UserRecording, TRANSPORT_ERROR, UNAUTHORIZED};
use crate::wire::{Reply, Wire};

/// Mixed scenario: one refresh every this many steps.
pub const MIXED_REFRESH_EVERY: u64 = 50;
/// Mixed scenario: one logout + login every this many steps.
pub const MIXED_RELOGIN_EVERY: u64 = 200;
/// A hybrid client whose refresh failed without a refusal (503, no answer) tries again this much later,
/// using its access token meanwhile, as clients with a retry back-off do.
pub const REFRESH_RETRY: Duration = Duration::from_secs(1);
/// Browse: user0 calls /api/admin on every this many steps.
pub const ADMIN_EVERY: u64 = 4;
/// A hybrid client refreshes once its access token has lived this share of its lifetime, as
/// clients do; the population scenario's analytic store share depends on it.
pub const REFRESH_AT: f64 = 0.8;

/// What a user does on its next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NextStep {
    /// Its scenario's step: the credential works, or may still work.
    Scenario,
    /// A fresh login in place of the scenario's step: the credential was refused, or the last
    /// such login failed.
    Login,
}

/// What the reply to an authenticated request means for the next step: only a refused
/// credential (401) is dropped; a 503 or transport error may pass while the credential stays good.
fn after_reply(status: u16) -> NextStep {
    if status == UNAUTHORIZED {
        NextStep::Login
    } else {
        NextStep::Scenario
    }
}

/// A user's credentials and private recording, kept in goose session data (goose requires Clone).
#[derive(Clone)]
struct UserState {
    account: u64,
    /// Whether the next step runs the scenario or must log in first.
    next: NextStep,
    /// Header that carries the access credential: (name, value).
    access: (&'static str, String),
    /// Hybrid refresh token.
    refresh: Option<String>,
    /// When a hybrid client refreshes: at [`REFRESH_AT`] of the access token's lifetime.
    refresh_at: Option<Instant>,
    pacer: Option<Pacer>,
    rec: UserRecording,
    steps: u64,
    /// A population user's visit: think times, session length, logged in or away.
    visitor: Option<Visitor>,
    /// The refresh token the last successful refresh spent, replayed once when the refresh
    /// scenario stops.
    spent: Option<String>,
    /// The user's own connection when the target is plain HTTP/1.1 (see [`crate::wire`]); None
    /// over TLS, where requests take goose's path.
    wire: Option<Wire>,
}

fn custom(msg: String) -> Box<TransactionError> {
    Box::new(TransactionError::Custom(msg))
}

/// The methods the scenarios send; any other goes through goose.
fn http_method(method: &GooseMethod) -> Option<Method> {
    match method {
        GooseMethod::Get => Some(Method::GET),
        GooseMethod::Post => Some(Method::POST),
        _ => None,
    }
}

/// Sends one request on the user's wire when it has one, otherwise through goose.
async fn send(
    user: &mut GooseUser,
    wire: Option<&Wire>,
    method: GooseMethod,
    path: &str,
    header: Option<(&'static str, &str)>,
    body: Option<String>,
) -> Result<Reply, Box<TransactionError>> {
    if let (Some(wire), Some(m)) = (wire, http_method(&method)) {
        return Ok(wire.send(m, path, header, body).await);
    }
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
            let body = r.bytes().await.unwrap_or_default();
            Ok(Reply { status, body, set_cookies })
        }
        Err(_) => Ok(Reply { status: TRANSPORT_ERROR, body: Default::default(), set_cookies: Vec::new() }),
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
        serde_json::from_slice(&reply.body).map_err(|e| custom(format!("grant body is not JSON: {e}")))?;
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
    s.refresh_at = if plan.refreshes_access() { expires.map(|e| Instant::now() + e.mul_f64(REFRESH_AT)) } else { None };
    Ok(())
}

fn login_body(account: u64) -> String {
    contract::login_body(account)
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// On start: the user's own client for the target's protocol, a login (outside any measured
/// window) and pacing.
pub async fn start(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let client = plan.client.builder().map_err(|e| custom(format!("{e}")))?;
    user.set_client_builder(client).await?;
    let index = user.weighted_users_index;
    if let Some(replica) = plan.replica(index) {
        user.set_base_url(replica)?;
    }
    let wire = Wire::for_user(user, &plan.client);
    let account = plan.account(index);
    let pacer = plan.interval().map(|i| Pacer::new(i, i.mul_f64(index as f64 / plan.users.max(1) as f64)));
    let mut state = UserState {
        account,
        next: NextStep::Scenario,
        access: ("authorization", String::new()),
        refresh: None,
        refresh_at: None,
        pacer,
        rec: plan.recorder.user(),
        steps: 0,
        visitor: None,
        spent: None,
        wire,
    };
    if plan.kind != ScenarioKind::Login {
        let body = Some(login_body(account));
        let reply = send(user, state.wire.as_ref(), GooseMethod::Post, route::LOGIN, None, body).await?;
        if reply.status != 200 {
            return Err(custom(format!(
                "login of {} answered {}: {}",
                contract::username(account),
                reply.status,
                String::from_utf8_lossy(&reply.body)
            )));
        }
        apply(plan, &mut state, &reply)?;
    }
    state.visitor = plan.population.map(|p| Visitor::arrived(p, index, Instant::now()));
    user.set_session_data(state);
    plan.recorder.user_ready();
    Ok(())
}

/// On stop: in the refresh scenario, present the last spent refresh token once (rotation must
/// have killed it); then hand the user's recording to the shared recorder.
pub async fn stop(user: &mut GooseUser, plan: &Plan) {
    if plan.kind == ScenarioKind::Refresh {
        replay_spent(user, plan).await;
    }
    if let Some(s) = user.get_session_data::<UserState>() {
        plan.recorder.merge(&s.rec);
    }
}

/// Presents the refresh token the user's last rotation spent and counts whether it was refused;
/// no answer at all counts neither way.
async fn replay_spent(user: &mut GooseUser, plan: &Plan) {
    let Some((spent, wire)) =
        user.get_session_data::<UserState>().and_then(|s| Some((s.spent.clone()?, s.wire.clone())))
    else {
        return;
    };
    let (header, body) = refresh_credential(plan.transport, &spent);
    let header = header.as_ref().map(|(n, v)| (*n, v.as_str()));
    if let Ok(reply) = send(user, wire.as_ref(), GooseMethod::Post, route::REFRESH, header, body).await {
        if reply.status != TRANSPORT_ERROR {
            plan.recorder.spent_replayed(reply.status == UNAUTHORIZED);
        }
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
    let wire = state(user)?.wire.clone();
    let reply = send(user, wire.as_ref(), method, path, header.as_ref().map(|(n, v)| (*n, v.as_str())), body).await?;
    let us = elapsed_us(intended);
    let s = state(user)?;
    plan.recorder.record(&mut s.rec, reply.status, us);
    Ok(reply)
}

/// [`timed`] for a request that presents the user's credential: a 401 loses the session, so the
/// next step logs in.
async fn authenticated(
    user: &mut GooseUser,
    plan: &Plan,
    intended: Instant,
    method: GooseMethod,
    path: &str,
    header: Option<(&'static str, String)>,
    body: Option<String>,
) -> Result<Reply, Box<TransactionError>> {
    let reply = timed(user, plan, intended, method, path, header, body).await?;
    if after_reply(reply.status) == NextStep::Login {
        let s = state(user)?;
        plan.recorder.session_lost(&mut s.rec);
        s.next = NextStep::Login;
    }
    Ok(reply)
}

/// A fresh login in place of a scenario step, after the session was lost or a login failed; a
/// failed one leaves the user needing login, so the next step tries again.
async fn login_again(user: &mut GooseUser, plan: &Plan, intended: Instant) -> TransactionResult {
    let account = state(user)?.account;
    let reply = timed(user, plan, intended, GooseMethod::Post, route::LOGIN, None, Some(login_body(account))).await?;
    let s = state(user)?;
    let applied = (reply.status == 200).then(|| apply(plan, s, &reply));
    let ok = matches!(applied, Some(Ok(())));
    plan.recorder.relogin(&mut s.rec, ok);
    if ok {
        s.next = NextStep::Scenario;
    }
    applied.unwrap_or(Ok(()))
}

/// How a refresh token travels: in a JSON body (bearer) or its cookie.
fn refresh_credential(transport: Transport, token: &str) -> (Option<(&'static str, String)>, Option<String>) {
    match transport {
        Transport::Bearer => (None, Some(format!(r#"{{"refresh_token":"{token}"}}"#))),
        Transport::Cookie => (Some(("cookie", format!("{REFRESH_COOKIE}={token}"))), None),
    }
}

/// What /auth/refresh and /auth/logout are shown: hybrid's refresh token, otherwise the access credential.
fn presented(plan: &Plan, s: &UserState) -> (Option<(&'static str, String)>, Option<String>) {
    match (plan.refreshes_access(), &s.refresh) {
        (true, Some(r)) => refresh_credential(plan.transport, r),
        _ => (Some(s.access.clone()), None),
    }
}

async fn refresh(user: &mut GooseUser, plan: &Plan, intended: Instant) -> TransactionResult {
    let (header, body) = presented(plan, state(user)?);
    let reply = authenticated(user, plan, intended, GooseMethod::Post, route::REFRESH, header, body).await?;
    let s = state(user)?;
    match reply.status {
        200 => {
            let spent = s.refresh.clone();
            apply(plan, s, &reply)?;
            s.spent = spent;
        }
        // Refused: the next step logs in (set by `authenticated`). Otherwise the store may be
        // down: keep the access token, which still works until it expires, and retry later.
        UNAUTHORIZED => {}
        _ => s.refresh_at = s.refresh_at.map(|_| Instant::now() + REFRESH_RETRY),
    }
    Ok(())
}

/// Mixed scenario's logout + login cycle; a failed login leaves the user logged out, so its next
/// step logs in again rather than presenting the credential it just gave up.
async fn relogin(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let s = state(user)?;
    let ((header, body), account) = (presented(plan, s), s.account);
    timed(user, plan, Instant::now(), GooseMethod::Post, route::LOGOUT, header, body).await?;
    let reply =
        timed(user, plan, Instant::now(), GooseMethod::Post, route::LOGIN, None, Some(login_body(account))).await?;
    let s = state(user)?;
    if reply.status == 200 {
        apply(plan, s, &reply)?;
    } else {
        s.next = NextStep::Login;
    }
    Ok(())
}

/// One iteration of the plan's scenario.
pub async fn step(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    if plan.kind == ScenarioKind::Population {
        return visit(user, plan).await;
    }
    let intended = pace(user).await;
    if plan.kind == ScenarioKind::Login {
        let account = plan.account(user.weighted_users_index);
        timed(user, plan, intended, GooseMethod::Post, route::LOGIN, None, Some(login_body(account))).await?;
        return Ok(());
    }
    if state(user)?.next == NextStep::Login {
        return login_again(user, plan, intended).await;
    }
    let (n, due) = {
        let s = state(user)?;
        s.steps += 1;
        (s.steps, s.refresh_at.is_some_and(|at| Instant::now() >= at))
    };
    if plan.kind == ScenarioKind::Refresh {
        return refresh_then_use(user, plan, intended).await;
    }
    if plan.kind == ScenarioKind::Mixed && n % MIXED_RELOGIN_EVERY == 0 {
        return relogin(user, plan).await;
    }
    if due || (plan.kind == ScenarioKind::Mixed && n % MIXED_REFRESH_EVERY == 0) {
        return refresh(user, plan, intended).await;
    }
    use_access(user, plan, intended).await
}

/// One API request with the user's access credential; user0 calls /api/admin every
/// [`ADMIN_EVERY`] steps.
async fn use_access(user: &mut GooseUser, plan: &Plan, intended: Instant) -> TransactionResult {
    let s = state(user)?;
    let admin = s.account == contract::ADMIN_USER && s.steps % ADMIN_EVERY == 0;
    let (path, access) = (if admin { route::ADMIN } else { route::ME }, s.access.clone());
    authenticated(user, plan, intended, GooseMethod::Get, path, Some(access), None).await?;
    Ok(())
}

/// A refresh, then one request with the access token it handed out, unless it lost the session.
async fn refresh_then_use(user: &mut GooseUser, plan: &Plan, intended: Instant) -> TransactionResult {
    refresh(user, plan, intended).await?;
    if state(user)?.next == NextStep::Login {
        return Ok(());
    }
    use_access(user, plan, Instant::now()).await
}

/// A population user's step: a slice of its think time, or, once the think is over, its next
/// action (see [`crate::population`]); the visit moves on even when the action failed.
async fn visit(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let visitor = state(user)?.visitor.as_ref().ok_or_else(|| custom("population user without a visit".into()))?;
    let action = match visitor.due(Instant::now()) {
        Due::Wait(d) => {
            tokio::time::sleep(d).await;
            return Ok(());
        }
        Due::Now(action) => action,
    };
    let outcome = match action {
        Action::Login => login_on_return(user, plan).await,
        Action::Request => session_request(user, plan).await.map(|()| true),
        Action::Logout => logout(user, plan).await.map(|()| true),
    };
    if let Some(v) = state(user)?.visitor.as_mut() {
        v.done(action, matches!(outcome, Ok(true)), Instant::now());
    }
    outcome.map(|_| ())
}

/// One request of a population session: a hybrid client whose access token is at 80 % of its
/// lifetime refreshes first; a user whose session was refused logs in again instead.
async fn session_request(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let now = Instant::now();
    let s = state(user)?;
    if s.next == NextStep::Login {
        return login_again(user, plan, now).await;
    }
    s.steps += 1;
    if s.refresh_at.is_some_and(|at| now >= at) {
        return refresh_then_use(user, plan, now).await;
    }
    use_access(user, plan, now).await
}

/// A population user's login after its time away; true when it succeeded.
async fn login_on_return(user: &mut GooseUser, plan: &Plan) -> Result<bool, Box<TransactionError>> {
    let account = state(user)?.account;
    let body = Some(login_body(account));
    let reply = timed(user, plan, Instant::now(), GooseMethod::Post, route::LOGIN, None, body).await?;
    if reply.status != 200 {
        return Ok(false);
    }
    let s = state(user)?;
    apply(plan, s, &reply)?;
    s.next = NextStep::Scenario;
    Ok(true)
}

/// A population user leaves: it gives up its credential, unless the target already refused it.
async fn logout(user: &mut GooseUser, plan: &Plan) -> TransactionResult {
    let s = state(user)?;
    if s.next == NextStep::Login {
        return Ok(());
    }
    let (header, body) = presented(plan, s);
    timed(user, plan, Instant::now(), GooseMethod::Post, route::LOGOUT, header, body).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::UNAVAILABLE;

    #[test]
    fn only_a_refused_credential_forces_a_login() {
        assert_eq!(after_reply(UNAUTHORIZED), NextStep::Login);
        for status in [200, 204, 403, 429, 500, UNAVAILABLE, TRANSPORT_ERROR] {
            assert_eq!(after_reply(status), NextStep::Scenario, "status {status}");
        }
    }
}
