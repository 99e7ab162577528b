//! IVR-assisted star-code IOTA activation end to end: TRN attach over SS7 to the simulated MSC,
//! the welcome SMS and the WAP push Service Indication through the SMPP bind to the simulated
//! SMSC, the handset following the call-back URL into an IOTA session, the profile activated.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::post;
use std::time::Duration;

use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::import;
use otagw::mniu::is725::MscRoute;
use otagw::store::models::{NewProfile, Profile};
use otagw::store::profiles::{self, Lookup};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_codecs::identity::{DeviceId, Min};
use otagw_codecs::prl::classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};
use otagw_sim::handset::iota::{run_session, NetFaults};
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::handset::push::{next_url, target_url, Delivery};
use otagw_sim::smsc::{Smsc, SmscConfig, SmscHandle};
use otagw_sim::ss7::{Network, NetworkConfig};

const ESN: &str = "1A2B3C4D";
const MDN: &str = "6195550101";

fn prl() -> Vec<u8> {
    ClassicPrl {
        pr_list_id: 5,
        pref_only: false,
        def_roam_ind: 1,
        acq_records: vec![AcqRecord::PcsCdmaBlocks { blocks: vec![7] }],
        sys_records: vec![SysRecord {
            sid: 4139,
            nid: Nid::Wildcard,
            pref_neg: PrefNeg::Preferred {
                pri: true,
                roam_ind: 1,
            },
            geo: false,
            acq_index: 0,
        }],
    }
    .encode()
    .unwrap()
}

struct Lab {
    db: TestDb,
    net: Network,
    smsc: SmscHandle,
    gateway: Gateway,
    profile: Profile,
}

async fn lab() -> Lab {
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
            min: Some(MDN.into()),
            mdn: Some(MDN.into()),
            imsi_m: None,
            imsi_t: None,
            make: "Acme".into(),
            model: "X1".into(),
            firmware_version: "1.0".into(),
            capabilities: serde_json::json!({"iota": true, "sspr_p_rev": 1}),
            nam: serde_json::json!({"mcc": "310", "imsi_11_12": "00", "home_sid_nid": [{"sid": 4139, "nid": 65535}]}),
            prl_id: Some(1),
            sspr_table_number: None,
            spc: None,
            spasm_key: None,
            activation_state: "pending_activation".into(),
        },
    )
    .await
    .unwrap();
    drop(conn);
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let smsc = Smsc::start("127.0.0.1:0".parse().unwrap(), SmscConfig::default())
        .await
        .unwrap();
    let mut c = Config::default();
    c.iota.listen = "127.0.0.1:0".parse().unwrap();
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.ss7.enabled = true;
    c.ss7.peers = vec![net.stp().addr()];
    c.ss7.msc = vec![MscRoute {
        name: "msc1".into(),
        point_code: "1-1-2".parse().unwrap(),
        ssn: 8,
        trn_prefix: "555".into(),
        sms_address: None,
    }];
    c.smpp.enabled = true;
    c.smpp.smsc = smsc.addr();
    c.smpp.password = "secret".into();
    c.ospp.enabled = true;
    c.ospp.listen = "127.0.0.1:0".parse().unwrap();
    c.ospp.accounts = vec![otagw::ospp_handler::OsppAccount {
        system_id: "ivr".into(),
        password: "ivrpass".into(),
    }];
    let gateway = common::gateway_linked(&c, db.store.clone()).await;
    assert!(
        gateway
            .smpp
            .as_ref()
            .unwrap()
            .wait_bound(Duration::from_secs(10))
            .await
    );
    Lab {
        db,
        net,
        smsc,
        gateway,
        profile,
    }
}

async fn trigger(lab: &Lab, trn: &str) -> (u16, serde_json::Value) {
    let addr = lab.gateway.admin_addr;
    let body = format!(r#"{{"trn": "{trn}"}}"#);
    tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/ivr-star-code", &body))
        .await
        .unwrap()
}

async fn reload(store: &Store, id: i64) -> Profile {
    let mut conn = store.conn().await.unwrap();
    profiles::find(&mut conn, &Lookup::Id(id)).await.unwrap()
}

fn handset() -> Handset {
    let mut c = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
    c.sspr_p_rev = 1;
    Handset::new(c).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ivr_activation_goes_over_iota_after_a_wap_push() {
    let lab = lab().await;
    // The handset's MDN is reachable through the SMSC from the start.
    let mut deliveries = lab.smsc.attach(MDN);
    let trn = lab
        .net
        .place_otasp_call(handset(), MDN.parse::<Min>().unwrap());
    let (status, started) = trigger(&lab, &trn).await;
    assert_eq!(status, 202, "{started}");
    assert!(started["callback_url"]
        .as_str()
        .unwrap()
        .contains("/iota/activate/"));
    // The call was released; the handset now acts on what reaches it by SMS.
    let mut h = lab.net.msc().take_handset(&trn).expect("released handset");
    let mut texts = Vec::new();
    let push = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match deliveries.recv().await.unwrap() {
                Delivery::Text(t) => texts.push(t),
                Delivery::Push(p) => return p,
            }
        }
    })
    .await
    .expect("the push arrived");
    assert_eq!(
        texts,
        ["Welcome! Your phone is being activated."],
        "the welcome SMS came first, decoded as text"
    );
    let url = target_url(&push).unwrap().to_string();
    assert!(url.contains("/iota/activate/"), "{url}");
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert!(outcome.is_rebooted(), "{outcome:?}");
    assert_eq!(h.committed_prl(), Some(prl().as_slice()));
    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.activation_state, "activated");
    assert_eq!(after.activated_esn.as_deref(), Some(ESN));

    // Now activated: a second call is refused with the cause, and nothing is pushed.
    let before = lab.smsc.messages().len();
    let trn2 = lab
        .net
        .place_otasp_call(handset(), MDN.parse::<Min>().unwrap());
    let (status, refused) = trigger(&lab, &trn2).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"], "already-activated");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lab.smsc.messages().len(), before);
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_trns_are_refused() {
    let lab = lab().await;
    let (status, refused) = trigger(&lab, "5559999").await;
    assert_eq!(status, 404, "{refused}");
    assert_eq!(refused["error"], "unknown-trn");
    assert!(lab.smsc.messages().is_empty());
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ivr_triggers_over_ospp_and_hears_the_result() {
    use otagw_codecs::ospp::{Reply, Request, Subscriber};
    let lab = lab().await;
    let mut deliveries = lab.smsc.attach(MDN);
    let trn = lab
        .net
        .place_otasp_call(handset(), MDN.parse::<Min>().unwrap());
    let ospp_addr = lab.gateway.ospp.as_ref().unwrap().addr();
    let mut ivr = otagw_sim::ivr::Ivr::connect(ospp_addr, "ivr", "ivrpass")
        .await
        .unwrap();
    ivr.request_with_pid(
        0x7B,
        Request::StartActivation {
            tref: "call-1".into(),
            subscriber: Subscriber::Trn(trn.clone()),
        },
    )
    .await
    .unwrap();
    let reference = match ivr.next_reply(Duration::from_secs(20)).await.unwrap() {
        Reply::Accepted { tref, reference } => {
            assert_eq!(tref, "call-1");
            reference
        }
        other => panic!("{other:?}"),
    };
    // The handset follows the push.
    let mut h = lab.net.msc().take_handset(&trn).expect("released handset");
    let url = next_url(&mut deliveries, Duration::from_secs(20))
        .await
        .expect("the push arrived");
    assert!(run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap()
        .is_rebooted());
    match ivr.next_reply(Duration::from_secs(20)).await.unwrap() {
        Reply::Result {
            tref,
            reference: r,
            success,
            ..
        } => {
            assert_eq!(
                (tref.as_str(), r.as_str(), success),
                ("call-1", reference.as_str(), true)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.activation_state,
        "activated"
    );
    ivr.unbind().await;
    lab.gateway.stop().await;
}
