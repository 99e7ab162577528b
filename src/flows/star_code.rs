//! Star-code OTASP over SS7: the handset dialled *228, its MSC gave the call a TRN, and an IVR
//! (or an operator) triggers the gateway with that TRN.
//!
//! The gateway attaches to the MSC that allocated the TRN (OTASPRequest "Attach MSC to OTAF"),
//! which reports the handset's ESN/MEID and MIN; checks the profile (already activated ->
//! refused, with the cause, to the trigger); then walks the same programming plan as one-button
//! activation, each IS-683 request relayed in an SMDPP (ServiceIndicator 1) and each answer taken
//! from its ReturnResult; commits; marks the profile activated; writes the audit record; and
//! releases the TRN, after which the MSC lets the handset restart and register (the HLR sees the
//! RegistrationNotification).
//!
//! Every transition is committed before the next SMDPP leaves, with the session's version
//! check. When an SMDPP's answer is lost (the association went down, the MSC stayed silent) the
//! plan is told ([`plan::Event::AnswerLost`]) and the request goes again once the link is back
//! (a PRL download starts over from offset 0), up to [`RELAY_ATTEMPTS`] times; after that the
//! session fails with the SS7 cause and nothing is half-committed: the handset never received a
//! Commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use otagw_codecs::ansi41::service_indicator;
use otagw_codecs::identity::DeviceId;
use otagw_codecs::is683::ReverseMessage;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::call_manager::{choose_bearer, Bearer};
use crate::mniu::is725::{self, Attached, Is725, Is725Error};
use crate::mniu::tcap::{Endpoint, TcapError};
use crate::ospp_driver::plan::{self, BearerFailure, Cause, Command, Event, Outcome, PlanState};
use crate::ospp_driver::session::{self as driver, OpenError};
use crate::store::models::Session;
use crate::store::sessions::{self, NewSession, SessionStatus, Transition};
use crate::store::{Store, StoreError};

/// Flow name.
pub const FLOW: &str = "star-code";
/// Bearer name.
pub const BEARER: &str = "ss7";
/// Times an SMDPP whose answer was lost (link down, no answer) is tried before the session
/// fails.
pub const RELAY_ATTEMPTS: u32 = 5;

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

/// The SS7 part of a session row's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ss7State {
    /// The plan.
    pub plan: PlanState,
    /// The TRN (none for network-initiated OTAPA).
    pub trn: Option<String>,
    /// The MSC attached.
    pub msc: Endpoint,
    /// When the session began.
    pub started_at: DateTime<Utc>,
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
}

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
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SS7 is not configured.
    #[error("SS7 is not enabled (ss7.enabled)")]
    Disabled,
    /// The call manager chose IOTA for this handset: it activates itself from its bootstrap
    /// URL (one-button), not over this call.
    #[error("{0} is IOTA-capable and ss7.force_ss7 is off: it activates over IOTA (one-button), not over SS7")]
    IotaBearer(String),
}

impl StarCodeError {
    /// A short cause for the trigger.
    pub fn cause(&self) -> &'static str {
        match self {
            Self::UnknownTrn { .. } => "unknown-trn",
            Self::Attach { source, .. } => source.label(),
            Self::Profile(OpenError::AlreadyActivated(_)) => "already-activated",
            Self::Profile(OpenError::UnknownDevice(_)) => "unknown-device",
            Self::Profile(OpenError::Deactivated(_)) => "deactivated",
            Self::Profile(_) | Self::Store(_) => "internal-error",
            Self::Disabled => "ss7-disabled",
            Self::IotaBearer(_) => "iota-capable",
        }
    }
}

fn invalid(e: serde_json::Error) -> StoreError {
    StoreError::InvalidValue {
        field: "state",
        reason: e.to_string(),
    }
}

/// Runs a star-code activation for `trn` to its end.
pub async fn run(
    store: &Store,
    is725: &Is725,
    settings: &StarCodeSettings,
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
                    operation: "OTASPRequest",
                    reason: "no ESN or MEID".into(),
                },
            })
        }
    };
    // Segments sized so every SMDPP fits one UDT (SSPR Download Request header: 7 octets).
    let segment_size = is725::max_is683_in_udt(&attached).saturating_sub(7).clamp(
        1,
        usize::from(crate::call_manager::programme::MAX_SEGMENT_SIZE),
    );
    let segment_size = u8::try_from(segment_size).unwrap_or(1);

    let mut conn = store.conn().await?;
    let opened = open(&mut conn, &attached, device, segment_size, settings).await;
    let (session, state, commands) = match opened {
        Ok(x) => x,
        Err(e) => {
            // The call is not ours to keep: let the MSC release it.
            if let Err(release) = is725.release_trn(&attached).await {
                tracing::warn!(%release, trn, "releasing the TRN after a refusal");
            }
            return Err(e);
        }
    };
    driver::count_started(FLOW, BEARER);
    tracing::info!(session = session.id, trn, msc = %attached.msc, "star-code session opened");

    let (outcome, session, state) = drive(
        &mut conn,
        is725,
        settings,
        &attached,
        service_indicator::CDMA_OTASP,
        (session, state, commands),
    )
    .await?;
    driver::count_finished(FLOW, BEARER, &outcome, state.started_at);
    // End the call: the MSC lets the handset restart with what it committed.
    if let Err(e) = is725.release_trn(&attached).await {
        tracing::warn!(%e, trn, "releasing the TRN");
    }
    let (outcome_label, cause) = driver::labels(&outcome);
    let detail = match &outcome {
        Outcome::Success => "activated".to_string(),
        Outcome::Failure(c) => c.to_string(),
    };
    tracing::info!(
        session = session.id,
        outcome = outcome_label,
        cause,
        "star-code session ended"
    );
    Ok(StarCodeReport {
        session_id: Some(session.id),
        outcome: outcome_label.to_string(),
        cause: (cause != "none").then(|| cause.to_string()),
        detail,
    })
}

/// Walks the plan over SS7: each request in an SMDPP with `service_indicator` to the MSC of
/// `attached`, each answer from its ReturnResult, every transition committed before the next
/// SMDPP; a lost answer is resent (the plan decides what), at most [`RELAY_ATTEMPTS`] times in a
/// row. Returns how the session ended, with its final row and state.
pub(crate) async fn drive(
    conn: &mut AsyncPgConnection,
    is725: &Is725,
    settings: &StarCodeSettings,
    attached: &Attached,
    service_indicator: u8,
    (mut session, mut state, mut commands): (Session, Ss7State, Vec<Command>),
) -> Result<(Outcome, Session, Ss7State), StoreError> {
    let mut lost = 0;
    let outcome = loop {
        // The plan asks for one request at a time, or says it is over.
        let message = match commands.as_slice() {
            [.., Command::Finish(o)] => break o.clone(),
            [Command::Send(m)] => m.clone(),
            _ => {
                let failure = (
                    BearerFailure::ProtocolError,
                    "the plan asked for nothing".into(),
                );
                break fail(conn, &session, &state, failure, settings).await?;
            }
        };
        driver::count_forward(&message);
        let reply = match message.encode() {
            Ok(bytes) => is725.relay(attached, service_indicator, bytes).await,
            Err(e) => {
                let failure = (BearerFailure::ProtocolError, format!("encoding: {e}"));
                break fail(conn, &session, &state, failure, settings).await?;
            }
        };
        let reply = match reply {
            Ok(r) => {
                lost = 0;
                r
            }
            Err(Is725Error::Tcap(TcapError::Link(_) | TcapError::Timeout(_)))
                if lost + 1 < RELAY_ATTEMPTS =>
            {
                // The request may or may not have reached the handset: wait for the link,
                // then let the plan say what to send again.
                lost += 1;
                metrics::counter!("otagw_ss7_relay_retries_total").increment(1);
                tokio::time::sleep(settings.retry_pause).await;
                match plan::step(&state.plan, Event::AnswerLost) {
                    Ok((plan, cmds)) => {
                        (session, state) =
                            commit(conn, &session, &state, plan, &cmds, settings).await?;
                        commands = cmds;
                        continue;
                    }
                    Err(e) => {
                        let failure = (BearerFailure::ProtocolError, e.to_string());
                        break fail(conn, &session, &state, failure, settings).await?;
                    }
                }
            }
            Err(e) => break fail(conn, &session, &state, failure_of(&e), settings).await?,
        };
        let response = match ReverseMessage::decode(&reply) {
            Ok(m) => m,
            Err(e) => {
                let failure = (
                    BearerFailure::ProtocolError,
                    format!("the handset's answer: {e}"),
                );
                break fail(conn, &session, &state, failure, settings).await?;
            }
        };
        driver::count_reverse(&response);
        match plan::step(&state.plan, Event::Response(response)) {
            Ok((plan, cmds)) => {
                (session, state) = commit(conn, &session, &state, plan, &cmds, settings).await?;
                commands = cmds;
            }
            Err(e) => {
                let failure = (BearerFailure::ProtocolError, e.to_string());
                break fail(conn, &session, &state, failure, settings).await?;
            }
        }
    };
    Ok((outcome, session, state))
}

/// Opens the session row: profile checked, programme built, plan started.
async fn open(
    conn: &mut AsyncPgConnection,
    attached: &Attached,
    device: DeviceId,
    segment_size: u8,
    settings: &StarCodeSettings,
) -> Result<(Session, Ss7State, Vec<Command>), StarCodeError> {
    let attached = attached.clone();
    let timeout = settings.session_timeout;
    let force_ss7 = settings.force_ss7;
    conn.transaction::<_, StarCodeError, _>(async move |conn| {
        let (profile, programme) =
            driver::profile_for_activation(conn, &device, segment_size).await?;
        if choose_bearer(&profile, force_ss7) == Bearer::Iota {
            return Err(StarCodeError::IotaBearer(device.to_string()));
        }
        let (plan, commands) =
            plan::step(&PlanState::new(programme), Event::Start).map_err(|e| {
                StoreError::InvalidValue {
                    field: "plan",
                    reason: e.to_string(),
                }
            })?;
        let now = Utc::now();
        let state = Ss7State {
            plan,
            trn: attached.trn.clone(),
            msc: attached.msc,
            started_at: now,
        };
        sessions::supersede_active(conn, profile.id).await?;
        let session = sessions::create(
            conn,
            &NewSession {
                token: format!(
                    "trn-{}-{}",
                    attached.trn.as_deref().unwrap_or_default(),
                    now.timestamp_micros()
                ),
                profile_id: profile.id,
                flow: FLOW.to_string(),
                bearer: BEARER.to_string(),
                state: serde_json::to_value(&state).map_err(invalid)?,
                deadline: Some(now + timeout),
                campaign_id: None,
            },
        )
        .await?;
        Ok((session, state, commands))
    })
    .await
}

/// Commits a plan transition (and, when the plan ended, the profile and audit record).
async fn commit(
    conn: &mut AsyncPgConnection,
    session: &Session,
    state: &Ss7State,
    plan: PlanState,
    commands: &[Command],
    settings: &StarCodeSettings,
) -> Result<(Session, Ss7State), StoreError> {
    let outcome = commands.iter().find_map(|c| match c {
        Command::Finish(o) => Some(o.clone()),
        Command::Send(_) => None,
    });
    let new_state = Ss7State {
        plan,
        ..state.clone()
    };
    let (status, cause) = match &outcome {
        None => (SessionStatus::Active, None),
        Some(Outcome::Success) => (SessionStatus::Completed, None),
        Some(Outcome::Failure(c)) => (SessionStatus::Failed, Some(c.label().to_string())),
    };
    let transition = Transition {
        state: serde_json::to_value(&new_state).map_err(invalid)?,
        status,
        cause,
        deadline: Some(Utc::now() + settings.session_timeout),
    };
    let (session_id, version, started_at) = (session.id, session.version, state.started_at);
    let plan_for_finish = new_state.plan.clone();
    let updated = conn
        .transaction::<_, StoreError, _>(async move |conn| {
            let updated = sessions::advance(conn, session_id, version, &transition).await?;
            if let Some(outcome) = &outcome {
                driver::finish(conn, &updated, &plan_for_finish, outcome, started_at).await?;
            }
            Ok(updated)
        })
        .await?;
    Ok((updated, new_state))
}

/// How an IS-725-A failure ends a session.
fn failure_of(e: &Is725Error) -> (BearerFailure, String) {
    let kind = match e {
        Is725Error::Tcap(TcapError::Link(_)) => BearerFailure::LinkDown,
        Is725Error::Tcap(TcapError::Timeout(_)) => BearerFailure::NoAnswer,
        Is725Error::BadAnswer { .. } => BearerFailure::ProtocolError,
        _ => BearerFailure::NetworkError,
    };
    (kind, e.to_string())
}

/// Ends the session for a reason outside the plan (the SS7 path failed, the answer did not
/// decode): status failed with the bearer cause, audit record written, in one transaction.
async fn fail(
    conn: &mut AsyncPgConnection,
    session: &Session,
    state: &Ss7State,
    (failure, reason): (BearerFailure, String),
    settings: &StarCodeSettings,
) -> Result<Outcome, StoreError> {
    let outcome = match &state.plan.phase {
        // Only the OTAPA stop was outstanding: the outcome was settled before it, and a stop
        // that did not get through does not change it.
        plan::Phase::OtapaStop { failure } => {
            tracing::warn!(session = session.id, ?failure, %reason, "the OTAPA stop was not answered");
            failure.clone().map_or(Outcome::Success, Outcome::Failure)
        }
        _ => {
            tracing::warn!(session = session.id, ?failure, %reason, "star-code session failed");
            Outcome::Failure(Cause::Bearer { failure, reason })
        }
    };
    let (plan, _) = plan::step(&state.plan, Event::Timeout)
        .unwrap_or_else(|_| (state.plan.clone(), Vec::new()));
    let plan = PlanState {
        phase: plan::Phase::Finished(outcome.clone()),
        ..plan
    };
    let finish = [Command::Finish(outcome.clone())];
    commit(conn, session, state, plan, &finish, settings).await?;
    Ok(outcome)
}

impl From<diesel::result::Error> for StarCodeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}
