//! Independent check of the M3UA and SCCP codecs: every M3UA message type we type (ASPSM,
//! ASPTM, SSNM, MGMT and a DATA carrying an ANSI SCCP UDT) is encoded, written to a pcap with
//! link type USER1 (148), one M3UA message per frame, and decoded by Wireshark's own m3ua and
//! sccp dissectors (user DLT table entry "User 1 (DLT=148)" -> m3ua, `mtp3.standard:ANSI` so that
//! SCCP addresses are read in the ANSI layout).
//!
//! tshark must report no malformed packet and no expert info of severity Warning or above, and
//! the fields it decodes must carry the values we encoded.
//!
//! The UDT goes from the HLR (SSN 6, point code 1-2-4) to the MSC (SSN 8, 1-2-3). Its payload
//! is a hand-written minimal ANSI TCAP Query With Permission (transaction ID only, no
//! components): TCAP is another codec's business, but Wireshark hands SSN 8 to its TCAP
//! dissector, which accepts this without warnings. (Were it ever to complain, an SSN no
//! subdissector claims, such as 254, isolates the SCCP check.)
//!
//! Without tshark the test fails when `CI=true` and is skipped (with a message) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use otagw_codecs::m3ua::*;
use otagw_codecs::pcap::{PcapWriter, LINKTYPE_USER1};
use otagw_codecs::sccp::{ProtocolClass, SccpAddress, SccpMessage, Unitdata, Variant};

/// The user DLT table entry mapping link type 148 to the m3ua dissector.
const USER_DLT: &str = r#"uat:user_dlts:"User 1 (DLT=148)","m3ua","0","","0","""#;

/// Called subsystem: MSC.
const CALLED_SSN: u8 = 8;
/// Calling subsystem: HLR.
const CALLING_SSN: u8 = 6;
/// ANSI TCAP Query With Permission (0xE2), Transaction ID (0xC7) 00 00 00 01, no components.
const TCAP_PAYLOAD: [u8; 8] = [0xe2, 0x06, 0xc7, 0x04, 0x00, 0x00, 0x00, 0x01];

/// One frame: the M3UA message and the fields tshark must show for it.
struct Case {
    message: Message,
    expect: Vec<(&'static str, String)>,
}

fn case(message: Message, expect: &[(&'static str, &str)]) -> Case {
    let (class, msg_type) = message.class_and_type();
    let mut all = vec![
        ("m3ua.message_class", class.to_string()),
        ("m3ua.message_type", msg_type.to_string()),
    ];
    all.extend(expect.iter().map(|(f, v)| (*f, v.to_string())));
    Case {
        message,
        expect: all,
    }
}

fn apc(n: u8, c: u8, m: u8) -> Vec<AffectedPointCode> {
    vec![AffectedPointCode {
        mask: 0,
        point_code: PointCode::from_parts(n, c, m),
    }]
}

fn dest(rc: Option<u32>, info: Option<&str>) -> DestinationState {
    DestinationState {
        routing_context: rc.map(|r| vec![r]),
        affected_point_codes: apc(1, 2, 3),
        info_string: info.map(str::to_string),
        ..Default::default()
    }
}

fn udt() -> Vec<u8> {
    SccpMessage::Udt(Unitdata {
        protocol_class: ProtocolClass {
            class: 0,
            return_on_error: true,
        },
        called: SccpAddress::ssn_pc(CALLED_SSN, PointCode::from_parts(1, 2, 3).value()),
        calling: SccpAddress::ssn_pc(CALLING_SSN, PointCode::from_parts(1, 2, 4).value()),
        data: TCAP_PAYLOAD.to_vec(),
    })
    .encode(Variant::Ansi)
    .unwrap()
}

fn cases() -> Vec<Case> {
    let loadshare_rc1 = AspActive {
        traffic_mode: Some(TrafficMode::Loadshare),
        routing_context: Some(vec![1]),
        ..Default::default()
    };
    vec![
        case(
            Message::AspUp(AspUp {
                asp_identifier: Some(7),
                info_string: Some("otagw".into()),
                extra: vec![],
            }),
            &[("m3ua.asp_identifier", "7"), ("m3ua.info_string", "otagw")],
        ),
        case(
            Message::AspUpAck(AspUp::default()),
            &[("m3ua.asp_identifier", "")],
        ),
        case(
            Message::AspAc(loadshare_rc1.clone()),
            &[
                ("m3ua.traffic_mode_type", "2"),
                ("m3ua.routing_context", "1"),
            ],
        ),
        case(
            Message::AspAcAck(loadshare_rc1),
            &[
                ("m3ua.traffic_mode_type", "2"),
                ("m3ua.routing_context", "1"),
            ],
        ),
        case(
            Message::Beat(Heartbeat {
                data: Some(vec![0xde, 0xad, 0xbe, 0xef, 0x01]),
                extra: vec![],
            }),
            &[("m3ua.heartbeat_data", "deadbeef01")],
        ),
        case(
            Message::BeatAck(Heartbeat {
                data: Some(vec![0xde, 0xad, 0xbe, 0xef, 0x01]),
                extra: vec![],
            }),
            &[("m3ua.heartbeat_data", "deadbeef01")],
        ),
        case(
            Message::Duna(dest(Some(1), None)),
            &[
                ("m3ua.routing_context", "1"),
                ("m3ua.affected_point_code_mask", "0"),
                ("m3ua.affected_point_code_pc", "66051"),
            ],
        ),
        case(
            Message::Dava(dest(None, Some("back"))),
            &[
                ("m3ua.affected_point_code_pc", "66051"),
                ("m3ua.info_string", "back"),
            ],
        ),
        case(
            Message::Daud(dest(Some(1), None)),
            &[("m3ua.affected_point_code_pc", "66051")],
        ),
        case(
            Message::Scon(Congestion {
                state: dest(None, None),
                concerned_destination: Some(PointCode::from_parts(1, 2, 4)),
                congestion_level: Some(2),
            }),
            &[
                ("m3ua.affected_point_code_pc", "66051"),
                ("m3ua.concerned_dpc", "66052"),
                ("m3ua.congestion_level", "2"),
            ],
        ),
        case(
            Message::Dupu(UserPartUnavailable {
                state: dest(None, None),
                user_cause: UserCause { cause: 2, user: 3 },
            }),
            &[
                ("m3ua.affected_point_code_pc", "66051"),
                ("m3ua.unavailability_cause", "2"),
                ("m3ua.user_identity", "3"),
            ],
        ),
        case(
            Message::Drst(dest(None, None)),
            &[("m3ua.affected_point_code_pc", "66051")],
        ),
        case(
            Message::Ntfy(Notify {
                status: Status {
                    status_type: status::TYPE_AS_STATE_CHANGE,
                    status_info: status::AS_ACTIVE,
                },
                asp_identifier: Some(7),
                routing_context: Some(vec![1]),
                info_string: None,
                extra: vec![],
            }),
            &[
                ("m3ua.status_type", "1"),
                ("m3ua.status_info", "3"),
                ("m3ua.asp_identifier", "7"),
                ("m3ua.routing_context", "1"),
            ],
        ),
        case(
            Message::Err(ErrorMessage {
                error_code: error_code::INVALID_ROUTING_CONTEXT,
                routing_context: Some(vec![9]),
                ..Default::default()
            }),
            &[("m3ua.error_code", "25"), ("m3ua.routing_context", "9")],
        ),
        case(
            Message::AspIa(AspInactive {
                routing_context: Some(vec![1]),
                ..Default::default()
            }),
            &[("m3ua.routing_context", "1")],
        ),
        case(Message::AspIaAck(AspInactive::default()), &[]),
        case(
            Message::AspDn(AspDown {
                info_string: Some("bye".into()),
                extra: vec![],
            }),
            &[("m3ua.info_string", "bye")],
        ),
        case(Message::AspDnAck(AspDown::default()), &[]),
        case(
            Message::Data(Data {
                network_appearance: None,
                routing_context: Some(vec![1]),
                protocol_data: ProtocolData {
                    opc: PointCode::from_parts(1, 2, 4),
                    dpc: PointCode::from_parts(1, 2, 3),
                    si: 3,
                    ni: 2,
                    mp: 0,
                    sls: 5,
                    user_data: udt(),
                },
                correlation_id: None,
                extra: vec![],
            }),
            &[
                ("frame.protocols", "user_dlt:m3ua:sccp:tcap:ansi_tcap"),
                ("m3ua.routing_context", "1"),
                ("m3ua.protocol_data_opc", "66052"),
                ("m3ua.protocol_data_dpc", "66051"),
                ("m3ua.protocol_data_si", "3"),
                ("m3ua.protocol_data_ni", "2"),
                ("m3ua.protocol_data_sls", "5"),
                ("sccp.message_type", "0x09"),
                ("sccp.class", "0x00"),
                ("sccp.handling", "0x08"),
                ("sccp.called.ssn", "8"),
                // Wireshark 4.0 adds the ANSI point code three times: as text, decimal, hex.
                ("sccp.called.ansi_pc", "1-2-3,66051,0x10203"),
                ("sccp.called.network", "1"),
                ("sccp.called.cluster", "2"),
                ("sccp.called.member", "3"),
                ("sccp.calling.ssn", "6"),
                ("sccp.calling.ansi_pc", "1-2-4,66052,0x10204"),
                ("sccp.calling.member", "4"),
                ("sccp.parameter_length", "5,5,8"),
            ],
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

/// Runs tshark over `file` with the M3UA/ANSI settings and `args`; returns standard output.
fn tshark(file: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-o", USER_DLT, "-o", "mtp3.standard:ANSI", "-r"])
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
fn tshark_decodes_every_m3ua_message_as_encoded() {
    if !tshark_available() {
        return;
    }
    let cases = cases();
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.message.encode().unwrap()).collect();
    // Our own decoder agrees with itself on every frame.
    for (c, f) in cases.iter().zip(&frames) {
        assert_eq!(
            Message::decode(f).unwrap(),
            c.message,
            "{}",
            c.message.name()
        );
    }

    let mut pcap = PcapWriter::new(LINKTYPE_USER1);
    for (i, f) in frames.iter().enumerate() {
        pcap.packet(1_700_000_000 + i as u32, 0, f);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let file: PathBuf =
        std::env::temp_dir().join(format!("otagw-sigtran-{}-{stamp}.pcap", std::process::id()));
    std::fs::write(&file, pcap.finish()).unwrap();
    let result = std::panic::catch_unwind(|| check_with_tshark(&file, &cases));
    let _ = std::fs::remove_file(&file);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn check_with_tshark(file: &Path, cases: &[Case]) {
    // 1. Nothing malformed, no warnings or errors.
    let filter = "_ws.malformed || _ws.expert.severity >= \"Warning\"";
    let bad = tshark(file, &["-Y", filter]);
    if !bad.trim().is_empty() {
        let detail = tshark(file, &["-Y", filter, "-V"]);
        panic!("tshark reports problems:\n{bad}\n{detail}");
    }

    // 2. Per-frame field values.
    let mut fields: Vec<&str> = vec!["frame.number", "frame.protocols"];
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
        let label = format!("frame {} ({})", i + 1, c.message.name());
        assert_eq!(get("frame.number"), (i + 1).to_string(), "{label}");
        if !get("frame.protocols").contains("m3ua") {
            failures.push(format!("{label}: not dissected as m3ua"));
            continue;
        }
        for (f, want) in &c.expect {
            let got = get(f);
            if got != want {
                failures.push(format!("{label}: {f} = {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "tshark disagrees with our encoding:\n{}",
        failures.join("\n")
    );
}
