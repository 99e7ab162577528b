//! Automated IOTA PRL download (OTAPA), for one subscriber (patent: "Automated IOTA PRL
//! Download").
//!
//! 1. A trigger (the admin API; OSPP over SMPP later) names the subscriber and a PRL of the
//!    library. The profile must be activated and the PRL known.
//! 2. In one transaction: the profile's pending PRL ID and OTAPA call-back URL are set, a session
//!    row is opened (flow `prl-push`, bearer `iota`, the OTAPA plan not yet started, a deadline)
//!    and the WAP push Service Loading that carries the call-back URL is put in the outbox, one
//!    row per segment. By `iota.otapa_push_bearer`, the SMPP sender delivers it through the
//!    SMSC (to the MDN), or the SS7 sender straight to the serving MSC (to the MIN, IS-637
//!    teleservice 4100 in SMDPPs).
//! 3. The handset follows the URL: its GET of `/iota/otapa/{token}` starts the plan (OTAPA start
//!    -> SSPR Download segments -> Commit -> OTAPA stop), walked over the IOTA bearer like any
//!    session (`iota::session`).
//! 4. On success the profile's PRL ID becomes the pending one and the pending fields are
//!    cleared; the audit record is written with the session's end.
//! 5. On failure (the handset refuses the PRL or the commit, or the session times out) the
//!    profile keeps its PRL ID and the pending fields are cleared too, so the profile does not
//!    show a download pending that no session runs and a later push starts clean; the audit
//!    record carries the cause.
//!
//! A handset that never calls back is closed by the deadline scheduler with cause `timeout`
//! (after the SS7 fallback, when it runs).

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use thiserror::Error;

use super::callback;
use crate::call_manager::programme::{self, ProgrammeError};
use crate::ospp_driver::open::new_token;
use crate::refusal::{Refusal, RefusalKind};
use crate::store::models::ActivationState;
use crate::store::outbox::OutboxBearer;
use crate::store::profiles::{self, Lookup};
use crate::store::sessions::Flow;
use crate::store::{prl_library, StoreError};

/// Settings of the flow.
#[derive(Debug, Clone)]
pub struct PrlPushSettings {
    /// Base of the call-back URL handsets are sent to, e.g. `http://otaf.example:8181`.
    pub iota_base_url: String,
    /// How long the handset has to call back.
    pub callback_timeout: chrono::Duration,
    /// Largest SSPR Download segment.
    pub segment_size: u8,
    /// Which way the push goes: through the SMSC, or straight to the serving MSC over SS7.
    pub push_bearer: OutboxBearer,
}

/// What the trigger is told.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrlPushStarted {
    /// The session.
    pub session_id: i64,
    /// The URL the handset is sent to.
    pub callback_url: String,
    /// Outbox rows (SMS segments) queued.
    pub segments: usize,
}

/// Why a PRL push was not started. Nothing was written.
#[derive(Debug, Error)]
pub enum PrlPushError {
    /// No such subscriber.
    #[error("no profile for {0}")]
    UnknownSubscriber(String),
    /// Only activated handsets take OTAPA.
    #[error("{0} is not activated")]
    NotActivated(String),
    /// The profile has no MDN to push to through the SMSC.
    #[error("{0} has no MDN to send the push to")]
    NoMdn(String),
    /// The profile has no MIN to push to over SS7 (the MSC is addressed by MIN).
    #[error("{0} has no MIN to send the push to over SS7")]
    NoMin(String),
    /// No such PRL.
    #[error("PRL {0} is not in the PRL library")]
    UnknownPrl(i32),
    /// The programme could not be built.
    #[error(transparent)]
    Programme(#[from] ProgrammeError),
    /// The push could not be encoded.
    #[error("building the WAP push: {0}")]
    Push(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for PrlPushError {
    fn kind(&self) -> RefusalKind {
        match self {
            Self::UnknownSubscriber(_) | Self::UnknownPrl(_) => RefusalKind::NotFound,
            Self::NotActivated(_) | Self::NoMdn(_) | Self::NoMin(_) => RefusalKind::Conflict,
            Self::Programme(_) | Self::Push(_) | Self::Store(_) => RefusalKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::UnknownSubscriber(_) => "unknown-device",
            Self::NotActivated(_) => "not-activated",
            Self::NoMdn(_) => "no-mdn",
            Self::NoMin(_) => "no-min",
            Self::UnknownPrl(_) => "unknown-prl",
            Self::Programme(_) | Self::Push(_) | Self::Store(_) => "internal-error",
        }
    }
}

impl From<diesel::result::Error> for PrlPushError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Starts a PRL push of library PRL `prl_id` to the subscriber `lookup` names.
pub async fn start(
    conn: &mut AsyncPgConnection,
    settings: &PrlPushSettings,
    prl_id: i32,
    lookup: &Lookup,
) -> Result<PrlPushStarted, PrlPushError> {
    start_in(conn, settings, prl_id, lookup, None).await
}

/// [`start`], as part of PRL campaign `campaign_id` when given.
pub async fn start_in(
    conn: &mut AsyncPgConnection,
    settings: &PrlPushSettings,
    prl_id: i32,
    lookup: &Lookup,
    campaign_id: Option<i64>,
) -> Result<PrlPushStarted, PrlPushError> {
    let token =
        new_token().map_err(|e| PrlPushError::Push(format!("reading /dev/urandom: {e}")))?;
    let settings = settings.clone();
    let lookup = lookup.clone();
    conn.transaction::<_, PrlPushError, _>(async move |conn| {
        let profile = match profiles::find(conn, &lookup).await {
            Ok(p) => p,
            Err(StoreError::ProfileNotFound(_)) => {
                return Err(PrlPushError::UnknownSubscriber(lookup.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        if profile.activation_state()? != ActivationState::Activated {
            return Err(PrlPushError::NotActivated(lookup.to_string()));
        }
        let address = match settings.push_bearer {
            OutboxBearer::Smsc => profile
                .mdn
                .clone()
                .ok_or_else(|| PrlPushError::NoMdn(lookup.to_string()))?,
            OutboxBearer::Ss7 => profile
                .min
                .clone()
                .ok_or_else(|| PrlPushError::NoMin(lookup.to_string()))?,
        };
        let prls = match prl_library::formats_of(conn, prl_id).await {
            Ok(p) => p,
            Err(StoreError::PrlNotFound(id)) => return Err(PrlPushError::UnknownPrl(id)),
            Err(e) => return Err(e.into()),
        };
        let spasm_key = profiles::spasm_key(conn, profile.id).await?;
        let programme =
            programme::build_prl_download(&profile, spasm_key, &prls, settings.segment_size)?;
        let callback_url = format!(
            "{}{}/{token}",
            settings.iota_base_url.trim_end_matches('/'),
            crate::iota::OTAPA_PATH
        );
        // The session (which supersedes the subscriber's other active sessions) before the
        // profile: every path that ends sessions and writes their profile (a cancel, the
        // deadline scheduler) locks the session rows first; the same order cannot deadlock.
        let opened = callback::open(
            conn,
            &callback::Callback {
                flow: Flow::PrlPush,
                profile: &profile,
                to: match settings.push_bearer {
                    OutboxBearer::Smsc => callback::PushDestination::Smsc(&address),
                    OutboxBearer::Ss7 => callback::PushDestination::Ss7(&address),
                },
                token: &token,
                callback_url: &callback_url,
                deadline: Utc::now() + settings.callback_timeout,
                content: callback::PushKind::ServiceLoading,
                campaign_id,
            },
            programme,
        )
        .await?;
        profiles::set_pending_prl(conn, profile.id, profile.version, prl_id, &callback_url).await?;
        let session = opened.session;
        tracing::info!(
            session = session.id,
            profile = profile.id,
            prl_id,
            "PRL push queued"
        );
        Ok(PrlPushStarted {
            session_id: session.id,
            callback_url,
            segments: opened.segments,
        })
    })
    .await
}
