//! Independent check of the IS-683 codec: every forward and reverse message type is encoded,
//! written to a pcap as IPv4/UDP (forward to port 6830, reverse to 6831) and decoded by
//! Wireshark's own ansi_683 dissector through `tests/support/is683.lua`.
//!
//! tshark must report no malformed packet and no expert info of severity Warning or above, and
//! the fields it decodes must carry the values we encoded. Fields that Wireshark 4.0 decodes
//! wrongly (is683.md section 8: CDMA NAM block 2's IMSI_M_11_12 and SID/NID pairs, SPC digits
//! shown nibble-swapped, the MDN pad nibble and '*' / '#') are deliberately not asserted.
//!
//! Without tshark the test fails when `CI=true` and is skipped (with a message) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use otagw_codecs::is683::forward::*;
use otagw_codecs::is683::nam::*;
use otagw_codecs::is683::reverse::*;
use otagw_codecs::is683::*;
use otagw_codecs::pcap::{ipv4_udp_frame, PcapWriter, LINKTYPE_IPV4};

const FORWARD_PORT: u16 = 6830;
const REVERSE_PORT: u16 = 6831;

/// One frame: the encoded message, its direction and the fields tshark must show.
struct Case {
    label: String,
    forward: bool,
    code: u8,
    bytes: Vec<u8>,
    expect: Vec<(&'static str, String)>,
}

fn fwd(msg: ForwardMessage, expect: &[(&'static str, &str)]) -> Case {
    Case {
        label: format!("forward {:?}", msg.message_type()),
        forward: true,
        code: msg.message_type().code(),
        bytes: msg.encode().expect("encodable test message"),
        expect: expect.iter().map(|(f, v)| (*f, v.to_string())).collect(),
    }
}

fn rev(msg: ReverseMessage, expect: &[(&'static str, &str)]) -> Case {
    Case {
        label: format!("reverse {:?}", msg.message_type()),
        forward: false,
        code: msg.message_type().code(),
        bytes: msg.encode().expect("encodable test message"),
        expect: expect.iter().map(|(f, v)| (*f, v.to_string())).collect(),
    }
}

fn imsi_m() -> ImsiParams {
    ImsiParams::class0("310", "00", "6195551234").unwrap()
}

fn access() -> AccessSettings {
    AccessSettings {
        accolc: 4,
        local_control: false,
        mob_term_home: true,
        mob_term_for_sid: true,
        mob_term_for_nid: false,
    }
}

fn pairs() -> Vec<SidNid> {
    vec![SidNid {
        sid: 4145,
        nid: 65535,
    }]
}

fn rc(code: u8) -> ResultCode {
    ResultCode::from(code)
}

fn raw(id: u8, data: &[u8]) -> RawBlock {
    RawBlock::new(id, data.to_vec())
}

fn results(pairs: &[(u8, u8)]) -> BlockResults {
    BlockResults {
        results: pairs
            .iter()
            .map(|&(block_id, code)| BlockResult {
                block_id,
                result: rc(code),
            })
            .collect(),
    }
}

fn raw_config(blocks: &[(u8, &[u8], u8)], fresh: Option<u16>) -> RawConfigurationResponse {
    RawConfigurationResponse {
        blocks: blocks
            .iter()
            .map(|&(id, data, code)| ConfiguredRawBlock {
                block: raw(id, data),
                result: rc(code),
            })
            .collect(),
        fresh,
    }
}

fn forward_cases() -> Vec<Case> {
    let block_download = |id: u8| BlockDownloadRequest {
        blocks: vec![raw(id, &[0x01, 0x02, 0x03])],
        fresh: Some(77),
    };
    vec![
        fwd(
            ForwardMessage::Configuration(BlockIdList {
                block_ids: vec![0, 1, 2, 3],
            }),
            &[
                ("ansi_683.number_of_parameter_blocks", "4"),
                ("ansi_683.param_block_nam", "0,1,2,3"),
            ],
        ),
        fwd(
            ForwardMessage::Download(DownloadRequest {
                blocks: vec![NamDownloadBlock::CdmaAnalog(CdmaAnalogNam {
                    firstchp: 283,
                    home_sid: 4145,
                    ex: false,
                    imsi_m: imsi_m(),
                    access: access(),
                    sid_nid: pairs(),
                })],
                fresh: Some(0x1234),
            }),
            &[
                ("ansi_683.number_of_parameter_blocks", "1"),
                ("ansi_683.param_block_nam", "0"),
                ("ansi_683.firstchp", "283"),
                ("ansi_683.home_sid", "4145"),
                ("ansi_683.mcc_m", "209"),
                ("ansi_683.imsi_m_11_12", "0x000063"),
                ("ansi_683.accolc", "4"),
                ("ansi_683.num_sid_nid", "1"),
                ("ansi_683.fresh", "4660"),
            ],
        ),
        fwd(
            ForwardMessage::Download(DownloadRequest {
                blocks: vec![NamDownloadBlock::Mdn(Mdn::new("6195551234").unwrap())],
                fresh: None,
            }),
            &[
                ("ansi_683.param_block_nam", "1"),
                ("ansi_683.n_digits", "10"),
                ("ansi_683.mobile_directory_number", "6195551234"),
            ],
        ),
        // CDMA NAM block 2: Wireshark misreads IMSI_M_11_12 and the SID/NID pairs, so only
        // the fields it places correctly are checked.
        fwd(
            ForwardMessage::Download(DownloadRequest {
                blocks: vec![NamDownloadBlock::Cdma(CdmaNam {
                    imsi_m: imsi_m(),
                    access: access(),
                    sid_nid: pairs(),
                })],
                fresh: None,
            }),
            &[("ansi_683.param_block_nam", "2"), ("ansi_683.mcc_m", "209")],
        ),
        fwd(
            ForwardMessage::Download(DownloadRequest {
                blocks: vec![NamDownloadBlock::ImsiT(imsi_m())],
                fresh: None,
            }),
            &[
                ("ansi_683.param_block_nam", "3"),
                ("ansi_683.mcc_t", "209"),
                ("ansi_683.imsi_t_11_12", "99"),
            ],
        ),
        fwd(
            ForwardMessage::MsKey(MsKeyRequest {
                a_key_p_rev: 2,
                params: Some(KeyExchangeParams {
                    param_p: vec![0xAA, 0xBB],
                    param_g: vec![0x05],
                }),
            }),
            &[
                ("ansi_683.a_key_protocol_revision", "2"),
                ("ansi_683.parameter_p", "aabb"),
                ("ansi_683.parameter_g", "05"),
            ],
        ),
        fwd(
            ForwardMessage::KeyGeneration(KeyGenerationRequest {
                bs_result: vec![0x10, 0x20, 0x30],
            }),
            &[("ansi_683.base_station_calculation_result", "102030")],
        ),
        fwd(
            ForwardMessage::ReAuthenticate(ReAuthenticateRequest { rand: 0xDEADBEEF }),
            &[("ansi_683.random_challenge_value", "deadbeef")],
        ),
        fwd(ForwardMessage::Commit, &[]),
        fwd(
            ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest::default()),
            &[],
        ),
        fwd(
            ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest {
                query: Some(CapabilityQuery {
                    otasp_p_rev: 4,
                    record_types: vec![1, 2],
                }),
            }),
            &[
                ("ansi_683.otasp_protocol_revision", "4"),
                ("ansi_683.number_of_capability_records", "2"),
                ("ansi_683.cap_info_record_type", "1,2"),
            ],
        ),
        fwd(
            ForwardMessage::SsprConfiguration(SsprConfigurationRequest {
                block_id: 1,
                segment: Some(SegmentRequest {
                    offset: 256,
                    max_size: 200,
                }),
            }),
            &[
                ("ansi_683.param_block_sspr", "1"),
                ("ansi_683.segment_offset", "256"),
                ("ansi_683.maximum_segment_size", "200"),
            ],
        ),
        fwd(
            ForwardMessage::SsprConfiguration(SsprConfigurationRequest {
                block_id: 0,
                segment: None,
            }),
            &[("ansi_683.param_block_sspr", "0")],
        ),
        fwd(
            ForwardMessage::SsprDownload(SsprDownloadRequest {
                block_id: 1,
                last_segment: true,
                segment_offset: 0x0100,
                segment_data: vec![0xAA, 0xBB, 0xCC],
                fresh: Some(5),
            }),
            &[
                ("ansi_683.param_block_sspr", "1"),
                ("ansi_683.len", "7"),
                ("ansi_683.block_data", "01010003aabbcc"),
                ("ansi_683.fresh", "5"),
            ],
        ),
        // SPC digits are displayed nibble-swapped by Wireshark: the SPC strings are not checked.
        fwd(
            ForwardMessage::Validation(ValidationRequest {
                blocks: vec![
                    ValidationBlock::VerifySpc(Spc::new("000000").unwrap()),
                    ValidationBlock::ChangeSpc(Spc::new("123456").unwrap()),
                    ValidationBlock::ValidateSpasm(SpasmValidation {
                        auth_otapa: Some(0x2AAAA),
                        nam_lock: true,
                    }),
                ],
            }),
            &[
                ("ansi_683.number_of_parameter_blocks", "3"),
                ("ansi_683.param_block_val", "0,1,2"),
                ("ansi_683.otapa_spasm_validation_signature", "0x02aaaa"),
            ],
        ),
        fwd(
            ForwardMessage::Otapa(OtapaRequest { start: true }),
            &[("ansi_683.otapa_session", "1")],
        ),
        fwd(
            ForwardMessage::PuzlConfiguration(PuzlConfigurationRequest {
                block_id: 3,
                params: vec![],
            }),
            &[("ansi_683.param_block_puzl", "3")],
        ),
        fwd(
            ForwardMessage::PuzlDownload(block_download(0)),
            &[
                ("ansi_683.param_block_puzl", "0"),
                ("ansi_683.block_data", "010203"),
                ("ansi_683.fresh", "77"),
            ],
        ),
        fwd(
            ForwardMessage::ThreeGpdConfiguration(BlockIdList {
                block_ids: vec![0, 2],
            }),
            &[("ansi_683.param_block_3gpd", "0,2")],
        ),
        fwd(
            ForwardMessage::ThreeGpdDownload(block_download(1)),
            &[
                ("ansi_683.param_block_3gpd", "1"),
                ("ansi_683.block_data", "010203"),
                ("ansi_683.fresh", "77"),
            ],
        ),
        fwd(
            ForwardMessage::SecureMode(SecureModeRequest {
                key_in_use: 1,
                rand_sm: Some(0x0102030405060708),
            }),
            &[
                ("ansi_683.secure_mode", "1"),
                (
                    "ansi_683.random_number_smck_generation",
                    "0x0102030405060708",
                ),
            ],
        ),
        fwd(
            ForwardMessage::MmdConfiguration(BlockIdList { block_ids: vec![0] }),
            &[("ansi_683.param_block_mmd", "0")],
        ),
        fwd(
            ForwardMessage::MmdDownload(block_download(0)),
            &[("ansi_683.param_block_mmd", "0"), ("ansi_683.fresh", "77")],
        ),
        fwd(
            ForwardMessage::SystemTagConfiguration(SystemTagConfigurationRequest {
                block_id: 2,
                segment: Some(SegmentRequest {
                    offset: 16,
                    max_size: 100,
                }),
            }),
            &[
                ("ansi_683.param_block_systag", "2"),
                ("ansi_683.segment_offset", "16"),
                ("ansi_683.maximum_segment_size", "100"),
            ],
        ),
        fwd(
            ForwardMessage::SystemTagDownload(SystemTagDownloadRequest {
                block: raw(1, &[0x09, 0x08]),
                fresh: None,
            }),
            &[
                ("ansi_683.param_block_systag", "1"),
                ("ansi_683.block_data", "0908"),
            ],
        ),
        fwd(
            ForwardMessage::ServiceKeyGeneration(ServiceKeyGenerationRequest {
                key_id: ServiceKeyGenerationRequest::KEY_IMS
                    | ServiceKeyGenerationRequest::KEY_WLAN,
            }),
            &[
                ("ansi_683.key_id.ims_root_key", "1"),
                ("ansi_683.key_id.bcmcs_root_key", "0"),
                ("ansi_683.key_id.wlan_root_key", "1"),
            ],
        ),
        fwd(
            ForwardMessage::MmsConfiguration(BlockIdList {
                block_ids: vec![0, 1],
            }),
            &[("ansi_683.param_block_mms", "0,1")],
        ),
        fwd(
            ForwardMessage::MmsDownload(block_download(0)),
            &[("ansi_683.param_block_mms", "0"), ("ansi_683.fresh", "77")],
        ),
    ]
}

fn reverse_cases() -> Vec<Case> {
    let features = vec![
        Feature {
            feature_id: Feature::NAM_DOWNLOAD,
            feature_p_rev: 2,
        },
        Feature {
            feature_id: Feature::SSPR,
            feature_p_rev: 3,
        },
    ];
    vec![
        rev(
            ReverseMessage::Configuration(ConfigurationResponse {
                blocks: vec![
                    ConfiguredNamBlock {
                        block: NamConfigBlock::CdmaAnalog(CdmaAnalogNamConfig {
                            firstchp: 283,
                            home_sid: 4145,
                            ex: true,
                            scm: 0x2A,
                            mob_p_rev: 6,
                            imsi_m: imsi_m(),
                            access: access(),
                            max_sid_nid: 20,
                            sid_nid: pairs(),
                        }),
                        result: rc(0),
                    },
                    ConfiguredNamBlock {
                        block: NamConfigBlock::Mdn(Mdn::new("8585551212").unwrap()),
                        result: rc(0),
                    },
                    ConfiguredNamBlock {
                        block: NamConfigBlock::ImsiT(imsi_m()),
                        result: rc(7),
                    },
                ],
                fresh: Some(300),
            }),
            &[
                ("ansi_683.number_of_parameter_blocks", "3"),
                ("ansi_683.param_block_nam", "0,1,3"),
                ("ansi_683.firstchp", "283"),
                ("ansi_683.home_sid", "4145"),
                ("ansi_683.extended_address_indicator", "1"),
                ("ansi_683.station_class_mark", "42"),
                ("ansi_683.mob_p_rev", "6"),
                ("ansi_683.mcc_m", "209"),
                ("ansi_683.imsi_m_11_12", "0x000063"),
                ("ansi_683.max_sid_nid", "20"),
                ("ansi_683.stored_sid_nid", "1"),
                ("ansi_683.mobile_directory_number", "8585551212"),
                ("ansi_683.mcc_t", "209"),
                ("ansi_683.result_code", "0,0,7"),
                ("ansi_683.fresh", "300"),
            ],
        ),
        // CDMA NAM block 2, reverse form: again only the fields Wireshark places right.
        rev(
            ReverseMessage::Configuration(ConfigurationResponse {
                blocks: vec![ConfiguredNamBlock {
                    block: NamConfigBlock::Cdma(CdmaNamConfig {
                        slotted_mode: true,
                        mob_p_rev: 6,
                        imsi_m: imsi_m(),
                        access: access(),
                        max_sid_nid: 20,
                        sid_nid: pairs(),
                    }),
                    result: rc(0),
                }],
                fresh: None,
            }),
            &[
                ("ansi_683.param_block_nam", "2"),
                ("ansi_683.slotted_mode", "1"),
                ("ansi_683.mob_p_rev", "6"),
                ("ansi_683.mcc_m", "209"),
                ("ansi_683.result_code", "0"),
            ],
        ),
        rev(
            ReverseMessage::Download(results(&[(0, 0), (1, 4)])),
            &[
                ("ansi_683.param_block_nam", "0,1"),
                ("ansi_683.result_code", "0,4"),
            ],
        ),
        rev(
            ReverseMessage::MsKey(rc(0)),
            &[("ansi_683.key_exchange_result_code", "0")],
        ),
        rev(
            ReverseMessage::KeyGeneration(KeyGenerationResponse {
                result: rc(0),
                ms_result: vec![0x0A, 0x0B],
            }),
            &[
                ("ansi_683.key_exchange_result_code", "0"),
                ("ansi_683.mobile_station_calculation_result", "0a0b"),
            ],
        ),
        rev(
            ReverseMessage::ReAuthenticate(ReAuthenticateResponse {
                authr: 0x2_1234,
                randc: 0xAB,
                count: 0x15,
                auth_data: 0x12_3456,
            }),
            &[
                ("ansi_683.authr", "135732"),
                ("ansi_683.randc", "171"),
                ("ansi_683.call_history_parameter", "21"),
                ("ansi_683.authentication_data_input_parameter", "1193046"),
            ],
        ),
        rev(
            ReverseMessage::Commit(rc(0)),
            &[("ansi_683.data_commit_result_code", "0")],
        ),
        rev(
            ReverseMessage::ProtocolCapability(ProtocolCapabilityResponse {
                mob_firm_rev: 0x0102,
                mob_model: 7,
                features: features.clone(),
                additional_fields: vec![
                    ProtocolCapabilityResponse::BAND_CLASS_0_CDMA
                        | ProtocolCapabilityResponse::BAND_CLASS_1_CDMA,
                ],
            }),
            &[
                ("ansi_683.mobile_station_fw_rev", "258"),
                ("ansi_683.mobile_station_manuf_model_number", "7"),
                ("ansi_683.num_features", "2"),
                ("ansi_683.feature_id", "0,2"),
                ("ansi_683.feature_protocol_version", "2,3"),
                ("ansi_683.band_class_0_analog", "0"),
                ("ansi_683.band_class_0_cdma", "1"),
                ("ansi_683.band_class_1_cdma", "1"),
            ],
        ),
        rev(
            ReverseMessage::SsprConfiguration(SingleBlockResponse {
                block_id: 1,
                result: rc(0),
                data: vec![0x00, 0x10, 0x20],
                fresh: Some(9),
            }),
            &[
                ("ansi_683.param_block_sspr", "1"),
                ("ansi_683.sspr_configuration_result_code", "0"),
                ("ansi_683.block_data", "001020"),
                ("ansi_683.fresh", "9"),
            ],
        ),
        rev(
            ReverseMessage::SsprDownload(SsprDownloadResponse {
                block_id: 1,
                result: rc(9),
                segment_offset: 512,
                segment_size: 32,
            }),
            &[
                ("ansi_683.sspr_download_result_code", "9"),
                ("ansi_683.segment_offset", "512"),
                ("ansi_683.maximum_segment_size", "32"),
            ],
        ),
        rev(
            ReverseMessage::Validation(results(&[(0, 0), (1, 11), (2, 13)])),
            &[
                ("ansi_683.param_block_val", "0,1,2"),
                ("ansi_683.result_code", "0,11,13"),
            ],
        ),
        rev(
            ReverseMessage::Otapa(OtapaResponse {
                result: rc(0),
                rand_otapa: Some(0xCAFEBABE),
            }),
            &[
                ("ansi_683.result_code", "0"),
                ("ansi_683.nam_lock_indicator", "1"),
                ("ansi_683.spasm_random_challenge", "0xcafebabe"),
            ],
        ),
        rev(
            ReverseMessage::PuzlConfiguration(SingleBlockResponse {
                block_id: 0,
                result: rc(17),
                data: vec![],
                fresh: None,
            }),
            &[
                ("ansi_683.param_block_puzl", "0"),
                ("ansi_683.puzl_configuration_result_code", "17"),
            ],
        ),
        rev(
            ReverseMessage::PuzlDownload(PuzlDownloadResponse {
                blocks: vec![
                    PuzlBlockResult {
                        block_id: 0,
                        result: rc(0),
                        user_zone: Some(UserZone {
                            uz_id: 0x1234,
                            uz_sid: 0x0456,
                        }),
                    },
                    PuzlBlockResult {
                        block_id: 2,
                        result: rc(16),
                        user_zone: None,
                    },
                ],
            }),
            &[
                ("ansi_683.param_block_puzl", "0,2"),
                ("ansi_683.result_code", "0,16"),
            ],
        ),
        rev(
            ReverseMessage::ThreeGpdConfiguration(raw_config(
                &[(0, &[0x01], 0), (2, &[0x02, 0x03], 19)],
                None,
            )),
            &[
                ("ansi_683.param_block_3gpd", "0,2"),
                ("ansi_683.result_code", "0,19"),
            ],
        ),
        rev(
            ReverseMessage::ThreeGpdDownload(results(&[(0, 0)])),
            &[("ansi_683.result_code", "0")],
        ),
        rev(
            ReverseMessage::SecureMode(rc(6)),
            &[("ansi_683.secure_mode_result_code", "6")],
        ),
        rev(
            ReverseMessage::ExtendedProtocolCapability(ExtendedProtocolCapabilityResponse {
                otasp_mob_p_rev: 5,
                mob_firm_rev: 0x0304,
                mob_model: 9,
                features,
                cap_records: vec![raw(2, &[0xA0, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04])],
            }),
            &[
                ("ansi_683.otasp_mobile_protocol_revision", "5"),
                ("ansi_683.mobile_station_fw_rev", "772"),
                ("ansi_683.num_features", "2"),
                ("ansi_683.number_of_capability_records", "1"),
                ("ansi_683.cap_info_record_type", "2"),
                ("ansi_683.capability_data", "a0000001020304"),
            ],
        ),
        rev(
            ReverseMessage::MmdConfiguration(raw_config(&[(0, &[0x55], 38)], Some(1))),
            &[
                ("ansi_683.param_block_mmd", "0"),
                ("ansi_683.result_code", "38"),
                ("ansi_683.fresh", "1"),
            ],
        ),
        rev(
            ReverseMessage::MmdDownload(results(&[(0, 41)])),
            &[("ansi_683.result_code", "41")],
        ),
        rev(
            ReverseMessage::SystemTagConfiguration(SingleBlockResponse {
                block_id: 0,
                result: rc(0),
                data: vec![0x12, 0x34],
                fresh: None,
            }),
            &[
                ("ansi_683.param_block_systag", "0"),
                ("ansi_683.system_tag_result_code", "0"),
                ("ansi_683.block_data", "1234"),
            ],
        ),
        rev(
            ReverseMessage::SystemTagDownload(SystemTagDownloadResponse {
                block_id: 1,
                result: rc(43),
                segment: Some(SegmentAck {
                    offset: 64,
                    size: 16,
                }),
            }),
            &[
                ("ansi_683.system_tag_download_result_code", "43"),
                ("ansi_683.segment_offset", "64"),
                ("ansi_683.segment_size", "16"),
            ],
        ),
        rev(
            ReverseMessage::ServiceKeyGeneration(rc(0)),
            &[("ansi_683.service_key_generation_result_code", "0")],
        ),
        rev(
            ReverseMessage::MmsConfiguration(raw_config(&[(1, &[0x08], 45)], None)),
            &[
                ("ansi_683.param_block_mms", "1"),
                ("ansi_683.result_code", "45"),
            ],
        ),
        rev(
            ReverseMessage::MmsDownload(results(&[(0, 46)])),
            &[("ansi_683.result_code", "46")],
        ),
    ]
}

/// Whether tshark can be run; with `CI=true` its absence is a failure.
fn tshark_available() -> bool {
    let found = Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("tshark is required in CI (apt-get install -y tshark) but was not found");
        }
        println!("skipping: tshark not installed");
    }
    found
}

fn shim() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/is683.lua")
}

/// Runs tshark over `file` with the shim and `args`, returning standard output.
fn tshark(file: &PathBuf, args: &[&str]) -> String {
    let lua = format!("lua_script:{}", shim().display());
    let out = Command::new("tshark")
        .args(["-n", "-X", &lua, "-r"])
        .arg(file)
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tshark_decodes_every_is683_message_as_encoded() {
    if !tshark_available() {
        return;
    }

    let cases: Vec<Case> = forward_cases().into_iter().chain(reverse_cases()).collect();

    // Every forward code but the reserved 16, and every reverse code, appears at least once.
    let fwd_codes: BTreeSet<u8> = cases.iter().filter(|c| c.forward).map(|c| c.code).collect();
    let rev_codes: BTreeSet<u8> = cases
        .iter()
        .filter(|c| !c.forward)
        .map(|c| c.code)
        .collect();
    assert_eq!(fwd_codes, (0..24).filter(|c| *c != 16).collect());
    assert_eq!(rev_codes, (0..24).collect());

    // Each test frame decodes back to what we encoded with our own codec, too.
    for c in &cases {
        if c.forward {
            let m = ForwardMessage::decode(&c.bytes).unwrap();
            assert_eq!(m.encode().unwrap(), c.bytes, "{}", c.label);
        } else {
            let m = ReverseMessage::decode(&c.bytes).unwrap();
            assert_eq!(m.encode().unwrap(), c.bytes, "{}", c.label);
        }
    }

    let mut pcap = PcapWriter::new(LINKTYPE_IPV4);
    for (i, c) in cases.iter().enumerate() {
        let (src, dst, port) = if c.forward {
            ([10, 0, 0, 1], [10, 0, 0, 2], FORWARD_PORT)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], REVERSE_PORT)
        };
        let frame = ipv4_udp_frame(src, dst, 40000, port, &c.bytes).unwrap();
        pcap.packet(1_700_000_000 + i as u32, 0, &frame);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let file =
        std::env::temp_dir().join(format!("otagw-is683-{}-{stamp}.pcap", std::process::id()));
    std::fs::write(&file, pcap.finish()).unwrap();

    let result = std::panic::catch_unwind(|| check_with_tshark(&file, &cases));
    let _ = std::fs::remove_file(&file);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn check_with_tshark(file: &PathBuf, cases: &[Case]) {
    // 1. Nothing malformed, no warnings or errors.
    let bad = tshark(
        file,
        &["-Y", "_ws.malformed || _ws.expert.severity >= \"Warning\""],
    );
    if !bad.trim().is_empty() {
        let detail = tshark(
            file,
            &[
                "-Y",
                "_ws.malformed || _ws.expert.severity >= \"Warning\"",
                "-V",
            ],
        );
        panic!("tshark reports problems:\n{bad}\n{detail}");
    }

    // 2. Per-frame field values.
    let mut fields: Vec<&str> = vec![
        "frame.number",
        "frame.protocols",
        "ansi_683.for_msg_type",
        "ansi_683.rev_msg_type",
    ];
    for c in cases {
        for (f, _) in &c.expect {
            if !fields.contains(f) {
                fields.push(f);
            }
        }
    }
    let mut args = vec![
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ];
    for f in &fields {
        args.push("-e");
        args.push(f);
    }
    let out = tshark(file, &args);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), cases.len(), "one line per frame:\n{out}");

    let mut failures = Vec::new();
    for (i, (row, c)) in rows.iter().zip(cases).enumerate() {
        let get = |name: &str| {
            let idx = fields.iter().position(|f| *f == name).unwrap_or(usize::MAX);
            row.get(idx).copied().unwrap_or("")
        };
        assert_eq!(get("frame.number"), (i + 1).to_string());
        if !get("frame.protocols").contains("ansi_683") {
            failures.push(format!(
                "frame {} ({}): not dissected as ansi_683",
                i + 1,
                c.label
            ));
            continue;
        }
        let (want_field, other_field) = if c.forward {
            ("ansi_683.for_msg_type", "ansi_683.rev_msg_type")
        } else {
            ("ansi_683.rev_msg_type", "ansi_683.for_msg_type")
        };
        let mut check = |field: &str, want: &str| {
            let got = get(field);
            if got != want {
                failures.push(format!(
                    "frame {} ({}): {field} = {got:?}, expected {want:?}",
                    i + 1,
                    c.label
                ));
            }
        };
        check(want_field, &c.code.to_string());
        check(other_field, "");
        for (f, v) in &c.expect {
            check(f, v);
        }
    }
    assert!(
        failures.is_empty(),
        "tshark disagrees with our encoding:\n{}",
        failures.join("\n")
    );
}
