//! What a step did, counted in the metrics once its transaction has committed.

use chrono::{DateTime, Utc};
use otagw_codecs::is683::{ForwardMessage, ReverseMessage};

use super::end::labels;
use super::plan::Outcome;
use crate::store::models::Session;
use crate::store::sessions::{Bearer, Flow};
use crate::telemetry::names;

/// What one step of a session did, for the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The session (its id).
    pub session_id: i64,
    /// The session's flow.
    pub flow: Flow,
    /// The bearer that carried the step.
    pub bearer: Bearer,
    /// The plan started with this step.
    pub started: bool,
    /// The session ended with this step: how, and when its plan had started.
    pub finished: Option<(Outcome, DateTime<Utc>)>,
    /// Forward messages the step sends.
    pub sent: Vec<ForwardMessage>,
    /// Reverse messages the step took.
    pub received: Vec<ReverseMessage>,
}

impl Record {
    /// A step that changed nothing (a retransmission answered from the stored reply).
    pub fn nothing(session: &Session) -> Self {
        Self {
            session_id: session.id,
            flow: session.flow,
            bearer: session.bearer,
            started: false,
            finished: None,
            sent: Vec::new(),
            received: Vec::new(),
        }
    }

    /// Counts the step. Call once its transaction has committed.
    pub fn count(&self) {
        if self.started {
            count_started(self.flow, self.bearer);
        }
        self.received.iter().for_each(count_reverse);
        self.sent.iter().for_each(count_forward);
        if let Some((outcome, started_at)) = &self.finished {
            count_finished(self.flow, self.bearer, outcome, *started_at);
        }
    }
}

/// Counts a session start.
pub(crate) fn count_started(flow: Flow, bearer: Bearer) {
    metrics::counter!(names::SESSIONS_STARTED, "flow" => flow.as_str(), "bearer" => bearer.as_str())
        .increment(1);
}

/// Counts a session end and its duration. Call after the transaction committed.
pub(crate) fn count_finished(
    flow: Flow,
    bearer: Bearer,
    outcome: &Outcome,
    started_at: DateTime<Utc>,
) {
    let (outcome, cause) = labels(outcome);
    metrics::counter!(
        names::SESSIONS_COMPLETED,
        "flow" => flow.as_str(),
        "bearer" => bearer.as_str(),
        "outcome" => outcome,
        "cause" => cause
    )
    .increment(1);
    let seconds = (Utc::now() - started_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
    metrics::histogram!(
        names::SESSION_DURATION,
        "flow" => flow.as_str(),
        "bearer" => bearer.as_str(),
        "outcome" => outcome
    )
    .record(seconds.max(0.0));
}

/// Counts a forward IS-683 message.
pub(crate) fn count_forward(message: &ForwardMessage) {
    metrics::counter!(
        names::IS683_MESSAGES,
        "message" => message.message_type().name(),
        "direction" => "fwd",
        "result" => "none"
    )
    .increment(1);
}

/// Counts a reverse IS-683 message with its (first non-zero, else zero) result code.
pub(crate) fn count_reverse(message: &ReverseMessage) {
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
pub(crate) fn reverse_result(message: &ReverseMessage) -> Option<u8> {
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
