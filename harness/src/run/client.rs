//! HTTP clients of a target other than goose's users (the probe, storage seeding, health checks,
//! the h2load login): built as the users' client is, so over TLS they trust exactly the target's
//! certificate and speak its protocol.

use std::time::Duration;

use anyhow::Context;
use authbench_targets::contract::{self, route, ACCESS_COOKIE, REFRESH_COOKIE};
use authbench_targets::spec::Transport;

use super::target::TargetProcess;

/// The header a request carries its credential in: (name, value).
pub(crate) type Credential = (&'static str, String);

/// A client for `target` whose requests give up after `timeout`.
pub(crate) fn http(target: &TargetProcess, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    target
        .client
        .builder()?
        .timeout(timeout)
        .build()
        .with_context(|| format!("building an HTTP client for the target at {} failed", target.url()))
}

/// Logs seeded user `id` in at `base`; its credential as `transport` carries it.
pub(crate) async fn login(
    http: &reqwest::Client,
    base: &str,
    transport: Transport,
    id: u64,
) -> anyhow::Result<Credential> {
    Ok(login_grant(http, base, transport, id).await?.access)
}

/// What a login or refresh hands a client: the access credential and, for hybrid, the refresh token.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub access: Credential,
    pub refresh: Option<String>,
}

/// Logs seeded user `id` in at `base`, keeping the refresh token too.
pub(crate) async fn login_grant(
    http: &reqwest::Client,
    base: &str,
    transport: Transport,
    id: u64,
) -> anyhow::Result<Grant> {
    let r = http
        .post(format!("{base}{}", route::LOGIN))
        .header("content-type", "application/json")
        .body(contract::login_body(id))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "login of {} answered {}", contract::username(id), r.status());
    grant(r, transport).await
}

/// The credentials in a 200 login or refresh answer, as `transport` carries them.
pub(crate) async fn grant(r: reqwest::Response, transport: Transport) -> anyhow::Result<Grant> {
    match transport {
        Transport::Cookie => {
            let cookie = |name| {
                r.headers()
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|c| contract::set_cookie_value(c, name))
                    .map(str::to_owned)
            };
            let value = cookie(ACCESS_COOKIE).context("no access cookie in the answer")?;
            Ok(Grant { access: ("cookie", format!("{ACCESS_COOKIE}={value}")), refresh: cookie(REFRESH_COOKIE) })
        }
        Transport::Bearer => {
            let body: serde_json::Value = r.json().await?;
            let token = body["access_token"].as_str().with_context(|| format!("no access_token in {body}"))?;
            let refresh = body["refresh_token"].as_str().map(str::to_owned);
            Ok(Grant { access: ("authorization", format!("Bearer {token}")), refresh })
        }
    }
}

/// What /auth/refresh and /auth/logout are shown, as the scenarios' users show it: the refresh
/// token where there is one (in its cookie or a JSON body), otherwise the access credential.
pub(crate) fn presented(grant: &Grant, transport: Transport) -> (Credential, Option<String>) {
    match (&grant.refresh, transport) {
        (Some(r), Transport::Bearer) => (("content-type", "application/json".into()), Some(refresh_body(r))),
        (Some(r), Transport::Cookie) => (("cookie", format!("{REFRESH_COOKIE}={r}")), None),
        (None, _) => (grant.access.clone(), None),
    }
}

fn refresh_body(token: &str) -> String {
    serde_json::json!({ "refresh_token": token }).to_string()
}
