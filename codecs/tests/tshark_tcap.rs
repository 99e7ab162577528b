//! Independent check of the TCAP and ANSI-41 codecs: IS-725-A transactions (the SMDPP TRN
//! attach and release, OTASPRequest, SMDPP carrying IS-683, SMSRequest, RegistrationNotification, a ReturnError, a Reject, an
//! Abort) are encoded with `otagw_codecs::tcap` / `ansi41`, wrapped by hand in a minimal ANSI
//! SCCP UDT inside an M3UA DATA message, written as pcap link type 148 (USER1 -> m3ua) and
//! decoded by tshark with Wireshark's own ansi_tcap, ansi_map and ansi_683 dissectors.
//!
//! The SCCP and M3UA wrapping is built here on purpose, not with the crate's m3ua/sccp codecs,
//! so this test checks TCAP/ANSI-41 alone. tshark must report no malformed packet and no expert
//! info of severity Warning or above, and the fields it decodes must carry what we encoded.
//!
//! Without tshark the test fails when `CI=true` and is skipped (with a message) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use otagw_codecs::ansi41::*;
use otagw_codecs::ber::{Identifier, Tlv};
use otagw_codecs::identity::{Esn, Meid, Min};
use otagw_codecs::is683::{ForwardMessage, ResultCode, ReverseMessage};
use otagw_codecs::pcap::{PcapWriter, LINKTYPE_USER1};
use otagw_codecs::tcap::*;

/// Point codes (network-cluster-member) and subsystems of the two ends.
const MSC_PC: [u8; 3] = [1, 2, 3];
const OTAF_PC: [u8; 3] = [1, 2, 4];
const SSN_MSC: u8 = 8;
const SSN_HLR: u8 = 6;

/// An ANSI SCCP party address: national, route on SSN, SSN and point code present.
fn sccp_address(ssn: u8, pc: [u8; 3]) -> Vec<u8> {
    vec![0xC3, ssn, pc[2], pc[1], pc[0]]
}

/// A UDT, protocol class 0, with these addresses and the TCAP message as data.
fn sccp_udt(called: &[u8], calling: &[u8], data: &[u8]) -> Vec<u8> {
    assert!(data.len() <= 255, "UDT data is at most 255 octets");
    let mut v = vec![0x09, 0x00];
    let p1 = 3u8;
    let p2 = 2 + 1 + called.len() as u8;
    let p3 = 1 + 1 + called.len() as u8 + 1 + calling.len() as u8;
    v.extend_from_slice(&[p1, p2, p3]);
    for part in [called, calling, data] {
        v.push(part.len() as u8);
        v.extend_from_slice(part);
    }
    v
}

/// An M3UA DATA message (class 1, type 1) with one Protocol Data parameter: SI 3 (SCCP),
/// NI 2 (national), MP 0, SLS 0.
fn m3ua_data(opc: [u8; 3], dpc: [u8; 3], sccp: &[u8]) -> Vec<u8> {
    let pc = |p: [u8; 3]| [0, p[0], p[1], p[2]];
    let mut value = Vec::new();
    value.extend_from_slice(&pc(opc));
    value.extend_from_slice(&pc(dpc));
    value.extend_from_slice(&[3, 2, 0, 0]);
    value.extend_from_slice(sccp);
    let param_len = 4 + value.len();
    let padded = param_len.div_ceil(4) * 4;
    let total = 8 + padded;
    let mut v = vec![1, 0, 1, 1];
    v.extend_from_slice(&(total as u32).to_be_bytes());
    v.extend_from_slice(&0x0210u16.to_be_bytes());
    v.extend_from_slice(&(param_len as u16).to_be_bytes());
    v.extend_from_slice(&value);
    v.resize(total, 0);
    v
}

/// One frame and the fields tshark must show for it.
struct Case {
    label: &'static str,
    frame: Vec<u8>,
    expect: Vec<(&'static str, String)>,
}

/// A TCAP message between the OTAF (point code 1-2-4, SSN 8) and `peer_ssn` at point code
/// 1-2-3: towards the network when `to_network`, else back to the OTAF.
fn case(
    label: &'static str,
    msg: &TcapMessage,
    to_network: bool,
    peer_ssn: u8,
    expect: &[(&'static str, &str)],
) -> Case {
    let tcap = msg.encode().expect("encodable TCAP");
    let back = TcapMessage::decode(&tcap).expect("our own decode");
    assert_eq!(&back, msg, "{label}: round trip");
    let otaf = sccp_address(SSN_MSC, OTAF_PC);
    let peer = sccp_address(peer_ssn, MSC_PC);
    let (called, calling, opc, dpc) = if to_network {
        (&peer, &otaf, OTAF_PC, MSC_PC)
    } else {
        (&otaf, &peer, MSC_PC, OTAF_PC)
    };
    Case {
        label,
        frame: m3ua_data(opc, dpc, &sccp_udt(called, calling, &tcap)),
        expect: expect.iter().map(|(f, v)| (*f, v.to_string())).collect(),
    }
}

fn query(otid: u32, c: Component) -> TcapMessage {
    TcapMessage {
        package: Package::Query {
            with_permission: true,
            otid: otid.to_be_bytes(),
        },
        components: vec![c],
        dialogue: None,
    }
}

fn response(dtid: u32, c: Component) -> TcapMessage {
    TcapMessage {
        package: Package::Response {
            dtid: dtid.to_be_bytes(),
        },
        components: vec![c],
        dialogue: None,
    }
}

fn min() -> Min {
    "2125551234".parse().unwrap()
}

fn cases() -> Vec<Case> {
    let esn = Esn::new(0x1A2B3C4D);
    let meid = Meid::new(0xA0_0000_0012_3456).unwrap();
    let mscid = Mscid {
        market_id: 4145,
        switch_number: 1,
    };
    let mut out = Vec::new();

    // IS-725-A's TRN attach: an SMDPP with ActionCode 8, the TRN and ServiceIndicator 1 (and
    // the SET's mandatory SMS_BearerData, empty, and SMS_TeleserviceIdentifier 0); the MSC's
    // result names the mobile (ESN, MobileStationMIN) and itself (MSCID). Then the release,
    // ActionCode 14.
    let attach = SmdppInvoke::otasp_action(
        action_code::ATTACH_MSC_TO_OTAF,
        Some("5551000".to_owned()),
        service_indicator::CDMA_OTASP,
    );
    out.push(case(
        "SMDPP invoke (Attach MSC to OTAF)",
        &query(0x50, invoke(&attach, 1).unwrap()),
        true,
        SSN_MSC,
        &[
            ("ansi_tcap.private", "2357"),
            ("ansi_map.actionCode", "8"),
            ("ansi_map.serviceIndicator", "1"),
            ("ansi_map.bcd_digits", "5551000"),
        ],
    ));
    let attached = SmdppResult {
        esn: Some(esn),
        mobile_station_msid: Some(Msid::Min(min())),
        mscid: Some(mscid),
        ..SmdppResult::default()
    };
    out.push(case(
        "SMDPP result (attached: ESN, MobileStationMIN, MSCID)",
        &response(0x50, return_result(&attached, 1).unwrap()),
        false,
        SSN_MSC,
        &[
            ("ansi_map.electronicSerialNumber", "1a2b3c4d"),
            ("ansi_map.bcd_digits", "2125551234"),
            ("ansi_map.marketid", "4145"),
            ("ansi_map.swno", "1"),
        ],
    ));
    let mut release = SmdppInvoke::otasp_action(
        action_code::RELEASE_TRN,
        Some("5551000".to_owned()),
        service_indicator::CDMA_OTASP,
    );
    release.esn = Some(esn);
    release.msid = Some(Msid::Min(min()));
    out.push(case(
        "SMDPP invoke (Release TRN)",
        &query(0x60, invoke(&release, 1).unwrap()),
        true,
        SSN_MSC,
        &[("ansi_tcap.private", "2357"), ("ansi_map.actionCode", "14")],
    ));
    out.push(case(
        "SMDPP result (released)",
        &response(0x60, return_result(&SmdppResult::default(), 1).unwrap()),
        false,
        SSN_MSC,
        &[],
    ));

    // OTASPRequest, the OTAF's operation towards the HLR/AC for the A-key procedures: here
    // "Generate A-key" with the RandomVariableBaseStation (41) Wireshark's SET makes mandatory
    // (carried as a raw extra parameter), and a result with OTASP_ResultCode.
    let otasp = OtaspRequest {
        action_code: action_code::GENERATE_A_KEY,
        trn: None,
        esn: None,
        meid: None,
        msid: None,
        mscid: None,
        service_indicator: Some(service_indicator::CDMA_OTASP),
        extra: vec![Tlv::new(
            Identifier::context(41),
            vec![0x12, 0x34, 0x56, 0x78],
        )],
    };
    out.push(case(
        "OTASPRequest invoke",
        &query(0x100, invoke(&otasp, 1).unwrap()),
        true,
        SSN_MSC,
        &[
            ("ansi_tcap.private", "2360"),
            ("ansi_map.actionCode", "11"),
            ("ansi_map.serviceIndicator", "1"),
        ],
    ));
    let otasp_rr = OtaspRequestResult {
        esn: None,
        meid: None,
        msid: None,
        mobile_station_msid: None,
        otasp_result_code: Some(0),
        extra: vec![],
    };
    out.push(case(
        "OTASPRequest result",
        &response(0x100, return_result(&otasp_rr, 1).unwrap()),
        false,
        SSN_MSC,
        &[("ansi_map.otasp_ResultCode", "0")],
    ));

    // SMDPP carrying an IS-683 Commit Request, and the Commit Response in its result.
    // Wireshark hands SMS_BearerData to IS-637 whenever SMS_TeleserviceIdentifier names a
    // teleservice it knows (1, 4096-4101, 65535), so an IS-683 SMDPP carries teleservice 0
    // ("not used"); ServiceIndicator 1 then routes the bearer data to the IS-683 dissector.
    let commit = ForwardMessage::Commit.encode().unwrap();
    assert_eq!(commit, [0x05]);
    let mut smdpp = SmdppInvoke::new(commit, teleservice::NOT_USED);
    smdpp.service_indicator = Some(service_indicator::CDMA_OTASP);
    smdpp.esn = Some(esn);
    smdpp.meid = Some(meid);
    smdpp.msid = Some(Msid::Min(min()));
    smdpp.mscid = Some(mscid);
    smdpp.trn = Some("5551000".to_owned());
    out.push(case(
        "SMDPP invoke (IS-683 Commit Request)",
        &query(0x200, invoke(&smdpp, 2).unwrap()),
        true,
        SSN_MSC,
        &[
            ("ansi_tcap.private", "2357"),
            ("ansi_map.serviceIndicator", "1"),
            ("ansi_map.electronicSerialNumber", "1a2b3c4d"),
            ("ansi_map.meid", "a0000000123456"),
            ("ansi_map.bcd_digits", "2125551234"),
            ("ansi_map.bcd_digits", "5551000"),
            ("ansi_map.marketid", "4145"),
            ("ansi_map.swno", "1"),
            ("ansi_683.for_msg_type", "5"),
        ],
    ));
    let commit_rsp = ReverseMessage::Commit(ResultCode::from(0))
        .encode()
        .unwrap();
    assert_eq!(commit_rsp, [0x05, 0x00]);
    let smdpp_rr = SmdppResult {
        bearer_data: Some(commit_rsp),
        ..SmdppResult::default()
    };
    out.push(case(
        "SMDPP result (IS-683 Commit Response)",
        &response(0x200, return_result(&smdpp_rr, 2).unwrap()),
        false,
        SSN_MSC,
        &[
            ("ansi_683.rev_msg_type", "5"),
            ("ansi_683.data_commit_result_code", "0"),
        ],
    ));

    // SMSRequest to the HLR and the serving MSC's SMS_Address.
    let smsreq = SmsRequest {
        msid: Msid::Min(min()),
        esn: Some(esn),
        meid: None,
        service_indicator: Some(service_indicator::CDMA_OTAPA),
        extra: vec![],
    };
    out.push(case(
        "SMSRequest invoke",
        &query(0x300, invoke(&smsreq, 3).unwrap()),
        true,
        SSN_HLR,
        &[
            ("ansi_tcap.private", "2359"),
            ("ansi_map.serviceIndicator", "3"),
        ],
    ));
    let smsreq_rr = SmsRequestResult {
        esn: Some(esn),
        sms_address: Some(Digits::bcd("2125550000")),
        extra: vec![],
    };
    out.push(case(
        "SMSRequest result",
        &response(0x300, return_result(&smsreq_rr, 3).unwrap()),
        false,
        SSN_HLR,
        &[("ansi_map.bcd_digits", "2125550000")],
    ));

    // RegistrationNotification (MSC -> HLR direction, shown from the HLR's peer).
    let regnot = RegistrationNotification {
        esn,
        msid: Msid::Min(min()),
        mscid,
        qualification_information_code: Some(3),
        system_my_type_code: Some(2),
        meid: None,
        extra: vec![],
    };
    out.push(case(
        "RegistrationNotification invoke",
        &query(0x400, invoke(&regnot, 4).unwrap()),
        true,
        SSN_HLR,
        &[("ansi_tcap.private", "2317")],
    ));
    let regnot_rr = RegistrationNotificationResult {
        system_my_type_code: Some(2),
        extra: vec![],
    };
    out.push(case(
        "RegistrationNotification result",
        &response(0x400, return_result(&regnot_rr, 4).unwrap()),
        false,
        SSN_HLR,
        &[],
    ));

    // An SMSRequest answered with ReturnError UnrecognizedMIN.
    out.push(case(
        "SMSRequest invoke (to be refused)",
        &query(0x500, invoke(&smsreq, 5).unwrap()),
        true,
        SSN_HLR,
        &[("ansi_tcap.private", "2359")],
    ));
    out.push(case(
        "ReturnError UnrecognizedMIN",
        &response(0x500, return_error(ReturnErrorCode::UnrecognizedMin, 5)),
        false,
        SSN_HLR,
        &[("ansi_tcap.ec_private", "129")],
    ));

    // An SMDPP answered with a Reject (problem 0x0202).
    out.push(case(
        "SMDPP invoke (to be rejected)",
        &query(0x600, invoke(&smdpp, 6).unwrap()),
        true,
        SSN_MSC,
        &[("ansi_tcap.private", "2357")],
    ));
    out.push(case(
        "Reject",
        &response(
            0x600,
            Component::Reject {
                correlation_id: Some(6),
                problem: RejectProblem::Invoke(InvokeProblem::UnrecognizedOperationCode),
                parameters: Some(Parameters::empty_set()),
            },
        ),
        false,
        SSN_MSC,
        &[("ansi_tcap.rejectProblem", "514")],
    ));

    // A protocol abort.
    out.push(case(
        "Abort",
        &TcapMessage {
            package: Package::Abort {
                dtid: 0x700u32.to_be_bytes(),
                cause: Some(AbortCause::Protocol(
                    PAbortCause::UnassignedRespondingTransactionId,
                )),
            },
            components: vec![],
            dialogue: None,
        },
        false,
        SSN_MSC,
        &[("ansi_tcap.abortCause", "4")],
    ));
    out
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

fn tshark(file: &PathBuf, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-o",
            "uat:user_dlts:\"User 1 (DLT=148)\",\"m3ua\",\"0\",\"\",\"0\",\"\"",
            "-o",
            "mtp3.standard:ANSI",
            "-r",
        ])
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
fn tshark_decodes_our_tcap_and_ansi41() {
    if !tshark_available() {
        return;
    }
    let cases = cases();
    let mut pcap = PcapWriter::new(LINKTYPE_USER1);
    for (i, c) in cases.iter().enumerate() {
        pcap.packet(1_700_000_000 + i as u32, 0, &c.frame);
    }
    let dir = std::env::temp_dir().join(format!("otagw-tshark-tcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tcap.pcap");
    std::fs::write(&file, pcap.finish()).unwrap();

    let problems = tshark(
        &file,
        &[
            "-Y",
            "_ws.malformed || _ws.expert.severity >= \"Warning\"",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "_ws.expert.message",
        ],
    );
    let mut failures = Vec::new();
    for line in problems.lines().filter(|l| !l.trim().is_empty()) {
        let n: usize = line.split('\t').next().unwrap().parse().unwrap_or(0);
        let label = cases.get(n.wrapping_sub(1)).map_or("?", |c| c.label);
        failures.push(format!("frame {n} ({label}): malformed or warning: {line}"));
    }

    // Every field any case asserts, in one run; one line per frame.
    let mut fields: Vec<&str> = cases
        .iter()
        .flat_map(|c| c.expect.iter().map(|(f, _)| *f))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let mut args = vec!["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"];
    for f in &fields {
        args.push("-e");
        args.push(f);
    }
    let out = tshark(&file, &args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per frame:\n{out}");
    for (c, line) in cases.iter().zip(&lines) {
        let values: Vec<&str> = line.split('\t').collect();
        for (field, want) in &c.expect {
            let i = fields.iter().position(|f| f == field).unwrap();
            let got = values.get(i).copied().unwrap_or("");
            if !got.split(',').any(|v| v.eq_ignore_ascii_case(want)) {
                failures.push(format!("{}: {field} = {got:?}, expected {want:?}", c.label));
            }
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("capture kept at {}", file.display());
    }
    assert!(
        failures.is_empty(),
        "tshark disagrees:\n{}",
        failures.join("\n")
    );
}
