//! Logging (tracing) and metrics (Prometheus exposition).

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global tracing subscriber: `RUST_LOG` if set, else the configured filter;
/// human-readable or JSON lines on standard error.
pub fn init_logging(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Installs the global metrics recorder and returns the handle that renders `/metrics`.
/// Installing twice in one process returns a fresh, unregistered handle the second time.
pub fn init_metrics() -> PrometheusHandle {
    let builder = PrometheusBuilder::new();
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::debug!("a metrics recorder was already installed");
    }
    describe();
    handle
}

/// Metric names. Keep docs/operations.md in step.
pub mod names {
    /// Admin HTTP requests, labelled by route and status.
    pub const HTTP_REQUESTS: &str = "otagw_http_requests_total";
    /// Database pool connections checked out.
    pub const STORE_POOL_IN_USE: &str = "otagw_store_pool_connections_in_use";
    /// Database pool connections open.
    pub const STORE_POOL_OPEN: &str = "otagw_store_pool_connections_open";
    /// Database pool maximum size.
    pub const STORE_POOL_MAX: &str = "otagw_store_pool_connections_max";
    /// Always 1, labelled with the version.
    pub const BUILD_INFO: &str = "otagw_build_info";
}

fn describe() {
    metrics::describe_counter!(
        names::HTTP_REQUESTS,
        "Admin HTTP requests by route and status"
    );
    metrics::describe_gauge!(names::STORE_POOL_IN_USE, "Database connections checked out");
    metrics::describe_gauge!(names::STORE_POOL_OPEN, "Database connections open");
    metrics::describe_gauge!(names::STORE_POOL_MAX, "Database pool maximum size");
    metrics::describe_gauge!(names::BUILD_INFO, "Build information (always 1)");
    metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}
