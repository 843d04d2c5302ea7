//! The harness's data model: what a run is asked to do ([`matrix`]) and what it measured
//! ([`results`], [`probe`], [`environment`]), how repetitions become intervals ([`stats`]) and
//! ladders become a capacity ([`ladder`]), with the upgrade of older result files; a run split over
//! several load hosts ([`shard`]) and its shards merged into one ([`merge`]). Nothing here
//! starts processes or renders output, so the offline commands depend on this alone.

pub mod dimensions;
pub mod environment;
pub mod fault;
pub mod histogram;
pub mod ladder;
pub mod matrix;
pub mod merge;
pub mod pool;
pub mod population;
pub mod probe;
pub mod protocol;
pub mod results;
pub mod seed;
pub mod shard;
pub mod stats;
mod upgrade;
