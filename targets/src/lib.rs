//! The three authentication strategies authbench compares, as interchangeable axum services.
//!
//! A target is one strategy (`jwt`, `session`, `hybrid`) on one store behind the same HTTP
//! contract, so a load test measures the strategy rather than the surrounding code.

pub mod config;
pub mod error;
pub mod http;
pub mod info;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod sizes;
pub mod store;
pub mod strategy;
pub mod throwaway;
pub mod token;
pub mod users;
