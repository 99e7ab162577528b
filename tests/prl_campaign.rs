//! PRL campaigns against a real PostgreSQL: the campaign and its targets written at once, a
//! campaign interrupted part-way finished by a fresh gateway, a worker dying with a target in
//! hand, several workers on one database, skipped subscribers with their causes, pacing on the
//! outbox, and progress through the admin API and the per-campaign gauges.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::{classic_prl, get, get_text, post};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use otagw::config::Config;
use otagw::flows::prl_campaign::{self, CampaignError, Target, Worked};
use otagw::flows::prl_push::PrlPushSettings;
use otagw::gateway::Gateway;
use otagw::import;
use otagw::store::campaigns::{self, CampaignAction, CampaignState};
use otagw::store::models::NewProfile;
use otagw::store::profiles;
use otagw::store::schema::{ota_sessions, outbox, prl_campaign_targets, prl_campaigns};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_codecs::identity::DeviceId;
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::handset::{run_session, NetFaults, SessionOutcome};

const PRL: i32 = 2;

fn mdn(i: usize) -> String {
    format!("61955{:05}", i)
}

fn esn(i: usize) -> String {
    format!("{:08X}", 0x1A00_0000 + i)
}

fn new_profile(i: usize, state: &str, with_mdn: bool) -> NewProfile {
    NewProfile {
        esn: Some(esn(i)),
        meid: None,
        pesn: None,
        min: Some(mdn(i)),
        mdn: with_mdn.then(|| mdn(i)),
        imsi_m: None,
        imsi_t: None,
        make: "Acme".into(),
        model: if i % 2 == 0 { "X1" } else { "X2" }.into(),
        firmware_version: "1.0".into(),
        capabilities: serde_json::json!({"iota": true, "sspr_p_rev": 1}),
        nam: serde_json::json!({}),
        prl_id: Some(1),
        sspr_table_number: None,
        spc: None,
        spasm_key: None,
        activation_state: state.into(),
    }
}

/// A database with PRLs 1 and 2 and `n` activated profiles (MDNs `mdn(0..n)`); returns the
/// profile ids in order.
async fn db_with(n: usize) -> (TestDb, Vec<i64>) {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    import::prl::import(&mut conn, 1, &classic_prl(1, 3), None, "old", false)
        .await
        .unwrap();
    import::prl::import(&mut conn, 2, &classic_prl(2, 20), None, "new", false)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let p = profiles::insert(&mut conn, &new_profile(i, "activated", true))
            .await
            .unwrap();
        ids.push(p.id);
    }
    drop(conn);
    (db, ids)
}

fn settings() -> PrlPushSettings {
    PrlPushSettings {
        iota_base_url: "http://127.0.0.1:8181".into(),
        callback_timeout: chrono::Duration::seconds(600),
        segment_size: 200,
        push_bearer: otagw::store::outbox::OutboxBearer::Smsc,
    }
}

fn mdns(n: usize) -> Vec<String> {
    (0..n).map(mdn).collect()
}

async fn gateway(store: &Store, max_queued: u64) -> Gateway {
    let mut c = Config::default();
    c.iota.listen = "127.0.0.1:0".parse().unwrap();
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.prl_campaign.refresh_interval = Duration::from_millis(100);
    c.prl_campaign.max_queued = max_queued;
    let gateway = Gateway::start(&c, store.clone()).await.unwrap();
    common::authorize(store, gateway.admin_addr).await;
    gateway
}

/// (profile id, session id) of every session of the campaign.
async fn sessions_of(conn: &mut AsyncPgConnection, campaign: i64) -> Vec<(i64, i64)> {
    ota_sessions::table
        .filter(ota_sessions::campaign_id.eq(campaign))
        .select((ota_sessions::profile_id, ota_sessions::id))
        .order(ota_sessions::id)
        .load(conn)
        .await
        .unwrap()
}

/// Asserts that each of `profiles` has exactly one session of the campaign, that no other
/// profile has one, that every queued target names one of those sessions (each a different
/// one) and that every session has its push in the outbox.
async fn exactly_one_push_each(conn: &mut AsyncPgConnection, campaign: i64, profiles: &[i64]) {
    let sessions = sessions_of(conn, campaign).await;
    let mut per_profile: BTreeMap<i64, usize> = BTreeMap::new();
    for (profile, _) in &sessions {
        *per_profile.entry(*profile).or_default() += 1;
    }
    let expected: BTreeMap<i64, usize> = profiles.iter().map(|p| (*p, 1)).collect();
    assert_eq!(per_profile, expected, "sessions per profile");
    let targets: Vec<Option<i64>> = prl_campaign_targets::table
        .filter(prl_campaign_targets::campaign_id.eq(campaign))
        .filter(prl_campaign_targets::state.eq("queued"))
        .select(prl_campaign_targets::session_id)
        .load(conn)
        .await
        .unwrap();
    let named: HashSet<i64> = targets.iter().map(|s| s.unwrap()).collect();
    assert_eq!(named.len(), targets.len(), "two targets share a session");
    let all: HashSet<i64> = sessions.iter().map(|(_, s)| *s).collect();
    assert_eq!(named, all, "queued targets and sessions differ");
    let pushed: HashSet<Option<i64>> = outbox::table
        .filter(outbox::campaign_id.eq(campaign))
        .select(outbox::session_id)
        .distinct()
        .load(conn)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        pushed,
        all.iter().map(|s| Some(*s)).collect::<HashSet<_>>(),
        "sessions without a push, or pushes without a session"
    );
}

async fn count_campaigns(conn: &mut AsyncPgConnection) -> i64 {
    prl_campaigns::table.count().get_result(conn).await.unwrap()
}

/// Polls the progress endpoint until `done` holds (10 s at most); returns the last answer.
async fn wait_progress(
    addr: std::net::SocketAddr,
    id: i64,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let path = format!("/api/v1/campaigns/{id}");
        let (status, p) = tokio::task::spawn_blocking(move || get(addr, &path))
            .await
            .unwrap();
        assert_eq!(status, 200, "{p}");
        if done(&p) {
            return p;
        }
        last = p;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("campaign {id} did not get there: {last}");
}

/// Creates a campaign pushing PRL [`PRL`] to `subscribers` through the admin API; its id.
async fn start_campaign(addr: std::net::SocketAddr, subscribers: Vec<String>) -> i64 {
    let body = serde_json::json!({"prl": PRL, "subscribers": subscribers}).to_string();
    let (status, started) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/campaigns", &body))
            .await
            .unwrap();
    assert_eq!(status, 202, "{started}");
    started["campaign_id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_campaign_writes_every_target_at_once_and_bad_input_nothing() {
    let (db, _) = db_with(30).await;
    let mut conn = db.store.conn().await.unwrap();
    let mut list = mdns(30);
    list.push("xyz".into());
    list.push(mdn(0));
    let started = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(list.clone()))
        .await
        .unwrap();
    assert_eq!(started.total, 32);
    assert_eq!(started.pending, 30);
    assert_eq!(started.state, CampaignState::Pushing);
    let skipped: Vec<(&str, &str)> = started
        .skipped
        .iter()
        .map(|s| (s.subscriber.as_str(), s.cause.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![("xyz", "bad-identity"), (mdn(0).as_str(), "duplicate")]
    );
    // Every target is a row, in list order, as given; nothing is pushed yet.
    let rows: Vec<(i32, String, String)> = prl_campaign_targets::table
        .filter(prl_campaign_targets::campaign_id.eq(started.campaign_id))
        .order(prl_campaign_targets::position)
        .select((
            prl_campaign_targets::position,
            prl_campaign_targets::subscriber,
            prl_campaign_targets::state,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 32);
    for (i, (position, subscriber, state)) in rows.iter().enumerate() {
        assert_eq!(*position as usize, i);
        assert_eq!(subscriber, &list[i]);
        let expected = if i < 30 { "pending" } else { "skipped" };
        assert_eq!(state, expected, "target {i}");
    }
    assert!(sessions_of(&mut conn, started.campaign_id).await.is_empty());
    let progress = prl_campaign::progress(&mut conn, started.campaign_id)
        .await
        .unwrap();
    assert_eq!(progress.targets.pending, 30);
    assert_eq!(progress.state, CampaignState::Pushing);
    assert_eq!(progress.target, serde_json::json!({"subscribers": 32}));

    // Refused: nothing written.
    let before = count_campaigns(&mut conn).await;
    let err = prl_campaign::create(&mut conn, 99, &Target::Subscribers(mdns(3)))
        .await
        .unwrap_err();
    assert!(matches!(err, CampaignError::UnknownPrl(99)), "{err}");
    let err = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, CampaignError::Empty), "{err}");
    let nobody = Target::MakeModel {
        make: "Acme".into(),
        model: "Z9".into(),
    };
    let err = prl_campaign::create(&mut conn, PRL, &nobody)
        .await
        .unwrap_err();
    assert!(matches!(err, CampaignError::Empty), "{err}");
    assert_eq!(count_campaigns(&mut conn).await, before);
    let err = prl_campaign::progress(&mut conn, 12345).await.unwrap_err();
    assert!(
        matches!(err, CampaignError::UnknownCampaign(12345)),
        "{err}"
    );

    // Every target malformed: finished from the start.
    let started = prl_campaign::create(
        &mut conn,
        PRL,
        &Target::Subscribers(vec!["xyz".into(), "".into()]),
    )
    .await
    .unwrap();
    assert_eq!(started.state, CampaignState::Finished);
    assert_eq!(started.pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_subscribers_report_their_cause() {
    let (db, ids) = db_with(1).await;
    let mut conn = db.store.conn().await.unwrap();
    profiles::insert(&mut conn, &new_profile(1, "pending_activation", true))
        .await
        .unwrap();
    profiles::insert(&mut conn, &new_profile(2, "activated", false))
        .await
        .unwrap();
    let list = vec![
        mdn(0),              // pushed
        mdn(1),              // not activated
        esn(2),              // activated, no MDN
        "6195599999".into(), // nobody
        "xyz".into(),        // malformed
        esn(0),              // the first subscriber again, by its ESN
    ];
    let started = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(list))
        .await
        .unwrap();
    let id = started.campaign_id;
    let worked = prl_campaign::work_campaign(&mut conn, &settings(), id, PRL, 0)
        .await
        .unwrap();
    assert!(worked.ran_out);
    assert_eq!((worked.queued, worked.skipped), (1, 4));
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    let skipped: Vec<(String, String)> = progress
        .skipped
        .iter()
        .map(|s| (s.subscriber.clone(), s.cause.clone()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (mdn(1), "not-activated".to_string()),
            (esn(2), "no-mdn".to_string()),
            ("6195599999".to_string(), "unknown-device".to_string()),
            ("xyz".to_string(), "bad-identity".to_string()),
            (esn(0), "duplicate".to_string()),
        ]
    );
    assert_eq!(
        progress.skipped_by_cause,
        [
            ("bad-identity", 1),
            ("duplicate", 1),
            ("no-mdn", 1),
            ("not-activated", 1),
            ("unknown-device", 1)
        ]
        .into_iter()
        .map(|(c, n)| (c.to_string(), n))
        .collect::<BTreeMap<_, _>>()
    );
    assert_eq!(progress.targets.queued, 1);
    assert_eq!(progress.targets.pending, 0);
    assert_eq!(progress.active, 1);
    // Every target worked on, a session still waiting for its handset.
    assert_eq!(progress.state, CampaignState::Waiting);
    exactly_one_push_each(&mut conn, id, &ids).await;
    // The skipped profiles were left alone.
    let p1 = profiles::find(&mut conn, &profiles::Lookup::parse(&mdn(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(p1.pending_prl_id, None);

    // The session ends: the campaign is finished.
    diesel::update(ota_sessions::table.filter(ota_sessions::campaign_id.eq(id)))
        .set((
            ota_sessions::status.eq("failed"),
            ota_sessions::cause.eq("timeout"),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let advanced = campaigns::advance_states(&mut conn).await.unwrap();
    assert_eq!(advanced.finished, vec![id]);
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!(progress.state, CampaignState::Finished);
    assert!(progress.finished_at.is_some());
    assert_eq!(progress.failed.get("timeout"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_campaign_is_finished_by_fresh_gateways() {
    const N: usize = 40;
    const DONE_BEFORE: usize = 15;
    let (db, ids) = db_with(N).await;
    let mut conn = db.store.conn().await.unwrap();
    let started = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(mdns(N)))
        .await
        .unwrap();
    let id = started.campaign_id;
    // The gateway that created it worked on 15 targets and died.
    let worked = prl_campaign::work(&mut conn, &settings(), id, PRL, DONE_BEFORE)
        .await
        .unwrap();
    assert_eq!(worked.queued, DONE_BEFORE);
    let before = sessions_of(&mut conn, id).await;
    assert_eq!(before.len(), DONE_BEFORE);

    // Two fresh instances start on the same database and resume it.
    let (a, b) = tokio::join!(gateway(&db.store, 0), gateway(&db.store, 0));
    let progress = wait_progress(a.admin_addr, id, |p| {
        p["targets"]["pending"] == 0 && p["state"] == "waiting"
    })
    .await;
    assert_eq!(
        progress["targets"],
        serde_json::json!({"pending": 0, "queued": N, "skipped": 0}),
        "{progress}"
    );
    assert_eq!(progress["active"], N, "{progress}");
    exactly_one_push_each(&mut conn, id, &ids).await;
    // The pushes made before the interruption are the ones kept.
    let after = sessions_of(&mut conn, id).await;
    assert_eq!(&after[..DONE_BEFORE], &before[..]);
    // Every profile waits for its new PRL.
    for p in &ids {
        let profile = profiles::find(&mut conn, &profiles::Lookup::Id(*p))
            .await
            .unwrap();
        assert_eq!(profile.pending_prl_id, Some(PRL));
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_held_by_a_worker_that_dies_is_neither_lost_nor_pushed_twice() {
    let (db, ids) = db_with(5).await;
    let mut conn = db.store.conn().await.unwrap();
    let started = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(mdns(5)))
        .await
        .unwrap();
    let id = started.campaign_id;

    // A worker claims target 0 and creates its push, then dies before committing.
    let (claimed_tx, claimed_rx) = tokio::sync::oneshot::channel();
    let (die_tx, die_rx) = tokio::sync::oneshot::channel::<()>();
    let store = db.store.clone();
    let doomed = tokio::spawn(async move {
        let mut conn = store.conn().await.unwrap();
        let result = conn
            .transaction::<(), CampaignError, _>(async move |conn| {
                let target = campaigns::claim_pending(conn, id).await?.unwrap();
                assert_eq!(target.position, 0);
                otagw::flows::prl_push::start_in(
                    conn,
                    &settings(),
                    PRL,
                    &profiles::Lookup::parse(&target.subscriber).unwrap(),
                    Some(id),
                )
                .await
                .unwrap();
                claimed_tx.send(()).unwrap();
                let _ = die_rx.await;
                Err(CampaignError::Empty) // the process died: the transaction is rolled back
            })
            .await;
        assert!(result.is_err());
    });
    claimed_rx.await.unwrap();

    // Meanwhile another worker works through the campaign: it cannot take target 0 and does
    // not call the campaign done while target 0 is pending.
    let worked = prl_campaign::work_campaign(&mut conn, &settings(), id, PRL, 0)
        .await
        .unwrap();
    assert_eq!(worked.queued, 4);
    assert!(worked.ran_out);
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!(progress.targets.pending, 1);
    assert_eq!(progress.state, CampaignState::Pushing);

    die_tx.send(()).unwrap();
    doomed.await.unwrap();
    // Nothing of the dead worker's push remains; target 0 is worked on again.
    assert_eq!(sessions_of(&mut conn, id).await.len(), 4);
    let worked = prl_campaign::work_campaign(&mut conn, &settings(), id, PRL, 0)
        .await
        .unwrap();
    assert_eq!(worked.queued, 1);
    exactly_one_push_each(&mut conn, id, &ids).await;
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!(progress.state, CampaignState::Waiting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_sharing_a_database_never_push_a_target_twice() {
    const N: usize = 150;
    const WORKERS: usize = 4;
    let (db, ids) = db_with(N).await;
    let store = Store::connect(&db.url, WORKERS + 1).unwrap();
    let mut conn = store.conn().await.unwrap();
    let started = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(mdns(N)))
        .await
        .unwrap();
    let id = started.campaign_id;
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = store.conn().await.unwrap();
            let mut positions = Vec::new();
            while let Some(w) = prl_campaign::work_one(&mut conn, &settings(), id, PRL)
                .await
                .unwrap()
            {
                match w {
                    Worked::Queued { position, .. } => positions.push(position),
                    Worked::Skipped { cause, .. } => panic!("skipped: {cause}"),
                }
            }
            positions
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..N as i32).collect::<Vec<_>>(), "each target once");
    exactly_one_push_each(&mut conn, id, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_created_at_most_max_queued_ahead_of_the_sender() {
    const N: usize = 10;
    const MAX_QUEUED: u64 = 3;
    let (db, ids) = db_with(N).await;
    let gw = gateway(&db.store, MAX_QUEUED).await;
    let addr = gw.admin_addr;
    let id = start_campaign(addr, mdns(N)).await;
    let mut conn = db.store.conn().await.unwrap();
    let mut sent = 0;
    while sent < N {
        let queued = (sent + MAX_QUEUED as usize).min(N);
        wait_progress(addr, id, |p| p["targets"]["queued"] == queued).await;
        // It stays there while the outbox does not drain.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
        assert_eq!(progress.targets.queued as usize, queued);
        assert_eq!(progress.targets.pending as usize, N - queued);
        // The SMPP sender hands them to the SMSC.
        sent += diesel::sql_query(
            "UPDATE outbox SET state = 'submitted', message_id = id::text \
             WHERE campaign_id = $1 AND state = 'queued'",
        )
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    exactly_one_push_each(&mut conn, id, &ids).await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_gauges_follow_the_campaign_and_drop_it_when_finished() {
    let (db, ids) = db_with(3).await;
    let gw = gateway(&db.store, 1000).await;
    let addr = gw.admin_addr;
    let mut list = mdns(3);
    list.push("6195599999".into());
    let id = start_campaign(addr, list).await;
    let progress = wait_progress(addr, id, |p| p["state"] == "waiting").await;
    assert_eq!(
        progress["targets"],
        serde_json::json!({"pending": 0, "queued": 3, "skipped": 1}),
        "{progress}"
    );
    assert_eq!(progress["active"], 3, "{progress}");
    assert_eq!(progress["skipped_by_cause"]["unknown-device"], 1);

    let metrics = |addr| async move {
        tokio::task::spawn_blocking(move || get_text(addr, "/metrics"))
            .await
            .unwrap()
            .1
    };
    let campaign = format!("campaign=\"{id}\"");
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics(addr).await;
        if text.contains(&format!(
            "otagw_prl_campaign_sessions{{{campaign},state=\"active\"}} 3"
        )) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for line in [
        format!("otagw_prl_campaign_targets{{{campaign},state=\"queued\"}} 3"),
        format!("otagw_prl_campaign_targets{{{campaign},state=\"pending\"}} 0"),
        format!("otagw_prl_campaign_targets{{{campaign},state=\"skipped\"}} 1"),
        format!("otagw_prl_campaign_sessions{{{campaign},state=\"active\"}} 3"),
        format!(
            "otagw_prl_campaign_causes{{{campaign},kind=\"skipped\",cause=\"unknown-device\"}} 1"
        ),
        "otagw_prl_campaigns{state=\"waiting\"} 1".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    assert!(text.contains("otagw_prl_campaign_pushes_total"), "{text}");

    let (status, list) = tokio::task::spawn_blocking(move || get(addr, "/api/v1/campaigns"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let listed = &list["campaigns"][0];
    assert_eq!(listed["campaign_id"], id, "{list}");
    assert_eq!(listed["state"], "waiting", "{list}");
    assert_eq!(listed["sessions"]["active"], 3, "{list}");

    // Two handsets load the PRL, one never calls back.
    let mut conn = db.store.conn().await.unwrap();
    for (i, p) in ids.iter().enumerate() {
        let (status, cause) = if i < 2 {
            ("completed", None)
        } else {
            ("failed", Some("timeout"))
        };
        diesel::update(
            ota_sessions::table
                .filter(ota_sessions::campaign_id.eq(id))
                .filter(ota_sessions::profile_id.eq(p)),
        )
        .set((
            ota_sessions::status.eq(status),
            ota_sessions::cause.eq(cause),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let progress = wait_progress(addr, id, |p| p["state"] == "finished").await;
    assert_eq!(progress["completed"], 2, "{progress}");
    assert_eq!(progress["failed"], serde_json::json!({"timeout": 1}));
    // The finished campaign's series are gone.
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics(addr).await;
        if !text.contains(&campaign) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!text.contains(&campaign), "{text}");
    assert!(
        text.lines()
            .any(|l| l == "otagw_prl_campaigns{state=\"finished\"} 1"),
        "{text}"
    );
    gw.stop().await;
}

/// `POST /api/v1/campaigns/{id}/{action}`: (status, body).
async fn control(addr: std::net::SocketAddr, id: i64, action: &str) -> (u16, serde_json::Value) {
    let path = format!("/api/v1/campaigns/{id}/{action}");
    tokio::task::spawn_blocking(move || post(addr, &path, ""))
        .await
        .unwrap()
}

/// Hands every queued outbox row of the campaign to the "SMSC" (as the SMPP sender would);
/// returns how many.
async fn send_queued(conn: &mut AsyncPgConnection, campaign: i64) -> usize {
    diesel::sql_query(
        "UPDATE outbox SET state = 'submitted', message_id = id::text \
         WHERE campaign_id = $1 AND state = 'queued'",
    )
    .bind::<diesel::sql_types::BigInt, _>(campaign)
    .execute(conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_campaign_creates_no_push_until_resumed() {
    const N: usize = 10;
    const MAX_QUEUED: u64 = 3;
    let (db, ids) = db_with(N).await;
    let gw = gateway(&db.store, MAX_QUEUED).await;
    let addr = gw.admin_addr;
    let id = start_campaign(addr, mdns(N)).await;
    wait_progress(addr, id, |p| p["targets"]["queued"] == 3).await;

    let (status, paused) = control(addr, id, "pause").await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["was"], "pushing", "{paused}");
    assert_eq!(paused["state"], "paused", "{paused}");
    // Pausing again changes nothing and is not an error.
    let (status, again) = control(addr, id, "pause").await;
    assert_eq!((status, &again["was"]), (200, &"paused".into()), "{again}");

    // The outbox drains, which would let a pushing campaign queue 3 more: a paused one does not.
    let mut conn = db.store.conn().await.unwrap();
    assert_eq!(send_queued(&mut conn, id).await, 3);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!(progress.state, CampaignState::Paused);
    assert_eq!(progress.targets.queued, 3);
    assert_eq!(progress.targets.pending, 7);

    // Resumed, it goes on where it stopped and pushes to everyone once.
    let (status, resumed) = control(addr, id, "resume").await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["state"], "pushing", "{resumed}");
    let mut sent = 3;
    while sent < N {
        let queued = (sent + MAX_QUEUED as usize).min(N);
        wait_progress(addr, id, |p| p["targets"]["queued"] == queued).await;
        sent += send_queued(&mut conn, id).await;
    }
    wait_progress(addr, id, |p| p["state"] == "waiting").await;
    exactly_one_push_each(&mut conn, id, &ids).await;

    // A campaign with nothing left to push cannot be paused or resumed; the API says why.
    for action in ["pause", "resume"] {
        let (status, refused) = control(addr, id, action).await;
        assert_eq!(status, 409, "{refused}");
        assert_eq!(refused["error"], "not-allowed", "{refused}");
        assert!(
            refused["detail"].as_str().unwrap().contains("is waiting"),
            "{refused}"
        );
    }
    let (status, unknown) = control(addr, id + 100, "pause").await;
    assert_eq!(
        (status, &unknown["error"]),
        (404, &"unknown-campaign".into())
    );
    let (status, unknown) = control(addr, id, "stop").await;
    assert_eq!((status, &unknown["error"]), (404, &"unknown-action".into()));
    let (status, bad) =
        tokio::task::spawn_blocking(move || post(addr, "/api/v1/campaigns/x/pause", ""))
            .await
            .unwrap();
    assert_eq!(
        (status, &bad["error"]),
        (400, &"bad-request".into()),
        "{bad}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_ends_what_has_not_reached_a_handset_and_nothing_else() {
    use otagw::store::schema::{audit_records, profiles as profiles_table};
    const N: usize = 10;
    const MAX_QUEUED: u64 = 4;
    let (db, ids) = db_with(N).await;
    let gw = gateway(&db.store, MAX_QUEUED).await;
    let addr = gw.admin_addr;
    let id = start_campaign(addr, mdns(N)).await;
    wait_progress(addr, id, |p| p["targets"]["queued"] == 4).await;
    // Paused first, so that the outbox rows moved below make no room for more pushes.
    let (status, paused) = control(addr, id, "pause").await;
    assert_eq!(status, 200, "{paused}");
    let mut conn = db.store.conn().await.unwrap();
    let sessions = sessions_of(&mut conn, id).await;
    assert_eq!(sessions.len(), 4);
    // Where the four pushes stand when the operator cancels: the first two were handed to the
    // SMSC, and the first handset has called back and started its download; the third is held
    // by a sender (whose lease has run out: it died, or will retry); the fourth is still queued.
    let (started_profile, started_session) = sessions[0];
    let (_, sent_session) = sessions[1];
    let (_, held_session) = sessions[2];
    let (_, queued_session) = sessions[3];
    diesel::sql_query(
        "UPDATE outbox SET state = 'submitted', message_id = id::text \
         WHERE session_id = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(vec![
        started_session,
        sent_session,
    ])
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "UPDATE outbox SET state = 'submitting', attempts = 1, \
         lease_until = now() - interval '1 second' WHERE session_id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(held_session)
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "UPDATE ota_sessions SET started_at = now(), \
         state = jsonb_set(state, '{link,seq}', '1') WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(started_session)
    .execute(&mut conn)
    .await
    .unwrap();
    let rows_of = |session: i64| {
        outbox::table
            .filter(outbox::session_id.eq(session))
            .select(outbox::id)
    };
    let unsent: Vec<i64> = rows_of(queued_session).load(&mut conn).await.unwrap();
    let held: Vec<i64> = rows_of(held_session).load(&mut conn).await.unwrap();
    assert!(!unsent.is_empty() && !held.is_empty());

    let (status, cancelled) = control(addr, id, "cancel").await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["was"], "paused", "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["targets_skipped"], 6, "{cancelled}");
    assert_eq!(cancelled["pushes_dropped"], unsent.len(), "{cancelled}");
    assert_eq!(cancelled["sessions_ended"], 3, "{cancelled}");

    // The rows a sender held are left to it; when it (or another sender, its lease run out)
    // comes back for them, their session has ended and they fail instead of going out.
    let states = |ids: Vec<i64>| {
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .select((outbox::state, outbox::cause))
    };
    let before: Vec<(String, Option<String>)> = states(held.clone()).load(&mut conn).await.unwrap();
    assert!(before.iter().all(|(s, _)| s == "submitting"), "{before:?}");
    let claimed = otagw::store::outbox::claim_due(
        &mut conn,
        otagw::store::outbox::OutboxBearer::Smsc,
        100,
        Duration::from_secs(30),
        5,
    )
    .await
    .unwrap();
    assert!(claimed.is_empty(), "{claimed:?}");
    let after: Vec<(String, Option<String>)> = states(held.clone()).load(&mut conn).await.unwrap();
    assert!(
        after
            .iter()
            .all(|(s, c)| s == "failed" && c.as_deref() == Some("session-ended")),
        "{after:?}"
    );
    let dropped: Vec<(String, Option<String>)> =
        states(unsent.clone()).load(&mut conn).await.unwrap();
    assert!(
        dropped
            .iter()
            .all(|(s, c)| s == "failed" && c.as_deref() == Some("cancelled")),
        "{dropped:?}"
    );

    // The rows say the same: targets, outbox, sessions, profiles, audit records.
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!(progress.state, CampaignState::Cancelled);
    assert!(progress.finished_at.is_some());
    assert_eq!(progress.targets.pending, 0);
    assert_eq!(progress.targets.queued, 4);
    assert_eq!(progress.skipped_by_cause.get("cancelled"), Some(&6));
    assert_eq!(progress.failed.get("cancelled"), Some(&3));
    assert_eq!(progress.active, 1, "the started download runs on");
    assert_eq!(
        progress.pushes.get("failed").copied(),
        Some((unsent.len() + held.len()) as i64)
    );
    let still_active: Vec<i64> = ota_sessions::table
        .filter(ota_sessions::campaign_id.eq(id))
        .filter(ota_sessions::status.eq("active"))
        .select(ota_sessions::id)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(still_active, vec![started_session]);
    let pending: Vec<(i64, Option<i32>)> = profiles_table::table
        .filter(profiles_table::pending_prl_id.is_not_null())
        .select((profiles_table::id, profiles_table::pending_prl_id))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, vec![(started_profile, Some(PRL))]);
    let audited: i64 = audit_records::table
        .filter(audit_records::cause.eq("cancelled"))
        .filter(audit_records::flow.eq("prl-push"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(audited, 3);

    // A handset following a push the cancel ended is told its session ended, and why.
    let (cancelled_profile, cancelled_session) = sessions[3];
    let token: String = ota_sessions::table
        .find(cancelled_session)
        .select(ota_sessions::token)
        .first(&mut conn)
        .await
        .unwrap();
    let i = ids.iter().position(|p| *p == cancelled_profile).unwrap();
    let mut handset = Handset::new({
        let mut cfg = HandsetConfig::new(DeviceId::Esn(esn(i).parse().unwrap()));
        cfg.sspr_p_rev = 1;
        cfg
    })
    .unwrap();
    let url = format!("http://{}/iota/otapa/{token}", gw.iota_addr);
    let outcome = run_session(&url, &mut handset, NetFaults::default())
        .await
        .unwrap();
    match outcome {
        SessionOutcome::Refused {
            status,
            code,
            reason,
            ..
        } => {
            assert_eq!((status, code.as_str()), (410, "session-ended"));
            assert!(reason.contains("cancelled"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    // The worker creates nothing more, and a cancelled campaign stays cancelled.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sessions_of(&mut conn, id).await.len(), 4);
    let (status, again) = control(addr, id, "cancel").await;
    assert_eq!(
        (status, &again["sessions_ended"]),
        (200, &0.into()),
        "{again}"
    );
    let (status, refused) = control(addr, id, "resume").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["detail"],
        format!("PRL campaign {id} is cancelled: it cannot be resumed")
    );
    // Its series leave the exposition; the campaign is counted as cancelled.
    let mut text = String::new();
    for _ in 0..100 {
        text = tokio::task::spawn_blocking(move || get_text(addr, "/metrics"))
            .await
            .unwrap()
            .1;
        if !text.contains(&format!("campaign=\"{id}\"")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!text.contains(&format!("campaign=\"{id}\"")), "{text}");
    assert!(
        text.lines()
            .any(|l| l == "otagw_prl_campaigns{state=\"cancelled\"} 1"),
        "{text}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_already_going_through_a_campaign_stops_at_a_pause() {
    // A worker takes the campaigns still pushing at the start of its round, then creates their
    // pushes one transaction at a time: each of those transactions checks the campaign is still
    // pushing, so a pause (or cancel) takes effect between two pushes of a round.
    let (db, _ids) = db_with(3).await;
    let mut conn = db.store.conn().await.unwrap();
    let started = prl_campaign::create(&mut conn, PRL, &Target::Subscribers(mdns(3)))
        .await
        .unwrap();
    let id = started.campaign_id;
    let first = prl_campaign::work_one(&mut conn, &settings(), id, PRL)
        .await
        .unwrap();
    assert!(
        matches!(first, Some(Worked::Queued { position: 0, .. })),
        "{first:?}"
    );
    let paused = prl_campaign::control(&mut conn, id, CampaignAction::Pause)
        .await
        .unwrap();
    assert_eq!(paused.state, CampaignState::Paused);
    let next = prl_campaign::work_one(&mut conn, &settings(), id, PRL)
        .await
        .unwrap();
    assert_eq!(next, None);
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!((progress.targets.queued, progress.targets.pending), (1, 2));
    prl_campaign::control(&mut conn, id, CampaignAction::Resume)
        .await
        .unwrap();
    let done = prl_campaign::work(&mut conn, &settings(), id, PRL, 10)
        .await
        .unwrap();
    assert_eq!((done.queued, done.ran_out), (2, true));
    // Paused after its last push, a campaign has nothing left to pause: it moves on to waiting.
    prl_campaign::control(&mut conn, id, CampaignAction::Pause)
        .await
        .unwrap();
    campaigns::advance_states(&mut conn).await.unwrap();
    let progress = prl_campaign::progress(&mut conn, id).await.unwrap();
    assert_eq!(progress.state, CampaignState::Waiting);
    // Bad requests change nothing.
    let err = prl_campaign::control(&mut conn, id, CampaignAction::Resume)
        .await
        .unwrap_err();
    assert!(matches!(err, CampaignError::NotAllowed { .. }), "{err}");
    let err = prl_campaign::control(&mut conn, id + 1, CampaignAction::Cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, CampaignError::UnknownCampaign(_)), "{err}");
    assert_eq!(
        prl_campaign::progress(&mut conn, id).await.unwrap().state,
        CampaignState::Waiting
    );
}
