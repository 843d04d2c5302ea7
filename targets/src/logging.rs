//! Logging to stderr for the binaries, so stdout stays machine-readable.

/// Logs warnings and errors to stderr; `RUST_LOG` overrides the level.
pub fn init() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}
