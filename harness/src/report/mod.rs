//! `authbench report DIR`: charts, REPORT.md and a self-contained report.html from results.json
//! alone, deterministically (same input, same bytes).
//!
//! The report is one [`document::Document`], built once by [`sections`] (and [`auth_cost`] for
//! "Where the time goes") and written by each renderer in [`render`]: Markdown, HTML and plain
//! text for a terminal. [`charts`] draws the figures the document points at.

pub mod adr;
mod auth_cost;
mod charts;
pub mod claims;
pub mod compare;
mod criterion;
pub mod document;
pub mod plan;
pub mod render;
mod sections;
pub mod tokens;

use std::path::Path;

use crate::model::results;
use document::Document;

/// Builds the document from `dir/results.json`, drawing its charts into `dir/charts`, with the
/// microbenchmarks found in `criterion_dir` (criterion's output, normally target/criterion) and the
/// claims of `claims_file` (the built-in claims when None).
pub fn build(dir: &Path, criterion_dir: &Path, claims_file: Option<&Path>) -> anyhow::Result<Document> {
    let r = results::read(dir)?;
    let charts_dir = dir.join("charts");
    let charts = charts::render(&r, &charts_dir)?;
    let time = auth_cost::section(&r, criterion_dir, &charts_dir)?;
    let claims = match claims_file {
        Some(path) => claims::from_file(path)?,
        None => claims::builtin()?,
    };
    let verdicts = claims::judge(&claims, &r);
    Ok(sections::build(&r, &charts, time, &verdicts))
}

/// Renders charts, REPORT.md and report.html into `dir` (see [`build`]) and returns the document,
/// e.g. for [`render::terminal`].
pub fn render_document(dir: &Path, criterion_dir: &Path, claims_file: Option<&Path>) -> anyhow::Result<Document> {
    let doc = build(dir, criterion_dir, claims_file)?;
    std::fs::write(dir.join("REPORT.md"), render::markdown::document(&doc))?;
    std::fs::write(dir.join("report.html"), render::html::document(&doc, dir)?)?;
    Ok(doc)
}

/// Renders charts, REPORT.md and report.html into `dir` from `dir/results.json`, with the
/// microbenchmarks found in `criterion_dir` (criterion's output, normally target/criterion).
pub fn render(dir: &Path, criterion_dir: &Path, claims_file: Option<&Path>) -> anyhow::Result<()> {
    render_document(dir, criterion_dir, claims_file).map(|_| ())
}
