//! The PRL push straight to the serving MSC over SS7 (`iota.otapa_push_bearer = "ss7"`): no
//! SMSC. SMSRequest to the HLR, then SMDPPs with IS-637 teleservice 4100 carrying the WAP
//! Service Loading; the MSC hands the push to the handset, which follows the call-back URL into
//! its OTAPA session over IOTA.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    activated, classic_prl, db_with, loopback_config, post, tshark_available, use_network,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::store::outbox::OutboxRow;
use otagw::store::profiles::{self, Lookup};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_codecs::identity::{DeviceId, Esn, Min};
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::handset::push::next_url;
use otagw_sim::handset::{run_session, NetFaults, SessionOutcome};
use otagw_sim::ss7::{Network, NetworkConfig};

const ESN: &str = "1A2B3C4D";
const MIN: &str = "6195550133";
const MDN: &str = "6195559999";

struct Lab {
    db: TestDb,
    net: Network,
    gateway: Gateway,
    profile_id: i64,
}

async fn lab(trace: Option<&std::path::Path>) -> Lab {
    let (db, profiles) = db_with(60, &[activated(ESN, MIN, MDN)]).await;
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let mut c = loopback_config();
    // A long call-back window: these tests are about the push, not the fallback.
    c.iota.otapa_callback_timeout = Duration::from_secs(600);
    c.iota.otapa_push_bearer = otagw::store::outbox::OutboxBearer::Ss7;
    use_network(&mut c, &net);
    if let Some(path) = trace {
        c.trace.file = path.display().to_string();
    }
    let gateway = common::gateway_linked(&c, db.store.clone()).await;
    Lab {
        db,
        net,
        gateway,
        profile_id: profiles[0].id,
    }
}

async fn push(lab: &Lab) -> (u16, serde_json::Value) {
    let addr = lab.gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#);
    tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/prl-push", &body))
        .await
        .unwrap()
}

async fn outbox_rows(store: &Store, session: i64) -> Vec<OutboxRow> {
    use otagw::store::schema::outbox::dsl::*;
    let mut conn = store.conn().await.unwrap();
    outbox
        .filter(session_id.eq(session))
        .order(id)
        .select(OutboxRow::as_select())
        .load(&mut conn)
        .await
        .unwrap()
}

/// Waits until no row of `session` is queued or being sent.
async fn settled(store: &Store, session: i64) -> Vec<OutboxRow> {
    for _ in 0..100 {
        let rows = outbox_rows(store, session).await;
        if !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.state == "delivered" || r.state == "failed")
        {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the push did not settle: {:?}",
        outbox_rows(store, session).await
    );
}

fn handset() -> Handset {
    let mut cfg = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
    cfg.sspr_p_rev = 1;
    Handset::new(cfg).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_reaches_the_handset_through_the_msc_and_the_prl_follows() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("push.pcap");
    let lab = lab(Some(&trace)).await;
    let mut deliveries = lab
        .net
        .register_for_sms(MIN.parse::<Min>().unwrap(), ESN.parse::<Esn>().unwrap());
    let (status, started) = push(&lab).await;
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();

    let url = next_url(&mut deliveries, Duration::from_secs(10))
        .await
        .expect("the MSC delivered the push");
    assert_eq!(url, started["callback_url"].as_str().unwrap());
    let mut h = handset();
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert!(
        matches!(outcome, SessionOutcome::Terminated { .. }),
        "{outcome:?}"
    );
    assert_eq!(h.committed_prl(), Some(classic_prl(2, 60).as_slice()));

    // Every row went over SS7, to the MIN, and was delivered by the MSC's ReturnResult.
    let rows = settled(&lab.db.store, session_id).await;
    assert_eq!(rows.len(), started["segments"].as_u64().unwrap() as usize);
    for r in &rows {
        assert_eq!(r.bearer, "ss7");
        assert_eq!(r.destination, MIN, "SS7 pushes go to the MIN, not the MDN");
        assert_eq!(r.state, "delivered", "{r:?}");
        assert_eq!(
            r.message_id.as_deref(),
            Some(format!("ss7-{}", r.id).as_str())
        );
    }
    let mut conn = lab.db.store.conn().await.unwrap();
    let p = profiles::find(&mut conn, &Lookup::Id(lab.profile_id))
        .await
        .unwrap();
    assert_eq!(p.prl_id, Some(2));
    drop(conn);
    lab.gateway.stop().await;

    check_trace(&trace, rows.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_the_hlr_does_not_know_fails_the_push_with_the_cause() {
    let lab = lab(None).await;
    // Nobody registered: the HLR answers SMSRequest with UnrecognizedMIN.
    let (status, started) = push(&lab).await;
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    let rows = settled(&lab.db.store, session_id).await;
    for r in &rows {
        assert_eq!(r.state, "failed");
        let cause = r.cause.as_deref().unwrap_or_default();
        assert!(cause.contains("UnrecognizedMIN"), "{cause}");
        assert_eq!(r.attempts, 1, "a refusal is final, not retried");
    }
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_wait_for_the_signalling_link_without_using_up_attempts() {
    // The STP's address is reserved but nothing listens there yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (db, _) = db_with(60, &[activated(ESN, MIN, MDN)]).await;
    let mut c = loopback_config();
    c.iota.otapa_push_bearer = otagw::store::outbox::OutboxBearer::Ss7;
    c.ss7.enabled = true;
    c.ss7.peers = vec![addr];
    c.ss7.msc = vec![otagw::mniu::is725::MscRoute {
        name: "msc1".into(),
        point_code: "1-1-2".parse().unwrap(),
        ssn: 8,
        trn_prefix: "555".into(),
        sms_address: Some(otagw_sim::ss7::DEFAULT_MSC_SMS_ADDRESS.into()),
    }];
    let gateway = Gateway::start(&c, db.store.clone()).await.unwrap();
    common::authorize(&db.store, gateway.admin_addr).await;
    let addr_admin = gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#);
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr_admin, "/api/v1/triggers/prl-push", &body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for r in outbox_rows(&db.store, session_id).await {
        assert_eq!((r.state.as_str(), r.attempts), ("queued", 0), "{r:?}");
    }
    // The STP comes up where the gateway looks for it: the push goes.
    let net = Network::start(NetworkConfig {
        listen: addr,
        ..NetworkConfig::default()
    })
    .await
    .unwrap();
    let mut deliveries =
        net.register_for_sms(MIN.parse::<Min>().unwrap(), ESN.parse::<Esn>().unwrap());
    let url = next_url(&mut deliveries, Duration::from_secs(30)).await;
    assert_eq!(url.as_deref(), started["callback_url"].as_str());
    for r in settled(&db.store, session_id).await {
        assert_eq!((r.state.as_str(), r.attempts), ("delivered", 1), "{r:?}");
    }
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ss7_bearer_needs_ss7() {
    let mut c = Config::default();
    c.iota.otapa_push_bearer = otagw::store::outbox::OutboxBearer::Ss7;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("iota.otapa_push_bearer"), "{err}");
    assert!(err.contains("ss7.enabled"), "{err}");
    // The field cannot hold an unknown bearer: the value comes from the environment, and
    // reading the configuration refuses it.
    let env = [
        ("OTAGW_IOTA_OTAPA_PUSH_BEARER", "carrier-pigeon"),
        ("OTAGW_SS7_ENABLED", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let err = Config::load(None, env).unwrap_err().to_string();
    assert!(err.contains("\"smsc\" or \"ss7\""), "{err}");
}

/// tshark decodes the SMDPPs of the push: teleservice 4100, IS-637 bearer data (Message
/// Identifier and User Data), nothing malformed or flagged.
fn check_trace(file: &std::path::Path, pushes: usize) {
    if !tshark_available() {
        return;
    }
    let out = std::process::Command::new("tshark")
        .args(["-o", "mtp3.standard:ANSI", "-r"])
        .arg(file)
        .args([
            "-Y",
            "ansi_map.sms_TeleserviceIdentifier == 10:04",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
            "-e",
            "ansi_tcap.private",
            "-e",
            "ansi_637_tele.subparam_id",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.message",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), pushes, "one SMDPP per push message:\n{text}");
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols[0], "2357", "an SMDPP: {line}");
        // IS-637 decoded the bearer data: Message Identifier and User Data subparameters.
        assert_eq!(cols.get(1).copied(), Some("0,1"), "{line}");
        assert!(
            cols.iter().skip(2).all(|c| c.is_empty()),
            "tshark finding: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_without_a_min_is_refused_and_nothing_is_queued() {
    let mut profile = activated(ESN, MIN, MDN);
    profile.min = None;
    let (db, _) = db_with(60, &[profile]).await;
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let mut c = loopback_config();
    c.iota.otapa_push_bearer = otagw::store::outbox::OutboxBearer::Ss7;
    use_network(&mut c, &net);
    let gateway = Gateway::start(&c, db.store.clone()).await.unwrap();
    common::authorize(&db.store, gateway.admin_addr).await;
    let addr = gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#);
    let (status, answer) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/prl-push", &body))
            .await
            .unwrap();
    assert_eq!((status, answer["error"].as_str()), (409, Some("no-min")));
    let mut conn = db.store.conn().await.unwrap();
    let depth = otagw::store::outbox::depth(&mut conn).await.unwrap();
    assert_eq!(depth.total(), 0, "nothing queued");
    drop(conn);
    gateway.stop().await;
}
