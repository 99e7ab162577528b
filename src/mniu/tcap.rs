//! The TCAP transaction manager (ANSI T1.114) over ANSI SCCP connectionless service: an async
//! shell around the sans-IO manager [`otagw_codecs::tcap::transactions`].
//!
//! [`Tcap::invoke`] opens a transaction (QueryWithPermission, one Invoke) in the manager and
//! waits for its outcome: a ReturnResult, a ReturnError, a Reject or an Abort, or the invoke
//! timer running out. A driver task feeds the manager every DATA the linkset delivers (opened
//! down to TCAP here: SCCP UDT/XUDT, UDTS/XUDTS) and the time when its next invoke timer is
//! due, sends what it polls out (UDT while the TCAP message fits 255 octets, XUDT beyond), and
//! hands each outcome to the invoke waiting for it. Anything unexpected is answered by the
//! manager, never a panic: an Invoke addressed to the gateway gets a Reject (Invoke problem
//! Unrecognized Operation Code), a Conversation for an unknown transaction an Abort
//! (Unassigned Responding Transaction ID), an undecodable Query or Conversation an Abort when
//! its transaction ID can be read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use otagw_codecs::m3ua::{PointCode, ProtocolData};
use otagw_codecs::sccp::{
    ExtendedUnitdata, ProtocolClass, SccpAddress, SccpMessage, Unitdata, Variant, MAX_UDT_DATA,
};
use otagw_codecs::tcap::transactions::{Config, Event, TransactionManager, Transmit};
use otagw_codecs::tcap::{OperationCode, Package, Parameters, TcapMessage, TransactionId};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

use super::asp::{AspError, Linkset, Timer};
use crate::supervisor::{Stage, Task};
use crate::telemetry::names;

/// What answered an Invoke (the manager's outcome, with T1.114's typed Reject problem and
/// P-Abort cause).
pub use otagw_codecs::tcap::transactions::InvokeOutcome;

/// SCCP service indicator in the MTP3 routing label.
const SI_SCCP: u8 = 3;
/// Network indicator: national.
const NI_NATIONAL: u8 = 2;

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

/// Where a TCAP message goes: the manager's token for a peer. Answers go back the way the
/// message came (its SLS); a new transaction's SLS comes from its transaction ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Route {
    local: Endpoint,
    remote: Endpoint,
    sls: Option<u8>,
}

type Waiter = oneshot::Sender<Result<InvokeOutcome, TcapError>>;

/// The manager and the invokes waiting on it.
#[derive(Debug)]
struct State {
    manager: TransactionManager<Route>,
    waiters: HashMap<TransactionId, (Endpoint, Waiter)>,
    /// The deadline the driver sleeps to (it is woken when an earlier one appears).
    timer_at: Option<std::time::Instant>,
}

impl State {
    /// Hands every outcome the manager has to its invoke.
    fn dispatch(&mut self) {
        while let Some(event) = self.manager.poll_event() {
            match event {
                Event::Completed {
                    transaction,
                    outcome,
                } => {
                    if let Some((_, waiter)) = self.waiters.remove(&transaction) {
                        let _ = waiter.send(Ok(outcome));
                    }
                }
                Event::TimedOut { transaction } => {
                    metrics::counter!(names::TCAP_TIMEOUTS).increment(1);
                    if let Some((remote, waiter)) = self.waiters.remove(&transaction) {
                        let _ = waiter.send(Err(TcapError::Timeout(remote)));
                    }
                }
                Event::UnknownTransaction { package, .. } => {
                    tracing::warn!(package, "answer for an unknown transaction");
                }
                // The gateway serves no operations: the manager rejects them itself.
                Event::Invoke(_) => {}
            }
        }
    }

    fn transmits(&mut self) -> Vec<Transmit<Route>> {
        std::iter::from_fn(|| self.manager.poll_transmit()).collect()
    }
}

#[derive(Debug)]
struct Inner {
    linkset: Linkset,
    local: Endpoint,
    state: Mutex<State>,
    /// Wakes the driver when an invoke timer earlier than the one it sleeps to is armed.
    timer: Notify,
}

/// The gateway's TCAP layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Tcap {
    inner: Arc<Inner>,
}

fn count(direction: &'static str, package: &'static str) {
    metrics::counter!(names::TCAP_MESSAGES, "direction" => direction, "package" => package)
        .increment(1);
}

fn dropped(reason: &'static str) {
    metrics::counter!(names::TCAP_DROPPED, "reason" => reason).increment(1);
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl Tcap {
    /// The transaction manager and its [`Task`] (for the supervisor): the task takes the DATA
    /// `inbound` delivers from `linkset` and runs the invoke timers until its stop signal
    /// turns true.
    pub fn new(
        linkset: Linkset,
        local: Endpoint,
        inbound: mpsc::Receiver<ProtocolData>,
    ) -> (Self, Task) {
        // Start from the clock so a restarted gateway does not reuse IDs at once.
        let first_transaction_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        let tcap = Self {
            inner: Arc::new(Inner {
                linkset,
                local,
                state: Mutex::new(State {
                    manager: TransactionManager::new(Config {
                        first_transaction_id,
                        serve_invokes: false,
                    }),
                    waiters: HashMap::new(),
                    timer_at: None,
                }),
                timer: Notify::new(),
            }),
        };
        let inbound = Arc::new(tokio::sync::Mutex::new(inbound));
        let driver = tcap.clone();
        let task = Task::new("tcap", Stage::Links, move |mut stop| {
            let (driver, inbound) = (driver.clone(), inbound.clone());
            async move {
                let mut inbound = inbound.lock().await;
                let mut timer = Timer::new();
                loop {
                    let armed = {
                        let mut st = driver.lock();
                        st.timer_at = st.manager.poll_timeout();
                        timer.arm(st.timer_at)
                    };
                    tokio::select! {
                        data = inbound.recv() => match data {
                            Some(data) => driver.on_data(data).await,
                            None => return,
                        },
                        _ = timer.fired(), if armed => {
                            let mut st = driver.lock();
                            st.manager.handle_timeout(Instant::now().into_std());
                            st.dispatch();
                        }
                        _ = driver.inner.timer.notified() => {}
                        () = stopped(&mut stop) => return,
                    }
                }
            }
        });
        (tcap, task)
    }

    /// The gateway's own endpoint.
    pub fn local(&self) -> Endpoint {
        self.inner.local
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let (tx, rx) = oneshot::channel();
        let route = Route {
            local: self.inner.local,
            remote,
            sls: None,
        };
        let transmits = {
            let mut st = self.lock();
            let now = Instant::now().into_std();
            let tid = st.manager.invoke(now, route, operation, parameters, timer);
            st.waiters.insert(tid, (remote, tx));
            let due = st.manager.poll_timeout();
            if st.timer_at.is_none() || due < st.timer_at {
                st.timer_at = due;
                self.inner.timer.notify_one();
            }
            st.transmits()
        };
        self.send_all(transmits).await;
        rx.await.unwrap_or(Err(TcapError::Stopped))
    }

    /// Sends what the manager polled out; a Query that cannot be sent fails its invoke.
    async fn send_all(&self, transmits: Vec<Transmit<Route>>) {
        for t in transmits {
            let label = match t.message.package {
                Package::Query { .. } => "Query",
                ref p => p.name(),
            };
            match self.send(&t).await {
                Ok(()) => count("out", label),
                Err(e) => {
                    if let Some(tid) = t.transaction {
                        let mut st = self.lock();
                        st.manager.abandon(tid);
                        if let Some((_, waiter)) = st.waiters.remove(&tid) {
                            let _ = waiter.send(Err(e));
                        }
                    }
                }
            }
        }
    }

    async fn send(&self, t: &Transmit<Route>) -> Result<(), TcapError> {
        let tcap = t
            .message
            .encode()
            .map_err(|e| TcapError::Encode(e.to_string()))?;
        let sls = t.to.sls.unwrap_or_else(|| {
            let tid = t.transaction.map_or(0, u32::from_be_bytes);
            (tid & 0x0F) as u8
        });
        self.send_raw(t.to.local, t.to.remote, tcap, sls).await
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
        self.inner
            .linkset
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
            dropped("not-sccp");
            return;
        }
        let (called, calling, tcap_bytes) =
            match SccpMessage::decode(&data.user_data, Variant::Ansi) {
                Ok(SccpMessage::Udt(u)) => (u.called, u.calling, u.data),
                Ok(SccpMessage::Xudt(x)) => (x.called, x.calling, x.data),
                Ok(SccpMessage::Udts(s)) => {
                    tracing::warn!(cause = s.return_cause, "SCCP returned a message (UDTS)");
                    self.returned(&s.data);
                    return;
                }
                Ok(SccpMessage::Xudts(s)) => {
                    tracing::warn!(cause = s.return_cause, "SCCP returned a message (XUDTS)");
                    self.returned(&s.data);
                    return;
                }
                Err(e) => {
                    let peer = data.opc;
                    super::garbage::global().note(super::garbage::Layer::Sccp, &peer, &e);
                    dropped("bad-sccp");
                    return;
                }
            };
        let remote = Endpoint {
            point_code: calling.point_code.unwrap_or(data.opc.value()),
            ssn: calling.ssn.unwrap_or(0),
        };
        let local = Endpoint {
            point_code: called.point_code.unwrap_or(data.dpc.value()),
            ssn: called.ssn.unwrap_or(self.inner.local.ssn),
        };
        let route = Route {
            local,
            remote,
            sls: Some(data.sls),
        };
        let decoded = TcapMessage::decode(&tcap_bytes);
        let transmits = {
            let mut st = self.lock();
            let now = Instant::now().into_std();
            match decoded {
                Ok(message) => {
                    count("in", message.package.name());
                    st.manager.handle_decoded(now, route, message);
                }
                Err(e) => {
                    super::garbage::global().note(super::garbage::Layer::Tcap, &remote, &e);
                    dropped("bad-tcap");
                    st.manager.handle_undecodable(now, route, &tcap_bytes);
                }
            }
            st.dispatch();
            st.transmits()
        };
        self.send_all(transmits).await;
    }

    /// An SCCP-returned message fails the transaction it carried.
    fn returned(&self, tcap_bytes: &[u8]) {
        let mut st = self.lock();
        st.manager
            .handle_returned(Instant::now().into_std(), tcap_bytes);
        st.dispatch();
    }
}
