//! The running gateway: its components wired together on one store, every long-lived task under
//! one [`Supervisor`], started together and stopped in order (intake, work, links).

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;

use crate::config::{Config, ConfigError};
use crate::dispatcher::{Dispatcher, Ss7Context};
use crate::flows::ivr_star_code::IvrStarCodeSettings;
use crate::flows::prl_campaign::worker::CampaignWorker;
use crate::flows::star_code::StarCodeSettings;
use crate::http::iota::{router as iota_router, IotaState};
use crate::iota::{IotaSettings, BOOTSTRAP_PATH};
use crate::mniu::asp::{Asp, AspConfig, Linkset};
use crate::mniu::is725::Is725;
use crate::mniu::tcap::Tcap;
use crate::mniu::Ss7Config;
use crate::setting;
use crate::store::Store;
use crate::supervisor::{Stage, Supervisor, Task};
use crate::trace::Tracer;
use otagw_codecs::m3ua::TrafficMode;

/// Why the gateway could not start.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The configuration is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OSPP handler could not start.
    #[error("OSPP handler (ospp.listen): {0}")]
    Ospp(String),
    /// The trace file could not be created.
    #[error("cannot create the signalling trace {path} (trace.file): {source}")]
    Trace {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({key}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The setting it came from.
        key: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// A started gateway.
#[derive(Debug)]
pub struct Gateway {
    /// Where the IOTA server listens.
    pub iota_addr: SocketAddr,
    /// Where the admin server listens.
    pub admin_addr: SocketAddr,
    /// The M3UA associations, when SS7 is enabled.
    pub linkset: Option<Linkset>,
    /// The dispatcher (what the triggers talk to).
    pub driver: Dispatcher,
    /// The SMPP sender, when enabled.
    pub smpp: Option<crate::smpp::SmppSender>,
    /// The OSPP handler (tools' SMPP binds), when enabled.
    pub ospp: Option<crate::ospp_handler::OsppHandlerHandle>,
    /// The PRL campaign worker (resumes campaigns with pending targets).
    pub campaigns: CampaignWorker,
    /// Every long-lived task.
    supervisor: Supervisor,
}

/// Binds `addr` and returns the listener with the address it got (port 0 picks one).
async fn bind(
    addr: SocketAddr,
    key: &'static str,
) -> Result<(tokio::net::TcpListener, SocketAddr), GatewayError> {
    let error = |source| GatewayError::Bind { addr, key, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
    let local = listener.local_addr().map_err(error)?;
    Ok((listener, local))
}

impl Gateway {
    /// Starts every component on `store` as `config` says (port 0 picks a free port).
    pub async fn start(config: &Config, store: Store) -> Result<Self, GatewayError> {
        config.validate()?;
        let metrics = crate::telemetry::init_metrics();
        let (iota_listener, iota_addr) = bind(config.iota.listen, "iota.listen").await?;
        let (admin_listener, admin_addr) = bind(config.http.listen, "http.listen").await?;
        let settings = IotaSettings {
            session_timeout: setting::to_chrono(config.iota.session_timeout),
            segment_size: config.iota.segment_size,
        };
        let mut supervisor = Supervisor::new();
        let trace = if config.trace.file.is_empty() {
            None
        } else {
            let path = std::path::Path::new(&config.trace.file);
            Some(
                Tracer::create(path, config.trace.max_bytes).map_err(|source| {
                    GatewayError::Trace {
                        path: path.to_path_buf(),
                        source,
                    }
                })?,
            )
        };
        let smpp = if config.smpp.enabled {
            let (smpp, tasks) = crate::smpp::SmppSender::new(store.clone(), config.smpp.clone());
            tasks.into_iter().for_each(|t| supervisor.spawn(t));
            Some(smpp)
        } else {
            None
        };
        let (ss7, linkset) = if config.ss7.enabled {
            let (context, linkset) = start_ss7(&config.ss7, &store, trace.clone(), &mut supervisor);
            (Some(context), Some(linkset))
        } else {
            (None, None)
        };
        let prl_push = config.prl_push_settings(iota_addr);
        let ivr = IvrStarCodeSettings {
            iota_base_url: prl_push.iota_base_url.clone(),
            callback_timeout: prl_push.callback_timeout,
            segment_size: config.iota.segment_size,
            welcome_text: config.ivr.welcome_text.clone(),
            push_text: config.ivr.push_text.clone(),
        };
        let (campaigns, campaign_task) =
            CampaignWorker::new(store.clone(), prl_push.clone(), config.prl_campaign.clone());
        supervisor.spawn(campaign_task);
        let (driver, driver_task) =
            Dispatcher::new(store.clone(), settings, ss7, prl_push, ivr, trace);
        supervisor.spawn(driver_task);
        let ospp = if config.ospp.enabled {
            let (ospp, task) = crate::ospp_handler::OsppHandler::bind(
                config.ospp.clone(),
                driver.clone(),
                store.clone(),
            )
            .await
            .map_err(|e| GatewayError::Ospp(e.to_string()))?;
            supervisor.spawn(task);
            Some(ospp)
        } else {
            None
        };
        let iota_app = iota_router(IotaState {
            driver: driver.clone(),
        });
        let admin_app = crate::http::router(crate::http::AdminState {
            store: store.clone(),
            metrics,
            driver: driver.clone(),
            campaigns: campaigns.clone(),
            allowed_hosts: config.http.allowed_hosts.clone().into(),
        });
        for (listener, app, limits, name) in [
            (iota_listener, iota_app, config.iota.limits(), "IOTA server"),
            (
                admin_listener,
                admin_app,
                config.http.limits(),
                "admin server",
            ),
        ] {
            supervisor.spawn(Task::once(name, Stage::Intake, move |stop| {
                crate::http::server::serve(listener, app, limits, name, stop)
            }));
        }
        let interval = config.iota.scheduler_interval;
        let scheduled = driver.clone();
        supervisor.spawn(Task::new("deadline scheduler", Stage::Work, move |stop| {
            scheduler(scheduled.clone(), interval, stop)
        }));
        tracing::info!(%iota_addr, %admin_addr, "gateway started");
        Ok(Self {
            iota_addr,
            admin_addr,
            linkset,
            driver,
            smpp,
            ospp,
            campaigns,
            supervisor,
        })
    }

    /// The bootstrap URL handsets are provisioned with.
    pub fn bootstrap_url(&self) -> String {
        format!("http://{}{}", self.iota_addr, BOOTSTRAP_PATH)
    }

    /// Stops every component and waits for them, in order: the intake (the HTTP servers, the
    /// OSPP handler), so no request comes in; the work (the dispatcher finishing the requests
    /// it holds, the scheduler, the campaign worker, the SS7 sender); the links (SMPP unbind
    /// with the outbox worker recording what their windows held, M3UA ASPDN, TCAP).
    pub async fn stop(self) {
        self.supervisor.shutdown().await;
    }
}

/// Starts the M3UA associations (one per peer), the TCAP transaction manager, the IS-725-A
/// operations on them and the SS7 sender of the outbox's `ss7` rows, under `supervisor`.
fn start_ss7(
    ss7: &Ss7Config,
    store: &Store,
    trace: Option<Tracer>,
    supervisor: &mut Supervisor,
) -> (Ss7Context, Linkset) {
    let (inbound_tx, inbound_rx) = tokio::sync::mpsc::channel(4096);
    let mut asps = Vec::new();
    for (i, peer) in ss7.peers.iter().enumerate() {
        let (asp, task) = Asp::new(
            AspConfig {
                name: format!("asp{i}-{peer}"),
                transport: ss7.transport,
                peer: *peer,
                routing_context: ss7.m3ua_routing_context(),
                traffic_mode: TrafficMode::Loadshare,
                asp_identifier: u32::try_from(i).ok(),
                heartbeat: ss7.heartbeat,
                handshake_timeout: Duration::from_secs(5),
                max_backoff: Duration::from_secs(5),
                trace: trace.clone(),
            },
            inbound_tx.clone(),
        );
        asps.push(asp);
        supervisor.spawn(task);
    }
    let linkset = Linkset::new(asps);
    let (tcap, tcap_task) = Tcap::new(linkset.clone(), ss7.local(), inbound_rx);
    supervisor.spawn(tcap_task);
    let is725 = Is725::new(tcap, ss7.msc.clone(), ss7.hlr(), ss7.invoke_timeout);
    let sms_sender = crate::mniu::sms_sender::SmsSender::new(
        store.clone(),
        is725.clone(),
        linkset.clone(),
        crate::mniu::sms_sender::SmsSenderSettings {
            // Room for a locate and a few SMDPPs per claim, however long the invoke timer.
            lease: Duration::from_secs(60)
                .max(ss7.invoke_timeout.checked_mul(8).unwrap_or(Duration::MAX)),
            ..Default::default()
        },
    );
    supervisor.spawn(sms_sender.task());
    let context = Ss7Context {
        is725,
        settings: StarCodeSettings {
            session_timeout: setting::to_chrono(ss7.session_timeout),
            retry_pause: Duration::from_millis(500),
            force_ss7: ss7.force_ss7,
        },
    };
    (context, linkset)
}

/// Every `interval`, has the driver close sessions whose deadline has passed.
async fn scheduler(driver: Dispatcher, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match driver.expire_due(100).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "closed sessions past their deadline"),
            Err(err) => tracing::warn!(%err, "deadline scheduler"),
        }
    }
}
