//! A simulated IVR / OTAP tool: the SMPP client (ESME) that binds to the gateway's OSPP handler
//! and drives it with OSPP requests (`docs/ospp.md`).
//!
//! [`Ivr::connect`] binds as a transceiver. [`Ivr::request`] sends an OSPP request as the
//! short_message of a submit_sm with its session type's protocol_id and returns once the
//! submit_sm_resp arrived (an error status is [`IvrError::Refused`]). The gateway's replies
//! arrive as deliver_sm; each is answered with deliver_sm_resp ESME_ROK at once and queued for
//! [`Ivr::next_reply`] / [`Ivr::next_delivery`]. `enquire_link` and `unbind` from the gateway
//! are answered.
//!
//! Every submit_sm goes from [`IVR_ADDRESS`] to [`GATEWAY_ADDRESS`], esm_class 0x00,
//! data_coding 0x01.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otagw_codecs::identity::Mdn;
use otagw_codecs::ospp::{OsppError, Reply, Request, SessionType, Subscriber};
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvValue};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, InterfaceVersion, MessagePayload, Npi, RegisteredDelivery, Ton,
};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

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

type Link = Framed<TcpStream, rusmpp::tokio_codec::CommandCodec>;

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

fn codec_err(e: impl std::fmt::Display) -> IvrError {
    IvrError::Codec(e.to_string())
}

fn c_string<const MIN: usize, const MAX: usize>(
    s: &str,
    what: &'static str,
) -> Result<COctetString<MIN, MAX>, IvrError> {
    COctetString::from_string(s.to_string()).map_err(|_| IvrError::BadField(what))
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
        let mut link = Framed::new(tcp, rusmpp::tokio_codec::CommandCodec::new());
        let bind = BindTransceiver::builder()
            .system_id(c_string(system_id, "system_id")?)
            .password(c_string(password, "password")?)
            .system_type(c_string("IVR", "system_type")?)
            .interface_version(InterfaceVersion::Smpp3_4)
            .build();
        link.send(Command::new(CommandStatus::EsmeRok, 1, bind))
            .await
            .map_err(codec_err)?;
        let deadline = tokio::time::Instant::now() + RESPONSE_TIMEOUT;
        loop {
            let cmd = tokio::time::timeout_at(deadline, link.next())
                .await
                .map_err(|_| IvrError::Timeout("bind_transceiver_resp"))?
                .ok_or(IvrError::Closed)?
                .map_err(codec_err)?;
            match cmd.id() {
                CommandId::BindTransceiverResp | CommandId::GenericNack
                    if cmd.sequence_number() == 1 =>
                {
                    let status = u32::from(cmd.status());
                    if status != 0 || cmd.id() == CommandId::GenericNack {
                        return Err(IvrError::BindRefused { status });
                    }
                    break;
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

fn delivery_of(cmd: &Command) -> Option<IvrDelivery> {
    let Some(Pdu::DeliverSm(sm)) = cmd.pdu() else {
        return None;
    };
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
    Some(IvrDelivery {
        protocol_id: sm.protocol_id,
        esm_class: u8::from(sm.esm_class),
        data_coding: u8::from(sm.data_coding),
        source: sm.source_addr.as_str().to_string(),
        destination: sm.destination_addr.as_str().to_string(),
        text,
    })
}

/// The bound session: requests out, responses matched by sequence number, deliveries in.
async fn run(mut link: Link, mut cmds: mpsc::Receiver<Cmd>, deliveries: mpsc::Sender<IvrDelivery>) {
    let mut next_seq: u32 = 2;
    let mut pending: HashMap<u32, oneshot::Sender<Result<String, IvrError>>> = HashMap::new();
    let mut unbinding: Option<oneshot::Sender<()>> = None;
    loop {
        tokio::select! {
            cmd = cmds.recv() => {
                let seq = next_seq;
                next_seq = if next_seq >= 0x7FFF_FFFF { 1 } else { next_seq + 1 };
                match cmd {
                    Some(Cmd::Submit { pdu, answer }) => {
                        match link.send(Command::new(CommandStatus::EsmeRok, seq, *pdu)).await {
                            Ok(()) => { pending.insert(seq, answer); }
                            Err(e) => {
                                let _ = answer.send(Err(codec_err(e)));
                                return;
                            }
                        }
                    }
                    Some(Cmd::Unbind { done }) => {
                        if link.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::Unbind)).await.is_err() {
                            return;
                        }
                        unbinding = Some(done);
                    }
                    None => return,
                }
            }
            frame = link.next() => {
                let Some(Ok(cmd)) = frame else { return };
                let seq = cmd.sequence_number();
                match cmd.id() {
                    CommandId::SubmitSmResp | CommandId::GenericNack => {
                        if let Some(answer) = pending.remove(&seq) {
                            let status = u32::from(cmd.status());
                            let result = match cmd.pdu() {
                                Some(Pdu::SubmitSmResp(r)) if status == 0 => Ok(r.message_id().as_str().to_string()),
                                _ => Err(IvrError::Refused { status }),
                            };
                            let _ = answer.send(result);
                        }
                    }
                    CommandId::DeliverSm => {
                        if let Some(d) = delivery_of(&cmd) {
                            let _ = deliveries.send(d).await;
                        }
                        if link.send(Command::new(CommandStatus::EsmeRok, seq, DeliverSmResp::new(COctetString::empty(), Vec::new()))).await.is_err() {
                            return;
                        }
                    }
                    CommandId::EnquireLink => {
                        let sent = link.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp)).await;
                        if sent.is_err() {
                            return;
                        }
                    }
                    CommandId::Unbind => {
                        let _ = link.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp)).await;
                        return;
                    }
                    CommandId::UnbindResp => {
                        if let Some(done) = unbinding.take() {
                            let _ = done.send(());
                        }
                        return;
                    }
                    _ => {}
                }
            }
        }
    }
}
