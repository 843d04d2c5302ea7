//! The harness's data model: what a run is asked to do ([`matrix`]) and what it measured
//! ([`results`], [`probe`], [`environment`]), how repetitions become intervals ([`stats`]) and
//! ladders become a capacity ([`ladder`]), with the upgrade of older result files. Nothing here
//! starts processes or renders output, so the offline commands depend on this alone.

pub mod environment;
pub mod fault;
pub mod histogram;
pub mod ladder;
pub mod matrix;
pub mod probe;
pub mod results;
pub mod stats;
mod upgrade;
