//! The fallback of an automated PRL download: the handset never followed the push, so the PRL
//! goes the legacy way, OTAPA over SS7 through its serving MSC (patent: "the legacy path").
//!
//! The deadline scheduler hands over a PRL push whose handset did not call back (once); this
//! finds the serving MSC with an SMSRequest to the HLR, moves the session to the SS7 bearer (the
//! audit record will say so) and walks the same OTAPA plan (OTAPA start, SSPR Download, Commit,
//! OTAPA stop) in SMDPPs with ServiceIndicator 3 (CDMA OTAPA). On success the pending PRL becomes
//! the profile's, as on the IOTA path.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use otagw_codecs::ansi41::service_indicator;
use thiserror::Error;

use super::star_code::{self, Ss7State, StarCodeSettings};
use crate::iota::session::IotaState;
use crate::mniu::is725::{Is725, Is725Error};
use crate::ospp_driver::plan::{self, BearerFailure, Cause, Event, Outcome};
use crate::ospp_driver::session::{self as driver};
use crate::store::profiles::{self, Lookup};
use crate::store::sessions::{self, SessionStatus, Transition};
use crate::store::{Store, StoreError};

/// Bearer name the session moves to.
const BEARER: &str = "ss7";

/// Why the fallback could not run.
#[derive(Debug, Error)]
pub enum FallbackError {
    /// The profile has no MIN/MDN to locate.
    #[error("profile {0} has no MIN or MDN to locate over SS7")]
    NoMin(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for FallbackError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Runs PRL-push session `session_id` over SS7 to its end.
pub async fn run(
    store: &Store,
    is725: &Is725,
    settings: &StarCodeSettings,
    session_id: i64,
) -> Result<Outcome, FallbackError> {
    let mut conn = store.conn().await?;
    let (session, state) = {
        let session = conn
            .transaction::<_, StoreError, _>(async |c| {
                sessions::by_id_for_update(c, session_id).await
            })
            .await?;
        let state: IotaState = serde_json::from_value(session.state.clone()).map_err(|e| {
            StoreError::InvalidValue {
                field: "state",
                reason: e.to_string(),
            }
        })?;
        (session, state)
    };
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
    tracing::info!(
        session_id,
        "no call-back: PRL download falls back to OTAPA over SS7"
    );
    metrics::counter!("otagw_prl_push_fallbacks_total").increment(1);

    let attached = match is725.locate_msc(&min, esn, meid).await {
        Ok(a) => a,
        Err(e) => return fail_unlocated(&mut conn, session_id, &state, &e).await,
    };
    // Segments sized so every SMDPP fits one SCCP UDT (the IOTA sizing was larger).
    let mut plan_state = state.plan.clone();
    let fits = crate::mniu::is725::max_is683_in_udt(&attached).saturating_sub(7);
    plan_state.programme.segment_size = u8::try_from(fits.clamp(1, 251)).unwrap_or(1);
    let (plan, commands) =
        plan::step(&plan_state, Event::Start).map_err(|e| StoreError::InvalidValue {
            field: "plan",
            reason: e.to_string(),
        })?;
    let ss7_state = Ss7State {
        plan,
        trn: None,
        msc: attached.msc,
        started_at: Utc::now(),
    };
    let transition = Transition {
        state: serde_json::to_value(&ss7_state).map_err(|e| StoreError::InvalidValue {
            field: "state",
            reason: e.to_string(),
        })?,
        status: SessionStatus::Active,
        cause: None,
        deadline: Some(Utc::now() + settings.session_timeout),
    };
    let session = conn
        .transaction::<_, StoreError, _>(async |c| {
            let current = sessions::by_id_for_update(c, session_id).await?;
            sessions::switch_bearer(c, session_id, current.version, BEARER, &transition).await
        })
        .await?;
    driver::count_started(&session.flow, BEARER);
    let (outcome, _, final_state) = star_code::drive(
        &mut conn,
        is725,
        settings,
        &attached,
        service_indicator::CDMA_OTAPA,
        (session.clone(), ss7_state, commands),
    )
    .await?;
    driver::count_finished(&session.flow, BEARER, &outcome, final_state.started_at);
    Ok(outcome)
}

/// The serving MSC could not be found: the session fails with the SS7 cause.
async fn fail_unlocated(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    state: &IotaState,
    error: &Is725Error,
) -> Result<Outcome, FallbackError> {
    let failure = match error {
        Is725Error::Tcap(crate::mniu::tcap::TcapError::Link(_)) => BearerFailure::LinkDown,
        Is725Error::Tcap(crate::mniu::tcap::TcapError::Timeout(_)) => BearerFailure::NoAnswer,
        _ => BearerFailure::NetworkError,
    };
    let outcome = Outcome::Failure(Cause::Bearer {
        failure,
        reason: format!("locating the serving MSC: {error}"),
    });
    let plan = plan::PlanState {
        phase: plan::Phase::Finished(outcome.clone()),
        ..state.plan.clone()
    };
    let cause = match &outcome {
        Outcome::Failure(c) => c.label().to_string(),
        Outcome::Success => String::new(),
    };
    let new_state = IotaState {
        plan: plan.clone(),
        ..state.clone()
    };
    let transition = Transition {
        state: serde_json::to_value(&new_state).map_err(|e| StoreError::InvalidValue {
            field: "state",
            reason: e.to_string(),
        })?,
        status: SessionStatus::Failed,
        cause: Some(cause),
        deadline: None,
    };
    let started_at = state.started_at;
    let finish_outcome = outcome.clone();
    conn.transaction::<_, StoreError, _>(async move |c| {
        let current = sessions::by_id_for_update(c, session_id).await?;
        let session = sessions::advance(c, session_id, current.version, &transition).await?;
        driver::finish(c, &session, &plan, &finish_outcome, started_at).await
    })
    .await?;
    Ok(outcome)
}
