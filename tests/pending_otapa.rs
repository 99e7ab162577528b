//! The pending-OTAPA cache keyed by MDN (patent, "Automated IOTA PRL Download"): once the push
//! of a PRL download is delivered, a handset that calls `GET /iota/otapa` without a token, with
//! its MDN in `X-MSISDN` (as the operator's WAP gateway adds it) and its identity header, gets
//! its pending OTAPA session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{activated, classic_prl, db_with, loopback_config, post};
use otagw::gateway::Gateway;
use otagw::store::profiles::{self, Lookup};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_codecs::identity::DeviceId;
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::handset::push::next_url;
use otagw_sim::handset::{run_session, NetFaults, SessionOutcome};
use otagw_sim::smsc::SmscHandle;

const ESN: &str = "1A2B3C4D";
const MDN: &str = "6195550144";

struct Lab {
    db: TestDb,
    gateway: Gateway,
    smsc: Option<SmscHandle>,
    profile_id: i64,
}

/// A gateway with an activated profile; with an SMSC when `smsc` (else pushes stay queued).
async fn lab(smsc: bool) -> Lab {
    let (db, profiles) = db_with(40, &[activated(ESN, MDN, MDN)]).await;
    let mut c = loopback_config();
    let (smsc, gateway) = if smsc {
        let smsc = common::simulated_smsc(&mut c).await;
        (
            Some(smsc),
            common::gateway_bound(&c, db.store.clone()).await,
        )
    } else {
        let gateway = Gateway::start(&c, db.store.clone()).await.unwrap();
        common::authorize(&db.store, gateway.admin_addr).await;
        (None, gateway)
    };
    Lab {
        db,
        gateway,
        smsc,
        profile_id: profiles[0].id,
    }
}

async fn push(lab: &Lab) -> i64 {
    let addr = lab.gateway.admin_addr;
    let body = format!(r#"{{"prl": 2, "mdn": "{MDN}"}}"#);
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/triggers/prl-push", &body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    started["session_id"].as_i64().unwrap()
}

/// Waits until every outbox row of `session` is delivered.
async fn delivered(store: &Store, session: i64) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use otagw::store::schema::outbox::dsl::*;
    for _ in 0..200 {
        let mut conn = store.conn().await.unwrap();
        let states: Vec<String> = outbox
            .filter(session_id.eq(session))
            .select(state)
            .load(&mut conn)
            .await
            .unwrap();
        if !states.is_empty() && states.iter().all(|s| s == "delivered") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the push of session {session} was not delivered");
}

fn handset(esn: &str) -> Handset {
    let mut cfg = HandsetConfig::new(DeviceId::Esn(esn.parse().unwrap()));
    cfg.sspr_p_rev = 1;
    Handset::new(cfg).unwrap()
}

fn by_mdn(mdn: &str) -> NetFaults {
    NetFaults {
        msisdn: Some(mdn.to_string()),
        ..NetFaults::default()
    }
}

fn generic_url(lab: &Lab) -> String {
    format!("http://{}/iota/otapa", lab.gateway.iota_addr)
}

fn refused_code(outcome: &SessionOutcome) -> Option<(u16, String)> {
    match outcome {
        SessionOutcome::Refused { status, code, .. } => Some((*status, code.clone())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_receipt_the_handset_finds_its_otapa_by_mdn() {
    let lab = lab(true).await;
    // The handset receives the push (the SMSC's receipt says delivered) but ignores its URL.
    let mut inbox = lab.smsc.as_ref().unwrap().attach(MDN);
    let session = push(&lab).await;
    assert!(next_url(&mut inbox, Duration::from_secs(10))
        .await
        .is_some());
    delivered(&lab.db.store, session).await;

    // Another MDN has nothing pending; the right MDN from another device is refused.
    let outcome = run_session(&generic_url(&lab), &mut handset(ESN), by_mdn("6195550999"))
        .await
        .unwrap();
    assert_eq!(
        refused_code(&outcome),
        Some((404, "unknown-session".into()))
    );
    let outcome = run_session(&generic_url(&lab), &mut handset("1A2B3C4E"), by_mdn(MDN))
        .await
        .unwrap();
    assert_eq!(refused_code(&outcome), Some((404, "unknown-device".into())));

    let mut h = handset(ESN);
    let outcome = run_session(&generic_url(&lab), &mut h, by_mdn(MDN))
        .await
        .unwrap();
    assert!(
        matches!(outcome, SessionOutcome::Terminated { .. }),
        "{outcome:?}"
    );
    assert_eq!(h.committed_prl(), Some(classic_prl(2, 40).as_slice()));
    let mut conn = lab.db.store.conn().await.unwrap();
    let p = profiles::find(&mut conn, &Lookup::Id(lab.profile_id))
        .await
        .unwrap();
    assert_eq!(p.prl_id, Some(2));
    drop(conn);
    // Done: nothing is pending any more.
    let outcome = run_session(&generic_url(&lab), &mut handset(ESN), by_mdn(MDN))
        .await
        .unwrap();
    assert_eq!(
        refused_code(&outcome),
        Some((404, "unknown-session".into()))
    );
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_push_is_not_pending_and_the_header_is_required() {
    // No SMSC: the push stays queued, so there is no receipt yet.
    let lab = lab(false).await;
    push(&lab).await;
    let outcome = run_session(&generic_url(&lab), &mut handset(ESN), by_mdn(MDN))
        .await
        .unwrap();
    assert_eq!(
        refused_code(&outcome),
        Some((404, "unknown-session".into()))
    );
    for bad in [None, Some("61955x0144"), Some("")] {
        let net = NetFaults {
            msisdn: bad.map(str::to_string),
            ..NetFaults::default()
        };
        let outcome = run_session(&generic_url(&lab), &mut handset(ESN), net)
            .await
            .unwrap();
        assert_eq!(
            refused_code(&outcome),
            Some((400, "bad-request".into())),
            "{bad:?}"
        );
    }
    lab.gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_session_is_not_replayed_to_another_device() {
    let lab = lab(true).await;
    let mut inbox = lab.smsc.as_ref().unwrap().attach(MDN);
    let session = push(&lab).await;
    assert!(next_url(&mut inbox, Duration::from_secs(10))
        .await
        .is_some());
    delivered(&lab.db.store, session).await;
    // The subscriber's handset takes the first document, then its data call drops.
    let net = NetFaults {
        drop_after_documents: Some(1),
        ..by_mdn(MDN)
    };
    let outcome = run_session(&generic_url(&lab), &mut handset(ESN), net)
        .await
        .unwrap();
    assert!(
        matches!(outcome, SessionOutcome::Dropped { .. }),
        "{outcome:?}"
    );
    // Another device naming the same MDN gets nothing of that session (no token, no document).
    let outcome = run_session(&generic_url(&lab), &mut handset("1A2B3C4E"), by_mdn(MDN))
        .await
        .unwrap();
    assert_eq!(refused_code(&outcome), Some((404, "unknown-device".into())));
    // The right handset asking again gets its first document again and finishes.
    let mut h = handset(ESN);
    let outcome = run_session(&generic_url(&lab), &mut h, by_mdn(MDN))
        .await
        .unwrap();
    assert!(
        matches!(outcome, SessionOutcome::Terminated { .. }),
        "{outcome:?}"
    );
    lab.gateway.stop().await;
}
