//! The OSPP driver's side of a session that every bearer shares: opening it for a device
//! (profile check, programme from the call manager), and ending it (profile activated, audit
//! record, metrics). Each function runs inside the caller's transaction.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use otagw_codecs::identity::DeviceId;
use otagw_codecs::is683::{ForwardMessage, ReverseMessage};
use thiserror::Error;

use super::plan::{Outcome, PlanState, Programme};
use crate::call_manager::{self, ProgrammeError};
use crate::store::models::{ActivationState, AuditRecord, Profile, Session};
use crate::store::profiles::{self, Lookup};
use crate::store::{audit, StoreError};
use crate::telemetry::names;

/// Flow name of the one-button IOTA activation.
pub const FLOW_ONE_BUTTON: &str = "one-button";
/// Flow name of the automated IOTA PRL download.
pub const FLOW_PRL_PUSH: &str = "prl-push";
/// Flow name of the IVR-assisted star-code IOTA activation.
pub const FLOW_IVR_STAR_CODE: &str = "ivr-star-code";

/// Why a session could not be opened.
#[derive(Debug, Error)]
pub enum OpenError {
    /// No profile for the device.
    #[error("no profile for {0}")]
    UnknownDevice(String),
    /// The profile is already activated (patent: "an error is returned in the GET Response").
    #[error("{0} is already activated")]
    AlreadyActivated(String),
    /// The profile is de-activated.
    #[error("{0} is de-activated")]
    Deactivated(String),
    /// The profile cannot be turned into a programme.
    #[error(transparent)]
    Programme(#[from] ProgrammeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The profile a device names, checked for a first activation, with its programme.
pub async fn profile_for_activation(
    conn: &mut AsyncPgConnection,
    device: &DeviceId,
    segment_size: u8,
) -> Result<(Profile, Programme), OpenError> {
    let lookup = match device {
        DeviceId::Esn(esn) => Lookup::Esn(*esn),
        DeviceId::Meid(meid) => Lookup::Meid(*meid),
    };
    let profile = match profiles::find(conn, &lookup).await {
        Ok(p) => p,
        Err(StoreError::ProfileNotFound(_)) => {
            return Err(OpenError::UnknownDevice(lookup.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    match profile.activation_state()? {
        ActivationState::Activated => return Err(OpenError::AlreadyActivated(lookup.to_string())),
        ActivationState::Deactivated => return Err(OpenError::Deactivated(lookup.to_string())),
        ActivationState::PendingActivation => {}
    }
    let programme = call_manager::programme_for(conn, &profile, segment_size).await?;
    Ok((profile, programme))
}

/// Records the end of a session: on success an activation marks the profile activated and a
/// PRL download makes the pending PRL the profile's; a PRL download that failed clears the
/// profile's pending PRL and call-back URL (if still its own) and leaves its PRL as it was; in
/// every case one audit detail record is written. Runs in the caller's transaction, so a
/// failure here undoes the session's final transition too.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    session: &Session,
    plan: &PlanState,
    outcome: &Outcome,
    started_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    if *outcome == Outcome::Success && session.flow == FLOW_PRL_PUSH {
        if profiles::apply_pending_prl(conn, session.profile_id, &session.token)
            .await?
            .is_none()
        {
            tracing::warn!(
                session = session.id,
                profile = session.profile_id,
                "PRL download succeeded but the profile's pending PRL belongs to another push: \
                 the profile's PRL is left as it is"
            );
        }
    } else if session.flow == FLOW_PRL_PUSH {
        profiles::clear_pending_prl(conn, session.profile_id, &session.token).await?;
    } else if *outcome == Outcome::Success {
        let profile = profiles::find(conn, &Lookup::Id(session.profile_id)).await?;
        let esn = profile
            .esn
            .clone()
            .or_else(|| profile.pesn.clone())
            .unwrap_or_default();
        profiles::activate(conn, profile.id, profile.version, &esn).await?;
    }
    crate::store::sessions::scrub_secrets(conn, session.id).await?;
    let (outcome_label, cause) = labels(outcome);
    let detail = match outcome {
        Outcome::Failure(cause) => serde_json::json!({
            "cause": cause,
            "reason": cause.to_string(),
        }),
        Outcome::Success => serde_json::json!({}),
    };
    audit::insert(
        conn,
        &AuditRecord {
            session_id: Some(session.id),
            profile_id: Some(session.profile_id),
            flow: session.flow.clone(),
            bearer: session.bearer.clone(),
            started_at,
            ended_at: now,
            messages_exchanged: i32::try_from(plan.messages).unwrap_or(i32::MAX),
            outcome: outcome_label.to_string(),
            cause: (cause != "none").then(|| cause.to_string()),
            detail,
        },
    )
    .await?;
    Ok(())
}

/// A session's plan and the instant it started, as every bearer keeps them in the session's
/// state (`plan`, `started_at`; a session whose handset never called back has the plan not
/// started and starts when its row was created).
pub fn plan_of(session: &Session) -> Result<(PlanState, DateTime<Utc>), StoreError> {
    let plan = serde_json::from_value(session.state.get("plan").cloned().unwrap_or_default())
        .map_err(|e| StoreError::InvalidValue {
            field: "state",
            reason: e.to_string(),
        })?;
    let started_at =
        serde_json::from_value(session.state.get("started_at").cloned().unwrap_or_default())
            .unwrap_or(session.created_at);
    Ok((plan, started_at))
}

/// Ends an active session with `outcome`, its plan now standing at `plan`: the row's final
/// transition (completed, or failed with the cause's label), then [`finish`]. Runs in the
/// caller's transaction, with the row locked; returns the ended row. The caller counts it
/// ([`count_finished`]) once the transaction has committed.
pub async fn close(
    conn: &mut AsyncPgConnection,
    session: &Session,
    plan: &PlanState,
    outcome: &Outcome,
    started_at: DateTime<Utc>,
) -> Result<Session, StoreError> {
    use crate::store::sessions::{self, SessionStatus, Transition};
    let (status, cause) = match outcome {
        Outcome::Success => (SessionStatus::Completed, None),
        Outcome::Failure(c) => (SessionStatus::Failed, Some(c.label().to_string())),
    };
    let mut state = session.state.clone();
    state["plan"] = serde_json::to_value(plan).map_err(|e| StoreError::InvalidValue {
        field: "state",
        reason: e.to_string(),
    })?;
    let transition = Transition {
        state,
        status,
        cause,
        deadline: None,
    };
    let ended = sessions::advance(conn, session.id, session.version, &transition).await?;
    finish(conn, &ended, plan, outcome, started_at).await?;
    Ok(ended)
}

/// `(outcome, cause)` metric labels of an outcome.
pub fn labels(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Success => ("success", "none"),
        Outcome::Failure(cause) => ("failure", cause.label()),
    }
}

/// Counts a session start.
pub fn count_started(flow: &str, bearer: &str) {
    metrics::counter!(names::SESSIONS_STARTED, "flow" => flow.to_string(), "bearer" => bearer.to_string())
        .increment(1);
}

/// Counts a session end and its duration. Call after the transaction committed.
pub fn count_finished(flow: &str, bearer: &str, outcome: &Outcome, started_at: DateTime<Utc>) {
    let (outcome, cause) = labels(outcome);
    metrics::counter!(
        names::SESSIONS_COMPLETED,
        "flow" => flow.to_string(),
        "bearer" => bearer.to_string(),
        "outcome" => outcome,
        "cause" => cause
    )
    .increment(1);
    let seconds = (Utc::now() - started_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
    metrics::histogram!(
        names::SESSION_DURATION,
        "flow" => flow.to_string(),
        "bearer" => bearer.to_string(),
        "outcome" => outcome
    )
    .record(seconds.max(0.0));
}

/// Counts a forward IS-683 message.
pub fn count_forward(message: &ForwardMessage) {
    metrics::counter!(
        names::IS683_MESSAGES,
        "message" => message.message_type().name(),
        "direction" => "fwd",
        "result" => "none"
    )
    .increment(1);
}

/// Counts a reverse IS-683 message with its (first non-zero, else zero) result code.
pub fn count_reverse(message: &ReverseMessage) {
    let result = reverse_result(message).map_or_else(|| "none".to_string(), |r| r.to_string());
    metrics::counter!(
        names::IS683_MESSAGES,
        "message" => message.message_type().name(),
        "direction" => "rev",
        "result" => result
    )
    .increment(1);
}

/// The result code a reverse message reports: its single result, or for per-block results the
/// first that is not "accepted" (else 0).
pub fn reverse_result(message: &ReverseMessage) -> Option<u8> {
    if let Some(r) = message.result() {
        return Some(u8::from(r));
    }
    let blocks = match message {
        ReverseMessage::Download(b) | ReverseMessage::Validation(b) => b,
        _ => return None,
    };
    Some(
        blocks
            .results
            .iter()
            .map(|b| u8::from(b.result))
            .find(|r| *r != 0)
            .unwrap_or(0),
    )
}

/// Closes up to `limit` sessions whose deadline has passed, whatever their bearer (every
/// bearer keeps the plan under `plan` and the start under `started_at` in the session state):
/// with cause "timeout", or, when only the OTAPA stop was outstanding, with the outcome settled
/// before it (a PRL committed before an unanswered stop is a success). Safe to run on several instances at once: rows are claimed with
/// `FOR UPDATE SKIP LOCKED`.
///
/// A PRL push whose handset never called back is handed to the SS7 fallback instead, once, when
/// `fallback` holds: its deadline is pushed back by `fallback_window`, it is marked, and its id is
/// returned for the caller to run it over SS7.
pub async fn expire_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    fallback: Option<chrono::Duration>,
) -> Result<Expired, StoreError> {
    use diesel_async::AsyncConnection;

    use super::plan::{self, Cause, Command, Event};
    use crate::store::sessions::{self, SessionStatus, Transition};

    let ended = conn
        .transaction::<_, StoreError, _>(async |conn| {
            let due = sessions::claim_expired(conn, Utc::now(), limit).await?;
            let mut ended = Vec::new();
            let mut diverted = Vec::new();
            for session in due {
                let never_called_back = session.flow == FLOW_PRL_PUSH
                    && session.state.get("seq").and_then(serde_json::Value::as_u64) == Some(0)
                    && session.state.get("fallback").is_none();
                if let (true, Some(window)) = (never_called_back, fallback) {
                    let mut state = session.state.clone();
                    state["fallback"] = serde_json::Value::Bool(true);
                    let transition = Transition {
                        state,
                        status: SessionStatus::Active,
                        cause: None,
                        deadline: Some(Utc::now() + window),
                    };
                    sessions::advance(conn, session.id, session.version, &transition).await?;
                    diverted.push(session.id);
                    continue;
                }
                let (plan, started_at) = plan_of(&session)?;
                // The plan says what a timeout means where it stands (a failure, or, with only
                // the OTAPA stop outstanding, the outcome settled before it).
                let (plan, outcome) = match plan::step(&plan, Event::Timeout) {
                    Ok((plan, commands)) => {
                        let outcome = commands.into_iter().find_map(|c| match c {
                            Command::Finish(o) => Some(o),
                            Command::Send(_) => None,
                        });
                        (plan, outcome.unwrap_or(Outcome::Failure(Cause::Timeout)))
                    }
                    // A plan that already ended but whose row stayed active: close the row.
                    Err(_) => (plan, Outcome::Failure(Cause::Timeout)),
                };
                let session = close(conn, &session, &plan, &outcome, started_at).await?;
                ended.push((
                    session.flow.clone(),
                    session.bearer.clone(),
                    started_at,
                    outcome,
                ));
            }
            Ok((ended, diverted))
        })
        .await?;
    let (ended, diverted) = ended;
    for (flow, bearer, started_at, outcome) in &ended {
        count_finished(flow, bearer, outcome, *started_at);
        metrics::counter!(names::SCHEDULER_TIMEOUTS).increment(1);
    }
    Ok(Expired {
        closed: ended.len(),
        fallback: diverted,
    })
}

/// What [`expire_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// Sessions closed by their deadline (with cause "timeout", or the outcome settled before
    /// an unanswered OTAPA stop).
    pub closed: usize,
    /// PRL pushes handed to the SS7 fallback.
    pub fallback: Vec<i64>,
}
