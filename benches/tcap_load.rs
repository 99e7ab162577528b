//! Load driver: TCAP transactions per second through one M3UA association over TCP on
//! loopback, against the simulated STP and MSC.
//!
//! ```sh
//! cargo bench --bench tcap_load -- --transactions 20000 --concurrency 64
//! ```
//!
//! Each transaction is an SMDPP (QueryWithPermission, one Invoke) carrying an IS-683 Protocol
//! Capability Request to a handset in an OTASP call at the simulated MSC, answered by a Response
//! with the handset's Protocol Capability Response. Reported: transactions/s and p50/p99
//! latency, measured after a warm-up.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;
use support::arg;

use std::sync::Arc;
use std::time::{Duration, Instant};

use otagw::mniu::asp::{Asp, AspConfig, Linkset};
use otagw::mniu::is725::{Is725, MscRoute};
use otagw::mniu::tcap::{Endpoint, Tcap};
use otagw::mniu::transport::TransportKind;
use otagw::supervisor::Supervisor;
use otagw_codecs::ansi41::service_indicator;
use otagw_codecs::identity::{DeviceId, Esn, Min};
use otagw_codecs::is683::{ForwardMessage, ProtocolCapabilityRequest};
use otagw_codecs::m3ua::TrafficMode;
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::ss7::{Network, NetworkConfig};
use tokio::sync::Semaphore;

fn main() {
    let transactions = arg("--transactions", 20_000);
    let concurrency = arg("--concurrency", 64);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(transactions, concurrency));
}

async fn run(transactions: usize, concurrency: usize) {
    let net = Network::start(NetworkConfig::default()).await.unwrap();
    let cfg = net.config().clone();
    let (inbound_tx, inbound_rx) = tokio::sync::mpsc::channel(4096);
    let mut supervisor = Supervisor::new();
    let (asp, asp_task) = Asp::new(
        AspConfig {
            name: "bench".into(),
            transport: TransportKind::Tcp,
            peer: net.stp().addr(),
            routing_context: None,
            traffic_mode: TrafficMode::Loadshare,
            asp_identifier: None,
            heartbeat: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(1),
            trace: None,
        },
        inbound_tx,
    );
    supervisor.spawn(asp_task);
    let linkset = Linkset::new(vec![asp]);
    assert!(linkset.wait_active(Duration::from_secs(10)).await);
    let local = Endpoint {
        point_code: cfg.gateway_point_code.value(),
        ssn: cfg.gateway_ssn,
    };
    let (tcap, tcap_task) = Tcap::new(linkset, local, inbound_rx);
    supervisor.spawn(tcap_task);
    let hlr = Endpoint {
        point_code: cfg.hlr.point_code.value(),
        ssn: cfg.hlr.ssn,
    };
    let routes = vec![MscRoute {
        name: "msc".into(),
        point_code: cfg.msc.point_code,
        ssn: cfg.msc.ssn,
        trn_prefix: cfg.msc.trn_prefix.clone(),
        sms_address: None,
    }];
    let is725 = Arc::new(Is725::new(tcap, routes, hlr, Duration::from_secs(5)));
    let handset = Handset::new(HandsetConfig::new(DeviceId::Esn(Esn::new(0xD300_0001)))).unwrap();
    let trn = net.place_otasp_call(handset, "6195550000".parse::<Min>().unwrap());
    let attached = Arc::new(is725.attach_trn(&trn).await.unwrap());
    let request = ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None })
        .encode()
        .unwrap();

    let drive = |n: usize| {
        let is725 = is725.clone();
        let attached = attached.clone();
        let request = request.clone();
        async move {
            let semaphore = Arc::new(Semaphore::new(concurrency));
            let started = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..n {
                let (is725, attached, request) = (is725.clone(), attached.clone(), request.clone());
                let permit = semaphore.clone().acquire_owned().await.unwrap();
                tasks.spawn(async move {
                    let _permit = permit;
                    let t0 = Instant::now();
                    is725
                        .relay(&attached, service_indicator::CDMA_OTASP, request)
                        .await
                        .unwrap();
                    t0.elapsed()
                });
            }
            let mut latencies = Vec::with_capacity(n);
            while let Some(t) = tasks.join_next().await {
                latencies.push(t.unwrap());
            }
            (started.elapsed(), latencies)
        }
    };
    drive(transactions / 10).await; // warm-up
    let (wall, mut latencies) = drive(transactions).await;
    latencies.sort();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "{transactions} SMDPP transactions, concurrency {concurrency}, one M3UA association over TCP"
    );
    println!(
        "{:.0} transactions/s (wall {:.2} s), latency p50 {:.2} ms, p99 {:.2} ms",
        transactions as f64 / wall.as_secs_f64(),
        wall.as_secs_f64(),
        q(0.5),
        q(0.99)
    );
    supervisor.shutdown().await;
}
