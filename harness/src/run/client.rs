//! HTTP clients of a target other than goose's users (the probe, storage seeding, health checks,
//! the h2load login): built as the users' client is, so over TLS they trust exactly the target's
//! certificate and speak its protocol.

use std::time::Duration;

use anyhow::Context;

use super::target::TargetProcess;

/// A client for `target` whose requests give up after `timeout`.
pub(crate) fn http(target: &TargetProcess, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    target
        .client
        .builder()?
        .timeout(timeout)
        .build()
        .with_context(|| format!("building an HTTP client for the target at {} failed", target.url()))
}
