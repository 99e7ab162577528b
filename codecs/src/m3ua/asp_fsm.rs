//! The ASP side of one M3UA association (RFC 4666 section 4.3), as a state machine without I/O.
//!
//! [`Asp`] is driven the way quinn-proto drives a QUIC connection: every input carries the
//! time (`now`), and everything the machine wants done is polled from it. Time is an argument,
//! never read from a clock, so each path, fault included, is a unit test without a socket.
//!
//! | input | what the machine does |
//! |---|---|
//! | [`Asp::connect`] (the transport is up) | ASPUP; T(ack) armed |
//! | ASPUP ACK | ASP-INACTIVE; ASPAC (traffic mode, routing context); T(ack) armed |
//! | ASPAC ACK | ASP-ACTIVE; BEAT timer armed when heartbeats are on |
//! | ERR while ASPUP or ASPAC waits for its ACK | [`Failure::Refused`]: the association is lost (ASP-DOWN) |
//! | T(ack) runs out | [`Failure::AckTimeout`]: lost |
//! | BEAT timer | BEAT (Heartbeat Data = a sequence number); after [`Config::max_unanswered_beats`] BEATs without BEAT ACK, [`Failure::HeartbeatLost`]: lost |
//! | BEAT (any state) | BEAT ACK with the same Heartbeat Data |
//! | BEAT ACK | the unanswered count starts again |
//! | DATA in ASP-ACTIVE | [`Event::Data`]; a Routing Context other than ours is answered with ERR Invalid Routing Context and discarded |
//! | DATA before ASP-ACTIVE | discarded silently ([`Event::Discarded`]), as RFC 4666 section 3.8.1 says an ASP does |
//! | DUNA / DAVA | [`Event::DestinationUnavailable`] / [`Event::DestinationAvailable`]; [`Asp::is_unavailable`] |
//! | NTFY | [`Event::Notify`] |
//! | ERR otherwise | [`Event::PeerError`] |
//! | [`Asp::send_data`] | DATA with our routing context, only in ASP-ACTIVE |
//! | [`Asp::deactivate`] / [`Asp::activate`] | ASPIA / ASPAC, each waiting for its ACK under T(ack) |
//! | [`Asp::close`] | ASPDN; ASP-DOWN on ASPDN ACK (or when T(ack) runs out) |
//! | [`Asp::transport_lost`] | ASP-DOWN at once |
//! | an undecodable message ([`Asp::handle_undecodable`]) | [`Failure::Undecodable`]: lost |
//!
//! Outputs: [`Asp::poll_transmit`] (messages to write, in order), [`Asp::poll_timeout`] (when
//! to call [`Asp::handle_timeout`]) and [`Asp::poll_event`] (state changes, DATA, destination
//! states, notifications, errors). After a [`Event::Lost`] the machine is ASP-DOWN and waits
//! for the next [`Asp::connect`] (a new transport association).

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use thiserror::Error;

use super::{
    error_code, AffectedPointCode, AspActive, AspDown, AspInactive, AspState, AspUp, Data,
    ErrorMessage, Heartbeat, M3uaError, Message, Notify, PointCode, ProtocolData, TrafficMode,
};

/// How the ASP presents itself and keeps its association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// ASP Identifier sent in ASPUP.
    pub asp_identifier: Option<u32>,
    /// Info String sent in ASPUP.
    pub info_string: Option<String>,
    /// Routing Context sent in ASPAC, ASPIA and DATA (and expected in DATA received).
    pub routing_context: Option<Vec<u32>>,
    /// Traffic Mode Type asked in ASPAC.
    pub traffic_mode: TrafficMode,
    /// T(ack): how long ASPUP, ASPAC, ASPIA and ASPDN wait for their ACK.
    pub ack_timeout: Duration,
    /// Interval between our BEATs once ASP-ACTIVE; `None`: no BEATs.
    pub heartbeat: Option<Duration>,
    /// BEATs that may be outstanding without a BEAT ACK; when the next BEAT is due with this
    /// many unanswered, the association is lost.
    pub max_unanswered_beats: u32,
}

impl Default for Config {
    /// Loadshare, no routing context, T(ack) 2 s, BEAT every 30 s, lost after 2 unanswered.
    fn default() -> Self {
        Self {
            asp_identifier: None,
            info_string: None,
            routing_context: None,
            traffic_mode: TrafficMode::Loadshare,
            ack_timeout: Duration::from_secs(2),
            heartbeat: Some(Duration::from_secs(30)),
            max_unanswered_beats: 2,
        }
    }
}

/// Why an association cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Failure {
    /// The SGP answered ASPUP or ASPAC with ERR.
    #[error("the peer refused {message} with ERR {error_code:#x}")]
    Refused {
        /// The message refused ("ASPUP", "ASPAC").
        message: &'static str,
        /// The ERR's Error Code.
        error_code: u32,
    },
    /// T(ack) ran out before the named ACK came.
    #[error("no {0} from the peer in time")]
    AckTimeout(&'static str),
    /// BEATs went unanswered.
    #[error("heartbeat lost")]
    HeartbeatLost,
    /// The peer sent a message that does not decode.
    #[error("undecodable M3UA message: {0}")]
    Undecodable(M3uaError),
}

/// What the machine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The ASP entered this state.
    StateChanged(AspState),
    /// DATA from the peer (ASP-ACTIVE only).
    Data(ProtocolData),
    /// DUNA: these destinations are unavailable.
    DestinationUnavailable(Vec<AffectedPointCode>),
    /// DAVA: these destinations are available again.
    DestinationAvailable(Vec<AffectedPointCode>),
    /// NTFY from the peer.
    Notify(Notify),
    /// ERR from the peer that does not end the association.
    PeerError(ErrorMessage),
    /// A message not expected in this state, discarded (its name).
    Discarded(&'static str),
    /// The association is lost (the machine is ASP-DOWN): drop the transport.
    Lost(Failure),
}

/// Why DATA could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the ASP is not ASP-ACTIVE")]
pub struct NotActive;

/// The ACK awaited (named as the RFC names the messages, hence the common prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
enum Awaiting {
    AspUpAck,
    AspAcAck,
    AspIaAck,
    AspDnAck,
}

impl Awaiting {
    fn name(self) -> &'static str {
        match self {
            Awaiting::AspUpAck => "ASPUP ACK",
            Awaiting::AspAcAck => "ASPAC ACK",
            Awaiting::AspIaAck => "ASPIA ACK",
            Awaiting::AspDnAck => "ASPDN ACK",
        }
    }
}

/// The ASP side of one association. See the module table.
#[derive(Debug, Clone)]
pub struct Asp {
    config: Config,
    state: AspState,
    awaiting: Option<(Awaiting, Instant)>,
    next_beat: Option<Instant>,
    unanswered: u32,
    beat_seq: u32,
    unavailable: BTreeSet<PointCode>,
    transmits: VecDeque<Message>,
    events: VecDeque<Event>,
}

impl Asp {
    /// A machine in ASP-DOWN, waiting for [`Asp::connect`].
    pub fn new(config: Config) -> Self {
        Self {
            config,
            state: AspState::Down,
            awaiting: None,
            next_beat: None,
            unanswered: 0,
            beat_seq: 0,
            unavailable: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The ASP's state.
    pub fn state(&self) -> AspState {
        self.state
    }

    /// Whether the SGP said `pc` is unavailable (DUNA, and no DAVA since) on this association.
    pub fn is_unavailable(&self, pc: PointCode) -> bool {
        self.unavailable.contains(&pc)
    }

    /// The transport association is up: starts over (forgets destination states and
    /// anything still queued) and sends ASPUP.
    pub fn connect(&mut self, now: Instant) {
        self.transmits.clear();
        self.unavailable.clear();
        self.set_state(AspState::Down);
        self.next_beat = None;
        self.unanswered = 0;
        self.transmit(Message::AspUp(AspUp {
            asp_identifier: self.config.asp_identifier,
            info_string: self.config.info_string.clone(),
            extra: Vec::new(),
        }));
        self.expect(Awaiting::AspUpAck, now);
    }

    /// Asks for ASP-ACTIVE again after [`Asp::deactivate`] (ASPAC). Ignored unless
    /// ASP-INACTIVE with nothing awaited.
    pub fn activate(&mut self, now: Instant) {
        if self.state == AspState::Inactive && self.awaiting.is_none() {
            self.send_aspac(now);
        }
    }

    /// Leaves ASP-ACTIVE (ASPIA); ASP-INACTIVE on ASPIA ACK. Ignored unless ASP-ACTIVE.
    pub fn deactivate(&mut self, now: Instant) {
        if self.state == AspState::Active && self.awaiting.is_none() {
            self.transmit(Message::AspIa(AspInactive {
                routing_context: self.config.routing_context.clone(),
                info_string: None,
                extra: Vec::new(),
            }));
            self.expect(Awaiting::AspIaAck, now);
        }
    }

    /// Takes the ASP down gracefully (ASPDN); ASP-DOWN on ASPDN ACK, or when T(ack) runs out.
    /// Nothing to do in ASP-DOWN with nothing awaited.
    pub fn close(&mut self, now: Instant) {
        if self.state == AspState::Down && self.awaiting.is_none() {
            return;
        }
        self.next_beat = None;
        self.transmit(Message::AspDn(AspDown::default()));
        self.expect(Awaiting::AspDnAck, now);
    }

    /// The transport association is gone: ASP-DOWN at once, nothing left to send.
    pub fn transport_lost(&mut self, _now: Instant) {
        self.stop();
    }

    /// Queues DATA for the peer, with our routing context. Only in ASP-ACTIVE.
    pub fn send_data(&mut self, protocol_data: ProtocolData) -> Result<(), NotActive> {
        if self.state != AspState::Active {
            return Err(NotActive);
        }
        self.transmit(Message::Data(Data {
            network_appearance: None,
            routing_context: self.config.routing_context.clone(),
            protocol_data,
            correlation_id: None,
            extra: Vec::new(),
        }));
        Ok(())
    }

    /// A message from the peer.
    pub fn handle_message(&mut self, now: Instant, message: Message) {
        match message {
            Message::Beat(hb) => self.transmit(Message::BeatAck(hb)),
            Message::BeatAck(_) => self.unanswered = 0,
            Message::AspUpAck(_) if self.is_awaiting(Awaiting::AspUpAck) => {
                self.set_state(AspState::Inactive);
                self.send_aspac(now);
            }
            Message::AspAcAck(_) if self.is_awaiting(Awaiting::AspAcAck) => {
                self.awaiting = None;
                self.set_state(AspState::Active);
                self.unanswered = 0;
                self.next_beat = self.config.heartbeat.map(|h| now + h);
            }
            Message::AspIaAck(_) if self.is_awaiting(Awaiting::AspIaAck) => {
                self.awaiting = None;
                self.next_beat = None;
                self.set_state(AspState::Inactive);
            }
            Message::AspDnAck(_) if self.is_awaiting(Awaiting::AspDnAck) => self.stop(),
            Message::Err(e) => match self.awaiting {
                Some((a @ (Awaiting::AspUpAck | Awaiting::AspAcAck), _)) => {
                    let message = if a == Awaiting::AspUpAck {
                        "ASPUP"
                    } else {
                        "ASPAC"
                    };
                    self.lose(Failure::Refused {
                        message,
                        error_code: e.error_code,
                    });
                }
                _ => self.events.push_back(Event::PeerError(e)),
            },
            Message::Ntfy(n) => self.events.push_back(Event::Notify(n)),
            Message::Duna(d) if self.state != AspState::Down => {
                self.unavailable
                    .extend(d.affected_point_codes.iter().map(|a| a.point_code));
                self.events
                    .push_back(Event::DestinationUnavailable(d.affected_point_codes));
            }
            Message::Dava(d) if self.state != AspState::Down => {
                for a in &d.affected_point_codes {
                    self.unavailable.remove(&a.point_code);
                }
                self.events
                    .push_back(Event::DestinationAvailable(d.affected_point_codes));
            }
            Message::Data(d) if self.state == AspState::Active => {
                let ours = self.config.routing_context.as_deref();
                match (d.routing_context.as_deref(), ours) {
                    (Some(theirs), Some(ours)) if theirs != ours => {
                        self.transmit(Message::Err(ErrorMessage {
                            error_code: error_code::INVALID_ROUTING_CONTEXT,
                            routing_context: d.routing_context.clone(),
                            ..ErrorMessage::default()
                        }));
                        self.events.push_back(Event::Discarded("DATA"));
                    }
                    _ => self.events.push_back(Event::Data(d.protocol_data)),
                }
            }
            other => self.events.push_back(Event::Discarded(other.name())),
        }
    }

    /// A message from the peer that does not decode: the association is lost.
    pub fn handle_undecodable(&mut self, _now: Instant, error: M3uaError) {
        self.lose(Failure::Undecodable(error));
    }

    /// Time has come to `now`: T(ack) and the BEAT timer are checked.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some((what, at)) = self.awaiting {
            if at <= now {
                if what == Awaiting::AspDnAck {
                    self.stop();
                } else {
                    self.lose(Failure::AckTimeout(what.name()));
                }
                return;
            }
        }
        let Some(at) = self.next_beat else { return };
        if at > now {
            return;
        }
        if self.unanswered >= self.config.max_unanswered_beats {
            self.lose(Failure::HeartbeatLost);
            return;
        }
        self.unanswered += 1;
        self.beat_seq = self.beat_seq.wrapping_add(1);
        self.transmit(Message::Beat(Heartbeat {
            data: Some(self.beat_seq.to_be_bytes().to_vec()),
            extra: Vec::new(),
        }));
        self.next_beat = self.config.heartbeat.map(|h| now + h);
    }

    /// The next message to write to the peer.
    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.transmits.pop_front()
    }

    /// When [`Asp::handle_timeout`] must be called next, if at all.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ack = self.awaiting.map(|(_, at)| at);
        match (ack, self.next_beat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing to report.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn send_aspac(&mut self, now: Instant) {
        self.transmit(Message::AspAc(AspActive {
            traffic_mode: Some(self.config.traffic_mode),
            routing_context: self.config.routing_context.clone(),
            info_string: None,
            extra: Vec::new(),
        }));
        self.expect(Awaiting::AspAcAck, now);
    }

    fn is_awaiting(&self, what: Awaiting) -> bool {
        self.awaiting.is_some_and(|(a, _)| a == what)
    }

    fn expect(&mut self, what: Awaiting, now: Instant) {
        self.awaiting = Some((what, now + self.config.ack_timeout));
    }

    fn transmit(&mut self, m: Message) {
        self.transmits.push_back(m);
    }

    fn set_state(&mut self, state: AspState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(Event::StateChanged(state));
        }
    }

    /// ASP-DOWN, timers off, nothing left to send.
    fn stop(&mut self) {
        self.awaiting = None;
        self.next_beat = None;
        self.transmits.clear();
        self.set_state(AspState::Down);
    }

    fn lose(&mut self, failure: Failure) {
        self.stop();
        self.events.push_back(Event::Lost(failure));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::m3ua::{status, DestinationState, Status};

    const T_ACK: Duration = Duration::from_secs(2);
    const BEAT: Duration = Duration::from_secs(10);

    fn config() -> Config {
        Config {
            asp_identifier: Some(7),
            info_string: Some("otagw".into()),
            routing_context: Some(vec![42]),
            traffic_mode: TrafficMode::Loadshare,
            ack_timeout: T_ACK,
            heartbeat: Some(BEAT),
            max_unanswered_beats: 2,
        }
    }

    fn sent(asp: &mut Asp) -> Vec<Message> {
        std::iter::from_fn(|| asp.poll_transmit()).collect()
    }

    fn events(asp: &mut Asp) -> Vec<Event> {
        std::iter::from_fn(|| asp.poll_event()).collect()
    }

    fn pd(user_data: &[u8]) -> ProtocolData {
        ProtocolData {
            opc: PointCode::from_parts(1, 1, 2),
            dpc: PointCode::from_parts(1, 1, 1),
            si: 3,
            ni: 2,
            mp: 0,
            sls: 4,
            user_data: user_data.to_vec(),
        }
    }

    fn data(rc: Option<Vec<u32>>) -> Message {
        Message::Data(Data {
            network_appearance: None,
            routing_context: rc,
            protocol_data: pd(b"in"),
            correlation_id: None,
            extra: Vec::new(),
        })
    }

    fn err(code: u32) -> Message {
        Message::Err(ErrorMessage {
            error_code: code,
            ..ErrorMessage::default()
        })
    }

    /// Connected and ASP-ACTIVE at `t0`; queues and events drained.
    fn active(t0: Instant) -> Asp {
        let mut asp = Asp::new(config());
        asp.connect(t0);
        asp.handle_message(t0, Message::AspUpAck(AspUp::default()));
        asp.handle_message(t0, Message::AspAcAck(AspActive::default()));
        sent(&mut asp);
        events(&mut asp);
        assert_eq!(asp.state(), AspState::Active);
        asp
    }

    #[test]
    fn aspup_then_aspac_carry_identity_mode_and_routing_context() {
        let t0 = Instant::now();
        let mut asp = Asp::new(config());
        assert_eq!(asp.poll_timeout(), None);
        asp.connect(t0);
        assert_eq!(
            sent(&mut asp),
            [Message::AspUp(AspUp {
                asp_identifier: Some(7),
                info_string: Some("otagw".into()),
                extra: vec![],
            })]
        );
        assert_eq!(asp.poll_timeout(), Some(t0 + T_ACK));
        assert_eq!(asp.state(), AspState::Down);
        let t1 = t0 + Duration::from_millis(5);
        asp.handle_message(t1, Message::AspUpAck(AspUp::default()));
        assert_eq!(asp.state(), AspState::Inactive);
        assert_eq!(
            sent(&mut asp),
            [Message::AspAc(AspActive {
                traffic_mode: Some(TrafficMode::Loadshare),
                routing_context: Some(vec![42]),
                info_string: None,
                extra: vec![],
            })]
        );
        assert_eq!(asp.poll_timeout(), Some(t1 + T_ACK));
        asp.handle_message(t1, Message::AspAcAck(AspActive::default()));
        assert_eq!(
            events(&mut asp),
            [
                Event::StateChanged(AspState::Inactive),
                Event::StateChanged(AspState::Active)
            ]
        );
        assert_eq!(
            asp.poll_timeout(),
            Some(t1 + BEAT),
            "now only the BEAT timer"
        );
        // DATA goes out with the routing context.
        asp.send_data(pd(b"out")).unwrap();
        let [Message::Data(d)] = &sent(&mut asp)[..] else {
            panic!("one DATA")
        };
        assert_eq!(d.routing_context, Some(vec![42]));
        assert_eq!(d.protocol_data.user_data, b"out");
    }

    #[test]
    fn aspup_refused_with_err_loses_the_association() {
        let t0 = Instant::now();
        let mut asp = Asp::new(config());
        asp.connect(t0);
        sent(&mut asp);
        asp.handle_message(t0, err(error_code::REFUSED_MANAGEMENT_BLOCKING));
        assert_eq!(
            events(&mut asp),
            [Event::Lost(Failure::Refused {
                message: "ASPUP",
                error_code: error_code::REFUSED_MANAGEMENT_BLOCKING
            })]
        );
        assert_eq!(asp.state(), AspState::Down);
        assert_eq!(asp.poll_timeout(), None);
        assert!(sent(&mut asp).is_empty());
        // A new transport association starts over.
        asp.connect(t0);
        assert!(matches!(&sent(&mut asp)[..], [Message::AspUp(_)]));
    }

    #[test]
    fn aspac_refused_with_err() {
        let t0 = Instant::now();
        let mut asp = Asp::new(config());
        asp.connect(t0);
        asp.handle_message(t0, Message::AspUpAck(AspUp::default()));
        events(&mut asp);
        asp.handle_message(t0, err(error_code::INVALID_ROUTING_CONTEXT));
        assert_eq!(
            events(&mut asp),
            [
                Event::StateChanged(AspState::Down),
                Event::Lost(Failure::Refused {
                    message: "ASPAC",
                    error_code: error_code::INVALID_ROUTING_CONTEXT
                })
            ]
        );
    }

    #[test]
    fn aspac_ack_that_never_comes_times_out() {
        let t0 = Instant::now();
        let mut asp = Asp::new(config());
        asp.connect(t0);
        asp.handle_message(t0, Message::AspUpAck(AspUp::default()));
        events(&mut asp);
        // Before T(ack): nothing happens.
        asp.handle_timeout(t0 + T_ACK - Duration::from_millis(1));
        assert!(events(&mut asp).is_empty());
        assert_eq!(asp.state(), AspState::Inactive);
        asp.handle_timeout(t0 + T_ACK);
        assert_eq!(
            events(&mut asp),
            [
                Event::StateChanged(AspState::Down),
                Event::Lost(Failure::AckTimeout("ASPAC ACK"))
            ]
        );
        assert_eq!(asp.poll_timeout(), None);
        // A late ASPAC ACK changes nothing.
        asp.handle_message(t0 + T_ACK, Message::AspAcAck(AspActive::default()));
        assert_eq!(asp.state(), AspState::Down);
        assert_eq!(events(&mut asp), [Event::Discarded("ASPAC ACK")]);
    }

    #[test]
    fn beat_missed_twice_loses_the_association() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        let t1 = t0 + BEAT;
        asp.handle_timeout(t1);
        assert_eq!(
            sent(&mut asp),
            [Message::Beat(Heartbeat {
                data: Some(vec![0, 0, 0, 1]),
                extra: vec![]
            })]
        );
        assert_eq!(asp.poll_timeout(), Some(t1 + BEAT));
        let t2 = t1 + BEAT;
        asp.handle_timeout(t2);
        assert!(matches!(&sent(&mut asp)[..], [Message::Beat(_)]));
        assert!(events(&mut asp).is_empty(), "two BEATs may be outstanding");
        asp.handle_timeout(t2 + BEAT);
        assert!(sent(&mut asp).is_empty());
        assert_eq!(
            events(&mut asp),
            [
                Event::StateChanged(AspState::Down),
                Event::Lost(Failure::HeartbeatLost)
            ]
        );
        assert_eq!(asp.send_data(pd(b"x")), Err(NotActive));
    }

    #[test]
    fn beat_answered_keeps_the_association() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        let mut t = t0;
        for _ in 0..5 {
            t += BEAT;
            asp.handle_timeout(t);
            let [Message::Beat(hb)] = &sent(&mut asp)[..] else {
                panic!("one BEAT")
            };
            asp.handle_message(t, Message::BeatAck(hb.clone()));
        }
        assert!(events(&mut asp).is_empty());
        assert_eq!(asp.state(), AspState::Active);
        // The peer's BEAT is answered with its data.
        let hb = Heartbeat {
            data: Some(b"ping".to_vec()),
            extra: vec![],
        };
        asp.handle_message(t, Message::Beat(hb.clone()));
        assert_eq!(sent(&mut asp), [Message::BeatAck(hb)]);
    }

    #[test]
    fn beat_is_answered_during_the_handshake() {
        let t0 = Instant::now();
        let mut asp = Asp::new(config());
        asp.connect(t0);
        sent(&mut asp);
        asp.handle_message(t0, Message::Beat(Heartbeat::default()));
        assert_eq!(sent(&mut asp), [Message::BeatAck(Heartbeat::default())]);
        assert_eq!(asp.state(), AspState::Down);
    }

    #[test]
    fn ntfy_and_peer_err_are_reported() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        let n = Notify {
            status: Status {
                status_type: status::TYPE_AS_STATE_CHANGE,
                status_info: status::AS_ACTIVE,
            },
            asp_identifier: None,
            routing_context: Some(vec![42]),
            info_string: None,
            extra: vec![],
        };
        asp.handle_message(t0, Message::Ntfy(n.clone()));
        asp.handle_message(t0, err(error_code::PROTOCOL_ERROR));
        let [Event::Notify(got), Event::PeerError(e)] = &events(&mut asp)[..] else {
            panic!("NTFY then ERR")
        };
        assert_eq!(got, &n);
        assert_eq!(e.error_code, error_code::PROTOCOL_ERROR);
        assert_eq!(asp.state(), AspState::Active);
    }

    #[test]
    fn duna_then_dava() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        let msc = PointCode::from_parts(1, 1, 2);
        let apc = vec![AffectedPointCode {
            mask: 0,
            point_code: msc,
        }];
        let state = DestinationState {
            affected_point_codes: apc.clone(),
            ..DestinationState::default()
        };
        asp.handle_message(t0, Message::Duna(state.clone()));
        assert!(asp.is_unavailable(msc));
        assert!(!asp.is_unavailable(PointCode::from_parts(1, 1, 3)));
        asp.handle_message(t0, Message::Dava(state));
        assert!(!asp.is_unavailable(msc));
        assert_eq!(
            events(&mut asp),
            [
                Event::DestinationUnavailable(apc.clone()),
                Event::DestinationAvailable(apc)
            ]
        );
    }

    #[test]
    fn a_new_association_forgets_destination_states() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        let msc = PointCode::from_parts(1, 1, 2);
        asp.handle_message(
            t0,
            Message::Duna(DestinationState {
                affected_point_codes: vec![AffectedPointCode {
                    mask: 0,
                    point_code: msc,
                }],
                ..DestinationState::default()
            }),
        );
        asp.transport_lost(t0);
        asp.connect(t0);
        assert!(!asp.is_unavailable(msc));
    }

    #[test]
    fn data_before_asp_active_is_discarded_silently() {
        let t0 = Instant::now();
        let mut asp = Asp::new(config());
        asp.handle_message(t0, data(None));
        asp.connect(t0);
        sent(&mut asp);
        asp.handle_message(t0, Message::AspUpAck(AspUp::default()));
        sent(&mut asp);
        asp.handle_message(t0, data(Some(vec![42])));
        assert_eq!(
            events(&mut asp),
            [
                Event::Discarded("DATA"),
                Event::StateChanged(AspState::Inactive),
                Event::Discarded("DATA")
            ]
        );
        assert!(sent(&mut asp).is_empty(), "no ERR from an ASP");
        assert_eq!(asp.send_data(pd(b"x")), Err(NotActive));
    }

    #[test]
    fn data_in_asp_active_is_delivered_and_a_foreign_routing_context_refused() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        asp.handle_message(t0, data(Some(vec![42])));
        asp.handle_message(t0, data(None));
        assert_eq!(
            events(&mut asp),
            [Event::Data(pd(b"in")), Event::Data(pd(b"in"))]
        );
        asp.handle_message(t0, data(Some(vec![9])));
        assert_eq!(events(&mut asp), [Event::Discarded("DATA")]);
        let [Message::Err(e)] = &sent(&mut asp)[..] else {
            panic!("ERR")
        };
        assert_eq!(e.error_code, error_code::INVALID_ROUTING_CONTEXT);
        assert_eq!(e.routing_context, Some(vec![9]));
    }

    #[test]
    fn aspia_aspac_and_aspdn() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        asp.deactivate(t0);
        let [Message::AspIa(ia)] = &sent(&mut asp)[..] else {
            panic!("ASPIA")
        };
        assert_eq!(ia.routing_context, Some(vec![42]));
        assert_eq!(asp.poll_timeout(), Some(t0 + T_ACK));
        asp.handle_message(t0, Message::AspIaAck(AspInactive::default()));
        assert_eq!(asp.state(), AspState::Inactive);
        assert_eq!(asp.poll_timeout(), None, "no BEATs while inactive");
        asp.activate(t0);
        assert!(matches!(&sent(&mut asp)[..], [Message::AspAc(_)]));
        asp.handle_message(t0, Message::AspAcAck(AspActive::default()));
        assert_eq!(asp.state(), AspState::Active);
        asp.close(t0);
        assert_eq!(sent(&mut asp), [Message::AspDn(AspDown::default())]);
        assert_eq!(asp.state(), AspState::Active, "until ASPDN ACK");
        asp.handle_message(t0, Message::AspDnAck(AspDown::default()));
        assert_eq!(asp.state(), AspState::Down);
        assert_eq!(asp.poll_timeout(), None);
        // ASPDN ACK that never comes: down anyway when T(ack) runs out.
        let mut asp = active(t0);
        asp.close(t0);
        asp.handle_timeout(t0 + T_ACK);
        assert_eq!(asp.state(), AspState::Down);
        assert_eq!(
            events(&mut asp),
            [Event::StateChanged(AspState::Down)],
            "a close is not a loss"
        );
    }

    #[test]
    fn undecodable_and_transport_lost() {
        let t0 = Instant::now();
        let mut asp = active(t0);
        asp.handle_undecodable(t0, M3uaError::UnsupportedVersion(2));
        assert_eq!(
            events(&mut asp),
            [
                Event::StateChanged(AspState::Down),
                Event::Lost(Failure::Undecodable(M3uaError::UnsupportedVersion(2)))
            ]
        );
        let mut asp = active(t0);
        asp.send_data(pd(b"queued")).unwrap();
        asp.transport_lost(t0);
        assert!(sent(&mut asp).is_empty(), "nothing left to send");
        assert_eq!(events(&mut asp), [Event::StateChanged(AspState::Down)]);
    }
}
