//! The admin HTTP server: `/healthz` and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::store::Store;
use crate::telemetry::names;

/// What the admin handlers need.
#[derive(Clone, Debug)]
pub struct AdminState {
    /// The customer-profile store.
    pub store: Store,
    /// Renders the Prometheus exposition.
    pub metrics: PrometheusHandle,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

fn count(route: &'static str, status: StatusCode) {
    metrics::counter!(names::HTTP_REQUESTS, "route" => route, "status" => status.as_u16().to_string())
        .increment(1);
}

async fn healthz(State(state): State<AdminState>) -> Response {
    let (status, body) = match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            r#"{"status":"ok","database":"ok"}"#.to_string(),
        ),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "unavailable", "database": err.to_string()}).to_string(),
        ),
    };
    count("/healthz", status);
    (status, [("content-type", "application/json")], body).into_response()
}

async fn metrics_text(State(state): State<AdminState>) -> Response {
    let pool = state.store.pool_status();
    metrics::gauge!(names::STORE_POOL_IN_USE).set(pool.in_use as f64);
    metrics::gauge!(names::STORE_POOL_OPEN).set(pool.open as f64);
    metrics::gauge!(names::STORE_POOL_MAX).set(pool.max as f64);
    count("/metrics", StatusCode::OK);
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
