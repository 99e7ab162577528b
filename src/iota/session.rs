//! The IOTA bearer of a session: what the bootstrap GET and each POST do to the session row.
//!
//! Every request is one transaction: the session row is locked (`FOR UPDATE`), the plan engine
//! steps, the new state (with the MMC document answered, kept for retransmissions) is written
//! with its version check, and only then does the answer leave the gateway. Any instance can
//! serve any request.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use otagw_codecs::identity::DeviceId;
use otagw_codecs::is683::{ForwardMessage, ReverseMessage};
use otagw_codecs::mmc::{MmcBody, MmcDocument, TerminateAction};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ospp_driver::plan::{self, Command, Event, Outcome, PlanState, StepError};
use crate::ospp_driver::session::{self as driver, OpenError, FLOW_ONE_BUTTON};
use crate::store::models::Session;
use crate::store::sessions::{self, NewSession, SessionStatus, Transition};
use crate::store::StoreError;

/// Bearer name stored in sessions and metrics.
pub const BEARER: &str = "iota";

/// Settings the IOTA bearer needs.
#[derive(Debug, Clone)]
pub struct IotaSettings {
    /// How long a session waits for the handset's next request.
    pub session_timeout: Duration,
    /// Largest SSPR Download segment.
    pub segment_size: u8,
    /// Path prefix of session URLs (`/iota/s`).
    pub session_path: String,
}

/// The IOTA part of a session row's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IotaState {
    /// The plan.
    pub plan: PlanState,
    /// `seq` of the last document sent; the handset's next POST answers it.
    pub seq: u32,
    /// The last document sent, replayed to a POST that answers `seq - 1` again.
    pub last_reply: String,
    /// When the session began.
    pub started_at: DateTime<Utc>,
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

/// A document to send, with what to count once the transaction has committed.
#[derive(Debug)]
pub struct Reply {
    /// The MMC document.
    pub document: String,
    /// Forward messages it carries (for metrics).
    pub sent: Vec<ForwardMessage>,
    /// Reverse messages the request carried (for metrics).
    pub received: Vec<ReverseMessage>,
    /// The session started with this request.
    pub started: bool,
    /// The session ended with this request.
    pub finished: Option<(Outcome, DateTime<Utc>)>,
    /// The session's flow (for metrics).
    pub flow: String,
}

impl Reply {
    /// Counts what this reply did. Call after the transaction committed.
    pub fn count(&self) {
        if self.started {
            driver::count_started(&self.flow, BEARER);
        }
        self.received.iter().for_each(driver::count_reverse);
        self.sent.iter().for_each(driver::count_forward);
        if let Some((outcome, started_at)) = &self.finished {
            driver::count_finished(&self.flow, BEARER, outcome, *started_at);
        }
    }
}

/// 24 random octets from the kernel, URL-safe base64: the session token.
/// A new session token (24 random octets, URL-safe base64).
pub fn new_token() -> Result<String, IotaError> {
    let mut buf = [0u8; 24];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| IotaError::Internal(format!("reading /dev/urandom: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The document answering a step: the forward messages to send, or the end of the session.
fn render(
    token: &str,
    seq: u32,
    settings: &IotaSettings,
    commands: &[Command],
) -> Result<(String, Vec<ForwardMessage>, Option<Outcome>), IotaError> {
    let mut sent = Vec::new();
    let mut outcome = None;
    for command in commands {
        match command {
            Command::Send(m) => sent.push(m.clone()),
            Command::Finish(o) => outcome = Some(o.clone()),
        }
    }
    let document = match &outcome {
        // Reboot only onto committed settings; after a failure the handset keeps what it had.
        Some(Outcome::Success) => MmcDocument::terminate(token, seq, TerminateAction::Reboot),
        Some(Outcome::Failure(_)) => MmcDocument::terminate(token, seq, TerminateAction::None),
        None => {
            let messages = sent
                .iter()
                .map(|m| {
                    m.encode()
                        .map_err(|e| IotaError::Internal(format!("encoding {m:?}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let next = format!("{}/{token}", settings.session_path);
            MmcDocument::forward(token, seq, &next, messages)
        }
    };
    Ok((document.encode(), sent, outcome))
}

/// The bootstrap GET: opens a session for `device` and returns its first document.
pub async fn bootstrap(
    conn: &mut AsyncPgConnection,
    settings: &IotaSettings,
    device: DeviceId,
) -> Result<Reply, IotaError> {
    let token = new_token()?;
    let settings = settings.clone();
    conn.transaction::<_, IotaError, _>(async move |conn| {
        let (profile, programme) =
            driver::profile_for_activation(conn, &device, settings.segment_size)
                .await
                .map_err(|e| match e {
                    OpenError::UnknownDevice(d) => {
                        IotaError::UnknownDevice(format!("no profile for {d}"))
                    }
                    OpenError::AlreadyActivated(d) => {
                        IotaError::AlreadyActivated(format!("{d} is already activated"))
                    }
                    OpenError::Deactivated(d) => {
                        IotaError::UnknownDevice(format!("{d} is de-activated"))
                    }
                    OpenError::Programme(p) => IotaError::Internal(p.to_string()),
                    OpenError::Store(s) => s.into(),
                })?;
        let (plan, commands) = plan::step(&PlanState::new(programme), Event::Start)
            .map_err(|e| IotaError::Internal(e.to_string()))?;
        let (document, sent, outcome) = render(&token, 1, &settings, &commands)?;
        let now = Utc::now();
        let state = IotaState {
            plan,
            seq: 1,
            last_reply: document.clone(),
            started_at: now,
        };
        sessions::supersede_active(conn, profile.id).await?;
        let state_json =
            serde_json::to_value(&state).map_err(|e| IotaError::Internal(e.to_string()))?;
        sessions::create(
            conn,
            &NewSession {
                token: token.clone(),
                profile_id: profile.id,
                flow: FLOW_ONE_BUTTON.to_string(),
                bearer: BEARER.to_string(),
                state: state_json,
                deadline: Some(now + settings.session_timeout),
                campaign_id: None,
            },
        )
        .await?;
        tracing::info!(profile = profile.id, session = %token, "IOTA session opened");
        Ok(Reply {
            document,
            sent,
            received: Vec::new(),
            started: true,
            finished: outcome.map(|o| (o, now)),
            flow: FLOW_ONE_BUTTON.to_string(),
        })
    })
    .await
}

fn load_state(session: &Session) -> Result<IotaState, IotaError> {
    serde_json::from_value(session.state.clone())
        .map_err(|e| IotaError::Internal(format!("session {} state: {e}", session.id)))
}

/// A POST answering document `seq` of session `token` with `body` (an MMC document).
pub async fn answer(
    conn: &mut AsyncPgConnection,
    settings: &IotaSettings,
    token: &str,
    body: &[u8],
) -> Result<Reply, IotaError> {
    let doc = MmcDocument::decode(body).map_err(|e| IotaError::MalformedDocument(e.to_string()))?;
    let seq = doc.seq.ok_or_else(|| {
        IotaError::MalformedDocument("the document has no seq attribute".to_string())
    })?;
    if doc.session.as_deref().is_some_and(|s| s != token) {
        return Err(IotaError::BadRequest(
            "the document's session does not match the URL".to_string(),
        ));
    }
    let raw = match doc.body {
        MmcBody::Messages {
            direction: otagw_codecs::mmc::Direction::Reverse,
            messages,
        } => messages,
        _ => {
            return Err(IotaError::MalformedDocument(
                "a handset's document must carry is683 dir=\"rev\" messages".to_string(),
            ))
        }
    };
    let received = raw
        .iter()
        .enumerate()
        .map(|(i, m)| {
            ReverseMessage::decode(m)
                .map_err(|e| IotaError::UndecodableIs683(format!("is683 element {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let settings = settings.clone();
    let token = token.to_string();
    conn.transaction::<_, IotaError, _>(async move |conn| {
        let session = sessions::by_token_for_update(conn, &token).await?;
        let state = load_state(&session)?;
        if seq.checked_add(1) == Some(state.seq) {
            // A retransmission: the same answer again, nothing applied.
            return Ok(Reply {
                document: state.last_reply.clone(),
                sent: Vec::new(),
                received: Vec::new(),
                started: false,
                finished: None,
                flow: session.flow.clone(),
            });
        }
        if session.status != SessionStatus::Active.as_str() {
            let why = session
                .cause
                .clone()
                .unwrap_or_else(|| session.status.clone());
            return Err(IotaError::SessionEnded(why));
        }
        if seq != state.seq {
            return Err(IotaError::UnexpectedResponse(format!(
                "seq {seq} does not answer the outstanding document {}",
                state.seq
            )));
        }
        let mut plan = state.plan.clone();
        let mut commands = Vec::new();
        for message in &received {
            let (next, cmds) =
                plan::step(&plan, Event::Response(message.clone())).map_err(|e| match e {
                    StepError::Ended => IotaError::SessionEnded("completed".into()),
                    other => IotaError::UnexpectedResponse(other.to_string()),
                })?;
            plan = next;
            commands = cmds;
        }
        if received.is_empty() {
            return Err(IotaError::UnexpectedResponse(format!(
                "the document carries no answer to the outstanding {}",
                plan.outstanding()
            )));
        }
        let next_seq = state.seq + 1;
        let (document, sent, outcome) = render(&token, next_seq, &settings, &commands)?;
        let status = match &outcome {
            None => SessionStatus::Active,
            Some(Outcome::Success) => SessionStatus::Completed,
            Some(Outcome::Failure(_)) => SessionStatus::Failed,
        };
        let cause = match &outcome {
            Some(Outcome::Failure(c)) => Some(c.label().to_string()),
            _ => None,
        };
        let new_state = IotaState {
            plan: plan.clone(),
            seq: next_seq,
            last_reply: document.clone(),
            started_at: state.started_at,
        };
        let transition = Transition {
            state: serde_json::to_value(&new_state)
                .map_err(|e| IotaError::Internal(e.to_string()))?,
            status,
            cause,
            deadline: Some(Utc::now() + settings.session_timeout),
        };
        let session = sessions::advance(conn, session.id, session.version, &transition).await?;
        if let Some(outcome) = &outcome {
            driver::finish(conn, &session, &plan, outcome, state.started_at).await?;
            tracing::info!(session = %token, ?outcome, "IOTA session ended");
        }
        Ok(Reply {
            document,
            sent,
            received,
            started: false,
            finished: outcome.map(|o| (o, state.started_at)),
            flow: session.flow.clone(),
        })
    })
    .await
}

/// The GET of a call-back URL a WAP push sent a handset to (`/iota/otapa/{token}` for a PRL
/// push, `/iota/activate/{token}` for an IVR-assisted activation): checks the device is the
/// profile's, starts the session's plan and returns its first document.
pub async fn otapa_callback(
    conn: &mut AsyncPgConnection,
    settings: &IotaSettings,
    token: &str,
    device: DeviceId,
) -> Result<Reply, IotaError> {
    let settings = settings.clone();
    let token = token.to_string();
    conn.transaction::<_, IotaError, _>(async move |conn| {
        let session = sessions::by_token_for_update(conn, &token).await?;
        if session.flow != driver::FLOW_PRL_PUSH && session.flow != driver::FLOW_IVR_STAR_CODE {
            return Err(IotaError::UnknownSession(token.clone()));
        }
        let profile = crate::store::profiles::find(
            conn,
            &crate::store::profiles::Lookup::Id(session.profile_id),
        )
        .await?;
        let matches = match device {
            DeviceId::Esn(esn) => {
                let esn = esn.to_string();
                profile.esn.as_deref() == Some(&esn) || profile.pesn.as_deref() == Some(&esn)
            }
            DeviceId::Meid(meid) => profile.meid.as_deref() == Some(meid.to_string().as_str()),
        };
        if !matches {
            return Err(IotaError::UnknownDevice(
                "this call-back URL was sent to another device".to_string(),
            ));
        }
        if session.status != SessionStatus::Active.as_str() {
            let why = session
                .cause
                .clone()
                .unwrap_or_else(|| session.status.clone());
            return Err(IotaError::SessionEnded(why));
        }
        let state = load_state(&session)?;
        if state.seq > 0 {
            // The handset asked again: it gets the first document again.
            if state.seq == 1 {
                return Ok(Reply {
                    document: state.last_reply.clone(),
                    sent: Vec::new(),
                    received: Vec::new(),
                    started: false,
                    finished: None,
                    flow: session.flow.clone(),
                });
            }
            return Err(IotaError::UnexpectedResponse(
                "the session is already under way".to_string(),
            ));
        }
        let (plan, commands) = plan::step(&state.plan, Event::Start)
            .map_err(|e| IotaError::UnexpectedResponse(e.to_string()))?;
        let (document, sent, outcome) = render(&token, 1, &settings, &commands)?;
        let now = Utc::now();
        let new_state = IotaState {
            plan,
            seq: 1,
            last_reply: document.clone(),
            started_at: now,
        };
        let transition = Transition {
            state: serde_json::to_value(&new_state)
                .map_err(|e| IotaError::Internal(e.to_string()))?,
            status: SessionStatus::Active,
            cause: None,
            deadline: Some(now + settings.session_timeout),
        };
        sessions::advance(conn, session.id, session.version, &transition).await?;
        Ok(Reply {
            document,
            sent,
            received: Vec::new(),
            started: true,
            finished: outcome.map(|o| (o, now)),
            flow: session.flow.clone(),
        })
    })
    .await
}
