//! Loading a claims file: TOML into typed [`Claim`]s, refused at load time with the line of the
//! first mistake (an unknown rule or field, a missing or misplaced threshold, a duplicate id).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::rule::{MetricKind, Rule, RuleName, Setting, Settings, Threshold};
use super::Claim;
use crate::model::ladder::Percentile;

/// The claims shipped with authbench.
pub(super) const BUILTIN: &str = include_str!("../../../claims.toml");
const BUILTIN_NAME: &str = "harness/claims.toml (built in)";
const FORMAT: &str = "each [[claim]] takes id, claim, source, metric, states, condition, rule, the threshold its \
                      rule needs, and optionally url and the settings its rule reads; \
                      the top of harness/claims.toml describes the format with an example";

/// Why claims cannot be loaded. Each message carries its cause (so none is chained as a source).
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    #[error("cannot read claims file {}: {error}; check the path given to --claims", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("claims file {file} is not valid: {error}({FORMAT})")]
    Toml { file: String, error: Box<toml::de::Error> },
    #[error("claims file {file} is not valid: {at}{problem}\n({FORMAT})")]
    Claim { file: String, at: Position, problem: Problem },
    #[error("claims file {file} has no [[claim]] table: add at least one ({FORMAT})")]
    Empty { file: String },
}

/// What is wrong with one claim of a file that is otherwise well-formed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("rule `{rule}` needs `{threshold}`: {}", threshold.meaning())]
    MissingThreshold { rule: RuleName, threshold: Threshold },
    #[error("rule `{rule}` takes no threshold: remove `{given}`")]
    NoThreshold { rule: RuleName, given: Threshold },
    #[error("rule `{rule}` takes `{takes}`, not `{given}`: {}", takes.meaning())]
    WrongThreshold { rule: RuleName, given: Threshold, takes: Threshold },
    #[error("rule `{rule}` does not read `{given}`: remove it")]
    NoSetting { rule: RuleName, given: Setting },
    #[error("{0}")]
    BadValue(String),
    #[error("rule `{rule}` judges a {judges} figure, but the claim states {states}: give the rule of a {states} claim, or correct `states`")]
    WrongMetric { rule: RuleName, states: MetricKind, judges: MetricKind },
    #[error("claim id `{id}` is already used at line {first_line}: give each claim its own id")]
    DuplicateId { id: String, first_line: usize },
}

/// Where in a file a problem is, shown as toml shows its own errors: line, column and the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    text: String,
    width: usize,
}

impl Position {
    fn of(text: &str, span: Range<usize>) -> Position {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_text = text[line_start..line_end].trim_end_matches('\r');
        let width = text[start..span.end.clamp(start, line_end)].chars().count().max(1);
        Position {
            line: text[..start].matches('\n').count() + 1,
            column: text[line_start..start].chars().count() + 1,
            text: line_text.to_owned(),
            width,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gutter = " ".repeat(self.line.to_string().len());
        writeln!(f, "line {}, column {}", self.line, self.column)?;
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{} | {}", self.line, self.text)?;
        writeln!(f, "{gutter} | {}{}", " ".repeat(self.column - 1), "^".repeat(self.width))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    claim: Vec<RawClaim>,
}

/// One `[[claim]]` table as written; [`RawClaim::into_claim`] checks it against its rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    id: Spanned<String>,
    claim: String,
    source: String,
    url: Option<String>,
    metric: String,
    states: Spanned<MetricKind>,
    condition: String,
    rule: Spanned<RuleName>,
    claimed_us: Option<Spanned<f64>>,
    claimed_rps: Option<Spanned<f64>>,
    claimed_share: Option<Spanned<f64>>,
    claimed_s: Option<Spanned<f64>>,
    tolerance: Option<Spanned<f64>>,
    percentile: Option<Spanned<Percentile>>,
    at_rps: Option<Spanned<f64>>,
    max_extra_cores: Option<Spanned<f64>>,
    max_throughput_ratio: Option<Spanned<f64>>,
    max_error_share: Option<Spanned<f64>>,
    logged_out_share: Option<Spanned<f64>>,
}

type Located = (Range<usize>, Problem);

impl RawClaim {
    fn given(&self, t: Threshold) -> Option<&Spanned<f64>> {
        match t {
            Threshold::ClaimedUs => self.claimed_us.as_ref(),
            Threshold::ClaimedRps => self.claimed_rps.as_ref(),
            Threshold::ClaimedShare => self.claimed_share.as_ref(),
            Threshold::ClaimedS => self.claimed_s.as_ref(),
        }
    }

    /// Refuses a threshold the rule does not take, before asking for the one it does.
    fn unexpected_threshold(&self) -> Result<(), Located> {
        let rule = *self.rule.get_ref();
        let takes = Rule::threshold(rule);
        let extra = Threshold::ALL.iter().find_map(|&t| self.given(t).filter(|_| Some(t) != takes).map(|v| (t, v)));
        match (extra, takes) {
            (None, _) => Ok(()),
            (Some((given, v)), None) => Err((v.span(), Problem::NoThreshold { rule, given })),
            (Some((given, v)), Some(takes)) => Err((v.span(), Problem::WrongThreshold { rule, given, takes })),
        }
    }

    /// Where a setting is written, if it is.
    fn setting_span(&self, s: Setting) -> Option<Range<usize>> {
        match s {
            Setting::Tolerance => self.tolerance.as_ref().map(Spanned::span),
            Setting::Percentile => self.percentile.as_ref().map(Spanned::span),
            Setting::AtRps => self.at_rps.as_ref().map(Spanned::span),
            Setting::MaxExtraCores => self.max_extra_cores.as_ref().map(Spanned::span),
            Setting::MaxThroughputRatio => self.max_throughput_ratio.as_ref().map(Spanned::span),
            Setting::MaxErrorShare => self.max_error_share.as_ref().map(Spanned::span),
            Setting::LoggedOutShare => self.logged_out_share.as_ref().map(Spanned::span),
        }
    }

    /// The settings after defaults, refusing one the rule does not read or a value no claim means.
    fn settings(&self) -> Result<Settings, Located> {
        let rule = *self.rule.get_ref();
        for &given in Setting::ALL {
            match self.setting_span(given) {
                Some(span) if !given.taken_by(rule) => return Err((span, Problem::NoSetting { rule, given })),
                _ => {}
            }
        }
        let checked = |s: Setting, v: &Option<Spanned<f64>>| {
            v.as_ref().map(|v| s.check(*v.get_ref()).map_err(|e| (v.span(), Problem::BadValue(e)))).transpose()
        };
        let d = Settings::default();
        Ok(Settings {
            tolerance: checked(Setting::Tolerance, &self.tolerance)?.unwrap_or(d.tolerance),
            percentile: self.percentile.as_ref().map_or(d.percentile, |p| *p.get_ref()),
            at_rps: checked(Setting::AtRps, &self.at_rps)?,
            max_extra_cores: checked(Setting::MaxExtraCores, &self.max_extra_cores)?.unwrap_or(d.max_extra_cores),
            max_throughput_ratio: checked(Setting::MaxThroughputRatio, &self.max_throughput_ratio)?
                .unwrap_or(d.max_throughput_ratio),
            max_error_share: checked(Setting::MaxErrorShare, &self.max_error_share)?.unwrap_or(d.max_error_share),
            logged_out_share: checked(Setting::LoggedOutShare, &self.logged_out_share)?.unwrap_or(d.logged_out_share),
        })
    }

    fn into_claim(self) -> Result<Claim, Located> {
        self.unexpected_threshold()?;
        let settings = self.settings()?;
        let name = *self.rule.get_ref();
        let states = *self.states.get_ref();
        if states != name.judges() {
            return Err((self.states.span(), Problem::WrongMetric { rule: name, states, judges: name.judges() }));
        }
        let take = |t: Threshold| {
            let v = self.given(t).ok_or((self.rule.span(), Problem::MissingThreshold { rule: name, threshold: t }))?;
            t.check(*v.get_ref()).map_err(|e| (v.span(), Problem::BadValue(e)))
        };
        let rule = Rule::build(name, take, &settings)?;
        Ok(Claim {
            id: self.id.into_inner(),
            claim: self.claim,
            source: self.source,
            url: self.url,
            metric: self.metric,
            states,
            condition: self.condition,
            rule,
            tolerance: settings.tolerance,
        })
    }
}

/// Parses claims from `text`; `file` names it in errors.
pub(super) fn parse(text: &str, file: &str) -> Result<Vec<Claim>, ClaimsError> {
    let raw: RawFile =
        toml::from_str(text).map_err(|e| ClaimsError::Toml { file: file.to_owned(), error: Box::new(e) })?;
    if raw.claim.is_empty() {
        return Err(ClaimsError::Empty { file: file.to_owned() });
    }
    let refuse =
        |(span, problem): Located| ClaimsError::Claim { file: file.to_owned(), at: Position::of(text, span), problem };
    let mut lines: HashMap<String, usize> = HashMap::new();
    let mut claims = Vec::with_capacity(raw.claim.len());
    for c in raw.claim {
        let line = Position::of(text, c.id.span()).line;
        if let Some(&first_line) = lines.get(c.id.get_ref()) {
            return Err(refuse((c.id.span(), Problem::DuplicateId { id: c.id.into_inner(), first_line })));
        }
        lines.insert(c.id.get_ref().clone(), line);
        claims.push(c.into_claim().map_err(refuse)?);
    }
    Ok(claims)
}

/// The claims shipped with authbench (harness/claims.toml).
pub fn builtin() -> Result<Vec<Claim>, ClaimsError> {
    parse(BUILTIN, BUILTIN_NAME)
}

/// A team's own claims, in the same format as the built-in file.
pub fn from_file(path: &Path) -> Result<Vec<Claim>, ClaimsError> {
    let text = std::fs::read_to_string(path).map_err(|error| ClaimsError::Read { path: path.to_owned(), error })?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests;
