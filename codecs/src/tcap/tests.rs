//! TCAP codec: hand-built vectors, error messages, round-trip properties, robustness.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use proptest::prelude::*;

#[test]
fn smdpp_operation_code_vector() {
    let m = TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: [0, 0, 0, 1],
        },
        components: vec![Component::Invoke {
            last: true,
            invoke_id: Some(1),
            correlation_id: None,
            operation: OperationCode::private(9, 53),
            parameters: Some(Parameters::empty_set()),
        }],
        dialogue: None,
    };
    let bytes = m.encode().unwrap();
    assert_eq!(
        bytes,
        [
            0xE2, 0x13, 0xC7, 0x04, 0, 0, 0, 1, 0xE8, 0x0B, 0xE9, 0x09, 0xCF, 0x01, 0x01, 0xD1,
            0x02, 0x09, 0x35, 0xF2, 0x00
        ]
    );
    assert_eq!(OperationCode::private(9, 53).value(), 2357);
    assert_eq!(TcapMessage::decode(&bytes).unwrap(), m);
}

#[test]
fn errors_say_what_is_wrong() {
    // Component 2 has a 3-octet operation code.
    let bytes = [
        0xE2, 0x1A, 0xC7, 0x04, 0, 0, 0, 1, 0xE8, 0x12, 0xED, 0x07, 0xCF, 0x01, 0x01, 0xD1, 0x02,
        0x09, 0x35, 0xE9, 0x07, 0xCF, 0x00, 0xD1, 0x03, 0x09, 0x35, 0x00,
    ];
    let e = TcapMessage::decode(&bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "TCAP: component 2: operation code must be 2 octets, got 3"
    );
    let e = TcapMessage::decode(&[0xE4, 0x04, 0xC7, 0x02, 0, 1]).unwrap_err();
    assert!(e.to_string().contains("must be 4 octets"), "{e}");
    let e = TcapMessage::decode(&[0xE2, 0x80, 0x00, 0x00]).unwrap_err();
    assert!(e.to_string().contains("indefinite"), "{e}");
    let e = TcapMessage::decode(&[0x62, 0x00]).unwrap_err();
    assert!(e.to_string().contains("not an ANSI TCAP package"), "{e}");
}

#[test]
fn abort_with_p_abort_cause() {
    let m = TcapMessage {
        package: Package::Abort {
            dtid: [1, 2, 3, 4],
            cause: Some(AbortCause::Protocol(
                PAbortCause::UnassignedRespondingTransactionId,
            )),
        },
        components: vec![],
        dialogue: None,
    };
    let b = m.encode().unwrap();
    assert_eq!(b, [0xF6, 0x09, 0xC7, 0x04, 1, 2, 3, 4, 0xD7, 0x01, 0x04]);
    assert_eq!(TcapMessage::decode(&b).unwrap(), m);
}

fn arb_tid() -> impl Strategy<Value = TransactionId> {
    any::<[u8; 4]>()
}

fn arb_package() -> impl Strategy<Value = Package> {
    prop_oneof![
        Just(Package::Unidirectional),
        (any::<bool>(), arb_tid()).prop_map(|(w, otid)| Package::Query {
            with_permission: w,
            otid
        }),
        (any::<bool>(), arb_tid(), arb_tid()).prop_map(|(w, otid, dtid)| {
            Package::Conversation {
                with_permission: w,
                otid,
                dtid,
            }
        }),
        arb_tid().prop_map(|dtid| Package::Response { dtid }),
    ]
}

fn arb_tlv() -> impl Strategy<Value = Tlv> {
    (
        0u8..4,
        any::<bool>(),
        0u32..500,
        proptest::collection::vec(any::<u8>(), 0..20),
    )
        .prop_map(|(c, k, t, v)| {
            Tlv::new(
                Identifier {
                    class: Class::from_bits(c << 6),
                    constructed: k,
                    tag: t,
                },
                v,
            )
        })
}

fn arb_params() -> impl Strategy<Value = Option<Parameters>> {
    proptest::option::of(
        (any::<bool>(), proptest::collection::vec(arb_tlv(), 0..5)).prop_map(|(s, e)| Parameters {
            kind: if s {
                ParameterKind::Set
            } else {
                ParameterKind::Sequence
            },
            elements: e,
        }),
    )
}

fn arb_kind() -> impl Strategy<Value = CodeKind> {
    prop_oneof![Just(CodeKind::National), Just(CodeKind::Private)]
}

fn arb_component() -> impl Strategy<Value = Component> {
    prop_oneof![
        (
            any::<bool>(),
            proptest::option::of((any::<u8>(), proptest::option::of(any::<u8>()))),
            arb_kind(),
            any::<bool>(),
            0u8..128,
            any::<u8>(),
            arb_params()
        )
            .prop_map(|(last, ids, kind, h, family, specifier, parameters)| {
                Component::Invoke {
                    last,
                    invoke_id: ids.map(|i| i.0),
                    correlation_id: ids.and_then(|i| i.1),
                    operation: OperationCode {
                        kind,
                        reply_required: h,
                        family,
                        specifier,
                    },
                    parameters,
                }
            }),
        (any::<bool>(), any::<u8>(), arb_params()).prop_map(|(last, c, parameters)| {
            Component::ReturnResult {
                last,
                correlation_id: c,
                parameters,
            }
        }),
        (any::<u8>(), arb_kind(), any::<u8>(), arb_params()).prop_map(
            |(c, kind, code, parameters)| Component::ReturnError {
                correlation_id: c,
                error: ErrorCode { kind, code },
                parameters,
            }
        ),
        (
            proptest::option::of(any::<u8>()),
            any::<u16>(),
            arb_params()
        )
            .prop_map(|(c, problem, parameters)| Component::Reject {
                correlation_id: c,
                problem: RejectProblem::from(problem),
                parameters
            }),
    ]
}

fn arb_message() -> impl Strategy<Value = TcapMessage> {
    prop_oneof![
        (
            arb_package(),
            proptest::collection::vec(arb_component(), 0..4),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))
        )
            .prop_map(|(package, components, dialogue)| TcapMessage {
                package,
                components,
                dialogue
            }),
        (
            arb_tid(),
            proptest::option::of(prop_oneof![
                any::<u8>().prop_map(|c| AbortCause::Protocol(PAbortCause::from(c))),
                proptest::collection::vec(any::<u8>(), 0..10).prop_map(AbortCause::User)
            ]),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))
        )
            .prop_map(|(dtid, cause, dialogue)| TcapMessage {
                package: Package::Abort { dtid, cause },
                components: vec![],
                dialogue
            }),
    ]
}

proptest! {
    #[test]
    fn round_trip(m in arb_message()) {
        let bytes = m.encode().unwrap();
        prop_assert_eq!(TcapMessage::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = TcapMessage::decode(&bytes);
    }

    #[test]
    fn corrupted_messages_never_panic(m in arb_message(), at in any::<usize>(), x in any::<u8>(), cut in any::<usize>()) {
        let mut bytes = m.encode().unwrap();
        let i = at % bytes.len();
        bytes[i] ^= x;
        let _ = TcapMessage::decode(&bytes);
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = TcapMessage::decode(&bytes);
    }
}
