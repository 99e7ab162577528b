//! The SMPP sender and its durable outbox end to end: a real PostgreSQL (testkit), the gateway's
//! ESME binds over real TCP on 127.0.0.1 to the simulated SMSC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use otagw::smpp::{SmppConfig, SmppSender};
use otagw::store::outbox::{
    self, NewOutbox, OutboxBearer, OutboxDepth, OutboxState, ReceiptApplied, ReceiptOutcome,
};
use otagw::store::Store;
use otagw::testkit::TestDb;
use otagw_sim::smsc::{Smsc, SmscConfig, SmscHandle, SubmittedMessage};

const WAIT: Duration = Duration::from_secs(30);

fn settings(smsc: &SmscHandle) -> SmppConfig {
    SmppConfig {
        smsc: smsc.addr(),
        system_id: "otagw".into(),
        password: "secret".into(),
        system_type: "OTA".into(),
        binds: 1,
        window: 5,
        max_rate_per_sec: 1000,
        enquire_link: Duration::from_secs(1),
        max_attempts: 5,
        retry_backoff: Duration::from_millis(100),
        response_timeout: Duration::from_secs(2),
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(20),
        max_reconnect_backoff: Duration::from_millis(200),
        ..SmppConfig::default()
    }
}

async fn smsc() -> SmscHandle {
    Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            receipt_delay: Duration::from_millis(20),
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap()
}

fn destination(i: usize) -> String {
    format!("1212555{i:04}")
}

/// A WAP push segment: UDH (ports 2948/9200) + a stand-in WSP body.
fn push(i: usize) -> NewOutbox {
    let mut sm = vec![0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x01, 0x06];
    sm.extend_from_slice(format!("push {i}").as_bytes());
    let mut n = NewOutbox::wap_push(destination(i), sm);
    n.session_id = Some(i as i64);
    n
}

async fn enqueue(store: &Store, n: usize) -> Vec<i64> {
    let mut conn = store.conn().await.unwrap();
    let new: Vec<NewOutbox> = (0..n).map(push).collect();
    outbox::enqueue_all(&mut conn, &new).await.unwrap()
}

async fn depth(store: &Store) -> OutboxDepth {
    let mut conn = store.conn().await.unwrap();
    outbox::depth(&mut conn).await.unwrap()
}

async fn wait_depth(store: &Store, what: &str, ok: impl Fn(&OutboxDepth) -> bool) -> OutboxDepth {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let d = depth(store).await;
        if ok(&d) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every outbox row, by id.
async fn all_rows(store: &Store) -> Vec<outbox::OutboxRow> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use otagw::store::schema::outbox::dsl;
    let mut conn = store.conn().await.unwrap();
    dsl::outbox
        .order(dsl::id)
        .select(outbox::OutboxRow::as_select())
        .load(&mut conn)
        .await
        .unwrap()
}

/// An SMSC on a loopback port below the kernel's ephemeral port range, so that it can be
/// stopped and started again on the same address: while it is down no outgoing connection is
/// given its port (another test's, or one of the ESME's reconnection attempts, which would
/// then be connected to itself and hold the port).
async fn smsc_on_a_fixed_port(config: &SmscConfig) -> SmscHandle {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_low <= 11_000 {
        return Smsc::start("127.0.0.1:0".parse().unwrap(), config.clone())
            .await
            .unwrap();
    }
    let span = u32::from(ephemeral_low - 10_000);
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
    for i in 0..500 {
        let port = 10_000 + ((seed.wrapping_add(i * 7919)) % span) as u16;
        match Smsc::start(SocketAddr::from(([127, 0, 0, 1], port)), config.clone()).await {
            Ok(smsc) => return smsc,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => panic!("port {port}: {e}"),
        }
    }
    panic!("no free port in 10000..{ephemeral_low}");
}

async fn rows(store: &Store, ids: &[i64]) -> Vec<outbox::OutboxRow> {
    let mut conn = store.conn().await.unwrap();
    let mut out = Vec::new();
    for id in ids {
        out.push(outbox::get(&mut conn, *id).await.unwrap().unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_pushes_are_submitted_and_delivered() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    let mut s = settings(&smsc);
    s.binds = 2;
    let sender = SmppSender::start(db.store.clone(), s);
    assert!(sender.wait_bound(Duration::from_secs(5)).await);
    let ids = enqueue(&db.store, 50).await;
    wait_depth(&db.store, "50 delivered", |d| d.delivered == 50).await;
    sender.stop().await;

    let sent = smsc.messages();
    assert_eq!(sent.len(), 50, "each push submitted once");
    let by_id: HashMap<&str, _> = sent.iter().map(|m| (m.message_id.as_str(), m)).collect();
    for row in rows(&db.store, &ids).await {
        assert_eq!(row.state(), Some(OutboxState::Delivered));
        assert_eq!(row.attempts, 1);
        let m = by_id[row.message_id.as_deref().unwrap()];
        assert_eq!(
            m.destination, row.destination,
            "receipt correlated by message_id"
        );
        assert_eq!(m.short_message, row.payload);
        assert_eq!(m.esm_class, 0x40);
        assert_eq!(m.data_coding, 0x04);
        assert_eq!(m.service_type, "WAP");
        assert_eq!(m.registered_delivery & 0x03, 1);
    }
    assert_eq!(smsc.binds_accepted(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_smsc_slows_the_esme_and_everything_is_delivered() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    let sender = SmppSender::start(db.store.clone(), settings(&smsc));
    assert!(sender.wait_bound(Duration::from_secs(5)).await);
    smsc.throttle_next(8);
    let ids = enqueue(&db.store, 30).await;
    wait_depth(&db.store, "30 delivered", |d| d.delivered == 30).await;
    smsc.queue_full_next(5);
    let more: Vec<i64> = {
        let mut conn = db.store.conn().await.unwrap();
        let new: Vec<NewOutbox> = (30..40).map(push).collect();
        outbox::enqueue_all(&mut conn, &new).await.unwrap()
    };
    wait_depth(&db.store, "40 delivered", |d| d.delivered == 40).await;
    sender.stop().await;

    assert_eq!(smsc.submits_received(), 40 + 8 + 5);
    let sent = smsc.messages();
    assert_eq!(sent.len(), 40);
    let dests: HashSet<&str> = sent.iter().map(|m| m.destination.as_str()).collect();
    assert_eq!(dests.len(), 40, "nothing accepted twice");
    for row in rows(&db.store, &[ids, more].concat()).await {
        // Being asked to slow down is not the message's fault: the attempt is refunded.
        assert_eq!(row.attempts, 1, "row {}", row.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_bind_reconnects_and_nothing_is_lost() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    let s = settings(&smsc);
    let window = s.window;
    let sender = SmppSender::start(db.store.clone(), s);
    assert!(sender.wait_bound(Duration::from_secs(5)).await);
    // The 10th accepted submit_sm takes the bind down before its answer leaves.
    smsc.drop_binds_after(10);
    let ids = enqueue(&db.store, 40).await;
    wait_depth(&db.store, "40 delivered", |d| d.delivered == 40).await;
    sender.stop().await;

    assert!(smsc.binds_accepted() >= 2, "the ESME bound again");
    let sent = smsc.messages();
    // At most the requests in the window at the drop can have been accepted twice.
    assert!(
        sent.len() <= 40 + window,
        "{} submits for 40 messages",
        sent.len()
    );
    let dests: HashSet<&str> = sent.iter().map(|m| m.destination.as_str()).collect();
    assert_eq!(dests.len(), 40, "every message reached the SMSC");
    for row in rows(&db.store, &ids).await {
        assert_eq!(row.state(), Some(OutboxState::Delivered));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smsc_restart_mid_batch_loses_nothing_and_sends_again_only_what_was_in_flight() {
    const N: usize = 300;
    let db = TestDb::new().await.unwrap();
    let config = SmscConfig {
        receipt_delay: Duration::from_millis(20),
        ..SmscConfig::default()
    };
    // The first SMSC takes its time with receipts: those of its last messages die with it.
    let first = smsc_on_a_fixed_port(&SmscConfig {
        receipt_delay: Duration::from_millis(300),
        ..config.clone()
    })
    .await;
    let mut s = settings(&first);
    s.binds = 2;
    // 2 x 50 submit_sm/s: the batch takes about 3 s, so the stop after 50 lands mid-batch.
    s.max_rate_per_sec = 50;
    // Nothing is sent again for being slow on a loaded machine: only the stop loses answers.
    s.response_timeout = Duration::from_secs(10);
    s.lease = Duration::from_secs(30);
    s.enquire_link = Duration::from_secs(5);
    let (binds, window) = (s.binds, s.window);
    let sender = SmppSender::start(db.store.clone(), s);
    assert!(sender.wait_bound(WAIT).await);
    let ids = enqueue(&db.store, N).await;

    wait_depth(&db.store, "50 submitted", |d| {
        d.submitted + d.delivered >= 50
    })
    .await;
    // Before it dies the SMSC hangs: it takes what is sent but answers nothing, until every
    // bind's window is full of requests the gateway cannot know were accepted.
    first.set_withhold_responses(true);
    let deadline = tokio::time::Instant::now() + WAIT;
    while first.responses_withheld().len() < binds * window {
        assert!(tokio::time::Instant::now() < deadline, "the windows filled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.stop().await;
    let by_first = first.messages();
    let in_flight: HashSet<String> = {
        let withheld: HashSet<String> = first.responses_withheld().into_iter().collect();
        by_first
            .iter()
            .filter(|m| withheld.contains(&m.message_id))
            .map(|m| m.destination.clone())
            .collect()
    };
    assert_eq!(in_flight.len(), binds * window, "a full window per bind");
    assert!(
        by_first.len() >= 50 && by_first.len() < N,
        "the SMSC stopped mid-batch: {} accepted",
        by_first.len()
    );
    // The binds see the reset; while the SMSC is down they fail to reconnect.
    let deadline = tokio::time::Instant::now() + WAIT;
    while sender.binds.iter().any(|b| b.is_bound()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the binds saw the reset"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = Smsc::start(first.addr(), config)
        .await
        .expect("the restarted SMSC binds the same address");
    assert!(sender.wait_bound(WAIT).await, "the binds came back");

    // Settled: every row delivered, except those whose receipt died with the first SMSC.
    let first_ids: HashSet<&str> = by_first.iter().map(|m| m.message_id.as_str()).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let rows = all_rows(&db.store).await;
        let unsettled: Vec<_> = rows
            .iter()
            .filter(|r| match r.state() {
                Some(OutboxState::Delivered) => false,
                Some(OutboxState::Submitted) => {
                    !first_ids.contains(r.message_id.as_deref().unwrap_or_default())
                }
                _ => true,
            })
            .collect();
        assert!(
            !unsettled
                .iter()
                .any(|r| r.state() == Some(OutboxState::Failed)),
            "nothing fails: {unsettled:?}"
        );
        if unsettled.is_empty() {
            break rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} rows not settled: {:?}",
            unsettled.len(),
            &unsettled[..unsettled.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    sender.stop().await;
    let by_second = second.messages();
    assert!(second.binds_accepted() >= binds);
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), ids);

    // Nothing lost: every destination reached one SMSC or the other; neither took one twice.
    let count = |sent: &[SubmittedMessage]| {
        let mut n: HashMap<String, usize> = HashMap::new();
        for m in sent {
            *n.entry(m.destination.clone()).or_default() += 1;
        }
        n
    };
    let (at_first, at_second) = (count(&by_first), count(&by_second));
    for (d, n) in at_first.iter().chain(&at_second) {
        assert_eq!(*n, 1, "{d} accepted {n} times by one SMSC");
    }
    let reached: HashSet<&String> = at_first.keys().chain(at_second.keys()).collect();
    let destinations: HashSet<String> = (0..N).map(destination).collect();
    assert_eq!(
        reached,
        destinations.iter().collect(),
        "every push reached an SMSC"
    );

    // Each row carries the message_id one of the SMSCs gave its destination.
    let second_ids: HashSet<&str> = by_second.iter().map(|m| m.message_id.as_str()).collect();
    let by_id: HashMap<&str, &SubmittedMessage> = by_first
        .iter()
        .chain(&by_second)
        .map(|m| (m.message_id.as_str(), m))
        .collect();
    assert_eq!(by_id.len(), by_first.len() + by_second.len(), "ids unique");
    for row in &rows {
        let id = row.message_id.as_deref().unwrap();
        assert_eq!(by_id[id].destination, row.destination, "row {}", row.id);
        assert_eq!(by_id[id].short_message, row.payload, "row {}", row.id);
    }

    // Pushed twice: only rows whose submit_sm the first SMSC took but whose answer the reset
    // lost (in a bind's window at the stop), at most binds x window of them. Their first attempt
    // ended unanswered, their second went to the restarted SMSC, which delivered it.
    let twice: Vec<_> = rows
        .iter()
        .filter(|r| at_first.contains_key(&r.destination) && at_second.contains_key(&r.destination))
        .collect();
    assert!(
        twice.len() <= binds * window,
        "{} pushed twice, more than {binds} binds x window {window}",
        twice.len()
    );
    assert_eq!(
        twice
            .iter()
            .map(|r| r.destination.clone())
            .collect::<HashSet<_>>(),
        in_flight,
        "exactly the rows in flight at the stop were pushed twice"
    );
    for row in &twice {
        assert!(
            second_ids.contains(row.message_id.as_deref().unwrap()),
            "row {} was sent again although its first submit_sm_resp was recorded",
            row.id
        );
        assert_eq!(row.attempts, 2, "row {}", row.id);
        assert_eq!(row.state(), Some(OutboxState::Delivered), "row {}", row.id);
    }
    assert_eq!(by_first.len() + by_second.len(), N + twice.len());

    // What the first SMSC accepted was recorded, except the answers the reset lost; its
    // receipts were recorded, except those it had not sent (or not seen acknowledged) when it
    // died: those rows stay submitted, nothing says whether the handset got them.
    let recorded_first: Vec<_> = rows
        .iter()
        .filter(|r| first_ids.contains(r.message_id.as_deref().unwrap()))
        .collect();
    assert_eq!(recorded_first.len(), by_first.len() - twice.len());
    let receipt_lost = recorded_first
        .iter()
        .filter(|r| r.state() == Some(OutboxState::Submitted))
        .count();
    let delivered_by_first = recorded_first.len() - receipt_lost;
    assert!(
        delivered_by_first >= first.receipts_sent(),
        "{delivered_by_first} delivered through the first SMSC, {} receipts acknowledged",
        first.receipts_sent()
    );
    assert!(receipt_lost + twice.len() <= by_first.len() - first.receipts_sent());
    // Everything the restarted SMSC took was delivered.
    assert!(rows
        .iter()
        .filter(|r| second_ids.contains(r.message_id.as_deref().unwrap()))
        .all(|r| r.state() == Some(OutboxState::Delivered)));
    eprintln!(
        "first SMSC accepted {}, second {}; pushed twice {}, receipts lost {}",
        by_first.len(),
        by_second.len(),
        twice.len(),
        receipt_lost
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_receipts_leave_rows_submitted() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    smsc.set_lose_receipts(true);
    let sender = SmppSender::start(db.store.clone(), settings(&smsc));
    let ids = enqueue(&db.store, 5).await;
    wait_depth(&db.store, "5 submitted", |d| d.submitted == 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sender.stop().await;
    let d = depth(&db.store).await;
    assert_eq!((d.submitted, d.delivered), (5, 0));
    for row in rows(&db.store, &ids).await {
        assert!(row.message_id.is_some());
    }
    assert_eq!(smsc.messages().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_and_repeated_transient_errors_fail_with_a_cause() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    let mut s = settings(&smsc);
    s.max_attempts = 3;
    let sender = SmppSender::start(db.store.clone(), s);
    assert!(sender.wait_bound(Duration::from_secs(5)).await);

    // ESME_RINVDSTADR: permanent, fails at once.
    smsc.reject_next(1, 0x0B);
    let first = enqueue(&db.store, 1).await;
    wait_depth(&db.store, "1 failed", |d| d.failed == 1).await;
    let row = &rows(&db.store, &first).await[0];
    assert_eq!(row.attempts, 1);
    assert!(
        row.cause.as_deref().unwrap().contains("ESME_RINVDSTADR"),
        "{:?}",
        row.cause
    );

    // ESME_RSYSERR: transient, retried, failed after max_attempts.
    smsc.reject_next(100, 0x08);
    let second = {
        let mut conn = db.store.conn().await.unwrap();
        outbox::enqueue(&mut conn, &push(7)).await.unwrap().id
    };
    wait_depth(&db.store, "2 failed", |d| d.failed == 2).await;
    sender.stop().await;
    let row = &rows(&db.store, &[second]).await[0];
    assert_eq!(row.attempts, 3);
    let cause = row.cause.as_deref().unwrap();
    assert!(
        cause.contains("gave up after 3 attempts") && cause.contains("ESME_RSYSERR"),
        "{cause}"
    );
    assert_eq!(smsc.submits_received(), 1 + 3);
    assert!(smsc.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claimants_never_claim_the_same_row() {
    let db = TestDb::new().await.unwrap();
    let ids = enqueue(&db.store, 200).await;
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let store = Store::connect(&db.url, 2).unwrap();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut conn = store.conn().await.unwrap();
                let got =
                    outbox::claim_due(&mut conn, OutboxBearer::Smsc, 7, Duration::from_secs(60), 5)
                        .await
                        .unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|r| r.id));
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for t in tasks {
        let mine = t.await.unwrap();
        assert!(!mine.is_empty(), "both claimants got work");
        total += mine.len();
        seen.extend(mine);
    }
    assert_eq!(total, 200, "no row claimed twice");
    assert_eq!(seen, ids.into_iter().collect::<HashSet<_>>());
    assert_eq!(depth(&db.store).await.submitting, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_database_send_each_message_once() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    let a = SmppSender::start(db.store.clone(), settings(&smsc));
    let b = SmppSender::start(Store::connect(&db.url, 4).unwrap(), settings(&smsc));
    assert!(a.wait_bound(Duration::from_secs(5)).await);
    assert!(b.wait_bound(Duration::from_secs(5)).await);
    enqueue(&db.store, 60).await;
    wait_depth(&db.store, "60 delivered", |d| d.delivered == 60).await;
    a.stop().await;
    b.stop().await;
    let sent = smsc.messages();
    assert_eq!(sent.len(), 60);
    let dests: HashSet<&str> = sent.iter().map(|m| m.destination.as_str()).collect();
    assert_eq!(dests.len(), 60);
}

/// Two gateways on one database: gateway A's worker takes the receipt for a push gateway B
/// submitted. A's update finds no submitted row (B has not recorded the submit_sm_resp yet), B
/// records it, and only then does A look whether the receipt was a repeat. It is not: the row
/// is `submitted`, not delivered, so the receipt must be reported unknown (A holds it and
/// tries again) rather than taken for a repeat (its deliver_sm_resp would then say recorded,
/// the SMSC would not send it again and the row would stay `submitted` for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_races_the_record_of_its_submit_is_not_taken_for_a_repeat() {
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    let db = TestDb::new().await.unwrap();
    let id = enqueue(&db.store, 1).await[0];
    let mut b = db.store.conn().await.unwrap();
    let claimed = outbox::claim_due(&mut b, OutboxBearer::Smsc, 1, Duration::from_secs(60), 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // The interleaving, made certain: an update of the outbox that changes no row (A's receipt
    // finding no submitted row) waits at its end until this connection releases lock 4242.
    b.batch_execute(
        "CREATE FUNCTION pause_empty_update() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NOT EXISTS (SELECT 1 FROM changed) THEN
                 PERFORM pg_advisory_lock_shared(4242);
                 PERFORM pg_advisory_unlock_shared(4242);
             END IF;
             RETURN NULL;
         END $$;
         CREATE TRIGGER pause_empty_update AFTER UPDATE ON outbox
             REFERENCING NEW TABLE AS changed
             FOR EACH STATEMENT EXECUTE FUNCTION pause_empty_update();
         SELECT pg_advisory_lock(4242);",
    )
    .await
    .unwrap();
    let store = db.store.clone();
    let a = tokio::spawn(async move {
        let mut conn = store.conn().await.unwrap();
        outbox::apply_receipt(&mut conn, "M1", ReceiptOutcome::Delivered)
            .await
            .unwrap()
    });
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let paused: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM pg_stat_activity \
              WHERE datname = current_database() AND wait_event = 'advisory')",
        ))
        .get_result(&mut b)
        .await
        .unwrap();
        if paused == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the receipt's update paused"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // B records the submit_sm_resp; then A's receipt goes on.
    assert!(outbox::mark_submitted(&mut b, id, "M1").await.unwrap());
    b.batch_execute("SELECT pg_advisory_unlock(4242)")
        .await
        .unwrap();
    assert_eq!(a.await.unwrap(), ReceiptApplied::Unknown);
    let row = outbox::get(&mut b, id).await.unwrap().unwrap();
    assert_eq!(row.state(), Some(OutboxState::Submitted));

    // Held and tried again, it is recorded; after that it is a repeat.
    assert_eq!(
        outbox::apply_receipt(&mut b, "M1", ReceiptOutcome::Delivered)
            .await
            .unwrap(),
        ReceiptApplied::Recorded(id)
    );
    assert_eq!(
        outbox::apply_receipt(&mut b, "M1", ReceiptOutcome::Delivered)
            .await
            .unwrap(),
        ReceiptApplied::Repeated
    );
    let row = outbox::get(&mut b, id).await.unwrap().unwrap();
    assert_eq!(row.state(), Some(OutboxState::Delivered));
    assert_eq!(
        outbox::apply_receipt(&mut b, "M2", ReceiptOutcome::Failed("x"))
            .await
            .unwrap(),
        ReceiptApplied::Unknown
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_claimed_again_and_attempts_stay_bounded() {
    let db = TestDb::new().await.unwrap();
    let ids = enqueue(&db.store, 1).await;
    let mut conn = db.store.conn().await.unwrap();
    let lease = Duration::from_millis(50);
    // A claimant that dies: its lease runs out and the row comes back.
    let first = outbox::claim_due(&mut conn, OutboxBearer::Smsc, 10, lease, 2)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        outbox::claim_due(&mut conn, OutboxBearer::Smsc, 10, lease, 2)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = outbox::claim_due(&mut conn, OutboxBearer::Smsc, 10, lease, 2)
        .await
        .unwrap();
    assert_eq!((second.len(), second[0].attempts), (1, 2));
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Its attempts are used up: it fails with a cause instead of being claimed a third time.
    assert!(
        outbox::claim_due(&mut conn, OutboxBearer::Smsc, 10, lease, 2)
            .await
            .unwrap()
            .is_empty()
    );
    let row = outbox::get(&mut conn, ids[0]).await.unwrap().unwrap();
    assert_eq!(row.state(), Some(OutboxState::Failed));
    assert!(row.cause.unwrap().contains("after 2 attempts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_restart_of_the_gateway_picks_up_the_queue() {
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    // Rows wait while no gateway runs.
    enqueue(&db.store, 10).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(depth(&db.store).await.queued, 10);
    let sender = SmppSender::start(db.store.clone(), settings(&smsc));
    wait_depth(&db.store, "10 delivered", |d| d.delivered == 10).await;
    sender.stop().await;
    assert_eq!(smsc.messages().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_refused_at_enqueue() {
    let db = TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    let bad = NewOutbox::sms("12-34", "hi");
    assert!(outbox::enqueue(&mut conn, &bad).await.is_err());
    let long = NewOutbox::wap_push("1234", vec![0; 256]);
    assert!(outbox::enqueue(&mut conn, &long).await.is_err());
    assert_eq!(depth(&db.store).await.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_say_what_the_handsets_took() {
    use otagw_codecs::wap::push::{sms_segments, ConcatReference, PushContent, WapPush};
    use otagw_codecs::wap::wbxml::{ServiceLoading, SlAction};
    use otagw_sim::handset::push::{target_url, Delivery};

    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    smsc.set_unknown_subscribers_undeliverable(true);
    let mut reachable = smsc.attach(&destination(0));
    let _refusing = smsc.attach(&destination(1));
    let sender = SmppSender::start(db.store.clone(), settings(&smsc));
    assert!(sender.wait_bound(Duration::from_secs(5)).await);

    // A real two-segment Service Loading and a text to the attached handset; a stand-in push
    // it cannot decode; a push to an address nobody is attached at.
    let href = format!("http://127.0.0.1:8181/iota/otapa/{}", "q".repeat(150));
    let wsp = WapPush {
        tid: 1,
        content: PushContent::Sl(ServiceLoading {
            href: href.clone(),
            action: SlAction::ExecuteHigh,
        }),
    }
    .encode()
    .unwrap();
    let segments = sms_segments(&wsp, ConcatReference::Eight(0x21)).unwrap();
    assert_eq!(segments.len(), 2);
    let mut new: Vec<NewOutbox> = segments
        .into_iter()
        .map(|s| NewOutbox::wap_push(destination(0), s))
        .collect();
    new.push(NewOutbox::sms(destination(0), "Hello"));
    new.push(push(1));
    new.push(push(2));
    let ids = {
        let mut conn = db.store.conn().await.unwrap();
        outbox::enqueue_all(&mut conn, &new).await.unwrap()
    };
    wait_depth(&db.store, "3 delivered, 2 failed", |d| {
        d.delivered == 3 && d.failed == 2
    })
    .await;
    sender.stop().await;
    let rows = rows(&db.store, &ids).await;
    for row in &rows[..3] {
        assert_eq!(row.state(), Some(OutboxState::Delivered), "{row:?}");
    }
    for row in &rows[3..] {
        assert_eq!(row.state(), Some(OutboxState::Failed), "{row:?}");
        assert_eq!(row.cause.as_deref(), Some("delivery receipt UNDELIV"));
    }
    let mut got = Vec::new();
    while let Ok(d) = reachable.try_recv() {
        got.push(d);
    }
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.contains(&Delivery::Text("Hello".into())), "{got:?}");
    let urls: Vec<&str> = got
        .iter()
        .filter_map(|d| match d {
            Delivery::Push(p) => target_url(p),
            Delivery::Text(_) => None,
        })
        .collect();
    assert_eq!(urls, [href.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_for_messages_never_sent_are_held_up_to_a_bound_and_block_nothing() {
    use otagw::smpp::outbox_worker::MAX_HELD_RECEIPTS;
    let metrics = otagw::telemetry::init_metrics();
    let dropped = || {
        metrics
            .render()
            .lines()
            .find_map(|l| {
                l.strip_prefix("otagw_smpp_receipts_dropped_total{reason=\"hold-full\"} ")
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .unwrap_or(0)
    };
    let db = TestDb::new().await.unwrap();
    let smsc = smsc().await;
    let sender = SmppSender::start(db.store.clone(), settings(&smsc));
    assert!(sender.wait_bound(Duration::from_secs(5)).await);
    // Receipts for messages another application sent on the account: no row has their
    // message_id. The first MAX_HELD_RECEIPTS are held (for RECEIPT_HOLD, 30 s), the rest are
    // answered and dropped at once.
    const EXTRA: usize = 20;
    let strays: Vec<String> = (0..MAX_HELD_RECEIPTS + EXTRA)
        .map(|i| format!("stray-{i}"))
        .collect();
    smsc.send_stray_receipts("otagw", &strays);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while dropped() < EXTRA as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {EXTRA} dropped",
            dropped()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dropped(), EXTRA as u64, "only what did not fit the hold");
    // Meanwhile the bind sends and records pushes as usual.
    enqueue(&db.store, 10).await;
    wait_depth(&db.store, "10 delivered", |d| d.delivered == 10).await;
    sender.stop().await;
    assert_eq!(smsc.messages().len(), 10);
}
