//! OTAPA on a SPASM-protected NAM: the handset answers the OTAPA start with NAM_LOCK_IND and
//! RAND_OTAPA; the gateway answers with AUTH_OTAPA from the profile's SPASM key (Validate
//! SPASM) before it sends the PRL. Over IOTA (the handset follows its call-back URL) and over
//! SS7 (the fallback through the serving MSC).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{activated, classic_prl, db_with, loopback_config, post, use_network};
use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::store::audit;
use otagw::store::models::Profile;
use otagw::store::profiles::{self, Lookup};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_codecs::identity::{DeviceId, Min};
use otagw_codecs::spasm::SpasmKey;
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::handset::{run_session, NetFaults, SessionOutcome};
use otagw_sim::ss7::{Network, NetworkConfig};

const ESN: &str = "1A2B3C4D";
const MDN: &str = "6195550177";
const KEY: &str = "8899AABBCCDDEEFF";

/// A store with PRLs 1 (in use) and 2 (to push) and one activated profile holding `key`.
async fn store_with(key: Option<&str>) -> (TestDb, Profile) {
    let mut profile = activated(ESN, MDN, MDN);
    profile.spasm_key = key.map(str::to_string);
    let (db, mut inserted) = db_with(60, &[profile]).await;
    (db, inserted.remove(0))
}

/// A classic-PRL handset whose NAM is protected with `KEY`.
fn protected_handset() -> Handset {
    let mut cfg = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
    cfg.sspr_p_rev = 1;
    cfg.spasm_key = Some(KEY.parse::<SpasmKey>().unwrap());
    Handset::new(cfg).unwrap()
}

fn config(callback_timeout_secs: u64) -> Config {
    let mut c = loopback_config();
    c.iota.otapa_callback_timeout = Duration::from_secs(callback_timeout_secs);
    c
}

/// Triggers a push of PRL 2 and returns (session id, call-back URL).
async fn push(gateway: &Gateway) -> (i64, String) {
    let addr = gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#);
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/prl-push", &body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    (
        started["session_id"].as_i64().unwrap(),
        started["callback_url"].as_str().unwrap().to_string(),
    )
}

async fn reload(store: &Store, id: i64) -> Profile {
    let mut conn = store.conn().await.unwrap();
    profiles::find(&mut conn, &Lookup::Id(id)).await.unwrap()
}

/// The session's audit record, once it is written.
async fn audit_of(store: &Store, session_id: i64) -> otagw::store::models::AuditRecord {
    for _ in 0..100 {
        let mut conn = store.conn().await.unwrap();
        let records = audit::for_session(&mut conn, session_id).await.unwrap();
        if let Some(r) = records.into_iter().next() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no audit record for session {session_id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_iota_the_right_key_opens_the_nam_and_the_prl_goes_in() {
    let (db, profile) = store_with(Some(KEY)).await;
    let gateway = Gateway::start(&config(60), db.store.clone()).await.unwrap();
    common::authorize(&db.store, gateway.admin_addr).await;
    let (session_id, url) = push(&gateway).await;
    let mut h = protected_handset();
    let outcome = run_session(&url, &mut h, NetFaults::default())
        .await
        .unwrap();
    assert!(
        matches!(outcome, SessionOutcome::Terminated { .. }),
        "{outcome:?}"
    );
    assert_eq!(h.committed_prl(), Some(classic_prl(2, 60).as_slice()));
    assert!(h.nam_locked(), "NAM_LOCK 1: the NAM stays protected");
    let after = reload(&db.store, profile.id).await;
    assert_eq!(after.prl_id, Some(2));
    assert_eq!(after.pending_prl_id, None);
    let record = audit_of(&db.store, session_id).await;
    assert_eq!(record.outcome, "success");
    // The ended session keeps no copy of the key.
    let state = session_state(&db.store, session_id).await;
    assert!(state["plan"]["programme"].is_object(), "{state}");
    assert!(state["plan"]["programme"].get("spasm").is_none(), "{state}");
    assert!(!state.to_string().contains(KEY));
    gateway.stop().await;
}

async fn session_state(store: &Store, session_id: i64) -> serde_json::Value {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use otagw::store::schema::ota_sessions;
    let mut conn = store.conn().await.unwrap();
    ota_sessions::table
        .find(session_id)
        .select(ota_sessions::state)
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_iota_a_wrong_key_or_no_key_writes_nothing() {
    for (key, cause) in [
        (Some("0000000000000001"), "spasm-rejected"),
        (None, "nam-locked"),
    ] {
        let (db, profile) = store_with(key).await;
        let gateway = Gateway::start(&config(60), db.store.clone()).await.unwrap();
        common::authorize(&db.store, gateway.admin_addr).await;
        let (session_id, url) = push(&gateway).await;
        let mut h = protected_handset();
        let _ = run_session(&url, &mut h, NetFaults::default()).await;
        let record = audit_of(&db.store, session_id).await;
        assert_eq!(record.outcome, "failure", "{key:?}");
        assert_eq!(record.cause.as_deref(), Some(cause), "{key:?}");
        assert_eq!(h.committed_prl(), None, "nothing reached the NAM");
        assert!(!h.otapa_active(), "the OTAPA session was closed");
        assert_eq!(h.temporary_prl(), None);
        assert!(h.nam_locked());
        let after = reload(&db.store, profile.id).await;
        assert_eq!(after.prl_id, Some(1), "the profile keeps its PRL");
        gateway.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_ss7_the_fallback_validates_spasm_in_smdpps() {
    let (db, profile) = store_with(Some(KEY)).await;
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let trn = net.place_otasp_call(protected_handset(), MDN.parse::<Min>().unwrap());
    let mut c = config(1);
    use_network(&mut c, &net);
    let gateway = common::gateway_linked(&c, db.store.clone()).await;
    // Nobody follows the push: after the call-back deadline the PRL goes over SS7.
    let (session_id, _) = push(&gateway).await;
    let record = audit_of(&db.store, session_id).await;
    assert_eq!(record.bearer, "ss7");
    assert_eq!(record.outcome, "success", "{record:?}");
    let h = net.msc().handset_state(&trn).unwrap();
    assert_eq!(h.committed_prl(), Some(classic_prl(2, 60).as_slice()));
    assert!(h.nam_locked());
    assert_eq!(reload(&db.store, profile.id).await.prl_id, Some(2));
    gateway.stop().await;
}
