//! Automated IOTA PRL download end to end: the admin trigger, the WAP push through the durable
//! outbox and the gateway's SMPP bind to the simulated SMSC, the handset simulator following the
//! Service Loading to its call-back URL, the OTAPA session over IOTA, and the profile updated.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::classic_prl;
use common::{get, handset_follows_pushes, post};
use std::sync::Arc;
use std::time::Duration;

use otagw::gateway::Gateway;
use otagw::store::models::Profile;
use otagw::store::profiles::{self, Lookup};
use otagw::store::{audit, Store};
use otagw::testkit::TestDb;
use otagw_codecs::identity::DeviceId;
use otagw_codecs::mmc::TerminateAction;
use otagw_sim::handset::iota::SessionOutcome;
use otagw_sim::handset::model::{Faults, Handset, HandsetConfig};
use tokio::sync::Mutex;

const ESN: &str = "1A2B3C4D";
const MDN: &str = "6195550101";

struct Lab {
    db: TestDb,
    gateway: Gateway,
    profile: Profile,
    smsc: otagw_sim::smsc::SmscHandle,
}

async fn lab(callback_timeout_secs: u64) -> Lab {
    let (db, mut profiles) = common::db_with(60, &[common::activated(ESN, MDN, MDN)]).await;
    let profile = profiles.remove(0);
    let mut c = common::loopback_config();
    let smsc = common::simulated_smsc(&mut c).await;
    c.iota.otapa_callback_timeout = Duration::from_secs(callback_timeout_secs);
    c.prl_campaign.refresh_interval = Duration::from_millis(100);
    let gateway = common::gateway_bound(&c, db.store.clone()).await;
    Lab {
        db,
        gateway,
        profile,
        smsc,
    }
}

async fn trigger(lab: &Lab, body: &str) -> (u16, serde_json::Value) {
    let addr = lab.gateway.admin_addr;
    let body = body.to_string();
    tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/prl-push", &body))
        .await
        .unwrap()
}

async fn reload(store: &Store, id: i64) -> Profile {
    let mut conn = store.conn().await.unwrap();
    profiles::find(&mut conn, &Lookup::Id(id)).await.unwrap()
}

async fn session(store: &Store, sid: i64) -> (String, Option<String>) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use otagw::store::schema::ota_sessions::dsl::*;
    let mut conn = store.conn().await.unwrap();
    ota_sessions
        .find(sid)
        .select((status, cause))
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prl_push_reaches_the_handset_and_updates_the_profile() {
    let lab = lab(60).await;
    let handset = Arc::new(Mutex::new(
        Handset::new({
            let mut c = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
            c.sspr_p_rev = 1;
            c
        })
        .unwrap(),
    ));
    let follower = handset_follows_pushes(&lab.smsc, MDN, handset.clone());
    let (status, started) = trigger(&lab, &format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#)).await;
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    assert!(started["callback_url"]
        .as_str()
        .unwrap()
        .contains("/iota/otapa/"));
    // Pending until the handset calls back.
    let pending = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(pending.pending_prl_id, Some(2));

    let outcome = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("the handset followed the push")
        .unwrap()
        .expect("the IOTA session ran");
    assert!(
        matches!(outcome, SessionOutcome::Terminated { .. }),
        "{outcome:?}"
    );
    let h = handset.lock().await;
    assert_eq!(h.committed_prl(), Some(classic_prl(2, 60).as_slice()));
    assert!(!h.otapa_active(), "OTAPA stopped");
    drop(h);

    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.prl_id, Some(2));
    assert_eq!(after.pending_prl_id, None);
    assert_eq!(after.otapa_callback_url, None);
    assert_eq!(after.activation_state, "activated");
    assert_eq!(
        session(&lab.db.store, session_id).await,
        ("completed".to_string(), None)
    );
    let mut conn = lab.db.store.conn().await.unwrap();
    let records = audit::for_session(&mut conn, session_id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].flow, "prl-push");
    assert_eq!(records[0].outcome, "success");
    // The push went through the SMSC as WAP push SMS segments with esm_class UDHI.
    let sent = lab.smsc.messages();
    assert!(!sent.is_empty());
    assert!(sent
        .iter()
        .all(|m| m.esm_class & 0x40 != 0 && m.destination == MDN));
    lab.gateway.stop().await;
}

fn handset_with(faults: Faults) -> Arc<Mutex<Handset>> {
    let mut c = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
    c.sspr_p_rev = 1;
    c.faults = faults;
    Arc::new(Mutex::new(Handset::new(c).unwrap()))
}

/// Pushes PRL 2 to a handset with `faults`, which calls back and refuses it: the session ends
/// failed with `want_cause`, the handset keeps what it had, the profile keeps PRL 1 and its
/// pending fields are cleared. Returns the lab for more.
async fn a_refused_push(faults: Faults, want_cause: &str) -> Lab {
    let lab = lab(60).await;
    let handset = handset_with(faults);
    let follower = handset_follows_pushes(&lab.smsc, MDN, handset.clone());
    let (status, started) = trigger(&lab, &format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#)).await;
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("the handset followed the push")
        .unwrap()
        .expect("the IOTA session ran");
    match &outcome {
        SessionOutcome::Terminated { action, .. } => assert_eq!(*action, TerminateAction::None),
        other => panic!("{other:?}"),
    }
    let h = handset.lock().await;
    assert_eq!(h.committed_prl(), None, "the handset committed nothing");
    assert_eq!(h.reboots(), 0);
    assert!(!h.otapa_active(), "the gateway closed the OTAPA session");
    drop(h);

    assert_eq!(
        session(&lab.db.store, session_id).await,
        ("failed".to_string(), Some(want_cause.to_string()))
    );
    let mut conn = lab.db.store.conn().await.unwrap();
    let records = audit::for_session(&mut conn, session_id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].flow, "prl-push");
    assert_eq!(records[0].outcome, "failure");
    assert_eq!(records[0].cause.as_deref(), Some(want_cause));
    drop(conn);

    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.prl_id, Some(1), "the old PRL stays");
    assert_eq!(after.activation_state, "activated");
    assert_eq!(after.pending_prl_id, None, "the pending PRL is cleared");
    assert_eq!(
        after.otapa_callback_url, None,
        "the call-back URL is cleared"
    );
    lab
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handset_that_finds_a_prl_crc_error_keeps_its_old_prl_and_a_later_push_starts_clean() {
    let lab = a_refused_push(
        Faults {
            corrupt_prl_crc: true,
            ..Faults::default()
        },
        "prl-crc-error",
    )
    .await;
    // The same subscriber, its handset fixed, pushed again: nothing left over is in the way.
    let handset = handset_with(Faults::default());
    let follower = handset_follows_pushes(&lab.smsc, MDN, handset.clone());
    let (status, started) = trigger(&lab, &format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#)).await;
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    assert_eq!(
        reload(&lab.db.store, lab.profile.id).await.pending_prl_id,
        Some(2)
    );
    tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("the handset followed the push")
        .unwrap()
        .expect("the IOTA session ran");
    assert_eq!(
        handset.lock().await.committed_prl(),
        Some(classic_prl(2, 60).as_slice())
    );
    assert_eq!(
        session(&lab.db.store, session_id).await,
        ("completed".to_string(), None)
    );
    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(
        (after.prl_id, after.pending_prl_id, after.otapa_callback_url),
        (Some(2), None, None)
    );
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handset_that_rejects_the_commit_keeps_its_old_prl() {
    let lab = a_refused_push(
        Faults {
            reject_commit: Some(1),
            ..Faults::default()
        },
        "commit-rejected",
    )
    .await;
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handset_that_never_calls_back_times_out() {
    let lab = lab(1).await;
    let (status, started) = trigger(&lab, &format!(r#"{{"prl": 2, "esn": "{ESN}"}}"#)).await;
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    let mut result = (String::new(), None);
    for _ in 0..60 {
        result = session(&lab.db.store, session_id).await;
        if result.0 != "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(result, ("failed".to_string(), Some("timeout".to_string())));
    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.prl_id, Some(1), "the old PRL stays");
    assert_eq!(
        (after.pending_prl_id, after.otapa_callback_url),
        (None, None)
    );
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pushes_are_refused_and_change_nothing() {
    let lab = lab(60).await;
    let (status, body) = trigger(&lab, r#"{"prl": 9, "mdn": "6195550101"}"#).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown-prl")),
        "{body}"
    );
    let (status, body) = trigger(&lab, r#"{"prl": 2, "mdn": "6195559999"}"#).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown-device")),
        "{body}"
    );
    let (status, _) = trigger(&lab, r#"{"prl": 2}"#).await;
    assert_eq!(status, 400);
    let (status, _) = trigger(&lab, r#"{"prl": 2, "mdn": "1", "esn": "1A2B3C4D"}"#).await;
    assert_eq!(status, 400);
    let after = reload(&lab.db.store, lab.profile.id).await;
    assert_eq!(after.pending_prl_id, None);
    assert_eq!(after.version, lab.profile.version);
    assert!(lab.smsc.messages().is_empty());
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_pushes_to_many_and_reports_progress() {
    let lab = lab(60).await;
    let handset = Arc::new(Mutex::new(
        Handset::new({
            let mut c = HandsetConfig::new(DeviceId::Esn(ESN.parse().unwrap()));
            c.sspr_p_rev = 1;
            c
        })
        .unwrap(),
    ));
    let follower = handset_follows_pushes(&lab.smsc, MDN, handset.clone());
    let addr = lab.gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "subscribers": ["{MDN}", "6195559999", "xyz"]}}"#);
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/campaigns", &body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    // The campaign and its three targets are written; the malformed one is skipped at once,
    // the others wait for the campaign worker.
    assert_eq!(started["total"], 3, "{started}");
    assert_eq!(started["pending"], 2, "{started}");
    assert_eq!(started["state"], "pushing", "{started}");
    assert_eq!(started["skipped"][0]["cause"], "bad-identity", "{started}");
    let id = started["campaign_id"].as_i64().unwrap();

    tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .unwrap()
        .unwrap()
        .expect("the handset ran its session");
    let mut progress = serde_json::Value::Null;
    for _ in 0..100 {
        let path = format!("/api/v1/campaigns/{id}");
        let (status, p) = tokio::task::spawn_blocking(move || get(addr, &path))
            .await
            .unwrap();
        assert_eq!(status, 200, "{p}");
        progress = p;
        if progress["completed"] == 1 && progress["state"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(progress["completed"], 1, "{progress}");
    assert_eq!(progress["active"], 0, "{progress}");
    assert_eq!(progress["state"], "finished", "{progress}");
    assert_eq!(
        progress["targets"],
        serde_json::json!({"pending": 0, "queued": 1, "skipped": 2}),
        "{progress}"
    );
    let skipped: Vec<(&str, &str)> = progress["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["subscriber"].as_str().unwrap(),
                s["cause"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![("6195559999", "unknown-device"), ("xyz", "bad-identity")]
    );
    assert!(
        progress["pushes"]["delivered"].as_i64().unwrap_or(0) >= 1,
        "{progress}"
    );
    assert_eq!(reload(&lab.db.store, lab.profile.id).await.prl_id, Some(2));

    // By make/model: the (only) activated Acme X1 again.
    let body = r#"{"prl": 1, "make": "Acme", "model": "X1"}"#;
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/campaigns", body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["total"], 1, "{started}");
    let id = started["campaign_id"].as_i64().unwrap();
    let mut queued = serde_json::Value::Null;
    for _ in 0..100 {
        let path = format!("/api/v1/campaigns/{id}");
        let (_, p) = tokio::task::spawn_blocking(move || get(addr, &path))
            .await
            .unwrap();
        queued = p["targets"]["queued"].clone();
        if queued == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queued, 1);
    let (status, _) = tokio::task::spawn_blocking(move || get(addr, "/api/v1/campaigns/999"))
        .await
        .unwrap();
    assert_eq!(status, 404);
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_otapa_stop_goes_unanswered_still_updates_the_profile() {
    let (db, profiles) = common::db_with(60, &[common::activated(ESN, MDN, MDN)]).await;
    let mut c = common::loopback_config();
    c.iota.session_timeout = Duration::from_secs(1);
    let gateway = Gateway::start(&c, db.store.clone()).await.unwrap();
    common::authorize(&db.store, gateway.admin_addr).await;
    let addr = gateway.admin_addr;
    let (status, started) = tokio::task::spawn_blocking(move || {
        post(
            addr,
            "/api/v1/triggers/prl-push",
            &format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#),
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 202, "{started}");
    let session_id = started["session_id"].as_i64().unwrap();
    // Documents: OTAPA start, the SSPR Download segments, Commit, OTAPA stop. The handset takes
    // everything up to the Commit and its data call drops when the stop arrives.
    let prl_len = classic_prl(2, 60).len();
    let segments = prl_len.div_ceil(usize::from(c.iota.segment_size));
    let mut h = handset_with(Faults::default()).lock().await.clone();
    let outcome = otagw_sim::handset::run_session(
        started["callback_url"].as_str().unwrap(),
        &mut h,
        otagw_sim::handset::NetFaults {
            drop_after_documents: Some(3 + segments),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        matches!(outcome, SessionOutcome::Dropped { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        h.committed_prl(),
        Some(classic_prl(2, 60).as_slice()),
        "the handset committed before the stop"
    );
    // The deadline closes the session with the outcome the Commit settled.
    let mut result = (String::new(), None);
    for _ in 0..100 {
        result = session(&db.store, session_id).await;
        if result.0 != "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(result, ("completed".to_string(), None));
    let after = reload(&db.store, profiles[0].id).await;
    assert_eq!(
        (after.prl_id, after.pending_prl_id, after.otapa_callback_url),
        (Some(2), None, None)
    );
    gateway.stop().await;
}
