//! The MSC and HLR behind a [`Router`], without sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use otagw_codecs::ansi41::{
    self, action_code, service_indicator, teleservice, Ansi41Parameters, Digits, Msid, Operation,
    ReturnErrorCode, SmdppInvoke, SmdppResult, SmsRequest, SmsRequestResult,
};
use otagw_codecs::identity::{DeviceId, Esn, Meid, Min};
use otagw_codecs::is637;
use otagw_codecs::is683::{ForwardMessage, ProtocolCapabilityRequest, ReverseMessage};
use otagw_codecs::m3ua::ProtocolData;
use otagw_codecs::sccp::{ProtocolClass, SccpAddress, SccpMessage, Unitdata, Variant};
use otagw_codecs::tcap::{AbortCause, Component, PAbortCause, Package, TcapMessage};
use otagw_codecs::wap::push::{PushContent, WapPush};
use otagw_codecs::wap::wbxml::{ServiceLoading, SlAction};

use super::stp::{AssociationId, Element, Router};
use super::*;
use crate::handset::push::{target_url, Delivery};
use crate::handset::{Handset, HandsetConfig};

const GW: AssociationId = AssociationId(1);

struct Net {
    router: Router,
    msc: Arc<Msc>,
    hlr: Arc<Hlr>,
}

fn net() -> Net {
    let msc = Arc::new(Msc::new(MscConfig::default()));
    let hlr = Arc::new(Hlr::new(HlrConfig::default()));
    let mut router = Router::new();
    router.add_element(MSC_POINT_CODE, Arc::clone(&msc) as Arc<dyn Element>);
    router.add_element(HLR_POINT_CODE, Arc::clone(&hlr) as Arc<dyn Element>);
    router.learn(GATEWAY_POINT_CODE, GW);
    Net { router, msc, hlr }
}

fn handset(esn: u32) -> Handset {
    Handset::new(HandsetConfig::new(DeviceId::Esn(Esn::new(esn)))).unwrap()
}

fn min(s: &str) -> Min {
    s.parse().unwrap()
}

fn udt(
    called_ssn: u8,
    dpc: otagw_codecs::m3ua::PointCode,
    data: Vec<u8>,
    roe: bool,
) -> ProtocolData {
    let m = SccpMessage::Udt(Unitdata {
        protocol_class: ProtocolClass {
            class: 0,
            return_on_error: roe,
        },
        called: SccpAddress::ssn_pc(called_ssn, dpc.value()),
        calling: SccpAddress::ssn_pc(GATEWAY_SSN, GATEWAY_POINT_CODE.value()),
        data,
    });
    ProtocolData {
        opc: GATEWAY_POINT_CODE,
        dpc,
        si: 3,
        ni: 2,
        mp: 0,
        sls: 5,
        user_data: m.encode(Variant::Ansi).unwrap(),
    }
}

fn query<P: Ansi41Parameters>(p: &P, otid: u32, dpc_msc: bool) -> ProtocolData {
    let msg = TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: otid.to_be_bytes(),
        },
        components: vec![ansi41::invoke(p, 7).unwrap()],
        dialogue: None,
    };
    let (ssn, pc) = if dpc_msc {
        (MSC_SSN, MSC_POINT_CODE)
    } else {
        (HLR_SSN, HLR_POINT_CODE)
    };
    udt(ssn, pc, msg.encode().unwrap(), false)
}

/// Routes and returns the single TCAP message sent back to the gateway.
fn exchange(n: &Net, pd: ProtocolData) -> TcapMessage {
    let o = n.router.route(pd);
    assert!(o.unroutable.is_empty(), "{:?}", o.unroutable);
    assert_eq!(o.out.len(), 1, "{o:?}");
    let (assoc, back) = &o.out[0];
    assert_eq!(*assoc, GW);
    assert_eq!(back.dpc, GATEWAY_POINT_CODE);
    assert_eq!((back.si, back.ni, back.sls), (3, 2, 5));
    let SccpMessage::Udt(u) = SccpMessage::decode(&back.user_data, Variant::Ansi).unwrap() else {
        panic!("not a UDT");
    };
    assert_eq!(u.called.ssn, Some(GATEWAY_SSN));
    TcapMessage::decode(&u.data).unwrap()
}

fn result<P: Ansi41Parameters>(m: &TcapMessage, otid: u32) -> Result<P, ReturnErrorCode> {
    assert_eq!(
        m.package,
        Package::Response {
            dtid: otid.to_be_bytes()
        }
    );
    match &m.components[..] {
        [Component::ReturnResult {
            correlation_id: 7,
            parameters,
            ..
        }] => Ok(P::from_parameters(parameters.as_ref()).unwrap()),
        [Component::ReturnError {
            correlation_id: 7,
            error,
            ..
        }] => Err(ReturnErrorCode::from_code(error.code).unwrap()),
        other => panic!("{other:?}"),
    }
}

/// IS-725-A's attach / release: an SMDPP with this ActionCode for call `trn`.
fn otasp(action: u8, trn: &str) -> SmdppInvoke {
    SmdppInvoke::otasp_action(action, Some(trn.to_owned()), service_indicator::CDMA_OTASP)
}

fn smdpp(esn: u32, si: Option<u8>, bearer: Vec<u8>) -> SmdppInvoke {
    let mut s = SmdppInvoke::new(bearer, teleservice::CMT_95);
    s.service_indicator = si;
    s.esn = Some(Esn::new(esn));
    s
}

fn pcr() -> Vec<u8> {
    ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None })
        .encode()
        .unwrap()
}

#[test]
fn attach_answers_identities_and_unknown_trn_is_an_error() {
    let n = net();
    let trn = n
        .msc
        .place_otasp_call(handset(0x1A2B_3C4D), min("2125551234"));
    assert_eq!(trn, "5550001");
    let m = exchange(
        &n,
        query(&otasp(action_code::ATTACH_MSC_TO_OTAF, &trn), 1, true),
    );
    let r: SmdppResult = result(&m, 1).unwrap();
    assert_eq!(r.esn, Some(Esn::new(0x1A2B_3C4D)));
    assert_eq!(r.meid, None);
    assert_eq!(r.mobile_station_msid, Some(Msid::Min(min("2125551234"))));
    // MSCID 0x04D2 0x01: market 1234, switch 1.
    assert_eq!(
        r.mscid,
        Some(ansi41::Mscid {
            market_id: 0x04D2,
            switch_number: 0x01
        })
    );

    let m = exchange(&n, query(&otasp(8, "5559999"), 2, true));
    assert_eq!(
        result::<SmdppResult>(&m, 2),
        Err(ReturnErrorCode::UnrecognizedParameterValue)
    );
    let mut no_trn = otasp(8, "1");
    no_trn.trn = None;
    let m = exchange(&n, query(&no_trn, 3, true));
    assert_eq!(
        result::<SmdppResult>(&m, 3),
        Err(ReturnErrorCode::MissingParameter)
    );
}

#[test]
fn attach_of_a_meid_handset_gives_pesn_and_meid() {
    let n = net();
    let meid: Meid = "A1000012345678".parse().unwrap();
    let h = Handset::new(HandsetConfig::new(DeviceId::Meid(meid))).unwrap();
    let trn = n.msc.place_otasp_call(h, min("2125550000"));
    let m = exchange(&n, query(&otasp(8, &trn), 1, true));
    let r: SmdppResult = result(&m, 1).unwrap();
    assert_eq!(r.esn, Some(meid.pesn()));
    assert_eq!(r.meid, Some(meid));
}

#[test]
fn smdpp_reaches_the_handset() {
    let n = net();
    let trn = n
        .msc
        .place_otasp_call(handset(0x1111_2222), min("2125551234"));
    let m = exchange(
        &n,
        query(
            &smdpp(0x1111_2222, Some(service_indicator::CDMA_OTASP), pcr()),
            9,
            true,
        ),
    );
    let r: SmdppResult = result(&m, 9).unwrap();
    let rev = ReverseMessage::decode(&r.bearer_data.unwrap()).unwrap();
    assert!(
        matches!(rev, ReverseMessage::ProtocolCapability(_)),
        "{rev:?}"
    );
    assert_eq!(n.msc.handset_state(&trn).unwrap().messages_handled(), 1);

    // By MIN when no ESN is given.
    let mut by_min = smdpp(0, Some(1), pcr());
    by_min.esn = None;
    by_min.msid = Some(Msid::Min(min("2125551234")));
    let m = exchange(&n, query(&by_min, 10, true));
    assert!(result::<SmdppResult>(&m, 10).is_ok());

    let cases = [
        (
            smdpp(0x9999_9999, Some(1), pcr()),
            ReturnErrorCode::UnrecognizedEsn,
        ),
        (
            smdpp(0x1111_2222, None, pcr()),
            ReturnErrorCode::MissingParameter,
        ),
        (
            smdpp(0x1111_2222, Some(2), pcr()),
            ReturnErrorCode::UnrecognizedParameterValue,
        ),
        (
            smdpp(0x1111_2222, Some(1), vec![0xEE]),
            ReturnErrorCode::ParameterError,
        ),
    ];
    for (i, (req, want)) in cases.into_iter().enumerate() {
        let m = exchange(&n, query(&req, 20 + i as u32, true));
        assert_eq!(
            result::<SmdppResult>(&m, 20 + i as u32),
            Err(want),
            "case {i}"
        );
    }

    assert!(n.msc.drop_handset(&trn));
    assert_eq!(n.msc.call_state(&trn), Some(CallState::Gone));
    let m = exchange(&n, query(&smdpp(0x1111_2222, Some(1), pcr()), 30, true));
    assert_eq!(
        result::<SmdppResult>(&m, 30),
        Err(ReturnErrorCode::UnrecognizedEsn)
    );
}

#[test]
fn release_reboots_and_registers_with_the_hlr() {
    let n = net();
    let trn = n
        .msc
        .place_otasp_call(handset(0x0000_0042), min("3035550100"));
    let m = exchange(&n, query(&otasp(action_code::RELEASE_TRN, &trn), 4, true));
    result::<SmdppResult>(&m, 4).unwrap();
    assert_eq!(n.msc.call_state(&trn), Some(CallState::Idle));
    assert_eq!(n.msc.handset_state(&trn).unwrap().reboots(), 1);
    assert_eq!(
        n.hlr.registrations(),
        [(Esn::new(0x42), min("3035550100"), DEFAULT_MSCID)]
    );
    let a = n.msc.registration_answers();
    assert_eq!((a.sent, a.results, a.failures), (1, 1, 0));

    // Releasing again changes nothing.
    let m = exchange(
        &n,
        query(&otasp(action_code::RELEASE_RESOURCES, &trn), 5, true),
    );
    result::<SmdppResult>(&m, 5).unwrap();
    assert_eq!(n.hlr.registrations().len(), 1);

    // OTASP is over; OTAPA still reaches the idle handset.
    let m = exchange(&n, query(&smdpp(0x42, Some(1), pcr()), 6, true));
    assert_eq!(
        result::<SmdppResult>(&m, 6),
        Err(ReturnErrorCode::OperationSequenceProblem)
    );
    let m = exchange(&n, query(&smdpp(0x42, Some(3), pcr()), 7, true));
    assert!(result::<SmdppResult>(&m, 7).is_ok());

    let h = n.msc.take_handset(&trn).unwrap();
    assert_eq!(h.reboots(), 1);
    assert_eq!(n.msc.call_state(&trn), None);
}

#[test]
fn other_operations_and_error_knobs() {
    let n = net();
    let trn = n.msc.place_otasp_call(handset(1), min("2125551234"));
    let sms = SmsRequest {
        msid: Msid::Min(min("2125551234")),
        esn: None,
        meid: None,
        service_indicator: None,
        extra: Vec::new(),
    };
    // SMSRequest is the HLR's business, not the MSC's.
    let m = exchange(&n, query(&sms, 1, true));
    assert_eq!(
        result::<SmsRequestResult>(&m, 1),
        Err(ReturnErrorCode::OperationNotSupported)
    );
    // So is OTASPRequest (the A-key procedures, towards the HLR/AC): the attach is an SMDPP.
    let a_key = ansi41::OtaspRequest {
        action_code: action_code::ATTACH_MSC_TO_OTAF,
        trn: Some(trn.clone()),
        esn: None,
        meid: None,
        msid: None,
        mscid: None,
        service_indicator: Some(service_indicator::CDMA_OTASP),
        extra: Vec::new(),
    };
    let m = exchange(&n, query(&a_key, 5, true));
    assert_eq!(
        result::<ansi41::OtaspRequestResult>(&m, 5),
        Err(ReturnErrorCode::OperationNotSupported)
    );
    let m = exchange(
        &n,
        query(&otasp(action_code::GENERATE_A_KEY, &trn), 2, true),
    );
    assert_eq!(
        result::<SmdppResult>(&m, 2),
        Err(ReturnErrorCode::UnrecognizedParameterValue)
    );
    n.msc.set_error_for(
        Operation::SmsDeliveryPointToPoint,
        Some(ReturnErrorCode::SystemFailure),
    );
    let m = exchange(&n, query(&otasp(8, &trn), 3, true));
    assert_eq!(
        result::<SmdppResult>(&m, 3),
        Err(ReturnErrorCode::SystemFailure)
    );
    n.msc
        .set_error_for(Operation::SmsDeliveryPointToPoint, None);
    let m = exchange(&n, query(&otasp(8, &trn), 4, true));
    assert!(result::<SmdppResult>(&m, 4).is_ok());
}

#[test]
fn hlr_answers_sms_request() {
    let n = net();
    n.hlr.add_subscriber(
        min("2125551234"),
        Esn::new(0xAB),
        Digits::bcd(DEFAULT_MSC_SMS_ADDRESS),
    );
    let mut sms = SmsRequest {
        msid: Msid::Min(min("2125551234")),
        esn: Some(Esn::new(0xAB)),
        meid: None,
        service_indicator: Some(3),
        extra: Vec::new(),
    };
    let m = exchange(&n, query(&sms, 1, false));
    let r: SmsRequestResult = result(&m, 1).unwrap();
    assert_eq!(r.sms_address, Some(Digits::bcd("5550000000")));
    assert_eq!(r.esn, Some(Esn::new(0xAB)));
    sms.esn = Some(Esn::new(0xAC));
    let m = exchange(&n, query(&sms, 2, false));
    assert_eq!(
        result::<SmsRequestResult>(&m, 2),
        Err(ReturnErrorCode::UnrecognizedEsn)
    );
    sms.msid = Msid::Min(min("9999999999"));
    let m = exchange(&n, query(&sms, 3, false));
    assert_eq!(
        result::<SmsRequestResult>(&m, 3),
        Err(ReturnErrorCode::UnrecognizedMin)
    );
}

#[test]
fn malformed_tcap_is_aborted_when_the_transaction_id_is_readable() {
    let n = net();
    // A Query whose component sequence is broken.
    let bad = vec![0xE2, 0x08, 0xC7, 0x04, 0, 0, 0, 9, 0xE8, 0x05];
    let m = exchange(&n, udt(MSC_SSN, MSC_POINT_CODE, bad, false));
    assert_eq!(
        m.package,
        Package::Abort {
            dtid: [0, 0, 0, 9],
            cause: Some(AbortCause::Protocol(
                PAbortCause::BadlyStructuredTransactionPortion
            ))
        }
    );
    // Not TCAP at all: dropped.
    let o = n
        .router
        .route(udt(MSC_SSN, MSC_POINT_CODE, vec![0x01, 0x02], false));
    assert!(o.out.is_empty());
    // Not SCCP: dropped.
    let mut pd = udt(MSC_SSN, MSC_POINT_CODE, vec![], false);
    pd.user_data = vec![0x42];
    assert!(n.router.route(pd).out.is_empty());
}

#[test]
fn wrong_ssn_is_returned_when_asked() {
    let n = net();
    let o = n
        .router
        .route(udt(99, MSC_POINT_CODE, vec![0xE2, 0x00], true));
    assert_eq!(o.out.len(), 1);
    let back = SccpMessage::decode(&o.out[0].1.user_data, Variant::Ansi).unwrap();
    assert!(
        matches!(back, SccpMessage::Udts(ref u) if u.return_cause == 4),
        "{back:?}"
    );
    assert!(n
        .router
        .route(udt(99, MSC_POINT_CODE, vec![0xE2, 0x00], false))
        .out
        .is_empty());
}

fn sl_push(href: &str) -> WapPush {
    WapPush {
        tid: 4,
        content: PushContent::Sl(ServiceLoading {
            href: href.to_owned(),
            action: SlAction::ExecuteHigh,
        }),
    }
}

/// A WAP push as teleservice 4100 bearer data, in messages of at most `max` user data octets.
fn wap_segments(push: &WapPush, message_id: u16, max: usize) -> Vec<Vec<u8>> {
    is637::wap_bearer_data(&push.encode().unwrap(), message_id, max).unwrap()
}

fn wap_smdpp(bearer: Vec<u8>, min_digits: Option<&str>, esn: Option<u32>) -> SmdppInvoke {
    let mut s = SmdppInvoke::new(bearer, teleservice::WAP);
    s.msid = min_digits.map(|m| Msid::Min(min(m)));
    s.esn = esn.map(Esn::new);
    s
}

/// The SMDPP's answer: Ok(()) for a ReturnResult without bearer data.
fn push_answer(n: &Net, req: &SmdppInvoke, otid: u32) -> Result<(), ReturnErrorCode> {
    let m = exchange(n, query(req, otid, true));
    result::<SmdppResult>(&m, otid).map(|r| assert_eq!(r, SmdppResult::default()))
}

#[test]
fn a_wap_push_in_two_smdpps_reaches_the_attached_handset() {
    let n = net();
    let mut pushes = n.msc.attach_push(min("6195550101"));
    let href = format!("http://127.0.0.1:8181/iota/otapa/{}", "k".repeat(120));
    let push = sl_push(&href);
    let segs = wap_segments(&push, 0x0102, 120);
    assert_eq!(segs.len(), 2);
    assert_eq!(
        push_answer(&n, &wap_smdpp(segs[0].clone(), Some("6195550101"), None), 1),
        Ok(())
    );
    assert!(pushes.try_recv().is_err(), "not before the last segment");
    // Any ServiceIndicator: teleservice 4100 decides.
    let mut last = wap_smdpp(segs[1].clone(), Some("6195550101"), Some(0x42));
    last.service_indicator = Some(service_indicator::CDMA_OTAPA);
    assert_eq!(push_answer(&n, &last, 2), Ok(()));
    let got = pushes.try_recv().unwrap();
    assert_eq!(got, Delivery::Push(push));
    let Delivery::Push(p) = &got else {
        unreachable!()
    };
    assert_eq!(target_url(p), Some(href.as_str()));
    assert!(pushes.try_recv().is_err(), "delivered once");

    // Out of order, and a single-message push.
    let segs = wap_segments(&sl_push(&format!("{href}/2")), 0x0103, 100);
    assert!(segs.len() >= 2);
    for (i, seg) in segs.iter().enumerate().rev() {
        let req = wap_smdpp(seg.clone(), Some("6195550101"), None);
        assert_eq!(push_answer(&n, &req, 10 + i as u32), Ok(()));
    }
    let one = wap_segments(&sl_push("http://127.0.0.1/3"), 0x0104, 253);
    assert_eq!(one.len(), 1);
    assert_eq!(
        push_answer(&n, &wap_smdpp(one[0].clone(), Some("6195550101"), None), 20),
        Ok(())
    );
    let urls: Vec<String> = std::iter::from_fn(|| pushes.try_recv().ok())
        .map(|d| match d {
            Delivery::Push(p) => target_url(&p).unwrap().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(urls, [format!("{href}/2"), "http://127.0.0.1/3".to_owned()]);
}

#[test]
fn a_wap_push_for_no_attached_handset_is_refused() {
    let n = net();
    let _pushes = n.msc.attach_push(min("6195550101"));
    let seg = wap_segments(&sl_push("http://127.0.0.1/x"), 1, 253).remove(0);
    let cases = [
        (Some("6195559999"), None, ReturnErrorCode::UnrecognizedMin),
        (
            Some("6195559999"),
            Some(0x42),
            ReturnErrorCode::UnrecognizedMin,
        ),
        (None, Some(0x42), ReturnErrorCode::UnrecognizedEsn),
        (None, None, ReturnErrorCode::MissingParameter),
    ];
    for (i, (m, esn, want)) in cases.into_iter().enumerate() {
        let req = wap_smdpp(seg.clone(), m, esn);
        assert_eq!(push_answer(&n, &req, i as u32), Err(want), "case {i}");
    }
    let mut imsi = wap_smdpp(seg.clone(), None, None);
    imsi.msid = Some(Msid::Imsi("310005551234567".parse().unwrap()));
    assert_eq!(
        push_answer(&n, &imsi, 9),
        Err(ReturnErrorCode::UnrecognizedMin)
    );

    // A receiver that was dropped is detached; a later attach replaces an earlier one.
    drop(_pushes);
    let req = wap_smdpp(seg.clone(), Some("6195550101"), None);
    assert_eq!(
        push_answer(&n, &req, 10),
        Err(ReturnErrorCode::UnrecognizedMin)
    );
    let mut old = n.msc.attach_push(min("6195550101"));
    let mut new = n.msc.attach_push(min("6195550101"));
    assert_eq!(push_answer(&n, &req, 11), Ok(()));
    assert!(matches!(new.try_recv(), Ok(Delivery::Push(_))));
    assert!(matches!(
        old.try_recv(),
        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
    ));
}

#[test]
fn a_wap_push_by_esn_finds_the_handset_registered_or_held_here() {
    let n = net();
    // Registered with its ESN (as Network::register_for_sms does).
    let mut by_esn = n
        .msc
        .attach_push_as(min("6195550101"), Some(Esn::new(0x42)));
    let seg = wap_segments(&sl_push("http://127.0.0.1/a"), 1, 253).remove(0);
    assert_eq!(
        push_answer(&n, &wap_smdpp(seg.clone(), None, Some(0x42)), 1),
        Ok(())
    );
    assert!(by_esn.try_recv().is_ok());
    // The MIN with another ESN than the one registered.
    assert_eq!(
        push_answer(
            &n,
            &wap_smdpp(seg.clone(), Some("6195550101"), Some(0x43)),
            2
        ),
        Err(ReturnErrorCode::UnrecognizedEsn)
    );
    // Attached by MIN only, but held here (after its OTASP call) with that ESN.
    let trn = n.msc.place_otasp_call(handset(0x77), min("3035550100"));
    let mut held = n.msc.attach_push(min("3035550100"));
    assert_eq!(
        push_answer(&n, &wap_smdpp(seg.clone(), None, Some(0x77)), 3),
        Ok(())
    );
    assert!(held.try_recv().is_ok());
    assert_eq!(n.msc.call_state(&trn), Some(CallState::OnTrafficChannel));
}

#[test]
fn garbage_wap_bearer_data_is_a_parameter_error_and_changes_nothing() {
    let n = net();
    let mut pushes = n.msc.attach_push(min("6195550101"));
    let push = sl_push(&format!("http://127.0.0.1/{}", "g".repeat(150)));
    let segs = wap_segments(&push, 7, 120);
    assert_eq!(segs.len(), 2);
    let to = |bearer: Vec<u8>| wap_smdpp(bearer, Some("6195550101"), None);
    assert_eq!(push_answer(&n, &to(segs[0].clone()), 1), Ok(()));
    // Not IS-637, IS-637 without user data, not a WDP datagram, another segment 0 for the same
    // MESSAGE_ID.
    let other = wap_segments(
        &sl_push(&format!("http://127.0.0.1/{}", "h".repeat(150))),
        7,
        120,
    );
    let no_user_data = is637::BearerData {
        subparameters: vec![is637::Subparameter::MessageIdentifier(
            is637::MessageIdentifier {
                message_type: is637::MESSAGE_TYPE_DELIVER,
                message_id: 7,
                header_ind: false,
            },
        )],
    }
    .encode()
    .unwrap();
    let not_wdp = is637::BearerData {
        subparameters: vec![
            is637::Subparameter::MessageIdentifier(is637::MessageIdentifier {
                message_type: is637::MESSAGE_TYPE_DELIVER,
                message_id: 7,
                header_ind: false,
            }),
            is637::Subparameter::UserData(vec![0x01, 0x02, 0x01]),
        ],
    }
    .encode()
    .unwrap();
    for (i, bad) in [
        vec![0x00, 0x09, 0x01],
        vec![0xEE],
        no_user_data,
        not_wdp,
        other[0].clone(),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            push_answer(&n, &to(bad), 10 + i as u32),
            Err(ReturnErrorCode::ParameterError),
            "case {i}"
        );
    }
    assert!(pushes.try_recv().is_err(), "nothing delivered");
    // The same segment again (the OTAF lost the answer): acknowledged, kept once.
    assert_eq!(push_answer(&n, &to(segs[0].clone()), 19), Ok(()));
    // The first segment is still there: the second completes the push.
    assert_eq!(push_answer(&n, &to(segs[1].clone()), 20), Ok(()));
    assert_eq!(pushes.try_recv().unwrap(), Delivery::Push(push));
    // A retransmission after the push completed is acknowledged and not delivered again.
    assert_eq!(push_answer(&n, &to(segs[1].clone()), 22), Ok(()));
    assert!(pushes.try_recv().is_err(), "delivered once");

    // A whole datagram that is not a WSP push: refused, nothing delivered.
    let junk = is637::wap_bearer_data(b"\x01\x06not a push", 8, 253).unwrap();
    assert_eq!(
        push_answer(&n, &to(junk[0].clone()), 21),
        Err(ReturnErrorCode::ParameterError)
    );
    assert!(pushes.try_recv().is_err());
}

#[test]
fn is683_smdpps_are_unchanged_for_a_handset_also_attached_for_pushes() {
    let n = net();
    let trn = n.msc.place_otasp_call(handset(0x5150), min("2125551234"));
    let mut pushes = n.msc.attach_push(min("2125551234"));
    let m = exchange(
        &n,
        query(
            &smdpp(0x5150, Some(service_indicator::CDMA_OTASP), pcr()),
            1,
            true,
        ),
    );
    let r: SmdppResult = result(&m, 1).unwrap();
    assert!(matches!(
        ReverseMessage::decode(&r.bearer_data.unwrap()).unwrap(),
        ReverseMessage::ProtocolCapability(_)
    ));
    assert_eq!(n.msc.handset_state(&trn).unwrap().messages_handled(), 1);
    // Other teleservices still need ServiceIndicator 1 or 3, and IS-683 bearer data.
    let mut wemt = smdpp(0x5150, None, pcr());
    wemt.teleservice_id = teleservice::WEMT;
    let m = exchange(&n, query(&wemt, 2, true));
    assert_eq!(
        result::<SmdppResult>(&m, 2),
        Err(ReturnErrorCode::MissingParameter)
    );
    let seg = wap_segments(&sl_push("http://127.0.0.1/x"), 1, 253).remove(0);
    let m = exchange(&n, query(&smdpp(0x5150, Some(3), seg), 3, true));
    assert_eq!(
        result::<SmdppResult>(&m, 3),
        Err(ReturnErrorCode::ParameterError)
    );
    assert!(pushes.try_recv().is_err());
}

#[tokio::test]
async fn register_for_sms_makes_the_hlr_answer_and_the_msc_deliver() {
    let network = Network::start(NetworkConfig::default()).await.unwrap();
    let mut router = Router::new();
    router.add_element(
        MSC_POINT_CODE,
        Arc::clone(network.msc()) as Arc<dyn Element>,
    );
    router.add_element(
        HLR_POINT_CODE,
        Arc::clone(network.hlr()) as Arc<dyn Element>,
    );
    router.learn(GATEWAY_POINT_CODE, GW);
    let n = Net {
        router,
        msc: Arc::clone(network.msc()),
        hlr: Arc::clone(network.hlr()),
    };
    let mut pushes = network.register_for_sms(min("6195550101"), Esn::new(0x1A2B_3C4D));
    let sms = SmsRequest {
        msid: Msid::Min(min("6195550101")),
        esn: Some(Esn::new(0x1A2B_3C4D)),
        meid: None,
        service_indicator: None,
        extra: Vec::new(),
    };
    let m = exchange(&n, query(&sms, 1, false));
    let r: SmsRequestResult = result(&m, 1).unwrap();
    assert_eq!(
        r.sms_address,
        Some(network.msc().config().sms_address.clone())
    );
    assert_eq!(
        n.hlr.subscriber(&min("6195550101")).unwrap().esn,
        Esn::new(0x1A2B_3C4D)
    );
    let seg = wap_segments(&sl_push("http://127.0.0.1/r"), 1, 253).remove(0);
    assert_eq!(
        push_answer(
            &n,
            &wap_smdpp(seg, Some("6195550101"), Some(0x1A2B_3C4D)),
            2
        ),
        Ok(())
    );
    assert_eq!(
        pushes.try_recv().ok(),
        Some(Delivery::Push(sl_push("http://127.0.0.1/r")))
    );
}
