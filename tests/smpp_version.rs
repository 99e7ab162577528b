//! SMPP version negotiation: the ESME offers 5.0 and runs what the SMSC's sc_interface_version
//! says it speaks; an SMSC that refuses a 5.0 bind gets a 3.4 bind; bad credentials are not
//! mistaken for a version problem. Real TCP to the simulated SMSC, real outbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use otagw::smpp::{SmppSender, SmppSettings, SMPP_3_4, SMPP_5_0};
use otagw::store::outbox::{self, NewOutbox, OutboxState};
use otagw::testkit::TestDb;
use otagw_sim::smsc::{Smsc, SmscConfig, SmscHandle};

async fn smsc(interface_version: u8, refuse_newer_versions: bool) -> SmscHandle {
    Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            receipt_delay: Duration::from_millis(10),
            interface_version,
            refuse_newer_versions,
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap()
}

fn settings(smsc: &SmscHandle, offer: u8) -> SmppSettings {
    SmppSettings {
        smsc: smsc.addr(),
        password: "secret".into(),
        interface_version: offer,
        poll_interval: Duration::from_millis(20),
        retry_backoff: Duration::from_millis(100),
        max_reconnect_backoff: Duration::from_millis(100),
        ..SmppSettings::default()
    }
}

/// Binds with `offer` to an SMSC speaking `sc` and returns the version the bind runs, after a
/// push went through it.
async fn negotiate(smsc: &SmscHandle, offer: u8) -> u8 {
    let db = TestDb::new().await.unwrap();
    let sender = SmppSender::start(db.store.clone(), settings(smsc, offer));
    assert!(sender.wait_bound(Duration::from_secs(10)).await, "bound");
    let version = sender.binds[0].interface_version().unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let row = outbox::enqueue(&mut conn, &NewOutbox::sms("12125550100", "hello"))
        .await
        .unwrap();
    let mut state = None;
    for _ in 0..200 {
        state = outbox::get(&mut conn, row.id)
            .await
            .unwrap()
            .unwrap()
            .state();
        if state == Some(OutboxState::Delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        state,
        Some(OutboxState::Delivered),
        "the bind carries traffic"
    );
    sender.stop().await;
    version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_0_smsc_gets_a_5_0_bind() {
    let smsc = smsc(SMPP_5_0, false).await;
    assert_eq!(negotiate(&smsc, SMPP_5_0).await, SMPP_5_0);
    assert_eq!(smsc.bind_versions(), vec![SMPP_5_0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_4_smsc_that_answers_3_4_runs_3_4() {
    let smsc = smsc(SMPP_3_4, false).await;
    assert_eq!(negotiate(&smsc, SMPP_5_0).await, SMPP_3_4);
    assert_eq!(smsc.bind_versions(), vec![SMPP_5_0], "one bind was enough");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_4_smsc_that_refuses_5_0_is_bound_again_with_3_4() {
    let smsc = smsc(SMPP_3_4, true).await;
    assert_eq!(negotiate(&smsc, SMPP_5_0).await, SMPP_3_4);
    assert_eq!(smsc.bind_versions(), vec![SMPP_5_0, SMPP_3_4]);
    assert_eq!(smsc.binds_accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_bind_5_0_is_offered_again() {
    let smsc = smsc(SMPP_3_4, true).await;
    let db = TestDb::new().await.unwrap();
    let sender = SmppSender::start(db.store.clone(), settings(&smsc, SMPP_5_0));
    assert!(sender.wait_bound(Duration::from_secs(10)).await);
    smsc.drop_binds();
    let mut rebound = false;
    for _ in 0..200 {
        if smsc.binds_accepted() == 2 && sender.binds[0].is_bound() {
            rebound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(rebound, "bound again: {:?}", smsc.bind_versions());
    assert_eq!(sender.binds[0].interface_version(), Some(SMPP_3_4));
    sender.stop().await;
    assert_eq!(
        smsc.bind_versions(),
        vec![SMPP_5_0, SMPP_3_4, SMPP_5_0, SMPP_3_4],
        "each reconnection tries 5.0 first, then 3.4 at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_3_4_stays_3_4() {
    let smsc = smsc(SMPP_5_0, false).await;
    assert_eq!(negotiate(&smsc, SMPP_3_4).await, SMPP_3_4);
    assert_eq!(smsc.bind_versions(), vec![SMPP_3_4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_not_a_version_problem() {
    let smsc = smsc(SMPP_3_4, true).await;
    let db = TestDb::new().await.unwrap();
    let mut s = settings(&smsc, SMPP_5_0);
    s.password = "wrong".into();
    let sender = SmppSender::start(db.store.clone(), s);
    assert!(!sender.wait_bound(Duration::from_millis(800)).await);
    sender.stop().await;
    let offered = smsc.bind_versions();
    assert!(offered.len() >= 2, "it kept trying: {offered:?}");
    assert!(
        offered.iter().all(|v| *v == SMPP_5_0),
        "a credentials refusal does not lower the version: {offered:?}"
    );
    assert_eq!(smsc.binds_accepted(), 0);
}

#[test]
fn the_config_takes_3_4_or_5_0_only() {
    let mut c = otagw::config::Config::default();
    assert_eq!(c.smpp_settings().unwrap().interface_version, SMPP_5_0);
    c.smpp.interface_version = "3.4".into();
    assert_eq!(c.smpp_settings().unwrap().interface_version, SMPP_3_4);
    c.smpp.interface_version = "4.0".into();
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("smpp.interface_version"), "{err}");
}
