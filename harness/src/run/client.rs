//! HTTP clients of a target other than goose's users (the probe, storage seeding, health checks,
//! the h2load login): built as the users' client is, so over TLS they trust exactly the target's
//! certificate and speak its protocol.

use std::time::Duration;

use anyhow::Context;
use authbench_targets::contract::{self, route, ACCESS_COOKIE};
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
    let r = http
        .post(format!("{base}{}", route::LOGIN))
        .header("content-type", "application/json")
        .body(contract::login_body(id))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "login of {} answered {}", contract::username(id), r.status());
    match transport {
        Transport::Cookie => {
            let value = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| contract::set_cookie_value(c, ACCESS_COOKIE))
                .context("no access cookie in the login's answer")?;
            Ok(("cookie", format!("{ACCESS_COOKIE}={value}")))
        }
        Transport::Bearer => {
            let body: serde_json::Value = r.json().await?;
            let token = body["access_token"].as_str().with_context(|| format!("no access_token in {body}"))?;
            Ok(("authorization", format!("Bearer {token}")))
        }
    }
}
