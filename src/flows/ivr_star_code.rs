//! IVR-assisted star-code IOTA activation (patent: "IVR assisted Automated IOTA provisioning",
//! steps 1-31).
//!
//! The handset dialled *228 and is talking to the IVR; the IVR triggers the gateway with the
//! call's TRN. The gateway attaches to the MSC that allocated the TRN (the handset's ESN/MEID and
//! MIN come back), checks the profile (already activated -> refused, with the cause, to the IVR),
//! and in one transaction opens a session waiting for a call-back (flow `ivr-star-code`, bearer
//! IOTA) and queues an optional welcome SMS and a WAP push Service Indication carrying the
//! call-back URL. The TRN is released: the handset leaves the voice call. When the handset
//! follows the URL, its IOTA session runs the same activation plan as one-button activation and,
//! on success, the profile is marked activated. The IVR learns the outcome from the session
//! (OSPP RESULT).

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use otagw_codecs::identity::DeviceId;
use thiserror::Error;

use super::callback;
use crate::call_manager::{self, OpenError};
use crate::iota::ACTIVATE_PATH;
use crate::mniu::is725::{Attached, Is725, Is725Error};
use crate::ospp_driver::open::new_token;
use crate::refusal::{Refusal, RefusalKind};
use crate::store::outbox::{self, NewOutbox};
use crate::store::sessions::Flow;
use crate::store::StoreError;

/// Settings of the flow.
#[derive(Debug, Clone)]
pub struct IvrStarCodeSettings {
    /// Base of the call-back URL, e.g. `http://otaf.example:8181`.
    pub iota_base_url: String,
    /// How long the handset has to call back.
    pub callback_timeout: chrono::Duration,
    /// Largest SSPR Download segment.
    pub segment_size: u8,
    /// The optional welcome SMS (patent step 5); empty: none.
    pub welcome_text: String,
    /// Text of the Service Indication.
    pub push_text: String,
}

/// What the IVR is told at once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IvrStarted {
    /// The session.
    pub session_id: i64,
    /// The URL the handset is sent to.
    pub callback_url: String,
}

/// Why the activation was not started. Nothing was written.
#[derive(Debug, Error)]
pub enum IvrStarCodeError {
    /// The TRN is unknown.
    #[error("TRN {trn}: {reason}")]
    UnknownTrn {
        /// The TRN.
        trn: String,
        /// Why.
        reason: String,
    },
    /// The MSC could not be reached.
    #[error("attaching TRN {trn}: {source}")]
    Attach {
        /// The TRN.
        trn: String,
        /// Why.
        source: Is725Error,
    },
    /// The profile cannot be activated.
    #[error(transparent)]
    Profile(#[from] OpenError),
    /// The profile has no MDN and the MSC gave no MIN: nowhere to push.
    #[error("no MDN or MIN to send the push to")]
    NoAddress,
    /// SS7 is not configured (the TRN attach needs it).
    #[error("SS7 is not enabled (ss7.enabled): the TRN cannot be attached")]
    Disabled,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for IvrStarCodeError {
    fn kind(&self) -> RefusalKind {
        match self {
            Self::UnknownTrn { .. } | Self::Profile(OpenError::UnknownDevice(_)) => {
                RefusalKind::NotFound
            }
            Self::Profile(OpenError::AlreadyActivated(_) | OpenError::Deactivated(_))
            | Self::NoAddress => RefusalKind::Conflict,
            Self::Attach { .. } => RefusalKind::Upstream,
            Self::Disabled => RefusalKind::Unavailable,
            Self::Profile(OpenError::Programme(_) | OpenError::Store(_)) | Self::Store(_) => {
                RefusalKind::Internal
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::UnknownTrn { .. } => "unknown-trn",
            Self::Attach { source, .. } => source.label(),
            Self::Profile(OpenError::AlreadyActivated(_)) => "already-activated",
            Self::Profile(OpenError::UnknownDevice(_)) => "unknown-device",
            Self::Profile(OpenError::Deactivated(_)) => "deactivated",
            Self::NoAddress => "no-mdn",
            Self::Disabled => "ss7-disabled",
            Self::Profile(_) | Self::Store(_) => "internal-error",
        }
    }
}

impl From<diesel::result::Error> for IvrStarCodeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Starts an IVR-assisted IOTA activation for the handset on the call `trn`.
pub(crate) async fn start(
    conn: &mut AsyncPgConnection,
    is725: &Is725,
    settings: &IvrStarCodeSettings,
    trn: &str,
) -> Result<IvrStarted, IvrStarCodeError> {
    let attached = match is725.attach_trn(trn).await {
        Ok(a) => a,
        Err(e @ (Is725Error::UnknownTrn(_) | Is725Error::ReturnError { .. })) => {
            return Err(IvrStarCodeError::UnknownTrn {
                trn: trn.to_string(),
                reason: e.to_string(),
            })
        }
        Err(source) => {
            return Err(IvrStarCodeError::Attach {
                trn: trn.to_string(),
                source,
            })
        }
    };
    start_attached(conn, is725, settings, &attached).await
}

/// [`start`] for a handset already attached (the star-code flow hands an IOTA-capable handset
/// here): the session waiting for the call-back opened and the push queued, then the TRN
/// released either way.
pub(crate) async fn start_attached(
    conn: &mut AsyncPgConnection,
    is725: &Is725,
    settings: &IvrStarCodeSettings,
    attached: &Attached,
) -> Result<IvrStarted, IvrStarCodeError> {
    let trn = attached.trn.as_deref().unwrap_or_default();
    let device = match (attached.meid, attached.esn) {
        (Some(meid), _) => DeviceId::Meid(meid),
        (None, Some(esn)) => DeviceId::Esn(esn),
        (None, None) => return Err(IvrStarCodeError::NoAddress),
    };
    let token = new_token().map_err(|e| StoreError::InvalidValue {
        field: "token",
        reason: format!("reading /dev/urandom: {e}"),
    })?;
    let settings_c = settings.clone();
    let min = attached.min.as_ref().map(ToString::to_string);
    let opened = conn
        .transaction::<_, IvrStarCodeError, _>(async move |conn| {
            let (profile, programme) =
                call_manager::profile_for_activation(conn, &device, settings_c.segment_size)
                    .await?;
            let address = profile
                .mdn
                .clone()
                .or(min)
                .ok_or(IvrStarCodeError::NoAddress)?;
            let callback_url = format!(
                "{}{}/{token}",
                settings_c.iota_base_url.trim_end_matches('/'),
                ACTIVATE_PATH
            );
            if !settings_c.welcome_text.is_empty() {
                outbox::enqueue(
                    conn,
                    &NewOutbox::sms(address.clone(), &settings_c.welcome_text),
                )
                .await?;
            }
            let opened = callback::open(
                conn,
                &callback::Callback {
                    flow: Flow::IvrStarCode,
                    profile: &profile,
                    to: callback::PushDestination::Smsc(&address),
                    token: &token,
                    callback_url: &callback_url,
                    deadline: Utc::now() + settings_c.callback_timeout,
                    content: callback::PushKind::ServiceIndication(settings_c.push_text.clone()),
                    campaign_id: None,
                },
                programme,
            )
            .await?;
            Ok(IvrStarted {
                session_id: opened.session.id,
                callback_url,
            })
        })
        .await;
    // The voice call ends either way: the handset continues over IOTA, or the IVR tells the
    // caller why not.
    if let Err(e) = is725.release_trn(attached).await {
        tracing::warn!(%e, trn, "releasing the TRN");
    }
    let started = opened?;
    tracing::info!(
        session = started.session_id,
        trn,
        "IVR-assisted activation: push queued"
    );
    Ok(started)
}
