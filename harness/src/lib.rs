//! The authbench harness: provisions stores, starts targets, runs scenarios and writes results.

pub mod adr;
pub mod compare;
pub mod cpu;
pub mod criterion;
pub mod export;
pub mod fingerprint;
pub mod interrupt;
pub mod markdown;
pub mod matrix;
pub mod plan;
pub mod probe;
pub mod provision;
pub mod report;
pub mod results;
pub mod run;
pub mod scrape;
pub mod storage;
pub mod target;
pub mod tokens;
