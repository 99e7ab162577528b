//! The session machine without sockets: both ends in memory, time as an argument, faults
//! made by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use rusmpp_core::pdus::owned::{DeliverSm, Pdu, SubmitSm};
use rusmpp_core::types::owned::{COctetString, OctetString};
use rusmpp_core::CommandId;

use super::*;
use crate::smpp::congestion::FORGET_AFTER;
use crate::smpp::frame::FrameError;
use crate::smpp::pace::{MAX_THROTTLE_PAUSE, MIN_THROTTLE_PAUSE};
use crate::smpp::status::{
    ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RMSGQFUL, ESME_ROK, ESME_RTHROTTLED, ESME_RX_T_APPN,
};

/// ESME_RINVDSTADR: a permanent status.
const ESME_RINVDSTADR: u32 = 0x0B;
/// ESME_RSYSERR: a transient status.
const ESME_RSYSERR: u32 = 0x08;
use crate::smpp::version::{Offer, SMPP_3_4};
use crate::smpp::window::MAX_SEQUENCE_NUMBER;

const TIMEOUT: Duration = Duration::from_secs(10);

fn bind(version: u8) -> BindRequest {
    BindRequest {
        kind: BindKind::Transceiver,
        system_id: "otagw".into(),
        password: "secret".into(),
        system_type: "OTA".into(),
        interface_version: version,
    }
}

fn client_config() -> Config {
    Config {
        window: 10,
        max_rate_per_sec: None,
        response_timeout: Some(TIMEOUT),
        enquire_link_interval: None,
        ..Config::default()
    }
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Hands what `from` has to send to `to`.
fn pump(from: &mut Session, to: &mut Session, now: Instant) {
    if let Some(octets) = from.poll_transmit() {
        to.handle_data(now, &octets);
    }
}

/// The PDUs `s` has to send.
fn sent(s: &mut Session) -> Vec<Frame> {
    let mut framer = Framer::new();
    if let Some(octets) = s.poll_transmit() {
        framer.push(&octets);
    }
    std::iter::from_fn(|| framer.next_frame().unwrap()).collect()
}

fn raw(id: u32, status: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode_raw(CommandId::from(id), status, seq, body, &mut out);
    out
}

fn submit_sm(text: &str) -> SubmitSm {
    SubmitSm::builder()
        .destination_addr(COctetString::from_string("12125550100".into()).unwrap())
        .short_message(OctetString::from_vec(text.as_bytes().to_vec()).unwrap())
        .build()
}

/// A client bound to a server speaking `sc` (the server's application accepts the bind).
fn bound_pair(config: Config, offer: u8, sc: u8, now: Instant) -> (Session, Session) {
    let mut esme = Session::client(config, &bind(offer), now).unwrap();
    let mut smsc = Session::server(Config::server());
    pump(&mut esme, &mut smsc, now);
    let Some(Event::BindRequested {
        sequence_number, ..
    }) = smsc.poll_event()
    else {
        panic!("no bind request")
    };
    smsc.answer_bind(sequence_number, ESME_ROK, "smsc", Some(sc))
        .unwrap();
    pump(&mut smsc, &mut esme, now);
    assert_eq!(
        events(&mut esme),
        vec![Event::Bound {
            version: offer.min(sc)
        }]
    );
    (esme, smsc)
}

/// The submit_sm the server's application got: their sequence numbers.
fn submits(smsc: &mut Session) -> Vec<u32> {
    events(smsc)
        .into_iter()
        .filter_map(|e| match e {
            Event::SubmitSm {
                sequence_number, ..
            } => Some(sequence_number),
            _ => None,
        })
        .collect()
}

fn outcomes(esme: &mut Session) -> Vec<(u64, Outcome)> {
    events(esme)
        .into_iter()
        .filter_map(|e| match e {
            Event::Outcome { id, outcome } => Some((id, outcome)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_bind_runs_the_lower_version() {
    let now = Instant::now();
    for (offer, sc, runs) in [
        (SMPP_5_0, SMPP_5_0, SMPP_5_0),
        (SMPP_5_0, SMPP_3_4, SMPP_3_4),
        (SMPP_3_4, SMPP_5_0, SMPP_3_4),
    ] {
        let (esme, smsc) = bound_pair(client_config(), offer, sc, now);
        assert_eq!(esme.version(), Some(runs));
        assert_eq!(smsc.version(), Some(runs));
        assert_eq!(esme.state(), State::Bound(BindKind::Transceiver));
    }
}

#[test]
fn the_server_sees_the_bind_request_and_the_client_without_sc_version_runs_3_4() {
    let now = Instant::now();
    let mut esme = Session::client(client_config(), &bind(SMPP_5_0), now).unwrap();
    assert_eq!(esme.state(), State::Binding);
    let mut smsc = Session::server(Config::server());
    pump(&mut esme, &mut smsc, now);
    let Some(Event::BindRequested {
        sequence_number,
        request,
    }) = smsc.poll_event()
    else {
        panic!()
    };
    assert_eq!(request, bind(SMPP_5_0));
    assert!(
        !format!("{request:?}").contains("secret"),
        "password hidden"
    );
    smsc.answer_bind(sequence_number, ESME_ROK, "smsc", None)
        .unwrap();
    pump(&mut smsc, &mut esme, now);
    assert_eq!(events(&mut esme), vec![Event::Bound { version: SMPP_3_4 }]);
}

#[test]
fn a_refused_bind_closes_the_client_with_the_status() {
    let now = Instant::now();
    let mut esme = Session::client(client_config(), &bind(SMPP_5_0), now).unwrap();
    let mut smsc = Session::server(Config::server());
    pump(&mut esme, &mut smsc, now);
    let Some(Event::BindRequested {
        sequence_number, ..
    }) = smsc.poll_event()
    else {
        panic!()
    };
    smsc.answer_bind(sequence_number, ESME_RINVPASWD, "smsc", Some(SMPP_5_0))
        .unwrap();
    assert_eq!(smsc.state(), State::Open, "the server is not bound");
    pump(&mut smsc, &mut esme, now);
    assert_eq!(
        events(&mut esme),
        vec![Event::Closed(CloseReason::BindRefused {
            status: ESME_RINVPASWD
        })]
    );
    assert!(esme.is_closed());
    // A wrong password: another version would not help.
    let mut offer = Offer::new(SMPP_5_0);
    assert!(!offer.refused(ESME_RINVPASWD));
    assert_eq!(offer.next(), SMPP_5_0);
}

#[test]
fn a_refused_5_0_bind_is_followed_by_a_3_4_bind_that_holds() {
    let now = Instant::now();
    let mut offer = Offer::new(SMPP_5_0);
    // A 3.4 SMSC that refuses versions it does not know.
    let smsc_app = |request: &BindRequest| {
        if request.interface_version > SMPP_3_4 {
            ESME_RBINDFAIL
        } else {
            ESME_ROK
        }
    };
    let mut offered = Vec::new();
    let version = loop {
        let mut esme = Session::client(client_config(), &bind(offer.next()), now).unwrap();
        let mut smsc = Session::server(Config::server());
        pump(&mut esme, &mut smsc, now);
        let Some(Event::BindRequested {
            sequence_number,
            request,
        }) = smsc.poll_event()
        else {
            panic!()
        };
        offered.push(request.interface_version);
        smsc.answer_bind(sequence_number, smsc_app(&request), "smsc", Some(SMPP_3_4))
            .unwrap();
        pump(&mut smsc, &mut esme, now);
        match esme.poll_event() {
            Some(Event::Bound { version }) => break version,
            Some(Event::Closed(CloseReason::BindRefused { status })) => {
                assert!(offer.refused(status), "bind again at once, offering 3.4");
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(version, SMPP_3_4);
    assert_eq!(offered, vec![SMPP_5_0, SMPP_3_4]);
    offer.bind_ended();
    assert_eq!(offer.next(), SMPP_5_0);
}

#[test]
fn a_generic_nack_to_the_bind_is_a_refusal_and_silence_a_timeout() {
    let now = Instant::now();
    let mut esme = Session::client(client_config(), &bind(SMPP_5_0), now).unwrap();
    let bind_seq = sent(&mut esme)[0].header.sequence_number;
    esme.handle_data(now, &raw(0x8000_0000, 0x0D, bind_seq, &[]));
    assert_eq!(
        events(&mut esme),
        vec![Event::Closed(CloseReason::BindRefused { status: 0x0D })]
    );

    let mut esme = Session::client(client_config(), &bind(SMPP_5_0), now).unwrap();
    assert_eq!(esme.poll_timeout(), Some(now + TIMEOUT));
    esme.handle_timeout(now + TIMEOUT - Duration::from_millis(1));
    assert!(events(&mut esme).is_empty());
    esme.handle_timeout(now + TIMEOUT);
    assert_eq!(
        events(&mut esme),
        vec![Event::Closed(CloseReason::BindTimedOut)]
    );
    assert_eq!(esme.poll_timeout(), None);
}

#[test]
fn a_submit_is_answered_with_its_message_id_and_statuses_are_classified() {
    let now = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_5_0, SMPP_5_0, now);
    for id in 1..=4 {
        assert_eq!(esme.submit_ready(now), Ready::Now);
        esme.submit(now, id, submit_sm("hello")).unwrap();
    }
    assert_eq!(esme.in_flight(), 4);
    pump(&mut esme, &mut smsc, now);
    let seqs = submits(&mut smsc);
    assert_eq!(seqs.len(), 4);
    let answers = [
        (ESME_ROK, "M1"),
        (ESME_RINVDSTADR, ""),
        (ESME_RSYSERR, ""),
        (ESME_ROK, ""),
    ];
    for (seq, (status, id)) in seqs.iter().zip(answers) {
        smsc.respond_submit_sm(*seq, status, id).unwrap();
    }
    assert_eq!(
        smsc.respond_submit_sm(seqs[0], ESME_ROK, "again"),
        Err(SessionError::NotPending(seqs[0])),
        "one answer per request"
    );
    pump(&mut smsc, &mut esme, now);
    assert_eq!(
        outcomes(&mut esme),
        vec![
            (
                1,
                Outcome::Accepted {
                    message_id: "M1".into()
                }
            ),
            (
                2,
                Outcome::Permanent {
                    status: ESME_RINVDSTADR
                }
            ),
            (
                3,
                Outcome::Transient {
                    status: ESME_RSYSERR
                }
            ),
            (
                4,
                Outcome::Accepted {
                    message_id: String::new()
                }
            ),
        ]
    );
    assert_eq!(esme.in_flight(), 0);
}

#[test]
fn a_lost_response_times_out_as_unanswered_and_a_late_one_is_dropped_and_counted() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    esme.submit(t0, 7, submit_sm("lost")).unwrap();
    let t1 = t0 + Duration::from_secs(1);
    esme.submit(t1, 8, submit_sm("late")).unwrap();
    pump(&mut esme, &mut smsc, t1);
    let seqs = submits(&mut smsc);
    assert_eq!(esme.poll_timeout(), Some(t0 + TIMEOUT));
    esme.handle_timeout(t0 + TIMEOUT);
    assert_eq!(
        outcomes(&mut esme),
        vec![(7, Outcome::Unanswered(Unanswered::TimedOut))]
    );
    assert_eq!(esme.poll_timeout(), Some(t1 + TIMEOUT));
    esme.handle_timeout(t1 + TIMEOUT);
    assert_eq!(
        outcomes(&mut esme),
        vec![(8, Outcome::Unanswered(Unanswered::TimedOut))]
    );
    assert_eq!(esme.in_flight(), 0);
    // The second answer comes after all: no second outcome.
    smsc.respond_submit_sm(seqs[1], ESME_ROK, "M8").unwrap();
    pump(&mut smsc, &mut esme, t1 + TIMEOUT + Duration::from_secs(1));
    assert!(events(&mut esme).is_empty());
    assert_eq!(esme.stats().late_responses, 1);
    // A response to nothing this end sent is no late one.
    esme.handle_data(t1, &raw(0x8000_0004, 0, 999, &[b'X', 0]));
    assert_eq!(esme.stats().late_responses, 1);
    assert_eq!(esme.stats().unexpected_responses, 1);
    assert!(events(&mut esme).is_empty());
    assert!(sent(&mut esme).is_empty(), "responses are never answered");
}

#[test]
fn a_full_window_lets_no_submit_leave_until_an_answer_makes_room() {
    let now = Instant::now();
    let config = Config {
        window: 2,
        ..client_config()
    };
    let (mut esme, mut smsc) = bound_pair(config, SMPP_3_4, SMPP_3_4, now);
    esme.submit(now, 1, submit_sm("a")).unwrap();
    esme.submit(now, 2, submit_sm("b")).unwrap();
    assert_eq!(esme.submit_ready(now), Ready::No);
    assert_eq!(
        esme.submit(now, 3, submit_sm("c")),
        Err(SessionError::NotReady)
    );
    pump(&mut esme, &mut smsc, now);
    let seqs = submits(&mut smsc);
    assert_eq!(seqs.len(), 2, "only two left");
    smsc.respond_submit_sm(seqs[0], ESME_ROK, "A").unwrap();
    pump(&mut smsc, &mut esme, now);
    assert_eq!(esme.submit_ready(now), Ready::Now);
    esme.submit(now, 3, submit_sm("c")).unwrap();
    pump(&mut esme, &mut smsc, now);
    assert_eq!(submits(&mut smsc).len(), 1);
}

#[test]
fn the_rate_spaces_submits() {
    let now = Instant::now();
    let config = Config {
        max_rate_per_sec: Some(10),
        ..client_config()
    };
    let (mut esme, _smsc) = bound_pair(config, SMPP_3_4, SMPP_3_4, now);
    esme.submit(now, 1, submit_sm("a")).unwrap();
    let Ready::At(next) = esme.submit_ready(now) else {
        panic!("a burst of one at 10/s")
    };
    assert!(next > now && next <= now + Duration::from_millis(101));
    assert_eq!(
        esme.submit(now, 2, submit_sm("b")),
        Err(SessionError::NotReady)
    );
    assert_eq!(esme.submit_ready(next), Ready::Now);
    esme.submit(next, 2, submit_sm("b")).unwrap();
}

#[test]
fn throttled_answers_pause_the_bind_doubling_once_per_pause() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    for id in 1..=3 {
        esme.submit(t0, id, submit_sm("x")).unwrap();
    }
    pump(&mut esme, &mut smsc, t0);
    let seqs = submits(&mut smsc);
    // Three answers at once asking to slow down: one pause of 20 ms, not three.
    for (seq, status) in seqs
        .iter()
        .zip([ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RTHROTTLED])
    {
        smsc.respond_submit_sm(*seq, status, "").unwrap();
    }
    pump(&mut smsc, &mut esme, t0);
    assert_eq!(
        outcomes(&mut esme),
        vec![
            (
                1,
                Outcome::SlowDown {
                    status: ESME_RTHROTTLED
                }
            ),
            (
                2,
                Outcome::SlowDown {
                    status: ESME_RMSGQFUL
                }
            ),
            (
                3,
                Outcome::SlowDown {
                    status: ESME_RTHROTTLED
                }
            ),
        ]
    );
    assert_eq!(esme.throttle_pause(), MIN_THROTTLE_PAUSE);
    assert_eq!(esme.submit_ready(t0), Ready::At(t0 + MIN_THROTTLE_PAUSE));
    // Each later refusal after the pause doubles it, up to a second.
    let mut at = t0 + MIN_THROTTLE_PAUSE;
    let mut pauses = Vec::new();
    for id in 10..20 {
        assert_eq!(esme.submit_ready(at), Ready::Now);
        esme.submit(at, id, submit_sm("x")).unwrap();
        pump(&mut esme, &mut smsc, at);
        let seq = submits(&mut smsc)[0];
        smsc.respond_submit_sm(seq, ESME_RTHROTTLED, "").unwrap();
        pump(&mut smsc, &mut esme, at);
        pauses.push(esme.throttle_pause());
        at += esme.throttle_pause();
    }
    assert_eq!(pauses[0], MIN_THROTTLE_PAUSE * 2);
    assert_eq!(pauses[1], MIN_THROTTLE_PAUSE * 4);
    assert_eq!(*pauses.last().unwrap(), MAX_THROTTLE_PAUSE);
    // An answer that does not ask to slow down: the next pause is short again.
    esme.submit(at, 30, submit_sm("x")).unwrap();
    pump(&mut esme, &mut smsc, at);
    let seq = submits(&mut smsc)[0];
    smsc.respond_submit_sm(seq, ESME_ROK, "M").unwrap();
    pump(&mut smsc, &mut esme, at);
    assert_eq!(esme.throttle_pause(), Duration::ZERO);
}

/// An enquire_link_resp carrying congestion_state `state`.
fn enquire_link_resp_with(seq: u32, state: u8) -> Vec<u8> {
    raw(0x8000_0015, 0, seq, &[0x04, 0x28, 0, 1, state])
}

#[test]
fn congestion_halves_at_90_backs_off_at_100_and_recovers_below_80() {
    let t0 = Instant::now();
    let config = Config {
        window: 10,
        max_rate_per_sec: Some(100),
        ..client_config()
    };
    let (mut esme, _smsc) = bound_pair(config, SMPP_5_0, SMPP_5_0, t0);
    assert_eq!(esme.window_size(), 10);
    esme.handle_data(t0, &enquire_link_resp_with(1, 95));
    assert_eq!(
        events(&mut esme),
        vec![Event::Congestion {
            state: 95,
            pace: Pace::Halved,
            previous: Pace::Full
        }]
    );
    assert_eq!(esme.window_size(), 5);
    assert_eq!(
        esme.throttle_pause(),
        Duration::ZERO,
        "90-99 does not pause"
    );
    // The window is halved: five in flight and no room.
    for id in 0..5 {
        let t = t0 + Duration::from_millis(20 * id);
        assert_eq!(esme.submit_ready(t), Ready::Now, "{id}");
        esme.submit(t, id, submit_sm("x")).unwrap();
    }
    assert_eq!(esme.submit_ready(t0 + Duration::from_secs(1)), Ready::No);

    esme.handle_data(t0, &enquire_link_resp_with(2, 100));
    assert_eq!(esme.pace(), Pace::BackOff);
    assert_eq!(esme.throttle_pause(), MIN_THROTTLE_PAUSE, "100 pauses");
    esme.handle_data(t0, &enquire_link_resp_with(3, 85));
    assert_eq!(esme.pace(), Pace::Halved, "optimum load eases a back-off");
    esme.handle_data(t0, &enquire_link_resp_with(4, 79));
    assert_eq!(esme.pace(), Pace::Full);
    assert_eq!(esme.window_size(), 10);
    let paces: Vec<Pace> = events(&mut esme)
        .into_iter()
        .filter_map(|e| match e {
            Event::Congestion { pace, .. } => Some(pace),
            _ => None,
        })
        .collect();
    assert_eq!(paces, vec![Pace::BackOff, Pace::Halved, Pace::Full]);
}

#[test]
fn congestion_state_on_a_submit_sm_resp_pauses_and_the_answer_does_not_reset_the_pause() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_5_0, SMPP_5_0, t0);
    smsc.set_reported_congestion(Some(100));
    esme.submit(t0, 1, submit_sm("x")).unwrap();
    pump(&mut esme, &mut smsc, t0);
    let seq = submits(&mut smsc)[0];
    smsc.respond_submit_sm(seq, ESME_ROK, "M1").unwrap();
    assert_eq!(smsc.stats().congestion_states_sent, 1);
    pump(&mut smsc, &mut esme, t0);
    let got = events(&mut esme);
    assert_eq!(
        got,
        vec![
            Event::Congestion {
                state: 100,
                pace: Pace::BackOff,
                previous: Pace::Full
            },
            Event::Outcome {
                id: 1,
                outcome: Outcome::Accepted {
                    message_id: "M1".into()
                }
            },
        ]
    );
    assert_eq!(esme.throttle_pause(), MIN_THROTTLE_PAUSE);
    assert_eq!(esme.submit_ready(t0), Ready::At(t0 + MIN_THROTTLE_PAUSE));
}

#[test]
fn a_3_4_bind_ignores_congestion_state_and_a_3_4_server_never_sends_it() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_5_0, t0);
    esme.handle_data(t0, &enquire_link_resp_with(1, 100));
    assert!(events(&mut esme).is_empty());
    assert_eq!(esme.pace(), Pace::Full);
    smsc.set_reported_congestion(Some(100));
    esme.submit(t0, 1, submit_sm("x")).unwrap();
    pump(&mut esme, &mut smsc, t0);
    let seq = submits(&mut smsc)[0];
    smsc.respond_submit_sm(seq, ESME_ROK, "M1").unwrap();
    smsc.handle_data(t0, &raw(0x15, 0, 50, &[]));
    let answers = sent(&mut smsc);
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|f| f.rest.is_empty()));
    assert_eq!(
        answers[0].pdu,
        Ok(Pdu::SubmitSmResp(
            rusmpp_core::pdus::owned::SubmitSmResp::new(
                COctetString::from_string("M1".into()).unwrap(),
                Vec::new()
            )
        ))
    );
    assert_eq!(smsc.stats().congestion_states_sent, 0);
}

#[test]
fn a_server_reports_its_congestion_on_enquire_link_resp_of_a_5_0_bind() {
    let t0 = Instant::now();
    let (_esme, mut smsc) = bound_pair(client_config(), SMPP_5_0, SMPP_5_0, t0);
    smsc.set_reported_congestion(Some(95));
    smsc.handle_data(t0, &raw(0x15, 0, 50, &[]));
    let answer = sent(&mut smsc);
    assert_eq!(answer[0].header.command_id, CommandId::EnquireLinkResp);
    assert_eq!(answer[0].header.sequence_number, 50);
    assert_eq!(answer[0].rest, [0x04, 0x28, 0, 1, 95]);
    assert_eq!(smsc.stats().congestion_states_sent, 1);
}

#[test]
fn a_silent_smsc_is_forgotten_after_30_s() {
    let t0 = Instant::now();
    let config = Config {
        max_rate_per_sec: Some(100),
        ..client_config()
    };
    let (mut esme, _smsc) = bound_pair(config, SMPP_5_0, SMPP_5_0, t0);
    esme.handle_data(t0, &enquire_link_resp_with(1, 100));
    events(&mut esme);
    assert_eq!(esme.pace(), Pace::BackOff);
    assert_eq!(esme.poll_timeout(), Some(t0 + FORGET_AFTER));
    esme.handle_timeout(t0 + FORGET_AFTER - Duration::from_millis(1));
    assert_eq!(esme.pace(), Pace::BackOff);
    // A report in between starts the 30 s again.
    let t1 = t0 + Duration::from_secs(10);
    esme.handle_data(t1, &enquire_link_resp_with(2, 100));
    events(&mut esme);
    esme.handle_timeout(t0 + FORGET_AFTER);
    assert_eq!(esme.pace(), Pace::BackOff);
    esme.handle_timeout(t1 + FORGET_AFTER);
    assert_eq!(
        events(&mut esme),
        vec![Event::CongestionForgotten {
            previous: Pace::BackOff
        }]
    );
    assert_eq!(esme.pace(), Pace::Full);
    assert_eq!(esme.window_size(), 10);
    assert_eq!(esme.poll_timeout(), None, "nothing left to forget");
}

#[test]
fn enquire_link_unanswered_twice_kills_the_link_and_reports_what_was_in_flight() {
    let t0 = Instant::now();
    let every = Duration::from_secs(30);
    let config = Config {
        enquire_link_interval: Some(every),
        response_timeout: Some(Duration::from_secs(100)),
        ..client_config()
    };
    let (mut esme, _smsc) = bound_pair(config, SMPP_3_4, SMPP_3_4, t0);
    esme.submit(t0, 42, submit_sm("x")).unwrap();
    sent(&mut esme);
    assert_eq!(esme.poll_timeout(), Some(t0 + every));
    esme.handle_timeout(t0 + every);
    let first = sent(&mut esme);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].pdu, Ok(Pdu::EnquireLink));
    esme.handle_timeout(t0 + every * 2);
    assert_eq!(sent(&mut esme).len(), 1, "the second enquire_link");
    assert!(events(&mut esme).is_empty());
    esme.handle_timeout(t0 + every * 3);
    assert_eq!(
        events(&mut esme),
        vec![
            Event::Outcome {
                id: 42,
                outcome: Outcome::Unanswered(Unanswered::Closed(CloseReason::LinkDead))
            },
            Event::Closed(CloseReason::LinkDead),
        ]
    );
}

#[test]
fn an_answered_enquire_link_keeps_the_link() {
    let t0 = Instant::now();
    let every = Duration::from_secs(1);
    let config = Config {
        enquire_link_interval: Some(every),
        ..client_config()
    };
    let (mut esme, mut smsc) = bound_pair(config, SMPP_3_4, SMPP_3_4, t0);
    for i in 1..=10u32 {
        esme.handle_timeout(t0 + every * i);
        pump(&mut esme, &mut smsc, t0 + every * i);
        pump(&mut smsc, &mut esme, t0 + every * i);
    }
    assert_eq!(esme.state(), State::Bound(BindKind::Transceiver));
    assert!(events(&mut esme).is_empty());
}

#[test]
fn the_peers_enquire_link_is_answered_in_any_state_even_with_a_body() {
    let t0 = Instant::now();
    let mut smsc = Session::server(Config::server());
    // Before any bind, and with a TLV SMPP does not define there.
    smsc.handle_data(t0, &raw(0x15, 0, 7, &[0x04, 0x28, 0, 1, 50]));
    smsc.handle_data(t0, &raw(0x15, 0, 8, &[]));
    let answers = sent(&mut smsc);
    assert_eq!(
        answers
            .iter()
            .map(|f| (f.header.command_id, f.header.sequence_number))
            .collect::<Vec<_>>(),
        vec![
            (CommandId::EnquireLinkResp, 7),
            (CommandId::EnquireLinkResp, 8)
        ]
    );
    let mut esme = Session::client(client_config(), &bind(SMPP_3_4), t0).unwrap();
    sent(&mut esme);
    esme.handle_data(t0, &raw(0x15, 0, 9, &[]));
    assert_eq!(
        sent(&mut esme)[0].header.command_id,
        CommandId::EnquireLinkResp
    );
}

#[test]
fn garbage_gets_a_generic_nack_and_the_link_goes_on() {
    let t0 = Instant::now();
    let mut smsc = Session::server(Config::server());
    // Before a bind: an unknown command, a submit_sm.
    smsc.handle_data(t0, &raw(0x0000_0777, 0, 1, &[1, 2, 3]));
    smsc.handle_data(t0, &raw(0x0000_0004, 0, 2, &[0; 17]));
    let answers = sent(&mut smsc);
    assert_eq!(answers[0].header.command_id, CommandId::GenericNack);
    assert_eq!(answers[0].header.command_status, ESME_RINVBNDSTS);
    assert_eq!(answers[0].header.sequence_number, 1);
    assert_eq!(answers[1].header.command_id, CommandId::SubmitSmResp);
    assert_eq!(answers[1].header.command_status, ESME_RINVBNDSTS);

    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    // Bound: an unknown command, a body that does not decode, a command not served.
    smsc.handle_data(t0, &raw(0x0000_0777, 0, 3, &[]));
    smsc.handle_data(t0, &raw(0x0000_0004, 0, 4, b"W"));
    smsc.handle_data(t0, &raw(0x0000_0003, 0, 5, &[0; 17]));
    let answers = sent(&mut smsc);
    let got: Vec<(CommandId, u32, u32)> = answers
        .iter()
        .map(|f| {
            (
                f.header.command_id,
                f.header.command_status,
                f.header.sequence_number,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (CommandId::GenericNack, 0x03, 3),
            (CommandId::GenericNack, 0x02, 4),
            (CommandId::GenericNack, 0x03, 5),
        ]
    );
    assert_eq!(smsc.stats().generic_nacks_sent, 3);
    assert_eq!(smsc.state(), State::Bound(BindKind::Transceiver));
    // The link is still in step: a submit_sm after all that is served.
    esme.submit(t0, 1, submit_sm("after")).unwrap();
    pump(&mut esme, &mut smsc, t0);
    assert_eq!(submits(&mut smsc).len(), 1);
    // A second bind on a bound session.
    smsc.handle_data(t0, &raw(0x0000_0009, 0, 6, b"x\0y\0z\0\x34\0\0\0"));
    let answer = sent(&mut smsc);
    assert_eq!(answer[0].header.command_id, CommandId::BindTransceiverResp);
    assert_eq!(answer[0].header.command_status, 0x05);
    // A length that is no PDU: the stream cannot be followed.
    esme.handle_data(t0, &[0, 0, 0, 3, 0, 0, 0, 0]);
    assert_eq!(
        events(&mut esme).last(),
        Some(&Event::Closed(CloseReason::Framing(FrameError::TooShort(
            3
        ))))
    );
}

#[test]
fn unbind_by_the_client_closes_both_ends() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    esme.submit(t0, 1, submit_sm("x")).unwrap();
    pump(&mut esme, &mut smsc, t0);
    let seq = submits(&mut smsc)[0];
    esme.unbind(t0);
    assert_eq!(esme.state(), State::Unbinding);
    assert_eq!(esme.submit_ready(t0), Ready::No);
    // The answer to the submit still counts while the unbind is under way.
    smsc.respond_submit_sm(seq, ESME_ROK, "M").unwrap();
    pump(&mut esme, &mut smsc, t0);
    assert_eq!(
        events(&mut smsc),
        vec![Event::Closed(CloseReason::UnboundByPeer)]
    );
    pump(&mut smsc, &mut esme, t0);
    assert_eq!(
        events(&mut esme),
        vec![
            Event::Outcome {
                id: 1,
                outcome: Outcome::Accepted {
                    message_id: "M".into()
                }
            },
            Event::Closed(CloseReason::Unbound),
        ]
    );
}

#[test]
fn unbind_by_the_server_is_answered_and_in_flight_requests_are_unanswered() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    esme.submit(t0, 5, submit_sm("x")).unwrap();
    pump(&mut esme, &mut smsc, t0);
    smsc.unbind(t0);
    pump(&mut smsc, &mut esme, t0);
    assert_eq!(
        events(&mut esme),
        vec![
            Event::Outcome {
                id: 5,
                outcome: Outcome::Unanswered(Unanswered::Closed(CloseReason::UnboundByPeer))
            },
            Event::Closed(CloseReason::UnboundByPeer),
        ]
    );
    pump(&mut esme, &mut smsc, t0);
    assert_eq!(
        events(&mut smsc).last(),
        Some(&Event::Closed(CloseReason::Unbound))
    );
}

#[test]
fn an_unanswered_unbind_closes_after_its_timeout_and_an_unbound_session_at_once() {
    let t0 = Instant::now();
    let (mut esme, _smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    esme.unbind(t0);
    assert_eq!(esme.poll_timeout(), Some(t0 + UNBIND_TIMEOUT));
    esme.handle_timeout(t0 + UNBIND_TIMEOUT);
    assert_eq!(events(&mut esme), vec![Event::Closed(CloseReason::Unbound)]);

    let mut smsc = Session::server(Config::server());
    smsc.unbind(t0);
    assert!(smsc.is_closed());
    assert!(sent(&mut smsc).is_empty(), "nothing to unbind");
}

#[test]
fn a_lost_connection_reports_what_was_in_flight() {
    let t0 = Instant::now();
    let (mut esme, _smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    esme.submit(t0, 1, submit_sm("a")).unwrap();
    esme.submit(t0, 2, submit_sm("b")).unwrap();
    esme.connection_lost();
    let lost = Outcome::Unanswered(Unanswered::Closed(CloseReason::ConnectionLost));
    assert_eq!(
        events(&mut esme),
        vec![
            Event::Outcome {
                id: 1,
                outcome: lost.clone()
            },
            Event::Outcome {
                id: 2,
                outcome: lost
            },
            Event::Closed(CloseReason::ConnectionLost),
        ]
    );
    assert_eq!(
        esme.submit(t0, 3, submit_sm("c")),
        Err(SessionError::NotBound)
    );
}

#[test]
fn sequence_numbers_wrap_after_0x7fffffff() {
    let t0 = Instant::now();
    let (esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    let mut esme = esme.with_first_sequence_number(MAX_SEQUENCE_NUMBER);
    assert_eq!(esme.submit(t0, 1, submit_sm("a")), Ok(MAX_SEQUENCE_NUMBER));
    assert_eq!(esme.submit(t0, 2, submit_sm("b")), Ok(1));
    pump(&mut esme, &mut smsc, t0);
    let seqs = submits(&mut smsc);
    assert_eq!(seqs, vec![MAX_SEQUENCE_NUMBER, 1]);
    for seq in seqs {
        smsc.respond_submit_sm(seq, ESME_ROK, &format!("M{seq}"))
            .unwrap();
    }
    pump(&mut smsc, &mut esme, t0);
    assert_eq!(outcomes(&mut esme).len(), 2);
}

fn deliver_sm(text: &str) -> DeliverSm {
    DeliverSm::builder()
        .short_message(OctetString::from_vec(text.as_bytes().to_vec()).unwrap())
        .build()
}

#[test]
fn deliver_sm_is_answered_when_the_application_says_and_its_outcome_reported() {
    let t0 = Instant::now();
    let (mut esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    assert_eq!(
        esme.deliver(t0, 1, deliver_sm("x")),
        Err(SessionError::WrongRole)
    );
    smsc.deliver(t0, 100, deliver_sm("receipt 1")).unwrap();
    smsc.deliver(t0, 101, deliver_sm("receipt 2")).unwrap();
    pump(&mut smsc, &mut esme, t0);
    let delivered: Vec<u32> = events(&mut esme)
        .into_iter()
        .filter_map(|e| match e {
            Event::DeliverSm {
                sequence_number, ..
            } => Some(sequence_number),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 2);
    assert!(sent(&mut esme).is_empty(), "answered only when told");
    esme.respond_deliver_sm(delivered[1], ESME_RX_T_APPN)
        .unwrap();
    esme.respond_deliver_sm(delivered[0], ESME_ROK).unwrap();
    assert_eq!(
        esme.respond_deliver_sm(delivered[0], ESME_ROK),
        Err(SessionError::NotPending(delivered[0]))
    );
    pump(&mut esme, &mut smsc, t0);
    assert_eq!(
        outcomes(&mut smsc),
        vec![
            (
                101,
                Outcome::Transient {
                    status: ESME_RX_T_APPN
                }
            ),
            (
                100,
                Outcome::Accepted {
                    message_id: String::new()
                }
            ),
        ]
    );
}

#[test]
fn bind_kinds_limit_what_goes_which_way() {
    let t0 = Instant::now();
    let mut transmitter = bind(SMPP_3_4);
    transmitter.kind = BindKind::Transmitter;
    let mut esme = Session::client(client_config(), &transmitter, t0).unwrap();
    let mut smsc = Session::server(Config::server());
    pump(&mut esme, &mut smsc, t0);
    let Some(Event::BindRequested {
        sequence_number,
        request,
    }) = smsc.poll_event()
    else {
        panic!()
    };
    assert_eq!(request.kind, BindKind::Transmitter);
    smsc.answer_bind(sequence_number, ESME_ROK, "smsc", Some(SMPP_3_4))
        .unwrap();
    pump(&mut smsc, &mut esme, t0);
    assert_eq!(esme.state(), State::Bound(BindKind::Transmitter));
    assert_eq!(
        smsc.deliver(t0, 1, deliver_sm("x")),
        Err(SessionError::NotBound),
        "a transmitter bind receives nothing"
    );

    let mut receiver = bind(SMPP_3_4);
    receiver.kind = BindKind::Receiver;
    let mut esme = Session::client(client_config(), &receiver, t0).unwrap();
    let mut smsc = Session::server(Config::server());
    pump(&mut esme, &mut smsc, t0);
    let Some(Event::BindRequested {
        sequence_number, ..
    }) = smsc.poll_event()
    else {
        panic!()
    };
    smsc.answer_bind(sequence_number, ESME_ROK, "smsc", Some(SMPP_3_4))
        .unwrap();
    pump(&mut smsc, &mut esme, t0);
    assert_eq!(esme.submit_ready(t0), Ready::No);
    assert_eq!(
        esme.submit(t0, 1, submit_sm("x")),
        Err(SessionError::NotBound)
    );
    // A submit_sm on a receiver bind anyway: refused by the server's session.
    smsc.handle_data(t0, &{
        let mut out = Vec::new();
        frame::encode(
            &Command::new(CommandStatus::EsmeRok, 9, submit_sm("x")),
            &mut out,
        );
        out
    });
    let answer = sent(&mut smsc);
    assert_eq!(answer[0].header.command_id, CommandId::SubmitSmResp);
    assert_eq!(answer[0].header.command_status, ESME_RINVBNDSTS);
    assert!(events(&mut smsc).is_empty());
}

#[test]
fn bad_settings_and_wrong_calls_are_errors_not_panics() {
    let t0 = Instant::now();
    let mut long = bind(SMPP_3_4);
    long.password = "much too long".into();
    assert_eq!(
        Session::client(client_config(), &long, t0).err(),
        Some(SessionError::Field("password"))
    );
    let mut smsc = Session::server(Config::server());
    assert_eq!(
        smsc.answer_bind(1, ESME_ROK, "smsc", None),
        Err(SessionError::NotPending(1))
    );
    assert_eq!(
        smsc.submit(t0, 1, submit_sm("x")),
        Err(SessionError::WrongRole)
    );
    let (_esme, mut smsc) = bound_pair(client_config(), SMPP_3_4, SMPP_3_4, t0);
    assert_eq!(
        smsc.respond_submit_sm(77, ESME_ROK, "M"),
        Err(SessionError::NotPending(77))
    );
}

#[test]
fn durations_too_long_for_the_clock_mean_never() {
    let t0 = Instant::now();
    let config = Config {
        response_timeout: Some(Duration::MAX),
        enquire_link_interval: Some(Duration::MAX),
        unbind_timeout: Duration::MAX,
        ..client_config()
    };
    let (mut esme, _smsc) = bound_pair(config, SMPP_3_4, SMPP_3_4, t0);
    esme.submit(t0, 1, submit_sm("x")).unwrap();
    assert_eq!(esme.poll_timeout(), None);
    esme.unbind(t0);
    assert_eq!(esme.poll_timeout(), None);
    esme.handle_timeout(t0 + Duration::from_secs(3600));
    assert_eq!(esme.state(), State::Unbinding);
}
