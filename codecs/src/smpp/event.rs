//! What a [`super::Session`] reports to its application, and the words both use: bind kinds,
//! bind requests, outcomes of requests, why a session closed, errors of the application's calls.

use rusmpp_core::pdus::owned::{DeliverSm, SubmitSm};
use thiserror::Error;

use super::congestion::Pace;
use super::frame::FrameError;
use super::status;

/// How a session is bound (SMPP 3.4 §2.2): which way messages may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindKind {
    /// bind_transmitter: the ESME submits.
    Transmitter,
    /// bind_receiver: the SMSC delivers.
    Receiver,
    /// bind_transceiver: both.
    Transceiver,
}

impl BindKind {
    /// Whether the ESME may submit (submit_sm) on such a bind.
    pub fn transmits(self) -> bool {
        self != Self::Receiver
    }

    /// Whether the SMSC may deliver (deliver_sm) on such a bind.
    pub fn receives(self) -> bool {
        self != Self::Transmitter
    }

    /// The name in logs: "transmitter", "receiver", "transceiver".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transmitter => "transmitter",
            Self::Receiver => "receiver",
            Self::Transceiver => "transceiver",
        }
    }
}

/// A bind request: what a client sends, what a server is asked.
#[derive(Clone, PartialEq, Eq)]
pub struct BindRequest {
    /// bind_transmitter, bind_receiver or bind_transceiver.
    pub kind: BindKind,
    /// system_id (at most 15 characters).
    pub system_id: String,
    /// password (at most 8 characters).
    pub password: String,
    /// system_type (at most 12 characters).
    pub system_type: String,
    /// interface_version offered (0x34, 0x50).
    pub interface_version: u8,
}

impl std::fmt::Debug for BindRequest {
    /// The password is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindRequest")
            .field("kind", &self.kind)
            .field("system_id", &self.system_id)
            .field("password", &"<redacted>")
            .field("system_type", &self.system_type)
            .field("interface_version", &self.interface_version)
            .finish()
    }
}

/// What became of a request the application sent (submit_sm, deliver_sm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answered ESME_ROK, with this message_id (empty when the response had none, as a
    /// deliver_sm_resp has).
    Accepted {
        /// The message_id of the response.
        message_id: String,
    },
    /// Answered ESME_RTHROTTLED or ESME_RMSGQFUL: the peer asks to slow down; the message is
    /// fine. The session pauses ([`super::pace::Throttle`]).
    SlowDown {
        /// The command_status.
        status: u32,
    },
    /// Answered with a status worth trying again later ([`status::StatusClass::Transient`]).
    Transient {
        /// The command_status.
        status: u32,
    },
    /// Answered with a status that will not change ([`status::StatusClass::Permanent`]).
    Permanent {
        /// The command_status.
        status: u32,
    },
    /// Sent, and no answer came: the request may or may not have been taken.
    Unanswered(Unanswered),
}

impl Outcome {
    /// The outcome of a response with `status` and `message_id`.
    pub fn of_response(status: u32, message_id: String) -> Self {
        match status::classify(status) {
            status::StatusClass::Ok => Self::Accepted { message_id },
            status::StatusClass::SlowDown => Self::SlowDown { status },
            status::StatusClass::Transient => Self::Transient { status },
            status::StatusClass::Permanent => Self::Permanent { status },
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unanswered {
    /// Its response did not come within the response timeout. A response coming later is
    /// dropped ([`super::Stats::late_responses`]).
    TimedOut,
    /// The session closed with it in flight.
    Closed(CloseReason),
}

/// Why a session closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CloseReason {
    /// The peer refused the bind with this command_status (a generic_nack included).
    #[error("bind refused: {}", status::name(*status))]
    BindRefused {
        /// The command_status.
        status: u32,
    },
    /// No answer to the bind within the response timeout.
    #[error("timed out waiting for the bind response")]
    BindTimedOut,
    /// The peer unbound (answered with unbind_resp).
    #[error("the peer unbound")]
    UnboundByPeer,
    /// The application unbound (the peer answered, or did not in time).
    #[error("unbound")]
    Unbound,
    /// Two enquire_link in a row went unanswered.
    #[error("timed out waiting for enquire_link_resp")]
    LinkDead,
    /// The application said the connection is gone.
    #[error("the connection was lost")]
    ConnectionLost,
    /// The application closed the session without an unbind.
    #[error("closed")]
    Closed,
    /// The peer's stream cannot be followed.
    #[error("SMPP framing: {0}")]
    Framing(FrameError),
}

/// What a session reports to its application ([`super::Session::poll_event`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Client: the bind was accepted; the session runs `version`.
    Bound {
        /// The negotiated interface_version.
        version: u8,
    },
    /// Server: a peer asks to bind. Answer with [`super::Session::answer_bind`].
    BindRequested {
        /// The request's sequence_number.
        sequence_number: u32,
        /// What it asked.
        request: BindRequest,
    },
    /// Server: a submit_sm on a bind that may submit. Answer with
    /// [`super::Session::respond_submit_sm`] (now or later, or never to withhold it).
    SubmitSm {
        /// Its sequence_number.
        sequence_number: u32,
        /// The PDU.
        pdu: Box<SubmitSm>,
    },
    /// Client: a deliver_sm on a bind that may receive. Answer with
    /// [`super::Session::respond_deliver_sm`] (now or later).
    DeliverSm {
        /// Its sequence_number.
        sequence_number: u32,
        /// The PDU.
        pdu: Box<DeliverSm>,
    },
    /// What became of the application's request `id`.
    Outcome {
        /// The id the application gave it.
        id: u64,
        /// What became of it.
        outcome: Outcome,
    },
    /// The peer reported its congestion_state (SMPP 5.0 binds only); the session now runs at
    /// `pace`.
    Congestion {
        /// The congestion_state (0-100).
        state: u8,
        /// The pace from now on.
        pace: Pace,
        /// The pace before.
        previous: Pace,
    },
    /// The peer reported no congestion_state for [`super::congestion::FORGET_AFTER`]: what it
    /// last said is forgotten and the session runs at its configured pace.
    CongestionForgotten {
        /// The pace before.
        previous: Pace,
    },
    /// The session is closed; this is its last event. What is left to transmit (an
    /// unbind_resp, say) is still to be sent.
    Closed(CloseReason),
}

/// Why the session refused a call of the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SessionError {
    /// The session is not bound so as to send that.
    #[error("the session is not bound for this")]
    NotBound,
    /// The window is full, or the rate or a pause says not yet ([`super::Session::submit_ready`]).
    #[error("not ready to send: window full, rate limit or pause")]
    NotReady,
    /// No request with that sequence_number waits for the application's answer.
    #[error("no request with sequence_number {0} waits for an answer")]
    NotPending(u32),
    /// The call belongs to the other role (a client answering a bind, say).
    #[error("not a call for this role")]
    WrongRole,
    /// A value does not fit its SMPP field.
    #[error("{0} does not fit its SMPP field")]
    Field(&'static str),
}
