//! The fallback of an automated PRL download: the handset never followed the push, so the PRL
//! goes the legacy way, OTAPA over SS7 through its serving MSC (patent: "the legacy path").
//!
//! The deadline scheduler hands over a PRL push whose handset did not call back (once); this
//! finds the serving MSC with an SMSRequest to the HLR, moves the session to the SS7 bearer (the
//! audit record will say so) and walks the same OTAPA plan (OTAPA start, SSPR Download, Commit,
//! OTAPA stop) in SMDPPs with ServiceIndicator 3 (CDMA OTAPA). On success the pending PRL becomes
//! the profile's, as on the IOTA path.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use otagw_codecs::ansi41::service_indicator;
use thiserror::Error;

use super::star_code::StarCodeSettings;
use crate::mniu::is725::{Is725, Is725Error};
use crate::ospp_driver::apply::{apply, ApplyError, NoBearer, SessionKey, Shell};
use crate::ospp_driver::plan::{Command, Event, Outcome, Phase};
use crate::ospp_driver::ss7::{self, Ss7Shell, Ss7Timing};
use crate::ospp_driver::state::{Link, SessionState};
use crate::store::models::Session;
use crate::store::profiles::{self, Lookup};
use crate::store::sessions;
use crate::store::{Store, StoreError};
use crate::telemetry::names;

/// Why the fallback could not run.
#[derive(Debug, Error)]
pub(crate) enum FallbackError {
    /// The profile has no MIN/MDN to locate.
    #[error("profile {0} has no MIN or MDN to locate over SS7")]
    NoMin(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A step of the session could not be committed.
    #[error(transparent)]
    Step(#[from] ApplyError),
}

/// The SS7 bearer taking a session over from IOTA as its plan starts: the session's link
/// becomes the serving MSC's and its SSPR Download segments are sized to fit one SCCP UDT (the
/// IOTA sizing was larger).
struct TakeOver {
    link: Link,
    segment_size: u8,
    ss7: Ss7Shell,
}

impl Shell for TakeOver {
    type Output = ();
    type Error = ApplyError;

    fn check(
        &mut self,
        session: &Session,
        state: &mut SessionState,
    ) -> Result<Option<()>, ApplyError> {
        if !session.fallback || state.plan.phase != Phase::Idle {
            return Err(ApplyError::Ended(
                "the handset called back, or the fallback already ran".to_string(),
            ));
        }
        state.link = self.link.clone();
        state.plan.programme.segment_size = self.segment_size;
        Ok(None)
    }

    fn render(&mut self, _: &Session, _: &mut Link, _: &[Command]) -> Result<(), ApplyError> {
        Ok(())
    }

    fn deadline(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.ss7.deadline(now)
    }
}

/// Runs PRL-push session `session_id` over SS7 to its end.
pub(crate) async fn run(
    store: &Store,
    is725: &Is725,
    settings: &StarCodeSettings,
    session_id: i64,
) -> Result<Outcome, FallbackError> {
    let mut conn = store.conn().await?;
    let session = sessions::by_id(&mut conn, session_id).await?;
    let span = crate::ospp_driver::apply::span_of(&session);
    let profile = profiles::find(&mut conn, &Lookup::Id(session.profile_id)).await?;
    let min = profile
        .min
        .as_deref()
        .or(profile.mdn.as_deref())
        .and_then(|m| m.parse().ok())
        .ok_or(FallbackError::NoMin(profile.id))?;
    let esn = profile
        .esn
        .as_deref()
        .or(profile.pesn.as_deref())
        .and_then(|e| e.parse().ok());
    let meid = profile.meid.as_deref().and_then(|m| m.parse().ok());
    tracing::info!(parent: &span, "no call-back: PRL download falls back to OTAPA over SS7");
    metrics::counter!(names::PRL_PUSH_FALLBACKS).increment(1);

    let attached = match is725.locate_msc(&min, esn, meid).await {
        Ok(a) => a,
        Err(e) => return fail_unlocated(&mut conn, session_id, &e).await,
    };
    let mut take_over = TakeOver {
        link: ss7::link_of(&attached),
        segment_size: ss7::segment_size(&attached),
        ss7: Ss7Shell {
            session_timeout: settings.session_timeout,
        },
    };
    let first = apply(
        &mut conn,
        SessionKey::Id(session_id),
        vec![Event::Start],
        &mut take_over,
    )
    .await?;
    let timing = Ss7Timing {
        session_timeout: settings.session_timeout,
        retry_pause: settings.retry_pause,
    };
    Ok(ss7::walk(
        &mut conn,
        is725,
        timing,
        &attached,
        service_indicator::CDMA_OTAPA,
        first,
    )
    .await?)
}

/// The serving MSC could not be found: the session fails with the SS7 cause.
async fn fail_unlocated(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    error: &Is725Error,
) -> Result<Outcome, FallbackError> {
    let (failure, reason) = ss7::failure_of(error);
    let event = Event::BearerFailed {
        failure,
        reason: format!("locating the serving MSC: {reason}"),
    };
    let applied = apply(conn, SessionKey::Id(session_id), vec![event], &mut NoBearer).await?;
    Ok(applied.outcome().cloned().unwrap_or(Outcome::Success))
}
