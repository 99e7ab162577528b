//! Helpers the end-to-end tests share: JSON over HTTP to the admin API, PRLs to load, a
//! handset that follows the WAP push the simulated SMSC delivers to it, and the lab (the
//! gateway, simulated network elements and a database wired together: the same file
//! `otagw demo` and the load drivers use).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../src/cli/lab.rs"]
pub mod lab;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use otagw_codecs::prl::classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};
use otagw_sim::handset::push::next_url;
use otagw_sim::handset::{run_session, Handset, NetFaults, SessionOutcome};
use otagw_sim::smsc::SmscHandle;
use tokio::sync::Mutex;

/// The API key each admin server's requests carry (see [`authorize`]).
static API_KEYS: std::sync::Mutex<Vec<(SocketAddr, String)>> = std::sync::Mutex::new(Vec::new());

/// Makes an account with the operator roles and an API key for it in `store`, through the
/// store, and has every later request of [`http_json`] to `addr` carry that key.
pub async fn authorize(store: &otagw::store::Store, addr: SocketAddr) -> String {
    use otagw::access::Role;
    use otagw::store::accounts;
    let mut conn = store.conn().await.unwrap();
    let name = format!("test-{}", addr.port());
    if accounts::by_name(&mut conn, &name).await.unwrap().is_none() {
        let roles = [Role::Admin, Role::OtapAdmin, Role::CustomerCare, Role::Noc];
        accounts::create(&mut conn, &name, &roles, None, "tests")
            .await
            .unwrap();
    }
    let (key, _) = accounts::create_key(&mut conn, &name, &[], "tests", None)
        .await
        .unwrap();
    let mut keys = API_KEYS.lock().unwrap();
    keys.retain(|(a, _)| *a != addr);
    keys.push((addr, key.key.clone()));
    key.key
}

fn key_for(addr: SocketAddr) -> Option<String> {
    API_KEYS
        .lock()
        .unwrap()
        .iter()
        .find(|(a, _)| *a == addr)
        .map(|(_, k)| k.clone())
}

/// Sends one HTTP/1.1 request and returns the status and the JSON body (null if none). A
/// request to an address [`authorize`]d carries its API key.
pub fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let auth = key_for(addr)
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    http_raw(
        addr,
        method,
        path,
        &format!("{auth}Content-Type: application/json\r\n"),
        body,
    )
}

/// Sends one HTTP/1.1 request with these extra header lines (each ending in CRLF) and returns
/// the status and the JSON body (null if none).
pub fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let json = out
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    (status, json)
}

/// GET, the body as text (for `/metrics`).
pub fn get_text(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, body.to_string())
}

/// POST with a JSON body.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    http_json(addr, "POST", path, body)
}

/// GET.
pub fn get(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    http_json(addr, "GET", path, "")
}

/// A classic PRL with PR_LIST_ID `id`: one PCS acquisition record and `systems` preferred
/// systems (the more systems, the more SSPR Download segments).
pub fn classic_prl(id: u16, systems: u16) -> Vec<u8> {
    ClassicPrl {
        pr_list_id: id,
        pref_only: false,
        def_roam_ind: 1,
        acq_records: vec![AcqRecord::PcsCdmaBlocks { blocks: vec![7] }],
        sys_records: (0..systems)
            .map(|i| SysRecord {
                sid: 100 + i,
                nid: Nid::Wildcard,
                pref_neg: PrefNeg::Preferred {
                    pri: i == 0,
                    roam_ind: 1,
                },
                geo: i > 0,
                acq_index: 0,
            })
            .collect(),
    }
    .encode()
    .unwrap()
}

/// The handset of `mdn`, attached at the SMSC now (before anything is triggered): the first
/// push that reaches it within 30 s sends it to the push's URL, where it runs an IOTA session.
/// `None` when no push came or the session failed.
pub fn handset_follows_pushes(
    smsc: &SmscHandle,
    mdn: &str,
    handset: Arc<Mutex<Handset>>,
) -> tokio::task::JoinHandle<Option<SessionOutcome>> {
    let mut deliveries = smsc.attach(mdn);
    tokio::spawn(async move {
        let url = next_url(&mut deliveries, Duration::from_secs(30)).await?;
        let mut h = handset.lock().await;
        run_session(&url, &mut h, NetFaults::default()).await.ok()
    })
}

/// An activated, IOTA-capable profile of a classic-PRL handset (SSPR_P_REV 1) using PRL 1.
pub fn activated(esn: &str, min: &str, mdn: &str) -> otagw::store::models::NewProfile {
    otagw::store::models::NewProfile {
        esn: Some(esn.into()),
        meid: None,
        pesn: None,
        min: Some(min.into()),
        mdn: Some(mdn.into()),
        imsi_m: None,
        imsi_t: None,
        make: "Acme".into(),
        model: "X1".into(),
        firmware_version: "1.0".into(),
        capabilities: serde_json::json!({"iota": true, "sspr_p_rev": 1}),
        nam: serde_json::json!({}),
        prl_id: Some(1),
        sspr_table_number: None,
        spc: None,
        spasm_key: None,
        activation_state: "activated".into(),
    }
}

/// A fresh database with PRL 1 (3 systems, in use) and PRL 2 (`new_systems` systems, to push)
/// in the library, and `profiles` inserted (returned in order).
pub async fn db_with(
    new_systems: u16,
    profiles: &[otagw::store::models::NewProfile],
) -> (otagw::testkit::TestDb, Vec<otagw::store::models::Profile>) {
    use otagw::import;
    let db = otagw::testkit::TestDb::new().await.unwrap();
    let mut conn = db.store.conn().await.unwrap();
    import::prl::import(&mut conn, 1, &classic_prl(1, 3), None, "old", false)
        .await
        .unwrap();
    import::prl::import(
        &mut conn,
        2,
        &classic_prl(2, new_systems),
        None,
        "new",
        false,
    )
    .await
    .unwrap();
    let mut inserted = Vec::new();
    for p in profiles {
        inserted.push(otagw::store::profiles::insert(&mut conn, p).await.unwrap());
    }
    drop(conn);
    (db, inserted)
}

/// A gateway configuration on loopback ports the OS picks, the deadline scheduler every 100 ms.
pub fn loopback_config() -> otagw::config::Config {
    lab::loopback_config()
}

/// Points the SS7 side of `c` at the simulated network `net`: its STP, and its MSC (with the
/// SMS_Address its HLR reports, for OTAPA and pushes over SS7).
pub fn use_network(c: &mut otagw::config::Config, net: &otagw_sim::ss7::Network) {
    lab::point_at_network(c, net);
}

/// Whether tshark runs on this machine. In CI (`CI=true`) it must.
pub fn tshark_available() -> bool {
    let ok = std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tshark is required in CI"
        );
        eprintln!("skipping the tshark check: tshark not installed");
    }
    ok
}

/// Starts a simulated SMSC (receipts after 10 ms) and points the SMPP sender of `c` at it.
pub async fn simulated_smsc(c: &mut otagw::config::Config) -> SmscHandle {
    lab::simulated_smsc(c, Duration::from_millis(10))
        .await
        .unwrap()
}

/// Starts a gateway on `store` and waits for its SMPP bind.
pub async fn gateway_bound(
    c: &otagw::config::Config,
    store: otagw::store::Store,
) -> otagw::gateway::Gateway {
    assert!(c.smpp.enabled, "SMPP is enabled");
    let gateway = lab::start_gateway(c, store.clone()).await.unwrap();
    authorize(&store, gateway.admin_addr).await;
    gateway
}

/// Starts a gateway on `store` and waits for an M3UA association to be active.
pub async fn gateway_linked(
    c: &otagw::config::Config,
    store: otagw::store::Store,
) -> otagw::gateway::Gateway {
    assert!(c.ss7.enabled, "SS7 is enabled");
    let gateway = lab::start_gateway(c, store.clone()).await.unwrap();
    authorize(&store, gateway.admin_addr).await;
    gateway
}
