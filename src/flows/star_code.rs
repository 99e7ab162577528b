//! Star-code OTASP over SS7: the handset dialled *228, its MSC gave the call a TRN, and an IVR
//! (or an operator) triggers the gateway with that TRN.
//!
//! The gateway attaches to the MSC that allocated the TRN (an SMDPP with ActionCode 8 "Attach
//! MSC to OTAF", the TRN and ServiceIndicator 1, IS-725-A), which reports the handset's ESN/MEID,
//! MobileStationMIN and its MSCID; checks the profile (already activated ->
//! refused, with the cause, to the trigger); then walks the same programming plan as one-button
//! activation over the SS7 bearer (`ospp_driver::ss7`: each IS-683 request relayed in an SMDPP
//! with ServiceIndicator 1, each answer taken from its ReturnResult, every step committed before
//! the next SMDPP leaves); commits; marks the profile activated; writes the audit record; and
//! releases the TRN (the same SMDPP with ActionCode 14 "Release TRN"), after which the MSC lets
//! the handset restart and register (the HLR sees the RegistrationNotification).
//!
//! An IOTA-capable handset with `ss7.force_ss7` off is not programmed over the call: it is
//! handed to the IVR-assisted IOTA path (`flows::ivr_star_code`) on the same attach: a session
//! waiting for its call-back opens, the WAP push with the call-back URL is queued, the TRN is
//! released, and the handset activates itself over IOTA. The trigger hears `handed-to-iota`
//! (202) with the session and the URL.

use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use otagw_codecs::ansi41::service_indicator;
use otagw_codecs::identity::DeviceId;
use serde::Serialize;
use thiserror::Error;

use crate::call_manager::{self, choose_bearer, OpenError};
use crate::flows::ivr_star_code::{self, IvrStarCodeError, IvrStarCodeSettings};
use crate::mniu::is725::{Attached, Is725, Is725Error};
use crate::ospp_driver::apply::{apply_locked, Applied, ApplyError};
use crate::ospp_driver::end::labels;
use crate::ospp_driver::open::{open, Opening};
use crate::ospp_driver::plan::{Event, Outcome};
use crate::ospp_driver::ss7::{self, Ss7Shell, Ss7Timing};
use crate::refusal::{Refusal, RefusalKind};
use crate::store::sessions::{Bearer, Flow};
use crate::store::{Store, StoreError};

/// Settings of the flow.
#[derive(Debug, Clone)]
pub struct StarCodeSettings {
    /// Session deadline, renewed at each step.
    pub session_timeout: chrono::Duration,
    /// Pause between attempts of an SMDPP that failed on the link.
    pub retry_pause: Duration,
    /// Program IOTA-capable handsets over SS7 too (`ss7.force_ss7`).
    pub force_ss7: bool,
}

/// What the trigger is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StarCodeReport {
    /// The session (none if refused before one opened).
    pub session_id: Option<i64>,
    /// "success" or "failure".
    pub outcome: String,
    /// The cause of a failure.
    pub cause: Option<String>,
    /// Words for a person.
    pub detail: String,
    /// The call-back URL the handset was pushed, when it was handed to IOTA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// [`StarCodeReport::outcome`] of a handset handed to the IVR-assisted IOTA path.
pub(crate) const HANDED_TO_IOTA: &str = "handed-to-iota";

/// Why the trigger was refused before a session opened.
#[derive(Debug, Error)]
pub enum StarCodeError {
    /// The TRN names no configured MSC, or the MSC does not know it.
    #[error("TRN {trn}: {reason}")]
    UnknownTrn {
        /// The TRN.
        trn: String,
        /// Why.
        reason: String,
    },
    /// The MSC could not be reached or answered with an error.
    #[error("attaching TRN {trn}: {source}")]
    Attach {
        /// The TRN.
        trn: String,
        /// Why.
        source: Is725Error,
    },
    /// The handset's profile cannot be activated (unknown, already activated ...).
    #[error(transparent)]
    Profile(#[from] OpenError),
    /// A step of the session could not be committed.
    #[error(transparent)]
    Step(#[from] ApplyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SS7 is not configured.
    #[error("SS7 is not enabled (ss7.enabled)")]
    Disabled,
    /// The call manager chose IOTA for this handset: it activates itself over IOTA, not over
    /// this call (handed to the IVR-assisted path; this is what that start-up refused with).
    #[error("{0} is IOTA-capable and ss7.force_ss7 is off: it activates over IOTA, not over SS7")]
    IotaBearer(String),
    /// Handing an IOTA-capable handset to the IVR-assisted IOTA path failed.
    #[error(transparent)]
    Iota(#[from] IvrStarCodeError),
}

impl Refusal for StarCodeError {
    fn kind(&self) -> RefusalKind {
        match self {
            Self::UnknownTrn { .. } | Self::Profile(OpenError::UnknownDevice(_)) => {
                RefusalKind::NotFound
            }
            Self::Profile(OpenError::AlreadyActivated(_) | OpenError::Deactivated(_))
            | Self::IotaBearer(_) => RefusalKind::Conflict,
            Self::Attach { .. } => RefusalKind::Upstream,
            Self::Disabled => RefusalKind::Unavailable,
            Self::Iota(e) => e.kind(),
            Self::Profile(OpenError::Programme(_) | OpenError::Store(_))
            | Self::Store(_)
            | Self::Step(_) => RefusalKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::UnknownTrn { .. } => "unknown-trn",
            Self::Attach { source, .. } => source.label(),
            Self::Profile(OpenError::AlreadyActivated(_)) => "already-activated",
            Self::Profile(OpenError::UnknownDevice(_)) => "unknown-device",
            Self::Profile(OpenError::Deactivated(_)) => "deactivated",
            Self::Profile(_) | Self::Store(_) | Self::Step(_) => "internal-error",
            Self::Disabled => "ss7-disabled",
            Self::IotaBearer(_) => "iota-capable",
            Self::Iota(e) => e.code(),
        }
    }
}

/// Runs a star-code activation for `trn` to its end.
pub(crate) async fn run(
    store: &Store,
    is725: &Is725,
    settings: &StarCodeSettings,
    ivr: &IvrStarCodeSettings,
    trn: &str,
) -> Result<StarCodeReport, StarCodeError> {
    let attached = match is725.attach_trn(trn).await {
        Ok(a) => a,
        Err(Is725Error::UnknownTrn(_)) => {
            return Err(StarCodeError::UnknownTrn {
                trn: trn.to_string(),
                reason: "no configured MSC allocates it".to_string(),
            })
        }
        Err(e @ Is725Error::ReturnError { .. }) => {
            return Err(StarCodeError::UnknownTrn {
                trn: trn.to_string(),
                reason: e.to_string(),
            })
        }
        Err(source) => {
            return Err(StarCodeError::Attach {
                trn: trn.to_string(),
                source,
            })
        }
    };
    let device = match (attached.meid, attached.esn) {
        (Some(meid), _) => DeviceId::Meid(meid),
        (None, Some(esn)) => DeviceId::Esn(esn),
        (None, None) => {
            return Err(StarCodeError::Attach {
                trn: trn.to_string(),
                source: Is725Error::BadAnswer {
                    operation: "SMSDeliveryPointToPoint (Attach MSC to OTAF)",
                    reason: "no ESN or MEID".into(),
                },
            })
        }
    };

    let mut conn = store.conn().await?;
    let first = match start(&mut conn, &attached, device, settings).await {
        Ok(first) => first,
        Err(StarCodeError::IotaBearer(device)) => {
            // Not over this call: the IVR-assisted IOTA path takes the handset (it releases
            // the TRN).
            let started = ivr_star_code::start_attached(&mut conn, is725, ivr, &attached).await?;
            tracing::info!(session = started.session_id, trn, %device, "star code handed to IOTA");
            return Ok(StarCodeReport {
                session_id: Some(started.session_id),
                outcome: HANDED_TO_IOTA.to_string(),
                cause: None,
                detail: format!(
                    "{device} is IOTA-capable: pushed its call-back URL, it activates over IOTA"
                ),
                callback_url: Some(started.callback_url),
            });
        }
        Err(e) => {
            // The call is not ours to keep: let the MSC release it.
            if let Err(release) = is725.release_trn(&attached).await {
                tracing::warn!(%release, trn, "releasing the TRN after a refusal");
            }
            return Err(e);
        }
    };
    let session_id = first.session.id;
    let span = crate::ospp_driver::apply::span_of(&first.session);
    tracing::info!(parent: &span, trn, msc = %attached.msc, "star-code session opened");
    let timing = Ss7Timing {
        session_timeout: settings.session_timeout,
        retry_pause: settings.retry_pause,
    };
    let outcome = ss7::walk(
        &mut conn,
        is725,
        timing,
        &attached,
        service_indicator::CDMA_OTASP,
        first,
    )
    .await;
    // End the call: the MSC lets the handset restart with what it committed.
    if let Err(e) = is725.release_trn(&attached).await {
        tracing::warn!(parent: &span, %e, trn, "releasing the TRN");
    }
    let outcome = outcome?;
    let (outcome_label, cause) = labels(&outcome);
    let detail = match &outcome {
        Outcome::Success => "activated".to_string(),
        Outcome::Failure(c) => c.to_string(),
    };
    Ok(StarCodeReport {
        session_id: Some(session_id),
        outcome: outcome_label.to_string(),
        cause: (cause != "none").then(|| cause.to_string()),
        detail,
        callback_url: None,
    })
}

/// Opens the session for the attached handset and starts its plan, in one transaction:
/// profile checked, programme built with segments that fit one UDT, the first step committed.
async fn start(
    conn: &mut AsyncPgConnection,
    attached: &Attached,
    device: DeviceId,
    settings: &StarCodeSettings,
) -> Result<Applied<()>, StarCodeError> {
    let segment_size = ss7::segment_size(attached);
    let applied = conn
        .transaction::<_, StarCodeError, _>(async |conn| {
            let (profile, programme) =
                call_manager::profile_for_activation(conn, &device, segment_size).await?;
            if choose_bearer(&profile, settings.force_ss7) == Bearer::Iota {
                return Err(StarCodeError::IotaBearer(device.to_string()));
            }
            let now = Utc::now();
            let session = open(
                conn,
                Opening {
                    token: format!(
                        "trn-{}-{}",
                        attached.trn.as_deref().unwrap_or_default(),
                        now.timestamp_micros()
                    ),
                    profile: &profile,
                    flow: Flow::StarCode,
                    programme,
                    link: ss7::link_of(attached),
                    deadline: now + settings.session_timeout,
                    campaign_id: None,
                },
            )
            .await?;
            let mut shell = Ss7Shell {
                session_timeout: settings.session_timeout,
            };
            Ok(apply_locked(conn, session, vec![Event::Start], &mut shell).await?)
        })
        .await?;
    applied.record.count();
    Ok(applied)
}

impl From<diesel::result::Error> for StarCodeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}
