//! The simulated SS7 network over real sockets, driven by a minimal hand-written M3UA ASP (the
//! gateway's side): handshake, heartbeat, IS-725-A operations, faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use otagw_codecs::ansi41::{
    self, action_code, service_indicator, teleservice, Ansi41Parameters, Msid, ReturnErrorCode,
    SmdppInvoke, SmdppResult, SmsRequest, SmsRequestResult,
};
use otagw_codecs::identity::{DeviceId, Esn, Min};
use otagw_codecs::is637;
use otagw_codecs::is683::{ForwardMessage, ProtocolCapabilityRequest, ReverseMessage};
use otagw_codecs::m3ua::{
    frame_len, AspActive, AspUp, Data, Heartbeat, Message, PointCode, ProtocolData, TrafficMode,
};
use otagw_codecs::sccp::{ProtocolClass, SccpAddress, SccpMessage, Unitdata, Variant};
use otagw_codecs::tcap::{Component, Package, TcapMessage};
use otagw_codecs::wap::push::{PushContent, WapPush};
use otagw_codecs::wap::wbxml::{ServiceLoading, SlAction};
use otagw_sim::handset::push::next_url;
use otagw_sim::handset::{Handset, HandsetConfig};
use otagw_sim::ss7::{
    CallState, Network, NetworkConfig, DEFAULT_MSCID, GATEWAY_POINT_CODE, GATEWAY_SSN,
    HLR_POINT_CODE, HLR_SSN, MSC_POINT_CODE, MSC_SSN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

/// The gateway's side of one association, as little as the tests need.
struct Asp {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Asp {
    async fn connect(network: &Network) -> Self {
        let stream = TcpStream::connect(network.stp().addr()).await.unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects and brings the ASP to ASP-ACTIVE (loadshare, routing context 1).
    async fn active(network: &Network) -> Self {
        let mut asp = Self::connect(network).await;
        asp.send(&Message::AspUp(AspUp {
            asp_identifier: Some(7),
            ..AspUp::default()
        }))
        .await;
        let Message::AspUpAck(ack) = asp.recv().await else {
            panic!("no ASPUP ACK")
        };
        assert_eq!(ack.asp_identifier, Some(7));
        asp.send(&Message::AspAc(AspActive {
            traffic_mode: Some(TrafficMode::Loadshare),
            routing_context: Some(vec![1]),
            ..AspActive::default()
        }))
        .await;
        let Message::AspAcAck(ack) = asp.recv().await else {
            panic!("no ASPAC ACK")
        };
        assert_eq!(ack.traffic_mode, Some(TrafficMode::Loadshare));
        assert_eq!(ack.routing_context, Some(vec![1]));
        assert!(matches!(asp.recv().await, Message::Ntfy(_)));
        asp
    }

    async fn send(&mut self, m: &Message) {
        self.send_raw(&m.encode().unwrap()).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next message, or None when the STP closed the connection.
    async fn try_recv(&mut self) -> Option<Message> {
        loop {
            if let Some(n) = frame_len(&self.buf).unwrap() {
                if self.buf.len() >= n {
                    let frame: Vec<u8> = self.buf.drain(..n).collect();
                    return Some(Message::decode(&frame).unwrap());
                }
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("the STP said nothing in 5 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn recv(&mut self) -> Message {
        self.try_recv()
            .await
            .expect("the STP closed the association")
    }

    /// Sends a QueryWithPermission carrying one Invoke to the MSC; returns the TCAP answer.
    async fn invoke<P: Ansi41Parameters>(&mut self, p: &P, otid: u32) -> TcapMessage {
        self.invoke_at(MSC_POINT_CODE, MSC_SSN, p, otid).await
    }

    /// Sends a QueryWithPermission carrying one Invoke to `dpc`/`ssn`; returns the TCAP answer.
    async fn invoke_at<P: Ansi41Parameters>(
        &mut self,
        dpc: PointCode,
        ssn: u8,
        p: &P,
        otid: u32,
    ) -> TcapMessage {
        let tcap = TcapMessage {
            package: Package::Query {
                with_permission: true,
                otid: otid.to_be_bytes(),
            },
            components: vec![ansi41::invoke(p, 1).unwrap()],
            dialogue: None,
        };
        self.send(&data(dpc, ssn, tcap.encode().unwrap())).await;
        let Message::Data(d) = self.recv().await else {
            panic!("expected DATA")
        };
        assert_eq!(d.routing_context, Some(vec![1]));
        let pd = d.protocol_data;
        assert_eq!(
            (pd.opc, pd.dpc, pd.si, pd.ni),
            (dpc, GATEWAY_POINT_CODE, 3, 2)
        );
        let SccpMessage::Udt(u) = SccpMessage::decode(&pd.user_data, Variant::Ansi).unwrap() else {
            panic!("expected UDT")
        };
        assert_eq!(u.called.ssn, Some(GATEWAY_SSN));
        assert_eq!(u.calling.ssn, Some(ssn));
        let m = TcapMessage::decode(&u.data).unwrap();
        assert_eq!(
            m.package,
            Package::Response {
                dtid: otid.to_be_bytes()
            }
        );
        m
    }
}

/// DATA from the gateway to `dpc`/`ssn` carrying `tcap` in a UDT.
fn data(dpc: PointCode, ssn: u8, tcap: Vec<u8>) -> Message {
    let udt = SccpMessage::Udt(Unitdata {
        protocol_class: ProtocolClass::default(),
        called: SccpAddress::ssn_pc(ssn, dpc.value()),
        calling: SccpAddress::ssn_pc(GATEWAY_SSN, GATEWAY_POINT_CODE.value()),
        data: tcap,
    });
    Message::Data(Data {
        network_appearance: None,
        routing_context: Some(vec![1]),
        protocol_data: ProtocolData {
            opc: GATEWAY_POINT_CODE,
            dpc,
            si: 3,
            ni: 2,
            mp: 0,
            sls: 0,
            user_data: udt.encode(Variant::Ansi).unwrap(),
        },
        correlation_id: None,
        extra: Vec::new(),
    })
}

fn outcome<P: Ansi41Parameters>(m: &TcapMessage) -> Result<P, ReturnErrorCode> {
    match &m.components[..] {
        [Component::ReturnResult { parameters, .. }] => {
            Ok(P::from_parameters(parameters.as_ref()).unwrap())
        }
        [Component::ReturnError { error, .. }] => {
            Err(ReturnErrorCode::from_code(error.code).unwrap())
        }
        other => panic!("{other:?}"),
    }
}

fn handset(esn: u32) -> Handset {
    Handset::new(HandsetConfig::new(DeviceId::Esn(Esn::new(esn)))).unwrap()
}

fn min(s: &str) -> Min {
    s.parse().unwrap()
}

/// IS-725-A's attach / release: an SMDPP with this ActionCode for call `trn`.
fn otasp(action: u8, trn: &str) -> SmdppInvoke {
    SmdppInvoke::otasp_action(action, Some(trn.to_owned()), service_indicator::CDMA_OTASP)
}

fn smdpp_pcr(esn: u32) -> SmdppInvoke {
    let bearer = ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None })
        .encode()
        .unwrap();
    let mut s = SmdppInvoke::new(bearer, teleservice::CMT_95);
    s.service_indicator = Some(service_indicator::CDMA_OTASP);
    s.esn = Some(Esn::new(esn));
    s
}

async fn network() -> Network {
    Network::start(NetworkConfig::default()).await.unwrap()
}

#[tokio::test]
async fn heartbeat_and_handshake_errors() {
    let net = network().await;
    let mut asp = Asp::connect(&net).await;
    // DATA before ASPUP/ASPAC is unexpected.
    asp.send(&data(MSC_POINT_CODE, MSC_SSN, vec![0xE2, 0x00]))
        .await;
    let Message::Err(e) = asp.recv().await else {
        panic!("expected ERR")
    };
    assert_eq!(e.error_code, 0x06);
    // BEAT is answered in any state, data echoed.
    asp.send(&Message::Beat(Heartbeat {
        data: Some(b"ping-1".to_vec()),
        extra: Vec::new(),
    }))
    .await;
    let Message::BeatAck(hb) = asp.recv().await else {
        panic!("expected BEAT ACK")
    };
    assert_eq!(hb.data.as_deref(), Some(&b"ping-1"[..]));
    // A message that frames but does not decode: ERR, association kept.
    asp.send_raw(&[1, 0, 1, 1, 0, 0, 0, 8]).await;
    let Message::Err(e) = asp.recv().await else {
        panic!("expected ERR")
    };
    assert_eq!(
        e.error_code, 0x16,
        "DATA without Protocol Data: missing parameter"
    );
    asp.send(&Message::Beat(Heartbeat::default())).await;
    assert!(matches!(asp.recv().await, Message::BeatAck(_)));
    assert_eq!(net.stp().counters().associations_accepted, 1);
}

#[tokio::test]
async fn attach_smdpp_release_register() {
    let net = network().await;
    let trn = net.place_otasp_call(handset(0x1A2B_3C4D), min("2125551234"));
    assert_eq!(trn, "5550001");
    let mut asp = Asp::active(&net).await;

    let m = asp
        .invoke(&otasp(action_code::ATTACH_MSC_TO_OTAF, &trn), 1)
        .await;
    let r: SmdppResult = outcome(&m).unwrap();
    assert_eq!(r.esn, Some(Esn::new(0x1A2B_3C4D)));
    assert_eq!(r.mobile_station_msid, Some(Msid::Min(min("2125551234"))));

    let m = asp.invoke(&otasp(8, "5550999"), 2).await;
    assert_eq!(
        outcome::<SmdppResult>(&m),
        Err(ReturnErrorCode::UnrecognizedParameterValue)
    );

    let m = asp.invoke(&smdpp_pcr(0x1A2B_3C4D), 3).await;
    let r: SmdppResult = outcome(&m).unwrap();
    let rev = ReverseMessage::decode(&r.bearer_data.unwrap()).unwrap();
    let ReverseMessage::ProtocolCapability(cap) = rev else {
        panic!("{rev:?}")
    };
    assert_eq!(cap.mob_model, 0x2A);

    let m = asp.invoke(&otasp(action_code::RELEASE_TRN, &trn), 4).await;
    assert!(outcome::<SmdppResult>(&m).is_ok());
    assert_eq!(net.msc().call_state(&trn), Some(CallState::Idle));
    let regs = net.hlr().registrations();
    assert_eq!(
        regs,
        [(Esn::new(0x1A2B_3C4D), min("2125551234"), DEFAULT_MSCID)]
    );
    assert_eq!(net.msc().registration_answers().results, 1);
    let h = net.msc().take_handset(&trn).unwrap();
    assert_eq!(h.reboots(), 1);
    assert_eq!(h.messages_handled(), 1);

    let c = net.stp().counters();
    assert_eq!((c.data_in, c.data_out), (4, 4));
}

#[tokio::test]
async fn dropped_handset_gets_return_error() {
    let net = network().await;
    let trn = net.place_otasp_call(handset(0x0BAD_F00D), min("2125550001"));
    let mut asp = Asp::active(&net).await;
    assert!(net.msc().drop_handset(&trn));
    let m = asp.invoke(&smdpp_pcr(0x0BAD_F00D), 1).await;
    assert_eq!(
        outcome::<SmdppResult>(&m),
        Err(ReturnErrorCode::UnrecognizedEsn)
    );
}

#[tokio::test]
async fn unknown_dpc_is_counted_and_drop_associations_closes() {
    let net = network().await;
    let mut asp = Asp::active(&net).await;
    asp.send(&data(PointCode::from_parts(9, 9, 9), 8, vec![0xE2, 0x00]))
        .await;
    // BEAT after it: when its ACK is back, the DATA was handled.
    asp.send(&Message::Beat(Heartbeat::default())).await;
    assert!(matches!(asp.recv().await, Message::BeatAck(_)));
    assert_eq!(net.stp().counters().unknown_dpc, 1);
    assert_eq!(net.stp().associations_for(GATEWAY_POINT_CODE).len(), 1);

    net.stp().drop_associations();
    assert!(
        asp.try_recv().await.is_none(),
        "the association should close"
    );
    // The route over it is forgotten once the STP has cleaned up.
    let deadline = tokio::time::Instant::now() + WAIT;
    while net.stp().counters().associations_open > 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(net.stp().associations_for(GATEWAY_POINT_CODE).is_empty());
    // A new association works.
    let mut asp = Asp::active(&net).await;
    asp.send(&Message::Beat(Heartbeat::default())).await;
    assert!(matches!(asp.recv().await, Message::BeatAck(_)));
    assert_eq!(net.stp().counters().associations_accepted, 2);
}

#[tokio::test]
async fn drop_responses_and_duna_dava() {
    let net = network().await;
    let trn = net.place_otasp_call(handset(5), min("2125550005"));
    let mut asp = Asp::active(&net).await;
    net.stp().set_drop_responses(true);
    let tcap = TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: [0, 0, 0, 1],
        },
        components: vec![ansi41::invoke(&otasp(8, &trn), 1).unwrap()],
        dialogue: None,
    };
    asp.send(&data(MSC_POINT_CODE, MSC_SSN, tcap.encode().unwrap()))
        .await;
    asp.send(&Message::Beat(Heartbeat::default())).await;
    assert!(matches!(asp.recv().await, Message::BeatAck(_)));
    assert_eq!(net.stp().counters().responses_dropped, 1);
    net.stp().set_drop_responses(false);

    net.stp().send_duna(MSC_POINT_CODE);
    let Message::Duna(d) = asp.recv().await else {
        panic!("expected DUNA")
    };
    assert_eq!(d.affected_point_codes[0].point_code, MSC_POINT_CODE);
    net.stp().send_dava(MSC_POINT_CODE);
    assert!(matches!(asp.recv().await, Message::Dava(_)));

    net.stp().set_response_delay(Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    let m = asp.invoke(&otasp(8, &trn), 2).await;
    assert!(outcome::<SmdppResult>(&m).is_ok());
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn a_wap_push_goes_straight_to_the_serving_msc() {
    let net = network().await;
    let mut pushes = net.register_for_sms(min("6195550101"), Esn::new(0x1A2B_3C4D));
    let mut asp = Asp::active(&net).await;
    // Where is it served? The HLR names the MSC's SMS_Address.
    let sms = SmsRequest {
        msid: Msid::Min(min("6195550101")),
        esn: Some(Esn::new(0x1A2B_3C4D)),
        meid: None,
        service_indicator: None,
        extra: Vec::new(),
    };
    let m = asp.invoke_at(HLR_POINT_CODE, HLR_SSN, &sms, 1).await;
    let r: SmsRequestResult = outcome(&m).unwrap();
    assert_eq!(r.sms_address, Some(net.config().msc.sms_address.clone()));
    // The push in two SMDPPs with teleservice 4100.
    let href = format!("http://127.0.0.1:8181/iota/otapa/{}", "z".repeat(150));
    let wsp = WapPush {
        tid: 9,
        content: PushContent::Sl(ServiceLoading {
            href: href.clone(),
            action: SlAction::ExecuteHigh,
        }),
    }
    .encode()
    .unwrap();
    let segs = is637::wap_bearer_data(&wsp, 0x0A0B, 150).unwrap();
    assert_eq!(segs.len(), 2);
    for (i, seg) in segs.into_iter().enumerate() {
        let mut req = SmdppInvoke::new(seg, teleservice::WAP);
        req.msid = Some(Msid::Min(min("6195550101")));
        req.esn = Some(Esn::new(0x1A2B_3C4D));
        let m = asp.invoke(&req, 2 + i as u32).await;
        let r: SmdppResult = outcome(&m).unwrap();
        assert_eq!(r, SmdppResult::default());
    }
    assert_eq!(next_url(&mut pushes, WAIT).await, Some(href));
    // Nobody registered under this MIN.
    let mut req = SmdppInvoke::new(vec![0x00, 0x03, 0x10, 0x00, 0x10], teleservice::WAP);
    req.msid = Some(Msid::Min(min("6195559999")));
    let m = asp.invoke(&req, 9).await;
    assert_eq!(
        outcome::<SmdppResult>(&m),
        Err(ReturnErrorCode::UnrecognizedMin)
    );
}
