//! Load driver: submit_sm per second from the gateway's SMPP sender (outbox -> ESME binds) into
//! the simulated SMSC on loopback, for windows of 1, 10 and 100 and 1 and 4 binds, side by side
//! with a non-durable ESME (node-smpp, tests/interop/load.js) against the same simulated SMSC.
//!
//! ```sh
//! npm ci --prefix tests/interop     # once, for the node-smpp column
//! cargo bench --bench smpp_load -- --messages 5000 [--binds 1,4]
//! ```
//!
//! For each window and number of binds: a fresh outbox on a throwaway PostgreSQL cluster (the
//! embedded one, fsync off) gets N WAP push rows at once; the sender with that window and no
//! rate limit to speak of sends them; the figure is N over the time from the sender's start
//! until every row is recorded `submitted` or `delivered` (each row: claimed under a lease,
//! submit_sm, submit_sm_resp, its message_id recorded). Then node-smpp sends the same N
//! segments with the same window and binds to a fresh simulated SMSC (time from its first
//! submit_sm to its last submit_sm_resp, nothing stored), and the ratio otagw / node-smpp is
//! printed. Without node or `tests/interop/node_modules` that column says why it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;
use support::arg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use otagw::database::Database;
use otagw::smpp::{SmppConfig, SmppSender};
use otagw::store::outbox::{self, NewOutbox};
use otagw_sim::smsc::{Smsc, SmscConfig, SmscHandle};

/// The short_message of every row: a WAP push UDH and the start of a WSP push.
const PAYLOAD: [u8; 11] = [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 1, 6, 1, 0xAE];

fn binds_list() -> Vec<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--binds")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|b| b.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1, 4])
}

fn main() {
    let messages = arg("--messages", 3000);
    let binds_list = binds_list();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let db = Database::open_throwaway(8).await.unwrap();
            let node = node_ready();
            if let Err(why) = &node {
                println!("node-smpp column skipped: {why}");
            }
            println!("{messages} WAP push rows per run");
            println!(
                "{:>5} {:>6} {:>14} {:>16} {:>6}",
                "binds", "window", "otagw sm/s", "node-smpp sm/s", "ratio"
            );
            for &binds in &binds_list {
                for window in [1usize, 10, 100] {
                    let rate = run(&db, messages, window, binds).await;
                    let peer = match &node {
                        Ok(()) => node_run(messages, window, binds).await,
                        Err(_) => Err("skipped".to_string()),
                    };
                    match peer {
                        Ok(peer) => println!(
                            "{binds:>5} {window:>6} {rate:>14.0} {peer:>16.0} {:>6.2}",
                            rate / peer
                        ),
                        Err(why) => {
                            println!("{binds:>5} {window:>6} {rate:>14.0} {:>16} {:>6}", "-", "-");
                            if why != "skipped" {
                                println!("      node-smpp: {why}");
                            }
                        }
                    }
                }
            }
            db.shutdown().await.unwrap();
        });
}

async fn smsc() -> SmscHandle {
    Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            receipt_delay: Duration::from_secs(3600),
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap()
}

async fn run(db: &Database, messages: usize, window: usize, binds: usize) -> f64 {
    {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = db.store.conn().await.unwrap();
        conn.batch_execute("DELETE FROM outbox").await.unwrap();
    }
    let smsc = smsc().await;
    let rows: Vec<NewOutbox> = (0..messages)
        .map(|i| NewOutbox::wap_push(format!("61955{:05}", i % 100_000), PAYLOAD.to_vec()))
        .collect();
    {
        let mut conn = db.store.conn().await.unwrap();
        for chunk in rows.chunks(1000) {
            outbox::enqueue_all(&mut conn, chunk).await.unwrap();
        }
    }
    let settings = SmppConfig {
        smsc: smsc.addr(),
        password: SmscConfig::default().password,
        binds,
        window,
        max_rate_per_sec: 1_000_000,
        poll_interval: Duration::from_millis(20),
        ..SmppConfig::default()
    };
    let started = Instant::now();
    let sender = SmppSender::start(db.store.clone(), settings);
    loop {
        let depth = {
            let mut conn = db.store.conn().await.unwrap();
            outbox::depth(&mut conn).await.unwrap()
        };
        if (depth.submitted + depth.delivered) as usize >= messages {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    sender.stop().await;
    assert_eq!(smsc.submits_received(), messages, "each row sent once");
    messages as f64 / elapsed.as_secs_f64()
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Whether node and node-smpp are there (else why not).
fn node_ready() -> Result<(), String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !node {
        return Err("node is not installed".into());
    }
    if !interop_dir()
        .join("node_modules/smpp/package.json")
        .is_file()
    {
        return Err("node-smpp is not installed (npm ci --prefix tests/interop)".into());
    }
    Ok(())
}

/// node-smpp's rate against a fresh simulated SMSC: same messages, window and binds.
async fn node_run(messages: usize, window: usize, binds: usize) -> Result<f64, String> {
    let smsc = smsc().await;
    let hex: String = PAYLOAD.iter().map(|b| format!("{b:02x}")).collect();
    let out = tokio::process::Command::new("node")
        .arg(interop_dir().join("load.js"))
        .args([
            smsc.addr().port().to_string(),
            messages.to_string(),
            window.to_string(),
            binds.to_string(),
            hex,
        ])
        .output()
        .await
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).map_err(|e| e.to_string())?;
    if smsc.submits_received() != messages {
        return Err(format!(
            "the SMSC got {} submit_sm, not {messages}",
            smsc.submits_received()
        ));
    }
    v["rate"]
        .as_f64()
        .ok_or_else(|| format!("no rate in {line}"))
}
