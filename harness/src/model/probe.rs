//! What the security probe and the storage measurement record per target configuration.

use serde::{Deserialize, Serialize};

use super::results::TargetRecord;

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

impl WindowResult {
    /// The window to compare by: the measurement, or the bound the TTLs imply where the probe
    /// stopped waiting (said as such wherever it is shown).
    pub fn measured_or_bound_s(&self) -> f64 {
        self.measured_s.unwrap_or(self.bound_s as f64)
    }
}

/// Bytes per stored record and how they were measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Storage {
    pub records: u64,
    pub bytes_per_record: f64,
    pub measured_as: String,
}

/// Both windows for one target configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeResult {
    pub target: TargetRecord,
    pub users: u32,
    pub cap_s: f64,
    pub poll_interval_ms: u64,
    pub revocation: WindowResult,
    pub stale_role: WindowResult,
    pub method: String,
    /// Bytes one stored session or refresh family costs the store (session and hybrid only).
    #[serde(default)]
    pub storage: Option<Storage>,
}
