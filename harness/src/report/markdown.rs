//! Markdown tables for the plan, the ADR and comparisons: the report's Markdown renderer's writer.

pub use super::render::markdown::table;
