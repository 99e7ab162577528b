//! Round-trip and robustness properties for every IS-683 message type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::blocks::*;
use super::forward::*;
use super::nam::*;
use super::reverse::*;
use super::ResultCode;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn result_code() -> impl Strategy<Value = ResultCode> {
    any::<u8>().prop_map(ResultCode::from)
}

fn fresh() -> impl Strategy<Value = Option<u16>> {
    option::of(0u16..0x8000)
}

fn raw_block() -> impl Strategy<Value = RawBlock> {
    (any::<u8>(), bytes(40)).prop_map(|(id, data)| RawBlock::new(id, data))
}

fn block_id_list() -> impl Strategy<Value = BlockIdList> {
    vec(any::<u8>(), 0..20).prop_map(|block_ids| BlockIdList { block_ids })
}

fn block_download() -> impl Strategy<Value = BlockDownloadRequest> {
    (vec(raw_block(), 0..5), fresh())
        .prop_map(|(blocks, fresh)| BlockDownloadRequest { blocks, fresh })
}

fn block_results() -> impl Strategy<Value = BlockResults> {
    vec((any::<u8>(), result_code()), 0..10).prop_map(|v| BlockResults {
        results: v
            .into_iter()
            .map(|(block_id, result)| BlockResult { block_id, result })
            .collect(),
    })
}

fn segment_request() -> impl Strategy<Value = SegmentRequest> {
    (any::<u16>(), any::<u8>()).prop_map(|(offset, max_size)| SegmentRequest { offset, max_size })
}

fn imsi() -> impl Strategy<Value = ImsiParams> {
    (any::<bool>(), 0u8..8, 0u16..1024, 0u8..128, 0u64..(1 << 34)).prop_map(
        |(class, addr_num, mcc, imsi_11_12, imsi_s)| ImsiParams {
            class,
            addr_num,
            mcc,
            imsi_11_12,
            imsi_s,
        },
    )
}

fn access() -> impl Strategy<Value = AccessSettings> {
    (
        0u8..16,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(accolc, local_control, mob_term_home, mob_term_for_sid, mob_term_for_nid)| {
                AccessSettings {
                    accolc,
                    local_control,
                    mob_term_home,
                    mob_term_for_sid,
                    mob_term_for_nid,
                }
            },
        )
}

fn sid_nid() -> impl Strategy<Value = Vec<SidNid>> {
    vec(
        (0u16..0x8000, any::<u16>()).prop_map(|(sid, nid)| SidNid { sid, nid }),
        0..8,
    )
}

fn mdn() -> impl Strategy<Value = Mdn> {
    vec(
        prop_oneof![
            Just('0'),
            Just('1'),
            Just('5'),
            Just('9'),
            Just('*'),
            Just('#')
        ],
        0..=15,
    )
    .prop_map(|d| Mdn {
        digits: d.into_iter().collect(),
    })
}

fn other_nam_block() -> impl Strategy<Value = RawBlock> {
    (4u8..=255, bytes(30)).prop_map(|(id, data)| RawBlock::new(id, data))
}

fn nam_download_block() -> impl Strategy<Value = NamDownloadBlock> {
    prop_oneof![
        (
            0u16..2048,
            0u16..0x8000,
            any::<bool>(),
            imsi(),
            access(),
            sid_nid()
        )
            .prop_map(|(firstchp, home_sid, ex, imsi_m, access, sid_nid)| {
                NamDownloadBlock::CdmaAnalog(CdmaAnalogNam {
                    firstchp,
                    home_sid,
                    ex,
                    imsi_m,
                    access,
                    sid_nid,
                })
            }),
        mdn().prop_map(NamDownloadBlock::Mdn),
        (imsi(), access(), sid_nid()).prop_map(|(imsi_m, access, sid_nid)| {
            NamDownloadBlock::Cdma(CdmaNam {
                imsi_m,
                access,
                sid_nid,
            })
        }),
        imsi().prop_map(NamDownloadBlock::ImsiT),
        other_nam_block().prop_map(NamDownloadBlock::Other),
    ]
}

fn nam_config_block() -> impl Strategy<Value = NamConfigBlock> {
    prop_oneof![
        (
            (
                0u16..2048,
                0u16..0x8000,
                any::<bool>(),
                any::<u8>(),
                any::<u8>()
            ),
            imsi(),
            access(),
            any::<u8>(),
            sid_nid()
        )
            .prop_map(
                |(
                    (firstchp, home_sid, ex, scm, mob_p_rev),
                    imsi_m,
                    access,
                    max_sid_nid,
                    sid_nid,
                )| {
                    NamConfigBlock::CdmaAnalog(CdmaAnalogNamConfig {
                        firstchp,
                        home_sid,
                        ex,
                        scm,
                        mob_p_rev,
                        imsi_m,
                        access,
                        max_sid_nid,
                        sid_nid,
                    })
                }
            ),
        mdn().prop_map(NamConfigBlock::Mdn),
        (
            any::<bool>(),
            any::<u8>(),
            imsi(),
            access(),
            any::<u8>(),
            sid_nid()
        )
            .prop_map(
                |(slotted_mode, mob_p_rev, imsi_m, access, max_sid_nid, sid_nid)| {
                    NamConfigBlock::Cdma(CdmaNamConfig {
                        slotted_mode,
                        mob_p_rev,
                        imsi_m,
                        access,
                        max_sid_nid,
                        sid_nid,
                    })
                }
            ),
        imsi().prop_map(NamConfigBlock::ImsiT),
        other_nam_block().prop_map(NamConfigBlock::Other),
    ]
}

fn spc() -> impl Strategy<Value = Spc> {
    vec(0u8..10, 6).prop_map(|d| {
        let s: String = d.into_iter().map(|x| char::from(b'0' + x)).collect();
        Spc::new(&s).unwrap()
    })
}

fn validation_block() -> impl Strategy<Value = ValidationBlock> {
    prop_oneof![
        spc().prop_map(ValidationBlock::VerifySpc),
        spc().prop_map(ValidationBlock::ChangeSpc),
        (option::of(0u32..(1 << 18)), any::<bool>()).prop_map(|(auth_otapa, nam_lock)| {
            ValidationBlock::ValidateSpasm(SpasmValidation {
                auth_otapa,
                nam_lock,
            })
        }),
        (3u8..=255, bytes(20)).prop_map(|(id, d)| ValidationBlock::Other(RawBlock::new(id, d))),
    ]
}

fn features() -> impl Strategy<Value = Vec<Feature>> {
    vec(
        (any::<u8>(), any::<u8>()).prop_map(|(feature_id, feature_p_rev)| Feature {
            feature_id,
            feature_p_rev,
        }),
        0..8,
    )
}

fn forward_message() -> impl Strategy<Value = ForwardMessage> {
    prop_oneof![
        block_id_list().prop_map(ForwardMessage::Configuration),
        (vec(nam_download_block(), 0..4), fresh()).prop_map(|(blocks, fresh)| {
            ForwardMessage::Download(DownloadRequest { blocks, fresh })
        }),
        (any::<u8>(), bytes(30), bytes(30)).prop_map(|(rev, p, g)| {
            ForwardMessage::MsKey(MsKeyRequest {
                a_key_p_rev: rev,
                params: (rev <= 2).then_some(KeyExchangeParams {
                    param_p: p,
                    param_g: g,
                }),
            })
        }),
        bytes(60).prop_map(
            |bs_result| ForwardMessage::KeyGeneration(KeyGenerationRequest { bs_result })
        ),
        any::<u32>()
            .prop_map(|rand| ForwardMessage::ReAuthenticate(ReAuthenticateRequest { rand })),
        Just(ForwardMessage::Commit),
        option::of((any::<u8>(), vec(any::<u8>(), 0..8))).prop_map(|q| {
            ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest {
                query: q.map(|(otasp_p_rev, record_types)| CapabilityQuery {
                    otasp_p_rev,
                    record_types,
                }),
            })
        }),
        (any::<u8>(), segment_request()).prop_map(|(block_id, seg)| {
            ForwardMessage::SsprConfiguration(SsprConfigurationRequest {
                block_id,
                segment: (block_id == SsprConfigurationRequest::BLOCK_PRL).then_some(seg),
            })
        }),
        (
            any::<u8>(),
            any::<bool>(),
            any::<u16>(),
            bytes(251),
            fresh()
        )
            .prop_map(
                |(block_id, last_segment, segment_offset, segment_data, fresh)| {
                    ForwardMessage::SsprDownload(SsprDownloadRequest {
                        block_id,
                        last_segment,
                        segment_offset,
                        segment_data,
                        fresh,
                    })
                }
            ),
        vec(validation_block(), 0..4)
            .prop_map(|blocks| ForwardMessage::Validation(ValidationRequest { blocks })),
        any::<bool>().prop_map(|start| ForwardMessage::Otapa(OtapaRequest { start })),
        (any::<u8>(), bytes(10)).prop_map(|(block_id, params)| {
            ForwardMessage::PuzlConfiguration(PuzlConfigurationRequest { block_id, params })
        }),
        block_download().prop_map(ForwardMessage::PuzlDownload),
        block_id_list().prop_map(ForwardMessage::ThreeGpdConfiguration),
        block_download().prop_map(ForwardMessage::ThreeGpdDownload),
        (0u8..16, option::of(any::<u64>())).prop_map(|(key_in_use, rand_sm)| {
            ForwardMessage::SecureMode(SecureModeRequest {
                key_in_use,
                rand_sm,
            })
        }),
        block_id_list().prop_map(ForwardMessage::MmdConfiguration),
        block_download().prop_map(ForwardMessage::MmdDownload),
        (any::<u8>(), option::of(segment_request())).prop_map(|(block_id, segment)| {
            ForwardMessage::SystemTagConfiguration(SystemTagConfigurationRequest {
                block_id,
                segment,
            })
        }),
        (raw_block(), fresh()).prop_map(|(block, fresh)| {
            ForwardMessage::SystemTagDownload(SystemTagDownloadRequest { block, fresh })
        }),
        (0u16..0x1000).prop_map(|key_id| {
            ForwardMessage::ServiceKeyGeneration(ServiceKeyGenerationRequest { key_id })
        }),
        block_id_list().prop_map(ForwardMessage::MmsConfiguration),
        block_download().prop_map(ForwardMessage::MmsDownload),
    ]
}

fn single_block_response() -> impl Strategy<Value = SingleBlockResponse> {
    (any::<u8>(), result_code(), bytes(60), fresh()).prop_map(|(block_id, result, data, fresh)| {
        SingleBlockResponse {
            block_id,
            result,
            data,
            fresh,
        }
    })
}

fn raw_config_response() -> impl Strategy<Value = RawConfigurationResponse> {
    (vec((raw_block(), result_code()), 0..4), fresh()).prop_map(|(blocks, fresh)| {
        RawConfigurationResponse {
            blocks: blocks
                .into_iter()
                .map(|(block, result)| ConfiguredRawBlock { block, result })
                .collect(),
            fresh,
        }
    })
}

fn reverse_message() -> impl Strategy<Value = ReverseMessage> {
    prop_oneof![
        (vec((nam_config_block(), result_code()), 0..4), fresh()).prop_map(|(blocks, fresh)| {
            ReverseMessage::Configuration(ConfigurationResponse {
                blocks: blocks
                    .into_iter()
                    .map(|(block, result)| ConfiguredNamBlock { block, result })
                    .collect(),
                fresh,
            })
        }),
        block_results().prop_map(ReverseMessage::Download),
        result_code().prop_map(ReverseMessage::MsKey),
        (result_code(), bytes(60)).prop_map(|(result, ms_result)| {
            ReverseMessage::KeyGeneration(KeyGenerationResponse { result, ms_result })
        }),
        (0u32..(1 << 18), any::<u8>(), 0u8..64, 0u32..(1 << 24)).prop_map(
            |(authr, randc, count, auth_data)| {
                ReverseMessage::ReAuthenticate(ReAuthenticateResponse {
                    authr,
                    randc,
                    count,
                    auth_data,
                })
            }
        ),
        result_code().prop_map(ReverseMessage::Commit),
        (any::<u16>(), any::<u8>(), features(), bytes(10)).prop_map(
            |(mob_firm_rev, mob_model, features, additional_fields)| {
                ReverseMessage::ProtocolCapability(ProtocolCapabilityResponse {
                    mob_firm_rev,
                    mob_model,
                    features,
                    additional_fields,
                })
            }
        ),
        single_block_response().prop_map(ReverseMessage::SsprConfiguration),
        (any::<u8>(), result_code(), any::<u16>(), any::<u8>()).prop_map(
            |(block_id, result, segment_offset, segment_size)| {
                ReverseMessage::SsprDownload(SsprDownloadResponse {
                    block_id,
                    result,
                    segment_offset,
                    segment_size,
                })
            }
        ),
        block_results().prop_map(ReverseMessage::Validation),
        (result_code(), option::of(any::<u32>())).prop_map(|(result, rand_otapa)| {
            ReverseMessage::Otapa(OtapaResponse { result, rand_otapa })
        }),
        single_block_response().prop_map(ReverseMessage::PuzlConfiguration),
        vec(
            (
                any::<u8>(),
                result_code(),
                option::of((any::<u16>(), 0u16..0x8000))
            ),
            0..5
        )
        .prop_map(|v| {
            ReverseMessage::PuzlDownload(PuzlDownloadResponse {
                blocks: v
                    .into_iter()
                    .map(|(block_id, result, z)| PuzlBlockResult {
                        block_id,
                        result,
                        user_zone: z.map(|(uz_id, uz_sid)| UserZone { uz_id, uz_sid }),
                    })
                    .collect(),
            })
        }),
        raw_config_response().prop_map(ReverseMessage::ThreeGpdConfiguration),
        block_results().prop_map(ReverseMessage::ThreeGpdDownload),
        result_code().prop_map(ReverseMessage::SecureMode),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u8>(),
            features(),
            vec(raw_block(), 0..4)
        )
            .prop_map(
                |(otasp_mob_p_rev, mob_firm_rev, mob_model, features, cap_records)| {
                    ReverseMessage::ExtendedProtocolCapability(ExtendedProtocolCapabilityResponse {
                        otasp_mob_p_rev,
                        mob_firm_rev,
                        mob_model,
                        features,
                        cap_records,
                    })
                }
            ),
        raw_config_response().prop_map(ReverseMessage::MmdConfiguration),
        block_results().prop_map(ReverseMessage::MmdDownload),
        single_block_response().prop_map(ReverseMessage::SystemTagConfiguration),
        (
            any::<u8>(),
            result_code(),
            option::of((any::<u16>(), any::<u8>()))
        )
            .prop_map(|(block_id, result, seg)| {
                ReverseMessage::SystemTagDownload(SystemTagDownloadResponse {
                    block_id,
                    result,
                    segment: seg.map(|(offset, size)| SegmentAck { offset, size }),
                })
            }),
        result_code().prop_map(ReverseMessage::ServiceKeyGeneration),
        raw_config_response().prop_map(ReverseMessage::MmsConfiguration),
        block_results().prop_map(ReverseMessage::MmsDownload),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn forward_round_trip(msg in forward_message()) {
        let bytes = msg.encode().unwrap();
        prop_assert_eq!(bytes[0], msg.message_type().code());
        prop_assert_eq!(ForwardMessage::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn reverse_round_trip(msg in reverse_message()) {
        let bytes = msg.encode().unwrap();
        prop_assert_eq!(bytes[0], msg.message_type().code());
        prop_assert_eq!(ReverseMessage::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn decode_never_panics(data in vec(any::<u8>(), 0..64)) {
        let _ = ForwardMessage::decode(&data);
        let _ = ReverseMessage::decode(&data);
    }

    #[test]
    fn decode_never_panics_on_known_types(code in 0u8..24, rest in vec(any::<u8>(), 0..48)) {
        let mut data = vec![code];
        data.extend(rest);
        if let Ok(m) = ForwardMessage::decode(&data) {
            // Whatever decodes re-encodes to a message that decodes the same.
            let again = m.encode().unwrap();
            prop_assert_eq!(ForwardMessage::decode(&again).unwrap(), m);
        }
        if let Ok(m) = ReverseMessage::decode(&data) {
            let again = m.encode().unwrap();
            prop_assert_eq!(ReverseMessage::decode(&again).unwrap(), m);
        }
    }

    #[test]
    fn decode_never_panics_on_mutated_messages(
        msg in forward_message(),
        rmsg in reverse_message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        for mut bytes in [msg.encode().unwrap(), rmsg.encode().unwrap()] {
            for (i, x) in &flips {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            let _ = ForwardMessage::decode(&bytes);
            let _ = ReverseMessage::decode(&bytes);
            let n = cut.index(bytes.len() + 1);
            let _ = ForwardMessage::decode(&bytes[..n]);
            let _ = ReverseMessage::decode(&bytes[..n]);
        }
    }

    #[test]
    fn digit_helpers_round_trip(d in vec(0u8..10, 15)) {
        let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        let mcc = encode_mcc(&s[0..3]).unwrap();
        prop_assert!(mcc <= 999);
        prop_assert_eq!(decode_mcc(mcc).unwrap(), &s[0..3]);
        let mnc = encode_imsi_11_12(&s[3..5]).unwrap();
        prop_assert!(mnc <= 99);
        prop_assert_eq!(decode_imsi_11_12(mnc).unwrap(), &s[3..5]);
        let imsi_s = encode_imsi_s(&s[5..15]).unwrap();
        prop_assert!(imsi_s < (1 << 34));
        prop_assert_eq!(decode_imsi_s(imsi_s).unwrap(), &s[5..15]);
    }
}
