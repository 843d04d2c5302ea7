//! `authbench report DIR`: charts, REPORT.md and a self-contained report.html from results.json
//! alone, deterministically (same input, same bytes).
//!
//! The report is one [`document::Document`], built once by [`sections`] (and [`auth_cost`] for
//! "Where the time goes") and written by each renderer in [`render`]: Markdown, HTML and plain
//! text for a terminal. [`charts`] draws the figures the document points at; [`findings`] computes
//! the page it opens with (cores, p99, bytes, windows and money per option, and the dominated ones).

pub mod adr;
mod auth_cost;
mod charts;
pub mod claims;
pub mod compare;
mod criterion;
pub mod document;
pub mod findings;
pub mod plan;
pub mod render;
mod sections;
pub mod tokens;

use std::path::{Path, PathBuf};

use crate::model::results;
use document::Document;
use findings::Economics;

/// What a report is rendered from besides results.json.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// Criterion's output (normally target/criterion), for "Where the time goes".
    pub criterion: PathBuf,
    /// A claims file to judge instead of the built-in claims.
    pub claims: Option<PathBuf>,
    /// Prices and utilization of the findings page's cores and money.
    pub economics: Economics,
}

impl Inputs {
    /// The built-in claims and default economics, with criterion's output at `criterion`.
    pub fn new(criterion: &Path) -> Inputs {
        Inputs { criterion: criterion.to_owned(), claims: None, economics: Economics::default() }
    }
}

/// Builds the document from `dir/results.json`, drawing its charts into `dir/charts`.
pub fn build(dir: &Path, inputs: &Inputs) -> anyhow::Result<Document> {
    let r = results::read(dir)?;
    let charts_dir = dir.join("charts");
    let charts = charts::render(&r, &charts_dir)?;
    let time = auth_cost::section(&r, &inputs.criterion, &charts_dir)?;
    let claims = match &inputs.claims {
        Some(path) => claims::from_file(path)?,
        None => claims::builtin()?,
    };
    let verdicts = claims::judge(&claims, &r, &inputs.economics);
    let findings = findings::compute(&r, inputs.economics);
    Ok(sections::build(&r, &findings, &charts, time, &verdicts))
}

/// Renders charts, REPORT.md and report.html into `dir` (see [`build`]) and returns the document,
/// e.g. for [`render::terminal`].
pub fn render_document(dir: &Path, inputs: &Inputs) -> anyhow::Result<Document> {
    let doc = build(dir, inputs)?;
    std::fs::write(dir.join("REPORT.md"), render::markdown::document(&doc))?;
    std::fs::write(dir.join("report.html"), render::html::document(&doc, dir)?)?;
    Ok(doc)
}

/// Renders charts, REPORT.md and report.html into `dir` from `dir/results.json`.
pub fn render(dir: &Path, inputs: &Inputs) -> anyhow::Result<()> {
    render_document(dir, inputs).map(|_| ())
}
