//! One SMPP bind towards the SMSC, as an actor (SMPP 3.4 §2, §4): the async shell around the
//! sans-IO session of `otagw_codecs::smpp` ([`Session`], client role).
//!
//! The actor connects over TCP, sends `bind_transceiver` (system_id, password, system_type,
//! interface_version) and, once bound, takes [`SubmitJob`]s from the queue it shares with the
//! other binds, but only while the session has room in its window (at most `window`
//! `submit_sm` awaiting their `submit_sm_resp`, correlated by sequence number) and a token in
//! its bucket (at most `max_rate_per_sec`): [`Session::submit_ready`] says when. An
//! `ESME_RTHROTTLED` or `ESME_RMSGQFUL` answer pauses the bind (20 ms, doubling up to
//! [`MAX_THROTTLE_PAUSE`] while the SMSC keeps refusing; answers to requests already in the
//! window do not lengthen a pause); any other answer resets the pause. The session sends
//! `enquire_link` every `enquire_link_secs` and drops the bind after two unanswered; it
//! answers the SMSC's `enquire_link` and `unbind`. `deliver_sm` receipts go to the outbox
//! worker, and their `deliver_sm_resp` is sent once the worker has recorded them (a receipt the
//! gateway could not record is refused with ESME_RX_T_APPN, so the SMSC sends it again). A
//! `submit_sm_resp` that does not come within `response_timeout` makes the request
//! [`EsmeEvent::Unknown`] (a response coming later is dropped); on any loss of the bind every
//! request still in the window is reported [`EsmeEvent::Unknown`], and the actor reconnects
//! with a growing back-off that starts again only after a bind stayed up [`STABLE_BIND`]
//! (`Reconnect`; its log lines thin out while the SMSC keeps dropping binds). On stop it
//! drains first: it takes no more jobs, waits for the answers to its window and for the
//! worker to record the receipts it handed over, until the SMSC has sent no deliver_sm for
//! [`RECEIPTS_QUIET`] (at most `response_timeout`, capped at [`MAX_DRAIN`]); then it unbinds
//! and waits up to a second for the `unbind_resp` (answers to the window still count
//! meanwhile; a deliver_sm that crosses the unbind is refused with ESME_RX_T_APPN, so the SMSC
//! sends it again). A job it had taken but not sent is handed back ([`EsmeEvent::Unsent`]).
//!
//! **Version.** The bind offers `interface_version` (5.0 by default). The bind runs the lower of
//! that and the SMSC's `sc_interface_version` (SMPP 5.0 §4.1.1.4; none given: 3.4). An SMSC that
//! refuses a 5.0 bind for another reason than the credentials (some 3.4 SMSCs refuse versions
//! they do not know) is bound again at once offering 3.4; after that bind ends, the next one
//! offers the configured version again ([`Offer`]). otagw's use of
//! SMPP (submit_sm, deliver_sm receipts, enquire_link, unbind) is the same in both versions.
//!
//! **Congestion (5.0 only).** On a 5.0 bind the session reads the SMSC's `congestion_state` TLV
//! from every response that carries one (`submit_sm_resp`, `enquire_link_resp`, `generic_nack`,
//! `unbind_resp`; the session's framing keeps the bodies rusmpp does not decode) and paces the
//! bind by [`super::congestion`]: from 90 it runs at half its rate and window, at 100 it also
//! pauses after each such answer as after `ESME_RTHROTTLED`, and below 80 it is back to the
//! configured rate and window; an SMSC silent about it for 30 s is forgotten. Every bind starts
//! at the configured pace.
//!
//! Metrics: `otagw_smpp_bind_up{bind}`, `otagw_smpp_interface_version{bind}`, `otagw_smpp_window_in_use{bind}`,
//! `otagw_smpp_congestion_state{bind}`, `otagw_smpp_submits_total{bind,status}`,
//! `otagw_smpp_receipts_total{state}`.

use std::sync::Arc;
use std::time::Duration;

use otagw_codecs::smpp::status::{self, ESME_ROK, ESME_RX_T_APPN};
use otagw_codecs::smpp::{
    BindKind, BindRequest, CloseReason, Config, Event, Offer, Outcome, Pace, Ready, Session,
    SessionError, Unanswered,
};
use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::types::{COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, Npi, RegisteredDelivery, ServiceType, Ton};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::link::Link;
use super::receipt::{self, Receipt};
use super::SmppConfig;
use crate::supervisor::{Stage, Task};
use crate::telemetry::names;

pub use otagw_codecs::smpp::MAX_THROTTLE_PAUSE;

/// A message to submit: one outbox row under claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitJob {
    /// Outbox row id.
    pub id: i64,
    /// Destination address.
    pub destination: String,
    /// short_message octets.
    pub payload: Vec<u8>,
    /// esm_class, sent as is.
    pub esm_class: u8,
    /// data_coding, sent as is.
    pub data_coding: u8,
    /// Whether it is a WAP push (service_type "WAP").
    pub wap_push: bool,
    /// The claim's end: a job taken after this is not sent (the row may be claimed again).
    pub lease_until: Instant,
}

/// The queue of jobs the binds share: whichever bind has room takes the next one.
pub type JobQueue = Arc<Mutex<mpsc::Receiver<SubmitJob>>>;

/// What a bind reports to the outbox worker.
#[derive(Debug)]
pub enum EsmeEvent {
    /// submit_sm_resp ESME_ROK.
    Submitted {
        /// Outbox row id.
        id: i64,
        /// The SMSC's message_id.
        message_id: String,
    },
    /// The SMSC asked us to slow down (throttled, queue full); the message is fine.
    SlowDown {
        /// Outbox row id.
        id: i64,
        /// The status.
        status: u32,
    },
    /// A transient error: try again later.
    Transient {
        /// Outbox row id.
        id: i64,
        /// Why.
        cause: String,
    },
    /// A permanent error: the message fails.
    Permanent {
        /// Outbox row id.
        id: i64,
        /// Why.
        cause: String,
    },
    /// The request was (or may have been) sent but no answer came: the bind dropped or the
    /// response timed out. The message may have reached the SMSC.
    Unknown {
        /// Outbox row id.
        id: i64,
        /// What happened.
        cause: String,
    },
    /// The job's claim had expired before it could be sent; nothing was sent.
    LeaseLost {
        /// Outbox row id.
        id: i64,
    },
    /// The bind stopped with this job taken from the queue but not sent: nothing was sent, the
    /// claim may be handed back at once.
    Unsent {
        /// Outbox row id.
        id: i64,
    },
    /// A delivery receipt. Answer `ack` with true once recorded (false: the SMSC should send
    /// it again).
    Receipt {
        /// The receipt.
        receipt: Receipt,
        /// Where to say it was recorded.
        ack: oneshot::Sender<bool>,
    },
}

/// Why a bind session ended.
#[derive(Debug, Error)]
pub enum EsmeError {
    /// TCP connect or I/O failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The PDU could not be encoded or decoded.
    #[error("SMPP codec: {0}")]
    Codec(String),
    /// The SMSC refused the bind with this command_status.
    #[error("bind refused: {}", status::name(*.0))]
    BindRefused(u32),
    /// No answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The SMSC closed the connection or unbound.
    #[error("the SMSC closed the bind")]
    Closed,
    /// A setting does not fit its SMPP field.
    #[error("setting {0} does not fit its SMPP field")]
    BadSetting(&'static str),
}

impl EsmeError {
    /// Why a session closed, as the bind's error (`io`: the I/O error that ended it, if one).
    fn of(reason: &CloseReason, io: Option<std::io::Error>) -> Self {
        match reason {
            CloseReason::BindRefused { status } => Self::BindRefused(*status),
            CloseReason::BindTimedOut => Self::Timeout("bind_transceiver_resp"),
            CloseReason::LinkDead => Self::Timeout("enquire_link_resp"),
            CloseReason::Framing(e) => Self::Codec(e.to_string()),
            CloseReason::ConnectionLost => io.map_or(Self::Closed, Self::Io),
            CloseReason::UnboundByPeer | CloseReason::Unbound | CloseReason::Closed => Self::Closed,
        }
    }

    /// The text of [`EsmeError::of`] without taking the I/O error.
    fn describe(reason: &CloseReason, io: Option<&std::io::Error>) -> String {
        match (reason, io) {
            (CloseReason::ConnectionLost, Some(e)) => format!("I/O: {e}"),
            _ => Self::of(reason, None).to_string(),
        }
    }
}

/// One bind, as seen from outside the actor.
#[derive(Debug, Clone)]
pub struct Esme {
    /// Its name (metric label `bind`).
    pub name: String,
    /// The negotiated interface_version while bound.
    up: watch::Receiver<Option<u8>>,
}

impl Esme {
    /// The bind and its [`Task`] (for the supervisor, in the links stage): jobs from `jobs`,
    /// events to `events`; it binds, runs and binds again until its stop signal turns true,
    /// and then unbinds.
    pub fn new(
        name: String,
        settings: SmppConfig,
        jobs: JobQueue,
        events: mpsc::Sender<EsmeEvent>,
    ) -> (Self, Task) {
        let (up_tx, up_rx) = watch::channel(None);
        let esme = Self {
            name: name.clone(),
            up: up_rx,
        };
        let up = Arc::new(up_tx);
        let task = Task::new(format!("smpp bind {name}"), Stage::Links, move |stop| {
            let actor = Actor {
                name: name.clone(),
                offer: Offer::new(settings.interface_version.octet()),
                settings: settings.clone(),
                jobs: jobs.clone(),
                events: events.clone(),
                up: up.clone(),
                pending: None,
            };
            actor.run(stop)
        });
        (esme, task)
    }

    /// Whether the bind is up.
    pub fn is_bound(&self) -> bool {
        self.up.borrow().is_some()
    }

    /// The SMPP version the bind runs (0x34 or 0x50), while it is up.
    pub fn interface_version(&self) -> Option<u8> {
        *self.up.borrow()
    }

    /// Waits until the bind is up (or `timeout`).
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        let mut rx = self.up.clone();
        tokio::time::timeout(timeout, rx.wait_for(|u| u.is_some()))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

struct Actor {
    name: String,
    settings: SmppConfig,
    jobs: JobQueue,
    events: mpsc::Sender<EsmeEvent>,
    up: Arc<watch::Sender<Option<u8>>>,
    /// interface_version offered in the next bind.
    offer: Offer,
    /// A job taken from the queue that the session's timing did not let go yet (it goes first,
    /// on this bind or the next one).
    pending: Option<SubmitJob>,
}

/// The session settings of a bind.
fn session_config(s: &SmppConfig) -> Config {
    Config {
        window: s.window.max(1),
        max_rate_per_sec: Some(s.max_rate_per_sec),
        response_timeout: Some(s.response_timeout),
        enquire_link_interval: Some(s.enquire_link.max(Duration::from_secs(1))),
        ..Config::default()
    }
}

/// The first pause before binding again.
pub const FIRST_RECONNECT_BACKOFF: Duration = Duration::from_millis(100);

/// How long a bind must stay up for the reconnection back-off to start again from
/// [`FIRST_RECONNECT_BACKOFF`]: an SMSC that accepts binds and drops them at once is bound
/// again ever more slowly (up to `max_reconnect_backoff`), not every 100 ms.
pub const STABLE_BIND: Duration = Duration::from_secs(30);

/// Reconnection pacing of one bind, and which of its reconnection log lines are written. Pure.
///
/// The pause before binding again starts at [`FIRST_RECONNECT_BACKOFF`] and doubles after each
/// attempt up to the configured maximum; only a bind that stayed up [`STABLE_BIND`] starts it
/// again. Failures in a row (binds refused or lost before they were stable) are counted; the
/// first three are logged, then only the 4th, 8th, 16th... with the count, so a flapping SMSC
/// writes a few lines an hour, not two per attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reconnect {
    pause: Duration,
    max: Duration,
    failures: u32,
}

impl Reconnect {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            pause: FIRST_RECONNECT_BACKOFF,
            max: max.max(FIRST_RECONNECT_BACKOFF),
            failures: 0,
        }
    }

    /// A bind that had been up for `up` was lost.
    pub(crate) fn bind_ended(&mut self, up: Duration) {
        if up >= STABLE_BIND {
            self.pause = FIRST_RECONNECT_BACKOFF;
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
    }

    /// A connection or bind attempt failed.
    pub(crate) fn bind_failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// The pause before the next attempt.
    pub(crate) fn pause(&self) -> Duration {
        self.pause
    }

    /// After an attempt: the next pause doubles, up to the maximum.
    pub(crate) fn grow(&mut self) {
        self.pause = (self.pause * 2).min(self.max);
    }

    /// Failures (and lost binds) in a row since the last stable bind.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the line about the present failure (or the bind that follows it) is written.
    pub(crate) fn log_now(&self) -> bool {
        self.failures <= 3 || self.failures.is_power_of_two()
    }
}

/// How long a stopping bind waits for the answers to its window and for its receipts to be
/// recorded before it unbinds: the response timeout, at most [`MAX_DRAIN`].
fn drain_limit(s: &SmppConfig) -> Duration {
    s.response_timeout.min(MAX_DRAIN)
}

/// A draining bind unbinds once no deliver_sm has come for this long (and its window and
/// receipts are done), so the SMSC's receipts for the last submits are not cut off.
pub const RECEIPTS_QUIET: Duration = Duration::from_millis(200);

/// When a draining bind looks again by itself: when the SMSC has been quiet long enough (if
/// that is still to come), else at the drain's deadline (answers and acks wake it too).
fn drain_wake(draining: Option<Instant>, last_deliver: Instant) -> Instant {
    let now = Instant::now();
    let deadline = draining.unwrap_or(now);
    let quiet = last_deliver + RECEIPTS_QUIET;
    if quiet > now {
        quiet.min(deadline)
    } else {
        deadline
    }
}

/// The longest drain of a stopping bind (within the supervisor's grace for the links stage).
pub const MAX_DRAIN: Duration = Duration::from_secs(5);

/// The outbox row id of a session request id (the row id's bits, unchanged both ways).
fn row_id(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

/// The session request id of an outbox row id.
fn request_id(row: i64) -> u64 {
    u64::from_ne_bytes(row.to_ne_bytes())
}

/// When a job may be taken: `Some(None)` now, `Some(Some(at))` at `at`, `None` not until the
/// session changes (see [`Session::submit_ready`]).
fn ready_at(ready: Ready) -> Option<Option<Instant>> {
    match ready {
        Ready::Now => Some(None),
        Ready::At(at) => Some(Some(Instant::from_std(at))),
        Ready::No => None,
    }
}

impl Actor {
    fn set_up(&self, version: Option<u8>) {
        let _ = self.up.send(version);
        metrics::gauge!(names::SMPP_BIND_UP, "bind" => self.name.clone())
            .set(if version.is_some() { 1.0 } else { 0.0 });
        // 3.4 or 5.0 while bound, 0 while not.
        let shown = version.map_or(0.0, |v| f64::from(v >> 4) + f64::from(v & 0x0F) / 10.0);
        metrics::gauge!(names::SMPP_INTERFACE_VERSION, "bind" => self.name.clone()).set(shown);
        // Each bind starts unaware of the SMSC's congestion.
        self.congestion_gauge(0);
    }

    fn congestion_gauge(&self, state: u8) {
        metrics::gauge!(names::SMPP_CONGESTION_STATE, "bind" => self.name.clone())
            .set(f64::from(state));
    }

    fn window_gauge(&self, n: usize) {
        metrics::gauge!(names::SMPP_WINDOW_IN_USE, "bind" => self.name.clone()).set(n as f64);
    }

    fn count_submit(&self, status: &str) {
        metrics::counter!(
            names::SMPP_SUBMITS,
            "bind" => self.name.clone(),
            "status" => status.to_string()
        )
        .increment(1);
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        self.set_up(None);
        self.window_gauge(0);
        let mut pacing = Reconnect::new(self.settings.max_reconnect_backoff);
        loop {
            if *stop.borrow() || stop.has_changed().is_err() {
                break;
            }
            match self.connect_and_bind().await {
                Ok((link, version)) => {
                    if pacing.log_now() {
                        tracing::info!(
                            bind = %self.name,
                            smsc = %self.settings.smsc,
                            version = %super::version_name(version),
                            drops = pacing.failures(),
                            "SMPP bound"
                        );
                    }
                    self.set_up(Some(version));
                    let since = Instant::now();
                    let ended = self.session(link, &mut stop).await;
                    self.set_up(None);
                    self.window_gauge(0);
                    // The next bind offers the configured version again (the SMSC may have
                    // been upgraded, or its refusal was passing).
                    self.offer.bind_ended();
                    match ended {
                        Ok(()) => break,
                        Err(e) => {
                            pacing.bind_ended(since.elapsed());
                            if pacing.log_now() {
                                tracing::warn!(bind = %self.name, error = %e, drops = pacing.failures(), next_try_ms = pacing.pause().as_millis() as u64, "SMPP bind lost");
                            }
                        }
                    }
                }
                Err(e) => {
                    pacing.bind_failed();
                    if pacing.log_now() {
                        tracing::warn!(bind = %self.name, smsc = %self.settings.smsc, error = %e, failures = pacing.failures(), next_try_ms = pacing.pause().as_millis() as u64, "SMPP bind failed");
                    }
                    if let EsmeError::BindRefused(code) = e {
                        if self.offer.refused(code) {
                            tracing::warn!(
                                bind = %self.name,
                                "the SMSC refused an SMPP 5.0 bind; binding with SMPP 3.4"
                            );
                            continue; // at once, offering 3.4
                        }
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pacing.pause()) => {}
                _ = stop.changed() => {}
            }
            pacing.grow();
        }
        if let Some(job) = self.pending.take() {
            let _ = self.events.send(EsmeEvent::Unsent { id: job.id }).await;
        }
        self.set_up(None);
    }

    async fn connect_and_bind(&mut self) -> Result<(Link, u8), EsmeError> {
        let timeout = self.settings.response_timeout;
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(self.settings.smsc))
            .await
            .map_err(|_| EsmeError::Timeout("the TCP connection"))??;
        let _ = tcp.set_nodelay(true);
        let bind = BindRequest {
            kind: BindKind::Transceiver,
            system_id: self.settings.system_id.clone(),
            password: self.settings.password.clone(),
            system_type: self.settings.system_type.clone(),
            interface_version: self.offer.next(),
        };
        let session = Session::client(
            session_config(&self.settings),
            &bind,
            std::time::Instant::now(),
        )
        .map_err(|e| match e {
            SessionError::Field(what) => EsmeError::BadSetting(what),
            other => EsmeError::Codec(other.to_string()),
        })?;
        let mut link = Link::new(tcp, session);
        loop {
            while let Some(event) = link.session.poll_event() {
                match event {
                    Event::Bound { version } => return Ok((link, version)),
                    Event::Closed(reason) => return Err(EsmeError::of(&reason, link.io_error)),
                    _ => {}
                }
            }
            link.flush().await;
            if !link.session.is_closed() {
                link.input().await;
            }
        }
    }

    /// Runs a bound session until the bind is lost (Err) or `stop` (Ok).
    async fn session(
        &mut self,
        mut link: Link,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), EsmeError> {
        // Receipts handed to the worker, until it says whether it recorded them.
        let mut acks: JoinSet<(u32, bool)> = JoinSet::new();
        let jobs = self.jobs.clone();
        let mut stopping = false;
        // Since stop: no job is taken; the window and the receipts drain until this deadline,
        // then the bind unbinds.
        let mut draining: Option<Instant> = None;
        let mut in_window = 0usize;
        let mut late = 0u64;
        // When the last deliver_sm came: a draining bind waits for the SMSC to fall quiet.
        let mut last_deliver = Instant::now();
        loop {
            while let Some(event) = link.session.poll_event() {
                match event {
                    Event::Outcome { id, outcome } => {
                        self.on_outcome(row_id(id), outcome, stopping, &link).await;
                    }
                    Event::DeliverSm {
                        sequence_number,
                        pdu,
                    } => {
                        last_deliver = Instant::now();
                        if stopping {
                            // Unbinding: refused at once (the SMSC sends it again on the next
                            // bind) rather than left unanswered.
                            let _ = link
                                .session
                                .respond_deliver_sm(sequence_number, ESME_RX_T_APPN);
                        } else {
                            self.on_deliver_sm(&mut link.session, sequence_number, &pdu, &mut acks)
                                .await;
                        }
                    }
                    Event::Congestion {
                        state,
                        pace,
                        previous,
                    } => self.on_congestion(&link.session, state, pace, previous),
                    Event::CongestionForgotten { previous } => {
                        // An SMSC silent for FORGET_AFTER is forgotten: the gauge goes back to
                        // 0 and a slowed bind to its configured pace.
                        self.congestion_gauge(0);
                        if previous != Pace::Full {
                            tracing::info!(bind = %self.name, "SMSC no longer reports congestion: the bind runs at its configured pace");
                        }
                    }
                    Event::Closed(reason) => {
                        link.flush().await;
                        if stopping && reason == CloseReason::Unbound {
                            return Ok(());
                        }
                        return Err(EsmeError::of(&reason, link.io_error.take()));
                    }
                    Event::Bound { .. } | Event::BindRequested { .. } | Event::SubmitSm { .. } => {}
                }
            }
            link.flush().await;
            if link.session.is_closed() {
                continue; // its Closed event is next
            }
            if link.session.in_flight() != in_window {
                in_window = link.session.in_flight();
                self.window_gauge(in_window);
            }
            let stats = link.session.stats();
            if stats.late_responses != late {
                late = stats.late_responses;
                tracing::debug!(bind = %self.name, late, "submit_sm_resp after its timeout dropped");
            }
            if let Some(deadline) = draining.filter(|_| !stopping) {
                let drained = link.session.in_flight() == 0
                    && acks.is_empty()
                    && last_deliver.elapsed() >= RECEIPTS_QUIET;
                if drained || Instant::now() >= deadline {
                    if !drained {
                        tracing::warn!(bind = %self.name, in_window = link.session.in_flight(), receipts = acks.len(), "SMPP bind unbinding before its window and receipts drained");
                    }
                    stopping = true;
                    link.session.unbind(std::time::Instant::now());
                    if let Some(job) = self.pending.take() {
                        let _ = self.events.send(EsmeEvent::Unsent { id: job.id }).await;
                    }
                    continue; // the unbind goes out first
                }
            }
            let ready = if draining.is_some() {
                None
            } else {
                ready_at(link.session.submit_ready(std::time::Instant::now()))
            };
            tokio::select! {
                changed = stop.changed(), if draining.is_none() => {
                    if changed.is_err() || *stop.borrow() {
                        draining = Some(Instant::now() + drain_limit(&self.settings));
                    }
                }
                () = tokio::time::sleep_until(drain_wake(draining, last_deliver)), if draining.is_some() && !stopping => {}
                () = link.input() => {}
                job = async {
                    if let Some(Some(at)) = ready {
                        tokio::time::sleep_until(at).await;
                    }
                    match self.pending.take() {
                        Some(job) => Some(job),
                        None => jobs.lock().await.recv().await,
                    }
                }, if ready.is_some() => {
                    let Some(job) = job else {
                        // The worker is gone: nothing more to send; keep serving receipts.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    self.pending = self.submit(&mut link.session, job).await;
                }
                Some(Ok((seq, recorded))) = acks.join_next(), if !acks.is_empty() => {
                    let status = if recorded { ESME_ROK } else { ESME_RX_T_APPN };
                    // The receipt may have outlived nothing: a closed session has no such seq.
                    let _ = link.session.respond_deliver_sm(seq, status);
                }
            }
        }
    }

    /// Sends `job` if its claim holds and the session lets it go now; gives it back when the
    /// session's timing says not yet.
    async fn submit(&self, session: &mut Session, job: SubmitJob) -> Option<SubmitJob> {
        let now = Instant::now();
        if job.lease_until <= now + self.settings.response_timeout {
            let _ = self.events.send(EsmeEvent::LeaseLost { id: job.id }).await;
            return None;
        }
        let std_now = now.into_std();
        if session.submit_ready(std_now) != Ready::Now {
            return Some(job);
        }
        match submit_sm(&job, &self.settings) {
            Ok(pdu) => match session.submit(std_now, request_id(job.id), pdu) {
                Ok(_) => None,
                Err(_) => Some(job),
            },
            Err(cause) => {
                self.count_submit("invalid");
                let _ = self
                    .events
                    .send(EsmeEvent::Permanent { id: job.id, cause })
                    .await;
                None
            }
        }
    }

    /// What became of the submit of outbox row `id`, to the worker (and the metrics).
    async fn on_outcome(&self, id: i64, outcome: Outcome, stopping: bool, link: &Link) {
        let event = match outcome {
            Outcome::Accepted { message_id } => {
                self.count_submit("ESME_ROK");
                if message_id.is_empty() {
                    EsmeEvent::Transient {
                        id,
                        cause: "submit_sm_resp without a message_id".into(),
                    }
                } else {
                    EsmeEvent::Submitted { id, message_id }
                }
            }
            Outcome::SlowDown { status } => {
                self.count_submit(&status::name(status));
                tracing::debug!(bind = %self.name, status = %status::name(status), pause_ms = link.session.throttle_pause().as_millis() as u64, "SMSC asks to slow down");
                EsmeEvent::SlowDown { id, status }
            }
            Outcome::Transient { status } => {
                self.count_submit(&status::name(status));
                EsmeEvent::Transient {
                    id,
                    cause: format!("submit_sm_resp {}", status::name(status)),
                }
            }
            Outcome::Permanent { status } => {
                self.count_submit(&status::name(status));
                EsmeEvent::Permanent {
                    id,
                    cause: format!("submit_sm_resp {}", status::name(status)),
                }
            }
            Outcome::Unanswered(Unanswered::TimedOut) => {
                self.count_submit("timeout");
                EsmeEvent::Unknown {
                    id,
                    cause: "submit_sm_resp timed out".into(),
                }
            }
            Outcome::Unanswered(Unanswered::Closed(reason)) => {
                self.count_submit("unknown");
                let cause = if stopping && reason == CloseReason::Unbound {
                    "the gateway stopped with the request in flight".to_string()
                } else {
                    format!(
                        "no submit_sm_resp: {}",
                        EsmeError::describe(&reason, link.io_error.as_ref())
                    )
                };
                EsmeEvent::Unknown { id, cause }
            }
        };
        let _ = self.events.send(event).await;
    }

    /// The SMSC reported its congestion_state; the session has set its pace.
    fn on_congestion(&self, session: &Session, state: u8, pace: Pace, previous: Pace) {
        self.congestion_gauge(state);
        if pace != previous {
            let rate = pace.rate(self.settings.max_rate_per_sec);
            let window = pace.window(self.settings.window.max(1));
            if pace == Pace::Full {
                tracing::info!(bind = %self.name, congestion_state = state, rate, window, "SMSC congestion over: the bind runs at its configured pace");
            } else {
                tracing::warn!(bind = %self.name, congestion_state = state, pace = pace.as_str(), rate, window, "SMSC reports congestion: the bind slows down");
            }
        }
        if pace.backs_off() {
            tracing::debug!(bind = %self.name, congestion_state = state, pause_ms = session.throttle_pause().as_millis() as u64, "SMSC congested");
        }
    }

    /// A deliver_sm: a receipt goes to the worker and is answered once recorded; anything else
    /// (mobile-originated traffic is not ours to handle) is accepted at once.
    async fn on_deliver_sm(
        &self,
        session: &mut Session,
        seq: u32,
        sm: &DeliverSm,
        acks: &mut JoinSet<(u32, bool)>,
    ) {
        let Some(receipt) = receipt::from_deliver_sm(sm) else {
            let _ = session.respond_deliver_sm(seq, ESME_ROK);
            return;
        };
        metrics::counter!(names::SMPP_RECEIPTS, "state" => receipt.state.as_str()).increment(1);
        let (ack_tx, ack_rx) = oneshot::channel();
        if self
            .events
            .send(EsmeEvent::Receipt {
                receipt,
                ack: ack_tx,
            })
            .await
            .is_err()
        {
            let _ = session.respond_deliver_sm(seq, ESME_RX_T_APPN);
            return;
        }
        acks.spawn(async move { (seq, ack_rx.await.unwrap_or(false)) });
    }
}

/// The submit_sm for a job. esm_class and data_coding are sent exactly as stored (rusmpp's
/// default esm_class is not 0x00, so it is always set explicitly).
fn submit_sm(job: &SubmitJob, s: &SmppConfig) -> Result<SubmitSm, String> {
    let dest = job.destination.strip_prefix('+');
    let (ton, digits) = match dest {
        Some(d) => (Ton::International, d),
        None => (Ton::Unknown, job.destination.as_str()),
    };
    let destination_addr = COctetString::from_string(digits.to_string())
        .map_err(|e| format!("destination {:?}: {e}", job.destination))?;
    let source_addr = COctetString::from_string(s.source_addr.clone())
        .map_err(|e| format!("source_addr {:?}: {e}", s.source_addr))?;
    let short_message = OctetString::from_vec(job.payload.clone())
        .map_err(|e| format!("short_message of {} octets: {e}", job.payload.len()))?;
    let service_type = if job.wap_push {
        ServiceType::new(
            COctetString::from_string("WAP".to_string())
                .map_err(|e| format!("service_type: {e}"))?,
        )
    } else {
        ServiceType::null()
    };
    Ok(SubmitSm::builder()
        .service_type(service_type)
        .source_addr_ton(Ton::Unknown)
        .source_addr_npi(Npi::Unknown)
        .source_addr(source_addr)
        .dest_addr_ton(ton)
        .dest_addr_npi(Npi::Isdn)
        .destination_addr(destination_addr)
        .esm_class(EsmClass::from(job.esm_class))
        .protocol_id(0)
        .schedule_delivery_time(EmptyOrFullCOctetString::empty())
        .validity_period(EmptyOrFullCOctetString::empty())
        .registered_delivery(RegisteredDelivery::from(1u8))
        .data_coding(DataCoding::from(job.data_coding))
        .short_message(short_message)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_go_through_the_session_unchanged() {
        for row in [1i64, 42, i64::MAX, -1, 0] {
            assert_eq!(row_id(request_id(row)), row);
        }
    }

    #[test]
    fn close_reasons_read_as_before() {
        assert_eq!(
            EsmeError::describe(&CloseReason::LinkDead, None),
            "timed out waiting for enquire_link_resp"
        );
        assert_eq!(
            EsmeError::describe(&CloseReason::UnboundByPeer, None),
            "the SMSC closed the bind"
        );
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(
            EsmeError::describe(&CloseReason::ConnectionLost, Some(&reset)).starts_with("I/O: ")
        );
        assert!(matches!(
            EsmeError::of(&CloseReason::BindRefused { status: 0x0E }, None),
            EsmeError::BindRefused(0x0E)
        ));
        assert_eq!(
            EsmeError::of(&CloseReason::BindTimedOut, None).to_string(),
            "timed out waiting for bind_transceiver_resp"
        );
    }

    #[test]
    fn a_bind_dropped_at_once_backs_off_ever_longer_and_logs_less() {
        let mut r = Reconnect::new(Duration::from_secs(10));
        let mut pauses = Vec::new();
        let mut logged = 0;
        for _ in 0..706 {
            // bound, then dropped after 50 ms
            r.bind_ended(Duration::from_millis(50));
            if r.log_now() {
                logged += 1;
            }
            pauses.push(r.pause());
            r.grow();
        }
        assert_eq!(pauses[0], FIRST_RECONNECT_BACKOFF);
        assert_eq!(pauses[1], Duration::from_millis(200));
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "never shorter");
        assert_eq!(pauses.last(), Some(&Duration::from_secs(10)));
        assert!(logged <= 12, "{logged} lines for 706 drops");
        assert_eq!(r.failures(), 706);
        // A bind that stayed up a while starts the back-off (and the log) again.
        r.bind_ended(STABLE_BIND);
        assert_eq!(r.pause(), FIRST_RECONNECT_BACKOFF);
        assert_eq!(r.failures(), 1);
        assert!(r.log_now());
    }

    #[test]
    fn refused_binds_back_off_too() {
        let mut r = Reconnect::new(Duration::from_millis(300));
        r.bind_failed();
        assert_eq!(r.pause(), FIRST_RECONNECT_BACKOFF);
        r.grow();
        r.grow();
        r.grow();
        assert_eq!(r.pause(), Duration::from_millis(300));
    }

    #[test]
    fn esm_class_round_trips() {
        for v in [0x00u8, 0x40, 0x04, 0x44] {
            assert_eq!(u8::from(EsmClass::from(v)), v);
        }
        assert_eq!(u8::from(DataCoding::from(0x04u8)), 0x04);
    }
}
