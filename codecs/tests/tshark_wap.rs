//! Independent check of the WAP push codecs: our pushes (SI in one short message, SL in two
//! concatenated ones with an 8-bit reference, OMA Client Provisioning with SEC/MAC in segments
//! with a 16-bit reference) are carried in hand-built SMPP submit_sm PDUs over IPv4/TCP to port
//! 2775 and decoded by tshark (`-d tcp.port==2775,smpp`): SMPP -> user data header
//! (reassembly) -> WSP -> WBXML.
//!
//! tshark must report no malformed packet and no expert info of severity Warning or above, and
//! the fields it decodes must carry the values we encoded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use otagw_codecs::pcap::{ipv4_packet, PcapWriter, IPPROTO_TCP, LINKTYPE_IPV4};
use otagw_codecs::wap::push::{
    sms_segments, ConcatReference, ProvSecurity, PushContent, Reassembler, WapPush,
};
use otagw_codecs::wap::wbxml::{
    Characteristic, DateTime, Parm, ProvisioningDoc, ServiceIndication, ServiceLoading, SiAction,
    SlAction,
};

const SMPP_PORT: u16 = 2775;
const ESME_PORT: u16 = 40000;

/// A TCP segment with PSH|ACK, window 65535 and checksum 0 (tshark does not verify TCP
/// checksums by default).
fn tcp_segment(sport: u16, dport: u16, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(5 << 4); // data offset: 5 words
    t.push(0x18); // PSH, ACK
    t.extend_from_slice(&65535u16.to_be_bytes());
    t.extend_from_slice(&[0, 0]); // checksum
    t.extend_from_slice(&[0, 0]); // urgent pointer
    t.extend_from_slice(payload);
    t
}

fn cstring(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// An SMPP 3.4 submit_sm carrying `short_message` (UDH + payload) as 8-bit binary data.
fn submit_sm(sequence: u32, destination: &str, short_message: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    cstring(&mut body, "WAP"); // service_type
    body.push(1); // source_addr_ton: international
    body.push(1); // source_addr_npi: E.164
    cstring(&mut body, "12345");
    body.push(1); // dest_addr_ton
    body.push(1); // dest_addr_npi
    cstring(&mut body, destination);
    body.push(0x40); // esm_class: UDHI
    body.push(0); // protocol_id
    body.push(0); // priority_flag
    cstring(&mut body, ""); // schedule_delivery_time
    cstring(&mut body, ""); // validity_period
    body.push(1); // registered_delivery
    body.push(0); // replace_if_present_flag
    body.push(0x04); // data_coding: 8-bit binary
    body.push(0); // sm_default_msg_id
    body.push(u8::try_from(short_message.len()).unwrap()); // sm_length
    body.extend_from_slice(short_message);
    let mut pdu = Vec::with_capacity(16 + body.len());
    pdu.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
    pdu.extend_from_slice(&0x0000_0004u32.to_be_bytes()); // submit_sm
    pdu.extend_from_slice(&0u32.to_be_bytes()); // command_status
    pdu.extend_from_slice(&sequence.to_be_bytes());
    pdu.extend_from_slice(&body);
    pdu
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

/// Runs tshark over `file` with SMPP on port 2775 and `args`, returning standard output.
fn tshark(file: &PathBuf, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-d", "tcp.port==2775,smpp", "-r"])
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

/// One push and what tshark must show in the frame that completes it.
struct Case {
    label: &'static str,
    push: WapPush,
    reference: ConcatReference,
    segments: usize,
    expect: Vec<(&'static str, String)>,
}

fn cases() -> Vec<Case> {
    let si_href = "http://www.example.com/ota/activate";
    let sl_href = format!("https://ota.example.net/prl/{}.prl", "x".repeat(150));
    let mac = "0123456789ABCDEF0123456789ABCDEF01234567";
    vec![
        Case {
            label: "SI, one segment",
            push: WapPush {
                tid: 1,
                content: PushContent::Si(ServiceIndication {
                    href: Some(si_href.into()),
                    si_id: Some("otagw-1".into()),
                    created: Some(DateTime {
                        year: 2024,
                        month: 1,
                        day: 15,
                        hour: 10,
                        minute: 30,
                        second: 0,
                    }),
                    si_expires: None,
                    action: SiAction::SignalHigh,
                    text: Some("New settings".into()),
                }),
            },
            reference: ConcatReference::Eight(0x5A),
            segments: 1,
            expect: vec![
                ("wsp.pdu_type", "0x06".into()),
                ("wsp.header.content_type", "application/vnd.wap.sic".into()),
                (
                    "wsp.header.x_wap_application_id",
                    "x-wap-application:wml.ua".into(),
                ),
                ("wbxml.public_id.known", "0x00000005".into()),
            ],
        },
        Case {
            label: "SL, two segments",
            push: WapPush {
                tid: 2,
                content: PushContent::Sl(ServiceLoading {
                    href: sl_href,
                    action: SlAction::ExecuteHigh,
                }),
            },
            reference: ConcatReference::Eight(0x5B),
            segments: 2,
            expect: vec![
                ("wsp.pdu_type", "0x06".into()),
                ("wsp.header.content_type", "application/vnd.wap.slc".into()),
                (
                    "wsp.header.x_wap_application_id",
                    "x-wap-application:wml.ua".into(),
                ),
                ("wbxml.public_id.known", "0x00000006".into()),
            ],
        },
        Case {
            label: "PROV with SEC/MAC, 16-bit reference",
            push: WapPush {
                tid: 3,
                content: PushContent::Prov {
                    doc: ProvisioningDoc {
                        version: Some("1.0".into()),
                        characteristics: vec![
                            Characteristic {
                                type_: "BOOTSTRAP".into(),
                                parms: vec![Parm::new("NAME", "otagw lab")],
                                children: vec![],
                            },
                            Characteristic {
                                type_: "NAPDEF".into(),
                                parms: vec![
                                    Parm::new("NAPID", "CDMA_NAP"),
                                    Parm::new("BEARER", "CDMA2000-1X-SIMPLE-IP"),
                                    Parm::new("NAP-ADDRESS", "#777"),
                                    Parm::new("NAP-ADDRTYPE", "E164"),
                                ],
                                children: vec![],
                            },
                            Characteristic {
                                type_: "PXLOGICAL".into(),
                                parms: vec![
                                    Parm::new("PROXY-ID", "wap.example.com"),
                                    Parm::new("NAME", "otagw proxy"),
                                    Parm::new("STARTPAGE", "http://www.example.com/start"),
                                ],
                                children: vec![Characteristic {
                                    type_: "PXPHYSICAL".into(),
                                    parms: vec![
                                        Parm::new("PXADDR", "10.0.0.2"),
                                        Parm::new("PXADDRTYPE", "IPV4"),
                                        Parm::new("TO-NAPID", "CDMA_NAP"),
                                    ],
                                    children: vec![],
                                }],
                            },
                        ],
                    },
                    security: Some(ProvSecurity {
                        sec: 1,
                        mac: mac.into(),
                    }),
                },
            },
            reference: ConcatReference::Sixteen(0x1234),
            segments: 2,
            expect: vec![
                ("wsp.pdu_type", "0x06".into()),
                ("wsp.parameter.sec", "0x01".into()),
                ("wsp.parameter.mac", mac.into()),
                (
                    "wsp.header.content_type",
                    "application/vnd.wap.connectivity-wbxml".into(),
                ),
                ("wbxml.public_id.known", "0x0000000b".into()),
            ],
        },
    ]
}

#[test]
fn tshark_decodes_our_wap_pushes_over_smpp() {
    if !tshark_available() {
        return;
    }
    let cases = cases();
    let mut pcap = PcapWriter::new(LINKTYPE_IPV4);
    let mut seq = 1u32;
    let mut frame = 0usize;
    // The frame number that completes each push.
    let mut last_frames = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let wsp = c.push.encode().unwrap();
        assert_eq!(WapPush::decode(&wsp).unwrap(), c.push, "{}", c.label);
        let segs = sms_segments(&wsp, c.reference).unwrap();
        assert_eq!(segs.len(), c.segments, "{}: segment count", c.label);
        let mut re = Reassembler::new();
        let mut whole = None;
        for s in &segs {
            assert!(s.len() <= 140);
            whole = re.push(s).unwrap();
        }
        assert_eq!(whole.as_deref(), Some(&wsp[..]), "{}: reassembly", c.label);
        for s in &segs {
            let pdu = submit_sm(frame as u32 + 1, "15551234567", s);
            let tcp = tcp_segment(ESME_PORT, SMPP_PORT, seq, 1, &pdu);
            seq += pdu.len() as u32;
            let ip = ipv4_packet([10, 0, 0, 1], [10, 0, 0, 2], IPPROTO_TCP, &tcp).unwrap();
            frame += 1;
            pcap.packet(1_700_000_000 + i as u32, frame as u32, &ip);
        }
        last_frames.push(frame);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let file = std::env::temp_dir().join(format!("otagw-wap-{}-{stamp}.pcap", std::process::id()));
    std::fs::write(&file, pcap.finish()).unwrap();
    let result = std::panic::catch_unwind(|| check(&file, &cases, &last_frames, frame));
    if std::env::var_os("OTAGW_KEEP_PCAP").is_none() {
        let _ = std::fs::remove_file(&file);
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn check(file: &PathBuf, cases: &[Case], last_frames: &[usize], frames: usize) {
    // 1. Nothing malformed, no warnings or errors.
    let filter = "_ws.malformed || _ws.expert.severity >= \"Warning\"";
    let bad = tshark(file, &["-Y", filter]);
    if !bad.trim().is_empty() {
        let detail = tshark(file, &["-Y", filter, "-V"]);
        panic!("tshark reports problems:\n{bad}\n{detail}");
    }

    // 2. Per-frame field values.
    let mut fields: Vec<&str> = vec![
        "frame.number",
        "smpp.command_id",
        "smpp.esm.submit.features",
        "smpp.data_coding",
        "frame.protocols",
    ];
    for c in cases {
        for (f, _) in &c.expect {
            if !fields.contains(f) {
                fields.push(f);
            }
        }
    }
    fields.push("wbxml.known_attrstart");
    fields.push("wbxml.str_i");
    fields.push("wbxml.known_attrvalue");
    let mut args = vec![
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ];
    for f in &fields {
        args.push("-e");
        args.push(f);
    }
    let out = tshark(file, &args);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), frames, "one line per frame:\n{out}");
    let get = |row: &[&str], name: &str| -> String {
        let idx = fields.iter().position(|f| *f == name).unwrap_or(usize::MAX);
        row.get(idx).copied().unwrap_or("").to_owned()
    };

    let mut failures = Vec::new();
    for row in &rows {
        // submit_sm, UDHI set (esm_class 0x40: GSM features 0x01), data coding 4.
        let n = get(row, "frame.number");
        for (f, want) in [
            ("smpp.command_id", "0x00000004"),
            ("smpp.esm.submit.features", "0x01"),
            ("smpp.data_coding", "0x04"),
        ] {
            let got = get(row, f);
            if got != want && !(f == "smpp.data_coding" && got == "4") {
                failures.push(format!("frame {n}: {f} = {got:?}, expected {want:?}"));
            }
        }
    }
    for (c, &last) in cases.iter().zip(last_frames) {
        let row = &rows[last - 1];
        let protocols = get(row, "frame.protocols");
        if !protocols.contains("wsp") || !protocols.contains("wbxml") {
            failures.push(format!(
                "{} (frame {last}): not dissected down to WBXML: {protocols}",
                c.label
            ));
            continue;
        }
        for (f, want) in &c.expect {
            let got = get(row, f);
            if &got != want {
                failures.push(format!(
                    "{} (frame {last}): {f} = {got:?}, expected {want:?}",
                    c.label
                ));
            }
        }
        // The href as Wireshark shows it: the attribute start token with its prefix, the
        // inline strings and the value tokens, in order.
        let starts = get(row, "wbxml.known_attrstart");
        let strings = get(row, "wbxml.str_i");
        let values = get(row, "wbxml.known_attrvalue");
        let (want_start, want_strings, want_values): (&str, &[&str], &str) = match &c.push.content {
            // http://www. | example | .com/ | ota/activate
            PushContent::Si(_) => (
                "href='http://www.'",
                &["example", "ota/activate", "otagw-1", "New settings"],
                "'.com/'",
            ),
            // https:// | ota.example | .net/ | prl/xxx.prl
            PushContent::Sl(sl) => (
                "href='https://'",
                &["ota.example", &sl.href[24..]],
                "'.net/'",
            ),
            PushContent::Prov { .. } => ("name='NAP-ADDRESS'", &["otagw lab", "#777"], ""),
        };
        let start_ok = starts.split('|').any(|s| s == want_start);
        let strings_ok = want_strings
            .iter()
            .all(|w| strings.split('|').any(|s| s == *w));
        let values_ok = want_values.is_empty() || values.split('|').any(|v| v == want_values);
        if !(start_ok && strings_ok && values_ok) {
            failures.push(format!(
                "{}: attribute starts {starts:?}, strings {strings:?}, values {values:?}; \
                 expected {want_start:?}, {want_strings:?}, {want_values:?}",
                c.label
            ));
        }
    }
    if !failures.is_empty() {
        let detail = tshark(file, &["-V"]);
        panic!(
            "tshark disagrees with our encoding:\n{}\n\n{detail}",
            failures.join("\n")
        );
    }
}
