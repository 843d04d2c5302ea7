//! Load scenarios that drive the targets and the microsecond recorders they feed.
//!
//! Filled in by the run work; the crate exists so the workspace layout is fixed from the start.
