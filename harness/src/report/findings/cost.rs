//! Money per million requests: the run's CPU and bytes per request priced with stated, overridable
//! inputs (`--price cpu-hour=…,egress-gb=…`), never a price hidden in a figure.

use std::fmt;
use std::str::FromStr;

/// A price a cost figure is built from, as `--price` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceKey {
    /// Dollars per core-hour of CPU (one vCPU of a rented instance).
    CpuHour,
    /// Dollars per GB sent to clients.
    EgressGb,
    /// Dollars per GB received from clients (where a provider bills it).
    IngressGb,
}

impl PriceKey {
    const ALL: [PriceKey; 3] = [PriceKey::CpuHour, PriceKey::EgressGb, PriceKey::IngressGb];

    /// The name `--price` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceKey::CpuHour => "cpu-hour",
            PriceKey::EgressGb => "egress-gb",
            PriceKey::IngressGb => "ingress-gb",
        }
    }
}

/// The prices a report's cost figures use; each is printed beside the figures it priced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prices {
    pub cpu_hour_usd: f64,
    pub egress_gb_usd: f64,
    pub ingress_gb_usd: f64,
}

impl Default for Prices {
    /// Public list prices of late 2025, stated on the page as inputs, not measurements: an on-demand
    /// general-purpose vCPU-hour (~$0.04), the first tier of internet egress ($0.09/GB), and
    /// ingress, which the large clouds do not bill ($0).
    fn default() -> Prices {
        Prices { cpu_hour_usd: 0.04, egress_gb_usd: 0.09, ingress_gb_usd: 0.0 }
    }
}

impl Prices {
    fn set(&mut self, key: PriceKey, usd: f64) {
        match key {
            PriceKey::CpuHour => self.cpu_hour_usd = usd,
            PriceKey::EgressGb => self.egress_gb_usd = usd,
            PriceKey::IngressGb => self.ingress_gb_usd = usd,
        }
    }
}

impl fmt::Display for Prices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpu-hour={},egress-gb={},ingress-gb={}", self.cpu_hour_usd, self.egress_gb_usd, self.ingress_gb_usd)
    }
}

/// Why a `--price` value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error("{0:?} is not NAME=DOLLARS: write e.g. --price cpu-hour=0.04,egress-gb=0.09")]
    NotAPair(String),
    #[error(
        "unknown price {0:?}: the prices are cpu-hour (dollars per core-hour), egress-gb (dollars per GB sent) and \
         ingress-gb (dollars per GB received)"
    )]
    UnknownKey(String),
    #[error("{value:?} is not a price for {key}: use dollars, 0 or more, e.g. 0.04")]
    BadValue { key: &'static str, value: String },
}

impl FromStr for Prices {
    type Err = PriceError;

    /// `cpu-hour=0.05,egress-gb=0.02`; a price left out keeps its default.
    fn from_str(s: &str) -> Result<Prices, PriceError> {
        let mut prices = Prices::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| PriceError::NotAPair(pair.to_owned()))?;
            let key = PriceKey::ALL
                .into_iter()
                .find(|k| k.as_str() == name.trim())
                .ok_or_else(|| PriceError::UnknownKey(name.trim().to_owned()))?;
            let usd = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| PriceError::BadValue { key: key.as_str(), value: value.trim().to_owned() })?;
            prices.set(key, usd);
        }
        Ok(prices)
    }
}

/// Microseconds in an hour, for CPU µs per request into core-hours.
const US_PER_HOUR: f64 = 3.6e9;

/// Dollars for a million requests, by what was priced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostPerMillion {
    /// CPU of the target and its store, at the planned utilization.
    pub cpu_usd: f64,
    /// Bytes the target sent.
    pub egress_usd: f64,
    /// Bytes the target received.
    pub ingress_usd: f64,
}

impl CostPerMillion {
    /// The cost of a million requests that each take `cpu_us` of CPU (target and store) and move
    /// `bytes`, with cores bought at `utilization` of their time.
    pub fn of(cpu_us: f64, bytes: Wire, utilization: f64, p: &Prices) -> CostPerMillion {
        CostPerMillion {
            cpu_usd: 1e6 * cpu_us / US_PER_HOUR / utilization * p.cpu_hour_usd,
            egress_usd: 1e6 * bytes.sent / 1e9 * p.egress_gb_usd,
            ingress_usd: 1e6 * bytes.received / 1e9 * p.ingress_gb_usd,
        }
    }

    pub fn total(&self) -> f64 {
        self.cpu_usd + self.egress_usd + self.ingress_usd
    }
}

/// Bytes per request in each direction, as the target's sockets counted them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wire {
    pub sent: f64,
    pub received: f64,
}

impl Wire {
    /// No bytes: a cost of CPU alone.
    pub const NONE: Wire = Wire { sent: 0.0, received: 0.0 };
}

/// The formula as the page states it.
pub fn formula(utilization: f64, p: &Prices) -> String {
    format!(
        "$ per million requests = 1e6 × (target + store CPU µs/request) ÷ 3.6e9 µs per core-hour ÷ {:.0} % \
         utilization × ${} per core-hour + 1e6 × bytes sent/request ÷ 1e9 × ${} per GB of egress + 1e6 × bytes \
         received/request ÷ 1e9 × ${} per GB of ingress (prices: --price {p}; change any of them with --price \
         cpu-hour=…,egress-gb=…,ingress-gb=…). The prices are inputs, not measurements.",
        utilization * 100.0,
        p.cpu_hour_usd,
        p.egress_gb_usd,
        p.ingress_gb_usd
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_override_and_refuse() {
        assert_eq!("".parse::<Prices>().unwrap(), Prices::default());
        let p: Prices = "egress-gb=0.02".parse().unwrap();
        assert_eq!(p, Prices { egress_gb_usd: 0.02, ..Prices::default() });
        let p: Prices = " cpu-hour = 0.1 , egress-gb=0 ,ingress-gb=0.01".parse().unwrap();
        assert_eq!(p, Prices { cpu_hour_usd: 0.1, egress_gb_usd: 0.0, ingress_gb_usd: 0.01 });
        assert_eq!(p.to_string().parse::<Prices>().unwrap(), p);
        assert_eq!("ram-gb=1".parse::<Prices>(), Err(PriceError::UnknownKey("ram-gb".into())));
        assert_eq!("cpu-hour".parse::<Prices>(), Err(PriceError::NotAPair("cpu-hour".into())));
        assert!(matches!("cpu-hour=-1".parse::<Prices>(), Err(PriceError::BadValue { key: "cpu-hour", .. })));
        assert!(matches!("cpu-hour=inf".parse::<Prices>(), Err(PriceError::BadValue { .. })));
    }

    #[test]
    fn cost_scales_with_cpu_bytes_utilization_and_price() {
        let p = Prices { cpu_hour_usd: 0.036, egress_gb_usd: 0.1, ingress_gb_usd: 0.02 };
        let wire = Wire { sent: 500.0, received: 250.0 };
        // 36 µs per request: a million take 36 core-seconds = 0.01 core-hours, at full use.
        let c = CostPerMillion::of(36.0, wire, 1.0, &p);
        assert!((c.cpu_usd - 0.00036).abs() < 1e-12, "{c:?}");
        assert!((c.egress_usd - 0.05).abs() < 1e-12, "{c:?}");
        assert!((c.ingress_usd - 0.005).abs() < 1e-12, "{c:?}");
        let half = CostPerMillion::of(36.0, wire, 0.5, &p);
        assert!((half.cpu_usd - 2.0 * c.cpu_usd).abs() < 1e-12);
        assert_eq!(half.egress_usd, c.egress_usd);
        assert!((c.total() - (c.cpu_usd + c.egress_usd + c.ingress_usd)).abs() < 1e-15);
    }
}
