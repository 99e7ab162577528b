//! One tool's connection: the bind, then submit_sm, enquire_link, unbind, and the replies the
//! request tasks hand back.

use crate::smpp::codec::SmppCodec;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use otagw_codecs::ospp::{self, OsppError, Request, SessionType};
use rusmpp::pdus::{
    BindReceiverResp, BindTransceiverResp, BindTransmitterResp, DeliverSm, SubmitSm, SubmitSmResp,
};
use rusmpp::tlvs::TlvValue;
use rusmpp::types::COctetString;
use rusmpp::{Command, CommandStatus, Pdu};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::Framed;

use super::requests::{self, ReplyTo};
use super::{BindEntry, Shared};

type Link = Framed<TcpStream, SmppCodec>;

/// How a connection is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Transmitter,
    Receiver,
    Transceiver,
}

#[derive(Debug)]
struct Bound {
    system_id: String,
    mode: Mode,
}

/// What to do after a PDU.
enum Next {
    Go,
    Close,
}

/// Serves one connection until it closes, the tool unbinds or the handler stops.
pub(super) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let mut conn = Connection {
        link: Framed::new(tcp, SmppCodec::new()),
        shared,
        conn_id,
        peer,
        bound: None,
        next_seq: 1,
    };
    let (out_tx, mut out_rx) = mpsc::channel::<DeliverSm>(256);
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    conn.unbind().await;
                    break;
                }
            }
            reply = out_rx.recv() => {
                let Some(reply) = reply else { break };
                let seq = conn.seq();
                if conn.link.send(Command::new(CommandStatus::EsmeRok, seq, reply)).await.is_err() {
                    break;
                }
            }
            frame = conn.link.next() => {
                let cmd = match frame {
                    // A body on a header-only PDU (a tool's enquire_link with TLVs) is set
                    // aside by the codec and not read.
                    Some(Ok(received)) => received.command,
                    Some(Err(err)) => {
                        tracing::info!(%peer, %err, "OSPP handler: undecodable PDU; closing");
                        break;
                    }
                    None => break,
                };
                match conn.on_command(cmd, &out_tx).await {
                    Ok(Next::Go) => {}
                    Ok(Next::Close) | Err(()) => break,
                }
            }
        }
    }
    if conn.bound.is_some() {
        conn.shared.binds().remove(&conn_id);
        metrics::gauge!(crate::telemetry::names::OSPP_BINDS).decrement(1.0);
        tracing::info!(%peer, "OSPP tool unbound");
    }
}

struct Connection {
    link: Link,
    shared: Arc<Shared>,
    conn_id: u64,
    peer: SocketAddr,
    bound: Option<Bound>,
    next_seq: u32,
}

fn c_str<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_string(s.to_string()).unwrap_or_else(|_| COctetString::empty())
}

/// The OSPP text of a submit_sm: the short_message, or the message_payload TLV when the
/// short_message is empty.
pub(super) fn ospp_text(sm: &SubmitSm) -> Vec<u8> {
    let short = sm.short_message().as_ref();
    if !short.is_empty() {
        return short.to_vec();
    }
    sm.tlvs()
        .iter()
        .find_map(|t| match t.value() {
            Some(TlvValue::MessagePayload(p)) => Some(p.value.as_ref().to_vec()),
            _ => None,
        })
        .unwrap_or_default()
}

impl Connection {
    fn seq(&mut self) -> u32 {
        let s = self.next_seq;
        self.next_seq = if s >= 0x7FFF_FFFF { 1 } else { s + 1 };
        s
    }

    async fn send(
        &mut self,
        status: CommandStatus,
        seq: u32,
        pdu: impl Into<Pdu>,
    ) -> Result<(), ()> {
        self.link
            .send(Command::new(status, seq, pdu))
            .await
            .map_err(|err| tracing::debug!(peer = %self.peer, %err, "OSPP handler: send failed"))
    }

    async fn unbind(&mut self) {
        if self.bound.is_none() {
            return;
        }
        let seq = self.seq();
        if self
            .send(CommandStatus::EsmeRok, seq, Pdu::Unbind)
            .await
            .is_err()
        {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(received)) = self.link.next().await {
                if received.command.id() == rusmpp::CommandId::UnbindResp {
                    break;
                }
            }
        })
        .await;
    }

    async fn on_command(
        &mut self,
        cmd: Command,
        out: &mpsc::Sender<DeliverSm>,
    ) -> Result<Next, ()> {
        let seq = cmd.sequence_number();
        match cmd.pdu() {
            Some(Pdu::BindTransceiver(b)) => {
                let (sid, pw) = (
                    b.system_id.as_str().to_string(),
                    b.password.as_str().to_string(),
                );
                self.on_bind(seq, Mode::Transceiver, &sid, &pw, out).await
            }
            Some(Pdu::BindTransmitter(b)) => {
                let (sid, pw) = (
                    b.system_id.as_str().to_string(),
                    b.password.as_str().to_string(),
                );
                self.on_bind(seq, Mode::Transmitter, &sid, &pw, out).await
            }
            Some(Pdu::BindReceiver(b)) => {
                let (sid, pw) = (
                    b.system_id.as_str().to_string(),
                    b.password.as_str().to_string(),
                );
                self.on_bind(seq, Mode::Receiver, &sid, &pw, out).await
            }
            Some(Pdu::EnquireLink) => {
                self.send(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp)
                    .await?;
                Ok(Next::Go)
            }
            Some(Pdu::Unbind) => {
                let _ = self
                    .send(CommandStatus::EsmeRok, seq, Pdu::UnbindResp)
                    .await;
                Ok(Next::Close)
            }
            Some(Pdu::SubmitSm(sm)) => {
                let sm = sm.clone();
                self.on_submit(seq, &sm).await?;
                Ok(Next::Go)
            }
            // Answers to our deliver_sm / enquire_link / unbind: nothing to do.
            Some(
                Pdu::DeliverSmResp(_) | Pdu::EnquireLinkResp | Pdu::UnbindResp | Pdu::GenericNack,
            ) => Ok(Next::Go),
            _ if u32::from(cmd.id()) & 0x8000_0000 != 0 => Ok(Next::Go),
            _ => {
                let status = if self.bound.is_some() {
                    CommandStatus::EsmeRinvcmdid
                } else {
                    CommandStatus::EsmeRinvbndsts
                };
                self.send(status, seq, Pdu::GenericNack).await?;
                Ok(Next::Go)
            }
        }
    }

    async fn on_bind(
        &mut self,
        seq: u32,
        mode: Mode,
        system_id: &str,
        password: &str,
        out: &mpsc::Sender<DeliverSm>,
    ) -> Result<Next, ()> {
        let status = if self.bound.is_some() {
            CommandStatus::EsmeRalybnd
        } else {
            self.shared.check_account(system_id, password)
        };
        let name: COctetString<1, 16> = c_str("otagw");
        let resp: Pdu = match mode {
            Mode::Transceiver => BindTransceiverResp::new(name, None).into(),
            Mode::Transmitter => BindTransmitterResp::new(name, None).into(),
            Mode::Receiver => BindReceiverResp::new(name, None).into(),
        };
        self.send(status, seq, resp).await?;
        if status == CommandStatus::EsmeRalybnd {
            return Ok(Next::Go);
        }
        if status != CommandStatus::EsmeRok {
            tracing::warn!(peer = %self.peer, system_id, status = ?status, "OSPP bind refused");
            return Ok(Next::Close);
        }
        self.bound = Some(Bound {
            system_id: system_id.to_string(),
            mode,
        });
        self.shared.binds().insert(
            self.conn_id,
            BindEntry {
                system_id: system_id.to_string(),
                receives: mode != Mode::Transmitter,
                out: out.clone(),
            },
        );
        metrics::gauge!(crate::telemetry::names::OSPP_BINDS).increment(1.0);
        tracing::info!(peer = %self.peer, system_id, ?mode, "OSPP tool bound");
        Ok(Next::Go)
    }

    async fn on_submit(&mut self, seq: u32, sm: &SubmitSm) -> Result<(), ()> {
        let system_id = match &self.bound {
            Some(b) if b.mode != Mode::Receiver => b.system_id.clone(),
            _ => {
                let resp = SubmitSmResp::new(COctetString::empty(), Vec::new());
                return self.send(CommandStatus::EsmeRinvbndsts, seq, resp).await;
            }
        };
        let pid = sm.protocol_id;
        let label = requests::session_label(SessionType::from_protocol_id(pid));
        let request = match Request::decode(pid, &ospp_text(sm)) {
            Ok(r) => r,
            Err(err) => {
                let code = match err {
                    OsppError::Empty => ospp::status::EMPTY,
                    _ => ospp::status::INVALID,
                };
                tracing::info!(peer = %self.peer, %system_id, pid, %err, "OSPP submit_sm refused");
                requests::count(label, "invalid");
                let resp = SubmitSmResp::new(COctetString::empty(), Vec::new());
                return self.send(CommandStatus::from(code), seq, resp).await;
            }
        };
        let message_id = self.shared.message_id();
        let resp = SubmitSmResp::new(c_str(&message_id), Vec::new());
        self.send(CommandStatus::EsmeRok, seq, resp).await?;
        let reply_to = ReplyTo {
            conn_id: self.conn_id,
            system_id,
            protocol_id: pid,
            source_ton: sm.dest_addr_ton,
            source_npi: sm.dest_addr_npi,
            source: sm.destination_addr.as_str().to_string(),
            destination_ton: sm.source_addr_ton,
            destination_npi: sm.source_addr_npi,
            destination: sm.source_addr.as_str().to_string(),
        };
        tokio::spawn(requests::act(self.shared.clone(), reply_to, request));
        Ok(())
    }
}
