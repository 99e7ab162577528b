//! `otagw demo`: the gateway and N simulated handsets, end to end, with a summary.
//!
//! Scenario `one-button` (the patent's "One Button Automated IOTA provisioning"): N profiles
//! and the lab PRL are loaded, the gateway starts, and N simulated IOTA handsets GET their
//! bootstrap URL and are programmed, committed and activated concurrently.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use otagw_codecs::identity::{DeviceId, Esn, Min};
use otagw_sim::handset::iota::{run_session, NetFaults, SessionOutcome};
use otagw_sim::handset::model::{Handset, HandsetConfig};
use otagw_sim::ss7::{Network, NetworkConfig};
use thiserror::Error;
use tokio::sync::Semaphore;

use crate::config::{Config, MscConfig};
use crate::gateway::{Gateway, GatewayError};
use crate::import::prl::PrlImportError;
use crate::refusal::Refusal;
use crate::store::models::NewProfile;
use crate::store::{profiles, Store, StoreError};

/// The lab PRL the demo loads (also `docs/examples/lab.prl`).
pub const LAB_PRL: &[u8] = include_bytes!("../docs/examples/lab.prl");

/// Scenarios the demo can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// One-button IOTA activation.
    OneButton,
    /// Star-code (*228) OTASP over SS7: simulated STP, MSC and HLR; each handset's TRN triggers
    /// the gateway as an IVR would.
    StarCode,
    /// Automated IOTA PRL download: activated handsets get a WAP push through the simulated
    /// SMSC and load a new PRL over IOTA.
    PrlPush,
    /// The same, with the push sent straight to the serving MSC over SS7 (SMSRequest to the
    /// simulated HLR, SMDPPs with IS-637 teleservice 4100), no SMSC.
    PrlPushSs7,
    /// IVR-assisted star-code IOTA activation: each call's TRN triggers the gateway, which
    /// attaches over SS7 and sends the handset a WAP push to its IOTA call-back URL.
    IvrStarCode,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Scenario.
    pub scenario: Scenario,
    /// Number of handsets.
    pub handsets: usize,
    /// Handsets in flight at once.
    pub concurrency: usize,
}

/// Why the demo could not run.
#[derive(Debug, Error)]
pub enum DemoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lab PRL could not be loaded.
    #[error(transparent)]
    Prl(#[from] PrlImportError),
    /// The gateway did not start.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The simulated network could not start.
    #[error("simulated SS7 network: {0}")]
    Network(String),
    /// Too many handsets for the identity range.
    #[error("at most {0} handsets")]
    TooMany(usize),
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// Handsets activated.
    pub activated: usize,
    /// Failures by cause (the MMC error code or the session's cause).
    pub failed: BTreeMap<String, usize>,
    /// Wall time of the activations (after set-up).
    pub wall: Duration,
    /// Per-session times, sorted.
    pub session_times: Vec<Duration>,
    /// What a success is called in the summary (empty: "activated").
    pub success_label: &'static str,
}

impl DemoReport {
    /// Activations per second over the wall time.
    pub fn rate(&self) -> f64 {
        self.activated as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of session times.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.session_times.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((self.session_times.len() - 1) as f64 * q).round() as usize;
        self.session_times[rank.min(self.session_times.len() - 1)]
    }

    /// The summary an operator reads.
    pub fn summary(&self) -> String {
        let (label, unit) = if self.success_label.is_empty() {
            ("activated", "activations/s")
        } else {
            (self.success_label, "sessions/s")
        };
        let mut out = format!(
            "{:<10} {}\nfailed:    {}\n",
            format!("{label}:"),
            self.activated,
            self.failed.values().sum::<usize>()
        );
        for (cause, n) in &self.failed {
            out.push_str(&format!("  {cause}: {n}\n"));
        }
        out.push_str(&format!(
            "wall time: {:.2} s\nrate:      {:.1} {unit}\nsession:   p50 {:.1} ms, p99 {:.1} ms\n",
            self.wall.as_secs_f64(),
            self.rate(),
            self.quantile(0.5).as_secs_f64() * 1e3,
            self.quantile(0.99).as_secs_f64() * 1e3,
        ));
        out
    }
}

/// First ESN of the demo's range (manufacturer code 0xD3, not a pseudo-ESN).
const ESN_BASE: u32 = 0xD300_0000;
const MAX_HANDSETS: usize = 0x00FF_FFFF;

/// Loads the lab PRL (as library PRL 1 unless present) and `n` pending profiles with ESNs
/// from the demo range; returns their ESNs and MINs.
pub async fn load(store: &Store, n: usize) -> Result<Vec<(Esn, Min)>, DemoError> {
    load_as(store, n, "pending_activation").await
}

/// [`load`] with the profiles in `activation_state`.
async fn load_as(
    store: &Store,
    n: usize,
    activation_state: &str,
) -> Result<Vec<(Esn, Min)>, DemoError> {
    if n > MAX_HANDSETS {
        return Err(DemoError::TooMany(MAX_HANDSETS));
    }
    let mut conn = store.conn().await?;
    match crate::import::prl::import(&mut conn, 1, LAB_PRL, None, "otagw demo lab PRL", false).await
    {
        Ok(_) | Err(PrlImportError::Store(StoreError::DuplicatePrl(_))) => {}
        Err(e) => return Err(e.into()),
    }
    // Start after the demo ESNs already in the store, so a demo on a kept database can run again.
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
                activation_state: activation_state.into(),
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

/// Runs one simulated handset per ESN against `bootstrap_url`, `concurrency` at a time;
/// `progress(done, total)` after each.
pub async fn activate_all(
    bootstrap_url: &str,
    esns: &[Esn],
    concurrency: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> DemoReport {
    let semaphore = std::sync::Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for esn in esns {
        let url = bootstrap_url.to_string();
        let device = DeviceId::Esn(*esn);
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let mut cfg = HandsetConfig::new(device);
            cfg.sspr_p_rev = 1;
            let t0 = Instant::now();
            let outcome = match Handset::new(cfg) {
                Ok(mut h) => run_session(&url, &mut h, NetFaults::default())
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (t0.elapsed(), outcome)
        });
    }
    let mut report = DemoReport::default();
    let total = esns.len();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        match joined {
            Ok((elapsed, Ok(outcome))) if outcome.is_rebooted() => {
                report.activated += 1;
                report.session_times.push(elapsed);
            }
            Ok((_, Ok(SessionOutcome::Refused { code, .. }))) => {
                *report.failed.entry(code).or_default() += 1
            }
            Ok((_, Ok(_))) => *report.failed.entry("not-committed".into()).or_default() += 1,
            Ok((_, Err(e))) => {
                tracing::warn!(error = %e, "simulated handset failed");
                *report.failed.entry("handset-error".into()).or_default() += 1
            }
            Err(_) => *report.failed.entry("handset-panicked".into()).or_default() += 1,
        }
        progress(done, total);
    }
    report.wall = started.elapsed();
    report.session_times.sort();
    report
}

/// A finished run: the report, and what is still running (for `--serve`).
#[derive(Debug)]
pub struct DemoRun {
    /// The gateway.
    pub gateway: Gateway,
    /// What happened.
    pub report: DemoReport,
    /// The simulated SS7 network of the star-code scenario (stopped when dropped).
    pub network: Option<Network>,
    /// The simulated SMSC of the PRL-push scenario (stopped when dropped).
    pub smsc: Option<otagw_sim::smsc::SmscHandle>,
}

/// Loads the data, starts a gateway and activates every handset.
pub async fn run(
    config: &Config,
    store: Store,
    options: &DemoOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DemoRun, DemoError> {
    let handsets = match options.scenario {
        Scenario::PrlPush | Scenario::PrlPushSs7 => {
            load_as(&store, options.handsets, "activated").await?
        }
        Scenario::OneButton | Scenario::StarCode | Scenario::IvrStarCode => {
            load(&store, options.handsets).await?
        }
    };
    match options.scenario {
        Scenario::PrlPush => prl_push(config, store, handsets, options, progress, false).await,
        Scenario::PrlPushSs7 => prl_push(config, store, handsets, options, progress, true).await,
        Scenario::IvrStarCode => ivr_star_code(config, store, handsets, options, progress).await,
        Scenario::OneButton => {
            let gateway = Gateway::start(config, store).await?;
            let esns: Vec<Esn> = handsets.into_iter().map(|(e, _)| e).collect();
            let report = activate_all(
                &gateway.bootstrap_url(),
                &esns,
                options.concurrency,
                progress,
            )
            .await;
            Ok(DemoRun {
                gateway,
                report,
                network: None,
                smsc: None,
            })
        }
        Scenario::StarCode => star_code(config, store, handsets, options, progress).await,
    }
}

/// The new PRL the PRL-push scenario sends (library PRL 2, PR_LIST_ID 2002).
fn new_prl() -> Result<Vec<u8>, DemoError> {
    use otagw_codecs::prl::classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};
    ClassicPrl {
        pr_list_id: 2002,
        pref_only: false,
        def_roam_ind: 1,
        acq_records: vec![AcqRecord::PcsCdmaBlocks {
            blocks: vec![0, 1, 2, 3, 4, 5],
        }],
        sys_records: (0..40)
            .map(|i| SysRecord {
                sid: 4000 + i,
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
    .map_err(|e| DemoError::Network(format!("building the demo PRL: {e}")))
}

/// Waits for the handsets that followed pushes and counts their outcomes (a handset whose push
/// never came is not counted: its trigger's failure was).
async fn collect(
    mut followers: Followed,
    report: &mut DemoReport,
    total: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) {
    let mut done = 0;
    while let Some(joined) = followers.join_next().await {
        match joined {
            Ok(None) => continue,
            Ok(Some((elapsed, Ok(SessionOutcome::Terminated { .. })))) => {
                report.activated += 1;
                report.session_times.push(elapsed);
            }
            Ok(Some((_, Ok(SessionOutcome::Refused { code, .. })))) => {
                *report.failed.entry(code).or_default() += 1
            }
            Ok(Some(_)) => *report.failed.entry("handset-error".into()).or_default() += 1,
            Err(_) => *report.failed.entry("panicked".into()).or_default() += 1,
        }
        done += 1;
        progress(done, total);
    }
}

/// Starts a simulated SMSC and points the SMPP sender of `config` at it.
async fn simulated_smsc(config: &mut Config) -> Result<otagw_sim::smsc::SmscHandle, DemoError> {
    use otagw_sim::smsc::{Smsc, SmscConfig};
    let smsc = Smsc::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        SmscConfig {
            receipt_delay: Duration::from_millis(5),
            ..SmscConfig::default()
        },
    )
    .await
    .map_err(|e| DemoError::Network(format!("simulated SMSC: {e}")))?;
    config.smpp.enabled = true;
    config.smpp.smsc = smsc.addr().to_string();
    config.smpp.system_id = SmscConfig::default().system_id;
    config.smpp.password = SmscConfig::default().password;
    config.smpp.window = 50;
    config.smpp.max_rate_per_sec = 5000;
    Ok(smsc)
}

/// Points the SS7 side of `config` at a simulated network: its STP, MSC, HLR and the
/// gateway's own point code.
fn point_at_network(config: &mut Config, network: &Network) {
    let n = network.config();
    config.ss7.enabled = true;
    config.ss7.peers = vec![network.stp().addr().to_string()];
    config.ss7.msc = vec![MscConfig {
        name: "sim-msc".into(),
        point_code: n.msc.point_code.to_string(),
        ssn: n.msc.ssn,
        trn_prefix: n.msc.trn_prefix.clone(),
        sms_address: Some(n.msc.sms_address.digits.clone()),
    }];
    config.ss7.point_code = n.gateway_point_code.to_string();
    config.ss7.ssn = n.gateway_ssn;
    config.ss7.hlr_point_code = n.hlr.point_code.to_string();
    config.ss7.hlr_ssn = n.hlr.ssn;
}

/// Handsets by MDN, waiting for pushes.
type Fleet = std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, Handset>>>;

/// Session results of the handsets that followed a push (`None`: no push came).
type Followed = tokio::task::JoinSet<Option<(Duration, Result<SessionOutcome, String>)>>;

/// How long a handset still waits for its push once every trigger has been sent: a push that
/// never comes (its trigger was refused) must not hang the demo.
const PUSH_GRACE: Duration = Duration::from_secs(10);

/// Each handset (by its key in `fleet`, waiting a little for one that joins late) follows the
/// first push that reaches its end of `inboxes` (attached at the SMSC or registered at the
/// MSC) to its URL, `concurrency` sessions at a time. A handset whose push has not come
/// [`PUSH_GRACE`] after `triggered` turns true (or its sender is dropped) gives no result.
fn follow_pushes(
    fleet: Fleet,
    inboxes: impl IntoIterator<Item = (String, otagw_sim::handset::push::Deliveries)>,
    concurrency: usize,
    triggered: tokio::sync::watch::Receiver<bool>,
) -> Followed {
    use otagw_sim::handset::push::next_url;
    let semaphore = std::sync::Arc::new(Semaphore::new(concurrency.max(1)));
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

/// The PRL-push scenario: activated handsets that follow the pushes they receive, one push per
/// handset, through a simulated SMSC or (`over_ss7`) a simulated STP, HLR and MSC.
async fn prl_push(
    config: &Config,
    store: Store,
    handsets: Vec<(Esn, Min)>,
    options: &DemoOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
    over_ss7: bool,
) -> Result<DemoRun, DemoError> {
    {
        let mut conn = store.conn().await?;
        match crate::import::prl::import(
            &mut conn,
            2,
            &new_prl()?,
            None,
            "otagw demo new PRL",
            false,
        )
        .await
        {
            Ok(_) | Err(PrlImportError::Store(StoreError::DuplicatePrl(_))) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut config = config.clone();
    let (smsc, network) = if over_ss7 {
        let network = Network::start(NetworkConfig::default())
            .await
            .map_err(|e| DemoError::Network(e.to_string()))?;
        point_at_network(&mut config, &network);
        config.iota.otapa_push_bearer = "ss7".into();
        (None, Some(network))
    } else {
        (Some(simulated_smsc(&mut config).await?), None)
    };
    let gateway = Gateway::start(&config, store).await?;
    let up = match (&gateway.smpp, &gateway.linkset) {
        (Some(s), _) if smsc.is_some() => s.wait_bound(Duration::from_secs(10)).await,
        (_, Some(l)) if network.is_some() => l.wait_active(Duration::from_secs(10)).await,
        _ => false,
    };
    if !up {
        return Err(DemoError::Network(
            "the link to the simulated SMSC or STP did not come up".into(),
        ));
    }
    // Each handset's inbox: its MDN at the SMSC, or its MIN (= MDN here) at the MSC.
    let inboxes: Vec<(String, otagw_sim::handset::push::Deliveries)> = handsets
        .iter()
        .map(|(esn, min)| {
            let deliveries = match (&smsc, &network) {
                (Some(smsc), _) => smsc.attach(min.as_str()),
                (None, Some(net)) => net.register_for_sms(min.clone(), *esn),
                (None, None) => tokio::sync::mpsc::unbounded_channel().1,
            };
            (min.to_string(), deliveries)
        })
        .collect();
    // The handsets: each follows the first push that reaches its MDN.
    let fleet: Fleet = std::sync::Arc::new(tokio::sync::Mutex::new(
        handsets
            .iter()
            .filter_map(|(esn, min)| {
                let mut cfg = HandsetConfig::new(DeviceId::Esn(*esn));
                cfg.sspr_p_rev = 1;
                Handset::new(cfg).ok().map(|h| (min.to_string(), h))
            })
            .collect(),
    ));
    let total = handsets.len();
    let (triggered, triggers_sent) = tokio::sync::watch::channel(false);
    let followers = follow_pushes(fleet, inboxes, options.concurrency, triggers_sent);
    let started = Instant::now();
    let mut report = DemoReport {
        success_label: "PRL loaded",
        ..DemoReport::default()
    };
    for (_, min) in &handsets {
        let lookup = crate::store::profiles::Lookup::Mdn(
            min.to_string()
                .parse()
                .map_err(|e| DemoError::Network(format!("MDN: {e}")))?,
        );
        if let Err(e) = gateway.driver.prl_push(2, lookup).await {
            *report.failed.entry(e.code().to_string()).or_default() += 1;
        }
    }
    let _ = triggered.send(true);
    collect(followers, &mut report, total, progress).await;
    report.wall = started.elapsed();
    report.session_times.sort();
    Ok(DemoRun {
        gateway,
        report,
        network,
        smsc,
    })
}

/// The IVR-assisted scenario: a simulated SS7 network and SMSC; each handset in an OTASP call,
/// each TRN triggered; the released handsets follow their pushes.
async fn ivr_star_code(
    config: &Config,
    store: Store,
    handsets: Vec<(Esn, Min)>,
    options: &DemoOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DemoRun, DemoError> {
    let network = Network::start(NetworkConfig::default())
        .await
        .map_err(|e| DemoError::Network(e.to_string()))?;
    let mut config = config.clone();
    let smsc = simulated_smsc(&mut config).await?;
    point_at_network(&mut config, &network);
    let gateway = Gateway::start(&config, store).await?;
    let up = match (&gateway.linkset, &gateway.smpp) {
        (Some(l), Some(s)) => {
            l.wait_active(Duration::from_secs(10)).await
                && s.wait_bound(Duration::from_secs(10)).await
        }
        _ => false,
    };
    if !up {
        return Err(DemoError::Network(
            "the links to the simulated STP and SMSC did not come up".into(),
        ));
    }
    let calls: Vec<(String, String)> = handsets
        .iter()
        .filter_map(|(esn, min)| {
            let mut cfg = HandsetConfig::new(DeviceId::Esn(*esn));
            cfg.sspr_p_rev = 1;
            Handset::new(cfg)
                .ok()
                .map(|h| (network.place_otasp_call(h, min.clone()), min.to_string()))
        })
        .collect();
    let fleet: Fleet = Default::default();
    let total = calls.len();
    let (triggered, triggers_sent) = tokio::sync::watch::channel(false);
    let followers = follow_pushes(
        fleet.clone(),
        calls
            .iter()
            .map(|(_, mdn)| (mdn.clone(), smsc.attach(mdn)))
            .collect::<Vec<_>>(),
        options.concurrency,
        triggers_sent,
    );
    let started = Instant::now();
    let mut report = DemoReport::default();
    for (trn, mdn) in calls {
        match gateway.driver.ivr_star_code(trn.clone()).await {
            Ok(_) => {
                // The call was released: the handset now acts on what reaches it by SMS.
                if let Some(h) = network.msc().take_handset(&trn) {
                    fleet.lock().await.insert(mdn, h);
                }
            }
            Err(e) => *report.failed.entry(e.code().to_string()).or_default() += 1,
        }
    }
    let _ = triggered.send(true);
    collect(followers, &mut report, total, progress).await;
    report.wall = started.elapsed();
    report.session_times.sort();
    Ok(DemoRun {
        gateway,
        report,
        network: Some(network),
        smsc: Some(smsc),
    })
}

/// The star-code scenario: a simulated SS7 network, each handset in an OTASP call, each TRN
/// triggered.
async fn star_code(
    config: &Config,
    store: Store,
    handsets: Vec<(Esn, Min)>,
    options: &DemoOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DemoRun, DemoError> {
    let network = Network::start(NetworkConfig::default())
        .await
        .map_err(|e| DemoError::Network(e.to_string()))?;
    let mut config = config.clone();
    point_at_network(&mut config, &network);
    let gateway = Gateway::start(&config, store).await?;
    let up = match &gateway.linkset {
        Some(l) => l.wait_active(Duration::from_secs(10)).await,
        None => false,
    };
    if !up {
        return Err(DemoError::Network(
            "the M3UA association to the simulated STP did not come up".into(),
        ));
    }
    let trns: Vec<String> = handsets
        .into_iter()
        .filter_map(|(esn, min)| {
            let mut cfg = HandsetConfig::new(DeviceId::Esn(esn));
            cfg.sspr_p_rev = 1;
            Handset::new(cfg)
                .ok()
                .map(|h| network.place_otasp_call(h, min))
        })
        .collect();
    let semaphore = std::sync::Arc::new(Semaphore::new(options.concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for trn in trns {
        let driver = gateway.driver.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let t0 = Instant::now();
            let result = driver.star_code(trn).await;
            (t0.elapsed(), result)
        });
    }
    let mut report = DemoReport::default();
    let total = tasks.len();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        match joined {
            Ok((elapsed, Ok(r))) if r.outcome == "success" => {
                report.activated += 1;
                report.session_times.push(elapsed);
            }
            Ok((_, Ok(r))) => {
                *report
                    .failed
                    .entry(r.cause.unwrap_or_else(|| "failure".into()))
                    .or_default() += 1
            }
            Ok((_, Err(e))) => *report.failed.entry(e.code().to_string()).or_default() += 1,
            Err(_) => *report.failed.entry("panicked".into()).or_default() += 1,
        }
        progress(done, total);
    }
    report.wall = started.elapsed();
    report.session_times.sort();
    Ok(DemoRun {
        gateway,
        report,
        network: Some(network),
        smsc: None,
    })
}
