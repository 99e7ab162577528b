//! The admin HTTP server: `/healthz` and `/metrics` (open, read-only) and the REST API under
//! `/api/v1` ([`super::api`]: every request authenticated and checked against the one
//! permission table). No unauthenticated write remains.

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::guard::GuardState;
use super::state::{json, AdminState};
use crate::telemetry::names;

/// The admin router.
pub(crate) fn router(state: AdminState) -> Router {
    let guard = GuardState {
        store: state.store.clone(),
        allowed_hosts: state.allowed_hosts.clone(),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(state.clone())
        .merge(super::api::router(state, guard))
        .layer(middleware::from_fn(count))
}

/// Counts every answer by route and status.
async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    if let Some(route) = route {
        metrics::counter!(names::HTTP_REQUESTS, "route" => route, "status" => response.status().as_u16().to_string())
            .increment(1);
    }
    response
}

async fn healthz(State(state): State<AdminState>) -> Response {
    match state.store.ping().await {
        Ok(()) => json(
            StatusCode::OK,
            serde_json::json!({"status": "ok", "database": "ok"}),
        ),
        Err(err) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "unavailable", "database": err.to_string()}),
        ),
    }
}

async fn metrics_text(State(state): State<AdminState>) -> Response {
    let pool = state.store.pool_status();
    metrics::gauge!(names::STORE_POOL_IN_USE).set(pool.in_use as f64);
    metrics::gauge!(names::STORE_POOL_OPEN).set(pool.open as f64);
    metrics::gauge!(names::STORE_POOL_MAX).set(pool.max as f64);
    let mut text = state.metrics.render();
    let campaigns = state.campaigns.gauges().render();
    if !campaigns.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&campaigns);
    }
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}
