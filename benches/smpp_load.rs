//! Load driver: submit_sm per second from the gateway's SMPP sender (outbox -> ESME bind) into
//! the simulated SMSC on loopback, for windows of 1, 10 and 100.
//!
//! ```sh
//! cargo bench --bench smpp_load -- --messages 3000
//! ```
//!
//! For each window: a fresh outbox on a throwaway PostgreSQL cluster (the embedded one, fsync
//! off) gets N WAP push rows at once; one bind with that window and no rate limit to speak of
//! sends them; the figure is N over the time until every row is recorded `submitted` or
//! `delivered` (each row: claimed under a lease, submit_sm, submit_sm_resp, recorded).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;
use support::arg;

use std::time::{Duration, Instant};

use otagw::database::Database;
use otagw::smpp::{SmppConfig, SmppSender};
use otagw::store::outbox::{self, NewOutbox};
use otagw_sim::smsc::{Smsc, SmscConfig};

fn main() {
    let messages = arg("--messages", 3000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let db = Database::open_throwaway(8).await.unwrap();
            println!("{messages} WAP push rows per run, one bind");
            for window in [1usize, 10, 100] {
                let rate = run(&db, messages, window).await;
                println!("window {window:>3}: {rate:.0} submit_sm/s");
            }
            db.shutdown().await.unwrap();
        });
}

async fn run(db: &Database, messages: usize, window: usize) -> f64 {
    {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = db.store.conn().await.unwrap();
        conn.batch_execute("DELETE FROM outbox").await.unwrap();
    }
    let smsc = Smsc::start(
        "127.0.0.1:0".parse().unwrap(),
        SmscConfig {
            receipt_delay: Duration::from_secs(3600),
            ..SmscConfig::default()
        },
    )
    .await
    .unwrap();
    let rows: Vec<NewOutbox> = (0..messages)
        .map(|i| {
            NewOutbox::wap_push(
                format!("61955{:05}", i % 100_000),
                vec![0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 1, 6, 1, 0xAE],
            )
        })
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
    messages as f64 / elapsed.as_secs_f64()
}
