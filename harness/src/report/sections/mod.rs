//! The report's sections, built once from the results and what was rendered beside them.
//!
//! - `run`: introduction, environment and method, summary, charts.
//! - `findings`: security windows, claims, caveats, skipped.
//! - "Where the time goes" is built by [`super::auth_cost`].

mod findings;
mod run;

use crate::model::results::Results;
use crate::report::claims::Verdict;
use crate::report::document::{ChartRef, Document, Section};

/// The whole document, in report order; `time` is the "Where the time goes" section.
pub fn build(r: &Results, charts: &[ChartRef], time: Section, verdicts: &[Verdict]) -> Document {
    let mut sections = vec![
        run::environment_and_method(r),
        run::summary(r),
        run::charts(charts),
        time,
        findings::security(r),
        findings::claims(verdicts),
        findings::caveats(r),
    ];
    sections.extend(findings::skipped(r));
    Document { title: run::title(r), intro: run::intro(r), sections }
}
