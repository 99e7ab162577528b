//! Load driver: M simulated handsets activated through one gateway, against the database's own
//! ceiling for the same committed writes.
//!
//! ```sh
//! cargo bench --bench activation_load -- --handsets 1000 --concurrency 50
//! ```
//!
//! 1. A throwaway PostgreSQL cluster (the embedded one, fsync off) gets the lab PRL and M
//!    profiles; one gateway starts on it; M handsets run the one-button flow, C at a time.
//!    Reported: activations/s, p50/p99 session time.
//! 2. On the same cluster, a raw diesel loop with the same concurrency commits, per
//!    "activation", the same number of transactions the gateway commits per activation (one per
//!    HTTP request: bootstrap, capability, NAM, each PRL segment, commit), each locking a
//!    session row with `SELECT ... FOR UPDATE` and updating its JSON state and version, as the
//!    IOTA server does. Reported: the activations/s that ceiling allows, and the ratio.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;
use support::arg;
#[path = "../src/cli/lab.rs"]
mod lab;

use std::sync::Arc;
use std::time::Instant;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use otagw::config::Config;
use otagw::database::Database;
use otagw::gateway::Gateway;
use otagw::store::models::ActivationState;
use otagw::store::schema::ota_sessions;
use tokio::sync::Semaphore;

fn main() {
    let handsets = arg("--handsets", 1000);
    let concurrency = arg("--concurrency", 50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(handsets, concurrency));
}

async fn run(handsets: usize, concurrency: usize) {
    let db = Database::open_throwaway(concurrency.clamp(4, 64))
        .await
        .unwrap();
    let mut config = Config::default();
    config.iota.listen = "127.0.0.1:0".parse().unwrap();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    let esns: Vec<_> = lab::load_profiles(&db.store, handsets, ActivationState::PendingActivation)
        .await
        .unwrap()
        .into_iter()
        .map(|(esn, _)| esn)
        .collect();
    let gateway = Gateway::start(&config, db.store.clone()).await.unwrap();
    let report = lab::activate_all(&gateway.bootstrap_url(), &esns, concurrency, &|_, _| {}).await;
    gateway.stop().await;
    assert_eq!(report.succeeded, handsets, "failures: {:?}", report.failed);

    // Transactions the gateway committed per activation: one per HTTP request.
    let segments = lab::LAB_PRL
        .len()
        .div_ceil(usize::from(config.iota.segment_size));
    let per_activation = 1 + 1 + 1 + segments + 1;

    // The ceiling: the same transactions, nothing else.
    let mut conn = db.store.conn().await.unwrap();
    let state: serde_json::Value = ota_sessions::table
        .select(ota_sessions::state)
        .first(&mut conn)
        .await
        .unwrap();
    let ids: Vec<i64> = ota_sessions::table
        .select(ota_sessions::id)
        .load(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.into_iter().take(handsets) {
        let store = db.store.clone();
        let state = state.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            let mut conn = store.conn().await.unwrap();
            for _ in 0..per_activation {
                let state = state.clone();
                conn.transaction::<_, diesel::result::Error, _>(async move |c| {
                    let version: i64 = ota_sessions::table
                        .find(id)
                        .select(ota_sessions::version)
                        .for_update()
                        .first(c)
                        .await?;
                    diesel::update(ota_sessions::table.find(id))
                        .set((
                            ota_sessions::state.eq(&state),
                            ota_sessions::version.eq(version + 1),
                            ota_sessions::updated_at.eq(chrono::Utc::now()),
                        ))
                        .execute(c)
                        .await?;
                    Ok(())
                })
                .await
                .unwrap();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let ceiling_wall = started.elapsed();
    let ceiling = handsets as f64 / ceiling_wall.as_secs_f64();

    println!("handsets {handsets}, concurrency {concurrency}, {per_activation} committed transactions per activation");
    println!(
        "gateway:  {:.1} activations/s (wall {:.2} s), session p50 {:.1} ms, p99 {:.1} ms",
        report.rate(),
        report.wall.as_secs_f64(),
        report.quantile(0.5).as_secs_f64() * 1e3,
        report.quantile(0.99).as_secs_f64() * 1e3
    );
    println!(
        "database ceiling: {:.1} activations/s ({:.0} transactions/s, wall {:.2} s)",
        ceiling,
        ceiling * per_activation as f64,
        ceiling_wall.as_secs_f64()
    );
    println!("ratio gateway/ceiling: {:.2}", report.rate() / ceiling);
    db.shutdown().await.unwrap();
}
