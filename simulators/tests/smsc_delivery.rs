//! The simulated SMSC delivering to attached handsets, driven over a real SMPP bind on loopback
//! by a minimal ESME: WAP pushes in segments (in and out of order), text in each coding,
//! undecodable pushes, and what the delivery receipts say; and the SMSC stopped (a crash) and
//! started again on the same address.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otagw_codecs::wap::push::{sms_segments, ConcatReference, PushContent, WapPush};
use otagw_codecs::wap::wbxml::{ServiceIndication, ServiceLoading, SiAction, SlAction};
use otagw_sim::handset::push::{next_url, target_url, Deliveries, Delivery};
use otagw_sim::smsc::{Smsc, SmscConfig, SmscHandle};
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::types::{COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, InterfaceVersion, Npi, RegisteredDelivery, ServiceType, Ton,
};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const MDN: &str = "6195550101";
const WAIT: Duration = Duration::from_secs(10);

/// A receipt: (stat, err) from its text.
type Receipt = (String, String);

/// A bound ESME that submits one message at a time and collects the receipts it gets.
struct Esme {
    link: Framed<TcpStream, rusmpp::tokio_codec::CommandCodec>,
    seq: u32,
    receipts: HashMap<String, Receipt>,
}

fn c<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_string(s.to_string()).unwrap()
}

impl Esme {
    async fn bind(smsc: &SmscHandle) -> Self {
        let tcp = TcpStream::connect(smsc.addr()).await.unwrap();
        let mut link = Framed::new(tcp, rusmpp::tokio_codec::CommandCodec::new());
        let bind = BindTransceiver::builder()
            .system_id(c("otagw"))
            .password(c("secret"))
            .system_type(c("OTA"))
            .interface_version(InterfaceVersion::Smpp3_4)
            .build();
        link.send(Command::new(CommandStatus::EsmeRok, 1, bind))
            .await
            .unwrap();
        let resp = tokio::time::timeout(WAIT, link.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(resp.id(), CommandId::BindTransceiverResp);
        assert_eq!(resp.status(), CommandStatus::EsmeRok);
        Self {
            link,
            seq: 1,
            receipts: HashMap::new(),
        }
    }

    /// Reads one PDU; a deliver_sm (a receipt) is recorded and answered.
    async fn read(&mut self) -> Command {
        let cmd = tokio::time::timeout(WAIT, self.link.next())
            .await
            .expect("a PDU in time")
            .unwrap()
            .unwrap();
        if let Some(Pdu::DeliverSm(sm)) = cmd.pdu() {
            let text = String::from_utf8_lossy(sm.short_message().as_ref()).into_owned();
            let field = |name: &str| {
                text.split_ascii_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .unwrap()
                    .to_string()
            };
            self.receipts
                .insert(field("id:"), (field("stat:"), field("err:")));
            let resp = DeliverSmResp::new(COctetString::empty(), Vec::new());
            self.link
                .send(Command::new(
                    CommandStatus::EsmeRok,
                    cmd.sequence_number(),
                    resp,
                ))
                .await
                .unwrap();
        }
        cmd
    }

    /// Submits one short message to `to`; returns its message_id.
    async fn submit(&mut self, to: &str, esm_class: u8, data_coding: u8, sm: &[u8]) -> String {
        self.send_submit(to, esm_class, data_coding, sm).await;
        loop {
            let cmd = self.read().await;
            if cmd.id() == CommandId::SubmitSmResp && cmd.sequence_number() == self.seq {
                assert_eq!(cmd.status(), CommandStatus::EsmeRok);
                let Some(Pdu::SubmitSmResp(r)) = cmd.pdu() else {
                    panic!("{cmd:?}");
                };
                return r.message_id().as_str().to_string();
            }
        }
    }

    /// Sends a submit_sm of one short message to `to` without waiting for its answer.
    async fn send_submit(&mut self, to: &str, esm_class: u8, data_coding: u8, sm: &[u8]) {
        self.seq += 1;
        let pdu = SubmitSm::builder()
            .service_type(ServiceType::null())
            .source_addr_ton(Ton::Unknown)
            .source_addr_npi(Npi::Unknown)
            .source_addr(c("OTAF"))
            .dest_addr_ton(Ton::Unknown)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(c(to))
            .esm_class(EsmClass::from(esm_class))
            .protocol_id(0)
            .schedule_delivery_time(EmptyOrFullCOctetString::empty())
            .validity_period(EmptyOrFullCOctetString::empty())
            .registered_delivery(RegisteredDelivery::from(1u8))
            .data_coding(DataCoding::from(data_coding))
            .short_message(OctetString::from_vec(sm.to_vec()).unwrap())
            .build();
        self.link
            .send(Command::new(CommandStatus::EsmeRok, self.seq, pdu))
            .await
            .unwrap();
    }

    /// The receipt of `message_id`, waiting for it.
    async fn receipt(&mut self, message_id: &str) -> Receipt {
        loop {
            if let Some(r) = self.receipts.get(message_id) {
                return r.clone();
            }
            self.read().await;
        }
    }
}

async fn smsc() -> SmscHandle {
    Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            receipt_delay: Duration::from_millis(5),
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap()
}

fn delivered() -> Receipt {
    ("DELIVRD".into(), "000".into())
}

fn sl(href: &str) -> WapPush {
    WapPush {
        tid: 7,
        content: PushContent::Sl(ServiceLoading {
            href: href.into(),
            action: SlAction::ExecuteHigh,
        }),
    }
}

async fn nothing_more(deliveries: &mut Deliveries) {
    let more = tokio::time::timeout(Duration::from_millis(200), deliveries.recv()).await;
    assert!(more.is_err(), "nothing else delivered: {more:?}");
}

#[tokio::test]
async fn a_multi_segment_service_loading_reaches_the_attached_handset_in_any_order() {
    let smsc = smsc().await;
    let mut esme = Esme::bind(&smsc).await;
    let mut deliveries = smsc.attach(MDN);
    let href = format!("http://127.0.0.1:8181/iota/otapa/{}", "t0ken".repeat(50));
    let push = sl(&href);
    let segs = sms_segments(&push.encode().unwrap(), ConcatReference::Eight(0x5A)).unwrap();
    assert_eq!(segs.len(), 3, "the push needs several segments");

    // In order.
    let mut ids = Vec::new();
    for s in &segs {
        ids.push(esme.submit(MDN, 0x40, 0x04, s).await);
    }
    let got = tokio::time::timeout(WAIT, deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Delivery::Push(push.clone()));
    let Delivery::Push(p) = &got else {
        unreachable!()
    };
    assert_eq!(target_url(p), Some(href.as_str()));
    for id in &ids {
        assert_eq!(esme.receipt(id).await, delivered());
    }

    // Out of order, another reference, and another push interleaved from a second MDN that
    // has no handset attached (its segments must not disturb this one).
    let second = sl("http://127.0.0.1:8181/iota/otapa/second");
    let long_second = sl(&format!("{href}/again"));
    let segs = sms_segments(
        &long_second.encode().unwrap(),
        ConcatReference::Sixteen(0x1234),
    )
    .unwrap();
    let stray = sms_segments(&second.encode().unwrap(), ConcatReference::Eight(0x5A)).unwrap();
    esme.submit(MDN, 0x40, 0x04, &segs[2]).await;
    esme.submit("6195550102", 0x40, 0x04, &stray[0]).await;
    esme.submit(MDN, 0x40, 0x04, &segs[0]).await;
    nothing_more(&mut deliveries).await;
    esme.submit(MDN, 0x40, 0x04, &segs[1]).await;
    let url = next_url(&mut deliveries, WAIT).await;
    assert_eq!(url, Some(format!("{href}/again")));
    nothing_more(&mut deliveries).await;
    // The raw record still has every segment.
    assert_eq!(smsc.messages().len(), 3 + 4);
}

#[tokio::test]
async fn texts_arrive_as_text_in_each_coding() {
    let smsc = smsc().await;
    let mut esme = Esme::bind(&smsc).await;
    let mut deliveries = smsc.attach(MDN);
    let cases: [(u8, Vec<u8>, &str); 4] = [
        (
            0x00,
            b"Welcome! Your phone is being activated.".to_vec(),
            "Welcome! Your phone is being activated.",
        ),
        (0x01, b"IA5 text".to_vec(), "IA5 text"),
        (
            0x03,
            b"Bienvenue \xE0 bord".to_vec(),
            "Bienvenue \u{e0} bord",
        ),
        (
            0x08,
            "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}"
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect(),
            "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
        ),
    ];
    for (coding, octets, want) in cases {
        let id = esme.submit(MDN, 0x00, coding, &octets).await;
        let got = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, Delivery::Text(want.into()), "data_coding {coding}");
        assert_eq!(esme.receipt(&id).await, delivered());
    }
    // A text followed by a push: both arrive, in order; next_url skips the text.
    esme.submit(MDN, 0x00, 0x00, b"Hello").await;
    let si = WapPush {
        tid: 1,
        content: PushContent::Si(ServiceIndication {
            href: Some("http://127.0.0.1:8181/iota/activate/abc".into()),
            action: SiAction::SignalHigh,
            text: Some("Activate".into()),
            ..Default::default()
        }),
    };
    let seg = sms_segments(&si.encode().unwrap(), ConcatReference::Eight(1)).unwrap();
    assert_eq!(seg.len(), 1);
    esme.submit(MDN, 0x40, 0x04, &seg[0]).await;
    assert_eq!(
        next_url(&mut deliveries, WAIT).await.as_deref(),
        Some("http://127.0.0.1:8181/iota/activate/abc")
    );
}

#[tokio::test]
async fn an_undecodable_message_is_not_delivered_and_its_receipt_says_undeliv() {
    let smsc = smsc().await;
    let mut esme = Esme::bind(&smsc).await;
    let mut deliveries = smsc.attach(MDN);
    let refused = ("UNDELIV".to_string(), "002".to_string());

    // Ports 2948/9200 but a body that is no WSP push.
    let mut garbage = vec![0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0];
    garbage.extend_from_slice(&[0x01, 0x06, 0x03, 0xAE, 0xAF, 0x82, 0xFF, 0xFF]);
    let id = esme.submit(MDN, 0x40, 0x04, &garbage).await;
    assert_eq!(esme.receipt(&id).await, refused);

    // A two-segment push whose reassembled body does not decode: the first segment is
    // DELIVRD (kept), the one that completes it UNDELIV.
    let mut bad_body = vec![0x07, 0x06, 0x03, 0xB0, 0xAF, 0x82, 0x03, 0x06, 0x6A, 0x00];
    bad_body.extend_from_slice(&[0xEE; 200]);
    let segs = sms_segments(&bad_body, ConcatReference::Eight(3)).unwrap();
    assert_eq!(segs.len(), 2);
    let first = esme.submit(MDN, 0x40, 0x04, &segs[0]).await;
    let second = esme.submit(MDN, 0x40, 0x04, &segs[1]).await;
    assert_eq!(esme.receipt(&first).await, delivered());
    assert_eq!(esme.receipt(&second).await, refused);

    // A duplicate segment, text invalid in its coding, binary without ports.
    let good = sms_segments(
        &sl(&format!("http://127.0.0.1/{}", "y".repeat(150)))
            .encode()
            .unwrap(),
        ConcatReference::Eight(4),
    )
    .unwrap();
    esme.submit(MDN, 0x40, 0x04, &good[0]).await;
    let dup = esme.submit(MDN, 0x40, 0x04, &good[0]).await;
    assert_eq!(esme.receipt(&dup).await, refused);
    let bad_ucs2 = esme.submit(MDN, 0x00, 0x08, &[0x00, 0x41, 0x00]).await;
    assert_eq!(esme.receipt(&bad_ucs2).await, refused);
    let bad_ascii = esme.submit(MDN, 0x00, 0x00, b"caf\xE9").await;
    assert_eq!(esme.receipt(&bad_ascii).await, refused);
    let binary = esme.submit(MDN, 0x00, 0x04, b"\x01\x02").await;
    assert_eq!(esme.receipt(&binary).await, refused);
    nothing_more(&mut deliveries).await;

    // The refusals left the pending push alone: its last segment completes it.
    for s in &good[1..] {
        esme.submit(MDN, 0x40, 0x04, s).await;
    }
    assert_eq!(
        next_url(&mut deliveries, WAIT).await,
        Some(format!("http://127.0.0.1/{}", "y".repeat(150)))
    );
}

#[tokio::test]
async fn unattached_addresses_get_delivrd_unless_the_smsc_is_strict() {
    let smsc = smsc().await;
    let mut esme = Esme::bind(&smsc).await;
    // A stand-in payload to a made-up number: DELIVRD, nothing decoded.
    let id = esme
        .submit(
            "12125550000",
            0x40,
            0x04,
            b"\x06\x05\x04\x0B\x84\x23\xF0junk",
        )
        .await;
    assert_eq!(esme.receipt(&id).await, delivered());

    smsc.set_unknown_subscribers_undeliverable(true);
    let id = esme.submit("12125550000", 0x00, 0x00, b"hi").await;
    assert_eq!(esme.receipt(&id).await, ("UNDELIV".into(), "001".into()));

    // A handset that dropped its end is no longer attached.
    let deliveries = smsc.attach(MDN);
    drop(deliveries);
    let id = esme.submit(MDN, 0x00, 0x00, b"hi").await;
    assert_eq!(esme.receipt(&id).await, ("UNDELIV".into(), "001".into()));

    // A later attach replaces the earlier one: only the new channel gets the message.
    let mut old = smsc.attach(MDN);
    let mut new = smsc.attach(MDN);
    let id = esme.submit(MDN, 0x00, 0x00, b"to the new one").await;
    assert_eq!(esme.receipt(&id).await, delivered());
    assert_eq!(
        tokio::time::timeout(WAIT, new.recv()).await.unwrap(),
        Some(Delivery::Text("to the new one".into()))
    );
    assert_eq!(old.recv().await, None, "the replaced channel is closed");
}

/// What the ESME's link yields next, waiting at most [`WAIT`].
async fn next_on(
    link: &mut Framed<TcpStream, rusmpp::tokio_codec::CommandCodec>,
) -> Option<Result<Command, rusmpp::tokio_codec::DecodeError>> {
    tokio::time::timeout(WAIT, link.next())
        .await
        .expect("the link yields something in time")
}

fn is_reset(next: &Option<Result<Command, rusmpp::tokio_codec::DecodeError>>) -> bool {
    matches!(
        next,
        Some(Err(rusmpp::tokio_codec::DecodeError::Io(e)))
            if e.kind() == std::io::ErrorKind::ConnectionReset
    )
}

#[tokio::test]
async fn a_stopped_smsc_resets_its_binds_and_loses_its_receipts_and_a_restart_starts_afresh() {
    let config = SmscConfig {
        // Receipts still owed when the SMSC stops.
        receipt_delay: Duration::from_secs(30),
        ..SmscConfig::default()
    };
    let first = Smsc::start("127.0.0.1:0".parse().unwrap(), config.clone())
        .await
        .unwrap();
    let addr = first.addr();
    let mut deliveries = first.attach(MDN);
    let mut esme = Esme::bind(&first).await;
    let old_id = esme.submit(MDN, 0x00, 0x00, b"before").await;
    assert_eq!(
        deliveries.recv().await,
        Some(Delivery::Text("before".into()))
    );
    // Then it hangs: a submit_sm is taken (recorded, delivered) but never answered.
    first.set_withhold_responses(true);
    esme.send_submit(MDN, 0x00, 0x00, b"unanswered").await;
    assert_eq!(
        deliveries.recv().await,
        Some(Delivery::Text("unanswered".into()))
    );
    let withheld = first.responses_withheld();
    assert_eq!(withheld.len(), 1);
    assert_eq!(first.messages()[1].message_id, withheld[0]);
    // A connection that has not bound yet.
    let mut idle = Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        rusmpp::tokio_codec::CommandCodec::new(),
    );
    assert_eq!(first.binds_up(), 1);

    first.stop().await;
    assert!(first.is_stopped());
    assert_eq!(first.binds_up(), 0);
    let next = next_on(&mut esme.link).await;
    assert!(
        is_reset(&next),
        "the bind is reset, not unbound, and the withheld answer never comes: {next:?}"
    );
    let next = next_on(&mut idle).await;
    assert!(is_reset(&next), "{next:?}");
    assert_eq!(
        deliveries.recv().await,
        None,
        "the handset's channel closed"
    );
    let refused = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // What it recorded stays readable; the receipt it owed is gone.
    assert_eq!(first.messages().len(), 2);
    assert_eq!(first.receipts_sent(), 0);
    first.stop().await;

    // A new instance on the same address knows nothing of the old one.
    let second = Smsc::start(
        addr,
        SmscConfig {
            receipt_delay: Duration::from_millis(5),
            ..config
        },
    )
    .await
    .expect("the address is free at once");
    assert_eq!(second.addr(), addr);
    let mut deliveries = second.attach(MDN);
    let mut esme = Esme::bind(&second).await;
    let new_id = esme.submit(MDN, 0x00, 0x00, b"after").await;
    assert!(
        u64::from_str_radix(&new_id, 16).unwrap() > u64::from_str_radix(&old_id, 16).unwrap(),
        "{old_id} then {new_id}"
    );
    assert_eq!(
        deliveries.recv().await,
        Some(Delivery::Text("after".into()))
    );
    assert_eq!(esme.receipt(&new_id).await, delivered());
    assert!(!esme.receipts.contains_key(&old_id));
    assert_eq!(second.messages().len(), 1);
    assert_eq!(second.binds_accepted(), 1);
}

#[tokio::test]
async fn an_smsc_restarts_on_its_port_at_once_however_its_connections_ended() {
    let mut addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut ids = std::collections::HashSet::new();
    for round in 0..30 {
        let smsc = Smsc::start(
            addr,
            SmscConfig {
                receipt_delay: Duration::from_millis(1),
                ..SmscConfig::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("restart {round} on {addr}: {e}"));
        addr = smsc.addr();
        let mut esme = Esme::bind(&smsc).await;
        let id = esme.submit(MDN, 0x00, 0x00, b"hello").await;
        assert!(ids.insert(id), "message ids are unique across instances");
        if round % 2 == 0 {
            // The SMSC closes first (FIN, not RST): its side of the connection is left in
            // TIME_WAIT, which SO_REUSEADDR lets the next listener bind past.
            smsc.drop_binds();
            loop {
                match next_on(&mut esme.link).await {
                    None => break,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => panic!("a graceful close, not {e:?}"),
                }
            }
            drop(esme);
        }
        smsc.stop().await;
    }
    assert_eq!(ids.len(), 30);
}
