//! A simulated IVR / OTAP tool: the SMPP client (ESME) that binds to the gateway's OSPP handler
//! and drives it with OSPP requests (`docs/ospp.md`).
//!
//! [`Ivr::connect`] binds as a transceiver (SMPP 3.4). [`Ivr::request`] sends an OSPP request
//! as the short_message of a submit_sm with its session type's protocol_id and returns once the
//! submit_sm_resp arrived (an error status is [`IvrError::Refused`]). The gateway's replies
//! arrive as deliver_sm; each is answered with deliver_sm_resp ESME_ROK at once and queued for
//! [`Ivr::next_reply`] / [`Ivr::next_delivery`]. The SMPP itself (sequence numbers, matching
//! responses, answering the gateway's `enquire_link` and `unbind`, the response timeout) is the
//! gateway's own session machine in its client role (`otagw_codecs::smpp::Session`).
//!
//! Every submit_sm goes from [`IVR_ADDRESS`] to [`GATEWAY_ADDRESS`], esm_class 0x00,
//! data_coding 0x01.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use otagw_codecs::identity::Mdn;
use otagw_codecs::ospp::{OsppError, Reply, Request, SessionType, Subscriber};
use otagw_codecs::smpp::status::ESME_ROK;
use otagw_codecs::smpp::{
    BindKind, BindRequest, CloseReason, Config, Event, Outcome, Ready, Session, SessionError,
    Unanswered, SMPP_3_4,
};
use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvValue};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, MessagePayload, Npi, RegisteredDelivery, Ton};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::smsc::link::Link;

/// source_addr of the IVR's submit_sm.
pub const IVR_ADDRESS: &str = "18005550100";
/// destination_addr of the IVR's submit_sm.
pub const GATEWAY_ADDRESS: &str = "OTAF";
/// How long the IVR waits for a bind or submit_sm response.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to the gateway.
#[derive(Debug, Error)]
pub enum IvrError {
    /// TCP failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A PDU could not be encoded or decoded.
    #[error("SMPP codec: {0}")]
    Codec(String),
    /// The gateway refused the bind.
    #[error("bind refused with command_status {status:#010x}")]
    BindRefused {
        /// The bind_transceiver_resp's command_status.
        status: u32,
    },
    /// The gateway answered the submit_sm with an error status.
    #[error("submit_sm refused with command_status {status:#010x}")]
    Refused {
        /// The submit_sm_resp's command_status.
        status: u32,
    },
    /// No answer in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The connection is gone.
    #[error("the gateway closed the connection")]
    Closed,
    /// The request could not be encoded.
    #[error("OSPP: {0}")]
    Ospp(#[from] OsppError),
    /// A value does not fit its SMPP field.
    #[error("{0} does not fit its SMPP field")]
    BadField(&'static str),
}

/// A request the gateway accepted (submit_sm_resp ESME_ROK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrTicket {
    /// The gateway's message_id.
    pub message_id: String,
    /// The tool's reference the request carried (empty for raw submits).
    pub tref: String,
    /// The protocol_id it was sent with.
    pub protocol_id: u8,
}

/// A deliver_sm from the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrDelivery {
    /// protocol_id.
    pub protocol_id: u8,
    /// esm_class, as on the wire.
    pub esm_class: u8,
    /// data_coding, as on the wire.
    pub data_coding: u8,
    /// source_addr.
    pub source: String,
    /// destination_addr.
    pub destination: String,
    /// The text: short_message, or message_payload when the short_message is empty.
    pub text: Vec<u8>,
}

impl IvrDelivery {
    /// The OSPP reply it carries.
    pub fn reply(&self) -> Result<Reply, OsppError> {
        Reply::decode(&self.text)
    }
}

enum Cmd {
    Submit {
        pdu: Box<SubmitSm>,
        answer: oneshot::Sender<Result<String, IvrError>>,
    },
    Unbind {
        done: oneshot::Sender<()>,
    },
}

/// A bound IVR. Dropping it closes the connection.
#[derive(Debug)]
pub struct Ivr {
    cmds: mpsc::Sender<Cmd>,
    deliveries: mpsc::Receiver<IvrDelivery>,
    next_tref: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ivr {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn c_string<const MIN: usize, const MAX: usize>(
    s: &str,
    what: &'static str,
) -> Result<COctetString<MIN, MAX>, IvrError> {
    COctetString::from_string(s.to_string()).map_err(|_| IvrError::BadField(what))
}

impl IvrError {
    /// Why the session closed, as the IVR's error (`io`: the I/O error that ended it).
    fn closed(reason: CloseReason, io: Option<std::io::Error>) -> Self {
        match reason {
            CloseReason::BindRefused { status } => Self::BindRefused { status },
            CloseReason::BindTimedOut => Self::Timeout("bind_transceiver_resp"),
            CloseReason::LinkDead => Self::Timeout("enquire_link_resp"),
            CloseReason::Framing(e) => Self::Codec(e.to_string()),
            CloseReason::ConnectionLost => io.map_or(Self::Closed, Self::Io),
            CloseReason::UnboundByPeer | CloseReason::Unbound | CloseReason::Closed => Self::Closed,
        }
    }
}

/// The IVR's session settings: no window or rate to speak of, [`RESPONSE_TIMEOUT`] for every
/// answer.
fn session_config() -> Config {
    Config {
        window: usize::MAX,
        max_rate_per_sec: None,
        response_timeout: Some(RESPONSE_TIMEOUT),
        enquire_link_interval: None,
        ..Config::default()
    }
}

impl Ivr {
    /// Connects to the OSPP handler at `addr` and binds as a transceiver.
    pub async fn connect(
        addr: SocketAddr,
        system_id: &str,
        password: &str,
    ) -> Result<Self, IvrError> {
        let tcp = tokio::time::timeout(RESPONSE_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| IvrError::Timeout("the TCP connection"))??;
        let _ = tcp.set_nodelay(true);
        let bind = BindRequest {
            kind: BindKind::Transceiver,
            system_id: system_id.to_string(),
            password: password.to_string(),
            system_type: "IVR".to_string(),
            interface_version: SMPP_3_4,
        };
        let session =
            Session::client(session_config(), &bind, Instant::now()).map_err(|e| match e {
                SessionError::Field(what) => IvrError::BadField(what),
                other => IvrError::Codec(other.to_string()),
            })?;
        let mut link = Link::new(tcp, session);
        'bind: loop {
            while let Some(event) = link.session.poll_event() {
                match event {
                    Event::Bound { .. } => break 'bind,
                    Event::Closed(reason) => {
                        return Err(IvrError::closed(reason, link.io_error.take()))
                    }
                    _ => {}
                }
            }
            link.flush().await;
            if !link.session.is_closed() {
                link.input(|_| {}).await;
            }
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (del_tx, del_rx) = mpsc::channel(1024);
        let task = tokio::spawn(run(link, cmd_rx, del_tx));
        Ok(Self {
            cmds: cmd_tx,
            deliveries: del_rx,
            next_tref: AtomicU64::new(1),
            task,
        })
    }

    /// A fresh tool reference.
    pub fn next_tref(&self) -> String {
        format!("ivr{}", self.next_tref.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends `request` with its session type's protocol_id (a START by TRN goes as 0x7A).
    pub async fn request(&self, request: Request) -> Result<IvrTicket, IvrError> {
        let pid = request.session_type().protocol_id();
        self.request_with_pid(pid, request).await
    }

    /// Sends `request` with protocol_id `pid` (e.g. a START by TRN as 0x7B).
    pub async fn request_with_pid(&self, pid: u8, request: Request) -> Result<IvrTicket, IvrError> {
        let tref = match &request {
            Request::StartActivation { tref, .. }
            | Request::StartPrlDownload { tref, .. }
            | Request::Status { tref, .. } => tref.clone(),
        };
        let message_id = self.submit_raw(pid, &request.encode()?).await?;
        Ok(IvrTicket {
            message_id,
            tref,
            protocol_id: pid,
        })
    }

    /// Sends `text` as is (short_message, or message_payload beyond 254 octets) with
    /// protocol_id `pid`; returns the message_id.
    pub async fn submit_raw(&self, pid: u8, text: &[u8]) -> Result<String, IvrError> {
        let builder = SubmitSm::builder()
            .service_type(rusmpp::values::ServiceType::null())
            .source_addr_ton(Ton::Unknown)
            .source_addr_npi(Npi::Isdn)
            .source_addr(c_string(IVR_ADDRESS, "source_addr")?)
            .dest_addr_ton(Ton::Unknown)
            .dest_addr_npi(Npi::Unknown)
            .destination_addr(c_string(GATEWAY_ADDRESS, "destination_addr")?)
            .esm_class(EsmClass::from(0x00u8))
            .protocol_id(pid)
            .schedule_delivery_time(EmptyOrFullCOctetString::empty())
            .validity_period(EmptyOrFullCOctetString::empty())
            .registered_delivery(RegisteredDelivery::from(0u8))
            .data_coding(DataCoding::from(0x01u8));
        let pdu = if text.len() <= 254 {
            builder
                .short_message(
                    OctetString::from_vec(text.to_vec())
                        .map_err(|_| IvrError::BadField("short_message"))?,
                )
                .build()
        } else {
            builder
                .short_message(OctetString::empty())
                .push_tlv(MessageSubmissionRequestTlvValue::MessagePayload(
                    MessagePayload::new(AnyOctetString::from_slice(text)),
                ))
                .build()
        };
        let (tx, rx) = oneshot::channel();
        self.cmds
            .send(Cmd::Submit {
                pdu: Box::new(pdu),
                answer: tx,
            })
            .await
            .map_err(|_| IvrError::Closed)?;
        tokio::time::timeout(RESPONSE_TIMEOUT, rx)
            .await
            .map_err(|_| IvrError::Timeout("submit_sm_resp"))?
            .map_err(|_| IvrError::Closed)?
    }

    /// The next deliver_sm from the gateway, waiting up to `timeout`.
    pub async fn next_delivery(&mut self, timeout: Duration) -> Option<IvrDelivery> {
        tokio::time::timeout(timeout, self.deliveries.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next OSPP reply, waiting up to `timeout` (deliver_sm that carry no OSPP reply are
    /// skipped).
    pub async fn next_reply(&mut self, timeout: Duration) -> Option<Reply> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let d = self.next_delivery(left).await?;
            if let Ok(reply) = d.reply() {
                return Some(reply);
            }
        }
    }

    /// A star-code activation for the call with `trn` (PID 0x7A).
    pub async fn star_code(&self, trn: &str) -> Result<IvrTicket, IvrError> {
        self.request(Request::StartActivation {
            tref: self.next_tref(),
            subscriber: Subscriber::Trn(trn.to_string()),
        })
        .await
    }

    /// A PRL download of library PRL `prl` to `mdn` (PID 0x7C).
    pub async fn prl_push(&self, prl: u32, mdn: Mdn) -> Result<IvrTicket, IvrError> {
        self.request(Request::StartPrlDownload {
            tref: self.next_tref(),
            prl,
            subscriber: Subscriber::Mdn(mdn),
        })
        .await
    }

    /// How the gateway's session `reference` is going (PID 0x7D).
    pub async fn status(&self, reference: &str) -> Result<IvrTicket, IvrError> {
        self.request_with_pid(
            SessionType::Status.protocol_id(),
            Request::Status {
                tref: self.next_tref(),
                reference: reference.to_string(),
            },
        )
        .await
    }

    /// Unbinds and closes the connection.
    pub async fn unbind(self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Unbind { done: tx }).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
    }
}

/// A deliver_sm as the IVR reports it.
fn delivery_of(sm: &DeliverSm) -> IvrDelivery {
    let mut text = sm.short_message().as_ref().to_vec();
    if text.is_empty() {
        text = sm
            .tlvs()
            .iter()
            .find_map(|t| match t.value() {
                Some(TlvValue::MessagePayload(p)) => Some(p.value.as_ref().to_vec()),
                _ => None,
            })
            .unwrap_or_default();
    }
    IvrDelivery {
        protocol_id: sm.protocol_id,
        esm_class: u8::from(sm.esm_class),
        data_coding: u8::from(sm.data_coding),
        source: sm.source_addr.as_str().to_string(),
        destination: sm.destination_addr.as_str().to_string(),
        text,
    }
}

/// What became of a submit_sm, as [`Ivr::submit_raw`] returns it.
fn answer_of(outcome: Outcome) -> Result<String, IvrError> {
    match outcome {
        Outcome::Accepted { message_id } => Ok(message_id),
        Outcome::SlowDown { status }
        | Outcome::Transient { status }
        | Outcome::Permanent { status } => Err(IvrError::Refused { status }),
        Outcome::Unanswered(Unanswered::TimedOut) => Err(IvrError::Timeout("submit_sm_resp")),
        Outcome::Unanswered(Unanswered::Closed(_)) => Err(IvrError::Closed),
    }
}

type Answer = oneshot::Sender<Result<String, IvrError>>;

/// The bound session: requests out, their outcomes back to the callers, deliveries in.
async fn run(mut link: Link, mut cmds: mpsc::Receiver<Cmd>, deliveries: mpsc::Sender<IvrDelivery>) {
    let mut pending: HashMap<u64, Answer> = HashMap::new();
    // Submits the session's timing does not let go yet (a pause after ESME_RTHROTTLED).
    let mut waiting: VecDeque<(Box<SubmitSm>, Answer)> = VecDeque::new();
    let mut next_id: u64 = 0;
    let mut unbinding: Option<oneshot::Sender<()>> = None;
    loop {
        while let Some(event) = link.session.poll_event() {
            match event {
                Event::Outcome { id, outcome } => {
                    if let Some(answer) = pending.remove(&id) {
                        let _ = answer.send(answer_of(outcome));
                    }
                }
                Event::DeliverSm {
                    sequence_number,
                    pdu,
                } => {
                    let _ = deliveries.send(delivery_of(&pdu)).await;
                    let _ = link.session.respond_deliver_sm(sequence_number, ESME_ROK);
                }
                Event::Closed(_) => {
                    link.flush().await;
                    for (_, answer) in waiting.drain(..) {
                        let _ = answer.send(Err(IvrError::Closed));
                    }
                    if let Some(done) = unbinding.take() {
                        let _ = done.send(());
                    }
                    return;
                }
                _ => {}
            }
        }
        let now = Instant::now();
        while !waiting.is_empty() && link.session.submit_ready(now) == Ready::Now {
            let Some((pdu, answer)) = waiting.pop_front() else {
                break;
            };
            let id = next_id;
            next_id += 1;
            match link.session.submit(now, id, *pdu) {
                Ok(_) => {
                    pending.insert(id, answer);
                }
                Err(_) => {
                    let _ = answer.send(Err(IvrError::Closed));
                }
            }
        }
        link.flush().await;
        if link.session.is_closed() {
            continue; // its Closed event is next
        }
        let wake = match link.session.submit_ready(now) {
            Ready::At(at) if !waiting.is_empty() => Some(tokio::time::Instant::from_std(at)),
            _ => None,
        };
        tokio::select! {
            cmd = cmds.recv(), if unbinding.is_none() => match cmd {
                Some(Cmd::Submit { pdu, answer }) => {
                    if link.session.submit_ready(Instant::now()) == Ready::No {
                        let _ = answer.send(Err(IvrError::Closed));
                    } else {
                        waiting.push_back((pdu, answer));
                    }
                }
                Some(Cmd::Unbind { done }) => {
                    link.session.unbind(Instant::now());
                    unbinding = Some(done);
                }
                None => return,
            },
            _ = async {
                if let Some(at) = wake {
                    tokio::time::sleep_until(at).await;
                }
            }, if wake.is_some() => {}
            () = link.input(|_| {}) => {}
        }
    }
}
