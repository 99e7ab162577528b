//! The lab: a gateway, the simulated network elements it talks to, and a database with
//! subscribers, wired together on loopback.
//!
//! One harness for everything that runs the gateway end to end outside its own library:
//! `otagw demo`, the end-to-end tests (`tests/common` includes this file) and the load drivers
//! (`benches/support` too). It uses only the public API of `otagw`, `otagw-sim` and
//! `otagw-codecs`, so it compiles the same in each of them.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use otagw::config::Config;
use otagw::gateway::{Gateway, GatewayError};
use otagw::import::prl::PrlImportError;
use otagw::mniu::is725::MscRoute;
use otagw::store::models::{ActivationState, NewProfile};
use otagw::store::{profiles, Store, StoreError};
use otagw_codecs::identity::{DeviceId, Esn, Min};
use otagw_sim::handset::iota::{run_session, NetFaults, SessionOutcome};
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::smsc::{Smsc, SmscConfig, SmscHandle};
use otagw_sim::ss7::Network;
use thiserror::Error;
use tokio::sync::Semaphore;

/// The lab PRL (also `docs/examples/lab.prl`): library PRL 1 of the lab's subscribers.
pub const LAB_PRL: &[u8] = include_bytes!("../../docs/examples/lab.prl");

/// How long a link of the gateway to a simulated element may take to come up.
pub const LINK_UP: Duration = Duration::from_secs(10);

/// Why the lab could not be set up.
#[derive(Debug, Error)]
pub enum LabError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A PRL could not be loaded.
    #[error(transparent)]
    Prl(#[from] PrlImportError),
    /// The gateway did not start.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// A simulated element did not start, or the gateway's link to it did not come up.
    #[error("simulated network: {0}")]
    Network(String),
    /// Too many handsets for the identity range.
    #[error("at most {0} handsets")]
    TooMany(usize),
}

/// A gateway configuration on loopback ports the OS picks, the deadline scheduler every 100 ms.
pub fn loopback_config() -> Config {
    let mut c = Config::default();
    c.iota.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    c.http.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    c.iota.scheduler_interval = Duration::from_millis(100);
    c
}

/// Starts a simulated SMSC on loopback (receipts `receipt_delay` after each submit) and points
/// the SMPP sender of `config` at it, with the SMSC's credentials.
pub async fn simulated_smsc(
    config: &mut Config,
    receipt_delay: Duration,
) -> Result<SmscHandle, LabError> {
    let smsc = Smsc::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        SmscConfig {
            receipt_delay,
            ..SmscConfig::default()
        },
    )
    .await
    .map_err(|e| LabError::Network(format!("simulated SMSC: {e}")))?;
    config.smpp.enabled = true;
    config.smpp.smsc = smsc.addr();
    config.smpp.system_id = SmscConfig::default().system_id;
    config.smpp.password = SmscConfig::default().password;
    Ok(smsc)
}

/// Points the SS7 side of `config` at a simulated network: its STP, its MSC (with the
/// SMS_Address its HLR reports), its HLR and the gateway's own point code.
pub fn point_at_network(config: &mut Config, network: &Network) {
    let n = network.config();
    config.ss7.enabled = true;
    config.ss7.peers = vec![network.stp().addr()];
    config.ss7.msc = vec![MscRoute {
        name: "sim-msc".into(),
        point_code: n.msc.point_code,
        ssn: n.msc.ssn,
        trn_prefix: n.msc.trn_prefix.clone(),
        sms_address: Some(n.msc.sms_address.digits.clone()),
    }];
    config.ss7.point_code = n.gateway_point_code;
    config.ss7.ssn = n.gateway_ssn;
    config.ss7.hlr_point_code = n.hlr.point_code;
    config.ss7.hlr_ssn = n.hlr.ssn;
}

/// Starts a gateway on `store` and waits until every link `config` enables is up: the SMPP
/// bind to the SMSC, an M3UA association to the STP.
pub async fn start_gateway(config: &Config, store: Store) -> Result<Gateway, LabError> {
    let gateway = Gateway::start(config, store).await?;
    if let Some(smpp) = &gateway.smpp {
        if !smpp.wait_bound(LINK_UP).await {
            return Err(LabError::Network(
                "the SMPP bind to the simulated SMSC did not come up".into(),
            ));
        }
    }
    if let Some(linkset) = &gateway.linkset {
        if !linkset.wait_active(LINK_UP).await {
            return Err(LabError::Network(
                "the M3UA association to the simulated STP did not come up".into(),
            ));
        }
    }
    Ok(gateway)
}

/// First ESN of the lab's range (manufacturer code 0xD3, not a pseudo-ESN).
const ESN_BASE: u32 = 0xD300_0000;
/// Handsets the lab's ESN range holds.
pub const MAX_HANDSETS: usize = 0x00FF_FFFF;

/// Loads the lab PRL (as library PRL 1 unless present) and `n` profiles in `state` with ESNs
/// from the lab's range (after those already in the store, so a lab on a kept database can run
/// again); returns their ESNs and MINs (each MIN is also the profile's MDN).
pub async fn load_profiles(
    store: &Store,
    n: usize,
    state: ActivationState,
) -> Result<Vec<(Esn, Min)>, LabError> {
    if n > MAX_HANDSETS {
        return Err(LabError::TooMany(MAX_HANDSETS));
    }
    let mut conn = store.conn().await?;
    match otagw::import::prl::import(&mut conn, 1, LAB_PRL, None, "otagw lab PRL", false).await {
        Ok(_) | Err(PrlImportError::Store(StoreError::DuplicatePrl(_))) => {}
        Err(e) => return Err(e.into()),
    }
    let taken = profiles::count(&mut conn).await?;
    let first = ESN_BASE + u32::try_from(taken).unwrap_or(0) % MAX_HANDSETS as u32;
    let esns: Vec<Esn> = (0..n as u32)
        .map(|i| Esn::new(first.wrapping_add(i)))
        .collect();
    let rows: Vec<NewProfile> = esns
        .iter()
        .enumerate()
        .map(|(i, esn)| {
            let min = format!("31055{:05}", (taken as usize + i) % 100_000);
            NewProfile {
                esn: Some(esn.to_string()),
                meid: None,
                pesn: None,
                min: Some(min.clone()),
                mdn: Some(min),
                imsi_m: None,
                imsi_t: None,
                make: "otagw".into(),
                model: "sim-handset".into(),
                firmware_version: "1.0".into(),
                capabilities: serde_json::json!({"iota": true, "sspr_p_rev": 1}),
                nam: serde_json::json!({
                    "mcc": "310", "imsi_11_12": "00",
                    "home_sid_nid": [{"sid": 4139, "nid": 65535}], "accolc": (i % 10)
                }),
                prl_id: Some(1),
                sspr_table_number: Some(1),
                spc: Some("000000".into()),
                spasm_key: None,
                activation_state: state.as_str().into(),
            }
        })
        .collect();
    profiles::insert_all(&mut conn, &rows, &|_| {}).await?;
    let mins = rows
        .iter()
        .map(|r| r.min.as_deref().unwrap_or_default().parse::<Min>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::InvalidValue {
            field: "min",
            reason: e.to_string(),
        })?;
    Ok(esns.into_iter().zip(mins).collect())
}

/// A simulated classic-PRL handset (SSPR_P_REV 1) with ESN `esn`.
pub fn handset(esn: Esn) -> Option<Handset> {
    let mut config = HandsetConfig::new(DeviceId::Esn(esn));
    config.sspr_p_rev = 1;
    Handset::new(config).ok()
}

/// How a batch of simulated handsets fared.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Sessions that ended as hoped (activated, PRL loaded).
    pub succeeded: usize,
    /// Failures by cause (the MMC error code or the session's cause).
    pub failed: std::collections::BTreeMap<String, usize>,
    /// Wall time of the batch.
    pub wall: Duration,
    /// Per-session times of the successes, sorted.
    pub session_times: Vec<Duration>,
}

impl Tally {
    /// Successes per second over the wall time.
    pub fn rate(&self) -> f64 {
        self.succeeded as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of the successes' session times.
    pub fn quantile(&self, q: f64) -> Duration {
        let times = &self.session_times;
        if times.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((times.len() - 1) as f64 * q).round() as usize;
        times[rank.min(times.len() - 1)]
    }

    /// Counts a failure with `cause`.
    pub fn fail(&mut self, cause: impl Into<String>) {
        *self.failed.entry(cause.into()).or_default() += 1;
    }
}

/// Runs one simulated handset per ESN against `bootstrap_url` (one-button activation),
/// `concurrency` at a time; `progress(done, total)` after each.
pub async fn activate_all(
    bootstrap_url: &str,
    esns: &[Esn],
    concurrency: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Tally {
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for esn in esns {
        let (url, esn, semaphore) = (bootstrap_url.to_string(), *esn, semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let t0 = Instant::now();
            let outcome = match handset(esn) {
                Some(mut h) => run_session(&url, &mut h, NetFaults::default())
                    .await
                    .map_err(|e| e.to_string()),
                None => Err(format!("no simulated handset for ESN {esn}")),
            };
            (t0.elapsed(), outcome)
        });
    }
    let mut tally = Tally::default();
    let total = esns.len();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        match joined {
            Ok((elapsed, Ok(outcome))) if outcome.is_rebooted() => {
                tally.succeeded += 1;
                tally.session_times.push(elapsed);
            }
            Ok((_, Ok(SessionOutcome::Refused { code, .. }))) => tally.fail(code),
            Ok((_, Ok(_))) => tally.fail("not-committed"),
            Ok((_, Err(e))) => {
                tracing::warn!(error = %e, "simulated handset failed");
                tally.fail("handset-error");
            }
            Err(_) => tally.fail("handset-panicked"),
        }
        progress(done, total);
    }
    tally.wall = started.elapsed();
    tally.session_times.sort();
    tally
}

/// Handsets by MDN, waiting for pushes.
pub type Fleet = Arc<tokio::sync::Mutex<std::collections::HashMap<String, Handset>>>;

/// Session results of the handsets that followed a push (`None`: no push came).
pub type Followed = tokio::task::JoinSet<Option<(Duration, Result<SessionOutcome, String>)>>;

/// How long a handset still waits for its push once every trigger has been sent: a push that
/// never comes (its trigger was refused) must not hang the lab.
pub const PUSH_GRACE: Duration = Duration::from_secs(10);

/// Each handset (by its key in `fleet`, waiting a little for one that joins late) follows the
/// first push that reaches its end of `inboxes` (attached at the SMSC or registered at the
/// MSC) to its URL, `concurrency` sessions at a time. A handset whose push has not come
/// [`PUSH_GRACE`] after `triggered` turns true (or its sender is dropped) gives no result.
pub fn follow_pushes(
    fleet: Fleet,
    inboxes: impl IntoIterator<Item = (String, otagw_sim::handset::push::Deliveries)>,
    concurrency: usize,
    triggered: tokio::sync::watch::Receiver<bool>,
) -> Followed {
    use otagw_sim::handset::push::next_url;
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Followed::new();
    for (mdn, mut deliveries) in inboxes {
        let (semaphore, fleet, mut triggered) =
            (semaphore.clone(), fleet.clone(), triggered.clone());
        tasks.spawn(async move {
            let grace = async move {
                let _ = triggered.wait_for(|t| *t).await;
                tokio::time::sleep(PUSH_GRACE).await;
            };
            let url = tokio::select! {
                url = next_url(&mut deliveries, Duration::from_secs(24 * 3600)) => url?,
                () = grace => return None,
            };
            let _permit = semaphore.acquire_owned().await;
            let mut handset = None;
            for _ in 0..500 {
                handset = fleet.lock().await.remove(&mdn);
                if handset.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let Some(mut h) = handset else {
                return Some((Duration::ZERO, Err(format!("no handset for {mdn}"))));
            };
            let t0 = Instant::now();
            let outcome = run_session(&url, &mut h, NetFaults::default())
                .await
                .map_err(|e| e.to_string());
            Some((t0.elapsed(), outcome))
        });
    }
    tasks
}

/// Waits for the handsets that followed pushes and counts their outcomes into `tally` (a
/// handset whose push never came is not counted: its trigger's failure was);
/// `progress(done, total)` after each.
pub async fn collect(
    mut followers: Followed,
    tally: &mut Tally,
    total: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) {
    let mut done = 0;
    while let Some(joined) = followers.join_next().await {
        match joined {
            Ok(None) => continue,
            Ok(Some((elapsed, Ok(SessionOutcome::Terminated { .. })))) => {
                tally.succeeded += 1;
                tally.session_times.push(elapsed);
            }
            Ok(Some((_, Ok(SessionOutcome::Refused { code, .. })))) => tally.fail(code),
            Ok(Some(_)) => tally.fail("handset-error"),
            Err(_) => tally.fail("panicked"),
        }
        done += 1;
        progress(done, total);
    }
}
