//! Load driver: a PRL campaign over many subscribers, created, part-pushed and cancelled, on a
//! throwaway PostgreSQL cluster (the embedded one, fsync off).
//!
//! ```sh
//! cargo bench --bench campaign_control -- --targets 50000 --pushed 1000
//! ```
//!
//! Prints the time to create the campaign (the campaign and every target in one transaction),
//! the rate at which the worker's function creates pushes (`work`, one transaction per target:
//! session, pending PRL, WAP push in the outbox), the time of one gauge refresh over the live
//! campaign, and the time to cancel it (skip the pending targets, drop the unsent pushes, end
//! the sessions not called back: one transaction).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;
use support::arg;

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use diesel_async::SimpleAsyncConnection;
use otagw::database::Database;
use otagw::flows::prl_campaign::{self, gauges, Target};
use otagw::flows::prl_push::PrlPushSettings;
use otagw::import;
use otagw::store::campaigns::CampaignAction;

fn main() {
    let targets = arg("--targets", 50_000);
    let pushed = arg("--pushed", 1000).min(targets);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let db = Database::open_throwaway(4).await.unwrap();
            let mut conn = db.store.conn().await.unwrap();
            import::prl::import(&mut conn, 1, &common::classic_prl(1, 3), None, "old", false)
                .await
                .unwrap();
            import::prl::import(
                &mut conn,
                2,
                &common::classic_prl(2, 20),
                None,
                "new",
                false,
            )
            .await
            .unwrap();
            conn.batch_execute(&format!(
                "INSERT INTO profiles (esn, min, mdn, make, model, capabilities, prl_id, \
                 activation_state) \
                 SELECT upper(lpad(to_hex(x'1A000000'::int + i), 8, '0')), \
                        (6190000000 + i)::text, (6190000000 + i)::text, 'Acme', 'X1', \
                        '{{\"iota\": true, \"sspr_p_rev\": 1}}', 1, 'activated' \
                 FROM generate_series(0, {}) AS i",
                targets - 1
            ))
            .await
            .unwrap();
            let mdns: Vec<String> = (0..targets)
                .map(|i| (6_190_000_000 + i).to_string())
                .collect();
            let settings = PrlPushSettings {
                iota_base_url: "http://127.0.0.1:8181".into(),
                callback_timeout: chrono::Duration::seconds(600),
                segment_size: 200,
                push_bearer: otagw::store::outbox::OutboxBearer::Smsc,
            };

            let t = Instant::now();
            let started = prl_campaign::create(&mut conn, 2, &Target::Subscribers(mdns))
                .await
                .unwrap();
            let create = t.elapsed();
            let id = started.campaign_id;

            let t = Instant::now();
            let done = prl_campaign::work(&mut conn, &settings, id, 2, pushed)
                .await
                .unwrap();
            let work = t.elapsed();
            assert_eq!(done.queued, pushed, "{done:?}");

            let g = gauges::CampaignGauges::new();
            let t = Instant::now();
            gauges::refresh(&mut conn, &g).await.unwrap();
            let refresh = t.elapsed();

            let t = Instant::now();
            let cancelled = prl_campaign::control(&mut conn, id, CampaignAction::Cancel)
                .await
                .unwrap();
            let cancel = t.elapsed();
            assert_eq!(cancelled.sessions_ended, pushed);

            println!("campaign of {targets} targets, {pushed} pushed before the cancel");
            println!("create:  {:.0} ms", create.as_secs_f64() * 1e3);
            println!(
                "pushes:  {:.0} created/s ({pushed} in {:.0} ms)",
                pushed as f64 / work.as_secs_f64(),
                work.as_secs_f64() * 1e3
            );
            println!("gauges:  {:.1} ms per refresh", refresh.as_secs_f64() * 1e3);
            println!(
                "cancel:  {:.0} ms ({} targets skipped, {} pushes dropped, {} sessions ended)",
                cancel.as_secs_f64() * 1e3,
                cancelled.targets_skipped,
                cancelled.pushes_dropped,
                cancelled.sessions_ended
            );
            drop(conn);
            db.shutdown().await.unwrap();
        });
}
