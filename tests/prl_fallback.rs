//! The PRL push fallback: the handset never follows the WAP push, so when the call-back
//! deadline passes the PRL goes over SS7 (OTAPA in SMDPPs, ServiceIndicator 3) through the MSC
//! the HLR names, and the audit record says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{activated, classic_prl, db_with, loopback_config, post, use_network};
use std::time::Duration;

use otagw::store::audit;
use otagw::store::profiles::{self, Lookup};
use otagw_codecs::identity::{DeviceId, Min};
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::smsc::{Smsc, SmscConfig};
use otagw_sim::ss7::{Network, NetworkConfig};

const ESN: &str = "1A2B3C4D";
const MDN: &str = "6195550101";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_nobody_follows_goes_over_ss7() {
    let (db, profiles) = db_with(80, &[activated(ESN, MDN, MDN)]).await;
    let profile = &profiles[0];

    // The handset is attached to the simulated MSC (and known to the HLR) but ignores pushes.
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let mut cfg = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
    cfg.sspr_p_rev = 1;
    let trn = net.place_otasp_call(Handset::new(cfg).unwrap(), MDN.parse::<Min>().unwrap());
    let smsc = Smsc::start("127.0.0.1:0".parse().unwrap(), SmscConfig::default())
        .await
        .unwrap();

    let mut c = loopback_config();
    c.iota.otapa_callback_timeout = Duration::from_secs(1);
    c.smpp.enabled = true;
    c.smpp.smsc = smsc.addr();
    c.smpp.password = "secret".into();
    use_network(&mut c, &net);
    let gateway = common::gateway_linked(&c, db.store.clone()).await;
    assert!(
        gateway
            .smpp
            .as_ref()
            .unwrap()
            .wait_bound(Duration::from_secs(10))
            .await
    );

    let addr = gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#);
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/prl-push", &body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();

    // After the call-back deadline the fallback runs over SS7.
    let mut after = None;
    for _ in 0..100 {
        let mut conn = db.store.conn().await.unwrap();
        let p = profiles::find(&mut conn, &Lookup::Id(profile.id))
            .await
            .unwrap();
        if p.prl_id == Some(2) {
            after = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if after.is_none() {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use otagw::store::schema::ota_sessions::dsl::*;
        let mut conn = db.store.conn().await.unwrap();
        let row: (String, Option<String>, String, serde_json::Value) = ota_sessions
            .find(session_id)
            .select((status, cause, bearer, state))
            .first(&mut conn)
            .await
            .unwrap();
        panic!("the PRL did not arrive over SS7; session: {row:?}");
    }
    let after = after.unwrap();
    assert_eq!(after.pending_prl_id, None);
    let h = net.msc().handset_state(&trn).unwrap();
    assert_eq!(h.committed_prl(), Some(classic_prl(2, 80).as_slice()));
    assert!(!h.otapa_active());

    let mut conn = db.store.conn().await.unwrap();
    let records = audit::for_session(&mut conn, session_id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].flow, "prl-push");
    assert_eq!(
        records[0].bearer, "ss7",
        "the audit record says the legacy path carried it"
    );
    assert_eq!(records[0].outcome, "success");
    gateway.stop().await;
}
