//! The admin HTTP server: `/healthz`, `/metrics` and the triggers of the flows (star code, PRL
//! push, IVR-assisted activation, PRL campaigns and their progress).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::dispatcher::Dispatcher;
use crate::flows::prl_campaign::worker::CampaignWorker;
use crate::flows::star_code::StarCodeError;
use crate::store::Store;
use crate::telemetry::names;

/// What the admin handlers need.
#[derive(Clone, Debug)]
pub struct AdminState {
    /// The customer-profile store.
    pub store: Store,
    /// Renders the Prometheus exposition.
    pub metrics: PrometheusHandle,
    /// The dispatcher, for triggers.
    pub driver: Dispatcher,
    /// The PRL campaign worker: woken when a campaign is created; its gauges go into `/metrics`.
    pub campaigns: CampaignWorker,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/admin/star-code", post(star_code))
        .route("/admin/prl-push", post(prl_push))
        .route("/admin/ivr-star-code", post(ivr_star_code))
        .route("/admin/prl-campaign", post(prl_campaign))
        .route("/admin/prl-campaign/{id}", get(prl_campaign_progress))
        .route(
            "/admin/prl-campaign/{id}/{action}",
            post(prl_campaign_control),
        )
        .route("/admin/prl-campaigns", get(prl_campaigns))
        .with_state(state)
}

fn count(route: &'static str, status: StatusCode) {
    metrics::counter!(names::HTTP_REQUESTS, "route" => route, "status" => status.as_u16().to_string())
        .increment(1);
}

/// A JSON answer on `route`, counted.
fn json_reply(route: &'static str, status: StatusCode, value: serde_json::Value) -> Response {
    count(route, status);
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
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

/// Body of `POST /admin/star-code`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StarCodeTrigger {
    /// The TRN the MSC gave the handset's call.
    trn: String,
}

/// The star-code trigger (an IVR's, until the SMPP trigger exists): runs the activation over
/// SS7 and answers with its outcome.
async fn star_code(State(state): State<AdminState>, body: axum::body::Bytes) -> Response {
    const ROUTE: &str = "/admin/star-code";
    let json = |status: StatusCode, value: serde_json::Value| json_reply(ROUTE, status, value);
    let trigger: StarCodeTrigger = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "bad-request", "detail": format!("expected {{\"trn\": \"digits\"}}: {e}")}),
            )
        }
    };
    if trigger.trn.is_empty() || !trigger.trn.bytes().all(|b| b.is_ascii_digit()) {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "bad-request", "detail": "trn must be decimal digits"}),
        );
    }
    match state.driver.star_code(trigger.trn).await {
        Ok(report) => {
            let status = if report.outcome == "success" {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            json(status, serde_json::to_value(&report).unwrap_or_default())
        }
        Err(err) => {
            let status = match &err {
                StarCodeError::UnknownTrn { .. } => StatusCode::NOT_FOUND,
                StarCodeError::Profile(crate::call_manager::OpenError::UnknownDevice(_)) => {
                    StatusCode::NOT_FOUND
                }
                StarCodeError::Profile(_) => StatusCode::CONFLICT,
                StarCodeError::Attach { .. } => StatusCode::BAD_GATEWAY,
                StarCodeError::Disabled => StatusCode::SERVICE_UNAVAILABLE,
                StarCodeError::IotaBearer(_) => StatusCode::CONFLICT,
                StarCodeError::Store(_) | StarCodeError::Step(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            json(
                status,
                serde_json::json!({"error": err.cause(), "detail": err.to_string()}),
            )
        }
    }
}

/// Body of `POST /admin/prl-push`: a PRL library id and one subscriber identity.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PrlPushTrigger {
    /// PRL library id.
    prl: i32,
    /// MDN.
    mdn: Option<String>,
    /// ESN.
    esn: Option<String>,
    /// MEID.
    meid: Option<String>,
}

/// The PRL push trigger (an OTAP admin's): queues the WAP push and answers with the session.
async fn prl_push(State(state): State<AdminState>, body: axum::body::Bytes) -> Response {
    const ROUTE: &str = "/admin/prl-push";
    let json = |status: StatusCode, value: serde_json::Value| json_reply(ROUTE, status, value);
    let bad = |detail: String| {
        json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "bad-request", "detail": detail}),
        )
    };
    let trigger: PrlPushTrigger = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => {
            return bad(format!(
                "expected {{\"prl\": N, \"mdn\"|\"esn\"|\"meid\": \"...\"}}: {e}"
            ))
        }
    };
    let lookup = match (&trigger.mdn, &trigger.esn, &trigger.meid) {
        (Some(v), None, None) | (None, Some(v), None) | (None, None, Some(v)) => {
            match crate::store::profiles::Lookup::parse(v) {
                Ok(l) => l,
                Err(e) => return bad(e),
            }
        }
        _ => return bad("give exactly one of mdn, esn, meid".to_string()),
    };
    match state.driver.prl_push(trigger.prl, lookup).await {
        Ok(started) => json(
            StatusCode::ACCEPTED,
            serde_json::to_value(&started).unwrap_or_default(),
        ),
        Err(err) => {
            let status = match err.cause() {
                "unknown-device" | "unknown-prl" => StatusCode::NOT_FOUND,
                "not-activated" | "no-mdn" | "no-min" => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            json(
                status,
                serde_json::json!({"error": err.cause(), "detail": err.to_string()}),
            )
        }
    }
}

/// The IVR-assisted star-code IOTA activation trigger (an IVR's, until its SMPP trigger is
/// routed): attaches the TRN, queues the WAP push, answers with the session.
async fn ivr_star_code(State(state): State<AdminState>, body: axum::body::Bytes) -> Response {
    const ROUTE: &str = "/admin/ivr-star-code";
    let json = |status: StatusCode, value: serde_json::Value| json_reply(ROUTE, status, value);
    let trigger = match serde_json::from_slice::<StarCodeTrigger>(&body) {
        Ok(t) if !t.trn.is_empty() && t.trn.bytes().all(|b| b.is_ascii_digit()) => t,
        _ => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "bad-request", "detail": "expected {\"trn\": \"digits\"}"}),
            )
        }
    };
    match state.driver.ivr_star_code(trigger.trn).await {
        Ok(started) => json(
            StatusCode::ACCEPTED,
            serde_json::to_value(&started).unwrap_or_default(),
        ),
        Err(err) => {
            let status = match err.cause() {
                "unknown-trn" | "unknown-device" => StatusCode::NOT_FOUND,
                "already-activated" | "deactivated" | "no-mdn" => StatusCode::CONFLICT,
                "ss7-disabled" => StatusCode::SERVICE_UNAVAILABLE,
                "internal-error" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_GATEWAY,
            };
            json(
                status,
                serde_json::json!({"error": err.cause(), "detail": err.to_string()}),
            )
        }
    }
}

/// Body of `POST /admin/prl-campaign`: a PRL and either a list of subscribers or a make/model.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignTrigger {
    prl: i32,
    subscribers: Option<Vec<String>>,
    make: Option<String>,
    model: Option<String>,
}

/// Creates a PRL campaign (an OTAP admin's trigger).
async fn prl_campaign(State(state): State<AdminState>, body: axum::body::Bytes) -> Response {
    use crate::flows::prl_campaign::Target;
    const ROUTE: &str = "/admin/prl-campaign";
    let json = |status: StatusCode, value: serde_json::Value| json_reply(ROUTE, status, value);
    let bad = |detail: &str| {
        json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "bad-request", "detail": detail}),
        )
    };
    let Ok(trigger) = serde_json::from_slice::<CampaignTrigger>(&body) else {
        return bad("expected {\"prl\": N, \"subscribers\": [...]} or {\"prl\": N, \"make\": ..., \"model\": ...}");
    };
    let target = match (trigger.subscribers, trigger.make, trigger.model) {
        (Some(list), None, None) => Target::Subscribers(list),
        (None, Some(make), Some(model)) => Target::MakeModel { make, model },
        _ => return bad("give subscribers, or make and model"),
    };
    match state.driver.prl_campaign(trigger.prl, target).await {
        Ok(started) => {
            state.campaigns.wake();
            json(
                StatusCode::ACCEPTED,
                serde_json::to_value(&started).unwrap_or_default(),
            )
        }
        Err(err) => {
            let (status, body) = campaign_error(&err);
            json(status, body)
        }
    }
}

/// The campaign id in a path, or a 400 answer on `route` saying what is wrong with it.
fn campaign_id(route: &'static str, raw: &str) -> Result<i64, Box<Response>> {
    raw.parse().map_err(|_| {
        Box::new(json_reply(
            route,
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "error": "bad-request",
                "detail": format!("{raw:?} is not a campaign id"),
            }),
        ))
    })
}

/// The status and body of a campaign request that failed.
fn campaign_error(
    err: &crate::flows::prl_campaign::CampaignError,
) -> (StatusCode, serde_json::Value) {
    use crate::flows::prl_campaign::CampaignError;
    let status = match err {
        CampaignError::UnknownPrl(_) | CampaignError::UnknownCampaign(_) => StatusCode::NOT_FOUND,
        CampaignError::Empty => StatusCode::UNPROCESSABLE_ENTITY,
        CampaignError::NotAllowed { .. } => StatusCode::CONFLICT,
        CampaignError::Store(_) | CampaignError::Session(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        serde_json::json!({"error": err.cause(), "detail": err.to_string()}),
    )
}

/// Pauses, resumes or cancels a PRL campaign (`POST /admin/prl-campaign/{id}/pause`, `resume`,
/// `cancel`).
async fn prl_campaign_control(
    State(state): State<AdminState>,
    axum::extract::Path((id, action)): axum::extract::Path<(String, String)>,
) -> Response {
    use crate::store::campaigns::CampaignAction;
    const ROUTE: &str = "/admin/prl-campaign/{id}/{action}";
    let id = match campaign_id(ROUTE, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let action = match action.as_str() {
        "pause" => CampaignAction::Pause,
        "resume" => CampaignAction::Resume,
        "cancel" => CampaignAction::Cancel,
        _ => {
            return json_reply(
                ROUTE,
                StatusCode::NOT_FOUND,
                serde_json::json!({
                    "error": "unknown-action",
                    "detail": format!("{action:?} is not pause, resume or cancel"),
                }),
            )
        }
    };
    let result = async {
        let mut conn = state
            .store
            .conn()
            .await
            .map_err(crate::flows::prl_campaign::CampaignError::from)?;
        crate::flows::prl_campaign::control(&mut conn, id, action).await
    }
    .await;
    let (status, body) = match result {
        Ok(done) => {
            if action == CampaignAction::Resume {
                state.campaigns.wake();
            }
            (
                StatusCode::OK,
                serde_json::to_value(&done).unwrap_or_default(),
            )
        }
        Err(e) => campaign_error(&e),
    };
    json_reply(ROUTE, status, body)
}

/// A PRL campaign's progress.
async fn prl_campaign_progress(
    State(state): State<AdminState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    const ROUTE: &str = "/admin/prl-campaign/{id}";
    let id = match campaign_id(ROUTE, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let result = async {
        let mut conn = state
            .store
            .conn()
            .await
            .map_err(crate::flows::prl_campaign::CampaignError::from)?;
        crate::flows::prl_campaign::progress(&mut conn, id).await
    }
    .await;
    let (status, body) = match result {
        Ok(p) => (StatusCode::OK, serde_json::to_value(&p).unwrap_or_default()),
        Err(e) => campaign_error(&e),
    };
    json_reply(ROUTE, status, body)
}

/// Every PRL campaign not ended and the newest ended ones, with their counts.
async fn prl_campaigns(State(state): State<AdminState>) -> Response {
    const ROUTE: &str = "/admin/prl-campaigns";
    let result = async {
        let mut conn = state
            .store
            .conn()
            .await
            .map_err(crate::flows::prl_campaign::CampaignError::from)?;
        crate::flows::prl_campaign::list(&mut conn).await
    }
    .await;
    let (status, body) = match result {
        Ok(list) => (StatusCode::OK, serde_json::json!({ "campaigns": list })),
        Err(e) => campaign_error(&e),
    };
    json_reply(ROUTE, status, body)
}
