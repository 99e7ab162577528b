//! What the bootstrap GET, a call-back GET and each POST do to a session.
//!
//! Every request is one step through the OSPP driver's [`apply`]: one transaction that locks
//! the row, steps the plan, writes the new state with the MMC document answered (kept for
//! retransmissions) and, at the end, the profile and audit record; only then does the answer
//! leave the gateway. Any instance can serve any request.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use otagw_codecs::identity::DeviceId;
use otagw_codecs::is683::ReverseMessage;
use otagw_codecs::mmc::{Direction, MmcBody, MmcDocument, TerminateAction};

use super::{IotaError, IotaSettings, SESSION_PATH};
use crate::call_manager::{self, OpenError};
use crate::ospp_driver::apply::{apply, apply_locked, SessionKey, Shell};
use crate::ospp_driver::open::{new_token, open, Opening};
use crate::ospp_driver::plan::{Command, Event, Outcome};
use crate::ospp_driver::record::Record;
use crate::ospp_driver::state::{IotaLink, Link, SessionState};
use crate::store::models::Session;
use crate::store::profiles::{self, Lookup};
use crate::store::sessions::{self, Flow, SessionStatus};

/// A document to send, with what the step did (for the signalling trace).
#[derive(Debug)]
pub struct Reply {
    /// The MMC document.
    pub document: String,
    /// What the step did; already counted in the metrics.
    pub record: Record,
}

/// Which request a step answers.
#[derive(Debug, Clone, Copy)]
enum Request {
    /// The bootstrap GET: the plan starts.
    Bootstrap,
    /// The GET of a pushed call-back URL: the plan starts.
    Callback,
    /// A POST answering document `seq`.
    Answer { seq: u32 },
}

/// The IOTA bearer's part of a step.
struct IotaShell<'a> {
    token: &'a str,
    settings: &'a IotaSettings,
    request: Request,
}

fn ended(session: &Session) -> IotaError {
    IotaError::SessionEnded(
        session
            .cause
            .clone()
            .unwrap_or_else(|| session.status.to_string()),
    )
}

impl Shell for IotaShell<'_> {
    type Output = String;
    type Error = IotaError;

    fn check(
        &mut self,
        session: &Session,
        state: &mut SessionState,
    ) -> Result<Option<String>, IotaError> {
        let link = match &state.link {
            Link::Iota(link) => link,
            // Handed to the SS7 fallback: the handset is too late.
            Link::Ss7(_) if session.status != SessionStatus::Active => return Err(ended(session)),
            Link::Ss7(_) => {
                return Err(IotaError::UnexpectedResponse(
                    "the session is already under way over SS7".to_string(),
                ))
            }
        };
        match self.request {
            Request::Bootstrap => Ok(None),
            Request::Callback => {
                if !session.flow.is_pushed() {
                    return Err(IotaError::UnknownSession(self.token.to_string()));
                }
                if session.status != SessionStatus::Active {
                    return Err(ended(session));
                }
                match link.seq {
                    0 => Ok(None),
                    // The handset asked again: it gets the first document again.
                    1 => Ok(Some(link.last_reply.clone())),
                    _ => Err(IotaError::UnexpectedResponse(
                        "the session is already under way".to_string(),
                    )),
                }
            }
            Request::Answer { seq } => {
                if seq.checked_add(1) == Some(link.seq) {
                    // A retransmission: the same answer again, nothing applied.
                    return Ok(Some(link.last_reply.clone()));
                }
                if session.status != SessionStatus::Active {
                    return Err(ended(session));
                }
                if seq != link.seq {
                    return Err(IotaError::UnexpectedResponse(format!(
                        "seq {seq} does not answer the outstanding document {}",
                        link.seq
                    )));
                }
                Ok(None)
            }
        }
    }

    fn render(
        &mut self,
        _: &Session,
        link: &mut Link,
        commands: &[Command],
    ) -> Result<String, IotaError> {
        let Link::Iota(link) = link else {
            return Err(IotaError::Internal(
                "an IOTA step on a session of another bearer".to_string(),
            ));
        };
        link.seq += 1;
        link.last_reply = render(self.token, link.seq, commands)?;
        Ok(link.last_reply.clone())
    }

    fn deadline(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(now + self.settings.session_timeout)
    }
}

/// The document answering a step: the forward messages to send, or the end of the session.
fn render(token: &str, seq: u32, commands: &[Command]) -> Result<String, IotaError> {
    let document = match crate::ospp_driver::plan::outcome_of(commands) {
        // Reboot only onto committed settings; after a failure the handset keeps what it had.
        Some(Outcome::Success) => MmcDocument::terminate(token, seq, TerminateAction::Reboot),
        Some(Outcome::Failure(_)) => MmcDocument::terminate(token, seq, TerminateAction::None),
        None => {
            let messages = commands
                .iter()
                .filter_map(|c| match c {
                    Command::Send(m) => Some(
                        m.encode()
                            .map_err(|e| IotaError::Internal(format!("encoding {m:?}: {e}"))),
                    ),
                    _ => None,
                })
                .collect::<Result<Vec<_>, _>>()?;
            let next = format!("{SESSION_PATH}/{token}");
            MmcDocument::forward(token, seq, &next, messages)
        }
    };
    Ok(document.encode())
}

/// The bootstrap GET: opens a one-button session for `device` and returns its first document.
pub(crate) async fn bootstrap(
    conn: &mut AsyncPgConnection,
    settings: &IotaSettings,
    device: DeviceId,
) -> Result<Reply, IotaError> {
    let token =
        new_token().map_err(|e| IotaError::Internal(format!("reading /dev/urandom: {e}")))?;
    let applied = conn
        .transaction::<_, IotaError, _>(async |conn| {
            let (profile, programme) =
                call_manager::profile_for_activation(conn, &device, settings.segment_size)
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
            let session = open(
                conn,
                Opening {
                    token: token.clone(),
                    profile: &profile,
                    flow: Flow::OneButton,
                    programme,
                    link: Link::Iota(IotaLink::default()),
                    deadline: Utc::now() + settings.session_timeout,
                    campaign_id: None,
                },
            )
            .await?;
            let mut shell = IotaShell {
                token: &token,
                settings,
                request: Request::Bootstrap,
            };
            apply_locked(conn, session, vec![Event::Start], &mut shell).await
        })
        .await?;
    applied.record.count();
    tracing::info!(
        session = applied.session.id,
        profile = applied.session.profile_id,
        "IOTA session opened"
    );
    Ok(Reply {
        document: applied.output,
        record: applied.record,
    })
}

/// A POST answering document `seq` of session `token` with `body` (an MMC document).
pub(crate) async fn answer(
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
            direction: Direction::Reverse,
            messages,
        } => messages,
        _ => {
            return Err(IotaError::MalformedDocument(
                "a handset's document must carry is683 dir=\"rev\" messages".to_string(),
            ))
        }
    };
    let events = raw
        .iter()
        .enumerate()
        .map(|(i, m)| {
            ReverseMessage::decode(m)
                .map(Event::Response)
                .map_err(|e| IotaError::UndecodableIs683(format!("is683 element {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut shell = IotaShell {
        token,
        settings,
        request: Request::Answer { seq },
    };
    let applied = apply(conn, SessionKey::Token(token), events, &mut shell).await?;
    Ok(Reply {
        document: applied.output,
        record: applied.record,
    })
}

/// The GET of a call-back URL a WAP push sent a handset to (`/iota/otapa/{token}` for a PRL
/// push, `/iota/activate/{token}` for an IVR-assisted activation): checks the device is the
/// profile's, starts the session's plan and returns its first document.
pub(crate) async fn callback(
    conn: &mut AsyncPgConnection,
    settings: &IotaSettings,
    token: &str,
    device: DeviceId,
) -> Result<Reply, IotaError> {
    let session = sessions::by_token(conn, token).await?;
    if !session.flow.is_pushed() {
        return Err(IotaError::UnknownSession(token.to_string()));
    }
    let profile = profiles::find(conn, &Lookup::Id(session.profile_id)).await?;
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
    let mut shell = IotaShell {
        token,
        settings,
        request: Request::Callback,
    };
    let applied = apply(
        conn,
        SessionKey::Token(token),
        vec![Event::Start],
        &mut shell,
    )
    .await?;
    Ok(Reply {
        document: applied.output,
        record: applied.record,
    })
}
