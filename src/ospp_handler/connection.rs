//! One tool's connection: the SMPP session (the server role of `otagw_codecs::smpp::Session`)
//! on its TCP connection. The session answers enquire_link, unbind, requests out of place and
//! garbage by itself; this shell decides the bind (the account table), acts on submit_sm (OSPP)
//! and sends the replies the request tasks hand back.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use otagw_codecs::ospp::{self, OsppError, Request, SessionType};
use otagw_codecs::smpp::status::ESME_ROK;
use otagw_codecs::smpp::{BindKind, BindRequest, CloseReason, Config, Event, Session};
use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::TlvValue;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::requests::{self, ReplyTo};
use super::{BindEntry, Shared};
use crate::smpp::link::Link;
use crate::telemetry::names;

/// ESME_RX_P_APPN: the receiver's permanent refusal, here "this account may not use this
/// protocol ID".
const ESME_RX_P_APPN: u32 = 0x65;

/// The system_id the handler answers binds with.
const SYSTEM_ID: &str = "otagw";

/// Serves one connection until it closes, the tool unbinds or the handler stops.
pub(super) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let mut conn = Connection {
        link: Link::new(tcp, Session::server(Config::server())),
        shared,
        conn_id,
        peer,
        bound: None,
        roles: Vec::new(),
    };
    let (out_tx, mut out_rx) = mpsc::channel::<DeliverSm>(256);
    let mut stopping = false;
    loop {
        let mut closed = false;
        while let Some(event) = conn.link.session.poll_event() {
            match event {
                Event::BindRequested {
                    sequence_number,
                    request,
                } => conn.on_bind(sequence_number, &request, &out_tx).await,
                Event::SubmitSm {
                    sequence_number,
                    pdu,
                } => conn.on_submit(sequence_number, &pdu),
                Event::Closed(CloseReason::Framing(err)) => {
                    tracing::info!(%peer, %err, "OSPP handler: undecodable PDU; closing");
                    closed = true;
                }
                Event::Closed(_) => closed = true,
                // deliver_sm_resp statuses are not acted on.
                _ => {}
            }
        }
        conn.link.flush().await;
        if closed {
            break;
        }
        if conn.link.session.is_closed() {
            continue; // its Closed event is next
        }
        // A PDU begun must be complete within pdu_timeout; a connection that sends nothing is
        // closed after idle_timeout.
        let partial = conn.link.session.partial_pdu() > 0;
        let quiet = if partial {
            conn.shared.config.pdu_timeout
        } else {
            conn.shared.config.idle_timeout
        };
        let read_deadline = tokio::time::Instant::from_std(conn.link.last_input) + quiet;
        tokio::select! {
            () = tokio::time::sleep_until(read_deadline) => {
                let what = if partial { "PDU incomplete" } else { "idle" };
                tracing::info!(%peer, secs = quiet.as_secs(), "OSPP handler: connection {what} too long; closing");
                conn.link.session.close_now();
                conn.link.flush().await;
                break;
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    // Bound: unbind (and wait a second for the answer); not bound: close.
                    stopping = true;
                    conn.link.session.unbind(Instant::now());
                }
            }
            reply = out_rx.recv() => {
                let Some(reply) = reply else { break };
                if let Err(err) = conn.link.session.deliver(Instant::now(), 0, reply) {
                    tracing::debug!(%peer, %err, "OSPP handler: reply not sent");
                }
            }
            () = conn.link.input() => {}
        }
    }
    if conn.bound.is_some() {
        conn.shared.binds().remove(&conn_id);
        metrics::gauge!(names::OSPP_BINDS).decrement(1.0);
        tracing::info!(%peer, "OSPP tool unbound");
    }
}

struct Connection {
    link: Link,
    shared: Arc<Shared>,
    conn_id: u64,
    peer: SocketAddr,
    /// The system_id it bound with.
    bound: Option<String>,
    /// The roles of that account (what protocol IDs it may use).
    roles: Vec<crate::access::Role>,
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
    /// A bind: accepted with an account's system_id and password, else refused (one code
    /// for both causes) and the connection closed.
    async fn on_bind(&mut self, seq: u32, request: &BindRequest, out: &mpsc::Sender<DeliverSm>) {
        let roles = self
            .shared
            .authenticate(self.peer.ip(), &request.system_id, &request.password)
            .await;
        let status = if roles.is_some() {
            ESME_ROK
        } else {
            otagw_codecs::smpp::status::ESME_RBINDFAIL
        };
        let system_id = request.system_id.as_str();
        if self
            .link
            .session
            .answer_bind(seq, status, SYSTEM_ID, None)
            .is_err()
        {
            return;
        }
        if status != ESME_ROK {
            tracing::warn!(peer = %self.peer, system_id, status = %otagw_codecs::smpp::status::name(status), "OSPP bind refused");
            self.link.session.close_now();
            return;
        }
        self.bound = Some(system_id.to_string());
        self.roles = roles.unwrap_or_default();
        self.shared.binds().insert(
            self.conn_id,
            BindEntry {
                system_id: system_id.to_string(),
                receives: request.kind.receives(),
                out: out.clone(),
            },
        );
        metrics::gauge!(names::OSPP_BINDS).increment(1.0);
        let mode = match request.kind {
            BindKind::Transmitter => "Transmitter",
            BindKind::Receiver => "Receiver",
            BindKind::Transceiver => "Transceiver",
        };
        tracing::info!(peer = %self.peer, system_id, mode, "OSPP tool bound");
    }

    /// A submit_sm on a bind that may submit (the session refuses the others): decoded as
    /// OSPP, answered at once, acted on in its own task.
    fn on_submit(&mut self, seq: u32, sm: &SubmitSm) {
        let Some(system_id) = self.bound.clone() else {
            return;
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
                let _ = self.link.session.respond_submit_sm(seq, code, "");
                return;
            }
        };
        let allowed = crate::access::Permission::for_ospp_protocol_id(pid)
            .is_some_and(|p| crate::access::any_permits(&self.roles, p));
        if !allowed {
            tracing::info!(peer = %self.peer, %system_id, pid, "OSPP submit_sm refused: protocol ID not allowed for this account");
            requests::count(label, "forbidden");
            let _ = self.link.session.respond_submit_sm(seq, ESME_RX_P_APPN, "");
            return;
        }
        if pid != 0x7D {
            // A trigger (not a status query): audited with the account.
            let store = self.shared.store.clone();
            let account = system_id.clone();
            let action = format!("OSPP {}", label);
            tokio::spawn(async move {
                let row = crate::store::operator_audit::NewAction {
                    door: crate::store::operator_audit::Door::Ospp,
                    account_id: None,
                    account: &account,
                    key_prefix: None,
                    action: &action,
                    target: &account,
                    outcome: "accepted",
                };
                let written = match store.conn().await {
                    Ok(mut conn) => crate::store::operator_audit::record(&mut conn, &row).await,
                    Err(e) => Err(e),
                };
                if let Err(err) = written {
                    tracing::error!(%err, account, "operator audit not written");
                }
            });
        }
        let message_id = self.shared.message_id();
        let _ = self
            .link
            .session
            .respond_submit_sm(seq, ESME_ROK, &message_id);
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
        self.shared
            .run_request(requests::act(self.shared.clone(), reply_to, request));
    }
}
