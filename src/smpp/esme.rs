//! One SMPP bind towards the SMSC, as an actor (SMPP 3.4 §2, §4).
//!
//! The actor connects over TCP, sends `bind_transceiver` (system_id, password, system_type,
//! interface_version) and, once bound, takes [`SubmitJob`]s from the queue it shares with the other binds, but only
//! while it has room in its window (at most `window` `submit_sm` awaiting their
//! `submit_sm_resp`, correlated by sequence number) and a token in its bucket (at most
//! `max_rate_per_sec`). An `ESME_RTHROTTLED` or `ESME_RMSGQFUL` answer pauses the bind (20 ms,
//! doubling up to [`MAX_THROTTLE_PAUSE`] while the SMSC keeps refusing); any other answer resets
//! the pause. It sends `enquire_link` every
//! `enquire_link_secs` and drops the bind after two unanswered; it answers the SMSC's
//! `enquire_link` and `unbind`. `deliver_sm` receipts go to the outbox worker, and their
//! `deliver_sm_resp` is sent once the worker has recorded them (a receipt the gateway could not
//! record is refused with ESME_RX_T_APPN, so the SMSC sends it again). On any loss of the bind
//! every request still in the window is reported [`EsmeEvent::Unknown`], and the actor
//! reconnects with a growing back-off.
//!
//! **Version.** The bind offers `interface_version` (5.0 by default). The bind runs the lower of
//! that and the SMSC's `sc_interface_version` (SMPP 5.0 §4.1.1.4; none given: 3.4). An SMSC that
//! refuses a 5.0 bind for another reason than the credentials (some 3.4 SMSCs refuse versions
//! they do not know) is bound again at once offering 3.4; after that bind ends, the next one
//! offers the configured version again. otagw's use of
//! SMPP (submit_sm, deliver_sm receipts, enquire_link, unbind) is the same in both versions.
//!
//! **Congestion (5.0 only).** On a 5.0 bind the actor reads the SMSC's `congestion_state` TLV
//! from every response that carries one (`submit_sm_resp`, `enquire_link_resp`, `generic_nack`,
//! `unbind_resp`; the link's [`SmppCodec`] keeps the bodies rusmpp does not decode) and paces
//! itself by [`super::congestion`]: from 90 it runs at half its rate and window, at 100 it also
//! pauses after each such answer as after `ESME_RTHROTTLED`, and below 80 it is back to the
//! configured rate and window. Every bind starts at the configured pace.
//!
//! Metrics: `otagw_smpp_bind_up{bind}`, `otagw_smpp_interface_version{bind}`, `otagw_smpp_window_in_use{bind}`,
//! `otagw_smpp_congestion_state{bind}`, `otagw_smpp_submits_total{bind,status}`,
//! `otagw_smpp_receipts_total{state}`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::types::{COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, InterfaceVersion, Npi, RegisteredDelivery, ServiceType, Ton,
};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::codec::{Received, SmppCodec};
use super::congestion::{self, Pace};
use super::receipt::{self, Receipt};
use super::status::{self, StatusClass};
use super::SmppSettings;

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

/// One bind, as seen from outside the actor.
#[derive(Debug, Clone)]
pub struct Esme {
    /// Its name (metric label `bind`).
    pub name: String,
    /// The negotiated interface_version while bound.
    up: watch::Receiver<Option<u8>>,
}

impl Esme {
    /// Starts the actor: jobs from `jobs`, events to `events`, until `stop` turns true.
    pub fn spawn(
        name: String,
        settings: SmppSettings,
        jobs: JobQueue,
        events: mpsc::Sender<EsmeEvent>,
        stop: watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (up_tx, up_rx) = watch::channel(None);
        let esme = Self {
            name: name.clone(),
            up: up_rx,
        };
        let settings_offer = settings.interface_version;
        let actor = Actor {
            name,
            settings,
            jobs,
            events,
            up: up_tx,
            next_seq: 1,
            offer: settings_offer,
        };
        (esme, tokio::spawn(actor.run(stop)))
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
    settings: SmppSettings,
    jobs: JobQueue,
    events: mpsc::Sender<EsmeEvent>,
    up: watch::Sender<Option<u8>>,
    next_seq: u32,
    /// interface_version offered in the next bind.
    offer: u8,
}

type Link = Framed<TcpStream, SmppCodec>;

/// The longest pause after ESME_RTHROTTLED / ESME_RMSGQFUL (the pause starts at 20 ms and
/// doubles while the SMSC keeps refusing).
pub const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(1);

struct InFlight {
    id: i64,
    sent_at: Instant,
}

/// Token bucket: `rate` tokens a second, a burst of at most `burst`.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        let burst = (rate / 10.0).max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.at = now;
    }

    /// When the next token is there (now if there is one).
    fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= 1.0 {
            now
        } else {
            now + Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }

    fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// Runs at `rate` from now on (the tokens gathered so far are kept, up to the new burst).
    fn set_rate(&mut self, rate: u32, now: Instant) {
        self.refill(now);
        let fresh = Self::new(rate);
        self.rate = fresh.rate;
        self.burst = fresh.burst;
        self.tokens = self.tokens.min(fresh.burst);
    }
}

/// Pauses the bind after an answer asking it to slow down: the pause starts at 20 ms and doubles
/// up to [`MAX_THROTTLE_PAUSE`] while the answers keep asking; answers to requests already in
/// the window when the pause began do not lengthen it again.
fn slow_down(now: Instant, paused_until: &mut Instant, pause: &mut Duration) {
    if now >= *paused_until {
        *pause = (*pause * 2).clamp(Duration::from_millis(20), MAX_THROTTLE_PAUSE);
        *paused_until = now + *pause;
    }
}

/// The congestion_state a response from the SMSC carries, on a bind running `version`: from
/// the TLVs of a `submit_sm_resp`, or from the body of a header-only response
/// (`enquire_link_resp`, `generic_nack`, `unbind_resp`) that [`SmppCodec`] set aside.
fn congestion_of(version: u8, cmd: &Command, body: &[u8]) -> Option<u8> {
    if u32::from(cmd.id()) & 0x8000_0000 == 0 {
        return None; // a request
    }
    match cmd.pdu() {
        Some(Pdu::SubmitSmResp(r)) => congestion::reported(version, r.tlvs()),
        _ => congestion::reported_in_body(version, body),
    }
}

fn c_string<const MIN: usize, const MAX: usize>(
    s: &str,
    what: &'static str,
) -> Result<COctetString<MIN, MAX>, EsmeError> {
    COctetString::from_string(s.to_string()).map_err(|_| EsmeError::BadSetting(what))
}

fn codec_err(e: impl std::fmt::Display) -> EsmeError {
    EsmeError::Codec(e.to_string())
}

impl Actor {
    fn seq(&mut self) -> u32 {
        let s = self.next_seq;
        // Sequence numbers run 0x00000001..=0x7FFFFFFF (SMPP 3.4 §3.2).
        self.next_seq = if s >= 0x7FFF_FFFF { 1 } else { s + 1 };
        s
    }

    fn set_up(&self, version: Option<u8>) {
        let _ = self.up.send(version);
        metrics::gauge!("otagw_smpp_bind_up", "bind" => self.name.clone())
            .set(if version.is_some() { 1.0 } else { 0.0 });
        // 3.4 or 5.0 while bound, 0 while not.
        let shown = version.map_or(0.0, |v| f64::from(v >> 4) + f64::from(v & 0x0F) / 10.0);
        metrics::gauge!("otagw_smpp_interface_version", "bind" => self.name.clone()).set(shown);
        // Each bind starts unaware of the SMSC's congestion.
        self.congestion_gauge(0);
    }

    fn congestion_gauge(&self, state: u8) {
        metrics::gauge!("otagw_smpp_congestion_state", "bind" => self.name.clone())
            .set(f64::from(state));
    }

    fn window_gauge(&self, n: usize) {
        metrics::gauge!("otagw_smpp_window_in_use", "bind" => self.name.clone()).set(n as f64);
    }

    fn count_submit(&self, status: &str) {
        metrics::counter!(
            "otagw_smpp_submits_total",
            "bind" => self.name.clone(),
            "status" => status.to_string()
        )
        .increment(1);
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        self.set_up(None);
        self.window_gauge(0);
        let mut backoff = Duration::from_millis(100);
        loop {
            if *stop.borrow() || stop.has_changed().is_err() {
                break;
            }
            match self.connect_and_bind().await {
                Ok((link, version)) => {
                    backoff = Duration::from_millis(100);
                    tracing::info!(
                        bind = %self.name,
                        smsc = %self.settings.smsc,
                        version = %super::version_name(version),
                        "SMPP bound"
                    );
                    self.set_up(Some(version));
                    let ended = self.session(link, version, &mut stop).await;
                    self.set_up(None);
                    self.window_gauge(0);
                    // The next bind offers the configured version again (the SMSC may have
                    // been upgraded, or its refusal was passing).
                    self.offer = self.settings.interface_version;
                    match ended {
                        Ok(()) => break,
                        Err(e) => tracing::warn!(bind = %self.name, error = %e, "SMPP bind lost"),
                    }
                }
                Err(e) => {
                    tracing::warn!(bind = %self.name, smsc = %self.settings.smsc, error = %e, "SMPP bind failed");
                    if let EsmeError::BindRefused(code) = e {
                        if self.after_refusal(code) {
                            continue; // at once, offering 3.4
                        }
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => {}
            }
            backoff = (backoff * 2).min(self.settings.max_reconnect_backoff.max(backoff));
        }
        self.set_up(None);
    }

    /// A refused 5.0 bind is offered again as 3.4 (true), unless the credentials were the
    /// problem.
    fn after_refusal(&mut self, code: u32) -> bool {
        let credentials = [
            u32::from(CommandStatus::EsmeRinvpaswd),
            u32::from(CommandStatus::EsmeRinvsysid),
        ];
        if self.offer > super::SMPP_3_4 && !credentials.contains(&code) {
            tracing::warn!(
                bind = %self.name,
                "the SMSC refused an SMPP 5.0 bind; binding with SMPP 3.4"
            );
            self.offer = super::SMPP_3_4;
            return true;
        }
        false
    }

    async fn connect_and_bind(&mut self) -> Result<(Link, u8), EsmeError> {
        let timeout = self.settings.response_timeout;
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(self.settings.smsc))
            .await
            .map_err(|_| EsmeError::Timeout("the TCP connection"))??;
        let _ = tcp.set_nodelay(true);
        let mut link = Framed::new(tcp, SmppCodec::new());
        let bind = BindTransceiver::builder()
            .system_id(c_string(&self.settings.system_id, "system_id")?)
            .password(c_string(&self.settings.password, "password")?)
            .system_type(c_string(&self.settings.system_type, "system_type")?)
            .interface_version(InterfaceVersion::from(self.offer))
            .build();
        let seq = self.seq();
        link.send(Command::new(CommandStatus::EsmeRok, seq, bind))
            .await
            .map_err(codec_err)?;
        let deadline = Instant::now() + timeout;
        loop {
            let cmd = tokio::time::timeout_at(deadline, link.next())
                .await
                .map_err(|_| EsmeError::Timeout("bind_transceiver_resp"))?
                .ok_or(EsmeError::Closed)?
                .map_err(codec_err)?
                .command;
            match cmd.id() {
                CommandId::BindTransceiverResp | CommandId::GenericNack
                    if cmd.sequence_number() == seq =>
                {
                    let code = u32::from(cmd.status());
                    if let (0, Some(Pdu::BindTransceiverResp(resp))) = (code, cmd.pdu()) {
                        let sc_version = resp.sc_interface_version().map(u8::from);
                        return Ok((link, super::negotiated_version(self.offer, sc_version)));
                    }
                    return Err(EsmeError::BindRefused(code));
                }
                CommandId::EnquireLink => {
                    link.send(Command::new(
                        CommandStatus::EsmeRok,
                        cmd.sequence_number(),
                        Pdu::EnquireLinkResp,
                    ))
                    .await
                    .map_err(codec_err)?;
                }
                _ => {}
            }
        }
    }

    /// Runs a bound session until the bind is lost (Err) or `stop` (Ok).
    async fn session(
        &mut self,
        mut link: Link,
        version: u8,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), EsmeError> {
        let mut window: HashMap<u32, InFlight> = HashMap::new();
        let result = self
            .session_loop(&mut link, version, &mut window, stop)
            .await;
        for (_, f) in window.drain() {
            let cause = match &result {
                Ok(()) => "the gateway stopped with the request in flight".to_string(),
                Err(e) => format!("no submit_sm_resp: {e}"),
            };
            self.count_submit("unknown");
            let _ = self
                .events
                .send(EsmeEvent::Unknown { id: f.id, cause })
                .await;
        }
        result
    }

    /// The pace after the SMSC reported congestion_state `state`; the bucket follows it.
    fn on_congestion_state(&self, pace: Pace, state: u8, bucket: &mut Bucket) -> Pace {
        self.congestion_gauge(state);
        let next = pace.after_report(state);
        if next != pace {
            let rate = next.rate(self.settings.max_rate_per_sec);
            bucket.set_rate(rate, Instant::now());
            let window = next.window(self.settings.window.max(1));
            if next == Pace::Full {
                tracing::info!(bind = %self.name, congestion_state = state, rate, window, "SMSC congestion over: the bind runs at its configured pace");
            } else {
                tracing::warn!(bind = %self.name, congestion_state = state, pace = next.as_str(), rate, window, "SMSC reports congestion: the bind slows down");
            }
        }
        next
    }

    async fn session_loop(
        &mut self,
        link: &mut Link,
        version: u8,
        window: &mut HashMap<u32, InFlight>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), EsmeError> {
        let s = self.settings.clone();
        let mut pace = Pace::Full;
        // When the SMSC last reported a congestion_state (None: not since it was forgotten).
        let mut last_report: Option<Instant> = None;
        let mut bucket = Bucket::new(s.max_rate_per_sec);
        let mut paused_until = Instant::now();
        let mut throttle_pause = Duration::ZERO;
        let enquire_every = Duration::from_secs(s.enquire_link_secs.max(1));
        let mut enquire = tokio::time::interval_at(Instant::now() + enquire_every, enquire_every);
        // After a stall (a starved process), one enquire_link, not a burst of the missed ones
        // (two unanswered in a row would drop a healthy bind).
        enquire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unanswered_enquires = 0u32;
        let mut housekeeping = tokio::time::interval(Duration::from_millis(100));
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (ack_tx, mut ack_rx) = mpsc::channel::<(u32, bool)>(256);
        let jobs = self.jobs.clone();
        loop {
            let now = Instant::now();
            let send_at = bucket.ready_at(now).max(paused_until);
            let has_room = window.len() < pace.window(s.window.max(1));
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        self.unbind(link).await;
                        return Ok(());
                    }
                }
                frame = link.next() => {
                    let Received { command: cmd, body } = frame.ok_or(EsmeError::Closed)?.map_err(codec_err)?;
                    // Any response may carry the SMSC's congestion_state (5.0); one that says
                    // congested pauses the bind, whatever its status.
                    let mut congested = false;
                    if let Some(state) = congestion_of(version, &cmd, &body) {
                        last_report = Some(Instant::now());
                        pace = self.on_congestion_state(pace, state, &mut bucket);
                        congested = pace.backs_off();
                        if congested {
                            slow_down(Instant::now(), &mut paused_until, &mut throttle_pause);
                            tracing::debug!(bind = %self.name, congestion_state = state, pause_ms = throttle_pause.as_millis() as u64, "SMSC congested");
                        }
                    }
                    match cmd.id() {
                        CommandId::SubmitSmResp | CommandId::GenericNack => {
                            let Some(f) = window.remove(&cmd.sequence_number()) else {
                                tracing::debug!(bind = %self.name, seq = cmd.sequence_number(), "response to no request in the window");
                                continue;
                            };
                            self.window_gauge(window.len());
                            let code = u32::from(cmd.status());
                            let message_id = match cmd.pdu() {
                                Some(Pdu::SubmitSmResp(r)) => r.message_id().as_str().to_string(),
                                _ => String::new(),
                            };
                            let event = match status::classify(code) {
                                StatusClass::Ok if !message_id.is_empty() => {
                                    if !congested {
                                        throttle_pause = Duration::ZERO;
                                    }
                                    self.count_submit("ESME_ROK");
                                    EsmeEvent::Submitted { id: f.id, message_id }
                                }
                                StatusClass::Ok => {
                                    self.count_submit("ESME_ROK");
                                    EsmeEvent::Transient { id: f.id, cause: "submit_sm_resp without a message_id".into() }
                                }
                                StatusClass::SlowDown => {
                                    slow_down(Instant::now(), &mut paused_until, &mut throttle_pause);
                                    self.count_submit(&status::name(code));
                                    tracing::debug!(bind = %self.name, status = %status::name(code), pause_ms = throttle_pause.as_millis() as u64, "SMSC asks to slow down");
                                    EsmeEvent::SlowDown { id: f.id, status: code }
                                }
                                StatusClass::Transient => {
                                    if !congested {
                                        throttle_pause = Duration::ZERO;
                                    }
                                    self.count_submit(&status::name(code));
                                    EsmeEvent::Transient { id: f.id, cause: format!("submit_sm_resp {}", status::name(code)) }
                                }
                                StatusClass::Permanent => {
                                    if !congested {
                                        throttle_pause = Duration::ZERO;
                                    }
                                    self.count_submit(&status::name(code));
                                    EsmeEvent::Permanent { id: f.id, cause: format!("submit_sm_resp {}", status::name(code)) }
                                }
                            };
                            let _ = self.events.send(event).await;
                        }
                        CommandId::DeliverSm => self.on_deliver_sm(link, &cmd, &ack_tx).await?,
                        CommandId::EnquireLink => {
                            link.send(Command::new(CommandStatus::EsmeRok, cmd.sequence_number(), Pdu::EnquireLinkResp))
                                .await.map_err(codec_err)?;
                        }
                        CommandId::EnquireLinkResp => unanswered_enquires = 0,
                        CommandId::Unbind => {
                            let _ = link.send(Command::new(CommandStatus::EsmeRok, cmd.sequence_number(), Pdu::UnbindResp)).await;
                            return Err(EsmeError::Closed);
                        }
                        CommandId::UnbindResp => {}
                        _ => {
                            // A request we do not serve: generic_nack ESME_RINVCMDID.
                            if u32::from(cmd.id()) & 0x8000_0000 == 0 {
                                link.send(Command::new(CommandStatus::EsmeRinvcmdid, cmd.sequence_number(), Pdu::GenericNack))
                                    .await.map_err(codec_err)?;
                            }
                        }
                    }
                }
                job = async {
                    tokio::time::sleep_until(send_at).await;
                    jobs.lock().await.recv().await
                }, if has_room => {
                    let Some(job) = job else {
                        // The worker is gone: nothing more to send; keep serving receipts.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let now = Instant::now();
                    if job.lease_until <= now + s.response_timeout {
                        let _ = self.events.send(EsmeEvent::LeaseLost { id: job.id }).await;
                        continue;
                    }
                    let seq = self.seq();
                    let id = job.id;
                    match submit_sm(&job, &s) {
                        Ok(pdu) => {
                            bucket.take(now);
                            window.insert(seq, InFlight { id, sent_at: now });
                            self.window_gauge(window.len());
                            link.send(Command::new(CommandStatus::EsmeRok, seq, pdu))
                                .await.map_err(codec_err)?;
                        }
                        Err(cause) => {
                            self.count_submit("invalid");
                            let _ = self.events.send(EsmeEvent::Permanent { id, cause }).await;
                        }
                    }
                }
                _ = enquire.tick() => {
                    if unanswered_enquires >= 2 {
                        return Err(EsmeError::Timeout("enquire_link_resp"));
                    }
                    unanswered_enquires += 1;
                    let seq = self.seq();
                    link.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLink))
                        .await.map_err(codec_err)?;
                }
                _ = housekeeping.tick() => {
                    let now = Instant::now();
                    // An SMSC silent for FORGET_AFTER is forgotten: the gauge goes back to 0 and
                    // a slowed bind to its configured pace.
                    if last_report.is_some_and(|at| congestion::forgotten(now.saturating_duration_since(at))) {
                        last_report = None;
                        self.congestion_gauge(0);
                        if pace != Pace::Full {
                            pace = Pace::Full;
                            bucket.set_rate(s.max_rate_per_sec, now);
                            tracing::info!(bind = %self.name, "SMSC no longer reports congestion: the bind runs at its configured pace");
                        }
                    }
                    let late: Vec<u32> = window
                        .iter()
                        .filter(|(_, f)| now.saturating_duration_since(f.sent_at) >= s.response_timeout)
                        .map(|(seq, _)| *seq)
                        .collect();
                    for seq in late {
                        if let Some(f) = window.remove(&seq) {
                            self.count_submit("timeout");
                            let _ = self.events.send(EsmeEvent::Unknown { id: f.id, cause: "submit_sm_resp timed out".into() }).await;
                        }
                    }
                    self.window_gauge(window.len());
                }
                Some((seq, recorded)) = ack_rx.recv() => {
                    let status = if recorded { CommandStatus::EsmeRok } else { CommandStatus::EsmeRxTAppn };
                    link.send(Command::new(status, seq, DeliverSmResp::new(COctetString::empty(), Vec::new())))
                        .await.map_err(codec_err)?;
                }
            }
        }
    }

    async fn on_deliver_sm(
        &mut self,
        link: &mut Link,
        cmd: &Command,
        acks: &mpsc::Sender<(u32, bool)>,
    ) -> Result<(), EsmeError> {
        let seq = cmd.sequence_number();
        let receipt = match cmd.pdu() {
            Some(Pdu::DeliverSm(sm)) => receipt::from_deliver_sm(sm),
            _ => None,
        };
        let Some(receipt) = receipt else {
            // Not a receipt (mobile-originated traffic is not ours to handle): accept it.
            link.send(Command::new(
                CommandStatus::EsmeRok,
                seq,
                DeliverSmResp::new(COctetString::empty(), Vec::new()),
            ))
            .await
            .map_err(codec_err)?;
            return Ok(());
        };
        metrics::counter!("otagw_smpp_receipts_total", "state" => receipt.state.as_str())
            .increment(1);
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
            let _ = acks.send((seq, false)).await;
            return Ok(());
        }
        let acks = acks.clone();
        tokio::spawn(async move {
            let recorded = ack_rx.await.unwrap_or(false);
            let _ = acks.send((seq, recorded)).await;
        });
        Ok(())
    }

    async fn unbind(&mut self, link: &mut Link) {
        let seq = self.seq();
        if link
            .send(Command::new(CommandStatus::EsmeRok, seq, Pdu::Unbind))
            .await
            .is_err()
        {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(Received { command: cmd, .. })) = link.next().await {
                if cmd.id() == CommandId::UnbindResp {
                    break;
                }
            }
        })
        .await;
    }
}

/// The submit_sm for a job. esm_class and data_coding are sent exactly as stored (rusmpp's
/// default esm_class is not 0x00, so it is always set explicitly).
fn submit_sm(job: &SubmitJob, s: &SmppSettings) -> Result<SubmitSm, String> {
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
    fn esm_class_round_trips() {
        for v in [0x00u8, 0x40, 0x04, 0x44] {
            assert_eq!(u8::from(EsmClass::from(v)), v);
        }
        assert_eq!(u8::from(DataCoding::from(0x04u8)), 0x04);
    }

    #[test]
    fn bucket_paces() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10);
        assert_eq!(b.ready_at(t0), t0);
        b.take(t0);
        let next = b.ready_at(t0);
        assert!(next > t0 && next <= t0 + Duration::from_millis(101));
    }

    #[test]
    fn bucket_follows_a_new_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1000);
        for _ in 0..100 {
            b.take(t0);
        }
        b.set_rate(10, t0);
        let next = b.ready_at(t0);
        assert!(
            next >= t0 + Duration::from_millis(99) && next <= t0 + Duration::from_millis(101),
            "one token at 10/s takes 100 ms: {:?}",
            next - t0
        );
        // A full bucket keeps at most the new burst.
        let mut full = Bucket::new(1000);
        full.set_rate(20, t0);
        full.take(t0);
        full.take(t0);
        assert!(full.ready_at(t0) > t0, "burst of 2 at 20/s");
    }

    #[test]
    fn slowing_down_doubles_the_pause_once_per_pause() {
        let t0 = Instant::now();
        let mut until = t0;
        let mut pause = Duration::ZERO;
        slow_down(t0, &mut until, &mut pause);
        assert_eq!((pause, until), (Duration::from_millis(20), t0 + pause));
        // Answers inside the pause do not lengthen it.
        slow_down(t0 + Duration::from_millis(5), &mut until, &mut pause);
        assert_eq!(pause, Duration::from_millis(20));
        let mut at = until;
        for _ in 0..10 {
            slow_down(at, &mut until, &mut pause);
            at = until;
        }
        assert_eq!(pause, MAX_THROTTLE_PAUSE);
    }
}
