//! The SS7 bearer: the driver walks a session's plan through the MNIU, each IS-683 request in
//! an SMDPP to the serving MSC and each answer taken from its ReturnResult (IS-725-A).
//!
//! Every step is committed with [`apply`] before the next SMDPP leaves. When an SMDPP's answer
//! is lost (the association went down, the MSC stayed silent) the plan is told
//! ([`Event::AnswerLost`]) and the request goes again after a pause (a PRL download starts over
//! from offset 0), up to [`RELAY_ATTEMPTS`] times in a row; after that, or on any other SS7
//! failure, the plan is told the bearer failed ([`Event::BearerFailed`]) and the session ends
//! with the SS7 cause: nothing is half-committed, the handset never received a Commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use otagw_codecs::is683::ReverseMessage;

use super::apply::{apply, Applied, ApplyError, SessionKey, Shell};
use super::plan::{BearerFailure, Command, Event, Outcome, MAX_SEGMENT_SIZE};
use super::state::{Link, Ss7Link};
use crate::mniu::is725::{self, Attached, Is725, Is725Error};
use crate::mniu::tcap::TcapError;
use crate::store::models::Session;
use crate::telemetry::names;

/// Times an SMDPP whose answer was lost (link down, no answer) is tried before the session
/// fails.
pub(crate) const RELAY_ATTEMPTS: u32 = 5;

/// How the SS7 bearer paces a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ss7Timing {
    /// Session deadline, renewed at each step.
    pub session_timeout: chrono::Duration,
    /// Pause between attempts of an SMDPP that failed on the link.
    pub retry_pause: Duration,
}

/// The SS7 bearer's [`Shell`]: the requests are the plan's commands, so it renders nothing;
/// each step renews the deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ss7Shell {
    /// The session deadline after each step.
    pub session_timeout: chrono::Duration,
}

impl Shell for Ss7Shell {
    type Output = ();
    type Error = ApplyError;

    fn render(&mut self, _: &Session, _: &mut Link, _: &[Command]) -> Result<(), ApplyError> {
        Ok(())
    }

    fn deadline(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(now + self.session_timeout)
    }
}

/// The SS7 part of a session's state for a handset reached through `attached`.
pub(crate) fn link_of(attached: &Attached) -> Link {
    Link::Ss7(Ss7Link {
        trn: attached.trn.clone(),
        msc: attached.msc,
    })
}

/// The largest SSPR Download segment whose SMDPP (with `attached`'s addressing) fits one SCCP
/// UDT (the SSPR Download Request header takes 7 octets).
pub(crate) fn segment_size(attached: &Attached) -> u8 {
    let fits = is725::max_is683_in_udt(attached)
        .saturating_sub(7)
        .clamp(1, usize::from(MAX_SEGMENT_SIZE));
    u8::try_from(fits).unwrap_or(1)
}

/// Walks session `first.session` over SS7 from the step `first` (its plan just started) to its
/// end: each request in an SMDPP with `service_indicator` to the MSC of `attached`. Returns how
/// the session ended.
pub(crate) async fn walk(
    conn: &mut AsyncPgConnection,
    is725: &Is725,
    timing: Ss7Timing,
    attached: &Attached,
    service_indicator: u8,
    first: Applied<()>,
) -> Result<Outcome, ApplyError> {
    let id = first.session.id;
    let mut shell = Ss7Shell {
        session_timeout: timing.session_timeout,
    };
    let mut commands = first.commands;
    let mut lost = 0;
    loop {
        // The plan asks for one request at a time, or says it is over.
        let event = match commands.as_slice() {
            [.., Command::Finish(o)] => return Ok(o.clone()),
            [Command::Send(message)] => match message.encode() {
                Ok(bytes) => match is725.relay(attached, service_indicator, bytes).await {
                    Ok(reply) => {
                        lost = 0;
                        match ReverseMessage::decode(&reply) {
                            Ok(m) => Event::Response(m),
                            Err(e) => failed(
                                BearerFailure::ProtocolError,
                                format!("the handset's answer: {e}"),
                            ),
                        }
                    }
                    Err(Is725Error::Tcap(TcapError::Link(_) | TcapError::Timeout(_)))
                        if lost + 1 < RELAY_ATTEMPTS =>
                    {
                        // The request may or may not have reached the handset: wait for the
                        // link, then let the plan say what to send again.
                        lost += 1;
                        metrics::counter!(names::SS7_RELAY_RETRIES).increment(1);
                        tokio::time::sleep(timing.retry_pause).await;
                        Event::AnswerLost
                    }
                    Err(e) => {
                        let (failure, reason) = failure_of(&e);
                        failed(failure, reason)
                    }
                },
                Err(e) => failed(BearerFailure::ProtocolError, format!("encoding: {e}")),
            },
            _ => failed(
                BearerFailure::ProtocolError,
                "the plan asked for nothing".into(),
            ),
        };
        if let Event::BearerFailed { failure, reason } = &event {
            tracing::warn!(session = id, ?failure, %reason, "SS7 bearer failed");
        }
        commands = match apply(conn, SessionKey::Id(id), vec![event], &mut shell).await {
            Ok(step) => step.commands,
            // An answer the plan cannot take ends the session as a protocol error.
            Err(ApplyError::Step(e)) => {
                let event = failed(BearerFailure::ProtocolError, e.to_string());
                apply(conn, SessionKey::Id(id), vec![event], &mut shell)
                    .await?
                    .commands
            }
            Err(e) => return Err(e),
        };
    }
}

fn failed(failure: BearerFailure, reason: String) -> Event {
    Event::BearerFailed { failure, reason }
}

/// How an IS-725-A failure ends a session.
pub(crate) fn failure_of(e: &Is725Error) -> (BearerFailure, String) {
    let kind = match e {
        Is725Error::Tcap(TcapError::Link(_)) => BearerFailure::LinkDown,
        Is725Error::Tcap(TcapError::Timeout(_)) => BearerFailure::NoAnswer,
        Is725Error::BadAnswer { .. } => BearerFailure::ProtocolError,
        _ => BearerFailure::NetworkError,
    };
    (kind, e.to_string())
}
