//! The one way to commit a step of a session, for every bearer (DESIGN principle 9).
//!
//! [`apply`] takes an event for a session and, in one transaction: locks the row, lets the
//! bearer's [`Shell`] check it (an IOTA retransmission is answered from the stored reply
//! without a step), steps the plan, lets the shell render the step into its part of the state
//! (the MMC document on IOTA), writes the new state with its version check and, when the
//! session ends, the profile change the plan calls for, the scrubbed secrets and the audit
//! record ([`super::end`]). Only after the commit is the step counted in the metrics and its
//! output handed back to the bearer to send.
//!
//! [`apply_locked`] is the same step inside a caller's transaction, on a row it has locked
//! already (the deadline scheduler, a campaign's cancel, a bootstrap that opens and starts a
//! session in one transaction); the caller counts the [`Record`] once it has committed.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use thiserror::Error;
use tracing::Instrument;

use super::end;
use super::plan::{self, Command, Event, Outcome, StepError};
use super::record::Record;
use super::state::{Link, SessionState};
use crate::store::models::Session;
use crate::store::sessions::{self, SessionStatus, Transition};
use crate::store::StoreError;

/// Why a step was not applied. Nothing changed.
#[derive(Debug, Error)]
pub enum ApplyError {
    /// The store failed (or the session does not exist, or changed under us).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plan cannot take the event (out of order, already started ...).
    #[error(transparent)]
    Step(#[from] StepError),
    /// The session has ended; the cause (or status) says how.
    #[error("the session has ended ({0})")]
    Ended(String),
    /// The bearer brought no event at all.
    #[error("no answer to the outstanding {0}")]
    NoEvent(&'static str),
}

impl From<diesel::result::Error> for ApplyError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Which session an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionKey<'a> {
    /// By row id.
    Id(i64),
    /// By token.
    Token(&'a str),
}

/// What a bearer adds to a step. Its methods are pure: they run inside the step's transaction,
/// on the locked row.
pub(crate) trait Shell: Send {
    /// What the bearer sends for the step (an MMC document on IOTA; nothing on SS7, whose
    /// requests are the plan's commands).
    type Output: Send;
    /// The bearer's error.
    type Error: From<ApplyError> + From<diesel::result::Error> + Send;

    /// Looks at the locked row before the plan steps: `Ok(Some(output))` answers without a step
    /// (a retransmission); an error refuses the event. It may adjust the state the step starts
    /// from (a bearer taking a session over sets its own part). The default lets every event
    /// through as it is.
    fn check(
        &mut self,
        _session: &Session,
        _state: &mut SessionState,
    ) -> Result<Option<Self::Output>, Self::Error> {
        Ok(None)
    }

    /// Renders the step's commands into the bearer's part of the state, and what to send.
    fn render(
        &mut self,
        session: &Session,
        link: &mut Link,
        commands: &[Command],
    ) -> Result<Self::Output, Self::Error>;

    /// The session's deadline after a step that did not end it.
    fn deadline(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>>;
}

/// The shell of a step no bearer carries (a deadline, a cancel): it renders nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoBearer;

impl Shell for NoBearer {
    type Output = ();
    type Error = ApplyError;

    fn render(&mut self, _: &Session, _: &mut Link, _: &[Command]) -> Result<(), ApplyError> {
        Ok(())
    }

    fn deadline(&self, _: DateTime<Utc>) -> Option<DateTime<Utc>> {
        None
    }
}

/// A step applied and committed (or, from [`apply_locked`], written in the caller's
/// transaction).
#[derive(Debug)]
pub(crate) struct Applied<O> {
    /// The row after the step.
    pub session: Session,
    /// What the plan asked for.
    pub commands: Vec<Command>,
    /// What the bearer sends.
    pub output: O,
    /// What to count once committed.
    pub record: Record,
}

impl<O> Applied<O> {
    /// The outcome, if the step ended the session.
    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        plan::outcome_of(&self.commands)
    }
}

/// Applies `events` to the session `key` names, in one transaction, and counts the step once
/// committed. See the [module documentation](self).
pub(crate) async fn apply<S: Shell>(
    conn: &mut AsyncPgConnection,
    key: SessionKey<'_>,
    events: Vec<Event>,
    shell: &mut S,
) -> Result<Applied<S::Output>, S::Error> {
    let span = tracing::info_span!(
        "session",
        id = tracing::field::Empty,
        flow = tracing::field::Empty,
        bearer = tracing::field::Empty,
        device = tracing::field::Empty,
    );
    let key = match key {
        SessionKey::Id(id) => OwnedKey::Id(id),
        SessionKey::Token(t) => OwnedKey::Token(t.to_string()),
    };
    let in_span = span.clone();
    async move {
        let applied = conn
            .transaction::<_, S::Error, _>(async move |conn| {
                let session = match &key {
                    OwnedKey::Id(id) => sessions::by_id_for_update(conn, *id).await,
                    OwnedKey::Token(t) => sessions::by_token_for_update(conn, t).await,
                }
                .map_err(ApplyError::from)?;
                record_in_span(&in_span, &session);
                apply_locked(conn, session, events, shell).await
            })
            .await?;
        applied.record.count();
        Ok(applied)
    }
    .instrument(span)
    .await
}

enum OwnedKey {
    Id(i64),
    Token(String),
}

/// A span for one session's work: id, flow, bearer and device.
pub(crate) fn span_of(session: &Session) -> tracing::Span {
    let span = tracing::info_span!(
        "session",
        id = tracing::field::Empty,
        flow = tracing::field::Empty,
        bearer = tracing::field::Empty,
        device = tracing::field::Empty,
    );
    record_in_span(&span, session);
    span
}

fn record_in_span(span: &tracing::Span, session: &Session) {
    span.record("id", session.id);
    span.record("flow", session.flow.as_str());
    span.record("bearer", session.bearer.as_str());
    if let Some(device) = &session.device {
        span.record("device", device.as_str());
    }
}

/// [`apply`] inside the caller's transaction, on a row the caller has locked. The caller counts
/// [`Applied::record`] once its transaction has committed.
pub(crate) async fn apply_locked<S: Shell>(
    conn: &mut AsyncPgConnection,
    session: Session,
    events: Vec<Event>,
    shell: &mut S,
) -> Result<Applied<S::Output>, S::Error> {
    let now = Utc::now();
    let mut state = SessionState::of(&session).map_err(ApplyError::from)?;
    if let Some(output) = shell.check(&session, &mut state)? {
        let record = Record::nothing(&session);
        return Ok(Applied {
            session,
            commands: Vec::new(),
            output,
            record,
        });
    }
    if session.status != SessionStatus::Active {
        let why = session
            .cause
            .clone()
            .unwrap_or_else(|| session.status.to_string());
        return Err(ApplyError::Ended(why).into());
    }
    if events.is_empty() {
        return Err(ApplyError::NoEvent(state.plan.outstanding()).into());
    }
    let started = events.iter().any(|e| matches!(e, Event::Start));
    let received = events
        .iter()
        .filter_map(|e| match e {
            Event::Response(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let mut plan = state.plan.clone();
    let mut commands = Vec::new();
    for event in events {
        (plan, commands) = plan::step(&plan, event).map_err(ApplyError::from)?;
    }
    state.plan = plan.clone();
    let output = shell.render(&session, &mut state.link, &commands)?;
    let outcome = plan::outcome_of(&commands).cloned();
    let (status, cause) = match &outcome {
        None => (SessionStatus::Active, None),
        Some(Outcome::Success) => (SessionStatus::Completed, None),
        Some(Outcome::Failure(c)) => (SessionStatus::Failed, Some(c.label().to_string())),
    };
    let started_at = if started {
        Some(now)
    } else {
        session.started_at
    };
    let transition = Transition {
        state: state.to_json().map_err(ApplyError::from)?,
        status,
        cause,
        deadline: if outcome.is_none() {
            shell.deadline(now)
        } else {
            None
        },
        bearer: state.link.bearer(),
        started_at,
    };
    let updated = sessions::advance(conn, session.id, session.version, &transition)
        .await
        .map_err(ApplyError::from)?;
    if let Some(outcome) = &outcome {
        end::finish(conn, &updated, &plan, outcome, &commands)
            .await
            .map_err(ApplyError::from)?;
        tracing::info!(
            session = updated.id,
            flow = %updated.flow,
            bearer = %updated.bearer,
            outcome = end::labels(outcome).0,
            cause = end::labels(outcome).1,
            "session ended"
        );
    }
    let record = Record {
        session_id: updated.id,
        flow: updated.flow,
        bearer: updated.bearer,
        started,
        finished: outcome.map(|o| (o, end::started_at(&updated))),
        sent: commands
            .iter()
            .filter_map(|c| match c {
                Command::Send(m) => Some(m.clone()),
                _ => None,
            })
            .collect(),
        received,
    };
    Ok(Applied {
        session: updated,
        commands,
        output,
        record,
    })
}
