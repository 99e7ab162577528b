//! SMPP version negotiation: the ESME offers 5.0 and runs what the SMSC's sc_interface_version
//! says it speaks; an SMSC that refuses a 5.0 bind gets a 3.4 bind; bad credentials are not
//! mistaken for a version problem. And what only 5.0 has: the SMSC's congestion_state slows a
//! 5.0 bind down, and a 3.4 bind never gets it. Real TCP to the simulated SMSC, real outbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use otagw::smpp::{InterfaceVersion, SmppConfig, SmppSender, SMPP_3_4, SMPP_5_0};
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

fn settings(smsc: &SmscHandle, offer: u8) -> SmppConfig {
    SmppConfig {
        smsc: smsc.addr(),
        password: "secret".into(),
        interface_version: InterfaceVersion::try_from(offer).unwrap(),
        poll_interval: Duration::from_millis(20),
        retry_backoff: Duration::from_millis(100),
        max_reconnect_backoff: Duration::from_millis(100),
        ..SmppConfig::default()
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
    use otagw::config::Config;
    let load = |version: &str| {
        Config::load(
            None,
            [(
                "OTAGW_SMPP_INTERFACE_VERSION".to_string(),
                version.to_string(),
            )],
        )
    };
    let c = Config::default();
    assert_eq!(c.smpp.interface_version, SMPP_5_0);
    let c = load("3.4").unwrap();
    assert_eq!(c.smpp.interface_version, SMPP_3_4);
    let err = load("4.0").unwrap_err().to_string();
    assert!(err.contains("smpp.interface_version"), "{err}");
}

/// How long each congestion test phase counts the submit_sm reaching the SMSC.
const SAMPLE: Duration = Duration::from_secs(3);
/// Generous bound for a queue of rows to be delivered.
const WAIT: Duration = Duration::from_secs(60);

/// An SMSC speaking `interface_version` whose ESME binds as `system_id` (so each test has its
/// own `bind` label in the process's metrics).
async fn smsc_for(system_id: &str, interface_version: u8) -> SmscHandle {
    Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            system_id: system_id.into(),
            receipt_delay: Duration::from_millis(10),
            interface_version,
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap()
}

fn settings_for(smsc: &SmscHandle, system_id: &str, offer: u8) -> SmppConfig {
    SmppConfig {
        system_id: system_id.into(),
        window: 4,
        max_rate_per_sec: 1000,
        ..settings(smsc, offer)
    }
}

async fn enqueue_sms(db: &TestDb, n: usize, tag: &str) -> Vec<i64> {
    let mut conn = db.store.conn().await.unwrap();
    let rows: Vec<NewOutbox> = (0..n)
        .map(|i| NewOutbox::sms(format!("1212556{i:04}"), &format!("{tag} {i}")))
        .collect();
    outbox::enqueue_all(&mut conn, &rows).await.unwrap()
}

/// Enqueues `n` messages and counts the submit_sm the SMSC receives in the next [`SAMPLE`].
async fn submits_in_sample(db: &TestDb, smsc: &SmscHandle, n: usize, tag: &str) -> usize {
    let before = smsc.submits_received();
    enqueue_sms(db, n, tag).await;
    tokio::time::sleep(SAMPLE).await;
    smsc.submits_received() - before
}

async fn wait_delivered(db: &TestDb, n: usize) {
    wait_delivered_within(db, n, WAIT).await
}

async fn wait_delivered_within(db: &TestDb, n: usize, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut conn = db.store.conn().await.unwrap();
        let depth = outbox::depth(&mut conn).await.unwrap();
        if depth.delivered == n as i64 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} delivered: {depth:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of gauge `name` for bind `bind` in the process's /metrics text.
fn gauge(metrics: &str, name: &str, bind: &str) -> Option<f64> {
    let series = format!("{name}{{bind=\"{bind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_congested_5_0_smsc_slows_the_bind_down_until_it_recovers() {
    let metrics = otagw::telemetry::init_metrics();
    let smsc = smsc_for("congested", SMPP_5_0).await;
    let db = TestDb::new().await.unwrap();
    let sender = SmppSender::start(db.store.clone(), settings_for(&smsc, "congested", SMPP_5_0));
    assert!(sender.wait_bound(Duration::from_secs(10)).await, "bound");
    assert_eq!(sender.binds[0].interface_version(), Some(SMPP_5_0));
    let state = || {
        gauge(
            &metrics.render(),
            "otagw_smpp_congestion_state",
            "congested-0",
        )
    };

    // Not congested: the bind runs at its configured pace (1000/s, window 4).
    let free = submits_in_sample(&db, &smsc, 100, "free").await;
    wait_delivered(&db, 100).await;
    assert_eq!(state(), Some(0.0), "nothing reported yet");

    // Congested (100): half the window and rate, and a pause after each answer that grows to
    // a second, as after ESME_RTHROTTLED. About 10 submit_sm reach the SMSC in the sample
    // (one or two per pause: 20 ms, 40 ms, ... 1 s; at most the 4 of a full window before
    // the first answer); unpaced, all 100 would (in about 0.2 s on an idle machine).
    smsc.set_congestion_state(Some(100));
    let congested = submits_in_sample(&db, &smsc, 100, "congested").await;
    eprintln!("submit_sm in {SAMPLE:?}: {free} not congested, {congested} congested");
    assert!(smsc.congestion_states_sent() > 0);
    assert_eq!(
        state(),
        Some(100.0),
        "the gauge shows what the SMSC reports"
    );
    assert!(
        congested <= 40,
        "a congested SMSC got {congested} submit_sm in {SAMPLE:?} (not congested: {free})"
    );
    assert!(
        free > congested,
        "not congested {free}, congested {congested} submit_sm in {SAMPLE:?}"
    );

    // Idle again: back to the configured pace, everything goes. A bind left backing off would
    // send about two submit_sm a second (a halved window per 1 s pause): the 60 or more rows
    // left would take half a minute, not the 15 s allowed (under a second at full pace).
    smsc.set_congestion_state(Some(0));
    wait_delivered_within(&db, 200, Duration::from_secs(15)).await;
    assert_eq!(state(), Some(0.0));
    sender.stop().await;
    assert_eq!(smsc.messages().len(), 200, "nothing refused, nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_4_bind_never_gets_congestion_state() {
    let metrics = otagw::telemetry::init_metrics();
    // A 5.0 SMSC with a bind configured for 3.4, and a 3.4 SMSC with a bind offering 5.0.
    for (system_id, smsc_version, offer) in [
        ("offers34", SMPP_5_0, SMPP_3_4),
        ("smsc34", SMPP_3_4, SMPP_5_0),
    ] {
        let smsc = smsc_for(system_id, smsc_version).await;
        smsc.set_congestion_state(Some(100));
        let db = TestDb::new().await.unwrap();
        let sender = SmppSender::start(db.store.clone(), settings_for(&smsc, system_id, offer));
        assert!(sender.wait_bound(Duration::from_secs(10)).await, "bound");
        assert_eq!(sender.binds[0].interface_version(), Some(SMPP_3_4));
        enqueue_sms(&db, 20, system_id).await;
        wait_delivered(&db, 20).await;
        sender.stop().await;
        assert_eq!(
            smsc.submits_received(),
            20,
            "{system_id}: nothing held back"
        );
        assert_eq!(
            smsc.congestion_states_sent(),
            0,
            "{system_id}: a 3.4 bind got congestion_state"
        );
        let bind = format!("{system_id}-0");
        assert_eq!(
            gauge(&metrics.render(), "otagw_smpp_congestion_state", &bind),
            Some(0.0),
            "{system_id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn congestion_state_on_enquire_link_resp_is_read_and_the_bind_stays_up() {
    let metrics = otagw::telemetry::init_metrics();
    let smsc = smsc_for("linkcheck", SMPP_5_0).await;
    smsc.set_congestion_state(Some(95));
    let db = TestDb::new().await.unwrap();
    let mut s = settings_for(&smsc, "linkcheck", SMPP_5_0);
    s.enquire_link = Duration::from_secs(1);
    let sender = SmppSender::start(db.store.clone(), s);
    assert!(sender.wait_bound(Duration::from_secs(10)).await, "bound");
    // No traffic yet: only the enquire_link_resp carry it (rusmpp alone would take their TLVs
    // for the next PDU's header and drop the bind).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let state = gauge(
            &metrics.render(),
            "otagw_smpp_congestion_state",
            "linkcheck-0",
        );
        if smsc.congestion_states_sent() >= 3 && state == Some(95.0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} enquire_link_resp with congestion_state sent, gauge {state:?}",
            smsc.congestion_states_sent()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(smsc.binds_accepted(), 1, "the bind was never lost");
    assert!(sender.binds[0].is_bound());
    enqueue_sms(&db, 5, "after").await;
    wait_delivered(&db, 5).await;
    sender.stop().await;
    assert_eq!(smsc.binds_accepted(), 1);
}
