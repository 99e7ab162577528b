//! Star-code OTASP over SS7 end to end: the gateway's M3UA association to the simulated STP
//! (over TCP on loopback), the simulated MSC holding handsets in OTASP calls by TRN, the HLR,
//! and a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::post;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::import;
use otagw::mniu::is725::MscRoute;
use otagw::store::models::{NewProfile, Profile};
use otagw::store::profiles::{self, Lookup};
use otagw::store::{audit, Store};
use otagw::testkit::TestDb;
use otagw_codecs::ansi41::ReturnErrorCode;
use otagw_codecs::identity::{DeviceId, Esn, Min};
use otagw_codecs::prl::classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};
use otagw_sim::handset::iota::{run_session, NetFaults};
use otagw_sim::handset::model::{Faults, Handset, HandsetConfig};
use otagw_sim::handset::push::{target_url, Delivery};
use otagw_sim::smsc::{Smsc, SmscConfig};
use otagw_sim::ss7::{Network, NetworkConfig};

fn prl() -> Vec<u8> {
    // Large enough to need several SMDPPs.
    let sys = (0..120u16)
        .map(|i| SysRecord {
            sid: 3000 + i,
            nid: Nid::Wildcard,
            pref_neg: PrefNeg::Preferred {
                pri: i == 0,
                roam_ind: 1,
            },
            geo: i > 0,
            acq_index: 0,
        })
        .collect();
    ClassicPrl {
        pr_list_id: 77,
        pref_only: false,
        def_roam_ind: 1,
        acq_records: vec![AcqRecord::CellularCdmaStandard { a_b: 3, pri_sec: 3 }],
        sys_records: sys,
    }
    .encode()
    .unwrap()
}

const ESN: &str = "1A2B3C4D";
const MIN: &str = "6195550101";

struct Lab {
    db: TestDb,
    net: Network,
    gateway: Gateway,
    profile: Profile,
}

fn config(stp: SocketAddr) -> Config {
    let mut c = Config::default();
    c.iota.listen = "127.0.0.1:0".parse().unwrap();
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.ss7.enabled = true;
    c.ss7.peers = vec![stp];
    c.ss7.invoke_timeout = Duration::from_millis(1000);
    c.ss7.heartbeat = Duration::from_secs(1);
    c.ss7.msc = vec![MscRoute {
        name: "msc1".into(),
        point_code: "1-1-2".parse().unwrap(),
        ssn: 8,
        trn_prefix: "555".into(),
        sms_address: None,
    }];
    c
}

async fn lab() -> Lab {
    lab_with(|_| {}).await
}

async fn lab_with(tweak: impl FnOnce(&mut Config)) -> Lab {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    import::prl::import(&mut conn, 1, &prl(), None, "", false)
        .await
        .unwrap();
    let profile = profiles::insert(
        &mut conn,
        &NewProfile {
            esn: Some(ESN.into()),
            meid: None,
            pesn: None,
            min: Some(MIN.into()),
            mdn: Some(MIN.into()),
            imsi_m: None,
            imsi_t: None,
            make: "Acme".into(),
            model: "X1".into(),
            firmware_version: "1.0".into(),
            // IOTA-capable, yet programmed over SS7: ss7.force_ss7 is on by default.
            capabilities: serde_json::json!({"iota": true}),
            nam: serde_json::json!({"mcc": "310", "imsi_11_12": "00", "home_sid_nid": [{"sid": 4139, "nid": 65535}]}),
            prl_id: Some(1),
            sspr_table_number: None,
            spc: Some("000000".into()),
            spasm_key: None,
            activation_state: "pending_activation".into(),
        },
    )
    .await
    .unwrap();
    drop(conn);
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let mut c = config(net.stp().addr());
    tweak(&mut c);
    let gateway = Gateway::start(&c, db.store.clone()).await.unwrap();
    common::authorize(&db.store, gateway.admin_addr).await;
    assert!(
        gateway
            .linkset
            .as_ref()
            .unwrap()
            .wait_active(Duration::from_secs(10))
            .await,
        "the M3UA association came up"
    );
    Lab {
        db,
        net,
        gateway,
        profile,
    }
}

fn handset(faults: Faults) -> Handset {
    let mut cfg = HandsetConfig::new(DeviceId::Esn(ESN.parse::<Esn>().unwrap()));
    cfg.sspr_p_rev = 1;
    cfg.faults = faults;
    Handset::new(cfg).unwrap()
}

fn min() -> Min {
    MIN.parse().unwrap()
}

async fn trigger(lab: &Lab, trn: &str) -> (u16, serde_json::Value) {
    let addr = lab.gateway.admin_addr;
    let body = format!(r#"{{"trn": "{trn}"}}"#);
    tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/star-code", &body))
        .await
        .unwrap()
}

async fn metrics(addr: SocketAddr) -> String {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap()
}

async fn reload(store: &Store, id: i64) -> Profile {
    let mut conn = store.conn().await.unwrap();
    profiles::find(&mut conn, &Lookup::Id(id)).await.unwrap()
}

async fn last_session(store: &Store) -> (i64, String, Option<String>) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use otagw::store::schema::ota_sessions::dsl::*;
    let mut conn = store.conn().await.unwrap();
    ota_sessions
        .order(id.desc())
        .select((id, status, cause))
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn star_code_activation_over_ss7() {
    let lab = lab().await;
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    let (status, report) = trigger(&lab, &trn).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["outcome"], "success");

    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.activation_state, "activated");
    let h = lab
        .net
        .msc()
        .take_handset(&trn)
        .expect("the handset is back");
    assert_eq!(h.committed_prl(), Some(prl().as_slice()));
    assert!(!h.committed_nam().is_empty());
    assert_eq!(h.reboots(), 1, "released and restarted");
    // The handset re-registered: the HLR saw the RegistrationNotification.
    let mut registered = false;
    for _ in 0..50 {
        if lab
            .net
            .hlr()
            .registrations()
            .iter()
            .any(|(e, _, _)| e.to_string() == ESN)
        {
            registered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(registered, "RegistrationNotification reached the HLR");

    let (session_id, status, cause) = last_session(&lab.db.store).await;
    assert_eq!((status.as_str(), cause), ("completed", None));
    let mut conn = lab.db.store.conn().await.unwrap();
    let records = audit::for_session(&mut conn, session_id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].bearer, "ss7");
    assert_eq!(records[0].flow, "star-code");
    // The PRL needed more than one SMDPP: the segments were sized to fit a UDT.
    assert!(
        records[0].messages_exchanged > 8,
        "{}",
        records[0].messages_exchanged
    );

    // Already activated now: refused with the cause, nothing changes.
    let trn2 = lab.net.place_otasp_call(handset(Faults::default()), min());
    let (status, report) = trigger(&lab, &trn2).await;
    assert_eq!(status, 409, "{report}");
    assert_eq!(report["error"], "already-activated");
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.version,
        after.version
    );
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_trn_and_msc_errors_are_reported() {
    let lab = lab().await;
    // A TRN no configured MSC allocates.
    let (status, report) = trigger(&lab, "9990001").await;
    assert_eq!(status, 404, "{report}");
    assert_eq!(report["error"], "unknown-trn");
    // A TRN of our MSC that it does not know.
    let (status, report) = trigger(&lab, "5559999").await;
    assert_eq!(status, 404, "{report}");
    assert_eq!(report["error"], "unknown-trn");
    // The MSC answers SMDPP with a ReturnError: the session fails with the SS7 cause.
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    lab.net
        .msc()
        .set_data_error(Some(ReturnErrorCode::SystemFailure));
    let (status, report) = trigger(&lab, &trn).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["cause"], "network-error");
    let (_, status, cause) = last_session(&lab.db.store).await;
    assert_eq!(
        (status.as_str(), cause.as_deref()),
        ("failed", Some("network-error"))
    );
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.activation_state,
        "pending_activation"
    );
    let h = lab.net.msc().take_handset(&trn).unwrap();
    assert_eq!(h.committed_prl(), None, "nothing committed");
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handset_rejecting_the_prl_fails_cleanly() {
    let lab = lab().await;
    let trn = lab.net.place_otasp_call(
        handset(Faults {
            corrupt_prl_crc: true,
            ..Faults::default()
        }),
        min(),
    );
    let (status, report) = trigger(&lab, &trn).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["cause"], "prl-crc-error");
    let h = lab.net.msc().take_handset(&trn).unwrap();
    assert_eq!(h.committed_prl(), None);
    assert!(h.committed_nam().is_empty());
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.activation_state,
        "pending_activation"
    );
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcap_timeout_fails_the_session_with_its_cause() {
    let lab = lab().await;
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    // Attach works, then the STP swallows every answer. Slow answers keep the session from
    // finishing before the answers are dropped.
    lab.net.stp().set_response_delay(Duration::from_millis(100));
    let store = lab.db.store.clone();
    let admin = lab.gateway.admin_addr;
    let body = format!(r#"{{"trn": "{trn}"}}"#);
    let call =
        tokio::task::spawn_blocking(move || post(admin, "/api/v1/triggers/star-code", &body));
    // Wait for the session to open, then drop responses.
    for _ in 0..200 {
        let n = {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use otagw::store::schema::ota_sessions::dsl::*;
            let mut conn = store.conn().await.unwrap();
            ota_sessions
                .count()
                .get_result::<i64>(&mut conn)
                .await
                .unwrap()
        };
        if n > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    lab.net.stp().set_drop_responses(true);
    let (status, report) = call.await.unwrap();
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["cause"], "no-answer");
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.activation_state,
        "pending_activation"
    );
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_survives_an_association_lost_and_restored() {
    let lab = lab().await;
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    // Slow answers so the association can be dropped mid-session.
    lab.net.stp().set_response_delay(Duration::from_millis(100));
    let admin = lab.gateway.admin_addr;
    let body = format!(r#"{{"trn": "{trn}"}}"#);
    let call =
        tokio::task::spawn_blocking(move || post(admin, "/api/v1/triggers/star-code", &body));
    tokio::time::sleep(Duration::from_millis(450)).await;
    lab.net.stp().drop_associations();
    let (status, report) = call.await.unwrap();
    // The ASP reconnects and the outstanding SMDPP is sent again.
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.activation_state,
        "activated"
    );
    let h = lab.net.msc().take_handset(&trn).unwrap();
    assert_eq!(h.committed_prl(), Some(prl().as_slice()));
    let metrics = metrics(lab.gateway.admin_addr).await;
    assert!(metrics.contains("otagw_m3ua_reconnects_total"), "{metrics}");
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_triggers_are_refused() {
    let lab = lab().await;
    let addr = lab.gateway.admin_addr;
    let (status, _) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/star-code", "{}"))
            .await
            .unwrap();
    assert_eq!(status, 400);
    let (status, _) = tokio::task::spawn_blocking(move || {
        post(addr, "/api/v1/triggers/star-code", r#"{"trn":"12a"}"#)
    })
    .await
    .unwrap();
    assert_eq!(status, 400);
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signalling_trace_of_a_run_decodes_cleanly() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    import::prl::import(&mut conn, 1, &prl(), None, "", false)
        .await
        .unwrap();
    drop(conn);
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("star-code.pcap");
    let mut c = config(net.stp().addr());
    c.trace.file = file.display().to_string();
    let gateway = common::gateway_linked(&c, db.store.clone()).await;
    let lab = Lab {
        profile: {
            let mut conn = db.store.conn().await.unwrap();
            profiles::insert(
                &mut conn,
                &NewProfile {
                    esn: Some(ESN.into()),
                    meid: None,
                    pesn: None,
                    min: Some(MIN.into()),
                    mdn: Some(MIN.into()),
                    imsi_m: None,
                    imsi_t: None,
                    make: String::new(),
                    model: String::new(),
                    firmware_version: String::new(),
                    capabilities: serde_json::json!({}),
                    nam: serde_json::json!({"mcc": "310", "imsi_11_12": "00"}),
                    prl_id: Some(1),
                    sspr_table_number: None,
                    spc: None,
                    spasm_key: None,
                    activation_state: "pending_activation".into(),
                },
            )
            .await
            .unwrap()
        },
        db,
        net,
        gateway,
    };
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    let (status, report) = trigger(&lab, &trn).await;
    assert_eq!(status, 200, "{report}");
    lab.gateway.stop().await;

    let pcap = std::fs::read(&file).unwrap();
    assert!(
        pcap.len() > 1000,
        "the trace has the run: {} octets",
        pcap.len()
    );
    if !common::tshark_available() {
        return;
    }
    let run = |extra: &[&str]| {
        let out = std::process::Command::new("tshark")
            .args(["-o", "mtp3.standard:ANSI", "-r"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // The attach and release are SMDPPs (IS-725-A), so every frame must decode cleanly: no
    // malformed frame and no expert finding of Warning or above, anywhere.
    let flagged = run(&[
        "-Y",
        r#"_ws.malformed || _ws.expert.severity >= "Warning""#,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-e",
        "frame.number",
        "-e",
        "ansi_tcap.private",
        "-e",
        "_ws.expert.message",
    ]);
    assert!(
        flagged.trim().is_empty(),
        "tshark findings in the star-code trace:\n{flagged}"
    );
    let frames = run(&["-T", "fields", "-e", "frame.number"]);
    assert!(
        frames.lines().count() > 10,
        "tshark read the trace:\n{frames}"
    );
    let fields = run(&[
        "-T",
        "fields",
        "-e",
        "m3ua.message_class",
        "-e",
        "ansi_tcap.private",
        "-e",
        "ansi_683.for_msg_type",
        "-e",
        "ansi_683.rev_msg_type",
    ]);
    assert!(
        !fields.contains("2360"),
        "no OTASPRequest in the trace:\n{fields}"
    );
    assert!(fields.contains("2357"), "SMDPP in the trace:\n{fields}");
    // The attach and the release: SMDPPs with ActionCode 8 and 14.
    let actions = run(&["-T", "fields", "-e", "ansi_map.actionCode"]);
    let actions: Vec<&str> = actions.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(actions, ["8", "14"], "ActionCodes in the trace");
    let is683_lines = fields
        .lines()
        .filter(|l| l.split('\t').skip(2).any(|f| !f.is_empty()))
        .count();
    assert!(is683_lines >= 8, "IS-683 inside SMDPPs decoded:\n{fields}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iota_capable_handsets_go_to_iota_unless_ss7_is_forced() {
    // An SMSC for the WAP push that carries the call-back URL.
    let smsc = Smsc::start("127.0.0.1:0".parse().unwrap(), SmscConfig::default())
        .await
        .unwrap();
    let smsc_addr = smsc.addr();
    let lab = lab_with(|c| {
        c.ss7.force_ss7 = false;
        c.smpp.enabled = true;
        c.smpp.smsc = smsc_addr;
        c.smpp.password = "secret".into();
    })
    .await;
    assert!(
        lab.gateway
            .smpp
            .as_ref()
            .unwrap()
            .wait_bound(Duration::from_secs(10))
            .await
    );
    let mut deliveries = smsc.attach(MIN);
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    let (status, report) = trigger(&lab, &trn).await;
    // Not refused: handed to the IVR-assisted IOTA path (WAP push to its call-back URL).
    assert_eq!(status, 202, "{report}");
    assert_eq!(report["outcome"], "handed-to-iota");
    assert!(report["session_id"].is_i64(), "{report}");
    let callback_url = report["callback_url"].as_str().unwrap().to_string();
    assert!(callback_url.contains("/iota/activate/"), "{callback_url}");
    // The TRN was released: the handset left the call, and acts on the push it gets by SMS.
    let mut h = lab.net.msc().take_handset(&trn).expect("released handset");
    let push = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Delivery::Push(p) = deliveries.recv().await.unwrap() {
                return p;
            }
        }
    })
    .await
    .expect("the push arrived");
    let url = target_url(&push).unwrap().to_string();
    assert_eq!(url, callback_url);
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert!(outcome.is_rebooted(), "{outcome:?}");
    assert_eq!(h.committed_prl(), Some(prl().as_slice()));
    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.activation_state, "activated", "activated over IOTA");
    let (_, status, cause) = last_session(&lab.db.store).await;
    assert_eq!((status.as_str(), cause), ("completed", None));
    let mut conn = lab.db.store.conn().await.unwrap();
    let session_id = report["session_id"].as_i64().unwrap();
    let records = audit::for_session(&mut conn, session_id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].bearer, "iota");
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_associations_share_the_load_and_track_destinations() {
    let lab = lab_with(|c| {
        let peer = c.ss7.peers[0];
        c.ss7.peers = vec![peer, peer];
    })
    .await;
    let linkset = lab.gateway.linkset.clone().unwrap();
    // Both associations come up.
    for _ in 0..200 {
        if linkset
            .asps()
            .iter()
            .all(|a| a.state() == otagw::mniu::asp::AspState::Active)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    let (status, report) = trigger(&lab, &trn).await;
    assert_eq!(status, 200, "{report}");
    // Outgoing DATA went over both (SLS from the transaction IDs).
    let metrics = metrics(lab.gateway.admin_addr).await;
    for asp in linkset.asps() {
        let line = format!(
            r#"otagw_m3ua_messages_total{{asp="{}",direction="out",message="DATA"}}"#,
            asp.name
        );
        assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
    }
    // DUNA / DAVA from the STP are tracked per destination.
    let msc = otagw_codecs::m3ua::PointCode::from_parts(1, 1, 2);
    lab.net.stp().send_duna(msc);
    let mut unavailable = false;
    for _ in 0..100 {
        if linkset.asps()[0].is_unavailable(msc).await {
            unavailable = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(unavailable, "DUNA recorded");
    lab.net.stp().send_dava(msc);
    let mut available = false;
    for _ in 0..100 {
        if !linkset.asps()[0].is_unavailable(msc).await {
            available = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(available, "DAVA recorded");
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_the_peer_is_counted_not_logged_each_time() {
    let lab = lab().await;
    // The STP learns where the gateway's point code lives from the gateway's first DATA: one
    // star code first.
    let trn = lab.net.place_otasp_call(handset(Faults::default()), min());
    let (status, report) = trigger(&lab, &trn).await;
    assert_eq!(status, 200, "{report}");
    // 500 M3UA DATA messages whose SCCP does not decode, and 500 whose TCAP does not.
    let garbage = |user_data: Vec<u8>| otagw_codecs::m3ua::ProtocolData {
        opc: otagw_sim::ss7::MSC_POINT_CODE,
        dpc: otagw_sim::ss7::GATEWAY_POINT_CODE,
        si: 3,
        ni: 2,
        mp: 0,
        sls: 0,
        user_data,
    };
    let bad_tcap = otagw_codecs::sccp::SccpMessage::Udt(otagw_codecs::sccp::Unitdata {
        protocol_class: otagw_codecs::sccp::ProtocolClass::default(),
        called: otagw_codecs::sccp::SccpAddress::ssn_pc(
            8,
            otagw_sim::ss7::GATEWAY_POINT_CODE.value(),
        ),
        calling: otagw_codecs::sccp::SccpAddress::ssn_pc(8, otagw_sim::ss7::MSC_POINT_CODE.value()),
        data: vec![0xE2, 0x05, 0xFF, 0xFF, 0xFF],
    })
    .encode(otagw_codecs::sccp::Variant::Ansi)
    .unwrap();
    for _ in 0..500 {
        lab.net.stp().inject(garbage(vec![0x09, 0xFF]));
        lab.net.stp().inject(garbage(bad_tcap.clone()));
    }
    let want_sccp = r#"otagw_ss7_undecodable_total{layer="sccp"} 500"#;
    let want_tcap = r#"otagw_ss7_undecodable_total{layer="tcap"} 500"#;
    let mut m = String::new();
    for _ in 0..100 {
        m = metrics(lab.gateway.admin_addr).await;
        if m.contains(want_sccp) && m.contains(want_tcap) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counters = lab.net.stp().counters();
    assert!(m.contains(want_sccp), "{counters:?}\n{m}");
    assert!(m.contains(want_tcap), "{counters:?}\n{m}");
    // The association stayed up through it all: the STP accepted one association only.
    assert_eq!(counters.associations_accepted, 1, "{counters:?}");
    assert_eq!(counters.associations_open, 1, "{counters:?}");
    lab.gateway.stop().await;
}
