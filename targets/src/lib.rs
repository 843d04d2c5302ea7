//! The authentication strategies authbench compares, as interchangeable axum services.
//!
//! A target is one strategy (`jwt`, `session`, `hybrid`) on one store behind the same HTTP
//! contract, so a load test measures the strategy rather than the surrounding code.
//!
//! # Layout
//! - [`spec`]: a target configuration as one typed value ([`spec::TargetSpec`]), its id and flags;
//!   [`config`] adds what only a running process needs (addresses, URLs, keys, pool size).
//! - [`contract`]: routes, cookie and header names, seeded credentials, metric names and the
//!   /control/info document, shared with every client.
//! - [`token`]: JWT codec and algorithms, key material, opaque tokens.
//! - [`store`]: sessions, refresh families and denylists in PostgreSQL, Redis, a Redis Cluster or
//!   memory.
//! - [`strategy`]: jwt, session, hybrid and the no-auth floor `none` behind one `Auth` the HTTP
//!   layer calls; [`users`] the seeded accounts, [`hashing`] the fixed threads that check their
//!   passwords; [`deadline`] the coarse request and store-operation deadlines.
//! - [`http`]: the axum router, credential parsing, handlers; [`net`] counts socket bytes;
//!   [`tls`] serves HTTPS and HTTP/2 on top of it; [`metrics`] serves Prometheus text;
//!   [`info`] derives the capabilities /control/info states.
//! - `testkit` feature: [`throwaway`] PostgreSQL/Redis servers, [`sizes`] (bytes per credential)
//!   and [`local`] (a target served in-process), for tests, benches and the harness, not for the
//!   service itself.

// A future over clippy.toml's threshold awaited inline is refused: it would size every future above
// it, the request handler's included, which axum moves onto the heap per request.
#![warn(clippy::large_futures)]

pub mod config;
pub mod contract;
pub mod deadline;
pub mod error;
pub mod hashing;
pub mod http;
pub mod info;
#[cfg(feature = "testkit")]
pub mod local;
pub mod logging;
pub mod metrics;
pub mod net;
#[cfg(feature = "testkit")]
pub mod sizes;
pub mod spec;
pub mod store;
pub mod strategy;
#[cfg(feature = "testkit")]
pub mod throwaway;
pub mod tls;
pub mod token;
pub mod users;
