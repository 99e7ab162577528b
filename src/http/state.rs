//! What the admin server's handlers share ([`super::admin`]'s health and metrics, the REST API
//! in [`super::api`]): their state and the JSON answer.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;

use super::problem::Problem;
use crate::dispatcher::Dispatcher;
use crate::flows::prl_campaign::worker::CampaignWorker;
use crate::store::Store;

/// What the admin handlers need.
#[derive(Clone, Debug)]
pub(crate) struct AdminState {
    /// The customer-profile store.
    pub store: Store,
    /// Renders the Prometheus exposition.
    pub metrics: PrometheusHandle,
    /// The dispatcher, for triggers.
    pub driver: Dispatcher,
    /// The PRL campaign worker: woken when a campaign is created; its gauges go into `/metrics`.
    pub campaigns: CampaignWorker,
    /// Host names (besides IP literals and `localhost`) the API answers to
    /// (`http.allowed_hosts`).
    pub allowed_hosts: Arc<[String]>,
}

/// A JSON answer.
pub(super) fn json(status: StatusCode, value: impl serde::Serialize) -> Response {
    match serde_json::to_string(&value) {
        Ok(body) => (status, [("content-type", "application/json")], body).into_response(),
        Err(e) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            format!("encoding the answer: {e}"),
        )
        .into_response(),
    }
}
