//! The TCAP transaction manager (ANSI T1.114) over ANSI SCCP connectionless service.
//!
//! [`Tcap::invoke`] opens a transaction (QueryWithPermission, one Invoke), waits for its
//! Response with an invoke timer and returns what came back: a ReturnResult, a ReturnError, a
//! Reject or an Abort. A dispatcher task reads every DATA the linkset delivers and correlates it
//! by transaction ID. Anything unexpected is answered, never a panic: an Invoke addressed to the
//! gateway gets a Reject ("unrecognized operation"), a Response for an unknown transaction an
//! Abort ("unrecognized transaction ID"), an undecodable message an Abort when its transaction ID
//! can be read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use otagw_codecs::m3ua::{PointCode, ProtocolData};
use otagw_codecs::sccp::{
    ExtendedUnitdata, ProtocolClass, SccpAddress, SccpMessage, Unitdata, Variant, MAX_UDT_DATA,
};
use otagw_codecs::tcap::{
    AbortCause, Component, ErrorCode, OperationCode, Package, Parameters, TcapMessage,
    TransactionId,
};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::asp::{AspError, Linkset};

/// SCCP service indicator in the MTP3 routing label.
const SI_SCCP: u8 = 3;
/// Network indicator: national.
const NI_NATIONAL: u8 = 2;
/// P-Abort cause: unrecognized transaction ID (T1.114).
pub const P_ABORT_UNRECOGNIZED_TRANSACTION_ID: u8 = 4;
/// P-Abort cause: badly structured transaction portion.
pub const P_ABORT_BADLY_STRUCTURED: u8 = 3;
/// Reject problem: general, unrecognized component / invoke, unrecognized operation code.
pub const REJECT_UNRECOGNIZED_OPERATION: u16 = 0x0202;

/// A signalling endpoint: point code and subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    /// ANSI point code (24 bits).
    pub point_code: u32,
    /// Subsystem number.
    pub ssn: u8,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match PointCode::new(self.point_code) {
            Ok(pc) => write!(f, "{pc}/SSN {}", self.ssn),
            Err(_) => write!(f, "{}/SSN {}", self.point_code, self.ssn),
        }
    }
}

/// What answered an Invoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// ReturnResult with its parameters.
    Result(Option<Parameters>),
    /// ReturnError.
    Error(ErrorCode, Option<Parameters>),
    /// Reject with its problem code.
    Reject(u16),
    /// The peer aborted the transaction.
    Abort(Option<AbortCause>),
}

/// Why an Invoke got no outcome.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TcapError {
    /// No Response before the invoke timer ran out.
    #[error("no answer from {0} before the invoke timer ran out")]
    Timeout(Endpoint),
    /// No M3UA association is active.
    #[error(transparent)]
    Link(#[from] AspError),
    /// The message could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(String),
    /// The transaction manager has stopped.
    #[error("the TCAP transaction manager has stopped")]
    Stopped,
}

type Pending = Arc<Mutex<HashMap<TransactionId, oneshot::Sender<InvokeOutcome>>>>;

/// The gateway's TCAP layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Tcap {
    linkset: Linkset,
    local: Endpoint,
    pending: Pending,
    next_tid: Arc<AtomicU32>,
}

fn count(direction: &'static str, what: &'static str) {
    metrics::counter!("otagw_tcap_messages_total", "direction" => direction, "package" => what)
        .increment(1);
}

impl Tcap {
    /// Starts the dispatcher on the DATA `inbound` delivers from `linkset`.
    pub fn spawn(
        linkset: Linkset,
        local: Endpoint,
        mut inbound: mpsc::Receiver<ProtocolData>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let tcap = Self {
            linkset,
            local,
            pending: Arc::new(Mutex::new(HashMap::new())),
            // Start from the clock so a restarted gateway does not reuse IDs at once.
            next_tid: Arc::new(AtomicU32::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(1),
            )),
        };
        let dispatcher = tcap.clone();
        let task = tokio::spawn(async move {
            while let Some(data) = inbound.recv().await {
                dispatcher.on_data(data).await;
            }
        });
        (tcap, task)
    }

    /// The gateway's own endpoint.
    pub fn local(&self) -> Endpoint {
        self.local
    }

    /// Sends one Invoke of `operation` to `remote` in a new transaction and waits up to `timer`
    /// for its outcome.
    pub async fn invoke(
        &self,
        remote: Endpoint,
        operation: OperationCode,
        parameters: Parameters,
        timer: Duration,
    ) -> Result<InvokeOutcome, TcapError> {
        let tid_value = self.next_tid.fetch_add(1, Ordering::Relaxed);
        let otid = tid_value.to_be_bytes();
        let message = TcapMessage {
            package: Package::Query {
                with_permission: true,
                otid,
            },
            components: vec![Component::Invoke {
                last: true,
                invoke_id: Some(1),
                correlation_id: None,
                operation,
                parameters: Some(parameters),
            }],
            dialogue: None,
        };
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(otid, tx);
        let sent = self.send(remote, &message, (tid_value & 0x0F) as u8).await;
        if let Err(e) = sent {
            self.pending.lock().await.remove(&otid);
            return Err(e);
        }
        count("out", "Query");
        match tokio::time::timeout(timer, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(TcapError::Stopped),
            Err(_) => {
                self.pending.lock().await.remove(&otid);
                metrics::counter!("otagw_tcap_timeouts_total").increment(1);
                Err(TcapError::Timeout(remote))
            }
        }
    }

    async fn send(
        &self,
        remote: Endpoint,
        message: &TcapMessage,
        sls: u8,
    ) -> Result<(), TcapError> {
        let tcap = message
            .encode()
            .map_err(|e| TcapError::Encode(e.to_string()))?;
        self.send_raw(self.local, remote, tcap, sls).await
    }

    async fn send_raw(
        &self,
        from: Endpoint,
        to: Endpoint,
        tcap: Vec<u8>,
        sls: u8,
    ) -> Result<(), TcapError> {
        let called = SccpAddress::ssn_pc(to.ssn, to.point_code);
        let calling = SccpAddress::ssn_pc(from.ssn, from.point_code);
        let protocol_class = ProtocolClass {
            class: 0,
            return_on_error: true,
        };
        // UDT while the data fits, XUDT beyond.
        let sccp = if tcap.len() <= MAX_UDT_DATA {
            SccpMessage::Udt(Unitdata {
                protocol_class,
                called,
                calling,
                data: tcap,
            })
        } else {
            SccpMessage::Xudt(ExtendedUnitdata {
                protocol_class,
                hop_counter: 15,
                called,
                calling,
                data: tcap,
                optional: Vec::new(),
            })
        };
        let user_data = sccp
            .encode(Variant::Ansi)
            .map_err(|e| TcapError::Encode(e.to_string()))?;
        let (opc, dpc) = match (
            PointCode::new(from.point_code),
            PointCode::new(to.point_code),
        ) {
            (Ok(o), Ok(d)) => (o, d),
            _ => return Err(TcapError::Encode("point code over 24 bits".into())),
        };
        self.linkset
            .send(ProtocolData {
                opc,
                dpc,
                si: SI_SCCP,
                ni: NI_NATIONAL,
                mp: 0,
                sls,
                user_data,
            })
            .await?;
        Ok(())
    }

    async fn on_data(&self, data: ProtocolData) {
        if data.si != SI_SCCP {
            metrics::counter!("otagw_tcap_dropped_total", "reason" => "not-sccp").increment(1);
            return;
        }
        let (called, calling, tcap_bytes) =
            match SccpMessage::decode(&data.user_data, Variant::Ansi) {
                Ok(SccpMessage::Udt(u)) => (u.called, u.calling, u.data),
                Ok(SccpMessage::Xudt(x)) => (x.called, x.calling, x.data),
                Ok(SccpMessage::Udts(s)) => {
                    tracing::warn!(cause = s.return_cause, "SCCP returned a message (UDTS)");
                    self.fail_returned(&s.data).await;
                    return;
                }
                Ok(SccpMessage::Xudts(s)) => {
                    tracing::warn!(cause = s.return_cause, "SCCP returned a message (XUDTS)");
                    self.fail_returned(&s.data).await;
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable SCCP message dropped");
                    metrics::counter!("otagw_tcap_dropped_total", "reason" => "bad-sccp")
                        .increment(1);
                    return;
                }
            };
        let remote = Endpoint {
            point_code: calling.point_code.unwrap_or(data.opc.value()),
            ssn: calling.ssn.unwrap_or(0),
        };
        let local = Endpoint {
            point_code: called.point_code.unwrap_or(data.dpc.value()),
            ssn: called.ssn.unwrap_or(self.local.ssn),
        };
        let message = match TcapMessage::decode(&tcap_bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, %remote, "undecodable TCAP message");
                metrics::counter!("otagw_tcap_dropped_total", "reason" => "bad-tcap").increment(1);
                if let Some(tid) = sniff_otid(&tcap_bytes) {
                    self.abort(local, remote, tid, P_ABORT_BADLY_STRUCTURED, data.sls)
                        .await;
                }
                return;
            }
        };
        count("in", message.package.name());
        match message.package {
            Package::Response { dtid } | Package::Conversation { dtid, .. } => {
                let outcome = outcome_of(&message.components);
                match self.pending.lock().await.remove(&dtid) {
                    Some(waiter) => {
                        let _ = waiter.send(outcome);
                    }
                    None => {
                        tracing::warn!(%remote, "answer for an unknown transaction; aborting it");
                        if let Package::Conversation { otid, .. } = message.package {
                            self.abort(
                                local,
                                remote,
                                otid,
                                P_ABORT_UNRECOGNIZED_TRANSACTION_ID,
                                data.sls,
                            )
                            .await;
                        }
                    }
                }
            }
            Package::Abort { dtid, cause } => {
                if let Some(waiter) = self.pending.lock().await.remove(&dtid) {
                    let _ = waiter.send(InvokeOutcome::Abort(cause));
                }
            }
            Package::Query { otid, .. } => {
                // The gateway offers no operations: reject each Invoke.
                let components = message
                    .components
                    .iter()
                    .filter_map(|c| match c {
                        Component::Invoke { invoke_id, .. } => Some(Component::Reject {
                            correlation_id: *invoke_id,
                            problem: REJECT_UNRECOGNIZED_OPERATION,
                            parameters: None,
                        }),
                        _ => None,
                    })
                    .collect();
                let answer = TcapMessage {
                    package: Package::Response { dtid: otid },
                    components,
                    dialogue: None,
                };
                if let Ok(bytes) = answer.encode() {
                    let _ = self.send_raw(local, remote, bytes, data.sls).await;
                }
            }
            Package::Unidirectional => {}
        }
    }

    /// An SCCP-returned message fails the transaction it carried.
    async fn fail_returned(&self, tcap_bytes: &[u8]) {
        if let Some(otid) = sniff_otid(tcap_bytes) {
            if let Some(waiter) = self.pending.lock().await.remove(&otid) {
                let _ = waiter.send(InvokeOutcome::Abort(None));
            }
        }
    }

    async fn abort(
        &self,
        local: Endpoint,
        remote: Endpoint,
        dtid: TransactionId,
        cause: u8,
        sls: u8,
    ) {
        let abort = TcapMessage {
            package: Package::Abort {
                dtid,
                cause: Some(AbortCause::Protocol(cause)),
            },
            components: Vec::new(),
            dialogue: None,
        };
        if let Ok(bytes) = abort.encode() {
            count("out", "Abort");
            let _ = self.send_raw(local, remote, bytes, sls).await;
        }
    }
}

/// The first answer among the components (ANSI-41 sends one component per message).
fn outcome_of(components: &[Component]) -> InvokeOutcome {
    for c in components {
        match c {
            Component::ReturnResult { parameters, .. } => {
                return InvokeOutcome::Result(parameters.clone())
            }
            Component::ReturnError {
                error, parameters, ..
            } => return InvokeOutcome::Error(*error, parameters.clone()),
            Component::Reject { problem, .. } => return InvokeOutcome::Reject(*problem),
            Component::Invoke { .. } => {}
        }
    }
    InvokeOutcome::Result(None)
}

/// The first transaction ID of a message too broken to decode, if it can be read: package
/// identifier, length, then the C7 transaction ID element.
fn sniff_otid(bytes: &[u8]) -> Option<TransactionId> {
    let body = bytes.get(2..)?;
    if body.first() != Some(&0xC7) || body.get(1).copied()? < 4 {
        return None;
    }
    let id = body.get(2..6)?;
    id.try_into().ok()
}
