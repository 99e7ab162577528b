//! The IOTA HTTP server (the patent's "IOTA server"): handsets GET their bootstrap URL and POST
//! IS-683 responses inside MMC documents (our profile: docs/iota.md). Handlers are thin: the
//! IOTA bearer (`crate::iota::session`) does the work in one transaction per request, through
//! the dispatcher; this module maps HTTP to it and errors to MMC error documents.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use otagw_codecs::identity::{DeviceId, Esn, Meid};
use otagw_codecs::mmc::MmcDocument;

use crate::dispatcher::{CallbackKey, Dispatcher};
use crate::iota::{IotaError, ACTIVATE_PATH, BOOTSTRAP_PATH, OTAPA_PATH, SESSION_PATH};
use crate::telemetry::names;
/// Largest request body.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// Content type of MMC documents.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.otagw.mmc+xml";
/// Header carrying an ESN.
pub(crate) const ESN_HEADER: &str = "x-device-esn";
/// Header carrying a MEID.
pub(crate) const MEID_HEADER: &str = "x-device-meid";
/// The header in which the operator's WAP gateway gives the subscriber's MDN.
pub(crate) const MSISDN_HEADER: &str = "x-msisdn";

/// What the IOTA handlers share.
#[derive(Clone, Debug)]
pub(crate) struct IotaState {
    /// The dispatcher the handlers report to (patent step 2: "informs the OSPP Driver").
    pub driver: Dispatcher,
}

/// The IOTA router.
pub(crate) fn router(state: IotaState) -> Router {
    Router::new()
        .route(BOOTSTRAP_PATH, get(bootstrap))
        .route(&format!("{SESSION_PATH}/{{token}}"), post(answer))
        .route(&format!("{OTAPA_PATH}/{{token}}"), get(callback))
        .route(OTAPA_PATH, get(pending_otapa))
        .route(&format!("{ACTIVATE_PATH}/{{token}}"), get(callback))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn document(status: u16, body: String, route: &'static str) -> Response {
    metrics::counter!(names::IOTA_HTTP_REQUESTS, "route" => route, "status" => status.to_string())
        .increment(1);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", CONTENT_TYPE)], body).into_response()
}

/// The answer to a body over the listener's limit, as the IOTA server refuses (an MMC error
/// document), for `http::server`.
pub(crate) fn too_large(max: usize) -> Response {
    refuse(IotaError::TooLarge(max), "/iota/s/{token}")
}

fn refuse(err: IotaError, route: &'static str) -> Response {
    let (status, code) = err.status_and_code();
    if status >= 500 {
        tracing::error!(%err, route, "IOTA request failed");
    } else {
        tracing::debug!(%err, route, code, "IOTA request refused");
    }
    metrics::counter!(names::IOTA_REJECTED, "code" => code).increment(1);
    // The handset learns why it was refused, but not the gateway's internals (logged above).
    let text = if status >= 500 {
        "internal error; the gateway logged the details".to_string()
    } else {
        err.to_string()
    };
    document(status, MmcDocument::error(code, &text).encode(), route)
}

fn device_of(headers: &HeaderMap) -> Result<DeviceId, IotaError> {
    let text = |name: &str| -> Result<Option<String>, IotaError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map(|s| s.trim().to_string())
                    .map_err(|_| IotaError::BadRequest(format!("header {name} is not text")))
            })
            .transpose()
    };
    match (text(ESN_HEADER)?, text(MEID_HEADER)?) {
        (Some(esn), None) => esn
            .parse::<Esn>()
            .map(DeviceId::Esn)
            .map_err(|e| IotaError::BadRequest(format!("X-Device-ESN: {e}"))),
        (None, Some(meid)) => meid
            .parse::<Meid>()
            .map(DeviceId::Meid)
            .map_err(|e| IotaError::BadRequest(format!("X-Device-MEID: {e}"))),
        (Some(_), Some(_)) => Err(IotaError::BadRequest(
            "give X-Device-ESN or X-Device-MEID, not both".to_string(),
        )),
        (None, None) => Err(IotaError::BadRequest(
            "the bootstrap request needs an X-Device-ESN or X-Device-MEID header".to_string(),
        )),
    }
}

async fn bootstrap(State(state): State<IotaState>, headers: HeaderMap) -> Response {
    const ROUTE: &str = "/iota/bootstrap";
    let result = match device_of(&headers) {
        Ok(device) => state.driver.iota_bootstrap(device).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(reply) => document(200, reply.document, ROUTE),
        Err(err) => refuse(err, ROUTE),
    }
}

async fn callback(
    State(state): State<IotaState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    const ROUTE: &str = "/iota/callback";
    let result = match device_of(&headers) {
        Ok(device) => {
            state
                .driver
                .iota_otapa(CallbackKey::Token(token), device)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(reply) => document(200, reply.document, ROUTE),
        Err(err) => refuse(err, ROUTE),
    }
}

/// `GET /iota/otapa` without a token: the pending OTAPA of the subscriber whose MDN the
/// operator's WAP gateway put in `X-MSISDN` (a handset with a fixed OTAPA URL).
async fn pending_otapa(State(state): State<IotaState>, headers: HeaderMap) -> Response {
    const ROUTE: &str = "/iota/otapa";
    let result = async {
        let device = device_of(&headers)?;
        let mdn = headers
            .get(MSISDN_HEADER)
            .ok_or_else(|| {
                IotaError::BadRequest(format!(
                    "{OTAPA_PATH} without a token needs the {MSISDN_HEADER} header"
                ))
            })?
            .to_str()
            .map_err(|_| IotaError::BadRequest(format!("header {MSISDN_HEADER} is not text")))?
            .trim()
            .trim_start_matches('+')
            .to_string();
        if mdn.is_empty() || mdn.len() > 15 || !mdn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IotaError::BadRequest(format!(
                "{MSISDN_HEADER}: expected 1 to 15 digits, got {mdn:?}"
            )));
        }
        state.driver.iota_otapa(CallbackKey::Mdn(mdn), device).await
    }
    .await;
    match result {
        Ok(reply) => document(200, reply.document, ROUTE),
        Err(err) => refuse(err, ROUTE),
    }
}

async fn answer(
    State(state): State<IotaState>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const ROUTE: &str = "/iota/s/{token}";
    let result = async {
        let body = body.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => IotaError::TooLarge(MAX_BODY),
            _ => IotaError::BadRequest(e.body_text()),
        })?;
        state.driver.iota_answer(token, body.to_vec()).await
    }
    .await;
    match result {
        Ok(reply) => document(200, reply.document, ROUTE),
        Err(err) => refuse(err, ROUTE),
    }
}
