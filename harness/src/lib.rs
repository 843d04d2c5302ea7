//! The authbench harness: provisions stores, starts targets, runs scenarios and writes results.
//!
//! It grows with the run and report work; for now it holds the deployment checks
//! (`tests/compose.rs` validates the docker-compose topology users without this harness rely on).
