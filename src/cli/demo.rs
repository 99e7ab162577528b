//! `otagw demo`: the gateway and N simulated handsets, end to end, with a summary.
//!
//! Scenario `one-button` (the patent's "One Button Automated IOTA provisioning"): N profiles
//! and the lab PRL are loaded, the gateway starts, and N simulated IOTA handsets GET their
//! bootstrap URL and are programmed, committed and activated concurrently.

use std::time::{Duration, Instant};

use otagw::config::Config;
use otagw::gateway::Gateway;
use otagw::import::prl::PrlImportError;
use otagw::refusal::Refusal;
use otagw::store::models::ActivationState;
use otagw::store::profiles::Lookup;
use otagw::store::{Store, StoreError};
use otagw_codecs::identity::{Esn, Min};
use otagw_sim::ss7::{Network, NetworkConfig};
use tokio::sync::Semaphore;

use super::lab::{self, Fleet, LabError, Tally};

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

impl Scenario {
    /// The scenario's name on the command line (`one-button`).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
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

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// The handsets' sessions.
    pub tally: Tally,
    /// What a success is called in the summary (empty: "activated").
    pub success_label: &'static str,
}

impl DemoReport {
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
            self.tally.succeeded,
            self.tally.failed.values().sum::<usize>()
        );
        for (cause, n) in &self.tally.failed {
            out.push_str(&format!("  {cause}: {n}\n"));
        }
        out.push_str(&format!(
            "wall time: {:.2} s\nrate:      {:.1} {unit}\nsession:   p50 {:.1} ms, p99 {:.1} ms\n",
            self.tally.wall.as_secs_f64(),
            self.tally.rate(),
            self.tally.quantile(0.5).as_secs_f64() * 1e3,
            self.tally.quantile(0.99).as_secs_f64() * 1e3,
        ));
        out
    }
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

/// Loads the data, starts a gateway and runs every handset's session.
pub async fn run(
    config: &Config,
    store: Store,
    options: &DemoOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DemoRun, LabError> {
    let state = match options.scenario {
        Scenario::PrlPush | Scenario::PrlPushSs7 => ActivationState::Activated,
        Scenario::OneButton | Scenario::StarCode | Scenario::IvrStarCode => {
            ActivationState::PendingActivation
        }
    };
    let handsets = lab::load_profiles(&store, options.handsets, state).await?;
    match options.scenario {
        Scenario::PrlPush => prl_push(config, store, handsets, options, progress, false).await,
        Scenario::PrlPushSs7 => prl_push(config, store, handsets, options, progress, true).await,
        Scenario::IvrStarCode => ivr_star_code(config, store, handsets, options, progress).await,
        Scenario::OneButton => {
            let gateway = Gateway::start(config, store).await?;
            let esns: Vec<Esn> = handsets.into_iter().map(|(e, _)| e).collect();
            let tally = lab::activate_all(
                &gateway.bootstrap_url(),
                &esns,
                options.concurrency,
                progress,
            )
            .await;
            Ok(DemoRun {
                gateway,
                report: DemoReport {
                    tally,
                    success_label: "",
                },
                network: None,
                smsc: None,
            })
        }
        Scenario::StarCode => star_code(config, store, handsets, options, progress).await,
    }
}

/// The new PRL the PRL-push scenario sends (library PRL 2, PR_LIST_ID 2002).
fn new_prl() -> Result<Vec<u8>, LabError> {
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
    .map_err(|e| LabError::Network(format!("building the demo PRL: {e}")))
}

/// Starts the simulated SMSC the demo's pushes go through, with a wide window and a fast
/// rate so the SMSC is not the bottleneck.
async fn simulated_smsc(config: &mut Config) -> Result<otagw_sim::smsc::SmscHandle, LabError> {
    let smsc = lab::simulated_smsc(config, Duration::from_millis(5)).await?;
    config.smpp.window = 50;
    config.smpp.max_rate_per_sec = 5000;
    Ok(smsc)
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
) -> Result<DemoRun, LabError> {
    {
        let mut conn = store.conn().await?;
        match otagw::import::prl::import(
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
            .map_err(|e| LabError::Network(e.to_string()))?;
        lab::point_at_network(&mut config, &network);
        config.iota.otapa_push_bearer = otagw::store::outbox::OutboxBearer::Ss7;
        (None, Some(network))
    } else {
        (Some(simulated_smsc(&mut config).await?), None)
    };
    let gateway = lab::start_gateway(&config, store).await?;
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
            .filter_map(|(esn, min)| lab::handset(*esn).map(|h| (min.to_string(), h)))
            .collect(),
    ));
    let total = handsets.len();
    let (triggered, triggers_sent) = tokio::sync::watch::channel(false);
    let followers = lab::follow_pushes(fleet, inboxes, options.concurrency, triggers_sent);
    let started = Instant::now();
    let mut tally = Tally::default();
    for (_, min) in &handsets {
        let mdn = min
            .to_string()
            .parse()
            .map_err(|e| LabError::Network(format!("MDN: {e}")))?;
        if let Err(e) = gateway.driver.prl_push(2, Lookup::Mdn(mdn)).await {
            tally.fail(e.code());
        }
    }
    let _ = triggered.send(true);
    lab::collect(followers, &mut tally, total, progress).await;
    tally.wall = started.elapsed();
    tally.session_times.sort();
    Ok(DemoRun {
        gateway,
        report: DemoReport {
            tally,
            success_label: "PRL loaded",
        },
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
) -> Result<DemoRun, LabError> {
    let network = Network::start(NetworkConfig::default())
        .await
        .map_err(|e| LabError::Network(e.to_string()))?;
    let mut config = config.clone();
    let smsc = simulated_smsc(&mut config).await?;
    lab::point_at_network(&mut config, &network);
    let gateway = lab::start_gateway(&config, store).await?;
    let calls: Vec<(String, String)> = handsets
        .iter()
        .filter_map(|(esn, min)| {
            lab::handset(*esn).map(|h| (network.place_otasp_call(h, min.clone()), min.to_string()))
        })
        .collect();
    let fleet: Fleet = Default::default();
    let total = calls.len();
    let (triggered, triggers_sent) = tokio::sync::watch::channel(false);
    let followers = lab::follow_pushes(
        fleet.clone(),
        calls
            .iter()
            .map(|(_, mdn)| (mdn.clone(), smsc.attach(mdn)))
            .collect::<Vec<_>>(),
        options.concurrency,
        triggers_sent,
    );
    let started = Instant::now();
    let mut tally = Tally::default();
    for (trn, mdn) in calls {
        match gateway.driver.ivr_star_code(trn.clone()).await {
            Ok(_) => {
                // The call was released: the handset now acts on what reaches it by SMS.
                if let Some(h) = network.msc().take_handset(&trn) {
                    fleet.lock().await.insert(mdn, h);
                }
            }
            Err(e) => tally.fail(e.code()),
        }
    }
    let _ = triggered.send(true);
    lab::collect(followers, &mut tally, total, progress).await;
    tally.wall = started.elapsed();
    tally.session_times.sort();
    Ok(DemoRun {
        gateway,
        report: DemoReport {
            tally,
            success_label: "",
        },
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
) -> Result<DemoRun, LabError> {
    let network = Network::start(NetworkConfig::default())
        .await
        .map_err(|e| LabError::Network(e.to_string()))?;
    let mut config = config.clone();
    lab::point_at_network(&mut config, &network);
    let gateway = lab::start_gateway(&config, store).await?;
    let trns: Vec<String> = handsets
        .into_iter()
        .filter_map(|(esn, min)| lab::handset(esn).map(|h| network.place_otasp_call(h, min)))
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
    let mut tally = Tally::default();
    let total = tasks.len();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        match joined {
            Ok((elapsed, Ok(r))) if r.outcome == "success" => {
                tally.succeeded += 1;
                tally.session_times.push(elapsed);
            }
            Ok((_, Ok(r))) => tally.fail(r.cause.unwrap_or_else(|| "failure".into())),
            Ok((_, Err(e))) => tally.fail(e.code()),
            Err(_) => tally.fail("panicked"),
        }
        progress(done, total);
    }
    tally.wall = started.elapsed();
    tally.session_times.sort();
    Ok(DemoRun {
        gateway,
        report: DemoReport {
            tally,
            success_label: "",
        },
        network: Some(network),
        smsc: None,
    })
}
