//! M3UA: hand-built vectors, round-trip properties for every message type, robustness.
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

#[test]
fn aspup_vector() {
    // Version 1, reserved, class 3, type 1, length 16; ASP Identifier (0x0011, length 8) = 1.
    let bytes = hex("01 00 03 01 00000010  0011 0008 00000001");
    let m = Message::AspUp(AspUp {
        asp_identifier: Some(1),
        ..Default::default()
    });
    assert_eq!(m.encode().unwrap(), bytes);
    assert_eq!(Message::decode(&bytes).unwrap(), m);
    assert_eq!(m.name(), "ASPUP");
}

#[test]
fn aspup_ack_and_beat_vectors() {
    assert_eq!(
        Message::AspUpAck(AspUp::default()).encode().unwrap(),
        hex("01 00 03 04 00000008")
    );
    // Heartbeat Data of 5 octets: length 9, 3 padding octets.
    let beat = Message::Beat(Heartbeat {
        data: Some(vec![1, 2, 3, 4, 5]),
        extra: vec![],
    });
    let bytes = hex("01 00 03 03 00000014  0009 0009 0102030405 000000");
    assert_eq!(beat.encode().unwrap(), bytes);
    assert_eq!(Message::decode(&bytes).unwrap(), beat);
}

#[test]
fn aspac_loadshare_vector() {
    // Class 4 type 1, length 24; Traffic Mode Type 2 (loadshare); Routing Context 1.
    let bytes = hex("01 00 04 01 00000018  000b 0008 00000002  0006 0008 00000001");
    let m = Message::AspAc(AspActive {
        traffic_mode: Some(TrafficMode::Loadshare),
        routing_context: Some(vec![1]),
        ..Default::default()
    });
    assert_eq!(m.encode().unwrap(), bytes);
    assert_eq!(Message::decode(&bytes).unwrap(), m);
}

#[test]
fn data_vector() {
    // DATA, length 36: Routing Context 1; Protocol Data (length 19 = 4 + 12 + 3, 1 pad octet):
    // OPC 1-2-4, DPC 1-2-3, SI 3 (SCCP), NI 2 (national), MP 0, SLS 5, user data aa bb cc.
    let bytes = hex("01 00 01 01 00000024
         0006 0008 00000001
         0210 0013 00010204 00010203 03 02 00 05 aabbcc 00");
    let m = Message::Data(Data {
        network_appearance: None,
        routing_context: Some(vec![1]),
        protocol_data: ProtocolData {
            opc: PointCode::from_parts(1, 2, 4),
            dpc: PointCode::from_parts(1, 2, 3),
            si: 3,
            ni: 2,
            mp: 0,
            sls: 5,
            user_data: vec![0xaa, 0xbb, 0xcc],
        },
        correlation_id: None,
        extra: vec![],
    });
    assert_eq!(m.encode().unwrap(), bytes);
    assert_eq!(Message::decode(&bytes).unwrap(), m);
}

#[test]
fn duna_and_dupu_vectors() {
    // DUNA: Affected Point Code mask 0, PC 1-2-3.
    let bytes = hex("01 00 02 01 00000010  0012 0008 00010203");
    let duna = Message::Duna(DestinationState {
        affected_point_codes: vec![AffectedPointCode {
            mask: 0,
            point_code: PointCode::from_parts(1, 2, 3),
        }],
        ..Default::default()
    });
    assert_eq!(duna.encode().unwrap(), bytes);
    assert_eq!(Message::decode(&bytes).unwrap(), duna);
    // DUPU: APC 1-2-3, User/Cause: cause 2 (inaccessible), user 3 (SCCP).
    let bytes = hex("01 00 02 05 00000018  0012 0008 00010203  0204 0008 0002 0003");
    let Message::Dupu(d) = Message::decode(&bytes).unwrap() else {
        panic!("not DUPU")
    };
    assert_eq!(d.user_cause, UserCause { cause: 2, user: 3 });
    // Without User/Cause it is refused.
    let bytes = hex("01 00 02 05 00000010  0012 0008 00010203");
    assert!(matches!(
        Message::decode(&bytes),
        Err(M3uaError::MissingParameter {
            tag: tag::USER_CAUSE,
            ..
        })
    ));
}

#[test]
fn unknown_parameters_are_preserved_after_known_ones() {
    // ASPUP with an unknown 0x7f01 (3 octets) between ASP Identifier and Info String.
    let bytes =
        hex("01 00 03 01 00000020  0011 0008 00000007  7f01 0007 abcdef 00  0004 0006 6869 0000");
    let m = Message::decode(&bytes).unwrap();
    let Message::AspUp(up) = &m else {
        panic!("not ASPUP")
    };
    assert_eq!(up.asp_identifier, Some(7));
    assert_eq!(up.info_string.as_deref(), Some("hi"));
    assert_eq!(up.extra, vec![Parameter::new(0x7f01, [0xab, 0xcd, 0xef])]);
    // Re-emitted after the known parameters.
    let again = m.encode().unwrap();
    assert_eq!(
        again,
        hex("01 00 03 01 00000020  0011 0008 00000007  0004 0006 6869 0000  7f01 0007 abcdef 00")
    );
    assert_eq!(Message::decode(&again).unwrap(), m);
    // A parameter defined only for other messages (Heartbeat Data in ASPUP) is kept raw too.
    let bytes = hex("01 00 03 01 0000000c  0009 0004");
    let Message::AspUp(up) = Message::decode(&bytes).unwrap() else {
        panic!("not ASPUP")
    };
    assert_eq!(up.extra, vec![Parameter::new(tag::HEARTBEAT_DATA, [])]);
}

#[test]
fn extra_shadowing_a_known_tag_is_refused() {
    let m = Message::AspUp(AspUp {
        asp_identifier: None,
        info_string: None,
        extra: vec![Parameter::new(tag::ASP_IDENTIFIER, [0, 0, 0, 1])],
    });
    assert!(matches!(
        m.encode(),
        Err(M3uaError::ExtraShadowsKnown { .. })
    ));
}

#[test]
fn unknown_class_is_other() {
    // RKM REG REQ (9/1) with one parameter.
    let bytes = hex("01 00 09 01 00000010  0207 0008 01020304");
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(
        m,
        Message::Other {
            class: 9,
            msg_type: 1,
            params: vec![Parameter::new(0x0207, [1, 2, 3, 4])]
        }
    );
    assert_eq!(m.encode().unwrap(), bytes);
}

#[test]
fn decode_errors() {
    assert!(matches!(
        Message::decode(&hex("02 00 03 01 00000008")),
        Err(M3uaError::UnsupportedVersion(2))
    ));
    assert!(matches!(
        Message::decode(&hex("01 00 03 01 0000000c")),
        Err(M3uaError::LengthMismatch {
            header: 12,
            actual: 8
        })
    ));
    assert!(matches!(
        Message::decode(&hex("01 00 03 01")),
        Err(M3uaError::Truncated { .. })
    ));
    // Parameter length 3 (< 4).
    assert!(matches!(
        Message::decode(&hex("01 00 03 01 0000000c  0011 0003")),
        Err(M3uaError::ParameterLength { length: 3, .. })
    ));
    // Parameter running past the end.
    assert!(matches!(
        Message::decode(&hex("01 00 03 01 0000000c  0011 0008")),
        Err(M3uaError::ParameterLength { length: 8, .. })
    ));
    // Missing padding after a 5-octet parameter.
    assert!(Message::decode(&hex("01 00 03 01 0000000d  0004 0005 41")).is_err());
    // Duplicate ASP Identifier.
    assert!(matches!(
        Message::decode(&hex(
            "01 00 03 01 00000018  0011 0008 00000001  0011 0008 00000002"
        )),
        Err(M3uaError::DuplicateParameter { .. })
    ));
    // ASP Identifier of 2 octets.
    assert!(matches!(
        Message::decode(&hex("01 00 03 01 00000010  0011 0006 0001 0000")),
        Err(M3uaError::InvalidParameter { .. })
    ));
    // Empty Routing Context.
    assert!(Message::decode(&hex("01 00 04 01 0000000c  0006 0004")).is_err());
    // DATA without Protocol Data; Protocol Data shorter than the routing label.
    assert!(matches!(
        Message::decode(&hex("01 00 01 01 00000008")),
        Err(M3uaError::MissingParameter { .. })
    ));
    assert!(Message::decode(&hex("01 00 01 01 00000010  0210 0008 00000001")).is_err());
    // Info String that is not UTF-8.
    assert!(Message::decode(&hex("01 00 03 02 0000000c  0004 0005 ff 000000")).is_err());
}

#[test]
fn encode_errors() {
    let m = Message::AspAc(AspActive {
        routing_context: Some(vec![]),
        ..Default::default()
    });
    assert_eq!(m.encode(), Err(M3uaError::EmptyList("Routing Context")));
    let m = Message::Duna(DestinationState::default());
    assert_eq!(m.encode(), Err(M3uaError::EmptyList("Affected Point Code")));
    let m = Message::Beat(Heartbeat {
        data: Some(vec![0; 65532]),
        extra: vec![],
    });
    assert!(matches!(m.encode(), Err(M3uaError::TooLarge { .. })));
    let m = Message::Beat(Heartbeat {
        data: Some(vec![0; 65531]),
        extra: vec![],
    });
    // Fits the parameter (65535) but the message (8 + 65536) exceeds 64 KiB.
    assert!(matches!(
        m.encode(),
        Err(M3uaError::TooLarge {
            what: "message",
            ..
        })
    ));
}

#[test]
fn point_code_text() {
    let pc = PointCode::from_parts(1, 2, 3);
    assert_eq!(pc.value(), 0x010203);
    assert_eq!(pc.parts(), (1, 2, 3));
    assert_eq!(pc.to_string(), "1-2-3");
    assert_eq!("1-2-3".parse::<PointCode>().unwrap(), pc);
    assert_eq!(
        "255-255-255".parse::<PointCode>().unwrap().value(),
        0xFFFFFF
    );
    for bad in [
        "", "1-2", "1-2-3-4", "1-2-256", "1--3", "+1-2-3", "a-b-c", "1-2-3 ",
    ] {
        assert!(bad.parse::<PointCode>().is_err(), "{bad:?}");
    }
    assert!(PointCode::new(0x0100_0000).is_err());
    assert_eq!(PointCode::try_from(0xFFFFFF).unwrap().value(), 0xFFFFFF);
}

#[test]
fn frame_len_splits_a_stream() {
    let a = Message::AspUp(AspUp {
        asp_identifier: Some(1),
        ..Default::default()
    })
    .encode()
    .unwrap();
    let b = Message::Beat(Heartbeat {
        data: Some(vec![9; 7]),
        extra: vec![],
    })
    .encode()
    .unwrap();
    let c = Message::AspAcAck(AspActive::default()).encode().unwrap();
    let stream: Vec<u8> = [a.clone(), b.clone(), c.clone()].concat();

    // Fed in every possible pair of split points, the framer recovers the three messages.
    for cut in 0..=stream.len() {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for chunk in [&stream[..cut], &stream[cut..]] {
            buf.extend_from_slice(chunk);
            while let Some(n) = frame_len(&buf).unwrap() {
                if buf.len() < n {
                    break;
                }
                out.push(Message::decode(&buf[..n]).unwrap());
                buf.drain(..n);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(out.len(), 3, "cut at {cut}");
        assert_eq!(out[1].encode().unwrap(), b);
    }
    assert_eq!(frame_len(&a[..7]).unwrap(), None);
    assert_eq!(frame_len(&a[..8]).unwrap(), Some(a.len()));
    assert!(matches!(
        frame_len(&hex("01 00 03 01 00000007")),
        Err(M3uaError::BadMessageLength(7))
    ));
    assert!(matches!(
        frame_len(&hex("01 00 03 01 00010001")),
        Err(M3uaError::BadMessageLength(_))
    ));
    assert_eq!(
        frame_len(&hex("01 00 03 01 00010000")).unwrap(),
        Some(65536)
    );
    assert!(matches!(
        frame_len(&hex("00 00 03 01 00000008")),
        Err(M3uaError::UnsupportedVersion(0))
    ));
}

// ---- properties ----

fn extra() -> impl Strategy<Value = Vec<Parameter>> {
    // Tags no M3UA message defines.
    vec(
        (0x8000u16..0x8100, vec(any::<u8>(), 0..12)).prop_map(|(t, v)| Parameter::new(t, v)),
        0..3,
    )
}

fn point_code() -> impl Strategy<Value = PointCode> {
    (0..=PointCode::MAX).prop_map(|v| PointCode::new(v).unwrap())
}

fn rc() -> impl Strategy<Value = Option<Vec<u32>>> {
    option::of(vec(any::<u32>(), 1..4))
}

fn info() -> impl Strategy<Value = Option<String>> {
    option::of("[ -~é]{0,20}")
}

fn apc() -> impl Strategy<Value = Vec<AffectedPointCode>> {
    vec(
        (any::<u8>(), point_code())
            .prop_map(|(mask, point_code)| AffectedPointCode { mask, point_code }),
        1..4,
    )
}

fn dest() -> impl Strategy<Value = DestinationState> {
    (option::of(any::<u32>()), rc(), apc(), info(), extra()).prop_map(
        |(network_appearance, routing_context, affected_point_codes, info_string, extra)| {
            DestinationState {
                network_appearance,
                routing_context,
                affected_point_codes,
                info_string,
                extra,
            }
        },
    )
}

fn message() -> impl Strategy<Value = Message> {
    let err = (
        any::<u32>(),
        rc(),
        option::of(any::<u32>()),
        option::of(apc()),
        option::of(vec(any::<u8>(), 0..20)),
        extra(),
    )
        .prop_map(
            |(error_code, routing_context, na, apc, diagnostic, extra)| {
                Message::Err(ErrorMessage {
                    error_code,
                    routing_context,
                    network_appearance: na,
                    affected_point_codes: apc,
                    diagnostic,
                    extra,
                })
            },
        );
    let ntfy = (
        any::<u16>(),
        any::<u16>(),
        option::of(any::<u32>()),
        rc(),
        info(),
        extra(),
    )
        .prop_map(|(t, i, asp, routing_context, info_string, extra)| {
            Message::Ntfy(Notify {
                status: Status {
                    status_type: t,
                    status_info: i,
                },
                asp_identifier: asp,
                routing_context,
                info_string,
                extra,
            })
        });
    let data = (
        option::of(any::<u32>()),
        rc(),
        (point_code(), point_code(), any::<[u8; 4]>()),
        vec(any::<u8>(), 0..300),
        option::of(any::<u32>()),
        extra(),
    )
        .prop_map(
            |(na, routing_context, (opc, dpc, b), user_data, corr, extra)| {
                Message::Data(Data {
                    network_appearance: na,
                    routing_context,
                    protocol_data: ProtocolData {
                        opc,
                        dpc,
                        si: b[0],
                        ni: b[1],
                        mp: b[2],
                        sls: b[3],
                        user_data,
                    },
                    correlation_id: corr,
                    extra,
                })
            },
        );
    let ssnm = (0u8..4, dest()).prop_map(|(k, d)| match k {
        0 => Message::Duna(d),
        1 => Message::Dava(d),
        2 => Message::Daud(d),
        _ => Message::Drst(d),
    });
    let scon = (dest(), option::of(point_code()), option::of(any::<u8>())).prop_map(
        |(state, concerned_destination, congestion_level)| {
            Message::Scon(Congestion {
                state,
                concerned_destination,
                congestion_level,
            })
        },
    );
    let dupu = (dest(), any::<u16>(), any::<u16>()).prop_map(|(state, cause, user)| {
        Message::Dupu(UserPartUnavailable {
            state,
            user_cause: UserCause { cause, user },
        })
    });
    let aspup = (any::<bool>(), option::of(any::<u32>()), info(), extra()).prop_map(
        |(ack, asp_identifier, info_string, extra)| {
            let m = AspUp {
                asp_identifier,
                info_string,
                extra,
            };
            if ack {
                Message::AspUpAck(m)
            } else {
                Message::AspUp(m)
            }
        },
    );
    let aspdn = (any::<bool>(), info(), extra()).prop_map(|(ack, info_string, extra)| {
        let m = AspDown { info_string, extra };
        if ack {
            Message::AspDnAck(m)
        } else {
            Message::AspDn(m)
        }
    });
    let beat = (any::<bool>(), option::of(vec(any::<u8>(), 0..40)), extra()).prop_map(
        |(ack, data, extra)| {
            let m = Heartbeat { data, extra };
            if ack {
                Message::BeatAck(m)
            } else {
                Message::Beat(m)
            }
        },
    );
    let aspac = (
        any::<bool>(),
        option::of(any::<u32>().prop_map(TrafficMode::from)),
        rc(),
        info(),
        extra(),
    )
        .prop_map(|(ack, traffic_mode, routing_context, info_string, extra)| {
            let m = AspActive {
                traffic_mode,
                routing_context,
                info_string,
                extra,
            };
            if ack {
                Message::AspAcAck(m)
            } else {
                Message::AspAc(m)
            }
        });
    let aspia = (any::<bool>(), rc(), info(), extra()).prop_map(
        |(ack, routing_context, info_string, extra)| {
            let m = AspInactive {
                routing_context,
                info_string,
                extra,
            };
            if ack {
                Message::AspIaAck(m)
            } else {
                Message::AspIa(m)
            }
        },
    );
    let other = (
        prop_oneof![Just(9u8), 5u8..9, 10u8..=255],
        any::<u8>(),
        vec(
            (any::<u16>(), vec(any::<u8>(), 0..12)).prop_map(|(t, v)| Parameter::new(t, v)),
            0..4,
        ),
    )
        .prop_map(|(class, msg_type, params)| Message::Other {
            class,
            msg_type,
            params,
        });
    prop_oneof![err, ntfy, data, ssnm, scon, dupu, aspup, aspdn, beat, aspac, aspia, other]
}

proptest! {
    #[test]
    fn round_trip(m in message()) {
        let bytes = m.encode().unwrap();
        prop_assert_eq!(frame_len(&bytes).unwrap(), Some(bytes.len()));
        prop_assert_eq!(bytes.len() % 4, 0);
        let back = Message::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }

    #[test]
    fn decode_never_panics(bytes in vec(any::<u8>(), 0..200)) {
        let _ = frame_len(&bytes);
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_plausible_headers(
        class in 0u8..6, msg_type in 0u8..8, body in vec(any::<u8>(), 0..120),
    ) {
        // A valid header in front of random parameters reaches the parameter decoders.
        let mut bytes = vec![1, 0, class, msg_type];
        bytes.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
        bytes.extend_from_slice(&body);
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn flipped_or_truncated_never_panics(m in message(), at in any::<usize>(), bit in 0u8..8) {
        let mut bytes = m.encode().unwrap();
        let i = at % bytes.len();
        bytes[i] ^= 1 << bit;
        let _ = Message::decode(&bytes);
        let _ = Message::decode(&bytes[..i]);
    }

    #[test]
    fn point_code_text_round_trip(pc in point_code()) {
        prop_assert_eq!(pc.to_string().parse::<PointCode>().unwrap(), pc);
    }
}
