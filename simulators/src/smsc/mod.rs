//! A simulated SMSC: the SMPP 3.4 / 5.0 server (MC side) the gateway's ESME binds to, and the
//! network that delivers what it accepts to the simulated handsets.
//!
//! Each connection runs the gateway's own SMPP session machine in its server role
//! (`otagw_codecs::smpp::Session`): enquire_link and unbind are answered, a second bind gets
//! ESME_RALYBND, requests out of place or undecodable get their response or a generic_nack with
//! the status SMPP gives them, all by the session. What an SMSC decides is here, on top: it
//! accepts `bind_transceiver`, `bind_transmitter` and `bind_receiver` when system_id and
//! password match and answers with `sc_interface_version` = [`SmscConfig::interface_version`]
//! (5.0 by default; an SMSC configured as 3.4 with [`SmscConfig::refuse_newer_versions`]
//! refuses binds that offer more, ESME_RBINDFAIL, as some old SMSCs do;
//! [`SmscHandle::bind_versions`] lists what each bind offered),
//! answers `submit_sm` with a `submit_sm_resp` carrying a fresh message_id, records every
//! accepted short message as submitted ([`SubmittedMessage`], [`SmscHandle::messages`]:
//! destination, esm_class, data_coding, octets), delivers it to the handset attached at its
//! destination (below), and, when the submit asked for one, sends a delivery receipt after
//! [`SmscConfig::receipt_delay`]: a `deliver_sm` with esm_class 0x04, the
//! `receipted_message_id` (0x001E) and `message_state` (0x0427) TLVs and the standard text
//! "id:... sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000
//! text:" (SMPP 3.4 appendix B; the dates in UTC, `submit date` when the SMSC took the message,
//! `done date` when the receipt was made). A
//! receipt goes to any bind of the same system_id that can receive (transceiver, receiver) and
//! is up when it is due (as a real SMSC does), waits for one if none is, and is sent again when
//! the ESME refuses it.
//!
//! ## Delivery to handsets
//!
//! [`SmscHandle::attach`] makes the handset with an MDN reachable: it returns the handset's end
//! of a channel of [`Delivery`]s (a later `attach` of the same MDN replaces the earlier one,
//! whose channel closes; a handset that drops its end is detached). For an attached
//! destination the SMSC does what the handset's SMS stack would:
//!
//! | submit_sm | delivered as |
//! |---|---|
//! | esm_class UDHI (0x40), UDH with ports, destination port 2948 | segments reassembled per originator (8- or 16-bit concatenation), the WSP push decoded (SI, SL, OMA CP): [`Delivery::Push`] once the last segment arrives, in any order |
//! | esm_class UDHI, UDH without ports, data_coding 0 / 1 / 3 / 8 | a concatenated text: [`Delivery::Text`] once whole |
//! | no UDHI, data_coding 0 (the SMSC default alphabet, ASCII here) or 1 (IA5/ASCII): octets up to 0x7F | [`Delivery::Text`] |
//! | no UDHI, data_coding 3 (Latin-1) | [`Delivery::Text`] |
//! | no UDHI, data_coding 8 (UCS2, UTF-16BE) | [`Delivery::Text`] |
//! | anything else: a UDH that does not decode, a segment that does not fit its message (duplicate, other total), another port, a push that does not decode, binary without ports, text invalid in its coding | nothing (refused) |
//!
//! (A push sent with the SAR / message_payload TLVs instead of a UDH is not understood.)
//!
//! ## What the delivery receipt says
//!
//! | destination | receipt |
//! |---|---|
//! | attached handset, message delivered (or a segment kept until the others arrive) | DELIVRD, err:000 (message_state 2) |
//! | attached handset, message refused (table above) | UNDELIV, err:002 (message_state 5); for a push, on the segment that was refused or that completed an undecodable push (earlier segments were already DELIVRD) |
//! | no handset attached | DELIVRD, err:000; UNDELIV, err:001 after [`SmscHandle::set_unknown_subscribers_undeliverable`]`(true)` |
//!
//! Why DELIVRD for an address with no handset by default: many users of the simulator submit to
//! made-up numbers with stand-in payloads and only care that the SMSC answers like one
//! (the outbox tests, the SMPP load benchmark, the node-smpp interoperability test, flows whose
//! handset deliberately ignores the push); to them an unattached address is a handset outside
//! the simulation that took the message. Making unknown subscribers undeliverable by default
//! would mean attaching a receiver for every made-up number in all of them, and teaching the
//! stand-in payloads to decode, only to keep the receipts they have today; one knob for the
//! tests that want a strict SMSC is the smaller change. Decoding happens on behalf of an
//! attached handset only, so a stand-in payload to an unattached address is never refused.
//!
//! Fault knobs on the handle: [`SmscHandle::throttle_next`] (ESME_RTHROTTLED),
//! [`SmscHandle::queue_full_next`] (ESME_RMSGQFUL), [`SmscHandle::reject_next`] (any status),
//! [`SmscHandle::set_response_delay`] (slow responses), [`SmscHandle::drop_binds`] and
//! [`SmscHandle::drop_binds_after`] (close every connection), [`SmscHandle::set_lose_receipts`],
//! [`SmscHandle::set_withhold_responses`] (accept but never answer),
//! [`SmscHandle::set_congestion_state`] (report an SMPP 5.0 `congestion_state`). A refused
//! submit_sm is neither recorded nor delivered.
//!
//! ## Congestion (SMPP 5.0)
//!
//! With [`SmscHandle::set_congestion_state`]`(Some(n))` every `submit_sm_resp` (accepted or
//! refused) and every `enquire_link_resp` on a bind that runs SMPP 5.0 carries the
//! `congestion_state` TLV (0x0428) with value `n`; [`SmscHandle::congestion_states_sent`] counts
//! them. A bind runs 5.0 when it offered 5.0
//! (or later) and the SMSC is configured for 5.0: a 3.4 bind never gets the TLV, which 3.4 does
//! not define. The value is only reported: the simulator does not slow down or refuse anything
//! because of it (combine it with [`SmscHandle::throttle_next`] for that). The session puts it
//! on the responses ([`otagw_codecs::smpp::Session::set_reported_congestion`]); the knob is read
//! when each answer is made.
//!
//! ## Stopping and restarting
//!
//! [`SmscHandle::stop`] is a crash: the listener closes, every connection is reset (TCP RST,
//! no unbind, no answer to what is in flight) and the receipts this instance still owed are
//! lost; attached handsets' channels close. When it returns the address is free, and
//! [`Smsc::start`] on the same address is a restarted SMSC with no memory of the old one (tokio's
//! `TcpListener::bind` sets SO_REUSEADDR on Unix, so connections the old instance closed
//! gracefully and left in TIME_WAIT do not block the bind; reset ones leave none). What the
//! stopped instance recorded stays readable on its handle. Dropping the handle stops it the
//! same way without waiting.
//!
//! Message ids are unique across instances and restarts: each is the current time in
//! microseconds, or one more than the last id issued in this process if that is later, in hex.
//! Across processes they stay unique as long as the clock does not step back.
//!
//! [`Delivery`]: crate::handset::push::Delivery
//! [`Delivery::Push`]: crate::handset::push::Delivery::Push
//! [`Delivery::Text`]: crate::handset::push::Delivery::Text

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otagw_codecs::smpp::{BindRequest, Config, Event, Outcome, Session};
use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{EsmClass, MessageState};
use rusmpp::CommandStatus;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::handset::push::Deliveries;

mod delivery;
pub(crate) mod link;

use link::Link;

/// Receipt err: no handset attached at the destination (with the strict knob).
const ERR_NO_HANDSET: u16 = 1;
/// Receipt err: the handset could not take the message (it does not reassemble or decode).
const ERR_REFUSED: u16 = 2;

/// Settings of the simulated SMSC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmscConfig {
    /// system_id the ESME must bind with.
    pub system_id: String,
    /// Its password.
    pub password: String,
    /// Delay between a submit_sm and its delivery receipt.
    pub receipt_delay: Duration,
    /// The SMPP version it speaks, sent as sc_interface_version: 0x50 (5.0) or 0x34 (3.4).
    pub interface_version: u8,
    /// Refuse (ESME_RBINDFAIL) binds whose interface_version is above `interface_version`.
    pub refuse_newer_versions: bool,
}

impl Default for SmscConfig {
    /// system_id `otagw`, password `secret`, receipts after 50 ms, SMPP 5.0.
    fn default() -> Self {
        Self {
            system_id: "otagw".to_string(),
            password: "secret".to_string(),
            receipt_delay: Duration::from_millis(50),
            interface_version: 0x50,
            refuse_newer_versions: false,
        }
    }
}

/// A short message the SMSC accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedMessage {
    /// The message_id it was given.
    pub message_id: String,
    /// The system_id of the bind it came on.
    pub system_id: String,
    /// service_type.
    pub service_type: String,
    /// source_addr.
    pub source: String,
    /// destination_addr.
    pub destination: String,
    /// esm_class, as on the wire.
    pub esm_class: u8,
    /// data_coding, as on the wire.
    pub data_coding: u8,
    /// registered_delivery, as on the wire.
    pub registered_delivery: u8,
    /// short_message octets (UDH included when esm_class has UDHI).
    pub short_message: Vec<u8>,
}

#[derive(Debug, Default)]
struct Faults {
    throttle: usize,
    queue_full: usize,
    reject: Vec<u32>,
    response_delay: Duration,
    lose_receipts: bool,
    drop_after: Option<usize>,
    withhold_responses: bool,
    congestion_state: Option<u8>,
}

#[derive(Debug, Clone)]
struct PendingReceipt {
    message: SubmittedMessage,
    state: u8,
    err: u16,
    /// When the SMSC took the message (the receipt's `submit date:`).
    submitted_at: SystemTime,
}

struct Conn {
    system_id: String,
    /// Whether deliver_sm may go on it (a transceiver or receiver bind).
    receives: bool,
    out: mpsc::Sender<PendingReceipt>,
}

struct Shared {
    config: SmscConfig,
    messages: Mutex<Vec<SubmittedMessage>>,
    /// message_ids of the submits accepted but not answered (withheld responses).
    withheld: Mutex<Vec<String>>,
    faults: Mutex<Faults>,
    conns: Mutex<HashMap<u64, Conn>>,
    next_conn: AtomicU64,
    submits_received: AtomicUsize,
    receipts_sent: AtomicUsize,
    receipts_unanswered: AtomicUsize,
    congestion_states_sent: AtomicUsize,
    binds_accepted: AtomicUsize,
    bind_versions: Mutex<Vec<u8>>,
    kill: watch::Sender<u64>,
    /// Cancelled when the SMSC stops: every task of this instance ends.
    stop: CancellationToken,
    handsets: Mutex<HashMap<String, delivery::Inbox>>,
    unknown_undeliverable: AtomicBool,
}

impl Shared {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The last message id issued in this process, by any instance.
static LAST_MESSAGE_ID: AtomicU64 = AtomicU64::new(0);

/// A fresh message id: the clock in microseconds, or one more than the last id issued in this
/// process when that is later (several per microsecond, a clock that stepped back).
fn next_message_id() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut last = LAST_MESSAGE_ID.load(Ordering::Relaxed);
    loop {
        let next = now.max(last.saturating_add(1));
        match LAST_MESSAGE_ID.compare_exchange_weak(
            last,
            next,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// The simulated SMSC.
#[derive(Debug)]
pub struct Smsc;

impl Smsc {
    /// Listens on `listen` (port 0 for any) and serves ESMEs until the handle is dropped.
    pub async fn start(listen: SocketAddr, config: SmscConfig) -> std::io::Result<SmscHandle> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (kill, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            config,
            messages: Mutex::new(Vec::new()),
            withheld: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            submits_received: AtomicUsize::new(0),
            receipts_sent: AtomicUsize::new(0),
            receipts_unanswered: AtomicUsize::new(0),
            congestion_states_sent: AtomicUsize::new(0),
            binds_accepted: AtomicUsize::new(0),
            bind_versions: Mutex::new(Vec::new()),
            kill,
            stop: CancellationToken::new(),
            handsets: Mutex::new(HashMap::new()),
            unknown_undeliverable: AtomicBool::new(false),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(SmscHandle {
            addr,
            shared,
            task: Mutex::new(Some(task)),
        })
    }
}

/// A running simulated SMSC. Dropping it stops it as [`SmscHandle::stop`] does, without
/// waiting.
pub struct SmscHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The accept loop, which owns the listener and the connections; taken by `stop`.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for SmscHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmscHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for SmscHandle {
    fn drop(&mut self) {
        // The accept loop sees this, resets the connections and ends.
        self.shared.stop.cancel();
    }
}

impl SmscHandle {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the SMSC the way a crash does: the listener closes, every connection is reset
    /// (TCP RST: no unbind, no answer to the submit_sm in flight), the delivery receipts not
    /// yet acknowledged are lost and attached handsets' channels close. Returns once the
    /// listener and every connection are closed, so [`Smsc::start`] can bind the same address
    /// at once. What was recorded ([`SmscHandle::messages`], the counters) stays readable.
    /// Stopping a stopped SMSC does nothing.
    pub async fn stop(&self) {
        self.shared.stop.cancel();
        let task = Shared::lock(&self.task).take();
        if let Some(task) = task {
            // The loop ends by itself; a panic in it is not ours to report here.
            let _ = task.await;
        }
    }

    /// Whether [`SmscHandle::stop`] was called (or the handle dropped).
    pub fn is_stopped(&self) -> bool {
        self.shared.stop.is_cancelled()
    }

    /// Every short message accepted so far, in order.
    pub fn messages(&self) -> Vec<SubmittedMessage> {
        Shared::lock(&self.shared.messages).clone()
    }

    /// Makes the handset with MDN `address` (the submit_sm destination_addr) reachable: what is
    /// submitted to it from now on is reassembled, decoded and delivered on the returned
    /// channel (see the module doc). Replaces an earlier attach of the same address.
    pub fn attach(&self, address: &str) -> Deliveries {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Shared::lock(&self.shared.handsets).insert(address.to_owned(), delivery::Inbox::new(tx));
        rx
    }

    /// When true, a message to an address with no handset attached gets an UNDELIV receipt
    /// (err:001) instead of DELIVRD, as a real SMSC reports an unknown subscriber.
    pub fn set_unknown_subscribers_undeliverable(&self, undeliverable: bool) {
        self.shared
            .unknown_undeliverable
            .store(undeliverable, Ordering::Relaxed);
    }

    /// submit_sm received, whatever the answer.
    pub fn submits_received(&self) -> usize {
        self.shared.submits_received.load(Ordering::Relaxed)
    }

    /// Delivery receipts sent (and acknowledged with ESME_ROK).
    pub fn receipts_sent(&self) -> usize {
        self.shared.receipts_sent.load(Ordering::Relaxed)
    }

    /// Delivery receipts (deliver_sm) still awaiting their deliver_sm_resp when their bind
    /// ended (unbound by the ESME, dropped, reset): the ESME left them unanswered. They are
    /// sent again on the next bind.
    pub fn receipts_unanswered(&self) -> usize {
        self.shared.receipts_unanswered.load(Ordering::Relaxed)
    }

    /// Binds accepted so far.
    pub fn binds_accepted(&self) -> usize {
        self.shared.binds_accepted.load(Ordering::Relaxed)
    }

    /// The interface_version every bind request offered (accepted or not), in order.
    pub fn bind_versions(&self) -> Vec<u8> {
        Shared::lock(&self.shared.bind_versions).clone()
    }

    /// Binds up now.
    pub fn binds_up(&self) -> usize {
        Shared::lock(&self.shared.conns).len()
    }

    /// Answers the next `n` submit_sm with ESME_RTHROTTLED.
    pub fn throttle_next(&self, n: usize) {
        Shared::lock(&self.shared.faults).throttle = n;
    }

    /// Answers the next `n` submit_sm with ESME_RMSGQFUL.
    pub fn queue_full_next(&self, n: usize) {
        Shared::lock(&self.shared.faults).queue_full = n;
    }

    /// Answers the next `n` submit_sm with `status` (e.g. 0x0B ESME_RINVDSTADR).
    pub fn reject_next(&self, n: usize, status: u32) {
        Shared::lock(&self.shared.faults).reject = vec![status; n];
    }

    /// Delays every answer to a submit_sm by `delay`.
    pub fn set_response_delay(&self, delay: Duration) {
        Shared::lock(&self.shared.faults).response_delay = delay;
    }

    /// When true, no delivery receipt is sent.
    pub fn set_lose_receipts(&self, lose: bool) {
        Shared::lock(&self.shared.faults).lose_receipts = lose;
    }

    /// When true, every submit_sm is accepted (recorded, delivered, its receipt scheduled) but
    /// never answered: the SMSC hangs after taking it, as one about to crash may. The ESME's
    /// window fills with requests it cannot know were accepted. Answers withheld are not sent
    /// later.
    pub fn set_withhold_responses(&self, withhold: bool) {
        Shared::lock(&self.shared.faults).withhold_responses = withhold;
    }

    /// The message_ids of the submit_sm accepted without an answer
    /// ([`SmscHandle::set_withhold_responses`]), in order.
    pub fn responses_withheld(&self) -> Vec<String> {
        Shared::lock(&self.shared.withheld).clone()
    }

    /// Sends a DELIVRD receipt for each of `message_ids` on a bind of `system_id`, for messages
    /// this SMSC never took from that bind (as an SMSC does for another application sharing the
    /// account, or after the ESME's records were reset).
    pub fn send_stray_receipts(&self, system_id: &str, message_ids: &[String]) {
        for message_id in message_ids {
            let message = SubmittedMessage {
                message_id: message_id.clone(),
                system_id: system_id.to_string(),
                service_type: String::new(),
                source: "0".into(),
                destination: "0".into(),
                esm_class: 0,
                data_coding: 0,
                registered_delivery: 1,
                short_message: Vec::new(),
            };
            schedule_receipt(
                self.shared.clone(),
                PendingReceipt {
                    message,
                    state: 2, // DELIVERED
                    err: 0,
                    submitted_at: SystemTime::now(),
                },
                Duration::ZERO,
            );
        }
    }

    /// From now on every submit_sm_resp and enquire_link_resp on a bind that runs SMPP 5.0
    /// carries the `congestion_state` TLV with `state` (SMPP 5.0 defines 0-100: 0-29 idle or
    /// low load, 30-49 medium, 50-79 high, 80-89 optimum, 90-99 nearing congestion, 100
    /// congested; other values are sent as given, to test the ESME on them); `None` stops it.
    /// 3.4 binds never get it.
    pub fn set_congestion_state(&self, state: Option<u8>) {
        Shared::lock(&self.shared.faults).congestion_state = state;
    }

    /// submit_sm_resp sent with a `congestion_state` TLV.
    pub fn congestion_states_sent(&self) -> usize {
        self.shared.congestion_states_sent.load(Ordering::Relaxed)
    }

    /// Closes every connection now (without unbind).
    pub fn drop_binds(&self) {
        self.shared.kill.send_modify(|g| *g += 1);
    }

    /// Closes every connection right after the next `n` accepted submit_sm, before their
    /// submit_sm_resp is sent (so the ESME cannot know they were accepted).
    pub fn drop_binds_after(&self, n: usize) {
        Shared::lock(&self.shared.faults).drop_after = Some(n);
    }
}

/// Accepts connections until the SMSC stops; then closes the listener, waits for every
/// connection to be reset and forgets the binds and handsets.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = shared.stop.cancelled() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nodelay(true);
                    conns.spawn(serve(tcp, shared.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    drop(listener);
    // Each connection sees the stop too and resets itself.
    while conns.join_next().await.is_some() {}
    Shared::lock(&shared.conns).clear();
    Shared::lock(&shared.handsets).clear();
}

fn c_str<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_string(s.to_string()).unwrap_or_else(|_| COctetString::empty())
}

/// Serves one connection until it ends, or resets it when the SMSC stops (what was in flight
/// is dropped unanswered, and the receipts it owed are lost with the instance).
async fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    let mut link = Link::new(tcp, Session::server(Config::server()));
    let stop = shared.stop.clone();
    tokio::select! {
        biased;
        _ = stop.cancelled() => {
            // Closed with SO_LINGER 0: RST, as the peer of a crashed process sees it.
            link.reset_on_close();
        }
        _ = serve_link(&mut link, &shared) => {}
    }
}

/// A bind that is up on this connection.
struct Bound {
    conn_id: u64,
    system_id: String,
}

/// The SMSC's side of one connection: the session does SMPP (enquire_link, unbind, generic_nack,
/// requests out of place); this decides the bind, takes the submit_sm (with the fault knobs)
/// and sends the receipts of this bind's system_id.
async fn serve_link(link: &mut Link, shared: &Arc<Shared>) {
    let mut kill = shared.kill.subscribe();
    kill.borrow_and_update();
    let (out_tx, mut out_rx) = mpsc::channel::<PendingReceipt>(1024);
    let mut bound: Option<Bound> = None;
    // Receipts sent and not yet acknowledged, by the id the session reports them with.
    let mut unacked: HashMap<u64, PendingReceipt> = HashMap::new();
    let mut next_receipt: u64 = 0;
    let mut congestion_states = 0u64;
    'serve: loop {
        while let Some(event) = link.session.poll_event() {
            match event {
                Event::BindRequested {
                    sequence_number,
                    request,
                } => {
                    let Some(system_id) =
                        on_bind(shared, &mut link.session, sequence_number, &request)
                    else {
                        continue;
                    };
                    shared.binds_accepted.fetch_add(1, Ordering::Relaxed);
                    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
                    Shared::lock(&shared.conns).insert(
                        conn_id,
                        Conn {
                            system_id: system_id.clone(),
                            receives: request.kind.receives(),
                            out: out_tx.clone(),
                        },
                    );
                    bound = Some(Bound { conn_id, system_id });
                }
                Event::SubmitSm {
                    sequence_number,
                    pdu,
                } => {
                    let system_id = bound.as_ref().map_or("", |b| b.system_id.as_str());
                    if !on_submit(shared, system_id, link, sequence_number, &pdu).await {
                        break 'serve;
                    }
                }
                Event::Outcome { id, outcome } => {
                    let Some(receipt) = unacked.remove(&id) else {
                        continue;
                    };
                    match outcome {
                        Outcome::Accepted { .. } => {
                            shared.receipts_sent.fetch_add(1, Ordering::Relaxed);
                        }
                        // The bind went down with it (or the answer did not come in
                        // time): another bind gets it.
                        Outcome::Unanswered(_) => {
                            shared.receipts_unanswered.fetch_add(1, Ordering::Relaxed);
                            schedule_receipt(shared.clone(), receipt, Duration::from_millis(50));
                        }
                        // Refused: send it again a little later.
                        _ => schedule_receipt(shared.clone(), receipt, Duration::from_millis(200)),
                    }
                }
                Event::Closed(_) => {
                    link.flush().await;
                    break 'serve;
                }
                _ => {}
            }
        }
        let sent = link.session.stats().congestion_states_sent;
        if sent > congestion_states {
            let delta = usize::try_from(sent - congestion_states).unwrap_or(usize::MAX);
            shared
                .congestion_states_sent
                .fetch_add(delta, Ordering::Relaxed);
            congestion_states = sent;
        }
        link.flush().await;
        if link.session.is_closed() {
            continue; // its Closed event is next
        }
        tokio::select! {
            _ = kill.changed() => break,
            receipt = out_rx.recv() => {
                let Some(receipt) = receipt else { break };
                let id = next_receipt;
                next_receipt += 1;
                match link.session.deliver(std::time::Instant::now(), id, receipt_pdu(&receipt)) {
                    Ok(_) => {
                        unacked.insert(id, receipt);
                    }
                    Err(_) => schedule_receipt(shared.clone(), receipt, Duration::from_millis(50)),
                }
            }
            () = link.input(|session| {
                // What the SMSC reports is what the knob says when it answers.
                session.set_reported_congestion(Shared::lock(&shared.faults).congestion_state);
            }) => {}
        }
    }
    if let Some(b) = bound {
        Shared::lock(&shared.conns).remove(&b.conn_id);
    }
    // Receipts this bind did not acknowledge go out again on another bind.
    shared
        .receipts_unanswered
        .fetch_add(unacked.len(), Ordering::Relaxed);
    for (_, r) in unacked {
        schedule_receipt(shared.clone(), r, Duration::from_millis(50));
    }
    while let Ok(r) = out_rx.try_recv() {
        schedule_receipt(shared.clone(), r, Duration::from_millis(50));
    }
}

/// Answers a bind: accepted when system_id and password match (and, with
/// `refuse_newer_versions`, the version offered is not above the SMSC's). Returns the system_id
/// of an accepted bind.
fn on_bind(
    shared: &Shared,
    session: &mut Session,
    seq: u32,
    request: &BindRequest,
) -> Option<String> {
    let config = &shared.config;
    let status = if request.system_id != config.system_id {
        CommandStatus::EsmeRinvsysid
    } else if request.password != config.password {
        CommandStatus::EsmeRinvpaswd
    } else if config.refuse_newer_versions && request.interface_version > config.interface_version {
        CommandStatus::EsmeRbindfail
    } else {
        CommandStatus::EsmeRok
    };
    Shared::lock(&shared.bind_versions).push(request.interface_version);
    let answered = session.answer_bind(
        seq,
        u32::from(status),
        "otagw-smsc",
        Some(config.interface_version),
    );
    (answered.is_ok() && status == CommandStatus::EsmeRok).then(|| request.system_id.clone())
}

/// Serves one submit_sm; false when the connection is to be closed.
async fn on_submit(
    shared: &Arc<Shared>,
    system_id: &str,
    link: &mut Link,
    seq: u32,
    sm: &SubmitSm,
) -> bool {
    shared.submits_received.fetch_add(1, Ordering::Relaxed);
    let (delay, fault, drop_now, withhold, congestion) = {
        let mut f = Shared::lock(&shared.faults);
        let fault = if f.throttle > 0 {
            f.throttle -= 1;
            Some(CommandStatus::EsmeRthrottled)
        } else if f.queue_full > 0 {
            f.queue_full -= 1;
            Some(CommandStatus::EsmeRmsgqful)
        } else {
            f.reject.pop().map(CommandStatus::from)
        };
        let drop_now = match (fault, f.drop_after) {
            (None, Some(n)) if n <= 1 => {
                f.drop_after = None;
                true
            }
            (None, Some(n)) => {
                f.drop_after = Some(n - 1);
                false
            }
            _ => false,
        };
        (
            f.response_delay,
            fault,
            drop_now,
            f.withhold_responses,
            f.congestion_state,
        )
    };
    if !delay.is_zero() {
        // The answers before this one are not held up by its delay.
        link.flush().await;
        tokio::time::sleep(delay).await;
    }
    let session = &mut link.session;
    // Every submit_sm_resp of a 5.0 bind carries the congestion_state set, accepted or not.
    session.set_reported_congestion(congestion);
    if let Some(status) = fault {
        let _ = session.respond_submit_sm(seq, u32::from(status), "");
        return true;
    }
    let message_id = format!("{:X}", next_message_id());
    let message = SubmittedMessage {
        message_id: message_id.clone(),
        system_id: system_id.to_string(),
        service_type: sm.service_type.value().as_str().to_string(),
        source: sm.source_addr.as_str().to_string(),
        destination: sm.destination_addr.as_str().to_string(),
        esm_class: u8::from(sm.esm_class),
        data_coding: u8::from(sm.data_coding),
        registered_delivery: u8::from(sm.registered_delivery),
        short_message: sm.short_message().as_ref().to_vec(),
    };
    Shared::lock(&shared.messages).push(message.clone());
    let (state, err) = deliver(shared, &message);
    let wants_receipt = message.registered_delivery & 0x03 != 0;
    let lose = Shared::lock(&shared.faults).lose_receipts;
    if wants_receipt && !lose {
        schedule_receipt(
            shared.clone(),
            PendingReceipt {
                message,
                state,
                err,
                submitted_at: SystemTime::now(),
            },
            shared.config.receipt_delay,
        );
    }
    if drop_now {
        // Accepted, but the answer never leaves: every bind goes down (the answers before it
        // leave first).
        link.flush().await;
        shared.kill.send_modify(|g| *g += 1);
        return false;
    }
    if withhold {
        Shared::lock(&shared.withheld).push(message_id);
        return true;
    }
    let _ = link
        .session
        .respond_submit_sm(seq, u32::from(CommandStatus::EsmeRok), &message_id);
    true
}

/// Hands an accepted message to the handset attached at its destination; returns the receipt's
/// message_state and err.
fn deliver(shared: &Shared, message: &SubmittedMessage) -> (u8, u16) {
    const DELIVERED: u8 = 2;
    const UNDELIVERABLE: u8 = 5;
    let mut handsets = Shared::lock(&shared.handsets);
    let attached = match handsets.get_mut(&message.destination) {
        Some(inbox) if !inbox.is_closed() => match inbox.take(message) {
            Ok(None) => Some((DELIVERED, 0)),
            // The handset dropped its end meanwhile: as if not attached.
            Ok(Some(d)) => inbox.send(d).then_some((DELIVERED, 0)),
            Err(_) => Some((UNDELIVERABLE, ERR_REFUSED)),
        },
        _ => None,
    };
    attached.unwrap_or_else(|| {
        handsets.remove(&message.destination);
        if shared.unknown_undeliverable.load(Ordering::Relaxed) {
            (UNDELIVERABLE, ERR_NO_HANDSET)
        } else {
            (DELIVERED, 0)
        }
    })
}

/// Sends a receipt after `delay` on a bind of its system_id, waiting for one to be up; a
/// receipt still waiting when the SMSC stops is lost.
fn schedule_receipt(shared: Arc<Shared>, receipt: PendingReceipt, delay: Duration) {
    let stop = shared.stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = send_receipt(shared, receipt, delay) => {}
        }
    });
}

async fn send_receipt(shared: Arc<Shared>, mut receipt: PendingReceipt, delay: Duration) {
    tokio::time::sleep(delay).await;
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        let target = Shared::lock(&shared.conns)
            .values()
            .filter(|c| c.receives && c.system_id == receipt.message.system_id)
            .map(|c| c.out.clone())
            .next();
        if let Some(out) = target {
            match out.send(receipt).await {
                Ok(()) => return,
                Err(e) => receipt = e.0,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A receipt's date as SMPP 3.4 appendix B writes it: `YYMMDDhhmm`, in UTC.
fn receipt_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    let minutes = secs % 86_400 / 60;
    format!(
        "{:02}{month:02}{day:02}{:02}{:02}",
        year.rem_euclid(100),
        minutes / 60,
        minutes % 60
    )
}

/// The proleptic Gregorian date (year, month 1-12, day 1-31) of a count of days since
/// 1970-01-01: the days are counted in 400-year eras of 146,097 days whose years start on
/// 1 March, so the leap day falls at the end of each such year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

fn receipt_pdu(r: &PendingReceipt) -> DeliverSm {
    let stat = match r.state {
        2 => "DELIVRD",
        3 => "EXPIRED",
        5 => "UNDELIV",
        8 => "REJECTD",
        _ => "UNKNOWN",
    };
    let text = format!(
        "id:{} sub:001 dlvrd:{:03} submit date:{} done date:{} stat:{stat} err:{:03} text:",
        r.message.message_id,
        u8::from(r.state == 2),
        receipt_date(r.submitted_at),
        receipt_date(SystemTime::now()),
        r.err
    );
    let short_message =
        OctetString::from_vec(text.into_bytes()).unwrap_or_else(|_| OctetString::empty());
    DeliverSm::builder()
        .source_addr(c_str(&r.message.destination))
        .destination_addr(c_str(&r.message.source))
        .esm_class(EsmClass::from(0x04u8))
        .short_message(short_message)
        .push_tlv(MessageDeliveryRequestTlvValue::ReceiptedMessageId(c_str(
            &r.message.message_id,
        )))
        .push_tlv(MessageDeliveryRequestTlvValue::MessageState(
            MessageState::from(r.state),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn message_ids_are_unique_and_rising_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..10_000).map(|_| next_message_id()).collect()))
            .collect();
        let mut all: Vec<u64> = Vec::new();
        for t in threads {
            let ids: Vec<u64> = t.join().unwrap();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "rising in each thread");
            all.extend(ids);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "no id issued twice");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        assert!(next_message_id() >= now, "ids follow the clock");
    }

    /// The SMSC's session with a bind of `offer` accepted, and the submit_sm it was given.
    fn bound_smsc(offer: u8) -> (Session, u32) {
        use otagw_codecs::smpp::{BindKind, SMPP_5_0};
        let now = std::time::Instant::now();
        let bind = BindRequest {
            kind: BindKind::Transceiver,
            system_id: "otagw".into(),
            password: "secret".into(),
            system_type: "OTA".into(),
            interface_version: offer,
        };
        let mut esme = Session::client(Config::default(), &bind, now).unwrap();
        let mut smsc = Session::server(Config::server());
        smsc.handle_data(now, &esme.poll_transmit().unwrap());
        let Some(Event::BindRequested {
            sequence_number, ..
        }) = smsc.poll_event()
        else {
            panic!("no bind")
        };
        smsc.answer_bind(sequence_number, 0, "otagw-smsc", Some(SMPP_5_0))
            .unwrap();
        esme.handle_data(now, &smsc.poll_transmit().unwrap());
        esme.submit(now, 1, SubmitSm::builder().build()).unwrap();
        smsc.handle_data(now, &esme.poll_transmit().unwrap());
        let Some(Event::SubmitSm {
            sequence_number, ..
        }) = smsc.poll_event()
        else {
            panic!("no submit_sm")
        };
        (smsc, sequence_number)
    }

    #[test]
    fn congestion_state_goes_on_5_0_responses_only_and_rusmpp_decodes_it_as_such() {
        use rusmpp::tlvs::TlvValue;
        use rusmpp::values::CongestionState;
        use rusmpp::Pdu;
        use tokio_util::bytes::BytesMut;
        use tokio_util::codec::Decoder;

        let (mut smsc34, seq) = bound_smsc(0x34);
        smsc34.set_reported_congestion(Some(100));
        smsc34.respond_submit_sm(seq, 0, "1").unwrap();
        assert_eq!(smsc34.poll_transmit().unwrap().len(), 18, "3.4: never");

        let (mut smsc, seq) = bound_smsc(0x50);
        smsc.set_reported_congestion(Some(100));
        smsc.respond_submit_sm(seq, 0, "1").unwrap();
        let mut wire = BytesMut::from(&smsc.poll_transmit().unwrap()[..]);
        // header (16) + message_id "1\0" (2) + tag, length, value (5)
        assert_eq!(wire.len(), 23);
        assert_eq!(&wire[18..], &[0x04, 0x28, 0x00, 0x01, 100]);
        let decoded = rusmpp::tokio_codec::CommandCodec::new()
            .decode(&mut wire)
            .unwrap()
            .unwrap();
        let Some(Pdu::SubmitSmResp(r)) = decoded.pdu() else {
            panic!("not a submit_sm_resp: {decoded:?}");
        };
        assert_eq!(
            r.tlvs()[0].value(),
            Some(&TlvValue::CongestionState(CongestionState::Congested))
        );
    }

    #[test]
    fn receipt_dates_are_yymmddhhmm_in_utc() {
        let at = |secs: u64| receipt_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(1_795_694_400), "2611261200");
        assert_eq!(at(951_868_740), "0002292359", "a leap day");
        assert_eq!(at(946_598_820), "9912310007");
        assert_eq!(at(2_147_483_640), "3801190314");
        assert_eq!(at(0), "7001010000");
        let now = receipt_date(SystemTime::now());
        assert_eq!(now.len(), 10);
        assert!(now.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn receipt_carries_tlvs_and_text() {
        let r = PendingReceipt {
            message: SubmittedMessage {
                message_id: "ABC123".into(),
                system_id: "otagw".into(),
                service_type: "WAP".into(),
                source: String::new(),
                destination: "12125551234".into(),
                esm_class: 0x40,
                data_coding: 0x04,
                registered_delivery: 1,
                short_message: vec![6, 5, 4, 0x0B, 0x84, 0x23, 0xF0],
            },
            state: 2,
            err: 0,
            submitted_at: UNIX_EPOCH + Duration::from_secs(1_795_694_400),
        };
        let sm = receipt_pdu(&r);
        assert_eq!(u8::from(sm.esm_class), 0x04);
        assert_eq!(sm.tlvs().len(), 2);
        let text = String::from_utf8_lossy(sm.short_message().as_ref()).into_owned();
        assert!(text.starts_with("id:ABC123 "), "{text}");
        assert!(text.contains("dlvrd:001 "), "{text}");
        assert!(text.contains("stat:DELIVRD err:000 "), "{text}");
        assert!(
            text.contains(" submit date:2611261200 done date:"),
            "{text}"
        );
        let undeliv = receipt_pdu(&PendingReceipt {
            state: 5,
            err: ERR_REFUSED,
            ..r
        });
        let text = String::from_utf8_lossy(undeliv.short_message().as_ref()).into_owned();
        assert!(text.contains("dlvrd:000 "), "{text}");
        assert!(text.contains("stat:UNDELIV err:002 "), "{text}");
    }
}
