//! SMPP interoperability with an independent implementation: node-smpp 0.5.1 (npm `smpp`,
//! tests/interop/) as ESME against our simulated SMSC, and as SMSC against the gateway's ESME.
//! So our SMPP is not only consistent with itself.
//!
//! Needs `node` and `npm ci --prefix tests/interop`. Without them the tests skip, except under
//! CI (`CI=true`), where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use otagw::smpp::{SmppConfig, SmppSender};
use otagw::store::outbox::{self, NewOutbox, OutboxState};
use otagw::testkit::TestDb;
use otagw_codecs::wap::push::{sms_segments, ConcatReference, PushContent, WapPush};
use otagw_codecs::wap::wbxml::{ServiceLoading, SlAction};
use otagw_sim::smsc::{Smsc, SmscConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(20);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// True when node and node-smpp are available; otherwise skips (or fails under CI).
fn node_ready() -> bool {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let smpp = interop_dir()
        .join("node_modules/smpp/package.json")
        .is_file();
    if node && smpp {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "SMPP interop needs node and node-smpp (node: {node}, node_modules/smpp: {smpp}): \
         install nodejs/npm and run `npm ci --prefix tests/interop`"
    );
    eprintln!("skipping: node/npm smpp not installed (npm ci --prefix tests/interop)");
    false
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The segments of a real WAP push (Service Loading).
fn sl_segments(tid: u8, href: &str) -> Vec<Vec<u8>> {
    let wsp = WapPush {
        tid,
        content: PushContent::Sl(ServiceLoading {
            href: href.to_string(),
            action: SlAction::ExecuteHigh,
        }),
    }
    .encode()
    .unwrap();
    sms_segments(&wsp, ConcatReference::Eight(tid)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_esme_submits_to_our_smsc_and_gets_the_receipt() {
    if !node_ready() {
        return;
    }
    let smsc = Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            system_id: "otagw".into(),
            password: "secret".into(),
            receipt_delay: Duration::from_millis(20),
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap();
    let segment = sl_segments(1, "https://ota.example.com/prl/update.bin")
        .into_iter()
        .next()
        .unwrap();

    let child = Command::new("node")
        .arg(interop_dir().join("esme.js"))
        .arg(smsc.addr().port().to_string())
        .arg(hex(&segment))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("esme.js timed out")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "esme.js failed ({}): stdout {stdout} stderr {stderr}",
        out.status
    );
    let line = stdout.lines().last().expect("esme.js printed nothing");
    let report: Value = serde_json::from_str(line).unwrap();

    let sent = smsc.messages();
    assert_eq!(sent.len(), 1, "exactly one submit_sm accepted: {sent:?}");
    let m = &sent[0];
    assert_eq!(m.short_message, segment);
    assert_eq!(m.esm_class, 0x40);
    assert_eq!(m.data_coding, 0x04);
    assert_eq!(m.destination, "6195550101");
    assert_eq!(m.service_type, "WAP");
    assert_eq!(m.registered_delivery & 0x03, 1);
    assert_eq!(m.system_id, "otagw");

    assert_eq!(report["message_id"], m.message_id.as_str(), "{report}");
    assert_eq!(report["receipt_id"], m.message_id.as_str(), "{report}");
    assert_eq!(report["text_id"], m.message_id.as_str(), "{report}");
    assert_eq!(report["stat"], "DELIVRD", "{report}");
    assert_eq!(report["message_state"], 2, "{report}");

    // The receipt was acknowledged by node-smpp.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while smsc.receipts_sent() < 1 {
        assert!(tokio::time::Instant::now() < deadline, "receipt not acked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(smsc.receipts_sent(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_esme_submits_to_node_smsc_and_takes_its_receipts() {
    if !node_ready() {
        return;
    }
    let db = TestDb::new().await.unwrap();

    let mut child = Command::new("node")
        .arg(interop_dir().join("smsc.js"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("smsc.js did not print its port")
        .unwrap()
        .expect("smsc.js exited")
        .trim()
        .parse()
        .unwrap();

    // Three pushes: the first segment of each of three different SL documents.
    let new: Vec<NewOutbox> = (0..3u8)
        .map(|i| {
            let seg = sl_segments(10 + i, &format!("https://ota.example.com/p/{i}"))
                .into_iter()
                .next()
                .unwrap();
            NewOutbox::wap_push(format!("619555{:04}", 200 + u16::from(i)), seg)
        })
        .collect();
    let ids = {
        let mut conn = db.store.conn().await.unwrap();
        outbox::enqueue_all(&mut conn, &new).await.unwrap()
    };

    let sender = SmppSender::start(
        db.store.clone(),
        SmppConfig {
            smsc: format!("127.0.0.1:{port}").parse().unwrap(),
            system_id: "otagw".into(),
            password: "secret".into(),
            binds: 1,
            window: 5,
            enquire_link: Duration::from_secs(5),
            retry_backoff: Duration::from_millis(100),
            response_timeout: Duration::from_secs(2),
            lease: Duration::from_secs(10),
            poll_interval: Duration::from_millis(20),
            max_reconnect_backoff: Duration::from_millis(200),
            ..SmppConfig::default()
        },
    );
    assert!(
        sender.wait_bound(Duration::from_secs(5)).await,
        "no bind to node-smpp"
    );

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let d = {
            let mut conn = db.store.conn().await.unwrap();
            outbox::depth(&mut conn).await.unwrap()
        };
        if d.delivered == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for 3 delivered: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sender.stop().await;

    // node-smsc printed one line per submit_sm received.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
            .await
            .expect("smsc.js printed fewer than 3 submits")
            .unwrap()
            .expect("smsc.js exited");
        seen.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    child.kill().await.unwrap();

    let mut conn = db.store.conn().await.unwrap();
    for (id, n) in ids.iter().zip(&new) {
        let row = outbox::get(&mut conn, *id).await.unwrap().unwrap();
        assert_eq!(row.state(), Some(OutboxState::Delivered));
        assert_eq!(row.attempts, 1);
        let message_id = row.message_id.as_deref().unwrap();
        let s = seen
            .iter()
            .find(|s| s["message_id"] == message_id)
            .unwrap_or_else(|| panic!("node-smsc never issued {message_id}: {seen:?}"));
        assert_eq!(s["destination_addr"], n.destination.as_str());
        assert_eq!(unhex(s["short_message"].as_str().unwrap()), n.payload);
        assert_eq!(s["esm_class"], 0x40);
        assert_eq!(s["data_coding"], 4);
        assert_eq!(s["service_type"], "WAP");
        assert_eq!(s["registered_delivery"].as_u64().unwrap() & 0x03, 1);
    }
}
