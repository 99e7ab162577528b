//! The admin HTTP server: `/healthz`, `/metrics` and the triggers of the flows (star code, PRL
//! push, IVR-assisted activation, PRL campaigns and their progress).

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use super::problem::Problem;
use crate::dispatcher::Dispatcher;
use crate::flows::prl_campaign::worker::CampaignWorker;
use crate::flows::prl_campaign::{self, CampaignError, Target};
use crate::store::campaigns::CampaignAction;
use crate::store::profiles::Lookup;
use crate::store::Store;
use crate::telemetry::names;

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
}

/// The admin router.
pub(crate) fn router(state: AdminState) -> Router {
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
        .layer(middleware::from_fn(count))
        .with_state(state)
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

/// A JSON answer.
fn json(status: StatusCode, value: impl serde::Serialize) -> Response {
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

/// A request body read as JSON of type `T`, or a 400 saying what was expected.
fn body_of<T: serde::de::DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("expected {expected}: {e}")))
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

/// Body of `POST /admin/star-code` and `POST /admin/ivr-star-code`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StarCodeTrigger {
    /// The TRN the MSC gave the handset's call.
    trn: String,
}

impl StarCodeTrigger {
    fn read(body: &[u8]) -> Result<String, Problem> {
        let trigger: Self = body_of(body, "{\"trn\": \"digits\"}")?;
        if trigger.trn.is_empty() || !trigger.trn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem::bad_request("trn must be decimal digits"));
        }
        Ok(trigger.trn)
    }
}

/// The star-code trigger (an IVR's or an operator's): runs the activation over SS7 and answers
/// with its outcome (200 activated, 422 failed with its cause, 202 an IOTA-capable handset
/// handed to the IVR-assisted IOTA path).
async fn star_code(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trn = StarCodeTrigger::read(&body)?;
    let report = state.driver.star_code(trn).await?;
    let status = match report.outcome.as_str() {
        "success" => StatusCode::OK,
        crate::flows::star_code::HANDED_TO_IOTA => StatusCode::ACCEPTED,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok(json(status, report))
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
async fn prl_push(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trigger: PrlPushTrigger =
        body_of(&body, "{\"prl\": N, \"mdn\"|\"esn\"|\"meid\": \"...\"}")?;
    let lookup = match (&trigger.mdn, &trigger.esn, &trigger.meid) {
        (Some(v), None, None) | (None, Some(v), None) | (None, None, Some(v)) => {
            Lookup::parse(v).map_err(Problem::bad_request)?
        }
        _ => return Err(Problem::bad_request("give exactly one of mdn, esn, meid")),
    };
    let started = state.driver.prl_push(trigger.prl, lookup).await?;
    Ok(json(StatusCode::ACCEPTED, started))
}

/// The IVR-assisted star-code IOTA activation trigger: attaches the TRN, queues the WAP push,
/// answers with the session.
async fn ivr_star_code(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trn = StarCodeTrigger::read(&body)?;
    let started = state.driver.ivr_star_code(trn).await?;
    Ok(json(StatusCode::ACCEPTED, started))
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
async fn prl_campaign(
    State(state): State<AdminState>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let trigger: CampaignTrigger = body_of(
        &body,
        "{\"prl\": N, \"subscribers\": [...]} or {\"prl\": N, \"make\": ..., \"model\": ...}",
    )?;
    let target = match (trigger.subscribers, trigger.make, trigger.model) {
        (Some(list), None, None) => Target::Subscribers(list),
        (None, Some(make), Some(model)) => Target::MakeModel { make, model },
        _ => return Err(Problem::bad_request("give subscribers, or make and model")),
    };
    let started = state.driver.prl_campaign(trigger.prl, target).await?;
    state.campaigns.wake();
    Ok(json(StatusCode::ACCEPTED, started))
}

/// The campaign id in a path.
fn campaign_id(raw: &str) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| Problem::bad_request(format!("{raw:?} is not a campaign id")))
}

/// Pauses, resumes or cancels a PRL campaign (`POST /admin/prl-campaign/{id}/pause`, `resume`,
/// `cancel`).
async fn prl_campaign_control(
    State(state): State<AdminState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let id = campaign_id(&id)?;
    let action: CampaignAction = action.parse().map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-action",
            format!("{action:?} is not pause, resume or cancel"),
        )
    })?;
    let mut conn = state.store.conn().await.map_err(CampaignError::from)?;
    let done = prl_campaign::control(&mut conn, id, action).await?;
    if action == CampaignAction::Resume {
        state.campaigns.wake();
    }
    Ok(json(StatusCode::OK, done))
}

/// A PRL campaign's progress.
async fn prl_campaign_progress(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = campaign_id(&id)?;
    let mut conn = state.store.conn().await.map_err(CampaignError::from)?;
    Ok(json(
        StatusCode::OK,
        prl_campaign::progress(&mut conn, id).await?,
    ))
}

/// Every PRL campaign not ended and the newest ended ones, with their counts.
async fn prl_campaigns(State(state): State<AdminState>) -> Result<Response, Problem> {
    let mut conn = state.store.conn().await.map_err(CampaignError::from)?;
    let list = prl_campaign::list(&mut conn).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "campaigns": list }),
    ))
}
