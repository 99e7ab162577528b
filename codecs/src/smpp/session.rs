//! One SMPP session (one TCP connection), either end, without I/O.
//!
//! States, as SMPP 3.4 §2.2 names them, plus the two waits of this end:
//!
//! ```text
//!   client:  Binding --bind_resp ESME_ROK--> Bound --unbind()--> Unbinding --unbind_resp--> Closed
//!               `--refused, timed out--> Closed      `--peer's unbind, link dead, lost--> Closed
//!   server:  Open --bind, answer_bind(ESME_ROK)--> Bound --...as above
//! ```
//!
//! Inputs carry the time: [`Session::handle_data`] (octets from the peer),
//! [`Session::handle_timeout`] (when [`Session::poll_timeout`] said), the application's requests
//! ([`Session::submit`], [`Session::deliver`], [`Session::unbind`]) and answers
//! ([`Session::answer_bind`], [`Session::respond_submit_sm`], [`Session::respond_deliver_sm`]).
//! Outputs are polled: [`Session::poll_transmit`] (octets for the peer),
//! [`Session::poll_timeout`] and [`Session::poll_event`] ([`Event`]).
//!
//! What the session does by itself, in both roles:
//!
//! - **Window.** Requests the application sends (submit_sm as a client, deliver_sm as a server)
//!   are in flight until their response, correlated by sequence number ([`super::window`]); at
//!   most [`Config::window`] at once (halved under congestion, below). A request not answered
//!   within [`Config::response_timeout`] is reported [`Unanswered::TimedOut`]; its response,
//!   should it come after all, is dropped and counted ([`Stats::late_responses`]), so a request
//!   has one outcome. Requests still in flight when the session closes are reported
//!   [`Unanswered::Closed`].
//! - **Rate and pauses.** A token bucket of [`Config::max_rate_per_sec`] and, after an answer
//!   asking to slow down (ESME_RTHROTTLED, ESME_RMSGQFUL), a pause of 20 ms doubling up to 1 s
//!   while the answers keep asking ([`super::pace`]). [`Session::submit_ready`] says when the
//!   next submit_sm may leave.
//! - **Congestion (SMPP 5.0 binds).** The peer's congestion_state is read from every response
//!   that carries it (`submit_sm_resp`, `enquire_link_resp`, `generic_nack`, `unbind_resp`, ...)
//!   and the session paces itself by [`super::congestion::Pace`]: from 90 half the rate and
//!   window, at 100 also a pause after each such answer, below 80 the configured pace again;
//!   after [`super::congestion::FORGET_AFTER`] without a report the configured pace again.
//!   A server reports its own with [`Session::set_reported_congestion`].
//! - **Link check.** With [`Config::enquire_link_interval`], an enquire_link every interval;
//!   after two unanswered the link is dead ([`CloseReason::LinkDead`]). The peer's
//!   enquire_link is answered in any state, its unbind answered and the session closed.
//! - **Bad input.** A request whose body does not decode gets generic_nack ESME_RINVCMDLEN; an
//!   unknown or unserved request generic_nack ESME_RINVCMDID (ESME_RINVBNDSTS before a bind);
//!   submit_sm on a bind that may not submit, or before a bind, its submit_sm_resp with
//!   ESME_RINVBNDSTS (deliver_sm likewise); a second bind ESME_RALYBND. A stream that cannot be
//!   framed closes the session ([`CloseReason::Framing`]). Responses are never answered.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rusmpp_core::command::owned::Command;
use rusmpp_core::pdus::owned::{
    BindReceiver, BindReceiverResp, BindTransceiver, BindTransceiverResp, BindTransmitter,
    BindTransmitterResp, DeliverSm, DeliverSmResp, Pdu, SubmitSm, SubmitSmResp,
};
use rusmpp_core::tlvs::owned::MessageSubmissionResponseTlvValue;
use rusmpp_core::tlvs::TlvTag;
use rusmpp_core::types::owned::{AnyOctetString, COctetString};
use rusmpp_core::values::{InterfaceVersion, Npi, Ton};
use rusmpp_core::{CommandId, CommandStatus};

use super::congestion::{self, Pace, CONGESTION_STATE_TAG};
use super::event::{BindKind, BindRequest, CloseReason, Event, Outcome, SessionError, Unanswered};
use super::frame::{self, Frame, Framer};
use super::pace::{Throttle, TokenBucket};
use super::status::{self, ESME_RALYBND, ESME_RINVBNDSTS, ESME_RINVCMDID, ESME_RINVCMDLEN};
use super::version::{negotiated_version, SMPP_5_0};
use super::window::Window;

#[cfg(test)]
mod tests;

/// How long an unbind waits for its unbind_resp by default.
pub const UNBIND_TIMEOUT: Duration = Duration::from_secs(1);

/// Settings of a session. A duration too long to add to an instant means "never".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Most requests of the application in flight at once (at least 1).
    pub window: usize,
    /// Most submit_sm a second (None: no limit).
    pub max_rate_per_sec: Option<u32>,
    /// How long a request (and a client's bind) waits for its response (None: for ever).
    pub response_timeout: Option<Duration>,
    /// Interval between enquire_links once bound (None: none are sent).
    pub enquire_link_interval: Option<Duration>,
    /// How long an unbind waits for its unbind_resp.
    pub unbind_timeout: Duration,
    /// The largest PDU accepted from the peer.
    pub max_pdu_len: usize,
}

impl Default for Config {
    /// Window 10, no rate limit, 10 s response timeout, no enquire_link, 1 s for an unbind,
    /// PDUs up to 8192 octets.
    fn default() -> Self {
        Self {
            window: 10,
            max_rate_per_sec: None,
            response_timeout: Some(Duration::from_secs(10)),
            enquire_link_interval: None,
            unbind_timeout: UNBIND_TIMEOUT,
            max_pdu_len: frame::MAX_PDU_LEN,
        }
    }
}

impl Config {
    /// A server's usual settings: no window limit, no timeouts, no enquire_link.
    pub fn server() -> Self {
        Self {
            window: usize::MAX,
            response_timeout: None,
            ..Self::default()
        }
    }
}

/// Which end of the session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The ESME: binds, submits, receives deliver_sm.
    Client,
    /// The SMSC (MC): answers binds, receives submit_sm, delivers.
    Server,
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connected, not bound (a server waits for a bind).
    Open,
    /// Client: the bind is sent, its response awaited.
    Binding,
    /// Bound, so.
    Bound(BindKind),
    /// This end sent unbind and awaits its unbind_resp.
    Unbinding,
    /// Over.
    Closed,
}

/// When the next submit_sm may leave ([`Session::submit_ready`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Now.
    Now,
    /// At that time (the rate, or a pause), if nothing changes meanwhile.
    At(Instant),
    /// Not until something happens: not bound so as to submit, or the window is full.
    No,
}

/// Counters of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Responses to requests that had already timed out (dropped).
    pub late_responses: u64,
    /// Responses matching no request of this session (dropped).
    pub unexpected_responses: u64,
    /// generic_nack sent.
    pub generic_nacks_sent: u64,
    /// Responses sent with this end's congestion_state.
    pub congestion_states_sent: u64,
}

/// A request of the peer awaiting the application's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Bind(BindKind, u8),
    SubmitSm,
    DeliverSm,
}

/// One SMPP session (see the module documentation).
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: Config,
    state: State,
    framer: Framer,
    out: Vec<u8>,
    events: VecDeque<Event>,
    window: Window,
    /// The version offered (client, binding), then the version the bind runs (0 unbound).
    version: u8,
    /// Client: the bind's sequence number and kind.
    bind: Option<(u32, BindKind)>,
    deadline: Option<Instant>,
    /// Requests of the peer the application has still to answer.
    awaiting: HashMap<u32, Awaiting>,
    /// Server: the system_id it answered the last bind with.
    server_system_id: String,
    bucket: Option<TokenBucket>,
    throttle: Throttle,
    pace: Pace,
    last_report: Option<Instant>,
    reported: Option<u8>,
    next_enquire: Option<Instant>,
    unanswered_enquires: u32,
    stats: Stats,
}

fn c_string<const MIN: usize, const MAX: usize>(
    s: &str,
    what: &'static str,
) -> Result<COctetString<MIN, MAX>, SessionError> {
    COctetString::from_string(s.to_string()).map_err(|_| SessionError::Field(what))
}

impl Session {
    fn new(role: Role, config: Config) -> Self {
        Self {
            role,
            framer: Framer::with_max_pdu_len(config.max_pdu_len),
            config,
            state: State::Open,
            out: Vec::new(),
            events: VecDeque::new(),
            window: Window::new(),
            version: 0,
            bind: None,
            deadline: None,
            awaiting: HashMap::new(),
            server_system_id: String::new(),
            bucket: None,
            throttle: Throttle::new(),
            pace: Pace::Full,
            last_report: None,
            reported: None,
            next_enquire: None,
            unanswered_enquires: 0,
            stats: Stats::default(),
        }
    }

    /// A client session that binds with `bind` at once (the bind is the first thing
    /// [`Session::poll_transmit`] gives).
    pub fn client(config: Config, bind: &BindRequest, now: Instant) -> Result<Self, SessionError> {
        let mut s = Self::new(Role::Client, config);
        let system_id = c_string(&bind.system_id, "system_id")?;
        let password = c_string(&bind.password, "password")?;
        let system_type = c_string(&bind.system_type, "system_type")?;
        let version = InterfaceVersion::from(bind.interface_version);
        let range = COctetString::empty();
        let pdu: Pdu = match bind.kind {
            BindKind::Transceiver => BindTransceiver::new(
                system_id,
                password,
                system_type,
                version,
                Ton::Unknown,
                Npi::Unknown,
                range,
            )
            .into(),
            BindKind::Transmitter => BindTransmitter::new(
                system_id,
                password,
                system_type,
                version,
                Ton::Unknown,
                Npi::Unknown,
                range,
            )
            .into(),
            BindKind::Receiver => BindReceiver::new(
                system_id,
                password,
                system_type,
                version,
                Ton::Unknown,
                Npi::Unknown,
                range,
            )
            .into(),
        };
        let seq = s.window.next_sequence_number();
        s.send(CommandStatus::EsmeRok, seq, pdu);
        s.bind = Some((seq, bind.kind));
        s.version = bind.interface_version;
        s.state = State::Binding;
        s.deadline = s.config.response_timeout.and_then(|t| now.checked_add(t));
        Ok(s)
    }

    /// A server session waiting for a bind.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config)
    }

    /// Starts numbering this end's requests at `seq` (tests of the wrap at 0x7FFFFFFF).
    pub fn with_first_sequence_number(mut self, seq: u32) -> Self {
        self.window = Window::starting_at(seq);
        self
    }

    // ---- what the application reads ----

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }

    /// Octets of a PDU received in part (not yet complete): a shell gives them a read timeout.
    pub fn partial_pdu(&self) -> usize {
        self.framer.buffered()
    }

    /// Whether the session is over (what is left in [`Session::poll_transmit`] still goes).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The interface_version the bind runs (0x34, 0x50), while bound.
    pub fn version(&self) -> Option<u8> {
        match self.state {
            State::Bound(_) | State::Unbinding => Some(self.version),
            _ => None,
        }
    }

    /// Requests of the application in flight.
    pub fn in_flight(&self) -> usize {
        self.window.len()
    }

    /// The window at the present pace.
    pub fn window_size(&self) -> usize {
        self.pace.window(self.config.window.max(1))
    }

    /// The pace the peer's congestion_state set.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// The length of the last pause after an answer asking to slow down.
    pub fn throttle_pause(&self) -> Duration {
        self.throttle.pause()
    }

    /// The session's counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    // ---- outputs ----

    /// The octets to send to the peer, all that are waiting, in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.out))
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] is next due (None: nothing timed).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut at = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        match self.state {
            State::Closed => return None,
            State::Binding | State::Unbinding => at(self.deadline),
            State::Bound(_) => at(self.next_enquire),
            State::Open => {}
        }
        at(self.window.next_deadline());
        at(self
            .last_report
            .and_then(|t| t.checked_add(congestion::FORGET_AFTER)));
        next
    }

    /// When the next submit_sm may leave (see [`Ready`]).
    pub fn submit_ready(&mut self, now: Instant) -> Ready {
        match self.state {
            State::Bound(kind) if kind.transmits() && self.role == Role::Client => {}
            _ => return Ready::No,
        }
        if self.window.len() >= self.window_size() {
            return Ready::No;
        }
        let mut at = self.bucket.as_mut().map_or(now, |b| b.ready_at(now));
        if let Some(until) = self.throttle.paused_until() {
            at = at.max(until);
        }
        if at <= now {
            Ready::Now
        } else {
            Ready::At(at)
        }
    }

    // ---- inputs ----

    /// Octets from the peer.
    pub fn handle_data(&mut self, now: Instant, data: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.framer.push(data);
        while !self.is_closed() {
            match self.framer.next_frame() {
                Ok(Some(frame)) => self.on_frame(now, frame),
                Ok(None) => break,
                Err(e) => self.close(CloseReason::Framing(e)),
            }
        }
    }

    /// Time has come ([`Session::poll_timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        match self.state {
            State::Closed => return,
            State::Binding if due(self.deadline) => {
                return self.close(CloseReason::BindTimedOut);
            }
            State::Unbinding if due(self.deadline) => return self.close(CloseReason::Unbound),
            _ => {}
        }
        while let Some((_, f)) = self.window.pop_expired(now) {
            self.events.push_back(Event::Outcome {
                id: f.id,
                outcome: Outcome::Unanswered(Unanswered::TimedOut),
            });
        }
        if let Some(at) = self.last_report {
            if congestion::forgotten(now.saturating_duration_since(at)) {
                self.last_report = None;
                let previous = self.pace;
                self.set_pace(Pace::Full, now);
                self.events
                    .push_back(Event::CongestionForgotten { previous });
            }
        }
        if let (State::Bound(_), Some(at)) = (self.state, self.next_enquire) {
            if at <= now {
                if self.unanswered_enquires >= 2 {
                    return self.close(CloseReason::LinkDead);
                }
                self.unanswered_enquires += 1;
                let seq = self.window.next_sequence_number();
                self.send(CommandStatus::EsmeRok, seq, Pdu::EnquireLink);
                self.next_enquire = self
                    .config
                    .enquire_link_interval
                    .and_then(|i| now.checked_add(i));
            }
        }
    }

    /// The connection is gone: the session closes ([`CloseReason::ConnectionLost`]).
    pub fn connection_lost(&mut self) {
        if !self.is_closed() {
            self.close(CloseReason::ConnectionLost);
        }
    }

    /// Closes the session without an unbind ([`CloseReason::Closed`]).
    pub fn close_now(&mut self) {
        if !self.is_closed() {
            self.close(CloseReason::Closed);
        }
    }

    /// Unbinds: sends unbind and closes on its unbind_resp, or after
    /// [`Config::unbind_timeout`]. A session not bound closes at once.
    pub fn unbind(&mut self, now: Instant) {
        match self.state {
            State::Bound(_) => {
                let seq = self.window.next_sequence_number();
                self.send(CommandStatus::EsmeRok, seq, Pdu::Unbind);
                self.state = State::Unbinding;
                self.deadline = now.checked_add(self.config.unbind_timeout);
            }
            State::Closed | State::Unbinding => {}
            State::Open | State::Binding => self.close(CloseReason::Unbound),
        }
    }

    /// Client: sends `sm` as request `id`; returns its sequence number. Only when
    /// [`Session::submit_ready`] says [`Ready::Now`].
    pub fn submit(&mut self, now: Instant, id: u64, sm: SubmitSm) -> Result<u32, SessionError> {
        if self.role != Role::Client {
            return Err(SessionError::WrongRole);
        }
        match self.submit_ready(now) {
            Ready::Now => {}
            Ready::At(_) => return Err(SessionError::NotReady),
            Ready::No if matches!(self.state, State::Bound(k) if k.transmits()) => {
                return Err(SessionError::NotReady)
            }
            Ready::No => return Err(SessionError::NotBound),
        }
        if let Some(b) = self.bucket.as_mut() {
            b.take(now);
        }
        Ok(self.send_request(now, id, sm.into()))
    }

    /// Server: sends `sm` as request `id` on a bind that receives; returns its sequence
    /// number. The window applies; the rate and pauses do not.
    pub fn deliver(&mut self, now: Instant, id: u64, sm: DeliverSm) -> Result<u32, SessionError> {
        if self.role != Role::Server {
            return Err(SessionError::WrongRole);
        }
        match self.state {
            State::Bound(kind) if kind.receives() => {}
            _ => return Err(SessionError::NotBound),
        }
        if self.window.len() >= self.window_size() {
            return Err(SessionError::NotReady);
        }
        Ok(self.send_request(now, id, sm.into()))
    }

    /// Server: answers the bind request `sequence_number` with `status`; ESME_ROK binds the
    /// session, running the lower of the offered version and `sc_interface_version` (also sent
    /// in the response). Another status leaves it unbound (close it, or wait for another bind).
    pub fn answer_bind(
        &mut self,
        sequence_number: u32,
        status: u32,
        system_id: &str,
        sc_interface_version: Option<u8>,
    ) -> Result<(), SessionError> {
        if self.role != Role::Server {
            return Err(SessionError::WrongRole);
        }
        let Some(Awaiting::Bind(kind, offered)) = self.awaiting.get(&sequence_number).copied()
        else {
            return Err(SessionError::NotPending(sequence_number));
        };
        let name: COctetString<1, 16> = c_string(system_id, "system_id")?;
        self.awaiting.remove(&sequence_number);
        self.server_system_id = system_id.to_string();
        let sc = sc_interface_version.map(InterfaceVersion::from);
        self.send_bind_resp(kind, status, sequence_number, name, sc);
        if status == status::ESME_ROK && self.state == State::Open {
            self.version = negotiated_version(offered, sc_interface_version);
            self.state = State::Bound(kind);
        }
        Ok(())
    }

    /// Server: answers the submit_sm `sequence_number` with `status` and `message_id` (with
    /// this end's congestion_state on a 5.0 bind, [`Session::set_reported_congestion`]).
    pub fn respond_submit_sm(
        &mut self,
        sequence_number: u32,
        status: u32,
        message_id: &str,
    ) -> Result<(), SessionError> {
        match self.awaiting.get(&sequence_number) {
            Some(Awaiting::SubmitSm) => {}
            _ => return Err(SessionError::NotPending(sequence_number)),
        }
        let id: COctetString<1, 65> = c_string(message_id, "message_id")?;
        self.awaiting.remove(&sequence_number);
        let tlvs = match self.congestion_to_report() {
            Some(state) => vec![MessageSubmissionResponseTlvValue::Other {
                tag: TlvTag::CongestionState,
                value: AnyOctetString::from_slice(&[state]),
            }],
            None => Vec::new(),
        };
        self.send(
            CommandStatus::from(status),
            sequence_number,
            SubmitSmResp::new(id, tlvs),
        );
        Ok(())
    }

    /// Client: answers the deliver_sm `sequence_number` with `status` (ESME_ROK: taken;
    /// ESME_RX_T_APPN: send it again later).
    pub fn respond_deliver_sm(
        &mut self,
        sequence_number: u32,
        status: u32,
    ) -> Result<(), SessionError> {
        match self.awaiting.get(&sequence_number) {
            Some(Awaiting::DeliverSm) => {}
            _ => return Err(SessionError::NotPending(sequence_number)),
        }
        self.awaiting.remove(&sequence_number);
        self.send(
            CommandStatus::from(status),
            sequence_number,
            DeliverSmResp::new(COctetString::empty(), Vec::new()),
        );
        Ok(())
    }

    /// Server: the congestion_state this end reports (SMPP 5.0 §4.8.4.19) from now on, on
    /// every submit_sm_resp and enquire_link_resp of a bind that runs 5.0 (None: none).
    pub fn set_reported_congestion(&mut self, state: Option<u8>) {
        self.reported = state;
    }

    // ---- the machine ----

    fn congestion_to_report(&mut self) -> Option<u8> {
        let state = self.reported.filter(|_| self.version >= SMPP_5_0)?;
        if !matches!(self.state, State::Bound(_) | State::Unbinding) {
            return None;
        }
        self.stats.congestion_states_sent += 1;
        Some(state)
    }

    fn send(&mut self, status: CommandStatus, seq: u32, pdu: impl Into<Pdu>) {
        frame::encode(&Command::new(status, seq, pdu), &mut self.out);
    }

    fn send_request(&mut self, now: Instant, id: u64, pdu: Pdu) -> u32 {
        let seq = self.window.next_sequence_number();
        let deadline = self
            .config
            .response_timeout
            .and_then(|t| now.checked_add(t));
        self.window.insert(seq, id, now, deadline);
        self.send(CommandStatus::EsmeRok, seq, pdu);
        seq
    }

    fn nack(&mut self, seq: u32, status: u32) {
        self.stats.generic_nacks_sent += 1;
        self.send(CommandStatus::from(status), seq, Pdu::GenericNack);
    }

    fn send_bind_resp(
        &mut self,
        kind: BindKind,
        status: u32,
        seq: u32,
        name: COctetString<1, 16>,
        sc: Option<InterfaceVersion>,
    ) {
        let status = CommandStatus::from(status);
        match kind {
            BindKind::Transceiver => self.send(status, seq, BindTransceiverResp::new(name, sc)),
            BindKind::Transmitter => self.send(status, seq, BindTransmitterResp::new(name, sc)),
            BindKind::Receiver => self.send(status, seq, BindReceiverResp::new(name, sc)),
        }
    }

    fn bound(&self) -> Option<BindKind> {
        match self.state {
            State::Bound(kind) => Some(kind),
            _ => None,
        }
    }

    fn close(&mut self, reason: CloseReason) {
        for (_, f) in self.window.drain() {
            self.events.push_back(Event::Outcome {
                id: f.id,
                outcome: Outcome::Unanswered(Unanswered::Closed(reason.clone())),
            });
        }
        self.awaiting.clear();
        self.state = State::Closed;
        self.version = 0;
        self.deadline = None;
        self.next_enquire = None;
        self.last_report = None;
        self.events.push_back(Event::Closed(reason));
    }

    fn set_pace(&mut self, pace: Pace, now: Instant) {
        if pace != self.pace {
            self.pace = pace;
            if let (Some(b), Some(rate)) = (self.bucket.as_mut(), self.config.max_rate_per_sec) {
                b.set_rate(pace.rate(rate), now);
            }
        }
    }

    fn on_frame(&mut self, now: Instant, frame: Frame) {
        if frame.header.is_response() {
            self.on_response(now, frame);
        } else {
            self.on_request(frame);
        }
    }

    /// The congestion_state a response carries, on a bind running 5.0.
    fn congestion_in(&self, frame: &Frame) -> Option<u8> {
        if !matches!(self.state, State::Bound(_) | State::Unbinding) {
            return None;
        }
        match &frame.pdu {
            Ok(Pdu::SubmitSmResp(r)) => congestion::reported(self.version, r.tlvs()),
            Ok(Pdu::DeliverSmResp(r)) => congestion::reported(self.version, r.tlvs()),
            _ => congestion::reported_in_body(self.version, &frame.rest),
        }
    }

    /// The peer reported `state`; true when the answer says congested (the session pauses).
    fn on_congestion(&mut self, now: Instant, state: u8) -> bool {
        self.last_report = Some(now);
        let previous = self.pace;
        let pace = previous.after_report(state);
        self.set_pace(pace, now);
        self.events.push_back(Event::Congestion {
            state,
            pace,
            previous,
        });
        if pace.backs_off() {
            self.throttle.slow_down(now);
        }
        pace.backs_off()
    }

    fn on_response(&mut self, now: Instant, frame: Frame) {
        let h = frame.header;
        let seq = h.sequence_number;
        let congested = match self.congestion_in(&frame) {
            Some(state) => self.on_congestion(now, state),
            None => false,
        };
        let bind_seq = self.bind.map(|(s, _)| s);
        match h.command_id {
            CommandId::BindTransceiverResp
            | CommandId::BindTransmitterResp
            | CommandId::BindReceiverResp
            | CommandId::GenericNack
                if self.state == State::Binding && bind_seq == Some(seq) =>
            {
                self.on_bind_resp(now, &frame)
            }
            CommandId::EnquireLinkResp => self.unanswered_enquires = 0,
            CommandId::UnbindResp => {
                if self.state == State::Unbinding {
                    self.close(CloseReason::Unbound);
                }
            }
            _ => match self.window.answer(seq) {
                Some(f) => {
                    let message_id = match &frame.pdu {
                        Ok(Pdu::SubmitSmResp(r)) => r.message_id().as_str().to_string(),
                        Ok(Pdu::DeliverSmResp(r)) => r.message_id().as_str().to_string(),
                        _ => String::new(),
                    };
                    let outcome = Outcome::of_response(h.command_status, message_id);
                    match outcome {
                        Outcome::SlowDown { .. } => self.throttle.slow_down(now),
                        _ if !congested => self.throttle.reset(),
                        _ => {}
                    }
                    self.events.push_back(Event::Outcome { id: f.id, outcome });
                }
                None if self.window.was_timed_out(seq) => self.stats.late_responses += 1,
                None => self.stats.unexpected_responses += 1,
            },
        }
    }

    fn on_bind_resp(&mut self, now: Instant, frame: &Frame) {
        let status = frame.header.command_status;
        let sc = match &frame.pdu {
            Ok(Pdu::BindTransceiverResp(r)) => Some(r.sc_interface_version()),
            Ok(Pdu::BindTransmitterResp(r)) => Some(r.sc_interface_version()),
            Ok(Pdu::BindReceiverResp(r)) => Some(r.sc_interface_version()),
            _ => None,
        };
        let (Some(sc), Some((_, kind)), status::ESME_ROK) = (sc, self.bind, status) else {
            return self.close(CloseReason::BindRefused { status });
        };
        self.version = negotiated_version(self.version, sc.map(u8::from));
        self.state = State::Bound(kind);
        self.deadline = None;
        self.bucket = self
            .config
            .max_rate_per_sec
            .map(|rate| TokenBucket::new(rate, now));
        self.next_enquire = self
            .config
            .enquire_link_interval
            .and_then(|i| now.checked_add(i));
        self.events.push_back(Event::Bound {
            version: self.version,
        });
    }

    fn on_request(&mut self, frame: Frame) {
        let seq = frame.header.sequence_number;
        let not_bound = if self.bound().is_some() {
            ESME_RINVCMDID
        } else {
            ESME_RINVBNDSTS
        };
        let pdu = match frame.pdu {
            Ok(pdu) => pdu,
            Err(_) => return self.nack(seq, ESME_RINVCMDLEN),
        };
        match (self.role, pdu) {
            (_, Pdu::EnquireLink) => match self.congestion_to_report() {
                Some(state) => {
                    let [t0, t1] = CONGESTION_STATE_TAG.to_be_bytes();
                    frame::encode_raw(
                        CommandId::EnquireLinkResp,
                        status::ESME_ROK,
                        seq,
                        &[t0, t1, 0, 1, state],
                        &mut self.out,
                    );
                }
                None => self.send(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp),
            },
            (_, Pdu::Unbind) => {
                self.send(CommandStatus::EsmeRok, seq, Pdu::UnbindResp);
                self.close(CloseReason::UnboundByPeer);
            }
            (Role::Server, Pdu::BindTransceiver(b)) => self.on_bind_request(
                seq,
                BindKind::Transceiver,
                (b.system_id, b.password, b.system_type, b.interface_version),
            ),
            (Role::Server, Pdu::BindTransmitter(b)) => self.on_bind_request(
                seq,
                BindKind::Transmitter,
                (b.system_id, b.password, b.system_type, b.interface_version),
            ),
            (Role::Server, Pdu::BindReceiver(b)) => self.on_bind_request(
                seq,
                BindKind::Receiver,
                (b.system_id, b.password, b.system_type, b.interface_version),
            ),
            (Role::Server, Pdu::SubmitSm(sm)) => match self.bound() {
                Some(kind) if kind.transmits() => {
                    self.awaiting.insert(seq, Awaiting::SubmitSm);
                    self.events.push_back(Event::SubmitSm {
                        sequence_number: seq,
                        pdu: Box::new(sm),
                    });
                }
                _ => self.send(
                    CommandStatus::EsmeRinvbndsts,
                    seq,
                    SubmitSmResp::new(COctetString::empty(), Vec::new()),
                ),
            },
            (Role::Client, Pdu::DeliverSm(sm)) => match self.bound() {
                Some(kind) if kind.receives() => {
                    self.awaiting.insert(seq, Awaiting::DeliverSm);
                    self.events.push_back(Event::DeliverSm {
                        sequence_number: seq,
                        pdu: Box::new(sm),
                    });
                }
                _ => self.send(
                    CommandStatus::EsmeRinvbndsts,
                    seq,
                    DeliverSmResp::new(COctetString::empty(), Vec::new()),
                ),
            },
            // SMPP defines no response to alert_notification.
            (_, Pdu::AlertNotification(_)) => {}
            _ => self.nack(seq, not_bound),
        }
    }

    fn on_bind_request(
        &mut self,
        seq: u32,
        kind: BindKind,
        (system_id, password, system_type, version): (
            COctetString<1, 16>,
            COctetString<1, 9>,
            COctetString<1, 13>,
            InterfaceVersion,
        ),
    ) {
        let pending = self
            .awaiting
            .values()
            .any(|a| matches!(a, Awaiting::Bind(..)));
        if self.state != State::Open || pending {
            let name = COctetString::from_string(self.server_system_id.clone())
                .unwrap_or_else(|_| COctetString::empty());
            return self.send_bind_resp(kind, ESME_RALYBND, seq, name, None);
        }
        let interface_version = u8::from(version);
        self.awaiting
            .insert(seq, Awaiting::Bind(kind, interface_version));
        self.events.push_back(Event::BindRequested {
            sequence_number: seq,
            request: BindRequest {
                kind,
                system_id: system_id.as_str().to_string(),
                password: password.as_str().to_string(),
                system_type: system_type.as_str().to_string(),
                interface_version,
            },
        });
    }
}
