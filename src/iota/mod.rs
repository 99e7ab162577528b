//! The IOTA bearer: IS-683 tunnelled over HTTP in MMC documents (our profile: docs/iota.md).
//!
//! The handset drives: its bootstrap GET opens a session, each POST answers the document before
//! and is one step of the session ([`session`]), committed through the OSPP driver's one way to
//! commit a step. The HTTP side (routes, headers, status codes) is the IOTA server,
//! `crate::http::iota`.

pub(crate) mod session;

use chrono::Duration;
use thiserror::Error;

use crate::ospp_driver::apply::ApplyError;
use crate::ospp_driver::plan::StepError;
use crate::store::StoreError;

/// Path of the bootstrap URL.
pub(crate) const BOOTSTRAP_PATH: &str = "/iota/bootstrap";
/// Prefix of session URLs.
pub(crate) const SESSION_PATH: &str = "/iota/s";
/// Prefix of OTAPA call-back URLs (sent to handsets in a WAP push).
pub(crate) const OTAPA_PATH: &str = "/iota/otapa";
/// Prefix of activation call-back URLs (IVR-assisted activation, sent in a WAP push).
pub(crate) const ACTIVATE_PATH: &str = "/iota/activate";

/// Settings the IOTA bearer needs.
#[derive(Debug, Clone)]
pub struct IotaSettings {
    /// How long a session waits for the handset's next request.
    pub session_timeout: Duration,
    /// Largest SSPR Download segment.
    pub segment_size: u8,
}

/// Why a request was refused. Each maps to an HTTP status and an MMC error code (docs/iota.md);
/// the session is unchanged.
#[derive(Debug, Error)]
pub enum IotaError {
    /// Missing or malformed identity, or a bad request.
    #[error("{0}")]
    BadRequest(String),
    /// The body is not an MMC document.
    #[error("{0}")]
    MalformedDocument(String),
    /// An `is683` element does not decode.
    #[error("{0}")]
    UndecodableIs683(String),
    /// No profile for the device.
    #[error("{0}")]
    UnknownDevice(String),
    /// No such session.
    #[error("no session {0}")]
    UnknownSession(String),
    /// The profile is already activated.
    #[error("{0}")]
    AlreadyActivated(String),
    /// The POST does not answer the outstanding request.
    #[error("{0}")]
    UnexpectedResponse(String),
    /// The session has ended.
    #[error("the session has ended ({0})")]
    SessionEnded(String),
    /// The body is over the limit.
    #[error("the request body is over {0} octets")]
    TooLarge(usize),
    /// Our own failure (database ...).
    #[error("{0}")]
    Internal(String),
}

impl IotaError {
    /// HTTP status and MMC error code.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Self::BadRequest(_) => (400, "bad-request"),
            Self::MalformedDocument(_) => (400, "malformed-document"),
            Self::UndecodableIs683(_) => (400, "undecodable-is683"),
            Self::UnknownDevice(_) => (404, "unknown-device"),
            Self::UnknownSession(_) => (404, "unknown-session"),
            Self::AlreadyActivated(_) => (409, "already-activated"),
            Self::UnexpectedResponse(_) => (409, "unexpected-response"),
            Self::SessionEnded(_) => (410, "session-ended"),
            Self::TooLarge(_) => (413, "too-large"),
            Self::Internal(_) => (500, "internal-error"),
        }
    }
}

impl From<StoreError> for IotaError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::SessionNotFound(t) => Self::UnknownSession(t),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for IotaError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<ApplyError> for IotaError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Store(e) => e.into(),
            ApplyError::Step(StepError::Ended) => Self::SessionEnded("completed".into()),
            ApplyError::Step(other) => Self::UnexpectedResponse(other.to_string()),
            ApplyError::Ended(why) => Self::SessionEnded(why),
            e @ ApplyError::NoEvent(_) => {
                Self::UnexpectedResponse(format!("the document carries {e}"))
            }
        }
    }
}
