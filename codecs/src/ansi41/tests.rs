#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;
use crate::ber::Identifier;
use crate::codec::Codec;
use crate::tcap::{Package, TcapMessage};

fn min(s: &str) -> Min {
    s.parse().unwrap()
}

#[test]
fn min_vector() {
    // Verified against Wireshark (ss7.md section 4).
    assert_eq!(
        encode_min(&min("2125551234")),
        [0x12, 0x52, 0x55, 0x21, 0x43]
    );
    assert_eq!(
        decode_min(&[0x12, 0x52, 0x55, 0x21, 0x43]).unwrap(),
        min("2125551234")
    );
    assert!(decode_min(&[0x12, 0x52, 0x55, 0x21]).is_err());
    assert!(decode_min(&[0x1A, 0x52, 0x55, 0x21, 0x43]).is_err());
}

#[test]
fn imsi_tbcd() {
    let imsi: Imsi = "310005123456789".parse().unwrap();
    assert_eq!(
        encode_imsi(&imsi),
        [0x13, 0x00, 0x50, 0x21, 0x43, 0x65, 0x87, 0xF9]
    );
    assert_eq!(decode_imsi(&encode_imsi(&imsi)).unwrap(), imsi);
}

#[test]
fn trn_is_min_type() {
    assert_eq!(encode_trn("5551000").unwrap(), [0x55, 0x15, 0x00, 0xF0]);
    assert_eq!(decode_trn(&[0x55, 0x15, 0x00, 0xF0]).unwrap(), "5551000");
    assert!(encode_trn("").is_err());
    assert!(encode_trn("12a").is_err());
}

#[test]
fn digits_type() {
    let d = Digits::bcd("12345");
    assert_eq!(d.encode().unwrap(), [0, 0, 0x21, 5, 0x21, 0x43, 0xF5]);
    assert_eq!(
        Digits::decode(&[0, 0, 0x21, 5, 0x21, 0x43, 0xF5]).unwrap(),
        d
    );
    let e = Digits::decode(&[0, 0, 0x21, 5, 0x21]).unwrap_err();
    assert!(e.contains("need 3 octets"), "{e}");
}

#[test]
fn operation_codes() {
    let c = Operation::SmsDeliveryPointToPoint.code();
    assert_eq!(c.value(), 0x0935);
    assert_eq!(
        Operation::from_code(c),
        Some(Operation::SmsDeliveryPointToPoint)
    );
    assert_eq!(Operation::OtaspRequest.specifier(), 56);
    assert_eq!(ReturnErrorCode::UnrecognizedMin.code(), 0x81);
    assert_eq!(ReturnErrorCode::MissingParameter.code(), 0x8C);
    assert_eq!(
        ReturnErrorCode::from_code(0x88),
        Some(ReturnErrorCode::ParameterError)
    );
    assert_eq!(ReturnErrorCode::from_code(0x8D), None);
    assert_eq!(ReturnErrorCode::from_code(0x10), None);
}

/// An SMDPP Invoke worked out by hand from T1.114 and the ANSI-41 parameter table.
#[test]
fn smdpp_invoke_by_hand() {
    let mut smdpp = SmdppInvoke::new(vec![0x05], teleservice::CMT_95);
    smdpp.service_indicator = Some(service_indicator::CDMA_OTASP);
    smdpp.esn = Some(Esn::new(0x1A2B3C4D));
    smdpp.msid = Some(Msid::Min(min("2125551234")));
    let msg = TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: [0, 0, 0, 7],
        },
        components: vec![invoke(&smdpp, 1).unwrap()],
        dialogue: None,
    };
    let expected: Vec<u8> = [
        &[0xE2, 0x2E][..],                           // QueryWithPermission, 46 octets
        &[0xC7, 0x04, 0x00, 0x00, 0x00, 0x07],       // originating transaction ID
        &[0xE8, 0x26],                               // component sequence
        &[0xE9, 0x24],                               // InvokeLast
        &[0xCF, 0x01, 0x01],                         // invoke ID 1
        &[0xD1, 0x02, 0x09, 0x35],                   // private, family 9, SMDPP
        &[0xF2, 0x1B],                               // parameter SET, ascending tags:
        &[0x88, 0x05, 0x12, 0x52, 0x55, 0x21, 0x43], // MIN 2125551234
        &[0x89, 0x04, 0x1A, 0x2B, 0x3C, 0x4D],       // ESN
        &[0x9F, 0x69, 0x01, 0x05],                   // SMS_BearerData: IS-683 Commit
        &[0x9F, 0x74, 0x02, 0x10, 0x02],             // SMS_TeleserviceIdentifier 4098
        &[0x9F, 0x81, 0x41, 0x01, 0x01],             // ServiceIndicator CDMA OTASP
    ]
    .concat();
    assert_eq!(msg.encode().unwrap(), expected);

    let back = TcapMessage::decode(&expected).unwrap();
    let Component::Invoke {
        operation,
        parameters,
        ..
    } = &back.components[0]
    else {
        panic!("not an invoke")
    };
    assert_eq!(
        Operation::from_code(*operation),
        Some(Operation::SmsDeliveryPointToPoint)
    );
    assert_eq!(
        SmdppInvoke::from_parameters(parameters.as_ref()).unwrap(),
        smdpp
    );
}

/// IS-725-A's TRN attach: an SMDPP Invoke with ActionCode 8, the TRN and ServiceIndicator 1;
/// worked out by hand from the SMDPP SET of TIA-41 (mandatory SMS_BearerData, here empty, and
/// SMS_TeleserviceIdentifier, here 0: no teleservice).
#[test]
fn smdpp_attach_by_hand() {
    let attach = SmdppInvoke::otasp_action(
        action_code::ATTACH_MSC_TO_OTAF,
        Some("5551000".to_owned()),
        service_indicator::CDMA_OTASP,
    );
    let expected: Vec<u8> = [
        &[0xF2, 0x1A][..],                                 // parameter SET, 26 octets
        &[0x9F, 0x69, 0x00],                               // SMS_BearerData (105), empty
        &[0x9F, 0x74, 0x02, 0x00, 0x00],                   // SMS_TeleserviceIdentifier (116) 0
        &[0x9F, 0x81, 0x00, 0x01, 0x08],                   // ActionCode (128) 8
        &[0x9F, 0x81, 0x41, 0x01, 0x01],                   // ServiceIndicator (193) CDMA OTASP
        &[0x9F, 0x81, 0x43, 0x04, 0x55, 0x15, 0x00, 0xF0], // TRN (195) 5551000
    ]
    .concat();
    let p = attach.to_parameters().unwrap();
    assert_eq!(p.get_encoding().unwrap(), expected);
    assert_eq!(SmdppInvoke::from_parameters(Some(&p)).unwrap(), attach);
    let c = invoke(&attach, 1).unwrap();
    let Component::Invoke { operation, .. } = c else {
        panic!("not an invoke")
    };
    assert_eq!(operation.value(), 0x0935, "SMDPP, not OTASPRequest");

    let release = SmdppInvoke::otasp_action(
        action_code::RELEASE_TRN,
        Some("5551000".to_owned()),
        service_indicator::CDMA_OTASP,
    );
    assert_eq!(release.action_code, Some(14));
    assert_eq!(release.teleservice_id, teleservice::NOT_USED);
}

/// The MSC's answer to the attach: ESN, MSCID and MobileStationMIN (184), not MIN (8).
#[test]
fn smdpp_attach_result_by_hand() {
    let result = SmdppResult {
        esn: Some(Esn::new(0x1A2B3C4D)),
        mobile_station_msid: Some(Msid::Min(min("2125551234"))),
        mscid: Some(Mscid {
            market_id: 4145,
            switch_number: 1,
        }),
        ..SmdppResult::default()
    };
    let expected: Vec<u8> = [
        &[0xF2, 0x14][..],                                       // parameter SET, 20 octets
        &[0x89, 0x04, 0x1A, 0x2B, 0x3C, 0x4D],                   // ESN (9)
        &[0x95, 0x03, 0x10, 0x31, 0x01], // MSCID (21): market 4145, switch 1
        &[0x9F, 0x81, 0x38, 0x05, 0x12, 0x52, 0x55, 0x21, 0x43], // MobileStationMIN (184)
    ]
    .concat();
    let p = result.to_parameters().unwrap();
    assert_eq!(p.get_encoding().unwrap(), expected);
    let back = SmdppResult::from_parameters(Some(&p)).unwrap();
    assert_eq!(back, result);
    // MobileStationMIN and MobileStationIMSI at once is refused.
    let both = Parameters {
        kind: ParameterKind::Set,
        elements: vec![
            Tlv::new(
                Identifier::context(tag::MOBILE_STATION_MIN),
                encode_min(&min("2125551234")),
            ),
            Tlv::new(
                Identifier::context(tag::MOBILE_STATION_IMSI),
                encode_imsi(&"310005123456789".parse().unwrap()),
            ),
        ],
    };
    assert!(SmdppResult::from_parameters(Some(&both)).is_err());
    // A short MSCID is a typed error.
    let short = Parameters {
        kind: ParameterKind::Set,
        elements: vec![Tlv::new(Identifier::context(tag::MSCID), vec![1, 2])],
    };
    assert!(matches!(
        SmdppResult::from_parameters(Some(&short)),
        Err(Ansi41Error::BadValue { .. })
    ));
}

#[test]
fn any_order_and_unknown_parameters() {
    let unknown = Tlv::new(Identifier::context(347), vec![1, 2]);
    let p = Parameters {
        kind: ParameterKind::Set,
        elements: vec![
            Tlv::new(Identifier::context(tag::SERVICE_INDICATOR), vec![3]),
            unknown.clone(),
            Tlv::new(
                Identifier::context(tag::SMS_TELESERVICE_IDENTIFIER),
                vec![0x10, 0x04],
            ),
            Tlv::new(Identifier::context(tag::SMS_BEARER_DATA), vec![0xAA]),
        ],
    };
    let s = SmdppInvoke::from_parameters(Some(&p)).unwrap();
    assert_eq!(s.service_indicator, Some(3));
    assert_eq!(s.teleservice_id, teleservice::WAP);
    assert_eq!(s.extra, vec![unknown]);
    // Re-encoded in ascending tag order.
    let tags: Vec<u32> = s
        .to_parameters()
        .unwrap()
        .elements
        .iter()
        .map(|e| e.id.tag)
        .collect();
    assert_eq!(tags, [105, 116, 193, 347]);
}

#[test]
fn errors_name_the_parameter() {
    let e = OtaspRequest::from_parameters(None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ANSI-41 OTASPRequest: mandatory ActionCode (128) is missing"
    );
    let p = Parameters {
        kind: ParameterKind::Set,
        elements: vec![
            Tlv::new(Identifier::context(tag::ACTION_CODE), vec![8]),
            Tlv::new(Identifier::context(tag::ESN), vec![1, 2, 3]),
        ],
    };
    let e = OtaspRequest::from_parameters(Some(&p)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ANSI-41 OTASPRequest: ESN (9): must be 4 octets, got 3"
    );
    let p = Parameters {
        kind: ParameterKind::Set,
        elements: vec![
            Tlv::new(Identifier::context(tag::ACTION_CODE), vec![8]),
            Tlv::new(Identifier::context(tag::ACTION_CODE), vec![9]),
        ],
    };
    assert!(matches!(
        OtaspRequest::from_parameters(Some(&p)),
        Err(Ansi41Error::Duplicate { .. })
    ));
}

fn arb_min() -> impl Strategy<Value = Min> {
    "[0-9]{10}".prop_map(|s| s.parse().unwrap())
}

fn arb_imsi() -> impl Strategy<Value = Imsi> {
    "[0-9]{6,15}".prop_map(|s| s.parse().unwrap())
}

fn arb_msid() -> impl Strategy<Value = Msid> {
    prop_oneof![
        arb_min().prop_map(Msid::Min),
        arb_imsi().prop_map(Msid::Imsi)
    ]
}

fn arb_esn() -> impl Strategy<Value = Esn> {
    any::<u32>().prop_map(Esn::new)
}

fn arb_meid() -> impl Strategy<Value = Meid> {
    (0..=Meid::MAX).prop_map(|v| Meid::new(v).unwrap())
}

fn arb_mscid() -> impl Strategy<Value = Mscid> {
    (any::<u16>(), any::<u8>()).prop_map(|(market_id, switch_number)| Mscid {
        market_id,
        switch_number,
    })
}

fn arb_digits() -> impl Strategy<Value = Digits> {
    (
        any::<u8>(),
        any::<u8>(),
        0u8..16,
        prop_oneof![
            "[0-9]{0,20}".prop_map(|d| (DigitsEncoding::Bcd, d)),
            "[ -~]{0,20}".prop_map(|d| (DigitsEncoding::Ia5, d)),
        ],
    )
        .prop_map(|(t, n, p, (encoding, digits))| Digits {
            type_of_digits: t,
            nature_of_number: n,
            numbering_plan: p,
            encoding,
            digits,
        })
}

/// Unknown parameters: context-specific tags no typed field here uses.
fn arb_extra() -> impl Strategy<Value = Vec<Tlv>> {
    proptest::collection::vec(
        (400u32..600, proptest::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(t, v)| Tlv::new(Identifier::context(t), v)),
        0..3,
    )
    .prop_map(|mut v| {
        // Ascending and unique, as the encoder emits them.
        v.sort_by_key(|e| e.id.tag);
        v.dedup_by_key(|e| e.id.tag);
        v
    })
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn round_trip<P: Ansi41Parameters + PartialEq + std::fmt::Debug>(p: &P) {
    let params = p.to_parameters().unwrap();
    // Through TCAP bytes too.
    let msg = TcapMessage {
        package: Package::Response { dtid: [9, 9, 9, 9] },
        components: vec![return_result(p, 3).unwrap()],
        dialogue: None,
    };
    let back = TcapMessage::decode(&msg.encode().unwrap()).unwrap();
    let Component::ReturnResult { parameters, .. } = &back.components[0] else {
        panic!("not a result")
    };
    assert_eq!(parameters.as_ref(), Some(&params));
    assert_eq!(&P::from_parameters(parameters.as_ref()).unwrap(), p);
}

proptest! {
    #[test]
    fn otasp_request(action_code in any::<u8>(), trn in opt("[0-9]{1,20}"), esn in opt(arb_esn()),
        meid in opt(arb_meid()), msid in opt(arb_msid()), mscid in opt(arb_mscid()),
        si in opt(any::<u8>()), extra in arb_extra()) {
        round_trip(&OtaspRequest { action_code, trn, esn, meid, msid, mscid, service_indicator: si, extra });
    }

    #[test]
    fn otasp_request_result(esn in opt(arb_esn()), meid in opt(arb_meid()), msid in opt(arb_msid()),
        ms in opt(arb_msid()), rc in opt(any::<u8>()), extra in arb_extra()) {
        round_trip(&OtaspRequestResult { esn, meid, msid, mobile_station_msid: ms, otasp_result_code: rc, extra });
    }

    #[test]
    fn smdpp_invoke(bd in proptest::collection::vec(any::<u8>(), 0..200), ts in any::<u16>(),
        si in opt(any::<u8>()), ac in opt(any::<u8>()), esn in opt(arb_esn()), meid in opt(arb_meid()),
        msid in opt(arb_msid()), mscid in opt(arb_mscid()), trn in opt("[0-9]{1,20}"),
        a in opt(arb_digits()), b in opt(arb_digits()), c in opt(arb_digits()), d in opt(arb_digits()),
        extra in arb_extra()) {
        round_trip(&SmdppInvoke {
            bearer_data: bd, teleservice_id: ts, service_indicator: si, action_code: ac, esn, meid,
            msid, mscid, trn, destination_address: a, originating_address: b,
            original_destination_address: c, original_originating_address: d, extra,
        });
    }

    #[test]
    fn smdpp_result(bd in opt(proptest::collection::vec(any::<u8>(), 0..200)), cc in opt(any::<u8>()), extra in arb_extra()) {
        round_trip(&SmdppResult { bearer_data: bd, cause_code: cc, extra, ..SmdppResult::default() });
    }

    #[test]
    fn smdpp_attach_result(ac in opt(any::<u8>()), esn in opt(arb_esn()), meid in opt(arb_meid()),
        ms in opt(arb_msid()), mscid in opt(arb_mscid()), extra in arb_extra()) {
        round_trip(&SmdppResult { bearer_data: None, cause_code: None, action_code: ac, esn, meid,
            mobile_station_msid: ms, mscid, extra });
    }

    #[test]
    fn sms_request(msid in arb_msid(), esn in opt(arb_esn()), meid in opt(arb_meid()), si in opt(any::<u8>()), extra in arb_extra()) {
        round_trip(&SmsRequest { msid, esn, meid, service_indicator: si, extra });
    }

    #[test]
    fn sms_request_result(esn in opt(arb_esn()), addr in opt(arb_digits()), extra in arb_extra()) {
        round_trip(&SmsRequestResult { esn, sms_address: addr, extra });
    }

    #[test]
    fn registration_notification(esn in arb_esn(), msid in arb_msid(), mscid in arb_mscid(),
        q in opt(any::<u8>()), s in opt(any::<u8>()), meid in opt(arb_meid()), extra in arb_extra()) {
        round_trip(&RegistrationNotification { esn, msid, mscid, qualification_information_code: q,
            system_my_type_code: s, meid, extra });
    }

    #[test]
    fn registration_notification_result(s in opt(any::<u8>()), extra in arb_extra()) {
        round_trip(&RegistrationNotificationResult { system_my_type_code: s, extra });
    }

    #[test]
    fn random_parameters_never_panic(raw in proptest::collection::vec(
        (prop_oneof![Just(8u32), Just(9), Just(21), Just(93), Just(104), Just(105), Just(116), Just(128),
            Just(153), Just(184), Just(189), Just(193), Just(195), Just(242), Just(286), Just(390), 0u32..500],
         proptest::collection::vec(any::<u8>(), 0..12)), 0..8)) {
        let p = Parameters {
            kind: ParameterKind::Set,
            elements: raw.into_iter().map(|(t, v)| Tlv::new(Identifier::context(t), v)).collect(),
        };
        let _ = OtaspRequest::from_parameters(Some(&p));
        let _ = OtaspRequestResult::from_parameters(Some(&p));
        let _ = SmdppInvoke::from_parameters(Some(&p));
        let _ = SmdppResult::from_parameters(Some(&p));
        let _ = SmsRequest::from_parameters(Some(&p));
        let _ = SmsRequestResult::from_parameters(Some(&p));
        let _ = RegistrationNotification::from_parameters(Some(&p));
        let _ = RegistrationNotificationResult::from_parameters(Some(&p));
    }
}
