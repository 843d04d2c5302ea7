//! The authbench harness: provisions stores, starts targets, runs scenarios, writes results and
//! turns them into reports, plans and decision records.
//!
//! # Layout
//! - [`model`]: the run matrix and the results schema (with the upgrade of older files), the
//!   statistics of repetitions and the rate ladder's SLO bracket, shards and their exact merge
//!   (`authbench merge`). It imports nothing else of the
//!   harness.
//! - [`run`]: `authbench run` — provision stores, start a fresh target per case, drive goose,
//!   scrape the target's counters and /proc, repeat the matrix, climb rate ladders, probe
//!   security windows, write results.json; or drive targets already running (`--target-url`),
//!   their CPU and memory from their own /metrics.
//! - [`report`]: everything that reads results offline — the report document and its renderers,
//!   charts (one file per kind), claims, "where the time goes", plan, ADR, compare, token sizes.
//! - [`cli`]: the clap types of the `authbench` binary, whose `main.rs` only dispatches.
//!
//! `run` and `report` never import each other; both stand on `model`.

pub mod cli;
pub mod model;
pub mod report;
pub mod run;
