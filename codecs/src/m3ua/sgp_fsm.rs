//! The SGP's view of one ASP (RFC 4666 section 4.3): what a signalling gateway answers on one
//! association, as a state machine without I/O. The simulated STP drives one per association.
//!
//! | from the ASP | the SGP answers |
//! |---|---|
//! | ASPUP | ASPUP ACK (ASP Identifier echoed); the ASP is ASP-INACTIVE (from ASP-ACTIVE too) |
//! | ASPAC | ASPAC ACK (Traffic Mode Type and Routing Context echoed), then NTFY AS-ACTIVE; ERR Unexpected Message while ASP-DOWN, ERR Unsupported Traffic Mode Type for values other than 1-3 |
//! | ASPIA / ASPDN | ASPIA ACK / ASPDN ACK; ASP-INACTIVE / ASP-DOWN |
//! | BEAT | BEAT ACK with the same Heartbeat Data (in any state) |
//! | DAUD | [`Event::Audit`]: the SGP's owner knows which destinations it reaches and answers with [`Sgp::destination_available`] / [`Sgp::destination_unavailable`] |
//! | DATA | [`Event::Data`] in ASP-ACTIVE; ERR Unexpected Message otherwise |
//! | ERR, NTFY, the ACKs | nothing |
//! | a message that does not decode ([`Sgp::handle_undecodable`]) | ERR with the code [`M3uaError::error_code`] gives |
//! | any other message (class above 4 / other type) | ERR Unsupported Message Class / Type |
//!
//! Every ERR carries the offending message (at most [`MAX_DIAGNOSTIC`] octets) as Diagnostic
//! Information. DATA towards the ASP ([`Sgp::send_data`]) carries the routing context of its
//! ASPAC and is only sent in ASP-ACTIVE.
//!
//! The SGP sends no BEAT of its own, so it has no timers and its inputs need no time. Outputs
//! are polled: [`Sgp::poll_transmit`] and [`Sgp::poll_event`].

use std::collections::VecDeque;

use super::{
    error_code, status, AffectedPointCode, AspActive, AspDown, AspInactive, AspState, AspUp, Data,
    DestinationState, ErrorMessage, M3uaError, Message, Notify, PointCode, ProtocolData, Status,
    TrafficMode,
};
use crate::m3ua::asp_fsm::NotActive;

/// At most this many octets of an offending message go back in an ERR's Diagnostic Information.
pub const MAX_DIAGNOSTIC: usize = 256;

/// How the SGP presents itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Info String sent in ASPUP ACK.
    pub info_string: Option<String>,
}

/// What the SGP reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The ASP entered this state.
    StateChanged(AspState),
    /// DATA from the ASP in ASP-ACTIVE: to route.
    Data(ProtocolData),
    /// DAUD: the ASP asks about these destinations (answer with DAVA / DUNA).
    Audit(DestinationState),
}

/// The SGP's view of one ASP. See the module table.
#[derive(Debug, Clone, Default)]
pub struct Sgp {
    config: Config,
    state: AspState,
    routing_context: Option<Vec<u32>>,
    transmits: VecDeque<Message>,
    events: VecDeque<Event>,
}

impl Sgp {
    /// A new association: the ASP is ASP-DOWN.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The ASP's state.
    pub fn state(&self) -> AspState {
        self.state
    }

    /// The Routing Context of the ASP's ASPAC while ASP-ACTIVE.
    pub fn routing_context(&self) -> Option<&[u32]> {
        self.routing_context.as_deref()
    }

    /// A message from the ASP.
    pub fn handle_message(&mut self, message: Message) {
        match message {
            Message::AspUp(up) => {
                self.routing_context = None;
                self.set_state(AspState::Inactive);
                self.transmit(Message::AspUpAck(AspUp {
                    asp_identifier: up.asp_identifier,
                    info_string: self.config.info_string.clone(),
                    extra: Vec::new(),
                }));
            }
            Message::AspAc(ac) => {
                if self.state == AspState::Down {
                    self.refuse(error_code::UNEXPECTED_MESSAGE, &Message::AspAc(ac));
                    return;
                }
                if let Some(TrafficMode::Other(_)) = ac.traffic_mode {
                    self.refuse(
                        error_code::UNSUPPORTED_TRAFFIC_MODE_TYPE,
                        &Message::AspAc(ac),
                    );
                    return;
                }
                self.routing_context = ac.routing_context.clone();
                self.set_state(AspState::Active);
                self.transmit(Message::AspAcAck(AspActive {
                    traffic_mode: ac.traffic_mode,
                    routing_context: ac.routing_context.clone(),
                    info_string: None,
                    extra: Vec::new(),
                }));
                self.transmit(Message::Ntfy(Notify {
                    status: Status {
                        status_type: status::TYPE_AS_STATE_CHANGE,
                        status_info: status::AS_ACTIVE,
                    },
                    asp_identifier: None,
                    routing_context: ac.routing_context,
                    info_string: None,
                    extra: Vec::new(),
                }));
            }
            Message::AspIa(ia) => {
                self.routing_context = None;
                if self.state == AspState::Active {
                    self.set_state(AspState::Inactive);
                }
                self.transmit(Message::AspIaAck(AspInactive {
                    routing_context: ia.routing_context,
                    info_string: None,
                    extra: Vec::new(),
                }));
            }
            Message::AspDn(_) => {
                self.routing_context = None;
                self.set_state(AspState::Down);
                self.transmit(Message::AspDnAck(AspDown::default()));
            }
            Message::Beat(hb) => self.transmit(Message::BeatAck(hb)),
            Message::Daud(d) => self.events.push_back(Event::Audit(d)),
            Message::Data(d) => {
                if self.state == AspState::Active {
                    self.events.push_back(Event::Data(d.protocol_data));
                } else {
                    self.refuse(error_code::UNEXPECTED_MESSAGE, &Message::Data(d));
                }
            }
            Message::Err(_)
            | Message::Ntfy(_)
            | Message::BeatAck(_)
            | Message::AspUpAck(_)
            | Message::AspDnAck(_)
            | Message::AspAcAck(_)
            | Message::AspIaAck(_) => {}
            other @ Message::Other { class, .. } if class > 4 => {
                self.refuse(error_code::UNSUPPORTED_MESSAGE_CLASS, &other);
            }
            other => self.refuse(error_code::UNSUPPORTED_MESSAGE_TYPE, &other),
        }
    }

    /// A message from the ASP that does not decode (`frame` is its octets): ERR.
    pub fn handle_undecodable(&mut self, error: &M3uaError, frame: &[u8]) {
        self.transmit(err(error.error_code(), Some(frame)));
    }

    /// Queues DATA for the ASP, with the routing context of its ASPAC. Only in ASP-ACTIVE.
    pub fn send_data(&mut self, protocol_data: ProtocolData) -> Result<(), NotActive> {
        if self.state != AspState::Active {
            return Err(NotActive);
        }
        self.transmit(Message::Data(Data {
            network_appearance: None,
            routing_context: self.routing_context.clone(),
            protocol_data,
            correlation_id: None,
            extra: Vec::new(),
        }));
        Ok(())
    }

    /// Queues DUNA for `pc` (with `routing_context`, e.g. the one of the DAUD answered).
    pub fn destination_unavailable(&mut self, pc: PointCode, routing_context: Option<Vec<u32>>) {
        self.transmit(Message::Duna(destination(pc, routing_context)));
    }

    /// Queues DAVA for `pc`.
    pub fn destination_available(&mut self, pc: PointCode, routing_context: Option<Vec<u32>>) {
        self.transmit(Message::Dava(destination(pc, routing_context)));
    }

    /// The next message to write to the ASP.
    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.transmits.pop_front()
    }

    /// The next thing to report.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn refuse(&mut self, code: u32, offending: &Message) {
        let diagnostic = offending.encode().ok();
        self.transmit(err(code, diagnostic.as_deref()));
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
}

fn destination(pc: PointCode, routing_context: Option<Vec<u32>>) -> DestinationState {
    DestinationState {
        network_appearance: None,
        routing_context,
        affected_point_codes: vec![AffectedPointCode {
            mask: 0,
            point_code: pc,
        }],
        info_string: None,
        extra: Vec::new(),
    }
}

fn err(code: u32, diagnostic: Option<&[u8]>) -> Message {
    Message::Err(ErrorMessage {
        error_code: code,
        diagnostic: diagnostic.map(|d| d[..d.len().min(MAX_DIAGNOSTIC)].to_vec()),
        ..ErrorMessage::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::m3ua::{asp_fsm, Heartbeat};
    use std::time::{Duration, Instant};

    fn sent(sgp: &mut Sgp) -> Vec<Message> {
        std::iter::from_fn(|| sgp.poll_transmit()).collect()
    }

    fn events(sgp: &mut Sgp) -> Vec<Event> {
        std::iter::from_fn(|| sgp.poll_event()).collect()
    }

    fn pd() -> ProtocolData {
        ProtocolData {
            opc: PointCode::from_parts(1, 1, 1),
            dpc: PointCode::from_parts(1, 1, 2),
            si: 3,
            ni: 2,
            mp: 0,
            sls: 1,
            user_data: vec![1, 2, 3],
        }
    }

    fn data() -> Message {
        Message::Data(Data {
            network_appearance: None,
            routing_context: None,
            protocol_data: pd(),
            correlation_id: None,
            extra: Vec::new(),
        })
    }

    fn err_code(m: &Message) -> u32 {
        match m {
            Message::Err(e) => e.error_code,
            other => panic!("not ERR: {other:?}"),
        }
    }

    fn sgp() -> Sgp {
        Sgp::new(Config {
            info_string: Some("sgp".into()),
        })
    }

    #[test]
    fn aspup_aspac_with_routing_context_then_data() {
        let mut sgp = sgp();
        sgp.handle_message(Message::AspUp(AspUp {
            asp_identifier: Some(3),
            ..AspUp::default()
        }));
        assert_eq!(
            sent(&mut sgp),
            [Message::AspUpAck(AspUp {
                asp_identifier: Some(3),
                info_string: Some("sgp".into()),
                extra: vec![]
            })]
        );
        sgp.handle_message(Message::AspAc(AspActive {
            traffic_mode: Some(TrafficMode::Loadshare),
            routing_context: Some(vec![42]),
            ..AspActive::default()
        }));
        let out = sent(&mut sgp);
        let [Message::AspAcAck(ack), Message::Ntfy(n)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(ack.traffic_mode, Some(TrafficMode::Loadshare));
        assert_eq!(ack.routing_context, Some(vec![42]));
        assert_eq!(n.status.status_info, status::AS_ACTIVE);
        assert_eq!(n.routing_context, Some(vec![42]));
        assert_eq!(sgp.routing_context(), Some(&[42][..]));
        sgp.handle_message(data());
        assert_eq!(
            events(&mut sgp),
            [
                Event::StateChanged(AspState::Inactive),
                Event::StateChanged(AspState::Active),
                Event::Data(pd())
            ]
        );
        sgp.send_data(pd()).unwrap();
        let [Message::Data(d)] = &sent(&mut sgp)[..] else {
            panic!("DATA")
        };
        assert_eq!(d.routing_context, Some(vec![42]), "routing context carried");
    }

    #[test]
    fn data_before_asp_active_is_refused() {
        let mut sgp = sgp();
        sgp.handle_message(data());
        let out = sent(&mut sgp);
        assert_eq!(err_code(&out[0]), error_code::UNEXPECTED_MESSAGE);
        let Message::Err(e) = &out[0] else {
            unreachable!()
        };
        assert_eq!(e.diagnostic, Some(data().encode().unwrap()));
        assert!(events(&mut sgp).is_empty());
        assert_eq!(sgp.send_data(pd()), Err(NotActive));
        // ASP-INACTIVE is not enough either.
        sgp.handle_message(Message::AspUp(AspUp::default()));
        sent(&mut sgp);
        sgp.handle_message(data());
        assert_eq!(err_code(&sent(&mut sgp)[0]), error_code::UNEXPECTED_MESSAGE);
    }

    #[test]
    fn aspac_refusals() {
        let mut sgp = sgp();
        sgp.handle_message(Message::AspAc(AspActive::default()));
        assert_eq!(err_code(&sent(&mut sgp)[0]), error_code::UNEXPECTED_MESSAGE);
        sgp.handle_message(Message::AspUp(AspUp::default()));
        sent(&mut sgp);
        sgp.handle_message(Message::AspAc(AspActive {
            traffic_mode: Some(TrafficMode::Other(9)),
            ..AspActive::default()
        }));
        assert_eq!(
            err_code(&sent(&mut sgp)[0]),
            error_code::UNSUPPORTED_TRAFFIC_MODE_TYPE
        );
        assert_eq!(sgp.state(), AspState::Inactive);
    }

    #[test]
    fn beat_aspia_aspdn_daud_and_unknown_messages() {
        let mut sgp = sgp();
        let hb = Heartbeat {
            data: Some(b"x".to_vec()),
            extra: vec![],
        };
        sgp.handle_message(Message::Beat(hb.clone()));
        assert_eq!(sent(&mut sgp), [Message::BeatAck(hb)]);
        sgp.handle_message(Message::AspUp(AspUp::default()));
        sgp.handle_message(Message::AspAc(AspActive::default()));
        sgp.handle_message(Message::AspIa(AspInactive {
            routing_context: Some(vec![5]),
            ..AspInactive::default()
        }));
        let out = sent(&mut sgp);
        assert!(
            matches!(out.last(), Some(Message::AspIaAck(a)) if a.routing_context == Some(vec![5]))
        );
        assert_eq!(sgp.state(), AspState::Inactive);
        let audit = DestinationState {
            affected_point_codes: vec![AffectedPointCode {
                mask: 0,
                point_code: PointCode::from_parts(1, 1, 2),
            }],
            ..DestinationState::default()
        };
        sgp.handle_message(Message::Daud(audit.clone()));
        assert_eq!(events(&mut sgp).last(), Some(&Event::Audit(audit)));
        sgp.destination_unavailable(PointCode::from_parts(1, 1, 2), None);
        sgp.destination_available(PointCode::from_parts(1, 1, 2), None);
        assert!(matches!(
            &sent(&mut sgp)[..],
            [Message::Duna(_), Message::Dava(_)]
        ));
        sgp.handle_message(Message::AspDn(AspDown::default()));
        assert_eq!(sent(&mut sgp), [Message::AspDnAck(AspDown::default())]);
        assert_eq!(sgp.state(), AspState::Down);
        sgp.handle_message(Message::Other {
            class: 9,
            msg_type: 1,
            params: vec![],
        });
        sgp.handle_message(Message::Duna(DestinationState::default()));
        let out = sent(&mut sgp);
        assert_eq!(err_code(&out[0]), error_code::UNSUPPORTED_MESSAGE_CLASS);
        assert_eq!(err_code(&out[1]), error_code::UNSUPPORTED_MESSAGE_TYPE);
        sgp.handle_undecodable(&M3uaError::UnsupportedVersion(2), &[2; 300]);
        let out = sent(&mut sgp);
        assert_eq!(err_code(&out[0]), error_code::INVALID_VERSION);
        let Message::Err(e) = &out[0] else {
            unreachable!()
        };
        assert_eq!(e.diagnostic.as_ref().map(Vec::len), Some(MAX_DIAGNOSTIC));
    }

    /// The two machines talk to each other: what one polls, the other handles.
    #[test]
    fn the_asp_and_the_sgp_machines_agree() {
        let t0 = Instant::now();
        let mut asp = asp_fsm::Asp::new(asp_fsm::Config {
            routing_context: Some(vec![7]),
            heartbeat: Some(Duration::from_secs(1)),
            ..asp_fsm::Config::default()
        });
        let mut sgp = sgp();
        asp.connect(t0);
        let pump = |asp: &mut asp_fsm::Asp, sgp: &mut Sgp| {
            for _ in 0..4 {
                while let Some(m) = asp.poll_transmit() {
                    sgp.handle_message(m);
                }
                while let Some(m) = sgp.poll_transmit() {
                    asp.handle_message(t0, m);
                }
            }
        };
        pump(&mut asp, &mut sgp);
        assert_eq!(asp.state(), AspState::Active);
        assert_eq!(sgp.state(), AspState::Active);
        asp.send_data(pd()).unwrap();
        pump(&mut asp, &mut sgp);
        assert!(events(&mut sgp).contains(&Event::Data(pd())));
        sgp.send_data(pd()).unwrap();
        asp.handle_timeout(t0 + Duration::from_secs(1));
        pump(&mut asp, &mut sgp);
        let asp_events: Vec<_> = std::iter::from_fn(|| asp.poll_event()).collect();
        assert!(asp_events.contains(&asp_fsm::Event::Data(pd())));
        assert!(
            !asp_events
                .iter()
                .any(|e| matches!(e, asp_fsm::Event::Lost(_) | asp_fsm::Event::PeerError(_))),
            "{asp_events:?}"
        );
        asp.close(t0);
        pump(&mut asp, &mut sgp);
        assert_eq!(asp.state(), AspState::Down);
        assert_eq!(sgp.state(), AspState::Down);
    }
}
