//! The renderers of a [`Document`](super::document::Document): each writes every section and
//! block, so the three outputs cannot drift apart.
//!
//! - `markdown`: REPORT.md, and the Markdown table writer the plan, ADR and compare use.
//! - `html`: a self-contained report.html with the charts' SVG inlined.
//! - `terminal`: plain text with aligned tables, charts listed by file (`authbench report --print`).

pub mod html;
pub mod markdown;
pub mod terminal;
