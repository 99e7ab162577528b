//! The dispatcher: the edges (the IOTA server, the admin API, the OSPP handler) hand it what
//! arrived (a handset's request, an IVR's or operator's trigger) and it runs the flow or the
//! bearer step that answers it; the scheduler asks it to look for expired sessions.
//!
//! It is an actor owning the store handle and a bounded set of workers: each request runs as
//! its own task (one transaction per session step, through the OSPP driver's
//! `ospp_driver::apply`), so sessions on different rows proceed in parallel while the mailbox
//! bounds the load. A supervisor restarts the actor if it dies; requests in flight at that
//! moment get [`DriverError::Unavailable`] and nothing of theirs is half-applied, because each
//! step is one transaction.

use std::sync::Arc;

use otagw_codecs::identity::DeviceId;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::flows::ivr_star_code::{self, IvrStarCodeError, IvrStarCodeSettings, IvrStarted};
use crate::flows::prl_campaign::{self, CampaignError, CampaignStarted, Target};
use crate::flows::prl_fallback;
use crate::flows::prl_push::{self, PrlPushError, PrlPushSettings, PrlPushStarted};
use crate::flows::star_code::{self, StarCodeError, StarCodeReport, StarCodeSettings};
use crate::iota::session::{self as iota_session, Reply};
use crate::iota::{IotaError, IotaSettings};
use crate::mniu::is725::Is725;
use crate::store::profiles::Lookup;
use crate::store::{Store, StoreError};
use crate::supervisor::{Stage, Task};
use crate::trace::Tracer;

/// Requests in the mailbox before senders wait.
const MAILBOX: usize = 1024;
/// Requests worked on at once (each holds a pooled connection).
const WORKERS: usize = 64;

/// The dispatcher is not running (stopped, or restarting after a crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum DriverError {
    /// No answer from the actor.
    #[error("the gateway's dispatcher is not available")]
    Unavailable,
}

/// How a call-back GET names its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackKey {
    /// The token of the call-back URL the push carried.
    Token(String),
    /// The subscriber's MDN (as the operator's WAP gateway inserts it): its pending OTAPA.
    Mdn(String),
}

/// What the actor is asked to do.
enum Request {
    /// A bootstrap GET from `device` on the IOTA bearer.
    IotaBootstrap {
        device: DeviceId,
        reply: oneshot::Sender<Result<Reply, IotaError>>,
    },
    /// The GET of an OTAPA call-back URL.
    IotaOtapa {
        key: CallbackKey,
        device: DeviceId,
        reply: oneshot::Sender<Result<Reply, IotaError>>,
    },
    /// A POST to IOTA session `token`.
    IotaAnswer {
        token: String,
        body: Vec<u8>,
        reply: oneshot::Sender<Result<Reply, IotaError>>,
    },
    /// Start an IVR-assisted IOTA activation for the call `trn`.
    IvrStarCode {
        trn: String,
        reply: oneshot::Sender<Result<IvrStarted, IvrStarCodeError>>,
    },
    /// Create a PRL campaign.
    PrlCampaign {
        prl_id: i32,
        target: Target,
        reply: oneshot::Sender<Result<CampaignStarted, CampaignError>>,
    },
    /// Start a PRL push.
    PrlPush {
        prl_id: i32,
        lookup: Lookup,
        reply: oneshot::Sender<Result<PrlPushStarted, PrlPushError>>,
    },
    /// A star-code activation for `trn` over SS7, run to its end.
    StarCode {
        trn: String,
        reply: oneshot::Sender<Result<StarCodeReport, StarCodeError>>,
    },
    /// Close up to `limit` sessions past their deadline.
    ExpireDue {
        limit: i64,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
}

/// What the SS7 flows need.
#[derive(Debug, Clone)]
pub struct Ss7Context {
    /// IS-725-A operations.
    pub is725: Is725,
    /// Star-code flow settings.
    pub settings: StarCodeSettings,
}

/// What every worker of the actor shares.
#[derive(Debug)]
struct Context {
    store: Store,
    settings: IotaSettings,
    ss7: Option<Ss7Context>,
    prl_push: PrlPushSettings,
    ivr: IvrStarCodeSettings,
    trace: Option<Tracer>,
}

impl Context {
    /// Traces what an IOTA reply carried (the step has counted it already).
    fn done(&self, reply: &Reply) {
        if let Some(trace) = &self.trace {
            for m in &reply.record.received {
                if let Ok(bytes) = m.encode() {
                    trace.is683(reply.record.session_id, false, &bytes);
                }
            }
            for m in &reply.record.sent {
                if let Ok(bytes) = m.encode() {
                    trace.is683(reply.record.session_id, true, &bytes);
                }
            }
        }
    }
}

/// Handle on the dispatcher actor. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    mailbox: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IotaBootstrap { device, .. } => write!(f, "IotaBootstrap({device:?})"),
            Self::IotaAnswer { token, .. } => write!(f, "IotaAnswer({token})"),
            Self::IotaOtapa { key, .. } => write!(f, "IotaOtapa({key:?})"),
            Self::StarCode { trn, .. } => write!(f, "StarCode({trn})"),
            Self::PrlPush { prl_id, lookup, .. } => write!(f, "PrlPush({prl_id}, {lookup})"),
            Self::IvrStarCode { trn, .. } => write!(f, "IvrStarCode({trn})"),
            Self::PrlCampaign { prl_id, .. } => write!(f, "PrlCampaign({prl_id})"),
            Self::ExpireDue { limit, .. } => write!(f, "ExpireDue({limit})"),
        }
    }
}

impl Dispatcher {
    /// The dispatcher and its [`Task`] (the actor loop, for the supervisor: it stops taking
    /// requests when its stop signal turns true and finishes the ones it has).
    pub fn new(
        store: Store,
        settings: IotaSettings,
        ss7: Option<Ss7Context>,
        prl_push: PrlPushSettings,
        ivr: IvrStarCodeSettings,
        trace: Option<Tracer>,
    ) -> (Self, Task) {
        let (tx, rx) = mpsc::channel(MAILBOX);
        let context = Arc::new(Context {
            store,
            settings,
            ss7,
            prl_push,
            ivr,
            trace,
        });
        // The mailbox outlives a restart of the loop.
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let task = Task::new("dispatcher", Stage::Work, move |stop| {
            run(context.clone(), rx.clone(), stop)
        });
        (Self { mailbox: tx }, task)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.mailbox
            .send(make(tx))
            .await
            .map_err(|_| DriverError::Unavailable)?;
        rx.await.map_err(|_| DriverError::Unavailable)
    }

    /// [`Self::ask`] for a request answered with a flow's result: an actor that cannot be
    /// reached is reported as a store connection failure of that flow.
    async fn ask_flow<T, E: From<crate::store::StoreError>>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, E>>) -> Request,
    ) -> Result<T, E> {
        self.ask(make)
            .await
            .unwrap_or_else(|e| Err(E::from(crate::store::StoreError::Connect(e.to_string()))))
    }

    /// The IOTA server saw a bootstrap GET (patent step 2: "informs the OSPP Driver").
    pub async fn iota_bootstrap(&self, device: DeviceId) -> Result<Reply, IotaError> {
        self.ask(|reply| Request::IotaBootstrap { device, reply })
            .await
            .unwrap_or_else(|e| Err(IotaError::Internal(e.to_string())))
    }

    /// A handset followed its OTAPA call-back URL.
    pub async fn iota_otapa(&self, key: CallbackKey, device: DeviceId) -> Result<Reply, IotaError> {
        self.ask(|reply| Request::IotaOtapa { key, device, reply })
            .await
            .unwrap_or_else(|e| Err(IotaError::Internal(e.to_string())))
    }

    /// The IOTA server received a POST for session `token`.
    pub async fn iota_answer(&self, token: String, body: Vec<u8>) -> Result<Reply, IotaError> {
        self.ask(|reply| Request::IotaAnswer { token, body, reply })
            .await
            .unwrap_or_else(|e| Err(IotaError::Internal(e.to_string())))
    }

    /// Starts an IVR-assisted IOTA activation for the handset on the call `trn` (the WAP push is
    /// queued; the outcome is the session's).
    pub async fn ivr_star_code(&self, trn: String) -> Result<IvrStarted, IvrStarCodeError> {
        self.ask_flow(|reply| Request::IvrStarCode { trn, reply })
            .await
    }

    /// Creates a PRL campaign: library PRL `prl_id` for every subscriber of `target` (the
    /// campaign and its targets are written; the campaign worker creates the pushes).
    pub async fn prl_campaign(
        &self,
        prl_id: i32,
        target: Target,
    ) -> Result<CampaignStarted, CampaignError> {
        self.ask_flow(|reply| Request::PrlCampaign {
            prl_id,
            target,
            reply,
        })
        .await
    }

    /// Starts a PRL push of library PRL `prl_id` to the subscriber `lookup` names.
    pub async fn prl_push(
        &self,
        prl_id: i32,
        lookup: Lookup,
    ) -> Result<PrlPushStarted, PrlPushError> {
        self.ask_flow(|reply| Request::PrlPush {
            prl_id,
            lookup,
            reply,
        })
        .await
    }

    /// Runs a star-code activation for `trn` (an IVR's or operator's trigger) to its end.
    pub async fn star_code(&self, trn: String) -> Result<StarCodeReport, StarCodeError> {
        self.ask_flow(|reply| Request::StarCode { trn, reply })
            .await
    }

    /// Closes sessions past their deadline; returns how many.
    pub async fn expire_due(&self, limit: i64) -> Result<usize, StoreError> {
        self.ask_flow(|reply| Request::ExpireDue { limit, reply })
            .await
    }
}

/// The actor loop: takes requests from the mailbox and works on each in its own task, at most
/// [`WORKERS`] at once; when `stop` turns true it takes no more and finishes what it has.
async fn run(
    context: Arc<Context>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Request>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rx = rx.lock().await;
    // Each request's work; what it returns is follow-up work (PRL pushes handed to the SS7
    // fallback), which runs here too.
    let mut work: JoinSet<Vec<i64>> = JoinSet::new();
    loop {
        tokio::select! {
            r = rx.recv(), if work.len() < WORKERS => match r {
                Some(request) => {
                    let context = context.clone();
                    work.spawn(async move { handle(&context, request).await });
                }
                None => break,
            },
            Some(done) = work.join_next() => {
                if let Ok(fallback) = done {
                    fall_back(&context, &mut work, fallback);
                }
            }
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    while let Some(done) = work.join_next().await {
        if let Ok(fallback) = done {
            // Stopping: a push handed to the fallback now is taken again by the next
            // deadline tick of whichever instance runs then.
            if !fallback.is_empty() {
                tracing::info!(
                    sessions = fallback.len(),
                    "stopping: SS7 fallbacks left for later"
                );
            }
        }
    }
}

/// Runs the SS7 fallback of each PRL push in `sessions` as work of the dispatcher.
fn fall_back(context: &Arc<Context>, work: &mut JoinSet<Vec<i64>>, sessions: Vec<i64>) {
    let Some(ss7) = &context.ss7 else { return };
    for session_id in sessions {
        let (store, ss7) = (context.store.clone(), ss7.clone());
        work.spawn(async move {
            if let Err(e) = prl_fallback::run(&store, &ss7.is725, &ss7.settings, session_id).await {
                tracing::warn!(session_id, error = %e, "PRL push fallback over SS7");
            }
            Vec::new()
        });
    }
}

/// Works on one request; returns the PRL pushes it handed to the SS7 fallback.
async fn handle(context: &Context, request: Request) -> Vec<i64> {
    let (store, settings) = (&context.store, &context.settings);
    match request {
        Request::IotaBootstrap { device, reply } => {
            let result = async {
                let mut conn = store.conn().await?;
                iota_session::bootstrap(&mut conn, settings, device).await
            }
            .await;
            if let Ok(r) = &result {
                context.done(r);
            }
            let _ = reply.send(result);
        }
        Request::IotaOtapa { key, device, reply } => {
            let result = async {
                let mut conn = store.conn().await?;
                let token = match key {
                    CallbackKey::Token(token) => token,
                    CallbackKey::Mdn(mdn) => {
                        crate::store::sessions::pending_otapa_token(&mut conn, &mdn)
                            .await?
                            .ok_or_else(|| {
                                IotaError::UnknownSession(format!(
                                    "no delivered PRL push is pending for MDN {mdn}"
                                ))
                            })?
                    }
                };
                iota_session::callback(&mut conn, settings, &token, device).await
            }
            .await;
            if let Ok(r) = &result {
                context.done(r);
            }
            let _ = reply.send(result);
        }
        Request::IotaAnswer { token, body, reply } => {
            let result = async {
                let mut conn = store.conn().await?;
                iota_session::answer(&mut conn, settings, &token, &body).await
            }
            .await;
            if let Ok(r) = &result {
                context.done(r);
            }
            let _ = reply.send(result);
        }
        Request::IvrStarCode { trn, reply } => {
            let result = match &context.ss7 {
                Some(ss7) => {
                    async {
                        let mut conn = store.conn().await?;
                        ivr_star_code::start(&mut conn, &ss7.is725, &context.ivr, &trn).await
                    }
                    .await
                }
                None => Err(IvrStarCodeError::Disabled),
            };
            let _ = reply.send(result);
        }
        Request::PrlCampaign {
            prl_id,
            target,
            reply,
        } => {
            let result = async {
                let mut conn = store.conn().await?;
                prl_campaign::create(&mut conn, prl_id, &target).await
            }
            .await;
            let _ = reply.send(result);
        }
        Request::PrlPush {
            prl_id,
            lookup,
            reply,
        } => {
            let result = async {
                let mut conn = store.conn().await?;
                prl_push::start(&mut conn, &context.prl_push, prl_id, &lookup).await
            }
            .await;
            let _ = reply.send(result);
        }
        Request::StarCode { trn, reply } => {
            let result = match &context.ss7 {
                Some(ss7) => {
                    star_code::run(store, &ss7.is725, &ss7.settings, &context.ivr, &trn).await
                }
                None => Err(StarCodeError::Disabled),
            };
            let _ = reply.send(result);
        }
        Request::ExpireDue { limit, reply } => {
            let fallback_window = context.ss7.as_ref().map(|s| s.settings.session_timeout);
            let result = async {
                let mut conn = store.conn().await?;
                crate::ospp_driver::expire::expire_due(&mut conn, limit, fallback_window).await
            }
            .await;
            let (result, fallback) = match result {
                Ok(expired) => (Ok(expired.closed), expired.fallback),
                Err(e) => (Err(e), Vec::new()),
            };
            let _ = reply.send(result);
            return fallback;
        }
    }
    Vec::new()
}
