//! What judging a claim gives: the verdict, what was measured and why.

use std::fmt;

use serde::Serialize;

/// The four answers a run can give a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum VerdictKind {
    #[serde(rename = "supported")]
    Supported,
    #[serde(rename = "refuted")]
    Refuted,
    /// True under some conditions only; `because` names them.
    #[serde(rename = "depends-on")]
    DependsOn,
    /// A case or a figure the claim needs is missing from the run; `because` says which.
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl VerdictKind {
    /// The word the report prints.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Supported => "supported",
            VerdictKind::Refuted => "refuted",
            VerdictKind::DependsOn => "depends-on",
            VerdictKind::NotMeasured => "not measured",
        }
    }
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim with what this run measured and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: String,
    pub claim: String,
    pub source: String,
    pub metric: String,
    /// The figures the verdict rests on, in words; "—" when not measured.
    pub measured: String,
    pub verdict: VerdictKind,
    /// For depends-on: the condition; for not measured: what the run lacks; otherwise why.
    pub because: String,
}

/// A rule's decision on figures the run has.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub measured: String,
    pub verdict: VerdictKind,
    pub because: String,
}

impl Outcome {
    pub fn supported(measured: String, because: impl Into<String>) -> Outcome {
        Outcome { measured, verdict: VerdictKind::Supported, because: because.into() }
    }

    pub fn refuted(measured: String, because: impl Into<String>) -> Outcome {
        Outcome { measured, verdict: VerdictKind::Refuted, because: because.into() }
    }

    pub fn depends_on(measured: String, condition: impl Into<String>) -> Outcome {
        Outcome { measured, verdict: VerdictKind::DependsOn, because: condition.into() }
    }
}

/// What the run lacks for a rule to decide: a case, or a figure of a case (`None` in results.json).
#[derive(Debug, Clone, PartialEq)]
pub struct Missing(pub String);

impl From<Missing> for Outcome {
    fn from(m: Missing) -> Outcome {
        Outcome {
            measured: "—".into(), verdict: VerdictKind::NotMeasured, because: format!("this run has no {}", m.0)
        }
    }
}

/// A rule's answer: decided from the figures, or not measured for want of one.
pub type Decision = Result<Outcome, Missing>;

/// The value, or the claim is not measured for want of `what`.
pub fn need<T>(value: Option<T>, what: impl FnOnce() -> String) -> Result<T, Missing> {
    value.ok_or_else(|| Missing(what()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_print_and_serialize_as_the_report_words() {
        for (kind, word) in [
            (VerdictKind::Supported, "supported"),
            (VerdictKind::Refuted, "refuted"),
            (VerdictKind::DependsOn, "depends-on"),
            (VerdictKind::NotMeasured, "not measured"),
        ] {
            assert_eq!(kind.to_string(), word);
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::Value::String(word.into()));
        }
    }

    #[test]
    fn missing_reads_as_not_measured() {
        let o: Outcome = need(None::<f64>, || "req/s per core for session-redis".into()).unwrap_err().into();
        assert_eq!(o.verdict, VerdictKind::NotMeasured);
        assert_eq!(o.measured, "—");
        assert_eq!(o.because, "this run has no req/s per core for session-redis");
    }
}
