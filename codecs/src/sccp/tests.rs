//! SCCP: hand-built vectors, round-trip properties in both variants, robustness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Network 4, cluster 5, member 6.
const PC_4_5_6: u32 = 0x04_05_06;

#[test]
fn verified_ansi_address_vector() {
    // `05 c3 08 06 05 04`: length 5, national, route on SSN, SSN 8, point code 4-5-6
    // (octets member 06, cluster 05, network 04). Verified with tshark 4.0 (mtp3.standard ANSI).
    let wire = hex("05 c3 08 06 05 04");
    let a = SccpAddress::decode(&wire[1..], Variant::Ansi).unwrap();
    assert_eq!(a, SccpAddress::ssn_pc(8, PC_4_5_6));
    assert_eq!(a.encode(Variant::Ansi).unwrap(), &wire[1..]);
}

#[test]
fn ansi_addresses_are_not_silently_read_as_itu() {
    // The verified ANSI address read as ITU: bit 1 now means "PC present" (2 octets 08 06),
    // bit 2 "SSN present" (05), and the network octet 04 is left over: an error, not a wrong
    // address.
    let body = hex("c3 08 06 05 04");
    assert_eq!(
        SccpAddress::decode(&body, Variant::Itu),
        Err(SccpError::TrailingOctets {
            what: "address",
            count: 1
        })
    );
    // SSN only (ANSI c1 08): ITU reads a 2-octet point code from 1 octet.
    assert!(matches!(
        SccpAddress::decode(&hex("c1 08"), Variant::Itu),
        Err(SccpError::Truncated { .. })
    ));
    // Point code only (ANSI c2 06 05 04): ITU reads SSN 6 and leaves 2 octets over.
    assert!(matches!(
        SccpAddress::decode(&hex("c2 06 05 04"), Variant::Itu),
        Err(SccpError::TrailingOctets { count: 2, .. })
    ));
    // When the sizes happen to line up the values differ: ANSI SSN 8 + GT 2 (TT 0, digits 11)
    // is, as ITU, point code 0x0008, no SSN, TT 0x11 and no digits.
    let body = hex("c9 08 00 11");
    let ansi = SccpAddress::decode(&body, Variant::Ansi).unwrap();
    let itu = SccpAddress::decode(&body, Variant::Itu).unwrap();
    assert_eq!(ansi.ssn, Some(8));
    assert_eq!(itu.ssn, None);
    assert_eq!(itu.point_code, Some(8));
    assert_ne!(ansi, itu);
    // And the reverse: an ITU address (national bit clear) is refused as ANSI.
    let itu_addr = SccpAddress::ssn_pc(8, 0x1234).encode(Variant::Itu).unwrap();
    assert_eq!(itu_addr, hex("43 34 12 08"));
    assert_eq!(
        SccpAddress::decode(&itu_addr, Variant::Ansi),
        Err(SccpError::InternationalAddress(0x43))
    );
}

#[test]
fn global_titles() {
    // ANSI GTI 2 (TT only), route on GT, SSN 6: indicator 1000 1001 = 0x89, SSN, TT 9, digits.
    let a = SccpAddress {
        route_on_ssn: false,
        ssn: Some(6),
        point_code: None,
        global_title: Some(GlobalTitle {
            gti: 2,
            translation_type: Some(9),
            digits: vec![0x21, 0x43],
            ..Default::default()
        }),
    };
    let wire = a.encode(Variant::Ansi).unwrap();
    assert_eq!(wire, hex("89 06 09 2143"));
    assert_eq!(SccpAddress::decode(&wire, Variant::Ansi).unwrap(), a);
    // ITU GTI 4: TT 0, NP 1 / ES 2 (BCD even), NAI 4 (international), PC 0x0123, SSN 6.
    let a = SccpAddress {
        route_on_ssn: false,
        ssn: Some(6),
        point_code: Some(0x0123),
        global_title: Some(GlobalTitle {
            gti: 4,
            translation_type: Some(0),
            numbering_plan_encoding: Some(0x12),
            nature_of_address: Some(0x04),
            digits: vec![0x19, 0x32, 0x54],
        }),
    };
    let wire = a.encode(Variant::Itu).unwrap();
    assert_eq!(wire, hex("13 2301 06 00 12 04 193254"));
    assert_eq!(SccpAddress::decode(&wire, Variant::Itu).unwrap(), a);
    // Fields not matching the indicator are refused.
    let mut bad = a.clone();
    bad.global_title.as_mut().unwrap().nature_of_address = None;
    assert!(matches!(
        bad.encode(Variant::Itu),
        Err(SccpError::GlobalTitleLayout { gti: 4, .. })
    ));
    bad.global_title.as_mut().unwrap().gti = 0;
    assert_eq!(bad.encode(Variant::Itu), Err(SccpError::InvalidGti(0)));
}

#[test]
fn udt_vector() {
    // UDT, class 0 return on error; called SSN 8 PC 1-2-3; calling SSN 6 PC 1-2-4; data e2 00.
    let m = SccpMessage::Udt(Unitdata {
        protocol_class: ProtocolClass {
            class: 0,
            return_on_error: true,
        },
        called: SccpAddress::ssn_pc(8, 0x010203),
        calling: SccpAddress::ssn_pc(6, 0x010204),
        data: vec![0xe2, 0x00],
    });
    let wire = hex("09 80 03 08 0d  05 c3 08 03 02 01  05 c3 06 04 02 01  02 e2 00");
    assert_eq!(m.encode(Variant::Ansi).unwrap(), wire);
    assert_eq!(SccpMessage::decode(&wire, Variant::Ansi).unwrap(), m);
    // The ITU form of the same message: 14-bit point codes, PC before SSN.
    let wire = hex("09 80 03 07 0b  04 43 03 02 08  04 43 04 02 06  02 e2 00");
    let itu = SccpMessage::Udt(Unitdata {
        called: SccpAddress::ssn_pc(8, 0x0203),
        calling: SccpAddress::ssn_pc(6, 0x0204),
        ..match &m {
            SccpMessage::Udt(u) => u.clone(),
            _ => unreachable!(),
        }
    });
    assert_eq!(itu.encode(Variant::Itu).unwrap(), wire);
    assert_eq!(SccpMessage::decode(&wire, Variant::Itu).unwrap(), itu);
    // 1-2-3 does not fit 14 bits.
    assert!(matches!(
        m.encode(Variant::Itu),
        Err(SccpError::PointCodeRange { .. })
    ));
}

#[test]
fn xudt_vector_with_segmentation() {
    let m = SccpMessage::Xudt(ExtendedUnitdata {
        protocol_class: ProtocolClass {
            class: 1,
            return_on_error: false,
        },
        hop_counter: 15,
        called: SccpAddress::ssn_pc(8, 0x010203),
        calling: SccpAddress::ssn_pc(6, 0x010204),
        data: vec![0xaa],
        optional: vec![OptionalParameter {
            code: optional_code::SEGMENTATION,
            value: vec![0x80, 0x12, 0x34, 0x56],
        }],
    });
    // Pointers at 3..7: called at 7 (ptr 4), calling at 13 (ptr 9), data at 19 (ptr 14),
    // optional at 21 (ptr 15).
    let wire =
        hex("11 01 0f 04 09 0e 0f  05 c3 08 03 02 01  05 c3 06 04 02 01  01 aa  10 04 80123456 00");
    assert_eq!(m.encode(Variant::Ansi).unwrap(), wire);
    assert_eq!(SccpMessage::decode(&wire, Variant::Ansi).unwrap(), m);
    // Without optional parameters the optional-part pointer is 0.
    let SccpMessage::Xudt(mut x) = m else {
        unreachable!()
    };
    x.optional.clear();
    let wire = SccpMessage::Xudt(x).encode(Variant::Ansi).unwrap();
    assert_eq!(wire[6], 0);
    assert_eq!(wire.len(), 21);
}

#[test]
fn udts_vector() {
    let m = SccpMessage::Udts(UnitdataService {
        return_cause: return_cause::SUBSYSTEM_FAILURE,
        called: SccpAddress::ssn_pc(6, 0x010204),
        calling: SccpAddress::ssn_pc(8, 0x010203),
        data: vec![1, 2, 3],
    });
    let wire = m.encode(Variant::Ansi).unwrap();
    assert_eq!(&wire[..2], &[0x0a, 0x03]);
    assert_eq!(SccpMessage::decode(&wire, Variant::Ansi).unwrap(), m);
}

#[test]
fn size_limits() {
    let udt = |n: usize| {
        SccpMessage::Udt(Unitdata {
            called: SccpAddress::ssn_pc(8, 1),
            calling: SccpAddress::ssn_pc(6, 2),
            data: vec![0; n],
            ..Default::default()
        })
    };
    assert!(udt(255).encode(Variant::Ansi).is_ok());
    assert_eq!(
        udt(256).encode(Variant::Ansi),
        Err(SccpError::DataTooLongForUdt { len: 256 })
    );
    assert!(udt(256)
        .encode(Variant::Ansi)
        .unwrap_err()
        .to_string()
        .contains("use XUDT"));
    // XUDT: 255 octets of data plus an optional part puts the optional pointer past 255.
    let xudt = SccpMessage::Xudt(ExtendedUnitdata {
        hop_counter: 15,
        called: SccpAddress::ssn_pc(8, 1),
        calling: SccpAddress::ssn_pc(6, 2),
        data: vec![0; 255],
        optional: vec![OptionalParameter {
            code: 0x12,
            value: vec![1],
        }],
        ..Default::default()
    });
    assert!(matches!(
        xudt.encode(Variant::Ansi),
        Err(SccpError::TooLarge { .. })
    ));
    let bad_opt = SccpMessage::Xudt(ExtendedUnitdata {
        optional: vec![OptionalParameter {
            code: 0,
            value: vec![],
        }],
        called: SccpAddress::ssn_pc(8, 1),
        calling: SccpAddress::ssn_pc(6, 2),
        ..Default::default()
    });
    assert_eq!(
        bad_opt.encode(Variant::Ansi),
        Err(SccpError::OptionalCodeZero)
    );
}

#[test]
fn decode_errors() {
    let ok = hex("09 80 03 08 0d  05 c3 08 03 02 01  05 c3 06 04 02 01  02 e2 00");
    assert!(SccpMessage::decode(&ok, Variant::Ansi).is_ok());
    // Truncated anywhere.
    for n in 0..ok.len() {
        assert!(SccpMessage::decode(&ok[..n], Variant::Ansi).is_err(), "{n}");
    }
    // Unknown message type (CR 0x01).
    assert_eq!(
        SccpMessage::decode(&hex("01 00"), Variant::Ansi),
        Err(SccpError::UnsupportedMessageType(1))
    );
    // Zero pointer.
    let mut z = ok.clone();
    z[3] = 0;
    assert_eq!(
        SccpMessage::decode(&z, Variant::Ansi),
        Err(SccpError::ZeroPointer("calling party address"))
    );
    // Protocol class 2 or handling 0x4.
    for pc in [0x02, 0x40] {
        let mut b = ok.clone();
        b[1] = pc;
        assert_eq!(
            SccpMessage::decode(&b, Variant::Ansi),
            Err(SccpError::InvalidProtocolClass(pc))
        );
    }
    // Empty called address.
    let b = hex("09 00 03 03 03 00 00 00");
    assert_eq!(
        SccpMessage::decode(&b, Variant::Ansi),
        Err(SccpError::EmptyAddress("called party address"))
    );
    // XUDT optional part without the end octet.
    let b = hex("11 00 0f 04 06 08 08  02 c1 08  02 c1 06  00  10 01 aa");
    assert_eq!(
        SccpMessage::decode(&b, Variant::Ansi),
        Err(SccpError::MissingEndOfOptional)
    );
}

// ---- properties ----

fn address(variant: Variant) -> impl Strategy<Value = SccpAddress> {
    let max = variant.max_point_code();
    let gt =
        (1u8..=15, any::<[u8; 3]>(), vec(any::<u8>(), 0..10)).prop_map(move |(gti, f, digits)| {
            let (tt, npes, nai, _) = gt_layout(variant, gti);
            GlobalTitle {
                gti,
                translation_type: tt.then_some(f[0]),
                numbering_plan_encoding: npes.then_some(f[1]),
                nature_of_address: nai.then_some(f[2]),
                digits,
            }
        });
    (
        any::<bool>(),
        option::of(any::<u8>()),
        option::of(0..=max),
        option::of(gt),
    )
        .prop_map(
            |(route_on_ssn, ssn, point_code, global_title)| SccpAddress {
                route_on_ssn,
                ssn,
                point_code,
                global_title,
            },
        )
}

fn protocol_class() -> impl Strategy<Value = ProtocolClass> {
    (0u8..=1, any::<bool>()).prop_map(|(class, return_on_error)| ProtocolClass {
        class,
        return_on_error,
    })
}

fn optional() -> impl Strategy<Value = Vec<OptionalParameter>> {
    vec(
        (1u8..=255, vec(any::<u8>(), 0..8))
            .prop_map(|(code, value)| OptionalParameter { code, value }),
        0..3,
    )
}

fn message(variant: Variant) -> impl Strategy<Value = SccpMessage> {
    let a = move || address(variant);
    prop_oneof![
        (protocol_class(), a(), a(), vec(any::<u8>(), 0..=255)).prop_map(
            |(protocol_class, called, calling, data)| SccpMessage::Udt(Unitdata {
                protocol_class,
                called,
                calling,
                data
            })
        ),
        (any::<u8>(), a(), a(), vec(any::<u8>(), 0..=255)).prop_map(
            |(return_cause, called, calling, data)| SccpMessage::Udts(UnitdataService {
                return_cause,
                called,
                calling,
                data
            })
        ),
        (
            protocol_class(),
            any::<u8>(),
            a(),
            a(),
            vec(any::<u8>(), 0..200),
            optional()
        )
            .prop_map(
                |(protocol_class, hop_counter, called, calling, data, optional)| {
                    SccpMessage::Xudt(ExtendedUnitdata {
                        protocol_class,
                        hop_counter,
                        called,
                        calling,
                        data,
                        optional,
                    })
                }
            ),
        (
            any::<u8>(),
            any::<u8>(),
            a(),
            a(),
            vec(any::<u8>(), 0..200),
            optional()
        )
            .prop_map(
                |(return_cause, hop_counter, called, calling, data, optional)| {
                    SccpMessage::Xudts(ExtendedUnitdataService {
                        return_cause,
                        hop_counter,
                        called,
                        calling,
                        data,
                        optional,
                    })
                }
            ),
    ]
}

fn variant() -> impl Strategy<Value = Variant> {
    prop_oneof![Just(Variant::Ansi), Just(Variant::Itu)]
}

proptest! {
    #[test]
    fn round_trip(m in variant().prop_flat_map(|v| (Just(v), message(v)))) {
        let (v, m) = m;
        let bytes = m.encode(v).unwrap();
        prop_assert_eq!(SccpMessage::decode(&bytes, v).unwrap(), m.clone());
        prop_assert_eq!(SccpMessage::decode(&bytes, v).unwrap().encode(v).unwrap(), bytes);
    }

    #[test]
    fn address_round_trip(a in variant().prop_flat_map(|v| (Just(v), address(v)))) {
        let (v, a) = a;
        let bytes = a.encode(v).unwrap();
        prop_assert_eq!(SccpAddress::decode(&bytes, v).unwrap(), a);
    }

    #[test]
    fn decode_never_panics(bytes in vec(any::<u8>(), 0..300), v in variant()) {
        let _ = SccpMessage::decode(&bytes, v);
        let _ = SccpAddress::decode(&bytes, v);
    }

    #[test]
    fn decode_never_panics_on_plausible_messages(
        t in prop_oneof![Just(0x09u8), Just(0x0a), Just(0x11), Just(0x12)],
        body in vec(any::<u8>(), 0..80),
        v in variant(),
    ) {
        let mut bytes = vec![t];
        bytes.extend_from_slice(&body);
        let _ = SccpMessage::decode(&bytes, v);
    }

    #[test]
    fn flipped_or_truncated_never_panics(
        m in variant().prop_flat_map(|v| (Just(v), message(v))),
        at in any::<usize>(),
        bit in 0u8..8,
        other in variant(),
    ) {
        let (v, m) = m;
        let mut bytes = m.encode(v).unwrap();
        let i = at % bytes.len();
        let _ = SccpMessage::decode(&bytes[..i], v);
        bytes[i] ^= 1 << bit;
        let _ = SccpMessage::decode(&bytes, v);
        let _ = SccpMessage::decode(&bytes, other);
    }
}
